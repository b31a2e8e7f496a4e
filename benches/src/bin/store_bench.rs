//! Run with: `bash benches/store.sh` (starts a throwaway PostgreSQL and builds in release).
//!
//! The Postgres store's three hot operations, each beside raw pgbench running the same SQL on the
//! same server in the same run:
//! - `create_post`: the quota-guarded insert (lock the owner, count the month, insert);
//! - `list_posts`: 20 of 10,000 posts, filtered by status and platform, with the total;
//! - claim + complete of 100 due posts (the claim statement, then one fenced batch commit);
//! - `account_slots`: the publishing-cap check's read — an account's posts over the nine days
//!   around a new post's time (864 posts, one every 15 minutes: Instagram's cap nearly full).
//!
//! Prints a Markdown table: store ops/s, pgbench ops/s, and the ratio.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use postpilot_core::id::{AccountId, PostId, UserId};
use postpilot_core::page::PageRequest;
use postpilot_core::plan::{Limit, MonthWindow, PostQuota};
use postpilot_core::platform::Platform;
use postpilot_core::post::{Caption, Hashtags, MediaUrl, NewPost, Post, PostStatus, Published};
use postpilot_core::store::{PostListFilter, PostStore};
use postpilot_sqlx::{PgStore, PoolConfig};
use uuid::Uuid;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Settings {
    only: Option<String>,
    seconds: u64,
    clients: usize,
    claim_posts: usize,
}

fn settings() -> Settings {
    let arg = |name: &str, default: u64| {
        let flag = format!("--{name}");
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| *a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let args: Vec<String> = std::env::args().collect();
    Settings {
        only: args
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1).cloned()),
        seconds: arg("seconds", 10),
        clients: usize::try_from(arg("clients", 2)).unwrap_or(2),
        claim_posts: usize::try_from(arg("claim-posts", 40_000)).unwrap_or(40_000),
    }
}

/// Users (and one account each) with predictable ids: `group` 1 for the store, 2 for pgbench,
/// 3 for the list data; `n` the client number — so pgbench scripts can compute them.
fn user_id(group: u32, n: usize) -> Uuid {
    Uuid::parse_str(&format!("00000000-0000-0000-000{group}-{n:012}")).unwrap_or_default()
}

fn account_id(group: u32, n: usize) -> Uuid {
    Uuid::parse_str(&format!("00000000-0000-0000-100{group}-{n:012}")).unwrap_or_default()
}

async fn seed_users(store: &PgStore, group: u32, count: usize) -> Result<(), BoxError> {
    for n in 0..count {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at) \
             VALUES ($1, $2, 'x', now(), now())",
        )
        .bind(user_id(group, n))
        .bind(format!("bench-{group}-{n}@example.com"))
        .execute(store.pool())
        .await?;
        sqlx::query(
            "INSERT INTO social_accounts (id, user_id, platform, account_name, account_id_external, \
             created_at) VALUES ($1, $2, 'facebook', 'bench', $3, now())",
        )
        .bind(account_id(group, n))
        .bind(user_id(group, n))
        .bind(format!("ext-{group}-{n}"))
        .execute(store.pool())
        .await?;
    }
    Ok(())
}

async fn settle(store: &PgStore) -> Result<(), BoxError> {
    sqlx::query("VACUUM ANALYZE").execute(store.pool()).await?;
    sqlx::query("CHECKPOINT").execute(store.pool()).await?;
    Ok(())
}

fn new_post(user: Uuid, account: Uuid) -> Result<Post, BoxError> {
    Ok(Post::create(
        NewPost {
            id: PostId::from(Uuid::new_v4()),
            user_id: UserId::from(user),
            account_id: AccountId::from(account),
            queue_item_id: None,
            platform: Platform::Facebook,
            content: Caption::parse("Benchmark post")?,
            media_urls: vec![MediaUrl::parse("https://cdn.example.com/a.jpg")?],
            hashtags: Hashtags::parse(["sale"])?,
            product: None,
        },
        None,
        Utc::now(),
    )?)
}

