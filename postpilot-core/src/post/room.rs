//! Where an account has room for one more post: its platform's publishing cap, its posting
//! schedule's next free slot (the first instant of the schedule after now that no post of the
//! account is at and the cap has room for), and the duplicate guard (no second post of one
//! caption within 24 hours).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::ValidationError;
use crate::account::SocialAccount;
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::PostId;
use crate::post::duplicate::same_caption;
use crate::post::{
    DUPLICATE_WINDOW, DuplicateOf, Duplicates, MAX_SCHEDULE_AHEAD, NEXT_FREE_LOOKAHEAD_DAYS, Post,
    PostStatus, PublishingCap,
};
use crate::schedule::WeeklySlots;
use crate::store::PostSlot;

/// Most of an account's post times one cap check reads: a cap of 100 a day over the eight days
/// and two windows a check looks at is 1,000, so this bound is never what stops a real schedule.
const MAX_CAP_SLOTS: u32 = 10_000;

/// Checks that `account` can take one more post at `at` — `except` being a post that moves
/// there (its current time does not count). The check reads the account's posts (scheduled,
/// publishing and posted) around `at`; two requests racing for the last free place can both
/// pass it, and then the worker holds the later post before its first call while the
/// account's posts published or begun fill the cap (see the dispatcher).
///
/// # Errors
/// [`Error::PublishingCapFull`] when a window it would join is full;
/// [`Error::Unavailable`] when the store failed.
pub(crate) async fn ensure_within_cap(
    deps: &Deps,
    account: &SocialAccount,
    at: DateTime<Utc>,
    except: Option<PostId>,
) -> Result<()> {
    let until = at + chrono::Duration::days(NEXT_FREE_LOOKAHEAD_DAYS);
    let Some((cap, slots)) = account_cap(deps, account, at, until).await? else {
        return Ok(());
    };
    let times = cap_places(slots, except, deps.now());
    cap.check(&times, at, until)
        .map_err(|full| Error::PublishingCapFull(Box::new(full)))
}

/// The times the account's posts count at in its cap, sorted, leaving out `except` (a post that
/// moves). A post past its time that has not started goes out as soon as a worker takes it: it
/// counts now, not at its old time.
pub(crate) fn cap_places(
    slots: Vec<PostSlot>,
    except: Option<PostId>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut times: Vec<DateTime<Utc>> = slots
        .into_iter()
        .filter(|slot| Some(slot.post) != except)
        .map(|slot| {
            if slot.started {
                slot.at
            } else {
                slot.at.max(now)
            }
        })
        .collect();
    times.sort_unstable();
    times
}

