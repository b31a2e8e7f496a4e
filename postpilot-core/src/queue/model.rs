//! A queue item and its review state machine.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::aggregate::aggregate;
use crate::caption::{GeneratedCaption, Generator, PlatformCaptions, ProductData, Tone};
use crate::id::{QueueItemId, UserId};
use crate::names::named_enum;
use crate::platform::Platform;
use crate::post::{Caption, Hashtags, PostStatus};
use crate::{InvalidTransition, ValidationError};

/// Where a queue item is in review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueStatus {
    /// Waiting for review; editable.
    Pending,
    /// Approved into posts.
    Approved,
    /// Turned down; may be regenerated back to pending.
    Rejected,
    /// Every post made from it is published.
    Posted,
}

named_enum!(QueueStatus, field = "status", exact {
    Pending => "pending",
    Approved => "approved",
    Rejected => "rejected",
    Posted => "posted",
});

impl QueueStatus {
    fn refuse(self, to: &'static str) -> InvalidTransition {
        InvalidTransition {
            entity: "queue item",
            from: self.as_str(),
            to,
        }
    }
}

/// Longest rejection reason, in characters after trimming; it may hold line breaks and tabs but
/// no other control character ([`reason_pattern`]).
pub const MAX_REASON_CHARS: usize = 1_000;

/// The JSON Schema `pattern` of a rejection reason (see [`crate::text`]); blank means none.
pub fn reason_pattern() -> String {
    crate::text::trimmed_pattern(
        crate::text::CONTROL_BUT_LINE_BREAKS,
        MAX_REASON_CHARS,
        false,
    )
}

/// Validates a list of target platforms: at least one, duplicates removed, order kept.
///
/// # Errors
/// `platforms` is empty or names an unknown platform.
pub fn parse_platforms<I, S>(names: I) -> Result<Vec<Platform>, ValidationError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let platforms = Platform::parse_list(names)?;
    require_platforms(&platforms)?;
    Ok(platforms)
}

/// An item targets at least one platform.
///
/// # Errors
/// `platforms` is empty.
pub(crate) fn require_platforms(platforms: &[Platform]) -> Result<(), ValidationError> {
    if platforms.is_empty() {
        return Err(ValidationError::new(
            "platforms",
            "must name at least one platform",
        ));
    }
    Ok(())
}

/// Each platform's own caption is for one of `platforms` and fits that platform's rules.
fn check_platform_captions(
    own: &PlatformCaptions,
    platforms: &[Platform],
) -> Result<(), ValidationError> {
    own.check(platforms).map_err(|(platform, why)| {
        ValidationError::new(format!("platform_captions.{platform}"), why)
    })
}

aggregate! {
    /// A product waiting to become posts. Its fields are read through methods and changed only by
    /// its transitions; [`QueueItemRecord`] loads one from storage.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct QueueItem / QueueItemRecord {
        /// Id.
        id: copy QueueItemId,
        /// Owner.
        user_id: copy UserId,
        /// The product.
        product_data: by_ref ProductData,
        /// The caption (generated or written).
        ai_generated_content: option Caption,
        /// What wrote the caption, at what cost; `None` once the merchant wrote or edited it.
        caption_generator: option Generator,
        /// Suggested hashtags.
        hashtags: by_ref Hashtags,
        /// Captions written for one target platform each, used there instead of the caption and
        /// hashtags above.
        platform_captions: by_ref PlatformCaptions,
        /// Target platforms (at least one).
        platforms: list Platform,
        /// The tone it was generated in.
        tone: copy Option<Tone>,
        /// How many times its caption was regenerated (the generator's variant).
        generation: copy u32,
        /// Review state.
        status: copy QueueStatus,
        /// Why it was rejected.
        rejection_reason: option_string,
        /// Creation time.
        created_at: copy DateTime<Utc>,
        /// Last change.
        updated_at: copy DateTime<Utc>,
    }
}

