//! The post and its publication state machine (DESIGN.md §2).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::aggregate;
use crate::id::{AccountId, PostId, QueueItemId, UserId};
use crate::names::named_enum;
use crate::platform::Platform;
use crate::post::{Caption, Hashtags, MediaUrl, ProductSnapshot};
use crate::{InvalidTransition, ValidationError};

/// Furthest ahead a post may be scheduled.
pub const MAX_SCHEDULE_AHEAD: Duration = Duration::days(365);

/// Where a post is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostStatus {
    /// Being written; not going anywhere.
    Draft,
    /// Waiting for its time (or its next attempt).
    Scheduled,
    /// Claimed by a worker, which holds a lease on it.
    Publishing,
    /// On the platform. Immutable.
    Posted,
    /// Gave up; `error_message` says why. The user may reschedule.
    Failed,
    /// Held back before its time, `error_message` saying why: the product it advertises
    /// changed, or the merchant paused it. Never claimed; edited, scheduled again (resumed) or
    /// deleted by the merchant.
    Paused,
}

named_enum!(PostStatus, field = "status", exact {
    Draft => "draft",
    Scheduled => "scheduled",
    Publishing => "publishing",
    Posted => "posted",
    Failed => "failed",
    Paused => "paused",
});

impl PostStatus {
    /// Whether the user may still edit or delete a post in this state.
    pub const fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Scheduled | Self::Paused)
    }

    fn refuse(self, to: Self) -> InvalidTransition {
        InvalidTransition {
            entity: "post",
            from: self.as_str(),
            to: to.as_str(),
        }
    }
}

/// A worker's claim on a post being published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The worker holding it.
    pub owner: String,
    /// When the claim lapses and another worker may rescue the post.
    pub expires_at: DateTime<Utc>,
    /// Fencing token: strictly increases with every claim of this post. A commit must present
    /// the token of the current claim.
    pub token: i64,
}

/// Where a published post lives on its platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The platform's id of the post.
    pub remote_id: String,
    /// A public link to it, if the platform gives one.
    pub url: Option<String>,
}

/// Where a multi-step publication stands on the platform, written by the
/// [`Publisher`](crate::publish::Publisher) and kept on the post: an Instagram container id, a TikTok `publish_id`, the step reached. The dispatcher
/// stores it (fenced by the claim) before the publisher's next call, and hands it back on every
/// later call — after a wait, a retry, or a crash — so the publisher resumes and reconciles
/// instead of starting again. Its shape is the publisher's own; core never reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Checkpoint(serde_json::Value);

impl Checkpoint {
    /// A checkpoint holding `state`.
    pub fn new(state: serde_json::Value) -> Self {
        Self(state)
    }

    /// The publisher's state.
    pub fn state(&self) -> &serde_json::Value {
        &self.0
    }

    /// A checkpoint holding `state`, serialised (a state that does not serialise holds null).
    pub fn of<T: Serialize>(state: &T) -> Self {
        Self(serde_json::to_value(state).unwrap_or_default())
    }

    /// The state as the publisher's own type.
    ///
    /// # Errors
    /// It is not one.
    pub fn read<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.0.clone())
    }
}

