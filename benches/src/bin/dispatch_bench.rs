//! Run with: `bash benches/dispatch.sh` (starts a throwaway PostgreSQL and builds in release).
//!
//! The publication dispatcher on PostgreSQL with a publisher that answers at once:
//! - throughput with 1, 2 and 4 workers over 10,000 due posts, beside pgbench running the same
//!   claim statement, fenced complete and ledger insert with as many clients;
//! - lateness: 10,000 posts due at one instant, 4 workers already waiting — how long after the
//!   instant each was published (p50, p99, max).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use postpilot_core::Engine;
use postpilot_core::platform::Platform;
use postpilot_core::publish::{DispatcherConfig, SimulatedPublisher, WorkerConfig};
use postpilot_sqlx::testing::{fresh_database_url, seed_due_posts};
use postpilot_sqlx::{PgStore, PoolConfig};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const POSTS: i64 = 10_000;

async fn settle(store: &PgStore) -> Result<(), BoxError> {
    sqlx::query("VACUUM ANALYZE").execute(store.pool()).await?;
    sqlx::query("CHECKPOINT").execute(store.pool()).await?;
    Ok(())
}

fn engine(store: &PgStore) -> Result<Engine, BoxError> {
    let publisher = Arc::new(SimulatedPublisher::new(Platform::Facebook));
    Ok(Engine::builder()
        .simulated()
        .store(Arc::new(store.clone()))
        .publisher(Platform::Facebook, publisher)
        .build()?)
}

fn config() -> DispatcherConfig {
    DispatcherConfig {
        batch_size: 100,
        ..DispatcherConfig::default()
    }
}

async fn dispatch(store: &PgStore, workers: usize) -> Result<f64, BoxError> {
    seed_due_posts(store, POSTS, Utc::now() - Duration::seconds(1)).await;
    settle(store).await?;
    let engine = engine(store)?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|n| {
            let worker = engine.dispatcher(format!("bench-{workers}-{n}"), config());
            tokio::spawn(async move {
                let worker = worker?;
                let mut posted = 0u64;
                loop {
                    let tick = worker.run_once().await?;
                    posted += u64::from(tick.posted);
                    if tick.claimed == 0 {
                        return Ok::<u64, BoxError>(posted);
                    }
                }
            })
        })
        .collect();
    let mut posted = 0;
    for t in tasks {
        posted += t.await??;
    }
    assert_eq!(posted, u64::try_from(POSTS)?, "every post published once");
    #[allow(clippy::cast_precision_loss)]
    Ok(posted as f64 / started.elapsed().as_secs_f64())
}

async fn pgbench(database: &str, store: &PgStore, clients: usize) -> Result<f64, BoxError> {
    seed_due_posts(store, POSTS, Utc::now() - Duration::seconds(1)).await;
    settle(store).await?;
    let script = "WITH due AS (SELECT id, status AS previous, due_at FROM posts WHERE status IN ('scheduled', 'publishing') AND due_at <= now() ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED), \
         claimed AS (UPDATE posts AS p SET status = 'publishing', lease_owner = 'pgbench-' || :client_id, lease_expires_at = now() + interval '120 seconds', lease_token = p.lease_token + 1, updated_at = now() FROM due WHERE p.id = due.id RETURNING p.id, p.lease_token) \
         SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS tokens FROM claimed \\gset\n\
         UPDATE posts AS p SET status = 'posted', next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, posted_at = now(), external_id = c.id::text, external_url = NULL, error_message = NULL, updated_at = now() \
         FROM unnest(:ids::uuid[], :tokens::bigint[]) AS c(id, token) WHERE p.id = c.id AND p.status = 'publishing' AND p.lease_token = c.token;\n\
         INSERT INTO publication_attempts (id, post_id, user_id, attempt, worker, lease_token, started_at, finished_at, outcome, remote_id, error) \
         SELECT gen_random_uuid(), p.id, p.user_id, 1, 'pgbench', c.token, now(), now(), 'posted', p.id::text, NULL \
         FROM unnest(:ids::uuid[], :tokens::bigint[]) AS c(id, token) JOIN posts AS p ON p.id = c.id;\n";
    let path = std::env::temp_dir().join(format!(
        "postpilot-dispatch-{}.sql",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, script)?;
    let transactions = (usize::try_from(POSTS)? / 100 / clients).to_string();
    let clients = clients.to_string();
    let output = tokio::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients,
            "-j",
            &clients,
            "-t",
            &transactions,
            "-f",
        ])
        .arg(&path)
        .arg(database)
        .output()
        .await?;
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tps: f64 = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .ok_or_else(|| format!("pgbench gave no tps:\n{stdout}"))?;
    Ok(tps * 100.0)
}

async fn lateness(store: &PgStore) -> Result<(f64, f64, f64), BoxError> {
    let engine = engine(store)?;
    let due = Utc::now() + Duration::seconds(3);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..4)
        .map(|n| {
            let worker = engine.dispatcher(format!("late-{n}"), config());
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                worker?
                    .run_until(WorkerConfig::default(), async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
                Ok::<(), BoxError>(())
            })
        })
        .collect();
    seed_due_posts(store, POSTS, due).await;
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM posts WHERE status <> 'posted'")
            .fetch_one(store.pool())
            .await?;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    for w in workers {
        w.await??;
    }
    let (p50, p99, max): (f64, f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), \
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag) \
         FROM (SELECT extract(epoch FROM posted_at - scheduled_for)::float8 AS lag FROM posts \
               WHERE scheduled_for = $1) AS l",
    )
    .bind(due)
    .fetch_one(store.pool())
    .await?;
    Ok((p50, p99, max))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let database = fresh_database_url().await?;
    let store = PgStore::connect_and_migrate(
        &database,
        &PoolConfig {
            max_connections: 12,
            ..PoolConfig::default()
        },
    )
    .await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(store.pool())
        .await?;
    println!(
        "dispatcher vs pgbench (same claim, complete and ledger SQL), PostgreSQL {version}, {POSTS} due posts per run\n"
    );
    println!("| workers | dispatcher | raw pgbench | dispatcher / pgbench |\n|---|---|---|---|");
    for workers in [1, 2, 4] {
        let ours = dispatch(&store, workers).await?;
        let theirs = pgbench(&database, &store, workers).await?;
        println!(
            "| {workers} | {ours:.0} posts/s | {theirs:.0} posts/s | {:.0} % |",
            ours / theirs * 100.0
        );
    }
    sqlx::query("DELETE FROM posts")
        .execute(store.pool())
        .await?;
    settle(&store).await?;
    let (p50, p99, max) = lateness(&store).await?;
    println!(
        "\nlateness of {POSTS} posts due at one instant, 4 workers waiting: p50 {p50:.3} s, p99 {p99:.3} s, max {max:.3} s"
    );
    Ok(())
}
