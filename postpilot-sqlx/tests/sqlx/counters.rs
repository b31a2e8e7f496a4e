//! The counters migration 42's triggers keep, where only PostgreSQL can break them: a transaction
//! that rolls back, a write that bypasses the triggers, a hand-edited counter, an owner deleted
//! with everything it had — and the repair that puts them right.

use std::sync::Arc;

use chrono::Duration;
use postpilot_core::analytics::{MetricCounts, PostMetrics};
use postpilot_core::id::UserId;
use postpilot_core::plan::{Limit, MonthWindow, PostQuota};
use postpilot_core::post::{Post, Published};
use postpilot_core::store::{AccountStore, MetricsStore, PostStore, Store};
use postpilot_core::testing::{assert_totals_agree_with_a_recount, post, seeded, t0};
use postpilot_sqlx::testing::fresh_store;
use postpilot_sqlx::{CounterRepair, PgStore};

fn quota() -> PostQuota {
    PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::AtMost(1_000),
    }
}

/// A merchant with 6 posts (2 of last month, 2 published with metrics), stored.
async fn merchant(store: &PgStore) -> (UserId, Vec<Post>) {
    let dyn_store: Arc<dyn Store> = Arc::new(store.clone());
    let (u, acc) = seeded(&dyn_store).await;
    let mut posts = Vec::new();
    for i in 0..6 {
        let created = if i < 2 {
            t0() - Duration::days(31)
        } else {
            t0()
        };
        let p = post(u.id(), acc.id(), created, Some(t0() + Duration::seconds(i)));
        store.insert_post(&p, quota()).await.unwrap();
        posts.push(p);
    }
    let claimed = store
        .claim_due(t0() + Duration::minutes(1), 2, Duration::minutes(5), "w")
        .await
        .unwrap();
    let published: Vec<Post> = claimed
        .into_iter()
        .map(|c| {
            let mut p = c.post;
            let published = Published {
                remote_id: format!("remote-{}", p.id()),
                url: None,
            };
            p.mark_posted(published, t0()).unwrap();
            p
        })
        .collect();
    store.commit_claims(&published).await.unwrap();
    for (n, p) in published.iter().enumerate() {
        let counts = MetricCounts {
            impressions: 1_000 + n as u64,
            reach: 700,
            likes: 30 + n as u64,
            comments: 4,
            shares: 2,
            clicks: 9,
        };
        store
            .upsert_metrics(&PostMetrics::new(p.id(), u.id(), counts, t0()))
            .await
            .unwrap();
    }
    (u.id(), posts)
}

