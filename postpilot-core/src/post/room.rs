//! Where an account has room for one more post: its platform's publishing cap, and its posting
//! schedule's next free slot (the first instant of the schedule after now that no post of the
//! account is at and the cap has room for).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::ValidationError;
use crate::account::SocialAccount;
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::PostId;
use crate::post::{MAX_SCHEDULE_AHEAD, NEXT_FREE_LOOKAHEAD_DAYS, PostStatus, PublishingCap};
use crate::schedule::PostingSchedule;
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

/// Days of slots one read of the account's posts covers while a free one is looked for.
const SEARCH_DAYS: i64 = 7;

/// How many times one request for the next free slot looks again after another request took the
/// slot it found: each loss means another post got a slot, so this many concurrent requests for
/// one account always all succeed.
pub(crate) const SLOT_RACE_RETRIES: usize = 128;

/// The first instant of the account's posting schedule after `now`, at most a year ahead, that no post of `account` is
/// at (other than `except`, the post being placed) and where the account's publishing cap has
/// room, and that is not in `planned` (slots this request already gave its other posts). A
/// request that lost the slot it found to another (the store refused it with
/// [`crate::store::Conflict::SlotTaken`]) asks again: the winner's post is stored by then, so
/// the slot reads as taken.
///
/// # Errors
/// [`crate::Error::Validation`] naming `slot` when the schedule has no slots or none is free
/// within a year; [`crate::Error::Unavailable`] when the store failed.
pub(crate) async fn next_free_slot(
    deps: &Deps,
    account: &SocialAccount,
    except: Option<PostId>,
    now: DateTime<Utc>,
    planned: &BTreeSet<DateTime<Utc>>,
) -> Result<DateTime<Utc>> {
    let schedule = deps.store.schedule(account.user_id(), account.id()).await?;
    let Some(slots) = schedule.as_ref().map(PostingSchedule::slots) else {
        return Err(no_schedule(account));
    };
    if slots.slots().is_empty() {
        return Err(no_schedule(account));
    }
    let end = now + MAX_SCHEDULE_AHEAD;
    let mut from = now;
    while from < end {
        let to = (from + Duration::days(SEARCH_DAYS)).min(end);
        let taken: BTreeSet<DateTime<Utc>> = deps
            .store
            .posts_between(account.user_id(), from, to)
            .await?
            .into_iter()
            .filter(|p| p.account_id() == account.id() && Some(p.id()) != except)
            // A failed post keeps its time but will not go out there: its slot is free.
            .filter(|p| p.status() != PostStatus::Failed)
            .filter_map(|p| p.scheduled_for())
            .collect();
        let cap = account_cap(deps, account, from, to)
            .await?
            .map(|(cap, places)| (cap, cap_places(places, except, now)));
        let free = slots
            .occurrences(from)
            .take_while(|at| *at < to)
            .filter(|at| *at > now && !taken.contains(at) && !planned.contains(at))
            .find(|at| {
                cap.as_ref()
                    .is_none_or(|(cap, places)| cap.check(places, *at, *at).is_ok())
            });
        if let Some(at) = free {
            return Ok(at);
        }
        from = to;
    }
    Err(ValidationError::new(
        "slot",
        format!(
            "account {} has no free slot in the next 365 days",
            account.id()
        ),
    )
    .into())
}

fn no_schedule(account: &SocialAccount) -> crate::Error {
    ValidationError::new(
        "slot",
        format!(
            "account {} has no posting schedule: set its slots first",
            account.id()
        ),
    )
    .into()
}
