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

/// How the delivery worker paces itself.
#[derive(Clone, Copy, Debug)]
pub struct DeliveryWorkerConfig {
    /// Deliveries claimed at a time.
    pub batch: u32,
    /// Deliveries in flight at once (a slow receiver holds one of them for up to 15 s).
    pub concurrency: usize,
    /// How long to wait when nothing was due.
    pub poll_interval: Duration,
}

impl Default for DeliveryWorkerConfig {
    fn default() -> Self {
        Self {
            batch: 32,
            concurrency: 16,
            poll_interval: Duration::from_secs(1),
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
            .claim_deliveries(self.deps.now(), self.config.batch, DELIVERY_LEASE)
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
        loop {
            let full = match self.deliver_due().await {
                Ok((round, claimed)) => {
                    totals.add(round);
                    claimed >= self.config.batch as usize
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
                self.config.poll_interval
            };
            let sleep = std::pin::pin!(tokio::time::sleep(pause));
            if let futures::future::Either::Left(_) =
                futures::future::select(shutdown.as_mut(), sleep).await
            {
                return totals;
            }
        }
    }

    async fn deliver(&self, claim: ClaimedDelivery) -> DeliveryTotals {
        let ClaimedDelivery {
            mut delivery,
            event,
            endpoint,
        } = claim;
        let attempt = match EndpointService::new(self.deps.clone()).signing_secrets(&endpoint) {
            Ok(secrets) => {
                let secrets: Vec<_> = secrets.iter().collect();
                let headers = sign(
                    &event.webhook_id(),
                    self.deps.now(),
                    event.body.as_bytes(),
                    &secrets,
                );
                self.deliverer
                    .deliver(endpoint.url(), &headers, event.body.as_bytes())
                    .await
            }
            Err(e) => {
                tracing::error!(endpoint = %endpoint.id(), error = %e, "a webhook signing secret does not open");
                DeliveryAttempt {
                    outcome: DeliveryOutcome::Failed {
                        status: None,
                        error: "the signing secret could not be opened; rotate it".into(),
                        retry_after: None,
                    },
                    response: String::new(),
                }
            }
        };
        let now = self.deps.now();
        delivery.record(&attempt, now, self.jitter());
        let health = EndpointHealth::after(&endpoint, &attempt.outcome, now);
        let mut totals = DeliveryTotals::default();
        match self
            .deps
            .store
            .settle_delivery(&delivery, &health, now)
            .await
        {
            Ok(()) => {
                match delivery.status() {
                    DeliveryStatus::Delivered => totals.delivered += 1,
                    DeliveryStatus::Dead => {
                        totals.failed += 1;
                        totals.dead += 1;
                    }
                    DeliveryStatus::Pending => totals.failed += 1,
                }
                if let EndpointHealth::Disable { reason } = &health
                    && !endpoint.is_disabled()
                {
                    tracing::warn!(endpoint = %endpoint.id(), owner = %endpoint.user_id(), %reason, "webhook endpoint disabled");
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
