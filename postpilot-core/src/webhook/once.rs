//! Applying a provider's or the platform's event at most once per `(source, id)`.

use crate::context::Deps;
use crate::error::{Error, Result};
use crate::store::WebhookClaim;

/// How long a delivery holds its claim on an event while applying it. A holder that dies leaves
/// the claim to lapse after this, and the provider's next retry takes it over.
pub const WEBHOOK_CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Applies a webhook event once per `(source, id)`: the event is claimed atomically first (a
/// concurrent duplicate delivery is answered [`Error::Conflict`], so the provider retries it
/// later), applied, then marked done. A failed application gives the claim up at once; a crash
/// between claiming and finishing leaves it to lapse ([`WEBHOOK_CLAIM_LEASE`]), so the event is
/// never lost. `None`: it was applied before.
pub(crate) async fn once<T>(
    deps: &Deps,
    source: &str,
    id: &str,
    apply: impl std::future::Future<Output = Result<T>>,
) -> Result<Option<T>> {
    let now = deps.now();
    match deps
        .store
        .claim_webhook_event(source, id, now, now + WEBHOOK_CLAIM_LEASE)
        .await?
    {
        WebhookClaim::Done => return Ok(None),
        WebhookClaim::InProgress => {
            return Err(Error::Conflict(
                "this event is being processed by another delivery; retry later".into(),
            ));
        }
        WebhookClaim::Claimed => {}
    }
    match apply.await {
        Ok(applied) => {
            deps.store
                .finish_webhook_event(source, id, deps.now())
                .await?;
            Ok(Some(applied))
        }
        Err(e) => {
            // If giving the claim up fails too, it lapses on its own after the lease.
            if let Err(release) = deps.store.release_webhook_event(source, id).await {
                tracing::warn!(
                    source,
                    event_id = id,
                    error = %release,
                    "could not release a webhook event claim; it lapses after its lease"
                );
            }
            Err(e)
        }
    }
}
