//! The outbox: events written beside the changes they report, and their deliveries.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use postpilot_core::event::{
    ClaimedDelivery, Delivery, DeliveryRecord, DeliveryStatus, EndpointHealth, Event, EventType,
    FAILING_REASON, GONE_REASON, OPERATOR_ENDPOINT, WebhookEndpoint,
};
use postpilot_core::id::{DeliveryId, EndpointId, EventId, UserId};
use postpilot_core::page::{Order, Page, PageRequest};
use postpilot_core::store::{EventStore, StoreError, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, store_error};
use crate::fetch::{Positioned, fetch_owned, fetch_page};
use crate::guard::Guarded;

/// Writes `events` (in the caller's transaction), each with a pending delivery per enabled
/// endpoint of its owner (or the operator's) that receives its type, in that endpoint owner's
/// log; an event no endpoint receives is not kept.
/// One statement for any number of events. The endpoints are key-share locked: one being
/// deleted meanwhile is waited for and then left out, rather than failing the write (and the
/// change it reports) on the deliveries' foreign key.
pub(crate) async fn write_events(conn: &mut PgConnection, events: &[Event]) -> StoreResult<()> {
    // One row per id: the fan-out below would otherwise give a repeated id two deliveries per
    // endpoint, which the (event, endpoint) key refuses.
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    let events: Vec<&Event> = events.iter().filter(|e| seen.insert(e.id)).collect();
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH e AS ( \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], \
                                  $5::timestamptz[]) AS e(id, user_id, event_type, body, created_at) \
         ), receivers AS ( \
             SELECT e.id AS event_id, w.id AS endpoint_id, w.user_id AS owner FROM e \
             JOIN webhook_endpoints w ON (w.user_id = e.user_id OR w.id = $6) \
              AND w.disabled_at IS NULL \
              AND (cardinality(w.event_types) = 0 OR e.event_type = ANY(w.event_types)) \
             FOR KEY SHARE OF w \
         ), kept AS ( \
             INSERT INTO events (id, user_id, event_type, body, created_at) \
             SELECT * FROM e WHERE EXISTS (SELECT 1 FROM receivers r WHERE r.event_id = e.id) \
             ON CONFLICT (id) DO NOTHING \
             RETURNING id, user_id, event_type, created_at \
         ) \
         INSERT INTO event_deliveries (id, event_id, event_type, endpoint_id, user_id, status, \
                                       next_attempt_at, created_at) \
         SELECT gen_random_uuid(), k.id, k.event_type, r.endpoint_id, r.owner, 'pending', \
                k.created_at, k.created_at \
         FROM kept k JOIN receivers r ON r.event_id = k.id",
    )
    .bind(events.iter().map(|e| e.id.as_uuid()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.user_id.as_uuid()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.body.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.created_at).collect::<Vec<_>>())
    .bind(OPERATOR_ENDPOINT.as_uuid())
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: Uuid,
    event_id: Uuid,
    event_type: String,
    endpoint_id: Uuid,
    user_id: Uuid,
    status: String,
    attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    lease_token: i64,
    last_attempt_at: Option<DateTime<Utc>>,
    response_status: Option<i32>,
    response: Option<String>,
    error: Option<String>,
    created_at: DateTime<Utc>,
}

macro_rules! delivery_columns {
    () => {
        "id, event_id, event_type, endpoint_id, user_id, status, attempts, next_attempt_at, \
         lease_token, last_attempt_at, response_status, response, error, created_at"
    };
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let bad = |e: postpilot_core::ValidationError| corrupt("event_deliveries", e);
        Ok(DeliveryRecord {
            id: DeliveryId::from(r.id),
            event_id: EventId::from(r.event_id),
            event_type: r.event_type.parse::<EventType>().map_err(bad)?,
            endpoint_id: EndpointId::from(r.endpoint_id),
            user_id: UserId::from(r.user_id),
            status: r.status.parse::<DeliveryStatus>().map_err(bad)?,
            attempts: u32::try_from(r.attempts).unwrap_or_default(),
            next_attempt_at: r.next_attempt_at,
            lease_token: r.lease_token,
            last_attempt_at: r.last_attempt_at,
            response_status: r.response_status.and_then(|s| u16::try_from(s).ok()),
            response: r.response,
            error: r.error,
            created_at: r.created_at,
        }
        .into())
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    user_id: Uuid,
    event_type: String,
    body: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(Event {
            id: EventId::from(r.id),
            user_id: UserId::from(r.user_id),
            kind: r.event_type.parse().map_err(|e| corrupt("events", e))?,
            body: r.body,
            created_at: r.created_at,
        })
    }
}

