//! The content queue, and approval into posts within the quota.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use postpilot_core::caption::{Generator, PlatformCaption, ProductData, TokenUsage};
use postpilot_core::id::{QueueItemId, UserId};
use postpilot_core::page::{Order, Page, PageRequest};
use postpilot_core::plan::PostQuota;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Caption, Hashtags, Post};
use postpilot_core::queue::{QueueItem, QueueItemRecord, QueueStatus};
use postpilot_core::store::{QueueStore, StoreError, StoreResult};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, count, store_error, to_i64};
use crate::fetch::{Positioned, fetch_owned, fetch_page};
use crate::guard::Guarded;
use crate::posts::{insert_post_rows, lock_month};
use crate::status::{PlatformSql, QueueStatusSql, ToneSql, mirrors};
use crate::users::lock_owner;
use postpilot_core::event::post_quota_events;

#[derive(sqlx::FromRow)]
struct QueueRow {
    id: Uuid,
    user_id: Uuid,
    product_data: sqlx::types::Json<serde_json::Value>,
    ai_generated_content: Option<String>,
    caption_generator: Option<String>,
    caption_input_tokens: Option<i64>,
    caption_output_tokens: Option<i64>,
    caption_fell_back: Option<String>,
    hashtags: Vec<String>,
    platform_captions: sqlx::types::Json<BTreeMap<Platform, StoredCaption>>,
    platforms: Vec<PlatformSql>,
    tone: Option<ToneSql>,
    generation: i32,
    status: QueueStatusSql,
    rejection_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A platform's own caption as stored: its hashtags are not validated again
/// ([`Hashtags::from_stored`]).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredCaption {
    caption: String,
    #[serde(default)]
    hashtags: Vec<String>,
}

impl TryFrom<QueueRow> for QueueItem {
    type Error = StoreError;
    fn try_from(r: QueueRow) -> Result<Self, StoreError> {
        let bad = |e: postpilot_core::ValidationError| corrupt("content_queue", e);
        Ok(QueueItemRecord {
            id: QueueItemId::from(r.id),
            user_id: UserId::from(r.user_id),
            product_data: serde_json::from_value::<ProductData>(r.product_data.0)
                .map_err(|e| corrupt("content_queue", e))?,
            ai_generated_content: r
                .ai_generated_content
                .map(Caption::parse)
                .transpose()
                .map_err(bad)?,
            caption_generator: match r.caption_generator {
                None => None,
                Some(name) => Some(Generator {
                    name,
                    usage: TokenUsage {
                        input: count("content_queue", r.caption_input_tokens.unwrap_or(0))?,
                        output: count("content_queue", r.caption_output_tokens.unwrap_or(0))?,
                    },
                    fell_back: r.caption_fell_back,
                }),
            },
            hashtags: Hashtags::from_stored(r.hashtags),
            platform_captions: r
                .platform_captions
                .0
                .into_iter()
                .map(|(platform, own)| {
                    let caption = Caption::parse(own.caption).map_err(bad)?;
                    let hashtags = Hashtags::from_stored(own.hashtags);
                    Ok((platform, PlatformCaption { caption, hashtags }))
                })
                .collect::<StoreResult<_>>()?,
            platforms: r.platforms.into_iter().map(Platform::from).collect(),
            tone: r.tone.map(postpilot_core::caption::Tone::from),
            generation: u32::try_from(r.generation).map_err(|e| corrupt("content_queue", e))?,
            status: r.status.into(),
            rejection_reason: r.rejection_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
        .into())
    }
}

macro_rules! queue_columns {
    () => {
        "id, user_id, product_data, ai_generated_content, caption_generator, caption_input_tokens, \
         caption_output_tokens, caption_fell_back, hashtags, platform_captions, platforms, tone, \
         generation, status, rejection_reason, created_at, updated_at"
    };
}

fn product_json(item: &QueueItem) -> StoreResult<sqlx::types::Json<serde_json::Value>> {
    serde_json::to_value(item.product_data())
        .map(sqlx::types::Json)
        .map_err(|e| corrupt("content_queue", e))
}

/// Binds, after what `query` has bound, the item's fields a write sets: `product_data`,
/// `ai_generated_content`, `hashtags`, `platforms`, `tone`, `generation`, `status`,
/// `rejection_reason`, `updated_at`, `caption_generator`, `caption_input_tokens`,
/// `caption_output_tokens`, `caption_fell_back` and `platform_captions`, in that order.
fn bind_fields<'q>(
    query: Query<'q, Postgres, PgArguments>,
    item: &'q QueueItem,
) -> StoreResult<Query<'q, Postgres, PgArguments>> {
    let generator = item.caption_generator();
    Ok(query
        .bind(product_json(item)?)
        .bind(item.ai_generated_content().map(AsRef::<str>::as_ref))
        .bind(item.hashtags().to_strings())
        .bind(mirrors::<_, PlatformSql>(item.platforms()))
        .bind(item.tone().map(ToneSql::from))
        .bind(i32::try_from(item.generation()).unwrap_or(i32::MAX))
        .bind(QueueStatusSql::from(item.status()))
        .bind(item.rejection_reason())
        .bind(item.updated_at())
        .bind(generator.map(|g| g.name.as_str()))
        .bind(generator.map(|g| to_i64(g.usage.input)))
        .bind(generator.map(|g| to_i64(g.usage.output)))
        .bind(generator.and_then(|g| g.fell_back.as_deref()))
        .bind(platform_captions_json(item)))
}