aggregate! {
    /// A post on one social account.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub struct Post / PostRecord {
        /// See [`Post::id`].
        id: copy PostId,
        /// See [`Post::user_id`].
        user_id: copy UserId,
        /// See [`Post::account_id`].
        account_id: copy AccountId,
        /// See [`Post::queue_item_id`].
        queue_item_id: copy Option<QueueItemId>,
        /// See [`Post::platform`].
        platform: copy Platform,
        /// See [`Post::content`].
        content: by_ref Caption,
        /// See [`Post::media_urls`].
        media_urls: list MediaUrl,
        /// See [`Post::hashtags`].
        hashtags: by_ref Hashtags,
        /// See [`Post::status`].
        status: copy PostStatus,
        /// See [`Post::scheduled_for`].
        scheduled_for: copy Option<DateTime<Utc>>,
        /// See [`Post::next_attempt_at`].
        next_attempt_at: copy Option<DateTime<Utc>>,
        /// See [`Post::attempts`].
        attempts: copy u32,
        /// See [`Post::lease`].
        lease: option Lease => skip,
        /// See [`Post::lease_token`].
        lease_token: copy i64 => skip,
        /// See [`Post::checkpoint`].
        checkpoint: option Checkpoint => skip,
        /// See [`Post::posted_at`].
        posted_at: copy Option<DateTime<Utc>>,
        /// See [`Post::external_id`].
        external_id: option_string,
        /// See [`Post::external_url`].
        external_url: option_string,
        /// See [`Post::error_message`].
        error_message: option_string,
        /// Whether the post waits for its account to be reconnected (held, not failed: a
        /// reconnection releases it). Cleared when the post is settled, held for another reason,
        /// parked, resumed or rescheduled; kept while it is claimed, edited, checkpointed, or
        /// handed back by a graceful shutdown (it is then still waiting).
        held_for_reconnect: copy bool => skip,
        /// Whether the queue put the post on a slot of its account's posting schedule
        /// ([`Post::schedule_on_slot`]). Cleared when the merchant picks another time or takes
        /// it back to draft. Stores refuse a second post of an account on a slot at an instant
        /// one already holds while scheduled, publishing or posted
        /// ([`Conflict::SlotTaken`](crate::store::Conflict::SlotTaken)): two requests racing
        /// for the next free slot never both get it.
        on_slot: copy bool,
        /// The product it advertises as it was when the post was made from its queue item (none
        /// for a post written directly).
        product: option ProductSnapshot,
        /// See [`Post::created_at`].
        created_at: copy DateTime<Utc>,
        /// See [`Post::updated_at`].
        updated_at: copy DateTime<Utc>,
    }
}

/// What a new post is made of, already validated against its platform.
#[derive(Clone, Debug)]
pub struct NewPost {
    /// Its id.
    pub id: PostId,
    /// The owner.
    pub user_id: UserId,
    /// The target account.
    pub account_id: AccountId,
    /// The queue item it was approved from, if any.
    pub queue_item_id: Option<QueueItemId>,
    /// The account's platform.
    pub platform: Platform,
    /// The caption.
    pub content: Caption,
    /// Media.
    pub media_urls: Vec<MediaUrl>,
    /// Hashtags.
    pub hashtags: Hashtags,
    /// The product it advertises, from its queue item.
    pub product: Option<ProductSnapshot>,
}

/// Checks that `at` is a valid publication time: strictly after `now`, at most a year ahead,
/// and not a leap second (`…:60`, which chrono parses but most clients cannot read back).
///
/// # Errors
/// `scheduled_for` is in the past (or now), too far ahead, or a leap second.
pub fn check_schedule_time(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ValidationError> {
    if at.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Err(ValidationError::new(
            "scheduled_for",
            "must not be a leap second (:60)",
        ));
    }
    if at <= now {
        return Err(ValidationError::new(
            "scheduled_for",
            "must be in the future",
        ));
    }
    if at > now + MAX_SCHEDULE_AHEAD {
        return Err(ValidationError::new(
            "scheduled_for",
            "must be at most 365 days ahead",
        ));
    }
    Ok(())
}

impl Post {
    /// A new draft post, or a scheduled one when `scheduled_for` is given (and valid).
    ///
    /// # Errors
    /// The content breaks the platform's rules, or the time is not in the future.
    pub fn create(
        new: NewPost,
        scheduled_for: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        new.platform
            .rules()
            .check(&new.content, &new.hashtags, &new.media_urls)?;
        if let Some(at) = scheduled_for {
            check_schedule_time(at, now)?;
        }
        Ok(Self {
            id: new.id,
            user_id: new.user_id,
            account_id: new.account_id,
            queue_item_id: new.queue_item_id,
            platform: new.platform,
            content: new.content,
            media_urls: new.media_urls,
            hashtags: new.hashtags,
            status: if scheduled_for.is_some() {
                PostStatus::Scheduled
            } else {
                PostStatus::Draft
            },
            scheduled_for,
            next_attempt_at: None,
            attempts: 0,
            lease: None,
            lease_token: 0,
            checkpoint: None,
            posted_at: None,
            external_id: None,
            external_url: None,
            error_message: None,
            held_for_reconnect: false,
            on_slot: false,
            product: new.product,
            created_at: now,
            updated_at: now,
        })
    }

