//! The social platforms and what each accepts, as data. Applied on create, update, schedule and
//! approval, so a post that reaches a worker is one the platform will take.

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::names::named_enum;
use crate::post::{Caption, Hashtags, MediaKind, MediaUrl};

/// A social network PostPilot publishes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Instagram (feed posts and reels).
    Instagram,
    /// Facebook pages.
    Facebook,
    /// TikTok.
    Tiktok,
}

named_enum!(Platform, field = "platform", lenient {
    Instagram => "instagram",
    Facebook => "facebook",
    Tiktok => "tiktok",
});

impl Platform {
    /// Platforms named in a list (any number), duplicates dropped, order kept.
    ///
    /// # Errors
    /// An unknown name, reported under `platforms`.
    pub fn parse_list<I, S>(names: I) -> Result<Vec<Self>, ValidationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let parsed: Result<Vec<Self>, ValidationError> = names
            .into_iter()
            .map(|n| {
                n.as_ref()
                    .parse()
                    .map_err(|e: ValidationError| e.for_field("platforms"))
            })
            .collect();
        parsed.map(Self::dedup)
    }

    /// `platforms` without repeats, in their first order.
    pub fn dedup(platforms: Vec<Self>) -> Vec<Self> {
        let mut out = Vec::with_capacity(platforms.len());
        for p in platforms {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// What this platform accepts.
    pub const fn rules(self) -> &'static PlatformRules {
        match self {
            Self::Instagram => &INSTAGRAM,
            Self::Facebook => &FACEBOOK,
            Self::Tiktok => &TIKTOK,
        }
    }

    /// The platform's name as merchants write it (`TikTok`), for messages.
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::Instagram => "Instagram",
            Self::Facebook => "Facebook",
            Self::Tiktok => "TikTok",
        }
    }

    /// Where this platform's cap on one account's posts per rolling 24 hours comes from.
    pub const fn cap_source(self) -> CapSource {
        match self {
            // "100 API-published posts within a 24-hour moving period" (Meta's content
            // publishing guide), reported per account by `content_publishing_limit`.
            Self::Instagram => CapSource::Reported { until_read: 100 },
            // Pages have no documented publishing cap; Meta's rate limits apply per call.
            Self::Facebook => CapSource::Uncapped,
            // TikTok answers `spam_risk_too_many_posts` at a daily cap it does not publish.
            Self::Tiktok => CapSource::Configured,
        }
    }
}

/// Where a platform's cap on one account's posts per rolling 24 hours comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapSource {
    /// No cap.
    Uncapped,
    /// The platform reports each account's cap; `until_read` applies until it has been read.
    Reported {
        /// The cap assumed before the account's own has been read.
        until_read: u32,
    },
    /// The platform does not say: the operator configures it
    /// ([`PublishingCaps`](crate::post::PublishingCaps)).
    Configured,
}

/// How a platform measures caption length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthUnit {
    /// Unicode scalar values (what Instagram and Facebook count).
    Chars,
    /// UTF-16 code units (what TikTok counts: an emoji outside the BMP is 2).
    Utf16Units,
}

impl LengthUnit {
    /// The length of `text` in this unit.
    pub fn measure(self, text: &str) -> usize {
        match self {
            Self::Chars => text.chars().count(),
            Self::Utf16Units => text.encode_utf16().count(),
        }
    }
}

/// The media a platform accepts on one post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaRule {
    /// 1..=`max` items, each a JPEG image or an MP4 video (Instagram carousels).
    JpegOrMp4 {
        /// Most items in one post.
        max: usize,
    },
    /// Up to `max_images` images, or exactly one video; media optional (Facebook).
    ImagesOrOneVideo {
        /// Most images in one post.
        max_images: usize,
    },
    /// Exactly one video, or 1..=`max_images` images; media required (TikTok).
    OneVideoOrImagesRequired {
        /// Most images in one photo post.
        max_images: usize,
    },
}

/// Everything a platform enforces on a post's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformRules {
    /// Longest caption, in `length_unit`.
    pub max_caption: usize,
    /// How the caption is measured.
    pub length_unit: LengthUnit,
    /// Most hashtags (`None`: no cap).
    pub max_hashtags: Option<usize>,
    /// Whether hashtags are part of the caption text and count toward its length
    /// (each as ` #tag`).
    pub hashtags_in_caption: bool,
    /// What media is accepted.
    pub media: MediaRule,
}

