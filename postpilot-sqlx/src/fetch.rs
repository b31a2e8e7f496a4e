//! How rows become aggregates: at most one row ([`fetch_optional`]), or one page of an owner's
//! rows and their total ([`fetch_page`], the shape every list but the post list has; that one
//! counts in the same statement, see `posts.rs`).

use postpilot_core::page::{Page, PageRequest};
use postpilot_core::store::{StoreError, StoreResult};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::{PgPool, Postgres};

use crate::error::{count, store_error, to_i64};

/// Runs `query`, which selects at most one row, and converts the row it finds.
pub(crate) async fn fetch_optional<'q, Row, T>(
    pool: &PgPool,
    query: QueryAs<'q, Postgres, Row, PgArguments>,
) -> StoreResult<Option<T>>
where
    Row: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<Row, Error = StoreError>,
{
    query
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .map(T::try_from)
        .transpose()
}

/// Runs `rows` — the page's query with its own parameters bound, whose last two placeholders are
/// `LIMIT` and `OFFSET` — and `total`, which counts the same rows of `table`.
pub(crate) async fn fetch_page<'q, Row, T>(
    pool: &PgPool,
    table: &'static str,
    page: PageRequest,
    rows: QueryAs<'q, Postgres, Row, PgArguments>,
    total: QueryScalar<'q, Postgres, i64, PgArguments>,
) -> StoreResult<Page<T>>
where
    Row: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<Row, Error = StoreError>,
{
    let rows = rows
        .bind(i64::from(page.per_page()))
        .bind(to_i64(page.offset()))
        .fetch_all(pool)
        .await
        .map_err(store_error)?;
    let total = total.fetch_one(pool).await.map_err(store_error)?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(T::try_from)
            .collect::<StoreResult<_>>()?,
        total: count(table, total)?,
        page: page.page(),
        per_page: page.per_page(),
    })
}
