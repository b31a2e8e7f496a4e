//! The long-running publication worker: ticks of the [`Dispatcher`] until told to stop, sleeping
//! until the next due post (bounded by a poll interval, so a post scheduled by another process is
//! never missed for long), and refreshing metrics and expiring OAuth tokens on a schedule.

use std::future::Future;

use chrono::Duration;

use crate::publish::{Dispatcher, TickReport};

/// When the worker wakes up and how it refreshes metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Longest sleep between ticks: the delay after which a post created by another process is
    /// seen (default 1 s).
    pub poll_interval: Duration,
    /// How often published posts' metrics are refreshed (default 15 min).
    pub metrics_interval: Duration,
    /// Metrics older than this are fetched again (default 1 h).
    pub metrics_max_age: Duration,
    /// How often expiring OAuth tokens are refreshed (default 1 h).
    pub token_refresh_interval: Duration,
    /// Tokens expiring within this are refreshed (default 7 days: Instagram's 60-day tokens
    /// are refreshed with a week to spare, and a platform down for days is survived).
    pub token_refresh_horizon: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::seconds(1),
            metrics_interval: Duration::minutes(15),
            metrics_max_age: Duration::hours(1),
            token_refresh_interval: Duration::hours(1),
            token_refresh_horizon: Duration::days(7),
        }
    }
}

/// Totals over a worker's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerTotals {
    /// Ticks run.
    pub ticks: u64,
    /// Posts published.
    pub posted: u64,
    /// Posts found already published.
    pub reconciled: u64,
    /// Retries scheduled.
    pub retried: u64,
    /// Posts failed for good.
    pub failed: u64,
    /// Ticks that failed (store unavailable).
    pub errors: u64,
}

impl WorkerTotals {
    fn add(&mut self, tick: TickReport) {
        self.ticks += 1;
        self.posted += u64::from(tick.posted);
        self.reconciled += u64::from(tick.reconciled);
        self.retried += u64::from(tick.retried);
        self.failed += u64::from(tick.failed);
        self.errors += u64::from(tick.errors);
    }
}

impl Dispatcher {
    /// Runs until `shutdown` completes, then returns (a tick in progress is finished first, so
    /// no claim is abandoned mid-publish). A failing tick (store down) is retried after the poll
    /// interval.
    pub async fn run_until(
        &self,
        config: WorkerConfig,
        shutdown: impl Future<Output = ()>,
    ) -> WorkerTotals {
        let mut totals = WorkerTotals::default();
        let mut next_metrics = self.now();
        let mut next_token_refresh = self.now();
        let poll = config
            .poll_interval
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1));
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let busy = match self.run_once().await {
                Ok(tick) => {
                    totals.add(tick);
                    tick.claimed >= self.batch_size()
                }
                Err(e) => {
                    tracing::warn!(worker = self.worker(), error = %e, "tick failed; retrying after the poll interval");
                    totals.errors += 1;
                    false
                }
            };
            if self.now() >= next_metrics {
                if let Err(e) = self.refresh_metrics(config.metrics_max_age, 100).await {
                    self.metrics().metrics_refresh_failed();
                    tracing::warn!(worker = self.worker(), error = %e, "metrics refresh failed; retrying at the next interval");
                }
                next_metrics = self.now() + config.metrics_interval;
            }
            if self.now() >= next_token_refresh {
                match self.refresh_tokens(config.token_refresh_horizon).await {
                    Ok(report) if report != crate::account::TokenRefreshReport::default() => {
                        tracing::info!(
                            worker = self.worker(),
                            refreshed = report.refreshed,
                            superseded = report.superseded,
                            needs_reconnect = report.needs_reconnect,
                            failed = report.failed,
                            "tokens refreshed"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(worker = self.worker(), error = %e, "token refresh failed; retrying at the next interval");
                    }
                }
                next_token_refresh = self.now() + config.token_refresh_interval;
            }
            let sleep = if busy {
                std::time::Duration::ZERO
            } else {
                match self.next_due_at().await {
                    Ok(Some(due)) => (due - self.now())
                        .to_std()
                        .unwrap_or(std::time::Duration::ZERO)
                        .min(poll),
                    _ => poll,
                }
            };
            let nap = std::pin::pin!(self.wait_for_due_change(sleep));
            if let futures::future::Either::Left(_) =
                futures::future::select(shutdown.as_mut(), nap).await
            {
                return totals;
            }
        }
    }
}
