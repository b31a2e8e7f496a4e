//! Analytics use cases.

use std::sync::Arc;

use crate::analytics::{AnalyticsOverview, PostMetrics};
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::{PostId, UserId};
use crate::page::{Page, PageRequest};

/// Totals and per-post metrics.
#[derive(Clone, Debug)]
pub struct AnalyticsService {
    deps: Arc<Deps>,
}

impl AnalyticsService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Totals over the user's posts and the average engagement rate.
    ///
    /// # Errors
    /// The store failed.
    pub async fn overview(&self, user: UserId) -> Result<AnalyticsOverview> {
        Ok(self.deps.store.analytics_overview(user).await?)
    }

    /// The metrics of one of the user's posts; zeros if none were fetched yet.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the post is absent or someone else's.
    pub async fn post(&self, user: UserId, post_id: PostId) -> Result<PostMetrics> {
        let post = self
            .deps
            .store
            .post(user, post_id)
            .await?
            .ok_or(Error::NotFound("post"))?;
        Ok(self
            .deps
            .store
            .post_metrics(user, post_id)
            .await?
            .unwrap_or_else(|| {
                PostMetrics::new(post_id, user, Default::default(), post.updated_at())
            }))
    }

    /// The metrics of the user's posts, most recently published first.
    ///
    /// # Errors
    /// The store failed.
    pub async fn posts(&self, user: UserId, page: PageRequest) -> Result<Page<PostMetrics>> {
        Ok(self.deps.store.list_post_metrics(user, page).await?)
    }
}
