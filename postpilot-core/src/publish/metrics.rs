//! Worker counters and publication lag, rendered in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::publish::{AttemptOutcome, TickReport};

/// Upper bounds (seconds) of the lag histogram: how late a post was published after it fell due.
pub const LAG_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// One worker's counters since it started.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    ticks: AtomicU64,
    claimed: AtomicU64,
    posted: AtomicU64,
    reconciled: AtomicU64,
    retried: AtomicU64,
    snoozed: AtomicU64,
    failed: AtomicU64,
    lease_lost: AtomicU64,
    processing: AtomicU64,
    errors: AtomicU64,
    ledger_failures: AtomicU64,
    metrics_refresh_failures: AtomicU64,
    lag_buckets: [AtomicU64; LAG_BUCKETS.len()],
    lag_count: AtomicU64,
    lag_sum_micros: AtomicU64,
}

impl WorkerMetrics {
    /// A tick: its claim and its outcomes.
    pub(crate) fn tick(&self, report: &TickReport) {
        self.claimed(report.claimed);
        self.settled(report);
    }

    /// A claim of `n` posts.
    pub(crate) fn claimed(&self, n: u32) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.claimed.fetch_add(u64::from(n), Ordering::Relaxed);
    }

    /// Outcomes settled (`report.claimed` is not counted: see [`Self::claimed`]).
    pub(crate) fn settled(&self, report: &TickReport) {
        let add = |c: &AtomicU64, n: u32| c.fetch_add(u64::from(n), Ordering::Relaxed);
        add(&self.posted, report.posted);
        add(&self.reconciled, report.reconciled);
        add(&self.retried, report.retried);
        add(&self.snoozed, report.snoozed);
        add(&self.failed, report.failed);
        add(&self.lease_lost, report.lease_lost);
        add(&self.processing, report.processing);
        add(&self.errors, report.errors);
    }

    pub(crate) fn tick_failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A batch of attempts could not be written to the ledger (the outcomes were committed).
    pub(crate) fn ledger_failed(&self) {
        self.ledger_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A periodic refresh of post metrics failed in the store.
    pub(crate) fn metrics_refresh_failed(&self) {
        self.metrics_refresh_failures
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Records how late a post was published (`seconds` after it fell due).
    pub(crate) fn lag(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        for (bound, bucket) in LAG_BUCKETS.iter().zip(&self.lag_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.lag_count.fetch_add(1, Ordering::Relaxed);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.lag_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// Posts published by this worker so far.
    pub fn posted(&self) -> u64 {
        self.posted.load(Ordering::Relaxed)
    }

    /// Outcome counter by outcome (for logs).
    pub fn outcome(&self, outcome: AttemptOutcome) -> u64 {
        let c = match outcome {
            AttemptOutcome::Posted => &self.posted,
            AttemptOutcome::Reconciled => &self.reconciled,
            AttemptOutcome::Retry | AttemptOutcome::TimedOut => &self.retried,
            AttemptOutcome::RateLimited => &self.snoozed,
            AttemptOutcome::AuthExpired | AttemptOutcome::Rejected | AttemptOutcome::GaveUp => {
                &self.failed
            }
            AttemptOutcome::LeaseLost => &self.lease_lost,
            AttemptOutcome::Processing => &self.processing,
        };
        c.load(Ordering::Relaxed)
    }
}

/// A counter's name, help text and field.
type Counter = (&'static str, &'static str, fn(&WorkerMetrics) -> &AtomicU64);

/// Every worker of this process, for `GET /metrics`.
#[derive(Debug, Default)]
pub struct MetricsRegistry {
    workers: Mutex<Vec<(String, Arc<WorkerMetrics>)>>,
}

/// Appends one line of the exposition.
fn line(out: &mut String, text: std::fmt::Arguments<'_>) {
    out.push_str(&text.to_string());
    out.push('\n');
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl MetricsRegistry {
    /// Registers a worker's counters under its name.
    pub fn register(&self, worker: &str) -> Arc<WorkerMetrics> {
        let metrics = Arc::new(WorkerMetrics::default());
        self.workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((worker.to_owned(), metrics.clone()));
        metrics
    }

    /// The Prometheus text exposition of every registered worker.
    pub fn render(&self) -> String {
        let workers = self
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut out = String::new();
        let counters: [Counter; 12] = [
            ("ticks", "Worker ticks run", |m| &m.ticks),
            ("claimed", "Posts claimed", |m| &m.claimed),
            ("posted", "Posts published", |m| &m.posted),
            ("reconciled", "Rescued posts found already published", |m| {
                &m.reconciled
            }),
            (
                "retried",
                "Attempts retried later (failure or timeout)",
                |m| &m.retried,
            ),
            ("snoozed", "Attempts postponed by a rate limit", |m| {
                &m.snoozed
            }),
            ("failed", "Posts failed for good", |m| &m.failed),
            (
                "lease_lost",
                "Outcomes discarded: another worker took the claim over",
                |m| &m.lease_lost,
            ),
            (
                "processing",
                "Publications parked while the platform processes a step",
                |m| &m.processing,
            ),
            (
                "errors",
                "Posts or ticks left to a rescue by a store failure",
                |m| &m.errors,
            ),
            (
                "ledger_failures",
                "Batches of publication attempts the ledger could not record",
                |m| &m.ledger_failures,
            ),
            (
                "metrics_refresh_failures",
                "Periodic post-metrics refreshes the store failed",
                |m| &m.metrics_refresh_failures,
            ),
        ];
        for (name, help, get) in counters {
            line(
                &mut out,
                format_args!("# HELP postpilot_worker_{name}_total {help}."),
            );
            line(
                &mut out,
                format_args!("# TYPE postpilot_worker_{name}_total counter"),
            );
            for (worker, m) in &workers {
                line(
                    &mut out,
                    format_args!(
                        "postpilot_worker_{name}_total{{worker=\"{}\"}} {}",
                        escape(worker),
                        get(m).load(Ordering::Relaxed)
                    ),
                );
            }
        }
        line(
            &mut out,
            format_args!(
                "# HELP postpilot_publish_lag_seconds How long after falling due posts were published."
            ),
        );
        line(
            &mut out,
            format_args!("# TYPE postpilot_publish_lag_seconds histogram"),
        );
        for (worker, m) in &workers {
            let worker = escape(worker);
            for (bound, bucket) in LAG_BUCKETS.iter().zip(&m.lag_buckets) {
                line(
                    &mut out,
                    format_args!(
                        "postpilot_publish_lag_seconds_bucket{{worker=\"{worker}\",le=\"{bound}\"}} {}",
                        bucket.load(Ordering::Relaxed)
                    ),
                );
            }
            let count = m.lag_count.load(Ordering::Relaxed);
            line(
                &mut out,
                format_args!(
                    "postpilot_publish_lag_seconds_bucket{{worker=\"{worker}\",le=\"+Inf\"}} {count}"
                ),
            );
            #[allow(clippy::cast_precision_loss)]
            let sum = m.lag_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            line(
                &mut out,
                format_args!("postpilot_publish_lag_seconds_sum{{worker=\"{worker}\"}} {sum}"),
            );
            line(
                &mut out,
                format_args!("postpilot_publish_lag_seconds_count{{worker=\"{worker}\"}} {count}"),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_lists_each_workers_counters_and_a_cumulative_lag_histogram() {
        let registry = MetricsRegistry::default();
        let w = registry.register("w\"1");
        w.tick(&TickReport {
            claimed: 3,
            posted: 2,
            retried: 1,
            ..TickReport::default()
        });
        w.lag(0.2);
        w.lag(3.0);
        let text = registry.render();
        assert!(
            text.contains("postpilot_worker_posted_total{worker=\"w\\\"1\"} 2"),
            "{text}"
        );
        assert!(text.contains("postpilot_worker_claimed_total{worker=\"w\\\"1\"} 3"));
        assert!(text.contains("le=\"0.1\"} 0"));
        assert!(text.contains("le=\"0.25\"} 1"));
        assert!(text.contains("le=\"5\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("postpilot_publish_lag_seconds_sum{worker=\"w\\\"1\"} 3.2"));
    }

    #[test]
    fn ledger_and_metrics_refresh_failures_are_counted() {
        let registry = MetricsRegistry::default();
        let w = registry.register("w");
        w.ledger_failed();
        w.ledger_failed();
        w.metrics_refresh_failed();
        let text = registry.render();
        assert!(
            text.contains("postpilot_worker_ledger_failures_total{worker=\"w\"} 2"),
            "{text}"
        );
        assert!(text.contains("postpilot_worker_metrics_refresh_failures_total{worker=\"w\"} 1"));
    }
}