/// The account's publishing cap, when its platform has one, with the places its posts take from
/// a cap window before `from` to one after `to`.
///
/// # Errors
/// The store failed.
pub(crate) async fn account_cap(
    deps: &Deps,
    account: &SocialAccount,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<(PublishingCap, Vec<PostSlot>)>> {
    let Some(cap) = deps
        .publishing_caps
        .of(account.platform(), account.publishing_cap())
    else {
        return Ok(None);
    };
    let slots = deps
        .store
        .account_slots(
            account.user_id(),
            account.id(),
            from - cap.window,
            to + cap.window,
            MAX_CAP_SLOTS,
        )
        .await?;
    Ok(Some((cap, slots)))
}

/// Days of the account's posts one read covers while a free slot is looked for.
const SEARCH_DAYS: i64 = 7;

/// Most of an account's cap places one read takes (see [`MAX_CAP_SLOTS`]).
const READ_LIMIT: u32 = MAX_CAP_SLOTS;

/// How many times one request for the next free slot looks again after another request took the
/// slot it found: each loss means another post got a slot, so this many concurrent requests for
/// one account always all succeed.
pub(crate) const SLOT_RACE_RETRIES: usize = 128;

/// The first instant of the account's posting schedule after `now` that no post of the account
/// is at (other than `except`, the post being placed) and its publishing cap has room for (see
/// [`SlotPlanner`]). A request that lost the slot it found to another (the store refused it with
/// [`crate::store::Conflict::SlotTaken`]) asks again: the winner's post is stored by then, so the
/// slot reads as taken.
///
/// # Errors
/// [`crate::Error::Validation`] naming `slot` when the schedule has no slots or none is free
/// within a year; [`crate::Error::Unavailable`] when the store failed.
pub(crate) async fn next_free_slot(
    deps: &Deps,
    account: &SocialAccount,
    except: Option<PostId>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    let mut planner = SlotPlanner::new(deps, account, except, now).await?;
    if !planner.has_slots() {
        return Err(no_schedule(account));
    }
    planner
        .take_next()
        .await?
        .ok_or_else(|| no_free_slot(account))
}

/// An account's free slots handed out in order, for one request: the first after `now`, then the
/// next, and so on, up to a year ahead. A slot is free when no post of the account is at it (a
/// failed one does not count: it will not go out there) and the platform's publishing cap has
/// room there. The account's posts are read a week at a time as the search goes on, once each;
/// the slots handed out, and the times [`SlotPlanner::reserve`] is told of, count as taken and
/// in the cap from then on — so a thousand posts placed in one request cost a year of reads, not
/// a thousand.
pub(crate) struct SlotPlanner<'a> {
    deps: &'a Deps,
    account: &'a SocialAccount,
    slots: Option<WeeklySlots>,
    except: Option<PostId>,
    now: DateTime<Utc>,
    end: DateTime<Utc>,
    cap: Option<PublishingCap>,
    /// Instants a post of the account holds.
    taken: BTreeSet<DateTime<Utc>>,
    /// The account's places in its cap, sorted.
    places: Vec<DateTime<Utc>>,
    /// The account's posts are read up to here (from `now`).
    read_until: DateTime<Utc>,
    /// The next search starts here.
    cursor: DateTime<Utc>,
}

impl<'a> SlotPlanner<'a> {
    /// A planner for `account`'s schedule as stored, leaving `except` (a post being moved) out.
    ///
    /// # Errors
    /// The store failed.
    pub(crate) async fn new(
        deps: &'a Deps,
        account: &'a SocialAccount,
        except: Option<PostId>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let schedule = deps.store.schedule(account.user_id(), account.id()).await?;
        let slots = schedule
            .map(|s| s.slots().clone())
            .filter(|s| !s.slots().is_empty());
        let cap = deps
            .publishing_caps
            .of(account.platform(), account.publishing_cap());
        let mut planner = Self {
            deps,
            account,
            slots,
            except,
            now,
            end: now + MAX_SCHEDULE_AHEAD,
            cap,
            taken: BTreeSet::new(),
            places: Vec::new(),
            read_until: now,
            cursor: now,
        };
        if let Some(cap) = cap {
            // The posts of the window before now count in the cap from the start.
            let before = planner.cap_places(now - cap.window, now).await?;
            planner.places.extend(before);
            planner.places.sort_unstable();
        }
        Ok(planner)
    }

    /// Whether the account has a schedule with slots.
    pub(crate) fn has_slots(&self) -> bool {
        self.slots.is_some()
    }

    /// The account's places in its cap in `(from, to]`.
    async fn cap_places(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let places = self
            .deps
            .store
            .account_slots(
                self.account.user_id(),
                self.account.id(),
                from,
                to,
                READ_LIMIT,
            )
            .await?;
        Ok(cap_places(places, self.except, self.now))
    }

    /// Reads the account's posts (and cap places) up to `until`.
    async fn read(&mut self, until: DateTime<Utc>) -> Result<()> {
        while self.read_until < until {
            let (from, to) = (
                self.read_until,
                self.read_until + Duration::days(SEARCH_DAYS),
            );
            let posts = self
                .deps
                .store
                .posts_between(self.account.user_id(), from, to)
                .await?;
            self.taken.extend(
                posts
                    .into_iter()
                    .filter(|p| p.account_id() == self.account.id() && Some(p.id()) != self.except)
                    // Failed and paused posts are not going out at their times: no slot held.
                    .filter(|p| !matches!(p.status(), PostStatus::Failed | PostStatus::Paused))
                    .filter_map(|p| p.scheduled_for()),
            );
            if self.cap.is_some() {
                let more = self.cap_places(from, to).await?;
                self.places.extend(more);
                self.places.sort_unstable();
            }
            self.read_until = to;
        }
        Ok(())
    }

