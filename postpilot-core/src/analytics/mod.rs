//! Per-post metrics and the totals a merchant sees.

mod service;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::id::{PostId, UserId};

pub use service::AnalyticsService;

/// Counters a platform reports for one published post.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricCounts {
    /// Times shown.
    pub impressions: u64,
    /// Unique viewers.
    pub reach: u64,
    /// Likes / reactions.
    pub likes: u64,
    /// Comments.
    pub comments: u64,
    /// Shares / reposts.
    pub shares: u64,
    /// Link clicks.
    pub clicks: u64,
}

impl MetricCounts {
    /// Interactions per impression, in percent (0 without impressions).
    #[allow(clippy::cast_precision_loss)]
    pub fn engagement_rate(&self) -> f64 {
        if self.impressions == 0 {
            return 0.0;
        }
        self.interactions() as f64 / self.impressions as f64 * 100.0
    }

    /// The engagement rate in billionths of a percent, rounded half up: an integer, so a sum of
    /// rates kept as a running total (PostgreSQL's `metric_totals.rate_nanos`, summed by the
    /// same rule in SQL's `engagement_nanos`) is exact and equals a recount.
    pub fn engagement_nanos(&self) -> u128 {
        if self.impressions == 0 {
            return 0;
        }
        let interactions = u128::from(self.likes)
            + u128::from(self.comments)
            + u128::from(self.shares)
            + u128::from(self.clicks);
        let impressions = u128::from(self.impressions);
        (interactions * 200_000_000_000 + impressions) / (2 * impressions)
    }
}

impl std::ops::AddAssign for MetricCounts {
    fn add_assign(&mut self, other: Self) {
        self.impressions += other.impressions;
        self.reach += other.reach;
        self.likes += other.likes;
        self.comments += other.comments;
        self.shares += other.shares;
        self.clicks += other.clicks;
    }
}

/// The latest metrics of one post (one row per post).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PostMetrics {
    /// The post.
    pub post_id: PostId,
    /// The post's owner.
    pub user_id: UserId,
    /// The counters.
    #[serde(flatten)]
    pub counts: MetricCounts,
    /// Interactions per impression, in percent.
    pub engagement_rate: f64,
    /// When they were fetched.
    pub fetched_at: DateTime<Utc>,
}

impl PostMetrics {
    /// Metrics fetched at `fetched_at`.
    pub fn new(
        post_id: PostId,
        user_id: UserId,
        counts: MetricCounts,
        fetched_at: DateTime<Utc>,
    ) -> Self {
        Self {
            post_id,
            user_id,
            counts,
            engagement_rate: round2(counts.engagement_rate()),
            fetched_at,
        }
    }
}

/// Totals over a user's published posts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct AnalyticsOverview {
    /// Summed counters.
    #[serde(flatten)]
    pub totals: MetricCounts,
    /// Posts in `posted` state.
    pub posts_published: u64,
    /// Average of the per-post engagement rates (posts with metrics), in percent, 2 decimals.
    pub engagement_rate: f64,
}

impl AnalyticsOverview {
    /// The overview of metric rows whose counters sum to `totals` and whose
    /// [`MetricCounts::engagement_nanos`] sum to `rate_nanos` over `rows` rows, with
    /// `posts_published` posts published: one rule for every store, so a store's running totals
    /// and a recount give the same figures.
    #[allow(clippy::cast_precision_loss)]
    pub fn from_totals(
        totals: MetricCounts,
        rows: u64,
        rate_nanos: u128,
        posts_published: u64,
    ) -> Self {
        let engagement_rate = if rows == 0 {
            0.0
        } else {
            round2(rate_nanos as f64 / 1e9 / rows as f64)
        };
        Self {
            totals,
            posts_published,
            engagement_rate,
        }
    }
}

/// The posts published on one local day, and their latest counters summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DayMetrics {
    /// The local date (in the zone asked for).
    pub day: NaiveDate,
    /// Posts published that day.
    pub posts: u64,
    /// Their counters (posts without metrics yet count zero).
    #[serde(flatten)]
    pub counts: MetricCounts,
}

impl DayMetrics {
    /// Published posts (each its publication time and counters) grouped by their local day in
    /// `zone`, oldest day first: what every store's `metrics_by_day` answers, computed once.
    pub fn by_local_day(
        posts: impl IntoIterator<Item = (DateTime<Utc>, MetricCounts)>,
        zone: chrono_tz::Tz,
    ) -> Vec<Self> {
        let mut days: std::collections::BTreeMap<NaiveDate, Self> = Default::default();
        for (at, counts) in posts {
            let day = at.with_timezone(&zone).date_naive();
            let entry = days.entry(day).or_insert(Self {
                day,
                posts: 0,
                counts: MetricCounts::default(),
            });
            entry.posts += 1;
            entry.counts += counts;
        }
        days.into_values().collect()
    }
}

impl MetricCounts {
    /// Likes, comments, shares and clicks.
    pub fn interactions(&self) -> u64 {
        self.likes + self.comments + self.shares + self.clicks
    }
}

/// Rounds to two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