    /// Edits the content (only in draft, scheduled or paused), re-checking the platform's rules.
    ///
    /// # Errors
    /// The post is no longer editable, or the new content breaks the rules.
    pub fn edit(
        &mut self,
        content: Option<Caption>,
        media_urls: Option<Vec<MediaUrl>>,
        hashtags: Option<Hashtags>,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        if !self.status.is_editable() {
            return Err(InvalidTransition {
                entity: "post",
                from: self.status.as_str(),
                to: "edited",
            }
            .into());
        }
        let content = content.unwrap_or_else(|| self.content.clone());
        let media_urls = media_urls.unwrap_or_else(|| self.media_urls.clone());
        let hashtags = hashtags.unwrap_or_else(|| self.hashtags.clone());
        self.platform
            .rules()
            .check(&content, &hashtags, &media_urls)?;
        self.content = content;
        self.media_urls = media_urls;
        self.hashtags = hashtags;
        self.updated_at = now;
        Ok(())
    }

    /// Schedules (or reschedules) the post at `at`: from draft, scheduled or failed.
    ///
    /// # Errors
    /// The transition is not allowed from the current state, `at` is not a valid time, or the
    /// content breaks the platform's rules.
    pub fn schedule(&mut self, at: DateTime<Utc>, now: DateTime<Utc>) -> crate::Result<()> {
        self.ensure_schedulable()?;
        check_schedule_time(at, now)?;
        self.platform
            .rules()
            .check(&self.content, &self.hashtags, &self.media_urls)?;
        // A post sent back its own time keeps its slot; any other time is the merchant's.
        self.on_slot &= self.status == PostStatus::Scheduled && self.scheduled_for == Some(at);
        if self.status == PostStatus::Paused {
            // Resumed: the reason it was held back no longer stands.
            self.error_message = None;
        }
        if self.status == PostStatus::Failed {
            // A fresh publication: nothing of the failed one is resumed.
            self.attempts = 0;
            self.error_message = None;
            self.checkpoint = None;
        }
        self.status = PostStatus::Scheduled;
        self.scheduled_for = Some(at);
        self.next_attempt_at = None;
        self.held_for_reconnect = false;
        self.updated_at = now;
        Ok(())
    }

    /// Checks the post may be (re)scheduled: it is a draft, scheduled, paused, or failed.
    ///
    /// # Errors
    /// It is publishing or posted.
    pub fn ensure_schedulable(&self) -> Result<(), InvalidTransition> {
        if matches!(
            self.status,
            PostStatus::Draft | PostStatus::Scheduled | PostStatus::Failed | PostStatus::Paused
        ) {
            Ok(())
        } else {
            Err(self.status.refuse(PostStatus::Scheduled))
        }
    }

    /// Schedules the post at `at`, a slot of its account's posting schedule the caller found
    /// free (as [`Post::schedule`] does otherwise).
    ///
    /// # Errors
    /// As [`Post::schedule`].
    pub fn schedule_on_slot(&mut self, at: DateTime<Utc>, now: DateTime<Utc>) -> crate::Result<()> {
        self.schedule(at, now)?;
        self.on_slot = true;
        Ok(())
    }

    /// Whether the post holds its slot: it was put on one and is scheduled, publishing or
    /// posted there. Two such posts of one account never share an instant.
    pub fn holds_slot(&self) -> bool {
        self.on_slot
            && matches!(
                self.status,
                PostStatus::Scheduled | PostStatus::Publishing | PostStatus::Posted
            )
    }

