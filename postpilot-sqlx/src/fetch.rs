//! How rows become aggregates: at most one row ([`fetch_optional`], [`fetch_owned`]), all rows
//! ([`fetch_all`]), or one page of an owner's
//! rows and their total ([`fetch_page`], the shape every list but the post list has; that one
//! counts in the same statement, see `posts.rs`).

use postpilot_core::id::UserId;
use postpilot_core::page::{Page, PageRequest};
use postpilot_core::store::{StoreError, StoreResult};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::{PgPool, Postgres};

use crate::error::{count, store_error, to_i64};

/// A row an aggregate `T` is read from.
pub(crate) trait RowOf<T>: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {
    /// The aggregate, or [`StoreError`] for a row the domain refuses.
    fn convert(self) -> StoreResult<T>;
}

impl<Row, T> RowOf<T> for Row
where
    Row: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<Row, Error = StoreError>,
{
    fn convert(self) -> StoreResult<T> {
        T::try_from(self)
    }
}

/// Runs `query`, which selects at most one row, and converts the row it finds.
pub(crate) async fn fetch_optional<'q, Row: RowOf<T>, T>(
    pool: &PgPool,
    query: QueryAs<'q, Postgres, Row, PgArguments>,
) -> StoreResult<Option<T>> {
    query
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .map(RowOf::convert)
        .transpose()
}

/// Runs `query` and converts every row it selects.
pub(crate) async fn fetch_all<'q, Row: RowOf<T>, T>(
    pool: &PgPool,
    query: QueryAs<'q, Postgres, Row, PgArguments>,
) -> StoreResult<Vec<T>> {
    let rows = query.fetch_all(pool).await.map_err(store_error)?;
    rows.into_iter().map(RowOf::convert).collect()
}

/// Runs `sql` — a statement on one of `owner`'s rows, keyed `$1`, with the owner as `$2` — and
/// converts the row it returns, if any.
pub(crate) async fn fetch_owned<Row: RowOf<T>, T>(
    pool: &PgPool,
    sql: &'static str,
    key: uuid::Uuid,
    owner: UserId,
) -> StoreResult<Option<T>> {
    fetch_optional(
        pool,
        sqlx::query_as::<_, Row>(sql)
            .bind(key)
            .bind(owner.as_uuid()),
    )
    .await
}

/// Runs `rows` — the page's query with its own parameters bound, whose last two placeholders are
/// `LIMIT` and `OFFSET` — and `total`, which counts the same rows of `table`.
pub(crate) async fn fetch_page<'q, Row: RowOf<T>, T>(
    pool: &PgPool,
    table: &'static str,
    page: PageRequest,
    rows: QueryAs<'q, Postgres, Row, PgArguments>,
    total: QueryScalar<'q, Postgres, i64, PgArguments>,
) -> StoreResult<Page<T>> {
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
            .map(RowOf::convert)
            .collect::<StoreResult<_>>()?,
        total: count(table, total)?,
        page: page.page(),
        per_page: page.per_page(),
    })
}

/// Runs `sql`, a statement on one of the owner's rows (`$1` its id, `$2` the owner), and says
/// whether it touched the row: false when it is absent or someone else's.
pub(crate) async fn on_owned_row(
    pool: &PgPool,
    sql: &'static str,
    id: uuid::Uuid,
    owner: UserId,
) -> StoreResult<bool> {
    let done = sqlx::query(sql)
        .bind(id)
        .bind(owner.as_uuid())
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected() > 0)
}
