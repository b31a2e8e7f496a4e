//! API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::api_key::{ApiKey, ApiKeyName, ApiKeyRecord, Scope};
use postpilot_core::id::{ApiKeyId, UserId};
use postpilot_core::page::{Order, Page, PageRequest};
use postpilot_core::store::{ApiKeyStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, count, store_error};
use crate::fetch::{Positioned, fetch_optional, fetch_page};
use crate::users::lock_owner;

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    prefix: String,
    key_hash: String,
    scopes: Vec<String>,
    is_active: bool,
    last_used_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        let bad = |e| corrupt("api_keys", e);
        Ok(ApiKeyRecord {
            id: ApiKeyId::from(r.id),
            user_id: UserId::from(r.user_id),
            name: ApiKeyName::parse(&r.name).map_err(bad)?,
            prefix: r.prefix,
            key_hash: r.key_hash,
            scopes: r
                .scopes
                .iter()
                .map(|s| s.parse::<Scope>())
                .collect::<Result<_, _>>()
                .map_err(bad)?,
            is_active: r.is_active,
            last_used_at: r.last_used_at,
            created_at: r.created_at,
        }
        .into())
    }
}

macro_rules! select_key {
    ($rest:literal) => {
        select_key!("", $rest)
    };
    ($more:literal, $rest:literal) => {
        concat!(
            "SELECT id, user_id, name, prefix, key_hash, scopes, is_active, last_used_at, created_at",
            $more,
            " FROM api_keys WHERE ",
            $rest
        )
    };
}

#[async_trait]
impl ApiKeyStore for PgStore {
    async fn insert_api_key(&self, key: &ApiKey, max_active: u32) -> StoreResult<()> {
        // Serialised per owner, like every guarded insert: the count stays true until commit.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        lock_owner(&mut tx, key.user_id()).await?;
        let active: i64 =
            sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE user_id = $1 AND is_active")
                .bind(key.user_id().as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err(store_error)?;
        if count("api_keys", active)? >= u64::from(max_active) {
            return Err(StoreError::LimitReached);
        }
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, is_active, \
             last_used_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(key.id().as_uuid())
        .bind(key.user_id().as_uuid())
        .bind(key.name().as_ref())
        .bind(key.prefix())
        .bind(key.key_hash())
        .bind(
            key.scopes()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(key.is_active())
        .bind(key.last_used_at())
        .bind(key.created_at())
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn list_api_keys(&self, owner: UserId, page: PageRequest) -> StoreResult<Page<ApiKey>> {
        fetch_page(
            &self.pool,
            "api_keys",
            page,
            Order::NewestFirst,
            sqlx::query_as::<_, Positioned<ApiKeyRow>>(select_key!(
                ", created_at AS page_at, id AS page_id",
                "user_id = $1 AND (created_at, id) < ($2, $3) \
                 ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
            ))
            .bind(owner.as_uuid()),
            sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE user_id = $1")
                .bind(owner.as_uuid()),
        )
        .await
    }

    async fn revoke_api_key(&self, owner: UserId, id: ApiKeyId) -> StoreResult<bool> {
        let revoked =
            sqlx::query("UPDATE api_keys SET is_active = false WHERE id = $1 AND user_id = $2")
                .bind(id.as_uuid())
                .bind(owner.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(revoked.rows_affected() > 0)
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        fetch_optional(
            &self.pool,
            sqlx::query_as::<_, ApiKeyRow>(select_key!("key_hash = $1 AND is_active"))
                .bind(key_hash),
        )
        .await
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        let touched = sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