/// Runs `sql` with `$1` bound to `owner`.
async fn execute(store: &PgStore, sql: &'static str, owner: UserId) {
    sqlx::query(sql)
        .bind(owner.as_uuid())
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_transaction_leaves_every_counter_as_it_was() {
    let store = fresh_store().await;
    let (owner, posts) = merchant(&store).await;
    let counters = "SELECT (SELECT sum(n) FROM post_counts)::bigint, \
                           (SELECT sum(n) FROM monthly_posts)::bigint, \
                           (SELECT likes FROM metric_totals)::bigint";
    let before: (i64, i64, i64) = sqlx::query_as(counters)
        .fetch_one(store.pool())
        .await
        .unwrap();

    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO posts (id, user_id, account_id, platform, content, status, created_at, \
                            updated_at) \
         SELECT gen_random_uuid(), user_id, account_id, platform, content, 'draft', created_at, \
                updated_at FROM posts",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("DELETE FROM posts WHERE id = $1")
        .bind(posts[5].id().as_uuid())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE post_metrics SET likes = likes + 100")
        .execute(&mut *tx)
        .await
        .unwrap();
    let inside: (i64, i64, i64) = sqlx::query_as(counters).fetch_one(&mut *tx).await.unwrap();
    assert_eq!(
        inside,
        (before.0 + 6 - 1, before.1 + 6 - 1, before.2 + 200),
        "the transaction sees its own counts"
    );
    tx.rollback().await.unwrap();

    let after: (i64, i64, i64) = sqlx::query_as(counters)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(after, before);
    assert_totals_agree_with_a_recount(&store, owner).await;
    assert_eq!(
        store.repair_counters().await.unwrap(),
        CounterRepair::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repair_rewrites_exactly_the_counters_a_manual_edit_broke_then_nothing() {
    let store = fresh_store().await;
    let (owner, _) = merchant(&store).await;
    let (untouched, _) = merchant(&store).await;
    assert_eq!(
        store.repair_counters().await.unwrap(),
        CounterRepair::default()
    );

    // What an operator's hands can do: counters edited, deleted and invented, and a post
    // written with the triggers off (as a replica or a data-only restore writes).
    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO posts (id, user_id, account_id, platform, content, status, created_at, \
                            updated_at) \
         SELECT gen_random_uuid(), user_id, account_id, platform, content, 'failed', created_at, \
                updated_at FROM posts WHERE user_id = $1 AND status = 'posted' LIMIT 1",
    )
    .bind(owner.as_uuid())
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for sql in [
        "UPDATE post_counts SET n = n + 5 WHERE user_id = $1 AND status = 'posted'",
        "DELETE FROM monthly_posts WHERE user_id = $1",
        "INSERT INTO post_counts (user_id, status, platform, n) VALUES ($1, 'paused', 'tiktok', 3)",
        "UPDATE metric_totals SET rate_nanos = rate_nanos + 1 WHERE user_id = $1",
    ] {
        execute(&store, sql, owner).await;
    }

    let repair = store.repair_counters().await.unwrap();
    assert_eq!(
        repair,
        CounterRepair {
            // posted (+5), paused on TikTok (invented), failed (the post written untracked)
            post_counts: 3,
            // this month's and last month's, both deleted
            monthly_posts: 2,
            metric_totals: 1,
        }
    );
    assert_totals_agree_with_a_recount(&store, owner).await;
    assert_totals_agree_with_a_recount(&store, untouched).await;
    assert_eq!(
        store.repair_counters().await.unwrap(),
        CounterRepair::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_deleted_with_its_posts_and_metrics_takes_its_counters_along() {
    let store = fresh_store().await;
    let (gone, _) = merchant(&store).await;
    let (kept, _) = merchant(&store).await;

    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(gone.as_uuid())
        .execute(store.pool())
        .await
        .unwrap();

    let left: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM post_counts WHERE user_id = $1), \
                (SELECT count(*) FROM monthly_posts WHERE user_id = $1), \
                (SELECT count(*) FROM metric_totals WHERE user_id = $1)",
    )
    .bind(gone.as_uuid())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(left, (0, 0, 0));
    assert_totals_agree_with_a_recount(&store, kept).await;
    assert_eq!(
        store.repair_counters().await.unwrap(),
        CounterRepair::default()
    );
}

/// An import of 2,500 posts (three statements), its rows on two statuses and two platforms,
/// racing edits that move the owner's drafts to scheduled and claims of its due posts: each
/// statement's counter locks are taken in one order, so nothing deadlocks (PostgreSQL would
/// fail one side with 40P01), and the counters still equal a recount.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_import_racing_edits_and_claims_neither_deadlocks_nor_miscounts() {
    use postpilot_core::platform::Platform;
    use postpilot_core::post::PostStatus;
    use postpilot_core::store::ImportStore;
    use postpilot_core::testing::{account_on, post_on, posts_import_report};

    fn id<T: From<uuid::Uuid>>() -> T {
        T::from(uuid::Uuid::new_v4())
    }

    let store = fresh_store().await;
    let (owner, mut drafts) = merchant(&store).await;
    let instagram = account_on(Platform::Instagram, owner, "ig-import", id());
    store
        .connect_account(&instagram, Limit::Unlimited)
        .await
        .unwrap();
    let facebook = drafts[0].account_id();
    for _ in 0..20 {
        let p = post_on(Platform::Facebook, id(), owner, facebook, t0(), None);
        store.insert_post(&p, quota()).await.unwrap();
        drafts.push(p);
    }
    let rows: Vec<(String, Post)> = (0..2_500)
        .map(|n| {
            let (platform, account) = if n % 2 == 0 {
                (Platform::Facebook, facebook)
            } else {
                (Platform::Instagram, instagram.id())
            };
            let due = (n % 3 != 0).then(|| t0() + Duration::seconds(n));
            let post = post_on(platform, id(), owner, account, t0(), due);
            (format!("row-{n}"), post)
        })
        .collect();
    let report = posts_import_report(owner, 2_500);
    let big = PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::AtMost(10_000),
    };

    let import = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .insert_imported_posts(owner, &rows, big, &report)
                .await
        })
    };
    let edits = {
        let store = store.clone();
        tokio::spawn(async move {
            for mut p in drafts
                .into_iter()
                .filter(|p| p.status() == PostStatus::Draft)
            {
                let at = t0() + Duration::minutes(5);
                p.schedule(at, at - Duration::seconds(1)).unwrap();
                store.update_post(&p, &[PostStatus::Draft]).await?;
            }
            Ok::<_, postpilot_core::store::StoreError>(())
        })
    };
    let claims = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..20 {
                let at = t0() + Duration::hours(2);
                store
                    .claim_due(at, 50, Duration::minutes(5), &format!("w{n}"))
                    .await?;
            }
            Ok::<_, postpilot_core::store::StoreError>(())
        })
    };
    import.await.unwrap().unwrap();
    edits.await.unwrap().unwrap();
    claims.await.unwrap().unwrap();

    assert_totals_agree_with_a_recount(&store, owner).await;
    assert_eq!(
        store.repair_counters().await.unwrap(),
        CounterRepair::default()
    );
}

/// The repair running while merchants create posts under a cap: writers wait for it or it for
/// them, and neither fails; what it leaves is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_repair_runs_beside_capped_inserts_without_failing_either() {
    let store = fresh_store().await;
    let (owner, posts) = merchant(&store).await;
    let account = posts[0].account_id();
    let writers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    let p = post(owner, account, t0(), None);
                    store.insert_post(&p, quota()).await?;
                }
                Ok::<_, postpilot_core::store::StoreError>(())
            })
        })
        .collect();
    for _ in 0..10 {
        store.repair_counters().await.unwrap();
    }
    for w in writers {
        w.await.unwrap().unwrap();
    }
    assert_totals_agree_with_a_recount(&store, owner).await;
    assert_eq!(
        store.repair_counters().await.unwrap(),
        CounterRepair::default()
    );
}
