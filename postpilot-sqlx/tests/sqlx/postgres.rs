//! What only a real PostgreSQL can show: claiming at volume under concurrency, schema checks,
//! driver errors kept from callers, and the whole engine running on the Postgres store.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::caption::{ProductData, ProductDataWire, Tone};
use postpilot_core::clock::ManualClock;
use postpilot_core::crypto::Argon2Hasher;
use postpilot_core::id::{PostId, UserId};
use postpilot_core::page::PageRequest;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, PostStatus};
use postpilot_core::publish::DispatcherConfig;
use postpilot_core::queue::{ApproveItem, Placement};
use postpilot_core::store::{EventStore, IdempotencyStore, PostListFilter, PostStore, Store};
use postpilot_core::{Engine, Error, LimitedResource};
use postpilot_sqlx::testing::{fresh_database_url, fresh_store};
use postpilot_sqlx::{ConnectError, PgStore, PoolConfig};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
}

fn engine_on(store: PgStore, clock: Arc<ManualClock>) -> Engine {
    Engine::builder()
        .simulated()
        .store(Arc::new(store))
        .clock(clock)
        .hasher(Arc::new(Argon2Hasher::with_params(64, 1, 1).unwrap()))
        .build()
        .unwrap()
}

fn connect_request(platform: Platform, external: &str) -> ConnectAccount {
    ConnectAccount {
        platform,
        account_name: AccountName::parse(format!("@{external}")).unwrap(),
        account_id_external: ExternalAccountId::parse(external).unwrap(),
        access_token: Some(postpilot_core::crypto::SecretString::new("oauth-token")),
        refresh_token: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_claimers_over_ten_thousand_due_posts_claim_each_exactly_once() {
    let store = fresh_store().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_on(store.clone(), clock);
    let user = engine
        .auth()
        .register("bulk@example.com", "correct horse battery")
        .await
        .unwrap();
    let account = engine
        .accounts()
        .connect(user.id(), connect_request(Platform::Facebook, "bulk"))
        .await
        .unwrap();
    // 10,000 due posts, loaded in one statement.
    sqlx::query(
        "INSERT INTO posts (id, user_id, account_id, platform, content, status, scheduled_for, \
         created_at, updated_at) \
         SELECT gen_random_uuid(), $1, $2, 'facebook', 'bulk post ' || n, 'scheduled', \
                $3 - make_interval(secs => n), $3, $3 \
         FROM generate_series(1, 10000) AS n",
    )
    .bind(user.id().as_uuid())
    .bind(account.id().as_uuid())
    .bind(t0())
    .execute(store.pool())
    .await
    .unwrap();

    let claimers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_due(t0(), 100, Duration::seconds(60), &format!("w{w}"))
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.post.id()));
                }
            })
        })
        .collect();
    let mut per_worker = Vec::new();
    let mut all: Vec<PostId> = Vec::new();
    for c in claimers {
        let mine = c.await.unwrap();
        per_worker.push(mine.len());
        all.extend(mine);
    }

    let claims = all.len();
    all.sort();
    all.dedup();
    assert_eq!(claims, 10_000, "every post claimed");
    assert_eq!(all.len(), 10_000, "no post claimed twice");
    assert!(
        per_worker.iter().filter(|n| **n > 0).count() >= 2,
        "claims spread: {per_worker:?}"
    );
    let publishing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM posts WHERE status = 'publishing' AND lease_token = 1",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(publishing, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_creates_through_the_engine_at_nine_of_ten_give_exactly_one() {
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_on(fresh_store().await, clock.clone());
    let user = engine
        .auth()
        .register("edge@example.com", "correct horse battery")
        .await
        .unwrap();
    let account = engine
        .accounts()
        .connect(user.id(), connect_request(Platform::Facebook, "edge"))
        .await
        .unwrap();
    let request = || CreatePost {
        account_id: account.id(),
        content: "New in store".into(),
        media_urls: vec![],
        hashtags: vec![],
        scheduled_for: None,
        duplicates: postpilot_core::post::Duplicates::Refuse,
    };
    for _ in 0..9 {
        engine.posts().create(user.id(), request()).await.unwrap();
    }

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let engine = engine.clone();
            let request = request();
            let owner = user.id();
            tokio::spawn(async move { engine.posts().create(owner, request).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::PlanLimit {
                resource: LimitedResource::PostsPerMonth,
                limit: 10,
            }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    assert_eq!(created, 1);
    assert_eq!(
        engine
            .usage()
            .usage(user.id())
            .await
            .unwrap()
            .posts_this_month,
        10
    );
}

#[tokio::test]
async fn the_whole_flow_runs_on_postgres_from_registration_to_a_posted_post() {
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_on(fresh_store().await, clock.clone());
    let user = engine
        .auth()
        .register("Merchant@Example.com", "correct horse battery")
        .await
        .unwrap();
    let relogged = engine
        .auth()
        .login("merchant@example.com", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(relogged.id(), user.id());
    engine
        .billing()
        .checkout(user.id(), postpilot_core::plan::PlanTier::Pro)
        .await
        .unwrap();
    let instagram = engine
        .accounts()
        .connect(user.id(), connect_request(Platform::Instagram, "ig"))
        .await
        .unwrap();
    let tiktok = engine
        .accounts()
        .connect(user.id(), connect_request(Platform::Tiktok, "tt"))
        .await
        .unwrap();
    let token = engine
        .accounts()
        .access_token(user.id(), instagram.id())
        .await
        .unwrap();
    assert_eq!(token.unwrap().expose(), "oauth-token");
    let product = ProductData::parse(ProductDataWire {
        title: "Aurora Desk Lamp".into(),
        image_urls: vec!["https://cdn.example.com/aurora.jpg".into()],
        tags: vec!["desk lamp".into()],
        ..ProductDataWire::default()
    })
    .unwrap();
    let item = engine
        .queue()
        .generate(
            user.id(),
            product,
            vec![Platform::Instagram, Platform::Tiktok],
            Tone::Playful,
        )
        .await
        .unwrap();
    let at = t0() + Duration::hours(1);
    let approval = engine
        .queue()
        .approve(
            user.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![instagram.id(), tiktok.id()],
                placement: Placement::At(at),
            },
        )
        .await
        .unwrap();
    assert_eq!(approval.posts.len(), 2);

    clock.advance(Duration::hours(1));
    let tick = engine
        .dispatcher("pg-worker", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    assert_eq!((tick.claimed, tick.posted), (2, 2));
    for post in &approval.posts {
        let stored = engine.posts().get(user.id(), post.id()).await.unwrap();
        assert_eq!(stored.status(), PostStatus::Posted);
        assert!(stored.external_url().is_some());
    }
    let item = engine.queue().get(user.id(), item.id()).await.unwrap();
    assert_eq!(item.status(), postpilot_core::queue::QueueStatus::Posted);
    let calendar = engine
        .posts()
        .calendar(user.id(), at.date_naive(), at.date_naive(), chrono_tz::UTC)
        .await
        .unwrap();
    assert_eq!(calendar.values().map(Vec::len).sum::<usize>(), 2);
    let refreshed = engine
        .dispatcher("pg-worker", DispatcherConfig::default())
        .unwrap()
        .refresh_metrics(Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(refreshed, 2);
    let overview = engine.analytics().overview(user.id()).await.unwrap();
    assert_eq!(overview.posts_published, 2);
    assert!(overview.totals.impressions > 0);
}

#[tokio::test]
async fn registering_a_taken_email_is_a_conflict_named_by_the_domain_not_the_driver() {
    let engine = engine_on(fresh_store().await, Arc::new(ManualClock::new(t0())));
    engine
        .auth()
        .register("a@example.com", "correct horse battery")
        .await
        .unwrap();

    let err = engine
        .auth()
        .register("A@example.com", "correct horse battery")
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Conflict(reason) if reason == "email is already registered"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_reported_as_unavailable_without_driver_text() {
    // A port nothing listens on; the pool connects lazily and gives up quickly.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(StdDuration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/postgres")
        .unwrap();
    let engine = engine_on(PgStore::from_pool(pool), Arc::new(ManualClock::new(t0())));

    let err = engine.health().await.unwrap_err();

    assert!(
        matches!(err, Error::Unavailable { what: "store", .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "store unavailable");
}

#[tokio::test]
async fn connecting_to_an_unmigrated_database_says_the_schema_is_behind() {
    let url = fresh_database_url().await.unwrap();

    let err = PgStore::connect(&url, &PoolConfig::default())
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConnectError::SchemaBehind { applied: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("migrate"), "{err}");
}

#[tokio::test]
async fn migrating_is_idempotent_and_then_the_schema_is_current() {
    let url = fresh_database_url().await.unwrap();
    let store = PgStore::connect_and_migrate(&url, &PoolConfig::default())
        .await
        .unwrap();

    store.migrate().await.unwrap();

    store.check_schema().await.unwrap();
    PgStore::connect(&url, &PoolConfig::default())
        .await
        .unwrap()
        .ping()
        .await
        .unwrap();
}

/// A store on a new database whose pool holds one connection: every call runs in one session.
async fn one_session_store() -> PgStore {
    let url = fresh_database_url().await.unwrap();
    let config = PoolConfig {
        max_connections: 1,
        ..PoolConfig::default()
    };
    PgStore::connect_and_migrate(&url, &config).await.unwrap()
}

/// [`one_session_store`] with a registered user.
async fn one_session_store_and_user() -> (PgStore, UserId) {
    let store = one_session_store().await;
    let engine = engine_on(store.clone(), Arc::new(ManualClock::new(t0())));
    let owner = engine
        .auth()
        .register("one-session@example.com", "correct horse battery")
        .await
        .unwrap()
        .id();
    (store, owner)
}

#[tokio::test]
async fn a_page_of_posts_is_planned_once_per_connection_not_once_per_request() {
    // One connection, so the catalogue below is the session every call ran on.
    let (store, owner) = one_session_store_and_user().await;

    for _ in 0..12 {
        store
            .list_posts(owner, PostListFilter::default(), PageRequest::default())
            .await
            .unwrap();
    }

    // PostgreSQL chooses a custom plan (planned with the values) when the generic one looks
    // costlier; for a `LIMIT $n` page it always does, unless the session forces generic plans.
    let (custom, generic): (i64, i64) = sqlx::query_as(
        "SELECT custom_plans, generic_plans FROM pg_prepared_statements \
         WHERE statement LIKE 'SELECT id, user_id, %' AND statement LIKE '%FROM posts %'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((custom, generic), (0, 12));
}

#[tokio::test]
async fn a_store_session_starts_no_parallel_workers_even_where_the_planner_would() {
    let store = one_session_store().await;
    let mut session = store.pool().acquire().await.unwrap();
    // Workers made free and every table large enough for them: a session that allows them
    // plans a scan of the posts with a Gather.
    sqlx::raw_sql(
        "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; \
         SET min_parallel_table_scan_size = 0; SET min_parallel_index_scan_size = 0",
    )
    .execute(&mut *session)
    .await
    .unwrap();

    let plan: Vec<String> = sqlx::query_scalar("EXPLAIN SELECT count(*) FROM posts")
        .fetch_all(&mut *session)
        .await
        .unwrap();

    assert!(
        !plan.iter().any(|line| line.contains("Gather")),
        "{plan:#?}"
    );
}

/// A store on one session with a user, and `rows` rows written into it by `insert` (bound to the
/// user's id and `t0`), analysed.
async fn one_session_store_with(insert: &'static str, rows: i64) -> PgStore {
    let (store, owner) = one_session_store_and_user().await;
    sqlx::query(insert)
        .bind(owner.as_uuid())
        .bind(t0())
        .bind(rows)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    store
}

/// Asserts that the one statement the session of `store` (one connection) prepared starting
/// with `prefix` — a purge of rows older than `t0`, 1,000 at a time — finds its rows through
/// `index`, fetches them by `fetch` and never scans `table` whole, in the generic plan every
/// store session runs it under.
async fn assert_purge_reads_index(
    store: &PgStore,
    prefix: &str,
    index: &str,
    fetch: &str,
    table: &str,
) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pg_prepared_statements WHERE starts_with(statement, $1)",
    )
    .bind(prefix)
    .fetch_all(store.pool())
    .await
    .unwrap();
    let [name] = names.as_slice() else {
        panic!("{} prepared statements start with {prefix:?}", names.len());
    };
    // The name is the one PostgreSQL gave the statement; the arguments are the test's constants.
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN EXECUTE {name}('{}', 1000)",
        t0().to_rfc3339()
    )))
    .fetch_all(store.pool())
    .await
    .unwrap();
    let has = |text: &str| plan.iter().any(|line| line.contains(text));
    assert!(
        has(index) && has(fetch) && !has(&format!("Seq Scan on {table}")),
        "{plan:#?}"
    );
}

#[tokio::test]
async fn purging_expired_idempotency_keys_reads_the_expiry_index_not_the_whole_table() {
    // A day of keys, none expired yet: the hourly purge's usual table.
    let store = one_session_store_with(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, attempt, held_until, expires_at) \
         SELECT $1, 'key-' || n, '\\x00'::bytea, gen_random_uuid(), $2, \
                $2 + make_interval(secs => n) FROM generate_series(1, $3) n",
        20_000,
    )
    .await;

    assert_eq!(store.purge_requests(t0()).await.unwrap(), 0);

    assert_purge_reads_index(
        &store,
        "DELETE FROM idempotency_keys WHERE ctid",
        "Index Scan using idempotency_keys_expires_at",
        "Tid Scan on idempotency_keys",
        "idempotency_keys",
    )
    .await;
}

#[tokio::test]
async fn purging_old_events_reads_the_age_index_not_the_whole_log() {
    // A log of recent events, none past the retention yet.
    let store = one_session_store_with(
        "INSERT INTO events (id, user_id, event_type, body, created_at) \
         SELECT gen_random_uuid(), $1, 'post.published', '{}', $2 + make_interval(secs => n) \
         FROM generate_series(1, $3) n",
        20_000,
    )
    .await;

    assert_eq!(store.purge_events(t0(), 1000).await.unwrap(), 0);

    assert_purge_reads_index(
        &store,
        "DELETE FROM events WHERE id",
        "Index Scan using events_created_at",
        "events_pkey",
        "events",
    )
    .await;
}

#[tokio::test]
async fn a_bad_url_or_a_dead_server_is_a_clear_connect_error() {
    let invalid = PgStore::connect("mysql://nope", &PoolConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(invalid, ConnectError::InvalidUrl), "{invalid:?}");

    let config = PoolConfig {
        acquire_timeout: StdDuration::from_millis(500),
        ..PoolConfig::default()
    };
    let dead = PgStore::connect("postgres://postgres@127.0.0.1:1/postgres", &config)
        .await
        .unwrap_err();
    assert!(matches!(dead, ConnectError::Unreachable(_)), "{dead:?}");
    assert_eq!(dead.to_string(), "the database is unreachable");
}

#[tokio::test]
async fn a_row_edited_into_an_invalid_state_is_refused_by_the_schema() {
    let store = fresh_store().await;
    let engine = engine_on(store.clone(), Arc::new(ManualClock::new(t0())));
    let user = engine
        .auth()
        .register("c@example.com", "correct horse battery")
        .await
        .unwrap();

    let upper = sqlx::query("UPDATE users SET email = 'C@EXAMPLE.COM' WHERE id = $1")
        .bind(user.id().as_uuid())
        .execute(store.pool())
        .await;
    let bad_status = sqlx::query("UPDATE posts SET status = 'sent'")
        .execute(store.pool())
        .await;

    assert!(upper.is_err(), "emails stay normalised");
    assert!(bad_status.is_ok(), "no posts yet: nothing to refuse");
    let account = engine
        .accounts()
        .connect(user.id(), connect_request(Platform::Facebook, "fb"))
        .await
        .unwrap();
    engine
        .posts()
        .create(
            user.id(),
            CreatePost {
                account_id: account.id(),
                content: "x".into(),
                media_urls: vec![],
                hashtags: vec![],
                scheduled_for: None,
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await
        .unwrap();
    let invalid = sqlx::query("UPDATE posts SET status = 'sent'")
        .execute(store.pool())
        .await;
    assert!(
        invalid.is_err(),
        "posts_status_check refuses unknown states"
    );
    let unleased = sqlx::query("UPDATE posts SET status = 'publishing'")
        .execute(store.pool())
        .await;
    assert!(
        unleased.is_err(),
        "posts_lease_check: publishing needs a lease"
    );
}

/// An endpoint being deleted while a post write fans its event out is waited for and left out:
/// the post write lands (it must not fail on the deliveries' foreign key), and no delivery is
/// left pointing at the deleted endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_post_write_racing_an_endpoint_deletion_lands_and_leaves_the_endpoint_out() {
    let store = fresh_store().await;
    let engine = engine_on(store.clone(), Arc::new(ManualClock::new(t0())));
    let user = engine
        .auth()
        .register("race@example.com", "correct horse battery")
        .await
        .unwrap();
    let account = engine
        .accounts()
        .connect(user.id(), connect_request(Platform::Facebook, "race"))
        .await
        .unwrap();
    let endpoint = engine
        .endpoints()
        .create(
            user.id(),
            postpilot_core::event::NewEndpointRequest {
                url: "https://93.184.216.34/in".into(),
                event_types: Vec::new(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let draft = engine
        .posts()
        .create(
            user.id(),
            CreatePost {
                account_id: account.id(),
                content: "Racing the delete".into(),
                media_urls: Vec::new(),
                hashtags: Vec::new(),
                scheduled_for: None,
                duplicates: Default::default(),
            },
        )
        .await
        .unwrap();

    // The deletion holds its lock while the post is scheduled (which writes post.scheduled).
    let mut deleting = store.pool().begin().await.unwrap();
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(endpoint.endpoint.id().as_uuid())
        .execute(&mut *deleting)
        .await
        .unwrap();
    let scheduling = {
        let engine = engine.clone();
        let at = t0() + Duration::hours(1);
        tokio::spawn(async move {
            engine
                .posts()
                .schedule(user.id(), draft.id(), at, Default::default())
                .await
        })
    };
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    deleting.commit().await.unwrap();

    let scheduled = scheduling.await.unwrap().unwrap();
    assert_eq!(scheduled.status(), PostStatus::Scheduled);
    let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM event_deliveries")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(deliveries, 0);
}

/// A purge racing a re-send never deletes the delivery the re-send made pending: the purge
/// gives that batch up (a serialization failure under REPEATABLE READ) and the delivery stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_racing_a_resend_leaves_the_resent_delivery_pending() {
    use postpilot_core::event::delivery::{DeliveryAttempt, DeliveryOutcome};
    use postpilot_core::event::{
        DeliveryStatus, EndpointHealth, EndpointUrl, NewEndpoint, WebhookEndpoint,
    };
    use postpilot_core::plan::{Limit, MonthWindow, PostQuota};
    use postpilot_core::store::{EndpointStore, EventStore};
    let store = fresh_store().await;
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let (u, acc) = postpilot_core::testing::seeded(&shared).await;
    let endpoint = WebhookEndpoint::create(
        NewEndpoint {
            id: uuid::Uuid::new_v4().into(),
            user_id: u.id(),
            url: EndpointUrl::parse("https://hooks.example.com/in").unwrap(),
            description: String::new(),
            event_types: Vec::new(),
            sealed_secret: "sealed".into(),
        },
        t0(),
    );
    store.insert_endpoint(&endpoint, 10).await.unwrap();
    let at = t0() - Duration::hours(1);
    let post = postpilot_core::testing::post(u.id(), acc.id(), t0(), Some(at));
    let quota = PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::Unlimited,
    };
    store.insert_post(&post, quota).await.unwrap();
    let claim = store
        .claim_deliveries(t0(), 10, Duration::seconds(60))
        .await
        .unwrap()
        .remove(0);
    let mut dead = claim.delivery.clone();
    let gone = DeliveryAttempt {
        outcome: DeliveryOutcome::Gone,
        response: String::new(),
    };
    dead.record(&gone, t0(), 0.0);
    store
        .settle_delivery(&dead, EndpointHealth::Answering, t0())
        .await
        .unwrap();

    // A re-send holds its row while a purge of everything settled runs.
    let mut resending = store.pool().begin().await.unwrap();
    sqlx::query("UPDATE event_deliveries SET status = 'pending', attempts = 0 WHERE id = $1")
        .bind(dead.id().as_uuid())
        .execute(&mut *resending)
        .await
        .unwrap();
    let purging = {
        let store = store.clone();
        tokio::spawn(async move { store.purge_events(t0() + Duration::days(31), 10).await })
    };
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    resending.commit().await.unwrap();

    assert_eq!(purging.await.unwrap().unwrap(), 0, "the batch is given up");
    let kept = store.delivery(u.id(), dead.id()).await.unwrap().unwrap();
    assert_eq!(kept.status(), DeliveryStatus::Pending);
}