fn platform_captions_json(
    item: &QueueItem,
) -> sqlx::types::Json<BTreeMap<Platform, StoredCaption>> {
    let stored = item.platform_captions().iter().map(|(platform, own)| {
        let caption = own.caption.to_string();
        let hashtags = own.hashtags.to_strings();
        (platform, StoredCaption { caption, hashtags })
    });
    sqlx::types::Json(stored.collect())
}

/// Writes every field of `item` if its stored status is one of `expected`; returns whether it did.
async fn write_item(
    conn: &mut sqlx::PgConnection,
    item: &QueueItem,
    expected: &[QueueStatus],
) -> StoreResult<bool> {
    let query = sqlx::query(
        "UPDATE content_queue SET product_data = $4, ai_generated_content = $5, hashtags = $6, \
         platforms = $7, tone = $8, generation = $9, status = $10, rejection_reason = $11, \
         updated_at = $12, caption_generator = $13, caption_input_tokens = $14, \
         caption_output_tokens = $15, caption_fell_back = $16, platform_captions = $17 \
         WHERE id = $1 AND user_id = $2 AND status = ANY($3)",
    )
    .bind(item.id().as_uuid())
    .bind(item.user_id().as_uuid())
    .bind(mirrors::<_, QueueStatusSql>(expected));
    let updated = bind_fields(query, item)?
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(updated.rows_affected() > 0)
}

/// Inserts a queue item's row.
pub(crate) async fn insert_queue_row(
    conn: &mut sqlx::PgConnection,
    item: &QueueItem,
) -> StoreResult<()> {
    insert_queue_rows(conn, &[item]).await
}

/// Queue items one `INSERT` writes: 17 parameters each, under PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 1_000;

