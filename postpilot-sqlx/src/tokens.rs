//! Refresh tokens: rotation with reuse detection in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::id::{RefreshTokenId, TokenFamilyId, UserId};
use postpilot_core::store::{RefreshTokenStore, StoreResult};
use postpilot_core::user::{RefreshToken, RefreshTokenRecord, RefreshUse, Successor};
use uuid::Uuid;

use crate::PgStore;
use crate::error::store_error;

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for RefreshToken {
    fn from(r: TokenRow) -> Self {
        RefreshTokenRecord {
            id: RefreshTokenId::from(r.id),
            user_id: UserId::from(r.user_id),
            family_id: TokenFamilyId::from(r.family_id),
            token_hash: r.token_hash,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            revoked_at: r.revoked_at,
        }
        .into()
    }
}

async fn insert(conn: &mut sqlx::PgConnection, t: &RefreshToken) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at, \
         used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id().as_uuid())
    .bind(t.user_id().as_uuid())
    .bind(t.family_id().as_uuid())
    .bind(t.token_hash())
    .bind(t.created_at())
    .bind(t.expires_at())
    .bind(t.used_at())
    .bind(t.revoked_at())
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl RefreshTokenStore for PgStore {
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        insert(&mut conn, token).await
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT id, user_id, family_id, token_hash, created_at, expires_at, used_at, \
             revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(row.map(RefreshToken::from))
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor: &Successor,
        now: DateTime<Utc>,
    ) -> StoreResult<RefreshUse> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // The row lock serialises concurrent presentations of one token: the second sees it used.
        let presented: Option<TokenRow> = sqlx::query_as(
            "SELECT id, user_id, family_id, token_hash, created_at, expires_at, used_at, revoked_at \
             FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(presented) = presented else {
            return Ok(RefreshUse::Invalid);
        };
        if presented.revoked_at.is_some() || presented.expires_at <= now {
            return Ok(RefreshUse::Invalid);
        }
        let family_id = TokenFamilyId::from(presented.family_id);
        if presented.used_at.is_some() {
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                .bind(presented.family_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            tx.commit().await.map_err(store_error)?;
            return Ok(RefreshUse::Reused { family_id });
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1")
            .bind(presented.id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let next: RefreshToken = RefreshTokenRecord {
            id: successor.id,
            user_id: UserId::from(presented.user_id),
            family_id,
            token_hash: successor.token_hash.clone(),
            created_at: now,
            expires_at: successor.expires_at,
            used_at: None,
            revoked_at: None,
        }
        .into();
        insert(&mut tx, &next).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(RefreshUse::Fresh(next))
    }

    async fn revoke_family_of(
        &self,
        owner: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let found: Option<Uuid> = sqlx::query_scalar(
            "WITH family AS (SELECT family_id FROM refresh_tokens \
                             WHERE token_hash = $2 AND user_id = $1) \
             UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, $3) \
             WHERE family_id = (SELECT family_id FROM family) RETURNING family_id",
        )
        .bind(owner.as_uuid())
        .bind(token_hash)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .into_iter()
        .next();
        Ok(found.is_some())
    }

    async fn revoke_token_family(
        &self,
        family_id: TokenFamilyId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family_id.as_uuid())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn revoke_user_refresh_tokens(
        &self,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(owner.as_uuid())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
