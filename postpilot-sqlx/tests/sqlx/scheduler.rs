//! The publication scheduler on PostgreSQL at volume: many workers over one database, posts all
//! due at one instant.

use std::sync::Arc;

use chrono::{Duration, Utc};
use postpilot_core::Engine;
use postpilot_core::platform::Platform;
use postpilot_core::publish::{DispatcherConfig, SimulatedPublisher};
use postpilot_sqlx::PgStore;
use postpilot_sqlx::testing::{fresh_store, seed_due_posts, unposted};

fn engine(store: &PgStore, publisher: &Arc<SimulatedPublisher>) -> Engine {
    Engine::builder()
        .simulated()
        .store(Arc::new(store.clone()))
        .publisher(Platform::Facebook, publisher.clone())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_workers_publish_ten_thousand_posts_due_at_one_instant_exactly_once() {
    let store = fresh_store().await;
    seed_due_posts(&store, 10_000, Utc::now() - Duration::seconds(1)).await;
    let publisher = Arc::new(SimulatedPublisher::new(Platform::Facebook));
    let engine = engine(&store, &publisher);

    let workers: Vec<_> = (0..4)
        .map(|n| {
            let worker = engine
                .dispatcher(
                    format!("herd-{n}"),
                    DispatcherConfig {
                        batch_size: 100,
                        ..DispatcherConfig::default()
                    },
                )
                .unwrap();
            tokio::spawn(async move {
                let mut posted = 0;
                loop {
                    let tick = worker.run_once().await.unwrap();
                    posted += tick.posted;
                    if tick.claimed == 0 {
                        return posted;
                    }
                }
            })
        })
        .collect();
    let mut per_worker = Vec::new();
    for w in workers {
        per_worker.push(w.await.unwrap());
    }

    assert_eq!(per_worker.iter().sum::<u32>(), 10_000, "{per_worker:?}");
    assert!(
        per_worker.iter().all(|n| *n > 0),
        "every worker took part: {per_worker:?}"
    );
    assert_eq!(publisher.total_published(), 10_000);
    assert!(publisher.duplicates().is_empty(), "no post published twice");
    assert_eq!(unposted(&store).await, 0);
}
