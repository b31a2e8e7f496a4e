//! Social accounts: connecting within the limit under a lock on the owner.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::account::{
    AccountName, ExternalAccountId, SealedTokens, SocialAccount, SocialAccountRecord,
};
use postpilot_core::id::{AccountId, UserId};
use postpilot_core::page::{Order, Page, PageRequest};
use postpilot_core::plan::Limit;
use postpilot_core::store::{AccountStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, count, store_error};
use crate::events::write_events;
use crate::fetch::{Positioned, fetch_all, fetch_owned, fetch_page};
use crate::status::PlatformSql;
use crate::users::lock_owner;

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Uuid,
    user_id: Uuid,
    platform: PlatformSql,
    account_name: String,
    account_id_external: String,
    access_token_enc: Option<String>,
    refresh_token_enc: Option<String>,
    token_expires_at: Option<DateTime<Utc>>,
    is_connected: bool,
    needs_reconnect: bool,
    publishing_cap: Option<i32>,
    publishing_cap_read_at: Option<DateTime<Utc>>,
    connected_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for SocialAccount {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        let bad = |e| corrupt("social_accounts", e);
        Ok(SocialAccountRecord {
            id: AccountId::from(r.id),
            user_id: UserId::from(r.user_id),
            platform: r.platform.into(),
            account_name: AccountName::parse(&r.account_name).map_err(bad)?,
            account_id_external: ExternalAccountId::parse(&r.account_id_external).map_err(bad)?,
            access_token_enc: r.access_token_enc,
            refresh_token_enc: r.refresh_token_enc,
            token_expires_at: r.token_expires_at,
            is_connected: r.is_connected,
            needs_reconnect: r.needs_reconnect,
            publishing_cap: r
                .publishing_cap
                .map(u32::try_from)
                .transpose()
                .map_err(|e| corrupt("social_accounts", e))?,
            publishing_cap_read_at: r.publishing_cap_read_at,
            connected_at: r.connected_at,
            created_at: r.created_at,
        }
        .into())
    }
}

macro_rules! account_columns {
    () => {
        "id, user_id, platform, account_name, account_id_external, access_token_enc, \
         refresh_token_enc, token_expires_at, is_connected, needs_reconnect, publishing_cap, \
         publishing_cap_read_at, connected_at, created_at"
    };
}

/// An account as `mark_needs_reconnect` returns it, with whether it was flagged before.
#[derive(sqlx::FromRow)]
struct MarkedRow {
    flagged: bool,
    #[sqlx(flatten)]
    account: AccountRow,
}