/// Runs `op` from `clients` tasks for `seconds`; returns operations per second.
async fn run_store<F, Fut>(settings: &Settings, op: F) -> Result<f64, BoxError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u64, BoxError>> + Send,
{
    let op = Arc::new(op);
    let deadline = Instant::now() + StdDuration::from_secs(settings.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..settings.clients)
        .map(|client| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    done += op(client).await?;
                }
                Ok::<u64, BoxError>(done)
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Runs pgbench with `script` against `database`; returns its transactions per second.
async fn run_pgbench(
    database: &str,
    script: &str,
    settings: &Settings,
    limit: &[&str],
) -> Result<f64, BoxError> {
    let path =
        std::env::temp_dir().join(format!("postpilot-bench-{}.sql", Uuid::new_v4().simple()));
    std::fs::write(&path, script)?;
    let clients = settings.clients.to_string();
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-c", &clients, "-j", &clients])
        .args(limit)
        .arg("-f")
        .arg(&path)
        .arg(database)
        .stderr(Stdio::inherit())
        .output()
        .await?;
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
        .ok_or_else(|| format!("pgbench gave no tps:\n{stdout}").into())
}

fn row(name: &str, store: f64, pgbench: f64, unit: &str) {
    println!(
        "| {name} | {store:.0} {unit} | {pgbench:.0} {unit} | {:.0} % |",
        store / pgbench * 100.0
    );
}

const PG_USER: &str = "('00000000-0000-0000-0002-' || lpad(:client_id::text, 12, '0'))::uuid";
const PG_ACCOUNT: &str = "('00000000-0000-0000-1002-' || lpad(:client_id::text, 12, '0'))::uuid";

async fn create_post(store: &PgStore, database: &str, s: &Settings) -> Result<(), BoxError> {
    let window = MonthWindow::containing(Utc::now());
    // A cap the run cannot reach: the count runs, as on every plan but enterprise.
    let quota = PostQuota {
        window,
        limit: Limit::AtMost(u32::MAX),
    };
    let st = store.clone();
    let ours = run_store(s, move |client| {
        let st = st.clone();
        async move {
            let post = new_post(user_id(1, client), account_id(1, client))?;
            st.insert_post(&post, quota).await?;
            Ok(1)
        }
    })
    .await?;
    settle(store).await?;
    let script = format!(
        "BEGIN;\n\
         LOCK TABLE posts IN ROW EXCLUSIVE MODE;\n\
         INSERT INTO monthly_posts AS m (user_id, month, n) VALUES ({PG_USER}, '{start}', 0) ON CONFLICT (user_id, month) DO UPDATE SET n = m.n RETURNING n;\n\
         INSERT INTO posts (id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at) \
         VALUES (gen_random_uuid(), {PG_USER}, {PG_ACCOUNT}, NULL, 'facebook', 'Benchmark post', '{{https://cdn.example.com/a.jpg}}', '{{sale}}', 'draft', NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, now(), now());\n\
         COMMIT;\n",
        start = window.start.to_rfc3339(),
    );
    let theirs = run_pgbench(database, &script, s, &["-T", &s.seconds.to_string()]).await?;
    row(
        "create_post (quota-guarded insert)",
        ours,
        theirs,
        "posts/s",
    );
    Ok(())
}

async fn list_posts(store: &PgStore, database: &str, s: &Settings) -> Result<(), BoxError> {
    let owner = user_id(3, 0);
    // 10,000 posts: a quarter scheduled on Facebook (the filter), the rest spread out.
    sqlx::query(
        "INSERT INTO posts (id, user_id, account_id, platform, content, status, scheduled_for, \
         created_at, updated_at) \
         SELECT gen_random_uuid(), $1, $2, \
                (ARRAY['facebook', 'instagram'])[1 + n % 2], 'post ' || n, \
                (ARRAY['scheduled', 'draft'])[1 + (n / 2) % 2], \
                CASE WHEN (n / 2) % 2 = 0 THEN now() + interval '1 day' END, \
                now() - make_interval(secs => n), now() \
         FROM generate_series(1, 10000) AS n",
    )
    .bind(owner)
    .bind(account_id(3, 0))
    .execute(store.pool())
    .await?;
    settle(store).await?;
    let filter = PostListFilter {
        status: Some(PostStatus::Scheduled),
        platform: Some(Platform::Facebook),
    };
    let page = PageRequest::new(Some(1), Some(20))?;
    let st = store.clone();
    let ours = run_store(s, move |_| {
        let st = st.clone();
        async move {
            let listed = st.list_posts(UserId::from(owner), filter, page).await?;
            assert_eq!((listed.items.len(), listed.total), (20, 2_500));
            Ok(1)
        }
    })
    .await?;
    // The store's statements, with the same values bound as parameters (-D, prepared mode).
    let script = "SELECT id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at, publish_checkpoint, held_for_reconnect, on_slot, product, \
         (SELECT coalesce(sum(n), 0)::bigint FROM post_counts WHERE user_id = :owner::uuid AND (:status::text IS NULL OR status = :status) AND (:platform::text IS NULL OR platform = :platform)) AS total, created_at AS page_at, id AS page_id \
         FROM posts WHERE user_id = :owner::uuid AND status = :status AND platform = :platform \
         AND (created_at, id) < ('9999-12-31T23:59:59Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff') \
         ORDER BY status, platform, created_at DESC, id DESC LIMIT 21 OFFSET 0;\n";
    let seconds = s.seconds.to_string();
    let owner_var = format!("owner={owner}");
    let theirs = run_pgbench(
        database,
        script,
        s,
        &[
            "-T",
            &seconds,
            "-D",
            &owner_var,
            "-D",
            "status=scheduled",
            "-D",
            "platform=facebook",
        ],
    )
    .await?;
    row(
        "list_posts (20 of 10,000, filtered, with total)",
        ours,
        theirs,
        "lists/s",
    );
    Ok(())
}

async fn account_slots(store: &PgStore, database: &str, s: &Settings) -> Result<(), BoxError> {
    let (owner, account) = (user_id(4, 0), account_id(4, 0));
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO posts (id, user_id, account_id, platform, content, status, scheduled_for, \
         created_at, updated_at) \
         SELECT gen_random_uuid(), $1, $2, 'instagram', 'post ' || n, 'scheduled', \
                $3 + make_interval(mins => 15 * n), now(), now() \
         FROM generate_series(1, 1000) AS n",
    )
    .bind(owner)
    .bind(account)
    .bind(now)
    .execute(store.pool())
    .await?;
    settle(store).await?;
    let (from, to) = (now, now + Duration::days(9));
    let st = store.clone();
    let ours = run_store(s, move |_| {
        let st = st.clone();
        async move {
            let slots = st
                .account_slots(
                    UserId::from(owner),
                    AccountId::from(account),
                    from,
                    to,
                    10_000,
                )
                .await?;
            assert_eq!(slots.len(), 864);
            Ok(1)
        }
    })
    .await?;
    // The store's statement (postpilot-sqlx's `slot_at!`), the same values bound.
    let slot = "(CASE status WHEN 'posted' THEN posted_at \
                WHEN 'scheduled' THEN coalesce(next_attempt_at, scheduled_for) \
                WHEN 'publishing' THEN coalesce(next_attempt_at, scheduled_for) END)";
    let script = format!(
        "SELECT id, {slot}, posted_at IS NOT NULL OR publish_checkpoint IS NOT NULL FROM posts \
         WHERE account_id = :account::uuid AND user_id = :owner::uuid AND {slot} > :from::timestamptz \
         AND {slot} <= :to::timestamptz ORDER BY {slot}, id LIMIT 10000;\n"
    );
    let seconds = s.seconds.to_string();
    let vars = [
        format!("owner={owner}"),
        format!("account={account}"),
        format!("from={}", from.to_rfc3339()),
        format!("to={}", to.to_rfc3339()),
    ];
    let mut args = vec!["-T", &seconds];
    for var in &vars {
        args.extend(["-D", var.as_str()]);
    }
    let theirs = run_pgbench(database, &script, s, &args).await?;
    row(
        "account_slots (cap check: 864 posts over 9 days)",
        ours,
        theirs,
        "checks/s",
    );
    Ok(())
}

