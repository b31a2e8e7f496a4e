//! The quota rules: which plan a user has now, and the monthly post quota a store enforces.

use std::sync::Arc;

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
/// caption generator is metered ([`CaptionGenerator::metered`]).
///
/// # Errors
/// [`Error::PlanLimit`] on `generations_per_month` when the month's generations are used up.
///
/// [`CaptionGenerator::metered`]: crate::caption::CaptionGenerator::metered
pub(crate) async fn take_generation(deps: &Arc<Deps>, user: UserId) -> Result<CountedGeneration> {
    let mut counted = CountedGeneration {
        deps: deps.clone(),
        user,
        month: None,
    };
    if !deps.captions.metered() {
        return Ok(counted);
    }
    let limit = deps.limits(plan_of(deps, user).await?).max_generations;
    let month = MonthWindow::containing(deps.now()).start;
    match deps.store.take_generation(user, month, limit.max()).await {
        Ok(()) => {
            counted.month = Some(month);
            Ok(counted)
        }
        Err(crate::store::StoreError::LimitReached) => Err(Error::PlanLimit {
            resource: LimitedResource::GenerationsPerMonth,
            limit: limit.max().unwrap_or(u32::MAX),
        }),
        Err(e) => Err(e.into()),
    }
}

/// A generation counted against the month's quota: kept once what it wrote is stored
/// ([`settle`](Self::settle) with success), given back otherwise — a failed generation, a store
/// error, a conflict, and (dropped unsettled) a cancelled request alike, once each.
#[derive(Debug)]
#[must_use = "settle it, or the generation is given back when dropped"]
pub(crate) struct CountedGeneration {
    deps: Arc<Deps>,
    user: UserId,
    /// The month it was counted in; `None` when nothing was counted or it is settled.
    month: Option<DateTime<Utc>>,
}

impl CountedGeneration {
    /// Keeps the generation when `outcome` succeeded, gives it back when it failed; passes
    /// `outcome` on.
    pub(crate) async fn settle<T>(mut self, outcome: Result<T>) -> Result<T> {
        if let Some(month) = self.month.take()
            && outcome.is_err()
        {
            give_back(&self.deps, self.user, month).await;
        }
        outcome
    }

    /// Gives the generation back now (the model wrote nothing that was paid for).
    pub(crate) async fn give_back(&mut self) {
        if let Some(month) = self.month.take() {
            give_back(&self.deps, self.user, month).await;
        }
    }
}

impl Drop for CountedGeneration {
    fn drop(&mut self) {
        // Dropped unsettled: the request was cancelled (a timeout, a closed connection) before
        // anything was stored.
        if let Some(month) = self.month.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let (deps, user) = (self.deps.clone(), self.user);
            runtime.spawn(async move { give_back(&deps, user, month).await });
        }
    }
}

async fn give_back(deps: &Deps, user: UserId, month: DateTime<Utc>) {
    if let Err(e) = deps.store.return_generation(user, month).await {
        tracing::warn!(error = %e, "captions: a generation that stored nothing could not be given back");
    }
}

/// The error for a post that does not fit in the month's quota.
pub(crate) fn posts_quota_error(limit: Limit) -> Error {
    Error::PlanLimit {
        resource: LimitedResource::PostsPerMonth,
        limit: limit.max().unwrap_or(u32::MAX),
    }
}
