//! What a post says and shows: caption, hashtags and media URLs, each validated on the way in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::text::{self, CONTROL_BUT_LINE_BREAKS, HASHTAG, WHITE_SPACE};

/// The largest caption any platform accepts (Facebook's 63,206 characters). Each platform's own
/// limit is checked by [`PlatformRules`](crate::platform::PlatformRules).
pub const MAX_CAPTION_CHARS: usize = 63_206;

/// A post's caption: non-blank text of at most [`MAX_CAPTION_CHARS`] characters without control
/// characters (other than line breaks and tabs).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Caption(String);

impl Caption {
    /// Validates a caption.
    ///
    /// # Errors
    /// `content` is blank, too long, or contains control characters.
    pub fn parse(text: impl Into<String>) -> Result<Self, ValidationError> {
        let text = text.into();
        if text.trim().is_empty() {
            return Err(ValidationError::new("content", "must not be blank"));
        }
        text::check_chars("content", &text, CONTROL_BUT_LINE_BREAKS, MAX_CAPTION_CHARS)?;
        Ok(Self(text))
    }

    /// The JSON Schema `pattern` of a caption (see [`text`]); the length is `maxLength`
    /// [`MAX_CAPTION_CHARS`].
    pub fn pattern() -> String {
        // White space first, then the first other character: written so, a backtracking engine
        // (a browser, Python) rejects a long caption in linear time, not quadratic.
        let blank = WHITE_SPACE.regex_ranges_without(CONTROL_BUT_LINE_BREAKS);
        let ws = WHITE_SPACE.regex_ranges();
        let refused = CONTROL_BUT_LINE_BREAKS.regex_ranges();
        format!("^[{blank}]*[^{refused}{ws}][^{refused}]*$")
    }
}

impl AsRef<str> for Caption {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Caption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Caption {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Caption> for String {
    fn from(value: Caption) -> Self {
        value.0
    }
}

/// Longest hashtag accepted, in characters.
pub const MAX_HASHTAG_CHARS: usize = 100;

/// One hashtag, stored without `#`: ASCII letters, digits, `_` and the letters of
/// [`text::HASHTAG`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hashtag(String);

impl Hashtag {
    /// Validates a hashtag; one leading `#` is removed.
    ///
    /// # Errors
    /// `hashtags` is empty or contains a character outside the allowed set.
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValidationError> {
        let text = text.as_ref().trim();
        let tag = text.strip_prefix('#').unwrap_or(text);
        if tag.is_empty() {
            return Err(ValidationError::new(
                "hashtags",
                "a hashtag must not be empty",
            ));
        }
        if tag.chars().count() > MAX_HASHTAG_CHARS {
            return Err(ValidationError::new(
                "hashtags",
                format!("a hashtag must be at most {MAX_HASHTAG_CHARS} characters"),
            ));
        }
        if let Some(bad) = tag.chars().find(|&c| !HASHTAG.contains(c)) {
            return Err(ValidationError::new(
                "hashtags",
                format!("#{tag} contains {bad:?}; use letters, digits and _ only"),
            ));
        }
        Ok(Self(tag.to_owned()))
    }

    /// The JSON Schema `pattern` of one hashtag as a client sends it (see [`text`]).
    pub fn pattern() -> String {
        let ws = WHITE_SPACE.regex_ranges();
        format!(
            "^[{ws}]*#?[{}]{{1,{MAX_HASHTAG_CHARS}}}[{ws}]*$",
            HASHTAG.regex_ranges()
        )
    }

    /// The key under which two hashtags are the same (`Summer` = `summer`).
    fn fold(&self) -> String {
        self.0.to_lowercase()
    }
}

impl AsRef<str> for Hashtag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hashtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl TryFrom<String> for Hashtag {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Hashtag> for String {
    fn from(value: Hashtag) -> Self {
        value.0
    }
}

/// Most hashtags one post may carry on any platform (Instagram allows 30; beyond 100 a list is
/// noise, and a bound keeps parsing cheap whatever a client sends).
pub const MAX_HASHTAGS: usize = 100;

/// A post's hashtags, deduplicated case-insensitively (the first spelling wins), in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Hashtags(Vec<Hashtag>);

impl Hashtags {
    /// Validates each tag and drops case-insensitive duplicates.
    ///
    /// # Errors
    /// The first invalid tag, or more than [`MAX_HASHTAGS`] tags.
    pub fn parse<I, S>(tags: I) -> Result<Self, ValidationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Self::default();
        for (n, tag) in tags.into_iter().enumerate() {
            if n == MAX_HASHTAGS {
                return Err(ValidationError::new(
                    "hashtags",
                    format!("at most {MAX_HASHTAGS} hashtags"),
                ));
            }
            out.push(Hashtag::parse(tag)?);
        }
        Ok(out)
    }