async fn seed_due(
    store: &PgStore,
    owner: Uuid,
    account: Uuid,
    count: usize,
) -> Result<(), BoxError> {
    sqlx::query(
        "INSERT INTO posts (id, user_id, account_id, platform, content, status, scheduled_for, \
         created_at, updated_at) \
         SELECT gen_random_uuid(), $1, $2, 'facebook', 'due ' || n, 'scheduled', \
                now() - make_interval(secs => n), now(), now() \
         FROM generate_series(1, $3) AS n",
    )
    .bind(owner)
    .bind(account)
    .bind(i64::try_from(count)?)
    .execute(store.pool())
    .await?;
    settle(store).await
}

async fn claim_and_complete(store: &PgStore, database: &str, s: &Settings) -> Result<(), BoxError> {
    seed_due(store, user_id(1, 0), account_id(1, 0), s.claim_posts).await?;
    let st = store.clone();
    let started = Instant::now();
    let tasks: Vec<_> = (0..s.clients)
        .map(|client| {
            let st = st.clone();
            tokio::spawn(async move {
                let mut done = 0usize;
                loop {
                    let now = Utc::now();
                    let claimed = st
                        .claim_due(now, 100, Duration::seconds(60), &format!("bench-{client}"))
                        .await?;
                    if claimed.is_empty() {
                        return Ok::<usize, BoxError>(done);
                    }
                    let posts: Vec<Post> = claimed
                        .into_iter()
                        .map(|c| {
                            let mut post = c.post;
                            let remote_id = post.id().to_string();
                            post.mark_posted(
                                Published {
                                    remote_id,
                                    url: None,
                                },
                                now,
                            )?;
                            Ok(post)
                        })
                        .collect::<Result<_, BoxError>>()?;
                    done += st
                        .commit_claims(&posts)
                        .await?
                        .iter()
                        .filter(|w| **w)
                        .count();
                }
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    #[allow(clippy::cast_precision_loss)]
    let ours = total as f64 / started.elapsed().as_secs_f64();
    assert_eq!(
        total, s.claim_posts,
        "every post claimed and completed once"
    );

    seed_due(store, user_id(2, 0), account_id(2, 0), s.claim_posts).await?;
    let script = "WITH due AS (SELECT id, status AS previous, due_at FROM posts WHERE status IN ('scheduled', 'publishing') AND due_at <= now() ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED), \
         claimed AS (UPDATE posts AS p SET status = 'publishing', lease_owner = 'pgbench-' || :client_id, lease_expires_at = now() + interval '60 seconds', lease_token = p.lease_token + 1, updated_at = now() FROM due WHERE p.id = due.id RETURNING p.id, p.lease_token) \
         SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS tokens FROM claimed \\gset\n\
         UPDATE posts AS p SET status = 'posted', next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, posted_at = now(), external_id = c.id::text, external_url = NULL, error_message = NULL, updated_at = now() \
         FROM unnest(:ids::uuid[], :tokens::bigint[]) AS c(id, token) WHERE p.id = c.id AND p.status = 'publishing' AND p.lease_token = c.token;\n";
    let transactions = (s.claim_posts / 100 / s.clients).to_string();
    let tps = run_pgbench(database, script, s, &["-t", &transactions]).await?;
    let remaining: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM posts WHERE user_id = $1 AND status = 'scheduled'",
    )
    .bind(user_id(2, 0))
    .fetch_one(store.pool())
    .await?;
    assert_eq!(remaining, 0, "pgbench completed every due post");
    row(
        "claim 100 + complete 100 (fenced batch)",
        ours,
        tps * 100.0,
        "posts/s",
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let s = settings();
    let database = postpilot_sqlx::testing::fresh_database_url().await?;
    let config = PoolConfig {
        max_connections: u32::try_from(s.clients)? + 1,
        ..PoolConfig::default()
    };
    let store = PgStore::connect_and_migrate(&database, &config).await?;
    seed_users(&store, 1, s.clients).await?;
    seed_users(&store, 2, s.clients).await?;
    seed_users(&store, 3, 1).await?;
    seed_users(&store, 4, 1).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(store.pool())
        .await?;
    println!(
        "store vs pgbench, same SQL, same server (PostgreSQL {version}), {} clients, {} s per figure\n",
        s.clients, s.seconds
    );
    println!("| operation | PgStore | raw pgbench | store / pgbench |\n|---|---|---|---|");
    let run = |name: &str| s.only.as_deref().is_none_or(|only| only == name);
    if run("create") {
        create_post(&store, &database, &s).await?;
    }
    if run("list") {
        list_posts(&store, &database, &s).await?;
    }
    if run("claim") {
        claim_and_complete(&store, &database, &s).await?;
    }
    if run("slots") {
        account_slots(&store, &database, &s).await?;
    }
    Ok(())
}
