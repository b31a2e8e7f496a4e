//! Usage against the plan's limits.

use std::sync::Arc;

use serde::Serialize;

use crate::context::Deps;
use crate::error::Result;
use crate::id::UserId;
use crate::plan::plan_of;
use crate::plan::{Limit, MonthWindow, PlanTier};

/// What a user has used of their plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// The current plan.
    pub plan: PlanTier,
    /// Posts created this calendar month (UTC).
    pub posts_this_month: u64,
    /// The monthly cap (-1: unlimited).
    pub posts_limit: Limit,
    /// Connected accounts.
    pub connected_accounts: u64,
    /// The account cap (-1: unlimited).
    pub accounts_limit: Limit,
    /// Whether API keys work.
    pub api_access: bool,
    /// Captions a language model wrote this calendar month (UTC).
    pub generations_this_month: u64,
    /// The monthly cap on them (-1: unlimited).
    pub generations_limit: Limit,
}

/// Usage figures.
#[derive(Clone, Debug)]
pub struct UsageService {
    deps: Arc<Deps>,
}

impl UsageService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// The user's usage now.
    ///
    /// # Errors
    /// The store failed.
    pub async fn usage(&self, user: UserId) -> Result<Usage> {
        let plan = plan_of(&self.deps, user).await?;
        let limits = self.deps.limits(plan);
        let window = MonthWindow::containing(self.deps.now());
        let store = &self.deps.store;
        Ok(Usage {
            plan,
            posts_this_month: store.count_posts_created(user, window).await?,
            posts_limit: limits.max_items,
            connected_accounts: store.count_connected_accounts(user).await?,
            accounts_limit: limits.max_secondary,
            api_access: limits.api_access,
            generations_this_month: store.count_generations(user, window.start).await?,
            generations_limit: limits.max_generations,
        })
    }
}
