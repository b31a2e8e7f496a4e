//! Post metrics and the analytics overview.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::analytics::{AnalyticsOverview, DayMetrics, MetricCounts, PostMetrics};
use postpilot_core::id::{PostId, UserId};
use postpilot_core::page::{Order, Page, PageRequest};
use postpilot_core::store::{MetricsStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, count, store_error, to_i64};
use crate::fetch::{Positioned, fetch_owned, fetch_page};
use crate::status::PostStatusSql;

#[derive(sqlx::FromRow)]
struct MetricsRow {
    post_id: Uuid,
    user_id: Uuid,
    #[sqlx(flatten)]
    counts: CountsRow,
    engagement_rate: f64,
    fetched_at: DateTime<Utc>,
}

/// A post's counters, or their sums over an owner's posts.
#[derive(sqlx::FromRow)]
struct CountsRow {
    impressions: i64,
    reach: i64,
    likes: i64,
    comments: i64,
    shares: i64,
    clicks: i64,
}

impl TryFrom<CountsRow> for MetricCounts {
    type Error = StoreError;
    fn try_from(r: CountsRow) -> Result<Self, StoreError> {
        let count = |n| count("post_metrics", n);
        Ok(Self {
            impressions: count(r.impressions)?,
            reach: count(r.reach)?,
            likes: count(r.likes)?,
            comments: count(r.comments)?,
            shares: count(r.shares)?,
            clicks: count(r.clicks)?,
        })
    }
}

impl TryFrom<MetricsRow> for PostMetrics {
    type Error = StoreError;
    fn try_from(r: MetricsRow) -> Result<Self, StoreError> {
        Ok(Self {
            post_id: PostId::from(r.post_id),
            user_id: UserId::from(r.user_id),
            counts: MetricCounts::try_from(r.counts)?,
            engagement_rate: r.engagement_rate,
            fetched_at: r.fetched_at,
        })
    }
}

macro_rules! metrics_columns {
    ($p:literal) => {
        concat!(
            $p,
            "post_id, ",
            $p,
            "user_id, ",
            $p,
            "impressions, ",
            $p,
            "reach, ",
            $p,
            "likes, ",
            $p,
            "comments, ",
            $p,
            "shares, ",
            $p,
            "clicks, ",
            $p,
            "engagement_rate, ",
            $p,
            "fetched_at"
        )
    };
}

