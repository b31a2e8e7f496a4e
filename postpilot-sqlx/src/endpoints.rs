//! Webhook endpoints.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::event::{EndpointUrl, EventType, WebhookEndpoint, WebhookEndpointRecord};
use postpilot_core::id::{EndpointId, UserId};
use postpilot_core::store::{EndpointStore, StoreError, StoreResult};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, count, store_error};
use crate::fetch::{fetch_all, fetch_optional, on_owned_row};
use crate::users::lock_owner;

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: Uuid,
    user_id: Uuid,
    url: String,
    description: String,
    event_types: Vec<String>,
    sealed_secret: String,
    previous_sealed_secret: Option<String>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;
    fn try_from(r: EndpointRow) -> Result<Self, StoreError> {
        let bad = |e| corrupt("webhook_endpoints", e);
        Ok(WebhookEndpointRecord {
            id: EndpointId::from(r.id),
            user_id: UserId::from(r.user_id),
            url: EndpointUrl::parse(r.url).map_err(bad)?,
            description: r.description,
            event_types: EventType::parse_list(&r.event_types).map_err(bad)?,
            sealed_secret: r.sealed_secret,
            previous_sealed_secret: r.previous_sealed_secret,
            previous_secret_expires_at: r.previous_secret_expires_at,
            disabled_at: r.disabled_at,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
        .into())
    }
}

macro_rules! select_endpoint {
    ($rest:literal) => {
        concat!(
            "SELECT id, user_id, url, description, event_types, sealed_secret, \
             previous_sealed_secret, previous_secret_expires_at, disabled_at, disabled_reason, \
             created_at, updated_at, failing_since FROM webhook_endpoints WHERE ",
            $rest
        )
    };
}

/// Binds every column of `endpoint`, as `$1` to `$13` (`failing_since` last).
fn with_fields<'q>(
    query: Query<'q, Postgres, PgArguments>,
    endpoint: &'q WebhookEndpoint,
) -> Query<'q, Postgres, PgArguments> {
    let types: Vec<String> = endpoint
        .event_types()
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    query
        .bind(endpoint.id().as_uuid())
        .bind(endpoint.user_id().as_uuid())
        .bind(endpoint.url().as_str())
        .bind(endpoint.description())
        .bind(types)
        .bind(endpoint.sealed_secret())
        .bind(endpoint.previous_sealed_secret())
        .bind(endpoint.previous_secret_expires_at())
        .bind(endpoint.disabled_at())
        .bind(endpoint.disabled_reason())
        .bind(endpoint.created_at())
        .bind(endpoint.updated_at())
        .bind(endpoint.failing_since())
}

/// The endpoints with these ids, whoever owns them (the delivery worker's read).
pub(crate) async fn endpoints_by_id(
    pool: &sqlx::PgPool,
    ids: &[Uuid],
) -> StoreResult<Vec<WebhookEndpoint>> {
    fetch_all(
        pool,
        sqlx::query_as::<_, EndpointRow>(select_endpoint!("id = ANY($1)")).bind(ids),
    )
    .await
}

#[async_trait]
impl EndpointStore for PgStore {
    async fn insert_endpoint(&self, endpoint: &WebhookEndpoint, max: u32) -> StoreResult<()> {
        // Serialised per owner, like every guarded insert: the count stays true until commit.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        lock_owner(&mut tx, endpoint.user_id()).await?;
        let held: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints WHERE user_id = $1")
                .bind(endpoint.user_id().as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err(store_error)?;
        if count("webhook_endpoints", held)? >= u64::from(max) {
            return Err(StoreError::LimitReached);
        }
        with_fields(
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, user_id, url, description, event_types, \
                 sealed_secret, previous_sealed_secret, previous_secret_expires_at, disabled_at, \
                 disabled_reason, created_at, updated_at, failing_since) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            ),
            endpoint,
        )
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn endpoint(
        &self,
        owner: UserId,
        id: EndpointId,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        fetch_optional(
            &self.pool,
            sqlx::query_as::<_, EndpointRow>(select_endpoint!("id = $1 AND user_id = $2"))
                .bind(id.as_uuid())
                .bind(owner.as_uuid()),
        )
        .await
    }

    async fn list_endpoints(&self, owner: UserId) -> StoreResult<Vec<WebhookEndpoint>> {
        fetch_all(
            &self.pool,
            sqlx::query_as::<_, EndpointRow>(select_endpoint!(
                "user_id = $1 ORDER BY created_at, id"
            ))
            .bind(owner.as_uuid()),
        )
        .await
    }

    async fn update_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Every field is bound as for an insert; `created_at` ($11) never changes.
        let updated = with_fields(
            sqlx::query(
                "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, \
                 sealed_secret = $6, previous_sealed_secret = $7, \
                 previous_secret_expires_at = $8, disabled_at = $9, disabled_reason = $10, \
                 created_at = $11, updated_at = $12, failing_since = $13 \
                 WHERE id = $1 AND user_id = $2 AND updated_at = $14",
            ),
            endpoint,
        )
        .bind(read_at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() > 0 {
            return Ok(());
        }
        // Gone, or changed since it was read.
        match self.endpoint(endpoint.user_id(), endpoint.id()).await? {
            Some(_) => Err(StoreError::Stale),
            None => Err(StoreError::NotFound),
        }
    }

    async fn delete_endpoint(&self, owner: UserId, id: EndpointId) -> StoreResult<bool> {
        let sql = "DELETE FROM webhook_endpoints WHERE id = $1 AND user_id = $2";
        on_owned_row(&self.pool, sql, id.as_uuid(), owner).await
    }
}