    /// Whether the cap has room for one more post at `at`.
    ///
    /// # Errors
    /// The store failed.
    pub(crate) async fn fits(&mut self, at: DateTime<Utc>) -> Result<bool> {
        let Some(cap) = self.cap else {
            return Ok(true);
        };
        self.read(at + cap.window).await?;
        Ok(cap.check(&self.places, at, at).is_ok())
    }

    /// Counts a post at `at` as taken and in the cap (a post this request places by time).
    pub(crate) fn reserve(&mut self, at: DateTime<Utc>) {
        self.taken.insert(at);
        if self.cap.is_some() {
            let index = self.places.partition_point(|p| *p <= at);
            self.places.insert(index, at);
        }
    }

    /// The next free slot, now taken; `None` when the schedule has none left within a year (or
    /// no slots).
    ///
    /// # Errors
    /// The store failed.
    pub(crate) async fn take_next(&mut self) -> Result<Option<DateTime<Utc>>> {
        let Some(slots) = self.slots.clone() else {
            return Ok(None);
        };
        let window = self.cap.map_or(Duration::zero(), |c| c.window);
        let mut from = self.cursor;
        while from < self.end {
            let to = (from + Duration::days(SEARCH_DAYS)).min(self.end);
            self.read(to + window).await?;
            let candidates: Vec<_> = slots.occurrences(from).take_while(|at| *at < to).collect();
            for at in candidates {
                if at <= self.now || self.taken.contains(&at) {
                    continue;
                }
                if let Some(cap) = self.cap
                    && cap.check(&self.places, at, at).is_err()
                {
                    continue;
                }
                self.cursor = at;
                self.reserve(at);
                return Ok(Some(at));
            }
            from = to;
        }
        self.cursor = self.end;
        Ok(None)
    }
}

/// The error of an account without slots.
pub(crate) fn no_schedule(account: &SocialAccount) -> crate::Error {
    ValidationError::new(
        "slot",
        format!(
            "account {} has no posting schedule: set its slots first",
            account.id()
        ),
    )
    .into()
}

/// The error of an account whose schedule has no free slot within a year.
pub(crate) fn no_free_slot(account: &SocialAccount) -> crate::Error {
    ValidationError::new(
        "slot",
        format!(
            "account {} has no free slot in the next 365 days",
            account.id()
        ),
    )
    .into()
}

/// Checks that `post`, going out at `at`, does not repeat the caption of another post of its
/// account that is scheduled, publishing or posted within [`DUPLICATE_WINDOW`] of `at`. Drafts
/// and failed posts do not count: they do not go out. Like the publishing cap, this is a check
/// before the write, not a constraint: two requests racing with one caption can both pass.
///
/// # Errors
/// [`Error::DuplicatePost`] naming the other post; [`Error::Unavailable`] when the store
/// failed.
pub(crate) async fn ensure_not_duplicate(
    deps: &Deps,
    post: &Post,
    at: DateTime<Utc>,
    duplicates: Duplicates,
) -> Result<()> {
    if duplicates == Duplicates::Allow {
        return Ok(());
    }
    let from = at - DUPLICATE_WINDOW;
    let to = at + DUPLICATE_WINDOW + Duration::seconds(1);
    let around = deps.store.posts_between(post.user_id(), from, to).await?;
    let near = |other: &Post| {
        other
            .scheduled_for()
            .is_some_and(|t| (t - at).abs() <= DUPLICATE_WINDOW)
    };
    let other = around.into_iter().find(|other| {
        other.id() != post.id()
            && near(other)
            && other.account_id() == post.account_id()
            && matches!(
                other.status(),
                PostStatus::Scheduled | PostStatus::Publishing | PostStatus::Posted
            )
            && same_caption(other.content().as_ref(), post.content().as_ref())
    });
    match other.and_then(|other| Some((other.id(), other.scheduled_for()?))) {
        Some((post_id, scheduled_for)) => Err(Error::DuplicatePost(Box::new(DuplicateOf {
            post_id,
            scheduled_for,
        }))),
        None => Ok(()),
    }
}