#[async_trait]
impl MetricsStore for PgStore {
    async fn upsert_metrics(&self, metrics: &PostMetrics) -> StoreResult<()> {
        let c = &metrics.counts;
        // Only for a published post of the stated owner: otherwise nothing is written.
        let written = sqlx::query(
            "INSERT INTO post_metrics (post_id, user_id, impressions, reach, likes, comments, \
             shares, clicks, engagement_rate, fetched_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
             WHERE EXISTS (SELECT 1 FROM posts \
                           WHERE id = $1 AND user_id = $2 AND posted_at IS NOT NULL) \
             ON CONFLICT (post_id) DO UPDATE SET impressions = EXCLUDED.impressions, \
             reach = EXCLUDED.reach, likes = EXCLUDED.likes, comments = EXCLUDED.comments, \
             shares = EXCLUDED.shares, clicks = EXCLUDED.clicks, \
             engagement_rate = EXCLUDED.engagement_rate, fetched_at = EXCLUDED.fetched_at",
        )
        .bind(metrics.post_id.as_uuid())
        .bind(metrics.user_id.as_uuid())
        .bind(to_i64(c.impressions))
        .bind(to_i64(c.reach))
        .bind(to_i64(c.likes))
        .bind(to_i64(c.comments))
        .bind(to_i64(c.shares))
        .bind(to_i64(c.clicks))
        .bind(metrics.engagement_rate)
        .bind(metrics.fetched_at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn post_metrics(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Option<PostMetrics>> {
        let sql = concat!(
            "SELECT ",
            metrics_columns!(""),
            " FROM post_metrics WHERE post_id = $1 AND user_id = $2"
        );
        fetch_owned::<MetricsRow, _>(&self.pool, sql, post_id.as_uuid(), owner).await
    }

    async fn list_post_metrics(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<PostMetrics>> {
        // Latest published first, by the post's publication time: the owner's published posts
        // read from where the page starts (`posts_user_published_page_idx`), each joined to its
        // metrics — a page's worth of rows however many the owner has. (Metrics exist only for
        // published posts, and a published post keeps its time.) The total is the owner's
        // counter.
        fetch_page(
            &self.pool,
            "post_metrics",
            page,
            Order::NewestFirst,
            sqlx::query_as::<_, Positioned<MetricsRow>>(concat!(
                "SELECT ",
                metrics_columns!("m."),
                ", p.posted_at AS page_at, p.id AS page_id \
                 FROM posts AS p JOIN post_metrics AS m ON m.post_id = p.id \
                 WHERE p.user_id = $1 AND p.posted_at IS NOT NULL \
                 AND (p.posted_at, p.id) < ($2, $3) \
                 ORDER BY p.posted_at DESC, p.id DESC LIMIT $4 OFFSET $5"
            ))
            .bind(owner.as_uuid()),
            sqlx::query_scalar(
                "SELECT coalesce((SELECT posts FROM metric_totals WHERE user_id = $1), 0)",
            )
            .bind(owner.as_uuid()),
        )
        .await
    }

    async fn analytics_overview(&self, owner: UserId) -> StoreResult<AnalyticsOverview> {
        #[derive(sqlx::FromRow)]
        struct Totals {
            #[sqlx(flatten)]
            counts: CountsRow,
            rows: i64,
            rate_nanos: String,
            posts_published: i64,
        }
        // Two counter rows' worth of work (migration 42), however many posts were published:
        // the owner's metric totals, and its posted posts summed over platforms. The rate sum
        // is numeric, read as text so no digit is lost on the way to an integer.
        let t: Totals = sqlx::query_as(
            "SELECT coalesce(t.impressions, 0)::bigint AS impressions, \
                    coalesce(t.reach, 0)::bigint AS reach, \
                    coalesce(t.likes, 0)::bigint AS likes, \
                    coalesce(t.comments, 0)::bigint AS comments, \
                    coalesce(t.shares, 0)::bigint AS shares, \
                    coalesce(t.clicks, 0)::bigint AS clicks, \
                    coalesce(t.posts, 0) AS rows, \
                    coalesce(t.rate_nanos, 0)::text AS rate_nanos, \
                    (SELECT coalesce(sum(n), 0)::bigint FROM post_counts \
                     WHERE user_id = $1 AND status = $2) AS posts_published \
             FROM (SELECT 1) AS one LEFT JOIN metric_totals AS t ON t.user_id = $1",
        )
        .bind(owner.as_uuid())
        .bind(PostStatusSql::Posted)
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        let rate_nanos = t
            .rate_nanos
            .parse::<u128>()
            .map_err(|e| corrupt("metric_totals", e))?;
        Ok(AnalyticsOverview::from_totals(
            MetricCounts::try_from(t.counts)?,
            count("metric_totals", t.rows)?,
            rate_nanos,
            count("post_counts", t.posts_published)?,
        ))
    }

    async fn metrics_by_day(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: chrono_tz::Tz,
    ) -> StoreResult<Vec<DayMetrics>> {
        #[derive(sqlx::FromRow)]
        struct PublishedRow {
            posted_at: DateTime<Utc>,
            #[sqlx(flatten)]
            counts: CountsRow,
        }
        // posted_at is set exactly on published posts; posts_user_published_idx finds the range.
        // A post without metrics yet counts zero. The rows are put on their local day by core's
        // `DayMetrics::by_local_day` (as in the memory store), not by PostgreSQL's AT TIME ZONE,
        // which reads `CET` or `EET` as a fixed-offset abbreviation where chrono-tz has a zone
        // with summer time, and may not know a zone newer than its tzdata.
        let rows: Vec<PublishedRow> = sqlx::query_as(
            "SELECT p.posted_at, \
                    coalesce(m.impressions, 0) AS impressions, coalesce(m.reach, 0) AS reach, \
                    coalesce(m.likes, 0) AS likes, coalesce(m.comments, 0) AS comments, \
                    coalesce(m.shares, 0) AS shares, coalesce(m.clicks, 0) AS clicks \
             FROM posts AS p LEFT JOIN post_metrics AS m ON m.post_id = p.id \
             WHERE p.user_id = $1 AND p.posted_at >= $2 AND p.posted_at < $3",
        )
        .bind(owner.as_uuid())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let published = rows
            .into_iter()
            .map(|row| Ok((row.posted_at, MetricCounts::try_from(row.counts)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(DayMetrics::by_local_day(published, zone))
    }

    async fn top_post_metrics(&self, owner: UserId, limit: u32) -> StoreResult<Vec<PostMetrics>> {
        let rows: Vec<MetricsRow> = sqlx::query_as(concat!(
            "SELECT ",
            metrics_columns!(""),
            " FROM post_metrics WHERE user_id = $1 \
              ORDER BY likes + comments + shares + clicks DESC, impressions DESC, post_id DESC \
              LIMIT $2"
        ))
        .bind(owner.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(PostMetrics::try_from).collect()
    }
}
