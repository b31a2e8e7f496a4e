//! Bulk imports: the imported rows' references, posts created in one transaction, reports.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::id::{ImportId, UserId};
use postpilot_core::import::{Import, ImportRecord, RowError};
use postpilot_core::plan::PostQuota;
use postpilot_core::post::Post;
use postpilot_core::queue::QueueItem;
use postpilot_core::store::{Conflict, ImportStore, StoreError, StoreResult};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, store_error};
use crate::events::write_events;
use crate::fetch::fetch_owned;
use crate::posts::{insert_post_rows, lock_month};
use crate::queue::insert_queue_rows;
use crate::users::lock_owner;
use postpilot_core::event::post_quota_events;

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    format: String,
    mode: String,
    status: String,
    rows: i32,
    processed: i32,
    created: i32,
    duplicates: i32,
    failed: i32,
    errors: Json<Vec<RowError>>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ImportRow> for Import {
    type Error = StoreError;
    fn try_from(r: ImportRow) -> Result<Self, StoreError> {
        let bad = |what: &str| corrupt("imports", format!("unknown {what}"));
        let count = |n: i32| u32::try_from(n).map_err(|e| corrupt("imports", e));
        Ok(ImportRecord {
            id: ImportId::from(r.id),
            user_id: UserId::from(r.user_id),
            kind: r.kind.parse().map_err(|_| bad("kind"))?,
            format: r.format.parse().map_err(|_| bad("format"))?,
            mode: r.mode.parse().map_err(|_| bad("mode"))?,
            status: r.status.parse().map_err(|_| bad("status"))?,
            rows: count(r.rows)?,
            processed: count(r.processed)?,
            created: count(r.created)?,
            duplicates: count(r.duplicates)?,
            failed: count(r.failed)?,
            errors: r.errors.0,
            error: r.error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
        .into())
    }
}

/// Keeps an import: inserts it, or replaces its progress with newer progress or its report.
async fn upsert_import(conn: &mut PgConnection, import: &Import) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO imports (id, user_id, kind, format, mode, status, rows, processed, \
             created, duplicates, failed, errors, error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, \
             processed = EXCLUDED.processed, created = EXCLUDED.created, \
             duplicates = EXCLUDED.duplicates, failed = EXCLUDED.failed, \
             errors = EXCLUDED.errors, error = EXCLUDED.error, updated_at = EXCLUDED.updated_at \
         WHERE imports.user_id = EXCLUDED.user_id AND imports.status = 'running'",
    )
    .bind(import.id().as_uuid())
    .bind(import.user_id().as_uuid())
    .bind(import.kind().as_str())
    .bind(import.format().as_str())
    .bind(import.mode().as_str())
    .bind(import.status().as_str())
    .bind(to_i32(import.rows()))
    .bind(to_i32(import.processed()))
    .bind(to_i32(import.created()))
    .bind(to_i32(import.duplicates()))
    .bind(to_i32(import.failed()))
    .bind(Json(import.errors()))
    .bind(import.error())
    .bind(import.created_at())
    .bind(import.updated_at())
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Remembers imported rows by their references, each with what it created — or refuses them
/// all ([`Conflict::AlreadyImported`]) when one was imported before or comes twice.
async fn insert_references<'a>(
    conn: &mut PgConnection,
    owner: UserId,
    rows: impl Iterator<Item = (&'a str, Uuid)>,
) -> StoreResult<()> {
    let (references, created): (Vec<&str>, Vec<Uuid>) = rows.unzip();
    let taken: Vec<String> = sqlx::query_scalar(
        "INSERT INTO import_refs (user_id, reference, post_id) \
         SELECT $1, r, c FROM unnest($2::text[], $3::uuid[]) AS t(r, c) \
         ON CONFLICT (user_id, reference) DO NOTHING RETURNING reference",
    )
    .bind(owner.as_uuid())
    .bind(&references)
    .bind(&created)
    .fetch_all(conn)
    .await
    .map_err(store_error)?;
    if taken.len() != references.len() {
        // Imported meanwhile (or twice in this call): nothing is written.
        return Err(StoreError::Conflict(Conflict::AlreadyImported));
    }
    Ok(())
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait]
impl ImportStore for PgStore {
    async fn imported_refs(
        &self,
        owner: UserId,
        references: &[String],
    ) -> StoreResult<Vec<String>> {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT reference FROM import_refs WHERE user_id = $1 AND reference = ANY($2)",
        )
        .bind(owner.as_uuid())
        .bind(references)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let found: HashSet<String> = found.into_iter().collect();
        Ok(references
            .iter()
            .filter(|r| found.contains(*r))
            .cloned()
            .collect())
    }

    async fn insert_imported_posts(
        &self,
        owner: UserId,
        posts: &[(String, Post)],
        quota: PostQuota,
        report: &Import,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // One import at a time per owner: the quota count and the inserts see the same month.
        lock_owner(&mut tx, owner).await?;
        insert_references(
            &mut tx,
            owner,
            posts.iter().map(|(r, p)| (r.as_str(), p.id().as_uuid())),
        )
        .await?;
        let added = posts.len() as u64;
        let mut used = None;
        if let Some(max) = quota.limit.max() {
            let before = lock_month(&mut tx, owner, &quota).await?;
            if before + added > u64::from(max) {
                return Err(StoreError::LimitReached);
            }
            used = Some(before);
        }
        let rows: Vec<&Post> = posts.iter().map(|(_, post)| post).collect();
        insert_post_rows(&mut tx, &rows).await?;
        if let Some(used) = used {
            let events = post_quota_events(owner, &quota, used, added, report.updated_at());
            write_events(&mut tx, &events).await?;
        }
        upsert_import(&mut tx, report).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn insert_imported_items(
        &self,
        owner: UserId,
        items: &[(String, QueueItem)],
        report: &Import,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        insert_references(
            &mut tx,
            owner,
            items.iter().map(|(r, i)| (r.as_str(), i.id().as_uuid())),
        )
        .await?;
        let rows: Vec<&QueueItem> = items.iter().map(|(_, item)| item).collect();
        insert_queue_rows(&mut tx, &rows).await?;
        upsert_import(&mut tx, report).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn put_import(&self, import: &Import) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        upsert_import(&mut conn, import).await
    }

    async fn import(&self, owner: UserId, id: ImportId) -> StoreResult<Option<Import>> {
        fetch_owned::<ImportRow, _>(
            &self.pool,
            "SELECT id, user_id, kind, format, mode, status, rows, processed, created, duplicates, \
                 failed, errors, error, created_at, updated_at \
             FROM imports WHERE id = $1 AND user_id = $2",
            id.as_uuid(),
            owner,
        )
        .await
    }
}
