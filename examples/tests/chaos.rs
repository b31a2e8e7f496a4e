//! Chaos: worker processes killed with SIGKILL in the middle of their batches, again and again,
//! over one PostgreSQL database. Afterwards every post is posted, and — with a publisher that
//! records every publication in the database and supports `lookup` — none was published twice.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use postpilot_sqlx::testing::{PgRecordingPublisher, fresh_database_url, seed_due_posts, unposted};
use postpilot_sqlx::{PgStore, PoolConfig};

const POSTS: i64 = 2_000;
const WORKERS: usize = 3;
const KILLS: usize = 12;

/// Worker processes, killed when the test ends however it ends.
struct Workers {
    url: String,
    children: Vec<Child>,
}

impl Workers {
    fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_postpilot-chaos-worker"))
            .env("DATABASE_URL", &self.url)
            .env("CHAOS_PUBLISH_MS", "5")
            .env("CHAOS_ANSWER_MS", "10")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
    }

    /// SIGKILL: no shutdown, no release of claims, possibly between a publish and its commit.
    fn kill(&mut self, index: usize) {
        let mut child = self.children.remove(index);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_mid_batch_again_and_again_lose_nothing_and_publish_nothing_twice() {
    let url = fresh_database_url().await.unwrap();
    let store = PgStore::connect_and_migrate(&url, &PoolConfig::default())
        .await
        .unwrap();
    let recorder =
        PgRecordingPublisher::install(store.pool().clone(), Duration::ZERO, Duration::ZERO)
            .await
            .unwrap();
    seed_due_posts(&store, POSTS, Utc::now() - chrono::Duration::seconds(1)).await;
    let mut workers = Workers {
        url,
        children: Vec::new(),
    };
    for _ in 0..WORKERS {
        workers.spawn();
    }

    // Kill a worker every few hundred milliseconds while the run is in full swing, and start a
    // fresh one in its place.
    let mut kills = 0;
    let mut seed = Utc::now().timestamp_subsec_nanos() as usize;
    while kills < KILLS && unposted(&store).await > 0 {
        tokio::time::sleep(Duration::from_millis(250 + (seed % 300) as u64)).await;
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        workers.kill(seed % workers.children.len());
        workers.spawn();
        kills += 1;
    }
    let published_mid_run = recorder.total().await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(120);
    while unposted(&store).await > 0 {
        assert!(
            Instant::now() < deadline,
            "posts left unpublished after the kills"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(workers);

    assert!(
        kills >= KILLS / 2,
        "the run was long enough to kill workers mid-batch ({kills} kills)"
    );
    assert!(
        published_mid_run < POSTS,
        "kills landed before the run finished"
    );
    assert_eq!(
        recorder.duplicates().await.unwrap(),
        vec![],
        "no post published twice"
    );
    assert_eq!(
        recorder.total().await.unwrap(),
        POSTS,
        "every post published once"
    );
    let reconciled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM publication_attempts WHERE outcome = 'reconciled'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    eprintln!(
        "{kills} kills; {published_mid_run} published before the kills stopped; {reconciled} rescued posts found already published"
    );
    assert!(
        reconciled > 0,
        "some kills landed between a publish and its commit, and lookup reconciled them"
    );
}