const INSTAGRAM: PlatformRules = PlatformRules {
    max_caption: 2_200,
    length_unit: LengthUnit::Chars,
    max_hashtags: Some(30),
    hashtags_in_caption: false,
    media: MediaRule::JpegOrMp4 { max: 10 },
};

const FACEBOOK: PlatformRules = PlatformRules {
    max_caption: 63_206,
    length_unit: LengthUnit::Chars,
    max_hashtags: None,
    hashtags_in_caption: false,
    media: MediaRule::ImagesOrOneVideo { max_images: 10 },
};

const TIKTOK: PlatformRules = PlatformRules {
    max_caption: 2_200,
    length_unit: LengthUnit::Utf16Units,
    max_hashtags: None,
    hashtags_in_caption: true,
    media: MediaRule::OneVideoOrImagesRequired { max_images: 35 },
};

impl PlatformRules {
    /// The caption's length as this platform counts it, hashtags included where they count.
    pub fn caption_length(&self, caption: &str, hashtags: &Hashtags) -> usize {
        let mut length = self.length_unit.measure(caption);
        if self.hashtags_in_caption {
            // Each tag is published as " #tag".
            length += hashtags
                .iter()
                .map(|tag| 2 + self.length_unit.measure(tag.as_ref()))
                .sum::<usize>();
        }
        length
    }

    /// Checks a post's content against these rules.
    ///
    /// # Errors
    /// A [`ValidationError`] naming the field (`content`, `hashtags` or `media_urls`) and the limit.
    pub fn check(
        &self,
        caption: &Caption,
        hashtags: &Hashtags,
        media: &[MediaUrl],
    ) -> Result<(), ValidationError> {
        let length = self.caption_length(caption.as_ref(), hashtags);
        if length > self.max_caption {
            let unit = match self.length_unit {
                LengthUnit::Chars => "characters",
                LengthUnit::Utf16Units => "UTF-16 units",
            };
            let with_tags = if self.hashtags_in_caption {
                " including hashtags"
            } else {
                ""
            };
            return Err(ValidationError::new(
                "content",
                format!(
                    "is {length} {unit}{with_tags}; the limit is {}",
                    self.max_caption
                ),
            ));
        }
        if let Some(max) = self.max_hashtags
            && hashtags.len() > max
        {
            return Err(ValidationError::new(
                "hashtags",
                format!("has {} hashtags; the limit is {max}", hashtags.len()),
            ));
        }
        self.check_media(media)
    }

