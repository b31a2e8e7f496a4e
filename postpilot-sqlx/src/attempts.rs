//! The publication ledger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::id::{AttemptId, PostId, UserId};
use postpilot_core::publish::PublicationAttempt;
use postpilot_core::store::{AttemptStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, store_error};
use crate::fetch::fetch_all;
use crate::status::AttemptOutcomeSql;

#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: Uuid,
    post_id: Uuid,
    user_id: Uuid,
    attempt: i32,
    worker: String,
    lease_token: i64,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    outcome: AttemptOutcomeSql,
    remote_id: Option<String>,
    error: Option<String>,
}

impl TryFrom<AttemptRow> for PublicationAttempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: AttemptId::from(r.id),
            post_id: PostId::from(r.post_id),
            user_id: UserId::from(r.user_id),
            attempt: u32::try_from(r.attempt).map_err(|e| corrupt("publication_attempts", e))?,
            worker: r.worker,
            lease_token: r.lease_token,
            started_at: r.started_at,
            finished_at: r.finished_at,
            outcome: r.outcome.into(),
            remote_id: r.remote_id,
            error: r.error,
        })
    }
}

#[async_trait]
impl AttemptStore for PgStore {
    async fn record_attempts(&self, attempts: &[PublicationAttempt]) -> StoreResult<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        let col = |f: &dyn Fn(&PublicationAttempt) -> Option<String>| {
            attempts.iter().map(f).collect::<Vec<_>>()
        };
        sqlx::query(
            "INSERT INTO publication_attempts (id, post_id, user_id, attempt, worker, lease_token, \
             started_at, finished_at, outcome, remote_id, error) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], \
                                  $6::bigint[], $7::timestamptz[], $8::timestamptz[], $9::text[], \
                                  $10::text[], $11::text[])",
        )
        .bind(attempts.iter().map(|a| a.id.as_uuid()).collect::<Vec<_>>())
        .bind(
            attempts
                .iter()
                .map(|a| a.post_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(
            attempts
                .iter()
                .map(|a| a.user_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(
            attempts
                .iter()
                .map(|a| i32::try_from(a.attempt).unwrap_or(i32::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(col(&|a| Some(a.worker.clone())))
        .bind(attempts.iter().map(|a| a.lease_token).collect::<Vec<_>>())
        .bind(attempts.iter().map(|a| a.started_at).collect::<Vec<_>>())
        .bind(attempts.iter().map(|a| a.finished_at).collect::<Vec<_>>())
        .bind(
            attempts
                .iter()
                .map(|a| AttemptOutcomeSql::from(a.outcome))
                .collect::<Vec<_>>(),
        )
        .bind(col(&|a| a.remote_id.clone()))
        .bind(col(&|a| a.error.clone()))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn attempts(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Vec<PublicationAttempt>> {
        fetch_all(
&self.pool,
sqlx::query_as::<_, AttemptRow>(
            "SELECT id, post_id, user_id, attempt, worker, lease_token, started_at, finished_at, \
             outcome, remote_id, error FROM publication_attempts \
             WHERE user_id = $1 AND post_id = $2 ORDER BY started_at, attempt, id",
        )
        .bind(owner.as_uuid())
        .bind(post_id.as_uuid()),
)
.await
    }
}