/// [`EndpointHealth::apply`] on the stored endpoint (locked by the caller); whether it disabled
/// it.
async fn apply_health(
    conn: &mut PgConnection,
    endpoint: Uuid,
    health: EndpointHealth,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let disable = |reason: &'static str, failing_before: Option<DateTime<Utc>>| {
        sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3, updated_at = $2 \
             WHERE id = $1 AND disabled_at IS NULL \
             AND ($4::timestamptz IS NULL OR failing_since <= $4)",
        )
        .bind(endpoint)
        .bind(now)
        .bind(reason)
        .bind(failing_before)
    };
    let done = match health {
        EndpointHealth::Unknown => return Ok(false),
        EndpointHealth::Answering => {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = NULL, updated_at = $2 \
                 WHERE id = $1 AND failing_since IS NOT NULL",
            )
            .bind(endpoint)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
            return Ok(false);
        }
        EndpointHealth::Failing(at) => {
            let started = sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = $3, updated_at = $2 \
                 WHERE id = $1 AND failing_since IS NULL",
            )
            .bind(endpoint)
            .bind(now)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
            if started.rows_affected() > 0 {
                return Ok(false);
            }
            let before = EndpointHealth::disable_if_failing_since(at);
            disable(FAILING_REASON, Some(before))
                .execute(&mut *conn)
                .await
        }
        EndpointHealth::Gone => disable(GONE_REASON, None).execute(&mut *conn).await,
    };
    Ok(done.map_err(store_error)?.rows_affected() > 0)
}

