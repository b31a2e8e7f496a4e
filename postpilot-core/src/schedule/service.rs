//! Reading and replacing an account's posting schedule, and listing its slots with the posts
//! that fill them.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::ValidationError;
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::{AccountId, PostId, UserId};
use crate::post::{Post, PostStatus};
use crate::schedule::{PostingSchedule, WeeklySlots};

/// Longest range of slots one listing covers.
pub const MAX_SLOT_RANGE_DAYS: i64 = 62;

/// One slot's instant and the account's posts at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotView {
    /// When the slot is.
    pub at: DateTime<Utc>,
    /// The account's posts whose time is exactly that instant.
    pub posts: Vec<PostId>,
}

/// An account's slots in a range, and the posts the queue put on a slot that no longer is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotListing {
    /// The slots, in order.
    pub slots: Vec<SlotView>,
    /// Scheduled posts in the range that were put on a slot (next free slot) whose time the
    /// schedule no longer has: they keep their time, and the merchant decides whether to move
    /// them.
    pub off_slot: Vec<PostId>,
    /// The account's posts in the range, by time: what the slots and `off_slot` name.
    pub posts: Vec<Post>,
}

/// Posting schedules.
#[derive(Clone, Debug)]
pub struct ScheduleService {
    deps: Arc<Deps>,
}

impl ScheduleService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// The account's schedule; without one, no slots in the merchant's time zone.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the account is not the user's.
    pub async fn get(&self, user: UserId, account: AccountId) -> Result<PostingSchedule> {
        self.deps
            .store
            .account(user, account)
            .await?
            .ok_or(Error::NotFound("account"))?;
        if let Some(schedule) = self.deps.store.schedule(user, account).await? {
            return Ok(schedule);
        }
        let zone = self.deps.user(user).await?.time_zone();
        Ok(PostingSchedule {
            id: account,
            user_id: user,
            slots: WeeklySlots::new(zone, Vec::new())?,
            updated_at: self.deps.now(),
        })
    }

    /// Replaces the account's slots (`["mon 09:00", …]`) and their zone (default: the
    /// merchant's). Posts keep their times: a post no longer on a slot stays where it is.
    ///
    /// # Errors
    /// [`Error::Validation`] naming `slots` or `time_zone`; [`Error::NotFound`] when the
    /// account is not the user's.
    pub async fn set<S: AsRef<str>>(
        &self,
        user: UserId,
        account: AccountId,
        time_zone: Option<&str>,
        slots: &[S],
    ) -> Result<PostingSchedule> {
        self.deps
            .store
            .account(user, account)
            .await?
            .ok_or(Error::NotFound("account"))?;
        let zone = match time_zone {
            Some(zone) => zone.to_owned(),
            None => self.deps.user(user).await?.time_zone().name().to_owned(),
        };
        let schedule = PostingSchedule {
            id: account,
            user_id: user,
            slots: WeeklySlots::parse(&zone, slots)?,
            updated_at: self.deps.now(),
        };
        self.deps.store.put_schedule(&schedule).await?;
        Ok(schedule)
    }

    /// The account's slots in `[from, to)` (at most [`MAX_SLOT_RANGE_DAYS`] days), each with the
    /// account's posts at that instant, and the posts in the range left off a slot by a change
    /// of schedule.
    ///
    /// # Errors
    /// [`Error::Validation`] for a reversed or too long range; [`Error::NotFound`] when the
    /// account is not the user's.
    pub async fn slots(
        &self,
        user: UserId,
        account: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SlotListing> {
        if to <= from {
            return Err(ValidationError::new("to", "must be after from").into());
        }
        if to - from > Duration::days(MAX_SLOT_RANGE_DAYS) {
            return Err(ValidationError::new(
                "to",
                format!("the range must be at most {MAX_SLOT_RANGE_DAYS} days"),
            )
            .into());
        }
        let schedule = self.get(user, account).await?;
        let mut posts = self.deps.store.posts_between(user, from, to).await?;
        posts.retain(|p| p.account_id() == account);
        let mut taken: BTreeMap<DateTime<Utc>, Vec<(PostId, bool)>> = BTreeMap::new();
        for post in &posts {
            if let Some(at) = post.scheduled_for() {
                // Only a scheduled post can move back onto a slot: it alone counts as off one.
                let movable = post.on_slot() && post.status() == PostStatus::Scheduled;
                taken.entry(at).or_default().push((post.id(), movable));
            }
        }
        let slots = schedule
            .slots()
            .occurrences(from)
            .take_while(|at| *at < to)
            .map(|at| SlotView {
                at,
                posts: taken
                    .remove(&at)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect(),
            })
            .collect();
        let off_slot = taken
            .into_values()
            .flatten()
            .filter_map(|(id, movable)| movable.then_some(id))
            .collect();
        Ok(SlotListing {
            slots,
            off_slot,
            posts,
        })
    }
}
