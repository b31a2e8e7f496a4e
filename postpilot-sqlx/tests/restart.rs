//! The publication workers survive a PostgreSQL restart in the middle of a run. A test binary of
//! its own: the restart takes the server away from every test running at the same time.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use postpilot_core::Engine;
use postpilot_core::platform::Platform;
use postpilot_core::publish::{DispatcherConfig, SimulatedPublisher, WorkerConfig};
use postpilot_sqlx::PgStore;
use postpilot_sqlx::testing::{fresh_store, seed_due_posts, try_unposted};

fn engine(store: &PgStore, publisher: &Arc<SimulatedPublisher>) -> Engine {
    Engine::builder()
        .simulated()
        .store(Arc::new(store.clone()))
        .publisher(Platform::Facebook, publisher.clone())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_survive_a_database_restart_and_finish_without_double_posting() {
    let restart = std::env::var("POSTPILOT_TEST_PG_RESTART").unwrap_or_else(|_| {
        panic!("POSTPILOT_TEST_PG_RESTART is not set: run through `bash .ci/with-postgres`")
    });
    let store = fresh_store().await;
    seed_due_posts(&store, 3_000, Utc::now() - Duration::seconds(1)).await;
    let publisher = Arc::new(SimulatedPublisher::new(Platform::Facebook));
    publisher.set_latency(StdDuration::from_millis(2));
    let engine = engine(&store, &publisher);
    let config = DispatcherConfig {
        batch_size: 50,
        lease: Duration::seconds(3),
        publish_timeout: Duration::seconds(1),
        ..DispatcherConfig::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..2)
        .map(|n| {
            let worker = engine.dispatcher(format!("restart-{n}"), config).unwrap();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                worker
                    .run_until(
                        WorkerConfig {
                            poll_interval: Duration::milliseconds(200),
                            ..WorkerConfig::default()
                        },
                        async move {
                            let _ = stopped.wait_for(|s| *s).await;
                        },
                    )
                    .await
            })
        })
        .collect();
    // Let them get going, then take the database away and bring it back.
    while publisher.total_published() < 300 {
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let status = tokio::task::spawn_blocking(move || std::process::Command::new(&restart).status())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the restart script failed");
    let before = publisher.total_published();
    assert!(
        before < 3_000,
        "the restart happened mid-run ({before} published)"
    );

    let deadline = Instant::now() + StdDuration::from_secs(90);
    // A query on a connection the restart dropped fails once; that answers "not yet".
    while !matches!(try_unposted(&store).await, Ok(0)) {
        assert!(
            Instant::now() < deadline,
            "not every post was published after the restart"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    let _ = stop.send(true);
    let mut errors = 0;
    for w in workers {
        errors += w.await.unwrap().errors;
    }

    assert!(publisher.duplicates().is_empty(), "no post published twice");
    assert_eq!(publisher.total_published(), 3_000);
    assert!(errors > 0, "the workers did see the database go away");
}