/// Inserts queue items, a thousand to a statement (a catalogue import's 10,000 products are ten
/// round trips), with their `queue.item.generated` events: run it in a transaction.
pub(crate) async fn insert_queue_rows(
    conn: &mut sqlx::PgConnection,
    items: &[&QueueItem],
) -> StoreResult<()> {
    for chunk in items.chunks(ROWS_PER_INSERT) {
        let products = chunk
            .iter()
            .map(|item| product_json(item))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut insert = sqlx::QueryBuilder::<Postgres>::new(
            "INSERT INTO content_queue (id, user_id, product_data, ai_generated_content, \
             hashtags, platforms, tone, generation, status, rejection_reason, updated_at, \
             caption_generator, caption_input_tokens, caption_output_tokens, caption_fell_back, \
             platform_captions, created_at) ",
        );
        insert.push_values(chunk.iter().zip(products), |mut row, (item, product)| {
            let generator = item.caption_generator();
            row.push_bind(item.id().as_uuid())
                .push_bind(item.user_id().as_uuid())
                .push_bind(product)
                .push_bind(item.ai_generated_content().map(|c| c.as_ref().to_owned()))
                .push_bind(item.hashtags().to_strings())
                .push_bind(mirrors::<_, PlatformSql>(item.platforms()))
                .push_bind(item.tone().map(ToneSql::from))
                .push_bind(i32::try_from(item.generation()).unwrap_or(i32::MAX))
                .push_bind(QueueStatusSql::from(item.status()))
                .push_bind(item.rejection_reason().map(str::to_owned))
                .push_bind(item.updated_at())
                .push_bind(generator.map(|g| g.name.clone()))
                .push_bind(generator.map(|g| to_i64(g.usage.input)))
                .push_bind(generator.map(|g| to_i64(g.usage.output)))
                .push_bind(generator.and_then(|g| g.fell_back.clone()))
                .push_bind(platform_captions_json(item))
                .push_bind(item.created_at());
        });
        insert
            .build()
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    let events: Vec<_> = items
        .iter()
        .map(|item| postpilot_core::event::queue_item_generated(item))
        .collect();
    crate::events::write_events(conn, &events).await
}

/// A page of an owner's queue items with `$filter` on the status (`$2`), from where it starts.
macro_rules! queue_page {
    ($filter:literal) => {
        concat!(
            "SELECT ",
            queue_columns!(),
            ", created_at AS page_at, id AS page_id FROM content_queue WHERE user_id = $1 AND ",
            $filter,
            " AND (created_at, id) < ($3, $4) \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
        )
    };
}

#[async_trait]
impl QueueStore for PgStore {
    async fn insert_queue_item(&self, item: &QueueItem) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        insert_queue_row(&mut tx, item).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn queue_item(&self, owner: UserId, id: QueueItemId) -> StoreResult<Option<QueueItem>> {
        let sql = concat!(
            "SELECT ",
            queue_columns!(),
            " FROM content_queue WHERE id = $1 AND user_id = $2"
        );
        fetch_owned::<QueueRow, _>(&self.pool, sql, id.as_uuid(), owner).await
    }

    async fn list_queue_items(
        &self,
        owner: UserId,
        status: Option<QueueStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<QueueItem>> {
        let status = status.map(QueueStatusSql::from);
        fetch_page(
            &self.pool,
            "content_queue",
            page,
            Order::NewestFirst,
            // One statement with the status and one without, so that each prepared statement's
            // generic plan reads its own index from where the page starts (see `list_posts`).
            sqlx::query_as::<_, Positioned<QueueRow>>(match status {
                Some(_) => queue_page!("status = $2"),
                None => queue_page!("$2::text IS NULL"),
            })
            .bind(owner.as_uuid())
            .bind(status),
            // The count likewise: `$2 IS NULL OR status = $2` would read the owner's whole queue
            // under a generic plan (DECISIONS 100) whatever the status.
            sqlx::query_scalar(match status {
                Some(_) => "SELECT count(*) FROM content_queue WHERE user_id = $1 AND status = $2",
                None => {
                    "SELECT count(*) FROM content_queue WHERE user_id = $1 AND $2::text IS NULL"
                }
            })
            .bind(owner.as_uuid())
            .bind(status),
        )
        .await
    }

    async fn update_queue_item(
        &self,
        item: &QueueItem,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        if write_item(&mut conn, item, expected).await? {
            Ok(())
        } else {
            let (id, owner) = (item.id().as_uuid(), item.user_id());
            Err(Guarded::ContentQueue
                .stale_or_missing(&self.pool, id, owner)
                .await)
        }
    }

    async fn delete_queue_item(
        &self,
        owner: UserId,
        id: QueueItemId,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let expected = mirrors::<_, QueueStatusSql>(expected);
        Guarded::ContentQueue
            .delete_expecting(&self.pool, id.as_uuid(), owner, expected)
            .await
    }

    async fn approve_queue_item(
        &self,
        item: &QueueItem,
        posts: &[Post],
        quota: PostQuota,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        lock_owner(&mut tx, item.user_id()).await?;
        let current: Option<QueueStatusSql> = sqlx::query_scalar(
            "SELECT status FROM content_queue WHERE id = $1 AND user_id = $2 FOR UPDATE",
        )
        .bind(item.id().as_uuid())
        .bind(item.user_id().as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        match current {
            None => return Err(StoreError::NotFound),
            Some(QueueStatusSql::Pending) => {}
            Some(_) => return Err(StoreError::Stale),
        }
        let used = lock_month(&mut tx, item.user_id(), &quota).await?;
        if let Some(max) = quota.limit.max()
            && used + posts.len() as u64 > u64::from(max)
        {
            return Err(StoreError::LimitReached);
        }
        write_item(&mut tx, item, &[QueueStatus::Pending]).await?;
        insert_post_rows(&mut tx, &posts.iter().collect::<Vec<_>>()).await?;
        let events = post_quota_events(
            item.user_id(),
            &quota,
            used,
            posts.len() as u64,
            item.updated_at(),
        );
        crate::events::write_events(&mut tx, &events).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn take_generation(
        &self,
        owner: UserId,
        month: DateTime<Utc>,
        limit: Option<u32>,
    ) -> StoreResult<()> {
        if limit == Some(0) {
            return Err(StoreError::LimitReached);
        }
        // The insert counts the month's first; the update counts another only below the cap (a
        // row the WHERE refuses is not returned).
        let counted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO caption_generations (user_id, month, count) VALUES ($1, $2, 1) \
             ON CONFLICT (user_id, month) DO UPDATE SET count = caption_generations.count + 1 \
             WHERE $3::bigint IS NULL OR caption_generations.count < $3 \
             RETURNING count",
        )
        .bind(owner.as_uuid())
        .bind(month)
        .bind(limit.map(i64::from))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        counted.map(drop).ok_or(StoreError::LimitReached)
    }

    async fn return_generation(&self, owner: UserId, month: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE caption_generations SET count = count - 1 \
             WHERE user_id = $1 AND month = $2 AND count > 0",
        )
        .bind(owner.as_uuid())
        .bind(month)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn count_generations(&self, owner: UserId, month: DateTime<Utc>) -> StoreResult<u64> {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT count FROM caption_generations WHERE user_id = $1 AND month = $2",
        )
        .bind(owner.as_uuid())
        .bind(month)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        count("caption_generations", used.unwrap_or(0))
    }
}
