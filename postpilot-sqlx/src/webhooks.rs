//! Webhook events, claimed before they are applied.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::store::{StoreResult, WebhookClaim, WebhookEventStore};

use crate::PgStore;
use crate::error::store_error;

#[async_trait]
impl WebhookEventStore for PgStore {
    async fn claim_webhook_event(
        &self,
        source: &str,
        event_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<WebhookClaim> {
        // One statement: a new row is claimed; an existing one is taken over only if it is not
        // done and its claim lapsed. The conflicting row is locked while this decides, so of
        // concurrent deliveries exactly one gets a row back.
        let claimed: Option<bool> = sqlx::query_scalar(
            "INSERT INTO webhook_events (source, event_id, received_at, lease_until) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source, event_id) DO UPDATE \
             SET lease_until = EXCLUDED.lease_until, received_at = EXCLUDED.received_at \
             WHERE webhook_events.done_at IS NULL AND webhook_events.lease_until < $3 \
             RETURNING true",
        )
        .bind(source)
        .bind(event_id)
        .bind(now)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        if claimed.is_some() {
            return Ok(WebhookClaim::Claimed);
        }
        let done: Option<bool> = sqlx::query_scalar(
            "SELECT done_at IS NOT NULL FROM webhook_events WHERE source = $1 AND event_id = $2",
        )
        .bind(source)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(match done {
            Some(true) => WebhookClaim::Done,
            // Held by another delivery (or released between the two statements: the provider's
            // retry claims it).
            _ => WebhookClaim::InProgress,
        })
    }

    async fn finish_webhook_event(
        &self,
        source: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_events SET done_at = $3, lease_until = NULL \
             WHERE source = $1 AND event_id = $2",
        )
        .bind(source)
        .bind(event_id)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn release_webhook_event(&self, source: &str, event_id: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM webhook_events WHERE source = $1 AND event_id = $2 AND done_at IS NULL",
        )
        .bind(source)
        .bind(event_id)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
