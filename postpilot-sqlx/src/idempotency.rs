//! Idempotent requests' keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::id::UserId;
use postpilot_core::idempotency::{
    Begun, Hold, IdempotencyKey, IdempotencyRecord, RequestFingerprint, StoredResponse,
};
use postpilot_core::store::{IdempotencyStore, StoreError, StoreResult};
use sqlx::types::Json;
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, store_error};

#[derive(sqlx::FromRow)]
struct KeyRow {
    fingerprint: Vec<u8>,
    attempt: Uuid,
    held_until: DateTime<Utc>,
    response_status: Option<i16>,
    response_headers: Option<Json<Vec<(String, String)>>>,
    response_body: Option<Vec<u8>>,
    expires_at: DateTime<Utc>,
}

impl KeyRow {
    fn into_record(self, owner: UserId, key: &IdempotencyKey) -> StoreResult<IdempotencyRecord> {
        let fingerprint = <[u8; 32]>::try_from(self.fingerprint)
            .map_err(|_| corrupt("idempotency_keys", "a fingerprint is not 32 bytes"))?;
        let response = match self.response_status {
            Some(status) => Some(StoredResponse {
                status: u16::try_from(status).map_err(|e| corrupt("idempotency_keys", e))?,
                headers: self.response_headers.map(|Json(h)| h).unwrap_or_default(),
                body: self.response_body.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(IdempotencyRecord {
            owner,
            key: key.clone(),
            fingerprint: RequestFingerprint(fingerprint),
            attempt: self.attempt,
            held_until: self.held_until,
            response,
            expires_at: self.expires_at,
        })
    }
}

/// Expired keys one purge statement deletes.
const PURGE_BATCH: i64 = 5_000;

/// How many times taking a key reads it again when it changed between the write and the read.
const BEGIN_TRIES: usize = 4;

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn begin_request(
        &self,
        record: &IdempotencyRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Begun> {
        for _ in 0..BEGIN_TRIES {
            // Takes the key when it is free, expired, or held by a run that lapsed unfinished;
            // concurrent takers of one key wait on its row and see the winner's.
            let taken: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, attempt, held_until, \
                     expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
                     attempt = EXCLUDED.attempt, held_until = EXCLUDED.held_until, \
                     expires_at = EXCLUDED.expires_at, response_status = NULL, \
                     response_headers = NULL, response_body = NULL \
                 WHERE idempotency_keys.expires_at <= $7 \
                    OR (idempotency_keys.response_status IS NULL \
                        AND idempotency_keys.held_until <= $7) \
                 RETURNING attempt",
            )
            .bind(record.owner.as_uuid())
            .bind(record.key.as_str())
            .bind(record.fingerprint.0.as_slice())
            .bind(record.attempt)
            .bind(record.held_until)
            .bind(record.expires_at)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
            if let Some(attempt) = taken {
                return Ok(Begun::Run(Hold { attempt }));
            }
            let held: Option<KeyRow> = sqlx::query_as(
                "SELECT fingerprint, attempt, held_until, response_status, response_headers, \
                     response_body, expires_at \
                 FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            )
            .bind(record.owner.as_uuid())
            .bind(record.key.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
            if let Some(held) = held {
                let held = held.into_record(record.owner, &record.key)?;
                if let Some(met) = held.meets(&record.fingerprint, now) {
                    return Ok(met);
                }
            }
            // Released, purged or lapsed between the two statements: take it again.
        }
        Err(StoreError::Stale)
    }

    async fn finish_request(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        attempt: Uuid,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let status = i16::try_from(response.status).map_err(|e| corrupt("idempotency_keys", e))?;
        let written = sqlx::query(
            "UPDATE idempotency_keys SET response_status = $4, response_headers = $5, \
                 response_body = $6 \
             WHERE user_id = $1 AND key = $2 AND attempt = $3 AND response_status IS NULL",
        )
        .bind(owner.as_uuid())
        .bind(key.as_str())
        .bind(attempt)
        .bind(status)
        .bind(Json(&response.headers))
        .bind(response.body.as_slice())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        Ok(())
    }

    async fn release_request(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        attempt: Uuid,
    ) -> StoreResult<()> {
        let deleted = sqlx::query(
            "DELETE FROM idempotency_keys \
             WHERE user_id = $1 AND key = $2 AND attempt = $3 AND response_status IS NULL",
        )
        .bind(owner.as_uuid())
        .bind(key.as_str())
        .bind(attempt)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        Ok(())
    }

    async fn purge_requests(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        // In batches, each a short transaction through the expiry index: a day of keys may be
        // millions of rows, which one DELETE would hold locks and WAL for at once. The batch's
        // rows are found oldest first through the index and deleted by their addresses (a TID
        // scan): with `ctid IN (subquery)` the session's generic plan (DECISIONS 100) joined
        // the batch against a sequential scan of the whole table, once per batch. The expiry is
        // checked again on the row deleted: a new request may have taken an expired key over since.
        let mut total = 0;
        loop {
            let purged = sqlx::query(
                "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(\
                     SELECT ctid FROM idempotency_keys WHERE expires_at <= $1 \
                     ORDER BY expires_at LIMIT $2)) AND expires_at <= $1",
            )
            .bind(now)
            .bind(PURGE_BATCH)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            total += purged.rows_affected();
            if purged.rows_affected() < PURGE_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}
