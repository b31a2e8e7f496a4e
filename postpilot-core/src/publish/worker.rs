//! The long-running publication worker: a [`Dispatcher`] keeping a bounded number of accounts'
//! lanes in flight (one per account) until told to stop, claiming more as slots free up or posts fall due
//! (a due change wakes it; a poll interval bounds the wait, so a post scheduled by another
//! process is never missed for long), and refreshing metrics and expiring OAuth tokens on a
//! schedule beside the publishing.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::id::AccountId;
use crate::publish::dispatcher::Lane;
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
    /// Claims made (each a tick).
    pub ticks: u64,
    /// Posts published.
    pub posted: u64,
    /// Posts found already published.
    pub reconciled: u64,
    /// Retries scheduled.
    pub retried: u64,
    /// Posts failed for good.
    pub failed: u64,
    /// Claims or settlements that failed (store unavailable).
    pub errors: u64,
}

impl WorkerTotals {
    fn settled(&mut self, report: TickReport) {
        self.posted += u64::from(report.posted);
        self.reconciled += u64::from(report.reconciled);
        self.retried += u64::from(report.retried);
        self.failed += u64::from(report.failed);
        self.errors += u64::from(report.errors);
    }
}

/// What the worker's loop waits for.
enum Event {
    Stop,
    Settled(Lane),
    Maintained,
    Wake,
}

/// A future the worker's loop drives beside its posts.
type Background<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

impl Dispatcher {
    /// Publishes until `shutdown` completes, then returns once the posts in flight are settled
    /// (no claim is abandoned mid-publish).
    ///
    /// Unlike a loop of [`run_once`](Self::run_once) ticks, it never waits for a whole batch: it
    /// keeps up to `batch_size` lanes in flight, one per account, each publishing up to 50 of
    /// the account's due posts one after another, in order, and claims again as soon as a
    /// quarter of the lanes are free, a lane settles, or a post falls due. One slow or hanging
    /// platform holds its own lane, never the others'. After a transient failure, a timeout or a rate limit, the account is left alone
    /// until that post's retry time. Metrics and expiring OAuth tokens are refreshed on their
    /// schedules, beside the publishing. A failing claim (store down) is retried after the poll
    /// interval.
    pub async fn run_until(
        &self,
        config: WorkerConfig,
        shutdown: impl Future<Output = ()> + Send,
    ) -> WorkerTotals {
        let capacity = self.batch_size() as usize;
        let refill_at = (capacity / 4).max(1);
        let poll = config
            .poll_interval
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1));
        let mut totals = WorkerTotals::default();
        let mut in_flight = FuturesUnordered::new();
        let mut busy: HashSet<AccountId> = HashSet::new();
        let mut held: HashMap<AccountId, DateTime<Utc>> = HashMap::new();
        let mut maintenance: Option<Background<'_>> = None;
        let mut wake: Option<Background<'_>> = None;
        let (mut next_metrics, mut next_tokens) = (self.now(), self.now());
        let mut claim_now = true;
        // Set by a wake: claim even a single free slot (slots held by a hanging platform never
        // keep the rest idle for longer than a poll interval).
        let mut woken = false;
        let mut stopping = false;
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let now = self.now();
            if !stopping && maintenance.is_none() && (now >= next_metrics || now >= next_tokens) {
                let (metrics, tokens) = (now >= next_metrics, now >= next_tokens);
                if metrics {
                    next_metrics = now + config.metrics_interval;
                }
                if tokens {
                    next_tokens = now + config.token_refresh_interval;
                }
                maintenance = Some(Box::pin(self.maintain(config, metrics, tokens)));
            }
            let free = capacity - in_flight.len();
            if !stopping && claim_now && (free >= refill_at || (woken && free > 0)) {
                woken = false;
                held.retain(|_, until| *until > now);
                let skip: Vec<AccountId> = busy.iter().chain(held.keys()).copied().collect();
                let wanted = capacity - in_flight.len();
                match self.claim_lanes(wanted, &skip).await {
                    Ok(lanes) => {
                        totals.ticks += 1;
                        // Claim again until a claim finds nothing: a store choosing among the
                        // oldest due posts may have seen one crowded account only, busy now.
                        claim_now = !lanes.is_empty();
                        for (account, claims) in lanes {
                            busy.insert(account);
                            in_flight.push(self.run_account(account, claims));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(worker = self.worker(), error = %e, "claim failed; retrying after the poll interval");
                        totals.errors += 1;
                        claim_now = false;
                    }
                }
                wake = None;
            }
            if stopping && in_flight.is_empty() && maintenance.is_none() {
                return totals;
            }
            if !stopping && wake.is_none() {
                let sleep = if claim_now {
                    // Waiting for slots to free up: at most a poll interval.
                    poll
                } else {
                    // Posts already due were left to accounts in flight or held: a settlement
                    // or the end of a hold frees them, not the clock.
                    let now = self.now();
                    let due = match self.next_due_at().await {
                        Ok(Some(due)) if due > now => Some(due),
                        _ => None,
                    };
                    let next = due.into_iter().chain(held.values().copied()).min();
                    next.map_or(poll, |at| {
                        (at - now)
                            .to_std()
                            .unwrap_or(std::time::Duration::ZERO)
                            .min(poll)
                    })
                };
                wake = Some(Box::pin(self.wait_for_due_change(sleep)));
            }
            let event = std::future::poll_fn(|cx| {
                if !stopping && shutdown.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Stop);
                }
                if let Some(m) = maintenance.as_mut()
                    && m.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Event::Maintained);
                }
                if let Poll::Ready(Some(lane)) = in_flight.poll_next_unpin(cx) {
                    return Poll::Ready(Event::Settled(lane));
                }
                if !stopping
                    && let Some(w) = wake.as_mut()
                    && w.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Event::Wake);
                }
                Poll::Pending
            })
            .await;
            match event {
                Event::Stop => stopping = true,
                Event::Maintained => maintenance = None,
                Event::Settled(lane) => {
                    busy.remove(&lane.account);
                    if let Some(until) = lane.hold_until {
                        held.insert(lane.account, until);
                    }
                    totals.settled(lane.report);
                    // The account is free again, and a slot too.
                    claim_now = true;
                }
                Event::Wake => {
                    wake = None;
                    claim_now = true;
                    woken = true;
                }
            }
        }
    }

    /// Refreshes metrics and expiring tokens, and forgets idempotency keys past their 24 hours,
    /// as they are due; failures are logged and retried at the next interval.
    async fn maintain(&self, config: WorkerConfig, metrics: bool, tokens: bool) {
        if metrics && let Err(e) = self.refresh_metrics(config.metrics_max_age, 100).await {
            self.metrics().metrics_refresh_failed();
            tracing::warn!(worker = self.worker(), error = %e, "metrics refresh failed; retrying at the next interval");
        }
        if !tokens {
            return;
        }
        if let Err(e) = self.purge_idempotency_keys().await {
            tracing::warn!(worker = self.worker(), error = %e, "purging expired idempotency keys failed; retrying at the next interval");
        }
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
    }
}
