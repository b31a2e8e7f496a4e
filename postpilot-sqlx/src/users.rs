//! Users.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::id::UserId;
use postpilot_core::store::{StoreError, StoreResult, UserChange, UserStore};
use postpilot_core::user::{Email, User, UserRecord};
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, store_error};
use crate::fetch::fetch_optional;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    stripe_customer_id: Option<String>,
    external_platform_id: Option<Uuid>,
    external_store_id: Option<Uuid>,
    time_zone: String,
    pause_on: String,
    session_epoch: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(UserRecord {
            id: UserId::from(r.id),
            email: Email::normalized(&r.email),
            password_hash: r.password_hash,
            stripe_customer_id: r.stripe_customer_id,
            external_platform_id: r.external_platform_id,
            external_store_id: r.external_store_id,
            // A zone this build's tz database no longer has (one written by a newer build) must
            // not lock the merchant out: they see UTC and can choose again in Settings.
            time_zone: r.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC),
            pause_on: r.pause_on.parse().map_err(|e| corrupt("users", e))?,
            session_epoch: r.session_epoch,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
        .into())
    }
}

macro_rules! user_columns {
    () => {
        "id, email, password_hash, stripe_customer_id, external_platform_id, external_store_id, \
         time_zone, pause_on, session_epoch, created_at, updated_at"
    };
}

macro_rules! select_user {
    ($where:literal) => {
        concat!("SELECT ", user_columns!(), " FROM users WHERE ", $where)
    };
}

impl PgStore {
    async fn user_where<T>(&self, sql: &'static str, key: T) -> StoreResult<Option<User>>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        fetch_optional(&self.pool, sqlx::query_as::<_, UserRow>(sql).bind(key)).await
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, stripe_customer_id, external_platform_id, \
             external_store_id, time_zone, pause_on, session_epoch, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(user.id().as_uuid())
        .bind(user.email().as_ref())
        .bind(user.password_hash())
        .bind(user.stripe_customer_id())
        .bind(user.external_platform_id())
        .bind(user.external_store_id())
        .bind(user.time_zone().name())
        .bind(user.pause_on().as_str())
        .bind(user.session_epoch())
        .bind(user.created_at())
        .bind(user.updated_at())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.user_where(select_user!("id = $1"), id.as_uuid()).await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        self.user_where(select_user!("email = $1"), email.as_ref().to_owned())
            .await
    }

    async fn user_by_external_id(&self, external_platform_id: Uuid) -> StoreResult<Option<User>> {
        self.user_where(
            select_user!("external_platform_id = $1"),
            external_platform_id,
        )
        .await
    }

    async fn change_user(&self, id: UserId, change: &UserChange) -> StoreResult<User> {
        let link = change.link_platform;
        // Each field is written only when given (NULL keeps the stored value); a platform link
        // applies only to an unlinked user or one linked to the same platform id.
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "UPDATE users SET email = coalesce($2, email), \
             password_hash = coalesce($3, password_hash), \
             stripe_customer_id = coalesce($4, stripe_customer_id), \
             external_platform_id = coalesce($5, external_platform_id), \
             external_store_id = CASE WHEN $5::uuid IS NULL THEN external_store_id \
                                      ELSE coalesce($6, external_store_id) END, \
             time_zone = coalesce($9, time_zone), \
             pause_on = coalesce($10, pause_on), \
             session_epoch = session_epoch + CASE WHEN $8 THEN 1 ELSE 0 END, \
             updated_at = $7 \
             WHERE id = $1 AND ($5::uuid IS NULL OR external_platform_id IS NULL \
                                OR external_platform_id = $5) \
             RETURNING ",
            user_columns!()
        ))
        .bind(id.as_uuid())
        .bind(change.email.as_ref().map(AsRef::<str>::as_ref))
        .bind(change.password_hash.as_deref())
        .bind(change.stripe_customer_id.as_deref())
        .bind(link.map(|l| l.external_platform_id))
        .bind(link.and_then(|l| l.external_store_id))
        .bind(change.updated_at)
        .bind(change.end_sessions)
        .bind(change.time_zone.map(|zone| zone.name()))
        .bind(change.pause_on.map(|rule| rule.as_str()))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        match row {
            Some(row) => row.try_into(),
            None if self.user(id).await?.is_some() => Err(StoreError::Stale),
            None => Err(StoreError::NotFound),
        }
    }
}

/// Locks the owner's row for the rest of `tx`: every guarded write of one owner (connects within
/// the limit, approvals, imports) serialises on it, so a count taken after the lock is still true
/// at commit. [`StoreError::NotFound`] when the owner does not exist.
///
/// `FOR NO KEY UPDATE`, which conflicts with itself but not with the `FOR KEY SHARE` a foreign-key
/// check takes: a post insert holding its month's quota row (see [`lock_month`]) checks its owner
/// without waiting on an approval that holds this lock and waits for that quota row.
///
/// [`lock_month`]: crate::posts::lock_month
pub(crate) async fn lock_owner(tx: &mut sqlx::PgConnection, owner: UserId) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(owner.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?
        .map(drop)
        .ok_or(StoreError::NotFound)
}