    /// Hashtags as stored: deduplicated but not validated again, since they were validated when
    /// written, under the rules of the build that wrote them (a later build's narrower rule must
    /// not make a stored post unreadable).
    pub fn from_stored<I, S>(tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Self::default();
        for tag in tags {
            out.push(Hashtag(tag.into()));
        }
        out
    }

    /// Adds a tag unless an equal one (ignoring case) is already present. Returns whether it was
    /// added.
    pub fn push(&mut self, tag: Hashtag) -> bool {
        let key = tag.fold();
        if self.0.iter().any(|t| t.fold() == key) {
            return false;
        }
        self.0.push(tag);
        true
    }

    /// Keeps the first `n` tags.
    pub fn truncate(&mut self, n: usize) {
        self.0.truncate(n);
    }

    /// Removes and returns the last tag.
    pub fn pop(&mut self) -> Option<Hashtag> {
        self.0.pop()
    }

    /// The tags, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Hashtag> {
        self.0.iter()
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tags as plain strings (without `#`).
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.clone()).collect()
    }
}

impl TryFrom<Vec<String>> for Hashtags {
    type Error = ValidationError;
    fn try_from(value: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Hashtags> for Vec<String> {
    fn from(value: Hashtags) -> Self {
        value.0.into_iter().map(String::from).collect()
    }
}

impl<'a> IntoIterator for &'a Hashtags {
    type Item = &'a Hashtag;
    type IntoIter = std::slice::Iter<'a, Hashtag>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Longest media URL accepted, in characters.
pub const MAX_URL_LEN: usize = 2_048;

/// What a media URL points at, judged by the extension of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `.jpg` / `.jpeg`.
    Jpeg,
    /// `.png`, `.webp`, `.gif`.
    OtherImage,
    /// `.mp4`.
    Mp4,
    /// `.mov`, `.m4v`, `.webm`.
    OtherVideo,
    /// No known extension.
    Unknown,
}

impl MediaKind {
    /// Whether this is a video.
    pub const fn is_video(self) -> bool {
        matches!(self, Self::Mp4 | Self::OtherVideo)
    }

    fn from_path(path: &str) -> Self {
        let ext = path
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "jpg" | "jpeg" => Self::Jpeg,
            "png" | "webp" | "gif" => Self::OtherImage,
            "mp4" => Self::Mp4,
            "mov" | "m4v" | "webm" => Self::OtherVideo,
            _ => Self::Unknown,
        }
    }
}

/// An absolute `https` URL of an image or video.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaUrl {
    url: String,
    kind: MediaKind,
}

impl MediaUrl {
    /// Validates a media URL: `https://host[:port]/path[?query]`, no spaces or control characters.
    ///
    /// # Errors
    /// `media_urls` is not an absolute https URL or is too long.
    pub fn parse(text: impl Into<String>) -> Result<Self, ValidationError> {
        let url = text.into();
        let invalid = |reason: &'static str| Err(ValidationError::new("media_urls", reason));
        if url.chars().count() > MAX_URL_LEN {
            return invalid("a media URL must be at most 2048 characters");
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("a media URL must not contain spaces or control characters");
        }
        let Some(rest) = url
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
            .map(|_| &url[8..])
        else {
            return invalid("a media URL must be an absolute https:// URL");
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path_and_more) = rest.split_at(authority_end);
        if authority.contains('@') {
            return invalid("a media URL must not contain credentials");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let host_ok = host.split('.').all(|label| text::is_host_label(label, 63));
        if !host_ok {
            return invalid("a media URL must have a valid host name");
        }
        if let Some(port) = port
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return invalid("a media URL has an invalid port");
        }
        let path = path_and_more.split(['?', '#']).next().unwrap_or_default();
        let kind = MediaKind::from_path(path);
        Ok(Self { url, kind })
    }

    /// The JSON Schema `pattern` of a media URL (see [`text`]); the length is `maxLength`
    /// [`MAX_URL_LEN`].
    pub fn pattern() -> String {
        let label = text::host_label_pattern(63);
        // A u16 other than 0, as `str::parse::<u16>` reads it: an optional `+`, leading zeros.
        let port = "\\+?0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
        let rest = format!(
            "[^{}{}]",
            text::CONTROL.regex_ranges(),
            WHITE_SPACE.regex_ranges()
        );
        format!("^[hH][tT][tT][pP][sS]://{label}(?:\\.{label})*(?::{port})?(?:[/?#]{rest}*)?$")
    }

    /// What the URL points at.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }
}

