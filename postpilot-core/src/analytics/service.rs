//! Analytics use cases.

use std::sync::Arc;

use chrono::Days;
use chrono_tz::Tz;

use crate::analytics::{AnalyticsOverview, DayMetrics, MetricCounts, PostMetrics};
use crate::clock::day_start;
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

    /// The last `days` local days in `zone` up to today, oldest first, each with the posts
    /// published that day and their metrics (a day without posts is zeros): what a chart of
    /// engagement over time draws. Days are whole local days, 23 or 25 hours long when the
    /// clocks change.
    ///
    /// # Errors
    /// The store failed.
    pub async fn by_day(&self, user: UserId, days: u32, zone: Tz) -> Result<Vec<DayMetrics>> {
        let today = self.deps.now().with_timezone(&zone).date_naive();
        let first = today
            .checked_sub_days(Days::new(u64::from(days.saturating_sub(1))))
            .unwrap_or(today);
        let tomorrow = today.succ_opt().unwrap_or(today);
        let start = |day| day_start(day, zone).unwrap_or_else(|| self.deps.now());
        let (from, to) = (start(first), start(tomorrow));
        let mut found: std::collections::BTreeMap<_, _> = self
            .deps
            .store
            .metrics_by_day(user, from, to, zone)
            .await?
            .into_iter()
            .map(|d| (d.day, d))
            .collect();
        let mut out = Vec::with_capacity(days as usize);
        let mut day = first;
        while day <= today {
            out.push(found.remove(&day).unwrap_or(DayMetrics {
                day,
                posts: 0,
                counts: MetricCounts::default(),
            }));
            day = match day.succ_opt() {
                Some(next) => next,
                None => break,
            };
        }
        Ok(out)
    }

    /// The user's `limit` posts with the most interactions.
    ///
    /// # Errors
    /// The store failed.
    pub async fn top_posts(&self, user: UserId, limit: u32) -> Result<Vec<PostMetrics>> {
        Ok(self.deps.store.top_post_metrics(user, limit).await?)
    }
}