#[async_trait]
impl AccountStore for PgStore {
    async fn connect_account(
        &self,
        account: &SocialAccount,
        limit: Limit,
    ) -> StoreResult<SocialAccount> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        lock_owner(&mut tx, account.user_id()).await?;
        let existing: Option<(Uuid, bool)> = sqlx::query_as(
            "SELECT id, is_connected FROM social_accounts \
             WHERE user_id = $1 AND platform = $2 AND account_id_external = $3",
        )
        .bind(account.user_id().as_uuid())
        .bind(PlatformSql::from(account.platform()))
        .bind(account.account_id_external().as_ref())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let already_counted = existing.is_some_and(|(_, connected)| connected);
        // The connected count before this connection, when it adds to a limited one.
        let mut counted = None;
        if !already_counted && let Some(max) = limit.max() {
            let connected: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM social_accounts WHERE user_id = $1 AND is_connected",
            )
            .bind(account.user_id().as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
            let connected = count("social_accounts", connected)?;
            if connected >= u64::from(max) {
                return Err(StoreError::LimitReached);
            }
            counted = Some(connected);
        }
        let row: AccountRow = match existing {
            Some((id, _)) => sqlx::query_as(concat!(
                "UPDATE social_accounts SET account_name = $2, access_token_enc = $3, \
                 refresh_token_enc = $4, token_expires_at = $6, is_connected = true, \
                 needs_reconnect = false, publishing_cap = NULL, publishing_cap_read_at = NULL, \
                 connected_at = $5 WHERE id = $1 RETURNING ",
                account_columns!()
            ))
            .bind(id)
            .bind(account.account_name().as_ref())
            .bind(account.access_token_enc())
            .bind(account.refresh_token_enc())
            .bind(account.connected_at())
            .bind(account.token_expires_at()),
            None => sqlx::query_as(concat!(
                "INSERT INTO social_accounts (id, user_id, platform, account_name, \
                 account_id_external, access_token_enc, refresh_token_enc, is_connected, \
                 needs_reconnect, connected_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
                account_columns!()
            ))
            .bind(account.id().as_uuid())
            .bind(account.user_id().as_uuid())
            .bind(PlatformSql::from(account.platform()))
            .bind(account.account_name().as_ref())
            .bind(account.account_id_external().as_ref())
            .bind(account.access_token_enc())
            .bind(account.refresh_token_enc())
            .bind(account.is_connected())
            .bind(account.needs_reconnect())
            .bind(account.connected_at())
            .bind(account.created_at()),
        }
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        let stored = SocialAccount::try_from(row)?;
        let events = postpilot_core::event::connection_events(&stored, limit, counted);
        write_events(&mut tx, &events).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(stored)
    }

    async fn set_account_tokens(
        &self,
        owner: UserId,
        id: AccountId,
        tokens: SealedTokens,
        replacing: Option<String>,
    ) -> StoreResult<()> {
        let updated = sqlx::query(
            "UPDATE social_accounts SET access_token_enc = $3, refresh_token_enc = $4, \
                 token_expires_at = $5 \
             WHERE id = $1 AND user_id = $2 AND is_connected \
               AND ($6::text IS NULL OR access_token_enc = $6)",
        )
        .bind(id.as_uuid())
        .bind(owner.as_uuid())
        .bind(tokens.access)
        .bind(tokens.refresh)
        .bind(tokens.expires_at)
        .bind(replacing)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            // Absent, disconnected in the meantime (its tokens stay erased), or refreshed by
            // another.
            return Err(match self.account(owner, id).await? {
                Some(_) => StoreError::Stale,
                None => StoreError::NotFound,
            });
        }
        Ok(())
    }

    async fn lease_token_refresh(
        &self,
        owner: UserId,
        id: AccountId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let taken = sqlx::query(
            "UPDATE social_accounts SET token_refresh_lease_until = $4 \
             WHERE id = $1 AND user_id = $2 \
               AND (token_refresh_lease_until IS NULL OR token_refresh_lease_until <= $3)",
        )
        .bind(id.as_uuid())
        .bind(owner.as_uuid())
        .bind(now)
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(store_error)?
        .rows_affected()
            == 1;
        if !taken && self.account(owner, id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(taken)
    }

    async fn accounts_expiring_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<SocialAccount>> {
        fetch_all(
            &self.pool,
            sqlx::query_as::<_, AccountRow>(concat!(
                "SELECT ",
                account_columns!(),
                " FROM social_accounts WHERE token_expires_at < $1 AND is_connected \
              AND NOT needs_reconnect ORDER BY token_expires_at, id LIMIT $2"
            ))
            .bind(before)
            .bind(i64::from(limit)),
        )
        .await
    }

    async fn account(&self, owner: UserId, id: AccountId) -> StoreResult<Option<SocialAccount>> {
        let sql = concat!(
            "SELECT ",
            account_columns!(),
            " FROM social_accounts WHERE id = $1 AND user_id = $2"
        );
        fetch_owned::<AccountRow, _>(&self.pool, sql, id.as_uuid(), owner).await
    }

    async fn list_accounts(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<SocialAccount>> {
        fetch_page(
            &self.pool,
            "social_accounts",
            page,
            Order::OldestFirst,
            sqlx::query_as::<_, Positioned<AccountRow>>(concat!(
                "SELECT ",
                account_columns!(),
                ", created_at AS page_at, id AS page_id FROM social_accounts \
                 WHERE user_id = $1 AND (created_at, id) > ($2, $3) \
                 ORDER BY created_at, id LIMIT $4 OFFSET $5"
            ))
            .bind(owner.as_uuid()),
            sqlx::query_scalar("SELECT count(*) FROM social_accounts WHERE user_id = $1")
                .bind(owner.as_uuid()),
        )
        .await
    }

    async fn disconnect_account(
        &self,
        owner: UserId,
        id: AccountId,
    ) -> StoreResult<Option<SocialAccount>> {
        let sql = concat!(
            "UPDATE social_accounts SET is_connected = false, access_token_enc = NULL, \
             refresh_token_enc = NULL, token_expires_at = NULL \
             WHERE id = $1 AND user_id = $2 RETURNING ",
            account_columns!()
        );
        fetch_owned::<AccountRow, _>(&self.pool, sql, id.as_uuid(), owner).await
    }

    async fn count_connected_accounts(&self, owner: UserId) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM social_accounts WHERE user_id = $1 AND is_connected",
        )
        .bind(owner.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        count("social_accounts", n)
    }

    async fn disconnect_accounts_beyond(
        &self,
        owner: UserId,
        keep: u32,
    ) -> StoreResult<Vec<AccountId>> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        lock_owner(&mut tx, owner).await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "WITH excess AS ( \
                 SELECT id FROM social_accounts WHERE user_id = $1 AND is_connected \
                 ORDER BY coalesce(connected_at, created_at), id OFFSET $2 \
             ) \
             UPDATE social_accounts AS a SET is_connected = false, access_token_enc = NULL, \
                 refresh_token_enc = NULL, token_expires_at = NULL \
             FROM excess WHERE a.id = excess.id RETURNING a.id",
        )
        .bind(owner.as_uuid())
        .bind(i64::from(keep))
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(ids.into_iter().map(AccountId::from).collect())
    }

    async fn set_publishing_cap(
        &self,
        owner: UserId,
        id: AccountId,
        posts: u32,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let updated = sqlx::query(
            "UPDATE social_accounts SET publishing_cap = $3, publishing_cap_read_at = $4 \
             WHERE id = $1 AND user_id = $2",
        )
        .bind(id.as_uuid())
        .bind(owner.as_uuid())
        .bind(i32::try_from(posts).unwrap_or(i32::MAX))
        .bind(read_at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn mark_needs_reconnect(
        &self,
        owner: UserId,
        id: AccountId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        // `flagged`: whether it needed reconnecting already (the row locked first, so it is the
        // latest): only the first refusal of a connection is an event.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let marked: Option<MarkedRow> = sqlx::query_as(concat!(
            "WITH was AS (SELECT id AS was_id, needs_reconnect AS flagged FROM social_accounts \
                          WHERE id = $1 AND user_id = $2 FOR NO KEY UPDATE) \
             UPDATE social_accounts SET needs_reconnect = true FROM was \
             WHERE social_accounts.id = was.was_id RETURNING flagged, ",
            account_columns!()
        ))
        .bind(id.as_uuid())
        .bind(owner.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(marked) = marked else {
            return Err(StoreError::NotFound);
        };
        if !marked.flagged {
            let account = SocialAccount::try_from(marked.account)?;
            let event = postpilot_core::event::account_needs_reconnect(&account, at);
            write_events(&mut tx, &[event]).await?;
        }
        tx.commit().await.map_err(store_error)
    }
}
