//! How rows become aggregates: at most one row ([`fetch_optional`], [`fetch_owned`]), all rows
//! ([`fetch_all`]), or one page of an owner's
//! rows and their total ([`fetch_page`], the shape every list but the post list has; that one
//! counts in the same statement, see `posts.rs`).

use chrono::{DateTime, Utc};
use postpilot_core::id::UserId;
use postpilot_core::page::{Cursor, Order, Page, PageRequest};
use postpilot_core::store::{StoreError, StoreResult};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::{PgPool, Postgres, Row as _};

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

/// A row of a list and its position in the list's order: the `page_at` and `page_id` columns
/// every list query selects after the row's own.
pub(crate) struct Positioned<Row> {
    row: Row,
    at: DateTime<Utc>,
    id: uuid::Uuid,
}

impl<Row> Positioned<Row> {
    /// The row.
    pub(crate) const fn row(&self) -> &Row {
        &self.row
    }

    /// The same position with the row converted.
    pub(crate) fn map<Other>(self, f: impl FnOnce(Row) -> Other) -> Positioned<Other> {
        Positioned {
            row: f(self.row),
            at: self.at,
            id: self.id,
        }
    }
}

impl<'r, Row: sqlx::FromRow<'r, PgRow>> sqlx::FromRow<'r, PgRow> for Positioned<Row> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            row: Row::from_row(row)?,
            at: row.try_get("page_at")?,
            id: row.try_get("page_id")?,
        })
    }
}

/// The position a page starts after: its cursor, or — for a page by number — one before every
/// row in `order` (a sentinel no row reaches), so that every list query has one shape, a range
/// on its index whichever way it is asked: `(time, id) < ($a, $b)` newest first,
/// `(time, id) > ($a, $b)` oldest first.
pub(crate) fn start_after(page: PageRequest, order: Order) -> (DateTime<Utc>, uuid::Uuid) {
    // 9999-12-31T23:59:59Z and 0001-01-01T00:00:00Z: beyond any time a list sorts by, and
    // within PostgreSQL's range.
    let at = |seconds| DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    match (page.after(), order) {
        (Some(after), _) => (after.at(), after.id()),
        (None, Order::NewestFirst) => (at(253_402_300_799), uuid::Uuid::max()),
        (None, Order::OldestFirst) => (at(-62_135_596_800), uuid::Uuid::nil()),
    }
}

/// Binds where `page` starts (see [`start_after`]), then its `LIMIT` (one more than the page, to
/// know whether another follows) and `OFFSET`: the last four placeholders of every list query.
pub(crate) fn bind_page<'q, Row>(
    rows: QueryAs<'q, Postgres, Row, PgArguments>,
    page: PageRequest,
    order: Order,
) -> QueryAs<'q, Postgres, Row, PgArguments> {
    let (at, id) = start_after(page, order);
    rows.bind(at)
        .bind(id)
        .bind(i64::from(page.per_page()) + 1)
        .bind(to_i64(page.offset()))
}

/// The page of `rows` (up to one more than asked, see [`bind_page`]) with `total`, and the
/// cursor of its last row when another follows.
pub(crate) fn into_page<Row: RowOf<T>, T>(
    page: PageRequest,
    mut rows: Vec<Positioned<Row>>,
    total: u64,
) -> StoreResult<Page<T>> {
    let more = rows.len() > page.per_page() as usize;
    rows.truncate(page.per_page() as usize);
    let next = if more {
        rows.last().map(|r| Cursor::new(r.at, r.id))
    } else {
        None
    };
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| r.row.convert())
            .collect::<StoreResult<_>>()?,
        total,
        page: page.page(),
        per_page: page.per_page(),
        next,
    })
}

/// Runs `rows` — the page's query in `order` with its own parameters bound, whose last four
/// placeholders are where it starts, `LIMIT` and `OFFSET` ([`bind_page`]) — and `total`, which
/// counts the same rows of `table`.
pub(crate) async fn fetch_page<'q, Row: RowOf<T>, T>(
    pool: &PgPool,
    table: &'static str,
    page: PageRequest,
    order: Order,
    rows: QueryAs<'q, Postgres, Positioned<Row>, PgArguments>,
    total: QueryScalar<'q, Postgres, i64, PgArguments>,
) -> StoreResult<Page<T>> {
    let rows = bind_page(rows, page, order)
        .fetch_all(pool)
        .await
        .map_err(store_error)?;
    let total = total.fetch_one(pool).await.map_err(store_error)?;
    into_page(page, rows, count(table, total)?)
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
