//! Post metrics, in memory.

use async_trait::async_trait;

use super::*;
use crate::analytics::MetricCounts;

#[async_trait]
impl MetricsStore for MemoryStore {
    async fn upsert_metrics(&self, metrics: &PostMetrics) -> StoreResult<()> {
        let mut t = self.tables();
        if t.posts
            .get(&metrics.post_id)
            .is_none_or(|p| p.user_id != metrics.user_id)
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
        let mut all: Vec<_> = t
            .metrics
            .values()
            .filter(|m| m.user_id == owner)
            .cloned()
            .collect();
        all.sort_by_key(|m| {
            std::cmp::Reverse((t.posts.get(&m.post_id).and_then(|p| p.posted_at), m.post_id))
        });
        Ok(page.slice(all))
    }

    async fn analytics_overview(&self, owner: UserId) -> StoreResult<AnalyticsOverview> {
        let t = self.tables();
        let mut overview = AnalyticsOverview {
            posts_published: t
                .posts
                .values()
                .filter(|p| p.user_id == owner && p.status == PostStatus::Posted)
                .count() as u64,
            ..AnalyticsOverview::default()
        };
        let mut rates = Vec::new();
        for m in t.metrics.values().filter(|m| m.user_id == owner) {
            overview.totals += m.counts;
            rates.push(m.counts.engagement_rate());
        }
        if !rates.is_empty() {
            #[allow(clippy::cast_precision_loss)]
            let mean = rates.iter().sum::<f64>() / rates.len() as f64;
            overview.engagement_rate = crate::analytics::round2(mean);
        }
        Ok(overview)
    }

    async fn metrics_by_day(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: chrono_tz::Tz,
    ) -> StoreResult<Vec<DayMetrics>> {
        let t = self.tables();
        let mut days: BTreeMap<chrono::NaiveDate, DayMetrics> = BTreeMap::new();
        for p in t.posts.values() {
            let Some(at) = p.posted_at.filter(|at| (from..to).contains(at)) else {
                continue;
            };
            if p.user_id != owner || p.status != PostStatus::Posted {
                continue;
            }
            let day = at.with_timezone(&zone).date_naive();
            let entry = days.entry(day).or_insert(DayMetrics {
                day,
                posts: 0,
                counts: MetricCounts::default(),
            });
            entry.posts += 1;
            if let Some(m) = t.metrics.get(&p.id) {
                entry.counts += m.counts;
            }
        }
        Ok(days.into_values().collect())
    }

    async fn top_post_metrics(&self, owner: UserId, limit: u32) -> StoreResult<Vec<PostMetrics>> {
        let t = self.tables();
        let mut all: Vec<_> = t
            .metrics
            .values()
            .filter(|m| m.user_id == owner)
            .cloned()
            .collect();
        all.sort_by_key(|m| {
            std::cmp::Reverse((m.counts.interactions(), m.counts.impressions, m.post_id))
        });
        all.truncate(limit as usize);
        Ok(all)
    }
}
