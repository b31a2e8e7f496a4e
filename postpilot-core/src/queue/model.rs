//! A queue item and its review state machine.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::caption::{ProductData, Tone};
use crate::id::{QueueItemId, UserId};
use crate::platform::Platform;
use crate::post::{Caption, Hashtags};
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

impl QueueStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Approved, Self::Rejected, Self::Posted];

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Posted => "posted",
        }
    }

    fn refuse(self, to: &'static str) -> InvalidTransition {
        InvalidTransition {
            entity: "queue item",
            from: self.as_str(),
            to,
        }
    }
}

impl fmt::Display for QueueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QueueStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "status",
                    "must be one of pending, approved, rejected, posted",
                )
            })
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
    let mut platforms = Vec::new();
    for name in names {
        let platform: Platform = name
            .as_ref()
            .parse()
            .map_err(|e: ValidationError| e.for_field("platforms"))?;
        if !platforms.contains(&platform) {
            platforms.push(platform);
        }
    }
    if platforms.is_empty() {
        return Err(ValidationError::new(
            "platforms",
            "must name at least one platform",
        ));
    }
    Ok(platforms)
}

/// A product waiting to become posts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueItem {
    /// Id.
    pub id: QueueItemId,
    /// Owner.
    pub user_id: UserId,
    /// The product.
    pub product_data: ProductData,
    /// The caption (generated or written).
    pub ai_generated_content: Option<Caption>,
    /// Suggested hashtags.
    pub hashtags: Hashtags,
    /// Target platforms (at least one).
    pub platforms: Vec<Platform>,
    /// The tone it was generated in.
    pub tone: Option<Tone>,
    /// How many times its caption was regenerated (the generator's variant).
    pub generation: u32,
    /// Review state.
    pub status: QueueStatus,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl QueueItem {
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
        content: Caption,
        hashtags: Hashtags,
        tone: Tone,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.move_to(QueueStatus::Rejected, QueueStatus::Pending, now)?;
        self.ai_generated_content = Some(content);
        self.hashtags = hashtags;
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
            hashtags: Hashtags::default(),
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
                    Op::Regenerate => i.regenerate(Caption::parse("again").unwrap(), Hashtags::default(), Tone::Casual, now),
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
