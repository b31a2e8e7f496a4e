//! Posts and the claim queue.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use postpilot_core::event::{Event, post_event, post_quota_events};
use postpilot_core::id::{AccountId, PostId, QueueItemId, UserId};
use postpilot_core::page::{Order, Page, PageRequest};
use postpilot_core::plan::{Limit, MonthWindow, PostQuota};
use postpilot_core::post::{
    Caption, Checkpoint, Hashtags, Lease, MediaUrl, Post, PostRecord, PostStatus, ProductSnapshot,
};
use postpilot_core::store::{
    ClaimedPost, PostListFilter, PostSlot, PostStore, StoreError, StoreResult,
};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Postgres};
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, count, store_error};
use crate::events::write_events;
use crate::fetch::{Positioned, bind_page, fetch_all, fetch_owned, into_page};
use crate::guard::Guarded;
use crate::status::{PlatformSql, PostStatusSql, mirrors};

#[derive(sqlx::FromRow)]
pub(crate) struct PostRow {
    id: Uuid,
    user_id: Uuid,
    account_id: Uuid,
    queue_item_id: Option<Uuid>,
    platform: PlatformSql,
    content: String,
    media_urls: Vec<String>,
    hashtags: Vec<String>,
    status: PostStatusSql,
    scheduled_for: Option<DateTime<Utc>>,
    next_attempt_at: Option<DateTime<Utc>>,
    attempts: i32,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    lease_token: i64,
    posted_at: Option<DateTime<Utc>>,
    external_id: Option<String>,
    external_url: Option<String>,
    error_message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    publish_checkpoint: Option<Json<serde_json::Value>>,
    held_for_reconnect: bool,
    on_slot: bool,
    product: Option<Json<ProductSnapshot>>,
}

impl TryFrom<PostRow> for Post {
    type Error = StoreError;
    fn try_from(r: PostRow) -> Result<Self, StoreError> {
        let bad = |e: postpilot_core::ValidationError| corrupt("posts", e);
        let lease = match (r.lease_owner, r.lease_expires_at) {
            (Some(owner), Some(expires_at)) => Some(Lease {
                owner,
                expires_at,
                token: r.lease_token,
            }),
            _ => None,
        };
        Ok(PostRecord {
            id: PostId::from(r.id),
            user_id: UserId::from(r.user_id),
            account_id: AccountId::from(r.account_id),
            queue_item_id: r.queue_item_id.map(QueueItemId::from),
            platform: r.platform.into(),
            content: Caption::parse(r.content).map_err(bad)?,
            media_urls: r
                .media_urls
                .into_iter()
                .map(MediaUrl::parse)
                .collect::<Result<_, _>>()
                .map_err(bad)?,
            hashtags: Hashtags::from_stored(r.hashtags),
            status: r.status.into(),
            scheduled_for: r.scheduled_for,
            next_attempt_at: r.next_attempt_at,
            attempts: u32::try_from(r.attempts).map_err(|e| corrupt("posts", e))?,
            lease,
            lease_token: r.lease_token,
            checkpoint: r
                .publish_checkpoint
                .map(|Json(state)| Checkpoint::new(state)),
            posted_at: r.posted_at,
            external_id: r.external_id,
            external_url: r.external_url,
            error_message: r.error_message,
            held_for_reconnect: r.held_for_reconnect,
            on_slot: r.on_slot,
            product: r.product.map(|Json(product)| product),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
        .into())
    }
}

/// The columns of [`PostRow`], optionally qualified by a table alias.
/// A claim by account of `a` accounts × `k` posts each chooses among the a × k × this oldest
/// due posts of the accounts not busy: when every account has k due posts that is exactly the a
/// accounts wanted; when fewer, more accounts are seen; when one crowds the window, it alone is
/// claimed and the worker claims again without it.
const CANDIDATES_PER_CLAIM: i64 = 1;

macro_rules! post_columns {
    () => {
        post_columns!("")
    };
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "user_id, ",
            $p,
            "account_id, ",
            $p,
            "queue_item_id, ",
            $p,
            "platform, ",
            $p,
            "content, ",
            $p,
            "media_urls, ",
            $p,
            "hashtags, ",
            $p,
            "status, ",
            $p,
            "scheduled_for, ",
            $p,
            "next_attempt_at, ",
            $p,
            "attempts, ",
            $p,
            "lease_owner, ",
            $p,
            "lease_expires_at, ",
            $p,
            "lease_token, ",
            $p,
            "posted_at, ",
            $p,
            "external_id, ",
            $p,
            "external_url, ",
            $p,
            "error_message, ",
            $p,
            "created_at, ",
            $p,
            "updated_at, ",
            $p,
            "publish_checkpoint, ",
            $p,
            "held_for_reconnect, ",
            $p,
            "on_slot, ",
            $p,
            "product"
        )
    };
}