impl AsRef<str> for MediaUrl {
    fn as_ref(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for MediaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl TryFrom<String> for MediaUrl {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<MediaUrl> for String {
    fn from(value: MediaUrl) -> Self {
        value.url
    }
}

/// Parses a list of media URLs; at most 35 (the most any platform takes).
///
/// # Errors
/// The first invalid URL, or too many.
pub fn parse_media_urls<I, S>(urls: I) -> Result<Vec<MediaUrl>, ValidationError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let urls: Vec<MediaUrl> = urls
        .into_iter()
        .map(MediaUrl::parse)
        .collect::<Result<_, _>>()?;
    if urls.len() > 35 {
        return Err(ValidationError::new("media_urls", "at most 35 media URLs"));
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_caption_must_not_be_blank() {
        assert_eq!(Caption::parse("  \n ").unwrap_err().field(), "content");
    }

    #[test]
    fn a_caption_keeps_line_breaks_but_refuses_other_control_characters() {
        assert!(Caption::parse("line one\nline two\ttabbed").is_ok());
        assert!(Caption::parse("nul\0byte").is_err());
        assert!(Caption::parse("bell\u{7}").is_err());
    }

    #[test]
    fn a_caption_is_limited_to_the_largest_platform_limit() {
        assert!(Caption::parse("a".repeat(MAX_CAPTION_CHARS)).is_ok());
        assert!(Caption::parse("a".repeat(MAX_CAPTION_CHARS + 1)).is_err());
    }

    #[test]
    fn a_hashtag_loses_its_hash_and_accepts_unicode_letters() {
        assert_eq!(
            Hashtag::parse("#Summer_Sale2026").unwrap().as_ref(),
            "Summer_Sale2026"
        );
        assert_eq!(Hashtag::parse("été").unwrap().as_ref(), "été");
        assert_eq!(Hashtag::parse("東京").unwrap().as_ref(), "東京");
    }

    #[test]
    fn a_hashtag_refuses_spaces_punctuation_and_emptiness() {
        for bad in [
            "",
            "#",
            "two words",
            "semi;colon",
            "dash-ed",
            "##double",
            "emoji😀",
        ] {
            assert!(Hashtag::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn hashtags_are_deduplicated_case_insensitively_keeping_the_first_spelling() {
        let tags = Hashtags::parse(["Sale", "#sale", "SALE", "lamp"]).unwrap();
        assert_eq!(tags.to_strings(), vec!["Sale", "lamp"]);
    }

    #[test]
    fn more_than_a_hundred_hashtags_are_refused() {
        let tags: Vec<String> = (0..=MAX_HASHTAGS).map(|i| format!("t{i}")).collect();
        assert!(Hashtags::parse(&tags[..MAX_HASHTAGS]).is_ok());
        assert_eq!(Hashtags::parse(&tags).unwrap_err().field(), "hashtags");
        // Refused before the rest is even looked at.
        let flood = std::iter::repeat_n("x", 1_000_000);
        assert!(Hashtags::parse(flood).is_err());
    }

    #[test]
    fn media_urls_must_be_absolute_https() {
        for bad in [
            "http://cdn.example.com/a.jpg",
            "cdn.example.com/a.jpg",
            "https://",
            "https:///a.jpg",
            "https://user:pw@cdn.example.com/a.jpg",
            "https://cdn.example.com/a b.jpg",
            "https://-bad.example.com/a.jpg",
            "https://cdn.example.com:0/a.jpg",
            "https://cdn.example.com:99999/a.jpg",
            "ftp://cdn.example.com/a.jpg",
            "javascript:alert(1)",
        ] {
            assert!(MediaUrl::parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(MediaUrl::parse("HTTPS://cdn.example.com:8443/a.jpg?v=2#x").is_ok());
    }

    #[test]
    fn media_kind_comes_from_the_path_extension_ignoring_the_query() {
        let kind = |u: &str| MediaUrl::parse(u).unwrap().kind();
        assert_eq!(kind("https://c.example/a.JPG?v=1"), MediaKind::Jpeg);
        assert_eq!(kind("https://c.example/a.jpeg"), MediaKind::Jpeg);
        assert_eq!(kind("https://c.example/a.png"), MediaKind::OtherImage);
        assert_eq!(kind("https://c.example/clip.mp4"), MediaKind::Mp4);
        assert_eq!(kind("https://c.example/clip.mov"), MediaKind::OtherVideo);
        assert_eq!(
            kind("https://c.example/image?format=jpg"),
            MediaKind::Unknown
        );
    }

    #[test]
    fn at_most_35_media_urls_are_accepted() {
        let urls = |n| (0..n).map(|i| format!("https://c.example/{i}.jpg"));
        assert!(parse_media_urls(urls(35)).is_ok());
        assert_eq!(
            parse_media_urls(urls(36)).unwrap_err().field(),
            "media_urls"
        );
    }

    #[test]
    fn the_patterns_count_what_the_validators_count() {
        use crate::text::tests::agrees;
        let tag = |n: usize| "a".repeat(n);
        for n in [MAX_HASHTAG_CHARS, MAX_HASHTAG_CHARS + 1] {
            agrees(&Hashtag::pattern(), &tag(n), Hashtag::parse(tag(n)).is_ok()).unwrap();
        }
        let label = |n: usize| format!("https://{}.example/a.jpg", "b".repeat(n));
        for n in [63, 64] {
            agrees(
                &MediaUrl::pattern(),
                &label(n),
                MediaUrl::parse(label(n)).is_ok(),
            )
            .unwrap();
        }
        for port in ["0", "1", "+80", "0080", "65535", "65536", "99999", "", "-1"] {
            let url = format!("https://a.example:{port}/v.mp4");
            agrees(
                &MediaUrl::pattern(),
                &url,
                MediaUrl::parse(url.clone()).is_ok(),
            )
            .unwrap();
        }
    }

    #[test]
    fn validated_types_deserialize_through_their_constructors() {
        assert!(serde_json::from_str::<Caption>("\"  \"").is_err());
        assert!(serde_json::from_str::<MediaUrl>("\"http://x.example/a.jpg\"").is_err());
        let tags: Hashtags = serde_json::from_str(r##"["#A","a","b"]"##).unwrap();
        assert_eq!(tags.len(), 2);
    }

    fn url_like() -> impl Strategy<Value = String> {
        let scheme = prop::sample::select(vec![
            "https://", "HTTPS://", "HttPs://", "http://", "https:/", "",
        ]);
        let host = prop::sample::select(vec![
            "cdn.example",
            "a",
            "a-b.c",
            "-a.b",
            "a..b",
            "",
            "x_y.z",
            "é.fr",
            "a.b:443",
            "a.b:0",
            "u@a.b",
        ]);
        (scheme, host, crate::text::tests::edgy_text(8))
            .prop_map(|(scheme, host, rest)| format!("{scheme}{host}{rest}"))
    }

    proptest! {
        #[test]
        fn the_caption_pattern_accepts_exactly_the_valid_captions(text in crate::text::tests::edgy_text(10)) {
            crate::text::tests::agrees(&Caption::pattern(), &text, Caption::parse(text.clone()).is_ok())?;
        }

        #[test]
        fn the_hashtag_pattern_accepts_exactly_the_valid_hashtags(text in crate::text::tests::edgy_text(10)) {
            crate::text::tests::agrees(&Hashtag::pattern(), &text, Hashtag::parse(&text).is_ok())?;
        }

        #[test]
        fn the_media_url_pattern_accepts_exactly_the_valid_urls(text in url_like()) {
            crate::text::tests::agrees(&MediaUrl::pattern(), &text, MediaUrl::parse(text.clone()).is_ok())?;
        }

        #[test]
        fn any_accepted_caption_is_non_blank_and_free_of_control_characters(text in ".{0,300}") {
            if let Ok(caption) = Caption::parse(text.clone()) {
                prop_assert!(!caption.as_ref().trim().is_empty());
                prop_assert!(!caption.as_ref().chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
                prop_assert_eq!(caption.as_ref(), text.as_str());
            }
        }

        #[test]
        fn any_accepted_hashtag_is_made_of_allowed_characters(text in ".{0,40}") {
            if let Ok(tag) = Hashtag::parse(&text) {
                prop_assert!(!tag.as_ref().is_empty());
                prop_assert!(tag.as_ref().chars().all(|c| HASHTAG.contains(c)));
                prop_assert!(!tag.as_ref().starts_with('#'));
            }
        }

        #[test]
        fn parsed_hashtags_never_hold_two_case_insensitive_equals(tags in proptest::collection::vec("[a-zA-Z_]{1,4}", 0..20)) {
            let parsed = Hashtags::parse(&tags).unwrap();
            let mut folded: Vec<String> = parsed.iter().map(|t| t.as_ref().to_lowercase()).collect();
            let n = folded.len();
            folded.sort();
            folded.dedup();
            prop_assert_eq!(folded.len(), n);
        }

        #[test]
        fn any_accepted_media_url_is_https_without_spaces(text in "(https?://)?[a-z0-9.:/@ -]{0,40}") {
            if let Ok(url) = MediaUrl::parse(text.clone()) {
                prop_assert!(url.as_ref().to_ascii_lowercase().starts_with("https://"));
                prop_assert!(!url.as_ref().contains(' '));
                let authority = url.as_ref()[8..].split(['/', '?', '#']).next().unwrap_or_default();
                prop_assert!(!authority.contains('@'), "credentials in {}", url);
            }
        }

        #[test]
        fn media_url_parsing_never_panics(text in "\\PC{0,200}") {
            let _ = MediaUrl::parse(text);
        }
    }
}
