//! The delivery worker: claims due deliveries from the outbox, signs and sends each, and
//! settles it under its claim — the same lease-and-fence machinery as publications. A worker
//! that dies mid-delivery loses its claims when their lease runs out; another worker then sends
//! the same event again, under the same `webhook-id`: delivery is at least once, and receivers
//! deduplicate by that id.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use crate::Result;
use crate::context::Deps;
use crate::event::delivery::{DeliveryAttempt, DeliveryOutcome, EventDeliverer};
use crate::event::signature::sign;
use crate::event::{
    ClaimedDelivery, DELIVERY_LEASE, DeliveryStatus, EndpointHealth, EndpointService,
};
use crate::store::StoreError;

/// How long settled events stay in the delivery log by default: 30 days.
pub const EVENT_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Events purged per statement: a purge holds no lock for long.
const PURGE_BATCH: u32 = 10_000;

/// How the delivery worker paces itself.
#[derive(Clone, Copy, Debug)]
pub struct DeliveryWorkerConfig {
    /// Deliveries claimed at a time.
    pub batch: u32,
    /// Deliveries in flight at once (a slow receiver holds one of them for up to 15 s).
    pub concurrency: usize,
    /// How long to wait when nothing was due.
    pub poll_interval: Duration,
    /// How long settled events (delivered, dead letters) stay in the delivery log; older ones
    /// are purged, at most hourly.
    pub retention: chrono::TimeDelta,
}

impl DeliveryWorkerConfig {
    /// Deliveries claimed per round: the batch, at most three waves of `concurrency` (each wave
    /// at most the 15-second delivery timeout, so a round ends well within the one-minute
    /// lease), and at least one.
    fn claim_size(&self) -> u32 {
        let waves = u32::try_from(self.concurrency.max(1).saturating_mul(3)).unwrap_or(u32::MAX);
        self.batch.clamp(1, waves.max(1))
    }

    /// The wait after a round that found less than a full batch: at least 50 ms.
    fn idle_wait(&self) -> Duration {
        self.poll_interval.max(Duration::from_millis(50))
    }
}

impl Default for DeliveryWorkerConfig {
    fn default() -> Self {
        Self {
            batch: 32,
            concurrency: 16,
            poll_interval: Duration::from_secs(1),
            retention: EVENT_RETENTION,
        }
    }
}

/// What a worker's rounds came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryTotals {
    /// Deliveries the endpoint accepted.
    pub delivered: u64,
    /// Attempts that failed (to be retried, or dead letters).
    pub failed: u64,
    /// Deliveries that became dead letters.
    pub dead: u64,
    /// Settlements refused because the claim had lapsed (another worker has the delivery).
    pub lost: u64,
    /// Rounds that could not reach the store.
    pub errors: u64,
}

impl DeliveryTotals {
    fn add(&mut self, other: Self) {
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.dead += other.dead;
        self.lost += other.lost;
        self.errors += other.errors;
    }
}

/// Sends the outbox's events ([`Engine::delivery_worker`](crate::Engine::delivery_worker)).
#[derive(Clone, Debug)]
pub struct DeliveryWorker {
    deps: Arc<Deps>,
    deliverer: Arc<dyn EventDeliverer>,
    config: DeliveryWorkerConfig,
}

impl DeliveryWorker {
    pub(crate) fn new(
        deps: Arc<Deps>,
        deliverer: Arc<dyn EventDeliverer>,
        config: DeliveryWorkerConfig,
    ) -> Self {
        Self {
            deps,
            deliverer,
            config,
        }
    }

    /// One round: claims up to a batch of due deliveries and sends them, at most
    /// `concurrency` at once. Returns what came of them and how many were claimed.
    ///
    /// # Errors
    /// The store failed the claim.
    pub async fn deliver_due(&self) -> Result<(DeliveryTotals, usize)> {
        let claimed = self
            .deps
            .store
            .claim_deliveries(self.deps.now(), self.config.claim_size(), DELIVERY_LEASE)
            .await?;
        let count = claimed.len();
        let mut totals = DeliveryTotals::default();
        let mut sends = futures::stream::iter(claimed)
            .map(|claim| self.deliver(claim))
            .buffer_unordered(self.config.concurrency.max(1));
        while let Some(one) = sends.next().await {
            totals.add(one);
        }
        Ok((totals, count))
    }