    /// Holds a scheduled post back before its time, saying why: no worker claims it until the
    /// merchant schedules it again. It leaves its slot (a resumed post takes its time as the
    /// merchant's own).
    ///
    /// # Errors
    /// The post is not scheduled (a draft has nothing to hold back; a post being published or
    /// published is past holding back).
    pub fn pause(
        &mut self,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        if self.status != PostStatus::Scheduled {
            return Err(self.status.refuse(PostStatus::Paused));
        }
        self.status = PostStatus::Paused;
        self.error_message = Some(reason.into());
        self.on_slot = false;
        self.next_attempt_at = None;
        self.held_for_reconnect = false;
        self.updated_at = now;
        Ok(())
    }

    /// Pauses the post ([`Post::pause`]) because its product changed, keeping the product as it
    /// is now as its snapshot.
    ///
    /// # Errors
    /// As [`Post::pause`].
    pub fn pause_for_product(
        &mut self,
        reason: impl Into<String>,
        product: ProductSnapshot,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.pause(reason, now)?;
        self.product = Some(product);
        Ok(())
    }

    /// Takes a scheduled post back to draft (`scheduled_for: null`). A draft stays a draft.
    ///
    /// # Errors
    /// The post is not in draft, scheduled or paused.
    pub fn unschedule(&mut self, now: DateTime<Utc>) -> Result<(), InvalidTransition> {
        if !self.status.is_editable() {
            return Err(self.status.refuse(PostStatus::Draft));
        }
        if self.status == PostStatus::Paused {
            self.error_message = None;
        }
        self.status = PostStatus::Draft;
        self.scheduled_for = None;
        self.on_slot = false;
        self.next_attempt_at = None;
        self.held_for_reconnect = false;
        self.updated_at = now;
        Ok(())
    }

    /// Checks the post may be deleted (draft, scheduled or paused only).
    ///
    /// # Errors
    /// Posts being published, posted or failed are kept.
    pub fn ensure_deletable(&self) -> Result<(), InvalidTransition> {
        if self.status.is_editable() {
            Ok(())
        } else {
            Err(InvalidTransition {
                entity: "post",
                from: self.status.as_str(),
                to: "deleted",
            })
        }
    }