/// What a new queue item is made of.
#[derive(Clone, Debug)]
pub struct NewQueueItem {
    /// Its id.
    pub id: QueueItemId,
    /// The owner.
    pub user_id: UserId,
    /// The product.
    pub product_data: ProductData,
    /// Target platforms (at least one).
    pub platforms: Vec<Platform>,
    /// A caption, written or generated, if there is one yet.
    pub caption: Option<Caption>,
    /// Suggested hashtags.
    pub hashtags: Hashtags,
    /// Captions for one target platform each.
    pub platform_captions: PlatformCaptions,
    /// The tone a generated caption was written in.
    pub tone: Option<Tone>,
    /// What wrote the caption, when a generator did.
    pub generator: Option<Generator>,
}

/// A pending item's edit: `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct QueueItemEdit {
    /// New caption.
    pub caption: Option<Caption>,
    /// New hashtags.
    pub hashtags: Option<Hashtags>,
    /// New captions for single platforms, replacing all of them (empty: none).
    pub platform_captions: Option<PlatformCaptions>,
    /// New platforms (at least one); a removed platform's own caption goes with it.
    pub platforms: Option<Vec<Platform>>,
    /// New product data.
    pub product_data: Option<ProductData>,
}

impl QueueItem {
    /// A new pending item.
    ///
    /// # Errors
    /// No platform is named, or a platform's own caption is for a platform the item does not
    /// target or breaks its rules.
    pub fn create(new: NewQueueItem, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        require_platforms(&new.platforms)?;
        check_platform_captions(&new.platform_captions, &new.platforms)?;
        Ok(Self {
            id: new.id,
            user_id: new.user_id,
            product_data: new.product_data,
            ai_generated_content: new.caption,
            caption_generator: new.generator,
            hashtags: new.hashtags,
            platform_captions: new.platform_captions,
            platforms: new.platforms,
            tone: new.tone,
            generation: 0,
            status: QueueStatus::Pending,
            rejection_reason: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Edits a pending item. Any caption written here (shared or a platform's own) makes the
    /// item the merchant's: its generator record is cleared.
    ///
    /// # Errors
    /// The item is not pending, the edit names no platform, or a platform's own caption is for a
    /// platform the item will not target or breaks that platform's rules.
    pub fn edit(&mut self, edit: QueueItemEdit, now: DateTime<Utc>) -> crate::Result<()> {
        self.ensure_editable()?;
        let platforms = edit.platforms.as_deref().unwrap_or(&self.platforms);
        require_platforms(platforms)?;
        if let Some(own) = &edit.platform_captions {
            check_platform_captions(own, platforms)?;
        }
        if let Some(caption) = edit.caption {
            self.ai_generated_content = Some(caption);
            self.caption_generator = None;
        }
        if let Some(hashtags) = edit.hashtags {
            self.hashtags = hashtags;
        }
        if let Some(own) = edit.platform_captions {
            self.platform_captions = own;
            self.caption_generator = None;
        }
        if let Some(platforms) = edit.platforms {
            self.platform_captions.keep_only(&platforms);
            self.platforms = platforms;
        }
        if let Some(product_data) = edit.product_data {
            self.product_data = product_data;
        }
        self.updated_at = now;
        Ok(())
    }

    /// What a post on `platform` says: the platform's own caption and hashtags, else the shared
    /// ones; `None` while the item has neither.
    pub fn caption_for(&self, platform: Platform) -> Option<(&Caption, &Hashtags)> {
        match self.platform_captions.get(platform) {
            Some(own) => Some((&own.caption, &own.hashtags)),
            None => Some((self.ai_generated_content.as_ref()?, &self.hashtags)),
        }
    }

    /// Checks the item may be edited (pending only).
    ///
    /// # Errors
    /// The item is not pending.
    pub fn ensure_editable(&self) -> Result<(), InvalidTransition> {
        match self.status {
            QueueStatus::Pending => Ok(()),
            other => Err(other.refuse("edited")),
        }
    }

    /// Approves a pending item.
    ///
    /// # Errors
    /// The item is not pending.
    pub fn approve(&mut self, now: DateTime<Utc>) -> Result<(), InvalidTransition> {
        self.move_to(QueueStatus::Pending, QueueStatus::Approved, now)
    }

    /// Rejects a pending item, with an optional reason.
    ///
    /// # Errors
    /// The item is not pending.
    pub fn reject(
        &mut self,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.move_to(QueueStatus::Pending, QueueStatus::Rejected, now)?;
        self.rejection_reason = reason;
        Ok(())
    }

    /// Puts a rejected item back to pending with new content (regenerate).
    ///
    /// # Errors
    /// The item is not rejected.
    pub fn regenerate(
        &mut self,
        generated: GeneratedCaption,
        tone: Tone,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.move_to(QueueStatus::Rejected, QueueStatus::Pending, now)?;
        self.ai_generated_content = Some(generated.caption);
        self.caption_generator = Some(generated.generator);
        self.hashtags = generated.hashtags;
        self.platform_captions = generated.per_platform;
        self.tone = Some(tone);
        self.generation += 1;
        self.rejection_reason = None;
        Ok(())
    }

    /// Marks an approved item posted once all its posts are published.
    ///
    /// # Errors
    /// The item is not approved.
    pub fn mark_posted(&mut self, now: DateTime<Utc>) -> Result<(), InvalidTransition> {
        self.move_to(QueueStatus::Approved, QueueStatus::Posted, now)
    }

    /// An approved item follows the posts made from it: once every one of them (`posts`, their
    /// statuses) is posted, the item is posted. Returns whether it moved.
    pub fn follow_posts(&mut self, posts: &[PostStatus], now: DateTime<Utc>) -> bool {
        let all_posted = !posts.is_empty() && posts.iter().all(|s| *s == PostStatus::Posted);
        all_posted && self.mark_posted(now).is_ok()
    }

    fn move_to(
        &mut self,
        from: QueueStatus,
        to: QueueStatus,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        if self.status != from {
            return Err(self.status.refuse(to.as_str()));
        }
        self.status = to;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::caption::ProductDataWire;

    fn item() -> QueueItem {
        QueueItem {
            id: QueueItemId::from(Uuid::nil()),
            user_id: UserId::from(Uuid::nil()),
            product_data: ProductData::parse(ProductDataWire {
                title: "Lamp".into(),
                ..ProductDataWire::default()
            })
            .unwrap(),
            ai_generated_content: None,
            caption_generator: None,
            hashtags: Hashtags::default(),
            platform_captions: PlatformCaptions::default(),
            platforms: vec![Platform::Instagram],
            tone: None,
            generation: 0,
            status: QueueStatus::Pending,
            rejection_reason: None,
            created_at: DateTime::default(),
            updated_at: DateTime::default(),
        }
    }

    #[test]
    fn only_pending_items_are_editable() {
        let mut i = item();
        assert!(i.ensure_editable().is_ok());
        i.reject(None, DateTime::default()).unwrap();
        let err = i.ensure_editable().unwrap_err();
        assert_eq!((err.from, err.to), ("rejected", "edited"));
    }

    fn own(caption: &str) -> crate::caption::PlatformCaption {
        crate::caption::PlatformCaption {
            caption: Caption::parse(caption).unwrap(),
            hashtags: Hashtags::parse(["own"]).unwrap(),
        }
    }

    #[test]
    fn a_platforms_own_caption_is_what_its_posts_say_and_others_get_the_shared_one() {
        let mut i = item();
        assert_eq!(i.caption_for(Platform::Instagram), None);
        let both = vec![Platform::Instagram, Platform::Tiktok];
        let edit = QueueItemEdit {
            caption: Some(Caption::parse("Shared").unwrap()),
            platform_captions: Some(
                [(Platform::Tiktok, own("For TikTok"))]
                    .into_iter()
                    .collect(),
            ),
            platforms: Some(both),
            ..QueueItemEdit::default()
        };
        i.edit(edit, DateTime::default()).unwrap();
        assert_eq!(
            i.caption_for(Platform::Instagram).unwrap().0.as_ref(),
            "Shared"
        );
        let (caption, tags) = i.caption_for(Platform::Tiktok).unwrap();
        assert_eq!(
            (caption.as_ref(), tags.to_strings()),
            ("For TikTok", vec!["own".to_owned()])
        );
        let dropped = QueueItemEdit {
            platforms: Some(vec![Platform::Instagram]),
            ..QueueItemEdit::default()
        };
        i.edit(dropped, DateTime::default()).unwrap();
        assert!(
            i.platform_captions().is_empty(),
            "a removed platform's caption goes with it"
        );
    }

    #[test]
    fn a_caption_for_an_untargeted_platform_or_past_its_rules_is_refused_and_changes_nothing() {
        let mut i = item();
        let before = i.clone();
        let elsewhere = QueueItemEdit {
            caption: Some(Caption::parse("Shared").unwrap()),
            platform_captions: Some(
                [(Platform::Tiktok, own("For TikTok"))]
                    .into_iter()
                    .collect(),
            ),
            ..QueueItemEdit::default()
        };
        let err = i.edit(elsewhere, DateTime::default()).unwrap_err();
        assert!(
            matches!(err, crate::Error::Validation(ref v) if v.field() == "platform_captions.tiktok"),
            "{err:?}"
        );
        let long = QueueItemEdit {
            platform_captions: Some(
                [(Platform::Instagram, own(&"x".repeat(2_201)))]
                    .into_iter()
                    .collect(),
            ),
            ..QueueItemEdit::default()
        };
        let err = i.edit(long, DateTime::default()).unwrap_err();
        assert!(
            matches!(err, crate::Error::Validation(ref v) if v.field() == "platform_captions.instagram"),
            "{err:?}"
        );
        assert_eq!(i, before);
    }

    #[test]
    fn platforms_are_required_deduplicated_and_known() {
        assert_eq!(
            parse_platforms(["tiktok", "TikTok", "facebook"]).unwrap(),
            vec![Platform::Tiktok, Platform::Facebook]
        );
        assert_eq!(
            parse_platforms(Vec::<String>::new()).unwrap_err().field(),
            "platforms"
        );
        assert_eq!(
            parse_platforms(["myspace"]).unwrap_err().field(),
            "platforms"
        );
    }

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Approve,
        Reject,
        Regenerate,
        Posted,
    }

    proptest! {
        #[test]
        fn random_review_sequences_follow_the_queue_state_machine(ops in proptest::collection::vec(prop_oneof![Just(Op::Approve), Just(Op::Reject), Just(Op::Regenerate), Just(Op::Posted)], 1..30)) {
            let mut i = item();
            for op in ops {
                let before = i.clone();
                let now = DateTime::default();
                let result = match op {
                    Op::Approve => i.approve(now),
                    Op::Reject => i.reject(Some("no".into()), now),
                    Op::Regenerate => i.regenerate(GeneratedCaption::shared(Caption::parse("again").unwrap(), Hashtags::default(), Generator::template()), Tone::Casual, now),
                    Op::Posted => i.mark_posted(now),
                };
                use QueueStatus::*;
                let legal = matches!(
                    (before.status, i.status),
                    (Pending, Approved) | (Pending, Rejected) | (Rejected, Pending) | (Approved, Posted)
                );
                if result.is_ok() {
                    prop_assert!(legal, "{} -> {}", before.status, i.status);
                } else {
                    prop_assert_eq!(&i, &before);
                }
                if before.status == Posted {
                    prop_assert_eq!(&i, &before, "posted is final");
                }
            }
        }
    }
}
