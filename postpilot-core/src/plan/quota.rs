//! The quota rules: which plan a user has now, and the monthly post quota a store enforces.

use chrono::{DateTime, Utc};

use crate::billing::effective_plan;
use crate::context::Deps;
use crate::error::{Error, LimitedResource, Result};
use crate::id::UserId;
use crate::plan::{Limit, MonthWindow, PlanTier, PostQuota};

/// The plan the user has now, from their subscription.
pub(crate) async fn plan_of(deps: &Deps, user: UserId) -> Result<PlanTier> {
    let subscription = deps.store.subscription(user).await?;
    Ok(effective_plan(subscription.as_ref(), deps.now()))
}

/// The user's quota for posts created at `created_at` — the window is the month of the posts'
/// own creation time, so a post stamped on the last instant of a month counts there.
pub(crate) async fn post_quota(
    deps: &Deps,
    user: UserId,
    created_at: DateTime<Utc>,
) -> Result<PostQuota> {
    Ok(PostQuota {
        window: MonthWindow::containing(created_at),
        limit: deps.limits(plan_of(deps, user).await?).max_items,
    })
}

/// Counts one language-model generation for `user` in this month's quota of their plan, when the
/// caption generator is metered ([`CaptionGenerator::metered`]); returns the month it was counted
/// in, to give it back should the generation fail.
///
/// # Errors
/// [`Error::PlanLimit`] on `generations_per_month` when the month's generations are used up.
///
/// [`CaptionGenerator::metered`]: crate::caption::CaptionGenerator::metered
pub(crate) async fn take_generation(deps: &Deps, user: UserId) -> Result<Option<DateTime<Utc>>> {
    if !deps.captions.metered() {
        return Ok(None);
    }
    let limit = deps.limits(plan_of(deps, user).await?).max_generations;
    let month = MonthWindow::containing(deps.now()).start;
    match deps.store.take_generation(user, month, limit.max()).await {
        Ok(()) => Ok(Some(month)),
        Err(crate::store::StoreError::LimitReached) => Err(Error::PlanLimit {
            resource: LimitedResource::GenerationsPerMonth,
            limit: limit.max().unwrap_or(u32::MAX),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The error for a post that does not fit in the month's quota.
pub(crate) fn posts_quota_error(limit: Limit) -> Error {
    Error::PlanLimit {
        resource: LimitedResource::PostsPerMonth,
        limit: limit.max().unwrap_or(u32::MAX),
    }
}
