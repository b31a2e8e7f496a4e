//! Processed webhook events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::store::{StoreResult, WebhookEventStore};

use crate::PgStore;
use crate::error::store_error;

#[async_trait]
impl WebhookEventStore for PgStore {
    async fn record_webhook_event(
        &self,
        source: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_events (source, event_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(source)
        .bind(event_id)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn webhook_event_seen(&self, source: &str, event_id: &str) -> StoreResult<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM webhook_events WHERE source = $1 AND event_id = $2)",
        )
        .bind(source)
        .bind(event_id)
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)
    }
}