    /// Rounds until `shutdown` completes: at once again after a full batch, otherwise after the
    /// poll interval. A round under way when `shutdown` completes is finished first.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()> + Send) -> DeliveryTotals {
        let mut totals = DeliveryTotals::default();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut next_purge = self.deps.now();
        loop {
            if self.deps.now() >= next_purge {
                next_purge = self.deps.now() + chrono::TimeDelta::hours(1);
                if let Err(e) = self.purge().await {
                    tracing::warn!(error = %e, "purging old webhook events failed; trying again in an hour");
                }
            }
            let full = match self.deliver_due().await {
                Ok((round, claimed)) => {
                    totals.add(round);
                    claimed > 0 && claimed >= self.config.claim_size() as usize
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed; retrying after the poll interval");
                    totals.errors += 1;
                    false
                }
            };
            let pause = if full {
                Duration::ZERO
            } else {
                self.config.idle_wait()
            };
            let sleep = std::pin::pin!(tokio::time::sleep(pause));
            if let futures::future::Either::Left(_) =
                futures::future::select(shutdown.as_mut(), sleep).await
            {
                return totals;
            }
        }
    }

    /// Deletes the settled events older than the retention, with their deliveries (at most
    /// 100,000 a run); how many.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge(&self) -> Result<u64> {
        let before = self.deps.now() - self.config.retention;
        let mut purged = 0;
        // At most ten batches an hour, so deliveries never wait long behind a purge.
        for _ in 0..10 {
            let batch = self.deps.store.purge_events(before, PURGE_BATCH).await?;
            purged += batch;
            if batch < u64::from(PURGE_BATCH) {
                break;
            }
        }
        Ok(purged)
    }

    async fn deliver(&self, claim: ClaimedDelivery) -> DeliveryTotals {
        let ClaimedDelivery {
            mut delivery,
            event,
            endpoint,
        } = claim;
        let mut totals = DeliveryTotals::default();
        if endpoint.is_disabled() {
            // Disabled since the claim (a 410 in the same round): left pending, it goes when
            // its owner enables the endpoint again.
            return totals;
        }
        let (attempt, health) = match EndpointService::new(self.deps.clone())
            .signing_secrets(&endpoint)
        {
            Ok(secrets) => {
                let secrets: Vec<_> = secrets.iter().collect();
                let body = event.body.as_bytes();
                let headers = sign(&event.webhook_id(), self.deps.now(), body, &secrets);
                let attempt = self.deliverer.deliver(endpoint.url(), &headers, body).await;
                let health = EndpointHealth::of(&attempt.outcome, self.deps.now());
                (attempt, health)
            }
            Err(e) => {
                // PostPilot's failure, not the endpoint's: retried, but it says nothing about
                // the endpoint.
                tracing::error!(endpoint = %endpoint.id(), error = %e, "a webhook signing secret does not open");
                let attempt = DeliveryAttempt {
                    outcome: DeliveryOutcome::Failed {
                        status: None,
                        error: "the signing secret could not be opened; rotate it".into(),
                        retry_after: None,
                    },
                    response: String::new(),
                };
                (attempt, EndpointHealth::Unknown)
            }
        };
        let now = self.deps.now();
        delivery.record(&attempt, now, self.jitter());
        match self
            .deps
            .store
            .settle_delivery(&delivery, health, now)
            .await
        {
            Ok(disabled) => {
                match delivery.status() {
                    DeliveryStatus::Delivered => totals.delivered += 1,
                    DeliveryStatus::Dead => {
                        totals.failed += 1;
                        totals.dead += 1;
                    }
                    DeliveryStatus::Pending => totals.failed += 1,
                }
                if disabled {
                    // Its owner sees why on the endpoint (`disabled_reason`).
                    tracing::warn!(endpoint = %endpoint.id(), owner = %endpoint.user_id(), ?health, "webhook endpoint disabled");
                }
            }
            Err(StoreError::Stale | StoreError::NotFound) => totals.lost += 1,
            Err(e) => {
                tracing::warn!(delivery = %delivery.id(), error = %e, "settling a webhook delivery failed; it is sent again when its claim lapses");
                totals.errors += 1;
            }
        }
        totals
    }

    /// 0 to 1, from the id generator's randomness (so endpoints failing together spread out).
    fn jitter(&self) -> f64 {
        let bits = self.deps.ids.new_uuid().as_u128() >> 75;
        bits as f64 / (1u64 << 53) as f64
    }
}