/// How many of owner `$1`'s posts the list selects (optional status `$2` and platform `$3`),
/// from the counters (`post_counts`: at most 18 rows an owner, so one statement serves every
/// filter).
macro_rules! post_total {
    () => {
        "(SELECT coalesce(sum(n), 0)::bigint FROM post_counts WHERE user_id = $1 \
         AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR platform = $3))"
    };
}

/// Values bound as a `text[]`.
pub(crate) fn strings<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    items.into_iter().map(|i| i.to_string()).collect()
}

/// Binds, after what `query` has bound, the post's fields a user's change can touch, and where its
/// publication stands: `content`, `media_urls`, `hashtags`, `status`, `scheduled_for`,
/// `next_attempt_at` and `attempts`, in that order.
fn bind_schedule<'q>(
    query: Query<'q, Postgres, PgArguments>,
    post: &'q Post,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(post.content().as_ref())
        .bind(strings(post.media_urls()))
        .bind(post.hashtags().to_strings())
        .bind(PostStatusSql::from(post.status()))
        .bind(post.scheduled_for())
        .bind(post.next_attempt_at())
        .bind(i32::try_from(post.attempts()).unwrap_or(i32::MAX))
}

/// Inserts a post (no quota check: callers hold the owner's lock and counted).
pub(crate) async fn insert_post_row(conn: &mut PgConnection, post: &Post) -> StoreResult<()> {
    insert_post_rows(conn, &[post]).await
}

/// Posts one `INSERT` writes: 24 parameters each, under PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 1_000;

