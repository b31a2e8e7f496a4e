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

/// The error for a post that does not fit in the month's quota.
pub(crate) fn posts_quota_error(limit: Limit) -> Error {
    Error::PlanLimit {
        resource: LimitedResource::PostsPerMonth,
        limit: limit.max().unwrap_or(u32::MAX),
    }
}