    fn check_media(&self, media: &[MediaUrl]) -> Result<(), ValidationError> {
        let invalid = |reason: String| Err(ValidationError::new("media_urls", reason));
        let videos = media.iter().filter(|m| m.kind().is_video()).count();
        let images = media.len() - videos;
        match self.media {
            MediaRule::JpegOrMp4 { max } => {
                if media.is_empty() {
                    return invalid("at least one image or video is required".into());
                }
                if media.len() > max {
                    return invalid(format!("has {} items; the limit is {max}", media.len()));
                }
                if let Some(bad) = media
                    .iter()
                    .find(|m| !matches!(m.kind(), MediaKind::Jpeg | MediaKind::Mp4))
                {
                    return invalid(format!("{bad} is not a JPEG image or an MP4 video"));
                }
            }
            MediaRule::ImagesOrOneVideo { max_images } => {
                if videos > 0 && media.len() > 1 {
                    return invalid("a video post takes exactly one video and nothing else".into());
                }
                if images > max_images {
                    return invalid(format!("has {images} images; the limit is {max_images}"));
                }
            }
            MediaRule::OneVideoOrImagesRequired { max_images } => {
                if media.is_empty() {
                    return invalid("one video or at least one image is required".into());
                }
                if videos > 0 && media.len() > 1 {
                    return invalid("a video post takes exactly one video and nothing else".into());
                }
                if images > max_images {
                    return invalid(format!("has {images} images; the limit is {max_images}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::post::parse_media_urls;

    fn check(
        platform: Platform,
        caption: &str,
        tags: &[&str],
        media: &[&str],
    ) -> Result<(), ValidationError> {
        platform.rules().check(
            &Caption::parse(caption).unwrap(),
            &Hashtags::parse(tags).unwrap(),
            &parse_media_urls(media.iter().map(|m| (*m).to_owned())).unwrap(),
        )
    }

    const JPG: &str = "https://c.example/a.jpg";
    const MP4: &str = "https://c.example/a.mp4";
    const PNG: &str = "https://c.example/a.png";

    #[test]
    fn instagram_counts_characters_not_bytes() {
        assert!(check(Platform::Instagram, &"é".repeat(2_200), &[], &[JPG]).is_ok());
        let err = check(Platform::Instagram, &"é".repeat(2_201), &[], &[JPG]).unwrap_err();
        assert_eq!(err.field(), "content");
    }

    #[test]
    fn instagram_allows_thirty_hashtags_not_thirty_one() {
        let tags: Vec<String> = (0..31).map(|i| format!("t{i}")).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        assert!(check(Platform::Instagram, "x", &tags[..30], &[JPG]).is_ok());
        assert_eq!(
            check(Platform::Instagram, "x", &tags, &[JPG])
                .unwrap_err()
                .field(),
            "hashtags"
        );
    }

    #[test]
    fn instagram_requires_one_to_ten_jpeg_or_mp4_items() {
        assert_eq!(
            check(Platform::Instagram, "x", &[], &[])
                .unwrap_err()
                .field(),
            "media_urls"
        );
        assert!(check(Platform::Instagram, "x", &[], &[JPG; 10]).is_ok());
        assert!(check(Platform::Instagram, "x", &[], &[JPG; 11]).is_err());
        assert!(check(Platform::Instagram, "x", &[], &[JPG, MP4]).is_ok());
        assert!(check(Platform::Instagram, "x", &[], &[PNG]).is_err());
    }

    #[test]
    fn facebook_takes_no_media_up_to_ten_images_or_one_video() {
        assert!(check(Platform::Facebook, "x", &[], &[]).is_ok());
        assert!(check(Platform::Facebook, "x", &[], &[PNG; 10]).is_ok());
        assert!(check(Platform::Facebook, "x", &[], &[PNG; 11]).is_err());
        assert!(check(Platform::Facebook, "x", &[], &[MP4]).is_ok());
        assert!(check(Platform::Facebook, "x", &[], &[MP4, JPG]).is_err());
        assert!(check(Platform::Facebook, &"a".repeat(63_206), &[], &[]).is_ok());
    }

    #[test]
    fn tiktok_counts_utf16_units_including_hashtags() {
        // 1,100 emoji outside the BMP are 2,200 UTF-16 units: exactly the limit.
        let emoji = "😀".repeat(1_100);
        assert!(check(Platform::Tiktok, &emoji, &[], &[MP4]).is_ok());
        let err = check(Platform::Tiktok, &emoji, &["a"], &[MP4]).unwrap_err();
        assert_eq!(err.field(), "content");
        assert!(err.reason().contains("UTF-16"));
        // " #ab" is four units.
        assert!(check(Platform::Tiktok, &"a".repeat(2_196), &["ab"], &[MP4]).is_ok());
        assert!(check(Platform::Tiktok, &"a".repeat(2_197), &["ab"], &[MP4]).is_err());
    }

    #[test]
    fn tiktok_requires_one_video_or_up_to_thirty_five_images() {
        assert!(check(Platform::Tiktok, "x", &[], &[]).is_err());
        assert!(check(Platform::Tiktok, "x", &[], &[MP4]).is_ok());
        assert!(check(Platform::Tiktok, "x", &[], &[MP4, MP4]).is_err());
        assert!(check(Platform::Tiktok, "x", &[], &[JPG; 35]).is_ok());
    }

    #[test]
    fn platform_names_parse_case_insensitively_and_refuse_unknowns() {
        assert_eq!("TikTok".parse::<Platform>().unwrap(), Platform::Tiktok);
        assert_eq!(
            "twitter".parse::<Platform>().unwrap_err().field(),
            "platform"
        );
    }
}