/// Inserts posts, a thousand to a statement (an import's 10,000 rows are ten round trips, not
/// ten thousand), with the events they report; no quota check: callers hold the owner's lock
/// and counted.
pub(crate) async fn insert_post_rows(conn: &mut PgConnection, posts: &[&Post]) -> StoreResult<()> {
    if posts.len() > ROWS_PER_INSERT {
        lock_counters(conn, posts).await?;
    }
    for chunk in posts.chunks(ROWS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<Postgres>::new(
            "INSERT INTO posts (id, user_id, account_id, queue_item_id, platform, content, \
             media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, \
             lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, \
             created_at, updated_at, publish_checkpoint, on_slot, product) ",
        );
        insert.push_values(chunk, |mut row, post| {
            let lease = post.lease();
            row.push_bind(post.id().as_uuid())
                .push_bind(post.user_id().as_uuid())
                .push_bind(post.account_id().as_uuid())
                .push_bind(post.queue_item_id().map(|q| q.as_uuid()))
                .push_bind(PlatformSql::from(post.platform()))
                .push_bind(post.content().as_ref().to_owned())
                .push_bind(strings(post.media_urls()))
                .push_bind(post.hashtags().to_strings())
                .push_bind(PostStatusSql::from(post.status()))
                .push_bind(post.scheduled_for())
                .push_bind(post.next_attempt_at())
                .push_bind(i32::try_from(post.attempts()).unwrap_or(i32::MAX))
                .push_bind(lease.map(|l| l.owner.clone()))
                .push_bind(lease.map(|l| l.expires_at))
                .push_bind(post.lease_token())
                .push_bind(post.posted_at())
                .push_bind(post.external_id().map(str::to_owned))
                .push_bind(post.external_url().map(str::to_owned))
                .push_bind(post.error_message().map(str::to_owned))
                .push_bind(post.created_at())
                .push_bind(post.updated_at())
                .push_bind(post.checkpoint().map(|c| Json(c.state().clone())))
                .push_bind(post.on_slot())
                .push_bind(post.product().map(Json));
        });
        insert
            .build()
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    let events: Vec<Event> = posts.iter().filter_map(|p| post_event(None, p)).collect();
    write_events(conn, &events).await
}

/// Locks, in key order, every counter row the insert of `posts` will change (creating those
/// missing at 0). Each statement's trigger locks its counter rows in key order, but the chunks
/// of one large insert are several statements: without this, chunk 1 could hold (owner,
/// scheduled) while an edit holding (owner, draft) waits for it, then chunk 2 wait for (owner,
/// draft). With every row locked first, the chunks' triggers take no lock the transaction does
/// not already hold.
async fn lock_counters(conn: &mut PgConnection, posts: &[&Post]) -> StoreResult<()> {
    lock_posts_for_writing(conn).await?;
    let month = |p: &Post| MonthWindow::containing(p.created_at()).start;
    let mut months: Vec<(Uuid, DateTime<Utc>)> = posts
        .iter()
        .map(|p| (p.user_id().as_uuid(), month(p)))
        .collect();
    months.sort_unstable();
    months.dedup();
    let mut keys: Vec<(Uuid, String, String)> = posts
        .iter()
        .map(|p| {
            let status = p.status().as_str().to_owned();
            (
                p.user_id().as_uuid(),
                status,
                p.platform().as_str().to_owned(),
            )
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    lock_months(conn, &months).await?;
    sqlx::query(
        "INSERT INTO post_counts AS c (user_id, status, platform, n) \
         SELECT u, s, p, 0 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS k(u, s, p) \
         ORDER BY u, s, p \
         ON CONFLICT (user_id, status, platform) DO UPDATE SET n = c.n",
    )
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1.clone()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.2.clone()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Takes the table lock a write to `posts` takes (`ROW EXCLUSIVE`) before a counter row is
/// locked by hand, so that every writer takes `posts` before counters, as the triggers do: the
/// counter repair, which holds `posts` in `SHARE` mode while it rewrites counters, then waits for
/// writers or they for it, never both.
async fn lock_posts_for_writing(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("LOCK TABLE posts IN ROW EXCLUSIVE MODE")
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Why a guarded write of `post` did not land: it was stale, or it is gone.
async fn stale_or_missing(pool: &PgPool, post: &Post) -> StoreError {
    let (id, owner) = (post.id().as_uuid(), post.user_id());
    Guarded::Posts.stale_or_missing(pool, id, owner).await
}

/// The post's checkpoint as the `publish_checkpoint` column binds it.
fn checkpoint_json(post: &Post) -> Option<Json<&serde_json::Value>> {
    post.checkpoint().map(|c| Json(c.state()))
}

/// Locks the `monthly_posts` rows of `months` (owner, month start) for the rest of `conn`'s
/// transaction, in key order, creating those missing at 0, and returns their counts in that order.
async fn lock_months(
    conn: &mut PgConnection,
    months: &[(Uuid, DateTime<Utc>)],
) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar(
        "INSERT INTO monthly_posts AS m (user_id, month, n) \
         SELECT u, m, 0 FROM unnest($1::uuid[], $2::timestamptz[]) AS k(u, m) ORDER BY u, m \
         ON CONFLICT (user_id, month) DO UPDATE SET n = m.n RETURNING n",
    )
    .bind(months.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(months.iter().map(|k| k.1).collect::<Vec<_>>())
    .fetch_all(conn)
    .await
    .map_err(store_error)
}

/// Posts the owner created in the quota's month that still exist, read from `monthly_posts` (kept
/// by the posts triggers, migration 42) with that row locked for the rest of `conn`'s transaction
/// (after `posts`, [`lock_posts_for_writing`]): every insert counted against the month waits
/// here, so the figure is still true at commit. One row, however many posts the owner has.
pub(crate) async fn lock_month(
    conn: &mut PgConnection,
    owner: UserId,
    quota: &PostQuota,
) -> StoreResult<u64> {
    lock_posts_for_writing(conn).await?;
    let used = lock_months(conn, &[(owner.as_uuid(), quota.window.start)]).await?;
    count("monthly_posts", used.first().copied().unwrap_or(0))
}

impl PgStore {
    /// Claims up to `limit` due posts, oldest first, in one statement: the oldest due rows no
    /// other worker is claiming (SKIP LOCKED) move to publishing under a new lease and token.
    /// With `spread`, by account (see [`PostStore::claim_due_per_account`]): `limit` accounts,
    /// `spread.0` posts of each at most, none of `spread.1`'s accounts.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
        worker: &str,
        spread: Option<(u32, &[AccountId])>,
    ) -> StoreResult<Vec<ClaimedPost>> {
        #[derive(sqlx::FromRow)]
        struct Claimed {
            #[sqlx(flatten)]
            post: PostRow,
            rescued: bool,
            was_due_at: DateTime<Utc>,
        }
        // Both statements end alike: the chosen rows move to publishing under a new lease.
        macro_rules! claim {
            ($due:literal) => {
                concat!(
                    $due,
                    "UPDATE posts AS p SET status = $5, lease_owner = $3, lease_expires_at = $4, \
                         lease_token = p.lease_token + 1, updated_at = $1 \
                     FROM due WHERE p.id = due.id \
                     RETURNING ",
                    post_columns!("p."),
                    ", due.previous = $5 AS rescued, due.due_at AS was_due_at"
                )
            };
        }
        let sql = match spread {
            None => claim!(
                "WITH due AS ( \
                     SELECT id, status AS previous, due_at FROM posts \
                     WHERE due_at <= $1 \
                     ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED \
                 ) "
            ),
            // Among the oldest due posts of accounts not in `busy` ($7 of them: a bounded scan
            // of the due index however many are due; an account filling that window alone is
            // claimed, then busy, so the next claim sees past it): the $2 accounts whose oldest
            // post is oldest, and up to $8 posts of each. The lock re-reads the row
            // (`p.due_at <= $1`), so one another worker claimed meanwhile is left alone.
            Some(_) => claim!(
                "WITH candidates AS ( \
                     SELECT id, account_id, due_at, \
                            row_number() OVER (PARTITION BY account_id ORDER BY due_at, id) AS n \
                     FROM (SELECT id, account_id, due_at FROM posts \
                           WHERE due_at <= $1 AND account_id <> ALL($6) \
                           ORDER BY due_at, id LIMIT $7) AS oldest \
                 ), accounts AS ( \
                     SELECT account_id FROM candidates WHERE n = 1 \
                     ORDER BY due_at, id LIMIT $2 \
                 ), due AS ( \
                     SELECT p.id, p.status AS previous, p.due_at FROM posts p \
                     JOIN candidates c ON c.id = p.id AND c.n <= $8 \
                     JOIN accounts a ON a.account_id = c.account_id \
                     WHERE p.due_at <= $1 \
                     ORDER BY p.due_at, p.id FOR UPDATE OF p SKIP LOCKED \
                 ) "
            ),
        };
        let mut query = sqlx::query_as(sql)
            .bind(now)
            .bind(i64::from(limit))
            .bind(worker)
            .bind(now + lease_for)
            .bind(PostStatusSql::Publishing);
        if let Some((per_account, busy)) = spread {
            let window = i64::from(limit)
                .saturating_mul(i64::from(per_account))
                .saturating_mul(CANDIDATES_PER_CLAIM);
            query = query
                .bind(busy.iter().map(|a| a.as_uuid()).collect::<Vec<Uuid>>())
                .bind(window)
                .bind(i64::from(per_account));
        }
        let mut claimed: Vec<Claimed> = query.fetch_all(&self.pool).await.map_err(store_error)?;
        claimed.sort_by_key(|c| (c.was_due_at, c.post.id));
        claimed
            .into_iter()
            .map(|c| {
                Ok(ClaimedPost {
                    post: c.post.try_into()?,
                    rescued: c.rescued,
                })
            })
            .collect()
    }
}

/// A post's place in its account's publishing cap: the expression `posts_account_slot_idx`
/// indexes (migration 19), written the same way so the planner uses the index.
macro_rules! slot_at {
    () => {
        "(CASE status \
            WHEN 'posted' THEN posted_at \
            WHEN 'scheduled' THEN coalesce(next_attempt_at, scheduled_for) \
            WHEN 'publishing' THEN coalesce(next_attempt_at, scheduled_for) \
         END)"
    };
}

#[async_trait]
impl PostStore for PgStore {
    async fn insert_post(&self, post: &Post, quota: PostQuota) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // Without a cap nothing is checked and nothing is locked but what the insert counts.
        let used = match quota.limit {
            Limit::Unlimited => 0,
            Limit::AtMost(_) => lock_month(&mut tx, post.user_id(), &quota).await?,
        };
        if !quota.limit.allows_one_more(used) {
            return Err(StoreError::LimitReached);
        }
        insert_post_row(&mut tx, post).await?;
        let events = post_quota_events(post.user_id(), &quota, used, 1, post.created_at());
        write_events(&mut tx, &events).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn post(&self, owner: UserId, id: PostId) -> StoreResult<Option<Post>> {
        let sql = concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE id = $1 AND user_id = $2"
        );
        fetch_owned::<PostRow, _>(&self.pool, sql, id.as_uuid(), owner).await
    }

    async fn list_posts(
        &self,
        owner: UserId,
        filter: PostListFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Post>> {
        #[derive(sqlx::FromRow)]
        struct Counted {
            #[sqlx(flatten)]
            post: PostRow,
            total: i64,
        }
        let status = filter.status.map(PostStatusSql::from);
        let platform = filter.platform.map(PlatformSql::from);
        // The page and the total in one round trip. The page is a range of one of the owner's
        // indexes from where it starts (`bind_page`): each filter combination has its own
        // statement, so that a prepared statement's generic plan can still use the index that
        // matches it (with `status = $2 OR $2 IS NULL` it could only filter the owner's whole
        // history, the way a rare status would cost O(history)). The total is the sum of the
        // counters the filter selects (at most one per status and platform, kept by migration
        // 42's triggers): a page costs the same for 100 posts or 1,000,000.
        // Ordering by the filter's constant columns first changes nothing in the order and
        // leaves the planner one index that gives it without a sort.
        macro_rules! post_page {
            ($filter:literal, $order:literal) => {
                concat!(
                    "SELECT ",
                    post_columns!(),
                    ", ",
                    post_total!(),
                    " AS total, created_at AS page_at, id AS page_id FROM posts \
                     WHERE user_id = $1 AND ",
                    $filter,
                    " AND (created_at, id) < ($4, $5) ORDER BY ",
                    $order,
                    "created_at DESC, id DESC LIMIT $6 OFFSET $7"
                )
            };
        }
        let sql = match (status.is_some(), platform.is_some()) {
            (false, false) => post_page!("$2::text IS NULL AND $3::text IS NULL", ""),
            (true, false) => post_page!("status = $2 AND $3::text IS NULL", "status, "),
            (false, true) => post_page!("$2::text IS NULL AND platform = $3", "platform, "),
            (true, true) => post_page!("status = $2 AND platform = $3", "status, platform, "),
        };
        let query = sqlx::query_as::<_, Positioned<Counted>>(sql)
            .bind(owner.as_uuid())
            .bind(status)
            .bind(platform);
        let counted = bind_page(query, page, Order::NewestFirst)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        let total = match counted.first() {
            Some(first) => first.row().total,
            // A page past the end has no row to carry the total.
            None => sqlx::query_scalar(concat!("SELECT ", post_total!()))
                .bind(owner.as_uuid())
                .bind(status)
                .bind(platform)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?,
        };
        let rows = counted.into_iter().map(|c| c.map(|c| c.post)).collect();
        into_page(page, rows, count("post_counts", total)?)
    }

    async fn posts_between(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Post>> {
        fetch_all(
            &self.pool,
            sqlx::query_as::<_, PostRow>(concat!(
                "SELECT ",
                post_columns!(),
                " FROM posts WHERE user_id = $1 AND scheduled_for >= $2 AND scheduled_for < $3 \
              ORDER BY scheduled_for, id"
            ))
            .bind(owner.as_uuid())
            .bind(from)
            .bind(to),
        )
        .await
    }

    async fn account_slots(
        &self,
        owner: UserId,
        account: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PostSlot>> {
        let rows: Vec<(Uuid, DateTime<Utc>, bool)> = sqlx::query_as(concat!(
            "SELECT id, ",
            slot_at!(),
            ", posted_at IS NOT NULL OR publish_checkpoint IS NOT NULL FROM posts \
             WHERE account_id = $1 AND user_id = $2 AND ",
            slot_at!(),
            " > $3 AND ",
            slot_at!(),
            " <= $4 ORDER BY ",
            slot_at!(),
            ", id LIMIT $5"
        ))
        .bind(account.as_uuid())
        .bind(owner.as_uuid())
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(post, at, started)| PostSlot {
                post: PostId::from(post),
                at,
                started,
            })
            .collect())
    }

    async fn posts_of_account(
        &self,
        owner: UserId,
        account: AccountId,
        status: PostStatus,
    ) -> StoreResult<Vec<Post>> {
        fetch_all(
            &self.pool,
            sqlx::query_as::<_, PostRow>(concat!(
                "SELECT ",
                post_columns!(),
                " FROM posts WHERE account_id = $1 AND user_id = $2 AND status = $3 \
              ORDER BY created_at, id"
            ))
            .bind(account.as_uuid())
            .bind(owner.as_uuid())
            .bind(PostStatusSql::from(status)),
        )
        .await
    }

    async fn scheduled_posts_of_product(
        &self,
        owner: UserId,
        product: &str,
    ) -> StoreResult<Vec<Post>> {
        fetch_all(
            &self.pool,
            sqlx::query_as::<_, PostRow>(concat!(
                "SELECT ",
                post_columns!(),
                " FROM posts WHERE user_id = $1 AND status = 'scheduled' \
                 AND product ->> 'id' = $2 ORDER BY created_at, id"
            ))
            .bind(owner.as_uuid())
            .bind(product),
        )
        .await
    }

    async fn post_statuses_of_item(
        &self,
        owner: UserId,
        item: QueueItemId,
    ) -> StoreResult<Vec<PostStatus>> {
        let statuses: Vec<PostStatusSql> = sqlx::query_scalar(
            "SELECT status FROM posts WHERE queue_item_id = $1 AND user_id = $2",
        )
        .bind(item.as_uuid())
        .bind(owner.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(statuses.into_iter().map(PostStatus::from).collect())
    }

    async fn pause_post(&self, post: &Post) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let paused: Option<PostRow> = sqlx::query_as(concat!(
            "UPDATE posts SET status = $4, error_message = $5, on_slot = $6, \
             next_attempt_at = $7, held_for_reconnect = $8, updated_at = $9, product = $10 \
             WHERE id = $1 AND user_id = $2 AND status = 'scheduled' AND lease_token = $3 \
             RETURNING ",
            post_columns!()
        ))
        .bind(post.id().as_uuid())
        .bind(post.user_id().as_uuid())
        .bind(post.lease_token())
        .bind(PostStatusSql::from(post.status()))
        .bind(post.error_message())
        .bind(post.on_slot())
        .bind(post.next_attempt_at())
        .bind(post.held_for_reconnect())
        .bind(post.updated_at())
        .bind(post.product().map(Json))
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(paused) = paused else {
            drop(tx);
            return Err(stale_or_missing(&self.pool, post).await);
        };
        // The event tells what is stored: the pause over any edit that landed since.
        let paused = Post::try_from(paused)?;
        let events: Vec<Event> = post_event(Some(PostStatus::Scheduled), &paused)
            .into_iter()
            .collect();
        write_events(&mut tx, &events).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn update_post(&self, post: &Post, expected: &[PostStatus]) -> StoreResult<()> {
        // The fields a user's change can touch; scheduler fields (lease, result) are the
        // worker's and stay as stored — the lease-token check guarantees they are unchanged.
        // `was` is the status the write replaced (the row locked first, so it is the latest),
        // for the event it reports.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let query = sqlx::query(
            "WITH was AS (SELECT id, status FROM posts WHERE id = $1 AND user_id = $2 \
                          FOR NO KEY UPDATE) \
             UPDATE posts SET content = $5, media_urls = $6, hashtags = $7, status = $8, \
             scheduled_for = $9, next_attempt_at = $10, attempts = $11, error_message = $12, \
             updated_at = $13, publish_checkpoint = $14, held_for_reconnect = $15, \
             on_slot = $16 \
             FROM was WHERE posts.id = was.id AND posts.status = ANY($3) \
             AND posts.lease_token = $4 RETURNING was.status",
        )
        .bind(post.id().as_uuid())
        .bind(post.user_id().as_uuid())
        .bind(mirrors::<_, PostStatusSql>(expected))
        .bind(post.lease_token());
        let was: Option<PostStatusSql> = bind_schedule(query, post)
            .bind(post.error_message())
            .bind(post.updated_at())
            .bind(checkpoint_json(post))
            .bind(post.held_for_reconnect())
            .bind(post.on_slot())
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?
            .map(|row| sqlx::Row::try_get(&row, 0))
            .transpose()
            .map_err(store_error)?;
        let Some(was) = was else {
            drop(tx);
            return Err(stale_or_missing(&self.pool, post).await);
        };
        let events: Vec<Event> = post_event(Some(was.into()), post).into_iter().collect();
        write_events(&mut tx, &events).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn delete_post(
        &self,
        owner: UserId,
        id: PostId,
        expected: &[PostStatus],
    ) -> StoreResult<()> {
        let expected = mirrors::<_, PostStatusSql>(expected);
        Guarded::Posts
            .delete_expecting(&self.pool, id.as_uuid(), owner, expected)
            .await
    }

    async fn count_posts_created(&self, owner: UserId, window: MonthWindow) -> StoreResult<u64> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT n FROM monthly_posts WHERE user_id = $1 AND month = $2")
                .bind(owner.as_uuid())
                .bind(window.start)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        count("monthly_posts", n.unwrap_or(0))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
        worker: &str,
    ) -> StoreResult<Vec<ClaimedPost>> {
        self.claim(now, limit, lease_for, worker, None).await
    }

    async fn claim_due_per_account(
        &self,
        now: DateTime<Utc>,
        accounts: u32,
        per_account: u32,
        lease_for: Duration,
        worker: &str,
        busy: &[AccountId],
    ) -> StoreResult<Vec<ClaimedPost>> {
        self.claim(now, accounts, lease_for, worker, Some((per_account, busy)))
            .await
    }

    async fn commit_claims(&self, posts: &[Post]) -> StoreResult<Vec<bool>> {
        // A post given twice is written once, by its first occurrence (as the memory store does)
        // — one UPDATE … FROM would instead apply an arbitrary one of them.
        let mut seen = std::collections::HashSet::with_capacity(posts.len());
        let first: Vec<bool> = posts.iter().map(|p| seen.insert(p.id())).collect();
        let all = posts;
        let posts: Vec<&Post> = all
            .iter()
            .zip(&first)
            .filter_map(|(p, first)| first.then_some(p))
            .collect();
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        let column =
            |f: &dyn Fn(&Post) -> Option<String>| posts.iter().map(|p| f(p)).collect::<Vec<_>>();
        let times = |f: &dyn Fn(&Post) -> Option<DateTime<Utc>>| {
            posts.iter().map(|p| f(p)).collect::<Vec<_>>()
        };
        // Every outcome in one statement, each fenced by its own token; the events of those
        // written in the same transaction.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let written: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE posts AS p SET status = c.status, next_attempt_at = c.next_attempt_at, \
                 attempts = c.attempts, lease_owner = c.lease_owner, \
                 lease_expires_at = c.lease_expires_at, posted_at = c.posted_at, \
                 external_id = c.external_id, external_url = c.external_url, \
                 error_message = c.error_message, updated_at = c.updated_at, \
                 publish_checkpoint = c.publish_checkpoint, \
                 held_for_reconnect = c.held_for_reconnect \
             FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[], $5::int[], \
                         $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], \
                         $11::text[], $12::timestamptz[], $14::jsonb[], $15::bool[]) \
                  AS c(id, token, status, next_attempt_at, attempts, lease_owner, lease_expires_at, \
                       posted_at, external_id, external_url, error_message, updated_at, \
                       publish_checkpoint, held_for_reconnect) \
             WHERE p.id = c.id AND p.status = $13 AND p.lease_token = c.token \
             RETURNING p.id",
        )
        .bind(posts.iter().map(|p| p.id().as_uuid()).collect::<Vec<_>>())
        .bind(posts.iter().map(|p| p.lease_token()).collect::<Vec<_>>())
        .bind(
            posts
                .iter()
                .map(|p| PostStatusSql::from(p.status()))
                .collect::<Vec<_>>(),
        )
        .bind(times(&|p| p.next_attempt_at()))
        .bind(
            posts
                .iter()
                .map(|p| i32::try_from(p.attempts()).unwrap_or(i32::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(column(&|p| p.lease().map(|l| l.owner.clone())))
        .bind(times(&|p| p.lease().map(|l| l.expires_at)))
        .bind(times(&|p| p.posted_at()))
        .bind(column(&|p| p.external_id().map(str::to_owned)))
        .bind(column(&|p| p.external_url().map(str::to_owned)))
        .bind(column(&|p| p.error_message().map(str::to_owned)))
        .bind(times(&|p| Some(p.updated_at())))
        .bind(PostStatusSql::Publishing)
        .bind(posts.iter().map(|p| checkpoint_json(p)).collect::<Vec<_>>())
        .bind(
            posts
                .iter()
                .map(|p| p.held_for_reconnect())
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        let written: std::collections::HashSet<Uuid> = written.into_iter().collect();
        let events: Vec<Event> = posts
            .iter()
            .filter(|p| written.contains(&p.id().as_uuid()))
            .filter_map(|p| post_event(Some(PostStatus::Publishing), p))
            .collect();
        write_events(&mut tx, &events).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(all
            .iter()
            .zip(first)
            .map(|(p, first)| first && written.contains(&p.id().as_uuid()))
            .collect())
    }

    async fn extend_lease(
        &self,
        id: PostId,
        lease_token: i64,
        until: DateTime<Utc>,
        checkpoint: Option<Checkpoint>,
    ) -> StoreResult<()> {
        let updated = sqlx::query(
            "UPDATE posts SET lease_expires_at = $3, \
                 publish_checkpoint = coalesce($5, publish_checkpoint) \
             WHERE id = $1 AND status = $4 AND lease_token = $2",
        )
        .bind(id.as_uuid())
        .bind(lease_token)
        .bind(until)
        .bind(PostStatusSql::Publishing)
        .bind(checkpoint.map(|c| Json(c.state().clone())))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM posts WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            return Err(if exists.is_some() {
                StoreError::Stale
            } else {
                StoreError::NotFound
            });
        }
        Ok(())
    }

    async fn wait_for_due_change(&self, max: std::time::Duration) -> bool {
        self.wait_due(max).await
    }

    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        sqlx::query_scalar("SELECT min(due_at) FROM posts")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)
    }

    async fn posts_needing_metrics(
        &self,
        stale_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        fetch_all(
            &self.pool,
            sqlx::query_as::<_, PostRow>(concat!(
                "SELECT ",
                post_columns!("p."),
                " FROM posts AS p LEFT JOIN post_metrics AS m ON m.post_id = p.id \
              WHERE p.posted_at IS NOT NULL AND (m.fetched_at IS NULL OR m.fetched_at < $1) \
              ORDER BY m.fetched_at ASC NULLS FIRST, p.posted_at, p.id LIMIT $2"
            ))
            .bind(stale_before)
            .bind(i64::from(limit)),
        )
        .await
    }
}