#[async_trait]
impl EventStore for PgStore {
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // Oldest due first through the partial index; a delivery another worker is claiming
        // is skipped, not waited for.
        let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
            "WITH due AS ( \
                 SELECT d.id FROM event_deliveries d \
                 JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.disabled_at IS NULL \
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
                 ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED \
             ) \
             UPDATE event_deliveries d SET lease_token = d.lease_token + 1, next_attempt_at = $3 \
             FROM due WHERE d.id = due.id RETURNING ",
            "d.id, d.event_id, d.event_type, d.endpoint_id, d.user_id, d.status, d.attempts, \
             d.next_attempt_at, d.lease_token, d.last_attempt_at, d.response_status, \
             d.response, d.error, d.created_at"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .bind(now + lease_for)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // A row the domain refuses is skipped (and claimed again when its lease lapses), never
        // the whole batch.
        let deliveries: Vec<Delivery> = rows
            .into_iter()
            .filter_map(|row| {
                let id = row.id;
                Delivery::try_from(row)
                    .inspect_err(|e| tracing::error!(delivery = %id, error = %e, "a stored delivery does not read"))
                    .ok()
            })
            .collect();
        let event_ids: Vec<Uuid> = deliveries.iter().map(|d| d.event_id().as_uuid()).collect();
        let events: Vec<EventRow> = sqlx::query_as(
            "SELECT id, user_id, event_type, body, created_at FROM events WHERE id = ANY($1)",
        )
        .bind(&event_ids)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let events: std::collections::HashMap<EventId, Event> = events
            .into_iter()
            .filter_map(|r| {
                let id = r.id;
                Event::try_from(r)
                    .inspect_err(|e| tracing::error!(event = %id, error = %e, "a stored event does not read"))
                    .ok()
            })
            .map(|e| (e.id, e))
            .collect();
        let endpoint_ids: Vec<Uuid> = deliveries
            .iter()
            .map(|d| d.endpoint_id().as_uuid())
            .collect();
        let endpoints: std::collections::HashMap<EndpointId, WebhookEndpoint> =
            crate::endpoints::endpoints_by_id(&self.pool, &endpoint_ids)
                .await?
                .into_iter()
                .map(|e| (e.id(), e))
                .collect();
        // A delivery whose endpoint was deleted since is gone with it (the cascade).
        Ok(deliveries
            .into_iter()
            .filter_map(|delivery| {
                Some(ClaimedDelivery {
                    event: events.get(&delivery.event_id())?.clone(),
                    endpoint: endpoints.get(&delivery.endpoint_id())?.clone(),
                    delivery,
                })
            })
            .collect())
    }

    async fn settle_delivery(
        &self,
        delivery: &Delivery,
        health: EndpointHealth,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let endpoint = delivery.endpoint_id().as_uuid();
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // The endpoint first, then the delivery: the order a deletion of the endpoint takes
        // them in (its cascade), so the two never deadlock; and its health is judged on it as
        // stored now, not as the worker read it at the claim.
        let locked: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR NO KEY UPDATE")
                .bind(endpoint)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
        if locked.is_none() {
            return Err(StoreError::NotFound);
        }
        let settled = sqlx::query(
            "UPDATE event_deliveries SET status = $3, attempts = $4, next_attempt_at = $5, \
             lease_token = lease_token + 1, last_attempt_at = $6, response_status = $7, \
             response = $8, error = $9 \
             WHERE id = $1 AND lease_token = $2 AND status = 'pending'",
        )
        .bind(delivery.id().as_uuid())
        .bind(delivery.lease_token())
        .bind(delivery.status().as_str())
        .bind(i32::try_from(delivery.attempts()).unwrap_or(i32::MAX))
        .bind(delivery.next_attempt_at())
        .bind(delivery.last_attempt_at())
        .bind(delivery.response_status().map(i32::from))
        .bind(delivery.response())
        .bind(delivery.error())
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if settled.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        let disabled = apply_health(&mut tx, endpoint, health, now).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(disabled)
    }

    async fn list_deliveries(
        &self,
        owner: UserId,
        endpoint: EndpointId,
        status: Option<DeliveryStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let status = status.map(DeliveryStatus::as_str);
        // One statement with the status and one without, so that each prepared statement's
        // generic plan reads its own index from where the page starts (see `list_posts`).
        macro_rules! delivery_page {
            ($filter:literal) => {
                concat!(
                    "SELECT ",
                    delivery_columns!(),
                    ", created_at AS page_at, id AS page_id FROM event_deliveries \
                     WHERE user_id = $1 AND endpoint_id = $2 AND ",
                    $filter,
                    " AND (created_at, id) < ($4, $5) \
                     ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
                )
            };
        }
        let rows = sqlx::query_as::<_, Positioned<DeliveryRow>>(match status {
            Some(_) => delivery_page!("status = $3"),
            None => delivery_page!("$3::text IS NULL"),
        })
        .bind(owner.as_uuid())
        .bind(endpoint.as_uuid())
        .bind(status);
        // The count likewise, so that a status's count reads `event_deliveries_log_by_status`
        // under a generic plan (DECISIONS 100) rather than the endpoint's whole log.
        let total = sqlx::query_scalar(match status {
            Some(_) => {
                "SELECT count(*) FROM event_deliveries \
                 WHERE user_id = $1 AND endpoint_id = $2 AND status = $3"
            }
            None => {
                "SELECT count(*) FROM event_deliveries \
                 WHERE user_id = $1 AND endpoint_id = $2 AND $3::text IS NULL"
            }
        })
        .bind(owner.as_uuid())
        .bind(endpoint.as_uuid())
        .bind(status);
        fetch_page(
            &self.pool,
            "event_deliveries",
            page,
            Order::NewestFirst,
            rows,
            total,
        )
        .await
    }

    async fn delivery(&self, owner: UserId, id: DeliveryId) -> StoreResult<Option<Delivery>> {
        let sql = concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM event_deliveries WHERE id = $1 AND user_id = $2"
        );
        fetch_owned::<DeliveryRow, _>(&self.pool, sql, id.as_uuid(), owner).await
    }

    async fn purge_events(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        // Oldest first through the index on created_at, then each event by its primary key (with
        // `id IN (subquery)` the generic plan hash-joined the batch against a sequential scan of
        // the whole log; DECISIONS 100); the deliveries go by the cascade. Under
        // REPEATABLE READ, a delivery a re-send turned back to pending after this statement's
        // snapshot makes the cascade fail (a serialization failure) instead of deleting it:
        // that batch is then left for the next purge.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let purged = sqlx::query(
            "DELETE FROM events WHERE id = ANY(ARRAY( \
                 SELECT e.id FROM events e WHERE e.created_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM event_deliveries d \
                                 WHERE d.event_id = e.id AND d.status = 'pending') \
                 ORDER BY e.created_at LIMIT $2))",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await;
        let purged = match purged {
            Ok(done) => done.rows_affected(),
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("40001") => {
                return Ok(0);
            }
            Err(e) => return Err(store_error(e)),
        };
        tx.commit().await.map_err(store_error)?;
        Ok(purged)
    }

    async fn resend_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        let resent = sqlx::query(
            "UPDATE event_deliveries SET status = 'pending', attempts = $4, next_attempt_at = $5 \
             WHERE id = $1 AND user_id = $2 AND lease_token = $3 AND status <> 'pending'",
        )
        .bind(delivery.id().as_uuid())
        .bind(delivery.user_id().as_uuid())
        .bind(delivery.lease_token())
        .bind(i32::try_from(delivery.attempts()).unwrap_or(i32::MAX))
        .bind(delivery.next_attempt_at())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if resent.rows_affected() > 0 {
            return Ok(());
        }
        let (id, owner) = (delivery.id().as_uuid(), delivery.user_id());
        Err(Guarded::Deliveries
            .stale_or_missing(&self.pool, id, owner)
            .await)
    }
}
