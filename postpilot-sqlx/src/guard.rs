//! Compare-and-set on an owner's row by status: the write happens only while the row is in one of
//! the statuses core expects, and a write that changed nothing says why.

use postpilot_core::id::UserId;
use postpilot_core::store::{StoreError, StoreResult};
use sqlx::{PgPool, Postgres};
use uuid::Uuid;

use crate::error::store_error;

/// A table whose rows belong to an owner (`user_id`) and carry a `status`.
#[derive(Clone, Copy)]
pub(crate) enum Guarded {
    Posts,
    ContentQueue,
    /// Webhook deliveries (never deleted through the guard: they go with their endpoint).
    Deliveries,
}

impl Guarded {
    const fn exists(self) -> &'static str {
        match self {
            Self::Posts => "SELECT 1 FROM posts WHERE id = $1 AND user_id = $2",
            Self::ContentQueue => "SELECT 1 FROM content_queue WHERE id = $1 AND user_id = $2",
            Self::Deliveries => "SELECT 1 FROM event_deliveries WHERE id = $1 AND user_id = $2",
        }
    }

    const fn delete(self) -> &'static str {
        match self {
            Self::Posts => "DELETE FROM posts WHERE id = $1 AND user_id = $2 AND status = ANY($3)",
            Self::ContentQueue => {
                "DELETE FROM content_queue WHERE id = $1 AND user_id = $2 AND status = ANY($3)"
            }
            Self::Deliveries => {
                "DELETE FROM event_deliveries WHERE id = $1 AND user_id = $2 AND status = ANY($3)"
            }
        }
    }

    /// Why a guarded write to `owner`'s row `id` changed nothing: [`StoreError::Stale`] while the
    /// row is there (its status moved on), [`StoreError::NotFound`] when it is not.
    pub(crate) async fn stale_or_missing(
        self,
        pool: &PgPool,
        id: Uuid,
        owner: UserId,
    ) -> StoreError {
        match sqlx::query_scalar::<_, i32>(self.exists())
            .bind(id)
            .bind(owner.as_uuid())
            .fetch_optional(pool)
            .await
        {
            Ok(Some(_)) => StoreError::Stale,
            Ok(None) => StoreError::NotFound,
            Err(e) => store_error(e),
        }
    }

    /// Deletes `owner`'s row `id` if its status is one of `expected`.
    pub(crate) async fn delete_expecting<S>(
        self,
        pool: &PgPool,
        id: Uuid,
        owner: UserId,
        expected: Vec<S>,
    ) -> StoreResult<()>
    where
        Vec<S>: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send + 'static,
    {
        let deleted = sqlx::query(self.delete())
            .bind(id)
            .bind(owner.as_uuid())
            .bind(expected)
            .execute(pool)
            .await
            .map_err(store_error)?;
        if deleted.rows_affected() == 0 {
            return Err(self.stale_or_missing(pool, id, owner).await);
        }
        Ok(())
    }
}
