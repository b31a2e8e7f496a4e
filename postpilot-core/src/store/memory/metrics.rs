//! Post metrics, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl MetricsStore for MemoryStore {
    async fn upsert_metrics(&self, metrics: &PostMetrics) -> StoreResult<()> {
        let mut t = self.tables();
        if t.posts
            .get(&metrics.post_id)
            .is_none_or(|p| p.user_id != metrics.user_id || p.posted_at.is_none())
        {
            return Err(StoreError::NotFound);
        }
        t.metrics.insert(metrics.post_id, metrics.clone());
        Ok(())
    }

    async fn post_metrics(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Option<PostMetrics>> {
        Ok(self
            .tables()
            .metrics
            .get(&post_id)
            .filter(|m| m.user_id == owner)
            .cloned())
    }

    async fn list_post_metrics(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<PostMetrics>> {
        let t = self.tables();
        let all = t.metrics_of(owner);
        // Latest published first (metrics exist only for published posts, which keep their
        // publication time; the epoch stands in for none).
        Ok(page_of(page, all, Order::NewestFirst, |m| {
            let posted_at = t.posts.get(&m.post_id).and_then(|p| p.posted_at);
            Cursor::new(
                posted_at.unwrap_or(DateTime::UNIX_EPOCH),
                m.post_id.as_uuid(),
            )
        }))
    }

    async fn analytics_overview(&self, owner: UserId) -> StoreResult<AnalyticsOverview> {
        let t = self.tables();
        let posts_published = t
            .posts
            .values()
            .filter(|p| p.user_id == owner && p.status == PostStatus::Posted)
            .count() as u64;
        let (mut totals, mut rows, mut rate_nanos) =
            (crate::analytics::MetricCounts::default(), 0, 0);
        for m in t.metrics.values().filter(|m| m.user_id == owner) {
            totals += m.counts;
            rows += 1;
            rate_nanos += m.counts.engagement_nanos();
        }
        Ok(AnalyticsOverview::from_totals(
            totals,
            rows,
            rate_nanos,
            posts_published,
        ))
    }

    async fn metrics_by_day(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: chrono_tz::Tz,
    ) -> StoreResult<Vec<DayMetrics>> {
        let t = self.tables();
        let published = t.posts.values().filter_map(|p| {
            let at = p.posted_at.filter(|at| (from..to).contains(at))?;
            (p.user_id == owner && p.status == PostStatus::Posted).then(|| {
                let counts = t.metrics.get(&p.id).map(|m| m.counts).unwrap_or_default();
                (at, counts)
            })
        });
        Ok(DayMetrics::by_local_day(published, zone))
    }

    async fn top_post_metrics(&self, owner: UserId, limit: u32) -> StoreResult<Vec<PostMetrics>> {
        let mut all = self.tables().metrics_of(owner);
        all.sort_by_key(|m| {
            std::cmp::Reverse((m.counts.interactions(), m.counts.impressions, m.post_id))
        });
        all.truncate(limit as usize);
        Ok(all)
    }
}

impl Tables {
    /// The owner's post metrics, in no order.
    fn metrics_of(&self, owner: UserId) -> Vec<PostMetrics> {
        self.metrics
            .values()
            .filter(|m| m.user_id == owner)
            .cloned()
            .collect()
    }
}
