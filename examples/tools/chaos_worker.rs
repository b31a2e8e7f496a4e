//! Run with: `DATABASE_URL=… cargo run -p examples --bin postpilot-chaos-worker`
//!
//! A test tool, not a product binary: a publication worker over `DATABASE_URL` whose publishers
//! record every publication in the database (`test_publications`), so a test can kill workers
//! with SIGKILL at any moment and then check that no post was published twice. Short leases
//! (2 s) make rescues quick.

use std::sync::Arc;

use chrono::Duration;
use postpilot_core::Engine;
use postpilot_core::platform::Platform;
use postpilot_core::publish::{DispatcherConfig, WorkerConfig};
use postpilot_sqlx::testing::PgRecordingPublisher;
use postpilot_sqlx::{PgStore, PoolConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is required")?;
    let ms = |name: &str, default: u64| {
        std::time::Duration::from_millis(
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default),
        )
    };
    let store = PgStore::connect(&url, &PoolConfig::default()).await?;
    let publisher = Arc::new(
        PgRecordingPublisher::install(
            store.pool().clone(),
            ms("CHAOS_PUBLISH_MS", 5),
            ms("CHAOS_ANSWER_MS", 10),
        )
        .await?,
    );
    let mut builder = Engine::builder().simulated().store(Arc::new(store));
    for platform in Platform::ALL {
        builder = builder.publisher(platform, publisher.clone());
    }
    let engine = builder.build()?;
    let worker = engine.dispatcher(
        format!("chaos-{}", std::process::id()),
        DispatcherConfig {
            batch_size: 20,
            lease: Duration::seconds(2),
            publish_timeout: Duration::seconds(1),
            ..DispatcherConfig::default()
        },
    )?;
    let config = WorkerConfig {
        poll_interval: Duration::milliseconds(100),
        ..WorkerConfig::default()
    };
    worker.run_until(config, std::future::pending::<()>()).await;
    Ok(())
}
