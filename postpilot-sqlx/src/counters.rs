//! The counters migration 42's triggers keep (posts by status and platform, posts by month,
//! metric totals), and their repair.

use postpilot_core::store::StoreResult;

use crate::PgStore;
use crate::error::{count, store_error};

/// How many counter rows a repair found wrong and rewrote, by table: all zero when the triggers
/// kept every counter exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterRepair {
    /// `post_counts` rows (posts by owner, status and platform).
    pub post_counts: u64,
    /// `monthly_posts` rows (posts by owner and month created: the quota).
    pub monthly_posts: u64,
    /// `metric_totals` rows (the analytics overview's sums).
    pub metric_totals: u64,
}

impl CounterRepair {
    /// Rows rewritten in all.
    pub fn fixed(&self) -> u64 {
        self.post_counts + self.monthly_posts + self.metric_totals
    }
}

impl PgStore {
    /// Recomputes every counter from the rows it counts and rewrites those that differ, for an
    /// operator after a manual edit that bypassed the triggers (a `TRUNCATE` of a counter table,
    /// `session_replication_role = replica`, a restored partial dump). Writes to posts and
    /// metrics wait while it runs (it holds `SHARE` locks on them); reads go on. Running it
    /// twice rewrites nothing the second time.
    ///
    /// # Errors
    /// The database failed.
    pub async fn repair_counters(&self) -> StoreResult<CounterRepair> {
        let (post_counts, monthly_posts, metric_totals): (i64, i64, i64) = sqlx::query_as(
            "SELECT post_counts_fixed, monthly_posts_fixed, metric_totals_fixed \
             FROM postpilot_repair_counters()",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(CounterRepair {
            post_counts: count("post_counts", post_counts)?,
            monthly_posts: count("monthly_posts", monthly_posts)?,
            metric_totals: count("metric_totals", metric_totals)?,
        })
    }
}