    /// When the post is next due for an attempt, if it is scheduled.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            PostStatus::Scheduled => self.next_attempt_at.or(self.scheduled_for),
            _ => None,
        }
    }

    /// Whether a worker may claim the post at `now`: due and scheduled, or publishing with an
    /// expired lease (a rescue).
    pub fn is_claimable(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            PostStatus::Scheduled => self.due_at().is_some_and(|at| at <= now),
            PostStatus::Publishing => self.lease.as_ref().is_some_and(|l| l.expires_at <= now),
            _ => false,
        }
    }

    /// A worker claims the post, taking a new lease. Returns whether this is a rescue of a
    /// lapsed claim (which must be reconciled through `lookup` before publishing again).
    ///
    /// # Errors
    /// The post is not claimable at `now`.
    pub fn claim(
        &mut self,
        worker: &str,
        lease_for: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, InvalidTransition> {
        if !self.is_claimable(now) {
            return Err(self.status.refuse(PostStatus::Publishing));
        }
        let rescued = self.status == PostStatus::Publishing;
        self.lease_token += 1;
        self.lease = Some(Lease {
            owner: worker.to_owned(),
            expires_at: now + lease_for,
            token: self.lease_token,
        });
        self.status = PostStatus::Publishing;
        self.updated_at = now;
        Ok(rescued)
    }

    fn ensure_publishing(&self, to: PostStatus) -> Result<(), InvalidTransition> {
        if self.status == PostStatus::Publishing {
            Ok(())
        } else {
            Err(self.status.refuse(to))
        }
    }

    /// Moves the current claim's expiry (after the store extended it).
    pub(crate) fn extend_lease(&mut self, until: DateTime<Utc>) {
        if let Some(lease) = self.lease.as_mut() {
            lease.expires_at = until;
        }
    }

    /// The platform confirmed the post.
    ///
    /// # Errors
    /// The post is not being published.
    pub fn mark_posted(
        &mut self,
        published: Published,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.ensure_publishing(PostStatus::Posted)?;
        self.status = PostStatus::Posted;
        self.posted_at = Some(now);
        self.external_id = Some(published.remote_id);
        self.external_url = published.url;
        self.error_message = None;
        self.lease = None;
        self.next_attempt_at = None;
        self.held_for_reconnect = false;
        self.updated_at = now;
        Ok(())
    }

    /// A failed attempt that may be retried at `at`; counts as an attempt. A post with a
    /// checkpoint stays `publishing` until then (see [`Post::park`]).
    ///
    /// # Errors
    /// The post is not being published.
    pub fn retry_at(
        &mut self,
        at: DateTime<Utc>,
        error: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.ensure_publishing(PostStatus::Scheduled)?;
        self.attempts += 1;
        self.snooze_inner(at, Some(error.into()), now);
        Ok(())
    }

    /// The platform asked to wait until `until`; does not count as an attempt. A post with a
    /// checkpoint stays `publishing` until then (see [`Post::park`]).
    ///
    /// # Errors
    /// The post is not being published.
    pub fn snooze(
        &mut self,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.ensure_publishing(PostStatus::Scheduled)?;
        self.snooze_inner(until, None, now);
        Ok(())
    }

    /// The account needs reconnecting: the post waits with `reason` for the merchant, looked at
    /// again at `until` and released at once by a reconnection ([`Post::resume`]); no attempt
    /// is counted. A post with a checkpoint stays `publishing` until then.
    ///
    /// # Errors
    /// The post is not being published.
    pub fn hold(
        &mut self,
        until: DateTime<Utc>,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.ensure_publishing(PostStatus::Scheduled)?;
        self.snooze_inner(until, Some(reason.into()), now);
        Ok(())
    }

    /// [`Post::hold`] because the account must be reconnected: marked so that a reconnection
    /// releases it ([`Post::resume`]).
    ///
    /// # Errors
    /// The post is not being published.
    pub fn hold_for_reconnect(
        &mut self,
        until: DateTime<Utc>,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.hold(until, reason, now)?;
        self.held_for_reconnect = true;
        Ok(())
    }

    /// What held it is over (its account was reconnected): a scheduled post waiting for a
    /// later attempt is due at its scheduled time again (at once if that has passed), its
    /// message cleared. Returns whether anything changed.
    pub fn resume(&mut self, now: DateTime<Utc>) -> bool {
        if self.status != PostStatus::Scheduled || self.next_attempt_at.is_none() {
            return false;
        }
        self.next_attempt_at = None;
        self.error_message = None;
        self.held_for_reconnect = false;
        self.updated_at = now;
        true
    }

    /// A worker gives its claim back untouched (graceful shutdown): due again at once.
    ///
    /// # Errors
    /// The post is not being published.
    pub fn release(&mut self, now: DateTime<Utc>) -> Result<(), InvalidTransition> {
        self.ensure_publishing(PostStatus::Scheduled)?;
        if self.checkpoint.is_some() {
            self.park_until(now, now);
            return Ok(());
        }
        self.status = PostStatus::Scheduled;
        self.lease = None;
        self.updated_at = now;
        Ok(())
    }

    fn snooze_inner(&mut self, at: DateTime<Utc>, error: Option<String>, now: DateTime<Utc>) {
        if error.is_some() {
            self.error_message = error;
        }
        self.held_for_reconnect = false;
        if self.checkpoint.is_some() {
            self.park_until(at, now);
            return;
        }
        self.status = PostStatus::Scheduled;
        self.next_attempt_at = Some(at);
        self.lease = None;
        self.updated_at = now;
    }

    /// Records how far the publication got (before the publisher's next step), under the
    /// current claim.
    ///
    /// # Errors
    /// The post is not being published.
    pub fn save_checkpoint(
        &mut self,
        checkpoint: Checkpoint,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.ensure_publishing(PostStatus::Publishing)?;
        self.checkpoint = Some(checkpoint);
        self.updated_at = now;
        Ok(())
    }

    /// The platform is processing a step: keeps `checkpoint` and parks the post until `until`.
    /// It stays `publishing` — part of it is on the platform, so it can no longer be edited,
    /// unscheduled or deleted — and its claim expires at `until`, when any worker claims it
    /// again and resumes from the checkpoint. Does not count as an attempt.
    ///
    /// # Errors
    /// The post is not being published.
    pub fn park(
        &mut self,
        checkpoint: Checkpoint,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.save_checkpoint(checkpoint, now)?;
        self.park_until(until, now);
        Ok(())
    }

    /// Keeps the post `publishing` with its claim expiring at `until` (the claim queue's due
    /// time of a `publishing` post), and when it is due again in `next_attempt_at`.
    fn park_until(&mut self, until: DateTime<Utc>, now: DateTime<Utc>) {
        if let Some(lease) = self.lease.as_mut() {
            lease.expires_at = until;
        }
        self.held_for_reconnect = false;
        self.next_attempt_at = Some(until);
        self.updated_at = now;
    }

    /// Gives up: a permanent failure, attempts exhausted, or the account needs reconnecting.
    /// Allowed from publishing, and from scheduled (a post whose account lost its authorisation).
    ///
    /// # Errors
    /// The post is in draft, posted or already failed.
    pub fn fail(
        &mut self,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        if !matches!(self.status, PostStatus::Publishing | PostStatus::Scheduled) {
            return Err(self.status.refuse(PostStatus::Failed));
        }
        self.status = PostStatus::Failed;
        self.error_message = Some(reason.into());
        self.lease = None;
        self.next_attempt_at = None;
        self.held_for_reconnect = false;
        self.updated_at = now;
        Ok(())
    }

    /// A publication attempt failed for good (rejected, authorisation expired, or the last
    /// allowed attempt): counts the attempt and fails the post.
    ///
    /// # Errors
    /// The post is not being published.
    pub fn fail_attempt(
        &mut self,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        self.ensure_publishing(PostStatus::Failed)?;
        self.attempts += 1;
        self.fail(reason, now)
    }

    /// The key under which the platform recognises every attempt at this post, so a retried or
    /// rescued publication is never posted twice.
    pub fn idempotency_key(&self) -> String {
        format!("postpilot-{}", self.id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
    }

    fn draft() -> Post {
        Post::create(
            NewPost {
                id: PostId::from(Uuid::nil()),
                user_id: UserId::from(Uuid::nil()),
                account_id: AccountId::from(Uuid::nil()),
                queue_item_id: None,
                platform: Platform::Facebook,
                content: Caption::parse("hello").unwrap(),
                media_urls: vec![],
                hashtags: Hashtags::default(),
                product: None,
            },
            None,
            t0(),
        )
        .unwrap()
    }

    fn published() -> Published {
        Published {
            remote_id: "r1".into(),
            url: None,
        }
    }

    #[test]
    fn a_post_created_with_a_time_is_scheduled_and_without_one_is_a_draft() {
        assert_eq!(draft().status(), PostStatus::Draft);
        let mut new = draft();
        new.schedule(t0() + Duration::hours(1), t0()).unwrap();
        assert_eq!(
            (new.status(), new.scheduled_for()),
            (PostStatus::Scheduled, Some(t0() + Duration::hours(1)))
        );
    }

    #[test]
    fn scheduling_now_or_in_the_past_is_refused() {
        let mut post = draft();
        assert!(matches!(
            post.schedule(t0(), t0()),
            Err(crate::Error::Validation(_))
        ));
        assert!(post.schedule(t0() - Duration::seconds(1), t0()).is_err());
        assert!(
            post.schedule(t0() + MAX_SCHEDULE_AHEAD + Duration::seconds(1), t0())
                .is_err()
        );
        assert_eq!(post, draft(), "a refused change leaves the post as it was");
    }

    #[test]
    fn a_hold_for_reconnect_is_marked_and_settling_or_rescheduling_clears_the_mark() {
        let due = t0() + Duration::minutes(1);
        let held = || {
            let mut post = draft();
            post.schedule(due, t0()).unwrap();
            post.claim("w", Duration::seconds(60), due).unwrap();
            post.hold_for_reconnect(due + Duration::hours(1), "reconnect", due)
                .unwrap();
            assert!(post.held_for_reconnect());
            post
        };
        let mut resumed = held();
        assert!(resumed.resume(due));
        let mut rescheduled = held();
        rescheduled.schedule(due + Duration::hours(2), due).unwrap();
        let mut unscheduled = held();
        unscheduled.unschedule(due).unwrap();
        let mut held_otherwise = held();
        let later = due + Duration::hours(1);
        held_otherwise
            .claim("w", Duration::seconds(60), later)
            .unwrap();
        held_otherwise
            .hold(later + Duration::hours(1), "cap full", later)
            .unwrap();
        let mut posted = held();
        posted.claim("w", Duration::seconds(60), later).unwrap();
        posted.mark_posted(published(), later).unwrap();
        for post in [resumed, rescheduled, unscheduled, held_otherwise, posted] {
            assert!(!post.held_for_reconnect(), "{:?}", post.status());
        }
    }

    #[test]
    fn a_posted_post_is_immutable() {
        let mut post = draft();
        post.schedule(t0() + Duration::minutes(1), t0()).unwrap();
        post.claim("w", Duration::seconds(60), t0() + Duration::minutes(1))
            .unwrap();
        post.mark_posted(published(), t0() + Duration::minutes(1))
            .unwrap();
        let frozen = post.clone();
        assert!(
            post.edit(Some(Caption::parse("x").unwrap()), None, None, t0())
                .is_err()
        );
        assert!(post.schedule(t0() + Duration::hours(1), t0()).is_err());
        assert!(post.unschedule(t0()).is_err());
        assert!(post.ensure_deletable().is_err());
        assert!(post.fail("x", t0()).is_err());
        assert_eq!(post, frozen);
    }

    #[test]
    fn an_illegal_transition_names_both_states() {
        let mut post = draft();
        let err = post.mark_posted(published(), t0()).unwrap_err();
        assert_eq!((err.from, err.to), ("draft", "posted"));
        assert_eq!(err.to_string(), "a post cannot go from draft to posted");
    }

    #[test]
    fn a_retry_counts_an_attempt_and_a_snooze_does_not() {
        let mut post = draft();
        post.schedule(t0() + Duration::minutes(1), t0()).unwrap();
        let now = t0() + Duration::minutes(1);
        post.claim("w", Duration::seconds(60), now).unwrap();
        post.retry_at(now + Duration::seconds(30), "boom", now)
            .unwrap();
        assert_eq!(
            (post.status(), post.attempts(), post.due_at()),
            (PostStatus::Scheduled, 1, Some(now + Duration::seconds(30)))
        );
        post.claim("w", Duration::seconds(60), now + Duration::seconds(30))
            .unwrap();
        post.snooze(now + Duration::minutes(15), now).unwrap();
        assert_eq!(
            (post.attempts(), post.due_at()),
            (1, Some(now + Duration::minutes(15)))
        );
    }

    #[test]
    fn only_an_expired_lease_makes_a_publishing_post_claimable_again() {
        let mut post = draft();
        post.schedule(t0() + Duration::minutes(1), t0()).unwrap();
        let now = t0() + Duration::minutes(1);
        assert!(!post.claim("a", Duration::seconds(60), now).unwrap());
        assert!(!post.is_claimable(now + Duration::seconds(59)));
        assert!(
            post.claim("b", Duration::seconds(60), now + Duration::seconds(59))
                .is_err()
        );
        assert!(
            post.claim("b", Duration::seconds(60), now + Duration::seconds(60))
                .unwrap(),
            "a rescue"
        );
        assert_eq!(
            post.lease().map(|l| (l.owner.as_str(), l.token)),
            Some(("b", 2))
        );
    }

    #[test]
    fn rescheduling_a_failed_post_clears_its_failure() {
        let mut post = draft();
        post.schedule(t0() + Duration::minutes(1), t0()).unwrap();
        post.claim("w", Duration::seconds(60), t0() + Duration::minutes(1))
            .unwrap();
        post.retry_at(
            t0() + Duration::minutes(2),
            "boom",
            t0() + Duration::minutes(1),
        )
        .unwrap();
        post.fail("gave up", t0() + Duration::minutes(2)).unwrap();
        post.schedule(t0() + Duration::hours(1), t0() + Duration::minutes(3))
            .unwrap();
        assert_eq!(
            (post.status(), post.attempts(), post.error_message()),
            (PostStatus::Scheduled, 0, None)
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        Schedule(i64),
        Unschedule,
        Edit,
        Advance(i64),
        Claim,
        Posted,
        Retry(i64),
        Snooze(i64),
        Fail,
        Release,
        Pause,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (-100i64..100_000).prop_map(Op::Schedule),
            Just(Op::Unschedule),
            Just(Op::Edit),
            (0i64..10_000).prop_map(Op::Advance),
            Just(Op::Claim),
            Just(Op::Posted),
            (1i64..1_000).prop_map(Op::Retry),
            (1i64..1_000).prop_map(Op::Snooze),
            Just(Op::Fail),
            Just(Op::Release),
            Just(Op::Pause),
        ]
    }

    fn allowed(from: PostStatus, to: PostStatus) -> bool {
        use PostStatus::*;
        from == to
            || matches!(
                (from, to),
                (Draft, Scheduled)
                    | (Scheduled, Draft)
                    | (Scheduled, Publishing)
                    | (Publishing, Posted)
                    | (Publishing, Scheduled)
                    | (Publishing, Failed)
                    | (Scheduled, Failed)
                    | (Failed, Scheduled)
                    | (Scheduled, Paused)
                    | (Paused, Scheduled)
                    | (Paused, Draft)
            )
    }

    proptest! {
        #[test]
        fn random_operations_never_reach_an_illegal_state(ops in proptest::collection::vec(op(), 1..60)) {
            let mut post = draft();
            let mut now = t0();
            for op in ops {
                let before = post.clone();
                let applied = match op {
                    Op::Schedule(secs) => post.schedule(now + Duration::seconds(secs), now).is_ok(),
                    Op::Unschedule => post.unschedule(now).is_ok(),
                    Op::Edit => post.edit(Some(Caption::parse("edited").unwrap()), None, None, now).is_ok(),
                    Op::Advance(secs) => { now += Duration::seconds(secs); continue; }
                    Op::Claim => post.claim("w", Duration::seconds(60), now).is_ok(),
                    Op::Posted => post.mark_posted(published(), now).is_ok(),
                    Op::Retry(secs) => post.retry_at(now + Duration::seconds(secs), "e", now).is_ok(),
                    Op::Snooze(secs) => post.snooze(now + Duration::seconds(secs), now).is_ok(),
                    Op::Fail => post.fail("e", now).is_ok(),
                    Op::Release => post.release(now).is_ok(),
                    Op::Pause => post.pause("the price changed", now).is_ok(),
                };
                if !applied {
                    prop_assert_eq!(&post, &before, "a refused operation changed the post");
                }
                prop_assert!(allowed(before.status(), post.status()), "{} -> {}", before.status(), post.status());
                if before.status() == PostStatus::Posted {
                    prop_assert_eq!(&post, &before, "posted is final");
                }
                prop_assert!(post.lease_token() >= before.lease_token());
                prop_assert_eq!(post.lease().is_some(), post.status() == PostStatus::Publishing);
                match post.status() {
                    PostStatus::Draft => prop_assert!(post.scheduled_for().is_none()),
                    PostStatus::Scheduled => prop_assert!(post.due_at().is_some()),
                    PostStatus::Posted => prop_assert!(post.posted_at().is_some() && post.external_id().is_some()),
                    PostStatus::Failed => prop_assert!(post.error_message().is_some()),
                    PostStatus::Paused => {
                        prop_assert!(post.error_message().is_some());
                        prop_assert!(post.due_at().is_none() && !post.is_claimable(now));
                        prop_assert!(!post.holds_slot());
                    }
                    PostStatus::Publishing => {
                        let lease = post.lease().unwrap();
                        prop_assert_eq!(lease.token, post.lease_token());
                    }
                }
            }
        }
    }
}
