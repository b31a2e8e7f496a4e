//! Run with: `cargo run -p examples --bin postpilot-server -- serve`
//!
//! The bundled PostPilot server. `serve` runs the HTTP API and a publication worker in one
//! process (in memory unless `DATABASE_URL` is set); `worker` runs a worker alone, so workers
//! scale out over processes and machines sharing one database; `migrate` applies the database
//! migrations. Configuration comes from the environment (see `--help`).

mod config;

use std::sync::Arc;

use postpilot_core::billing::MockBilling;
use postpilot_core::crypto::{KeyId, XChaChaTokenCipher};
use postpilot_core::publish::{DispatcherConfig, WorkerConfig};
use postpilot_core::{Engine, EngineBuilder};
use postpilot_http::{AppState, HttpConfig};
use tokio::sync::watch;

use crate::config::{Config, ConfigError};

const HELP: &str = "postpilot-server — schedule and publish social posts

USAGE: postpilot-server <serve | worker | migrate | --help>

  serve    the HTTP API on POSTPILOT_ADDR, with a publication worker in the same process
  worker   a publication worker alone (run any number, on any number of machines)
  migrate  apply the database migrations (DATABASE_URL) and exit

ENVIRONMENT
  POSTPILOT_ADDR                     listen address (default 127.0.0.1:8080)
  DATABASE_URL                       postgres://… ; unset: the in-memory store
  POSTPILOT_JWT_SECRET               ≥ 32 bytes; required with DATABASE_URL (generated in memory mode)
  POSTPILOT_TOKEN_KEY                \"<key id>:<base64 32 bytes>[,<old id>:<old key>…]\" sealing OAuth
                                     tokens; required with DATABASE_URL (ephemeral in memory mode)
  POSTPILOT_PLATFORM_WEBHOOK_SECRET  enables /webhooks/platform-events and /auth/provision
  STRIPE_WEBHOOK_SECRET              enables /webhooks/stripe
  STRIPE_SECRET_KEY                  must be empty: billing runs in mock mode
  POSTPILOT_RATE_LIMIT_PER_MIN       per user or API key (default 600)
  POSTPILOT_AUTH_RATE_LIMIT_PER_MIN  login and registration per client address (default 20)
  POSTPILOT_PUBLIC_URL               base of mock checkout links (default http://POSTPILOT_ADDR)
  POSTPILOT_SHUTDOWN_GRACE_SECS      how long shutdown waits for requests and publishes (default 20)
  RUST_LOG                           log filter (default info)
";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    let command = std::env::args().nth(1).unwrap_or_default();
    if matches!(command.as_str(), "" | "-h" | "--help" | "help") {
        print!("{HELP}");
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let outcome = match Config::from_env(&command) {
        Err(e) => Err(BoxError::from(e)),
        Ok(config) => match command.as_str() {
            "serve" => serve(config).await,
            "worker" => worker(config).await,
            "migrate" => migrate(config).await,
            other => Err(ConfigError(format!("unknown command {other:?}; see --help")).into()),
        },
    };
    if let Err(e) = outcome {
        eprintln!("postpilot-server: {e}");
        std::process::exit(2);
    }
}

/// Resolves when SIGTERM or Ctrl-C arrives.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

fn random_bytes<const N: usize>() -> Result<[u8; N], BoxError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| BoxError::from(e.to_string()))?;
    Ok(bytes)
}

async fn engine(config: &Config) -> Result<Engine, BoxError> {
    let mut builder: EngineBuilder = Engine::builder()
        .simulated()
        .billing(Arc::new(MockBilling::new(config.public_url.clone())));
    builder = match &config.token_key {
        Some(spec) => builder.cipher(Arc::new(XChaChaTokenCipher::from_config(spec)?)),
        None => {
            tracing::warn!(
                "POSTPILOT_TOKEN_KEY is not set: OAuth tokens are sealed with a key that dies with this process"
            );
            builder.cipher(Arc::new(XChaChaTokenCipher::generate(KeyId::parse(
                "ephemeral",
            )?)))
        }
    };
    match &config.database_url {
        None => {
            tracing::info!("store: in memory (set DATABASE_URL for PostgreSQL)");
        }
        Some(url) => {
            #[cfg(feature = "postgres")]
            {
                let store =
                    postpilot_sqlx::PgStore::connect(url, &postpilot_sqlx::PoolConfig::default())
                        .await?;
                tracing::info!("store: PostgreSQL");
                builder = builder.store(Arc::new(store));
            }
            #[cfg(not(feature = "postgres"))]
            {
                let _ = url;
                return Err(ConfigError(
                    "DATABASE_URL is set but this build has no postgres feature".into(),
                )
                .into());
            }
        }
    }
    tracing::info!("publishers: simulated (no platform clients in this build)");
    Ok(builder.build()?)
}

fn worker_name(role: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!("{role}-{host}-{}", std::process::id())
}

async fn serve(config: Config) -> Result<(), BoxError> {
    let engine = engine(&config).await?;
    let jwt_secret = match config.jwt_secret.clone() {
        Some(secret) => secret,
        None => {
            tracing::warn!("POSTPILOT_JWT_SECRET is not set: sessions end when this process does");
            random_bytes::<32>()?.to_vec()
        }
    };
    let http = HttpConfig {
        platform_webhook_secret: config.platform_webhook_secret.clone(),
        stripe_webhook_secret: config.stripe_webhook_secret.clone(),
        rate_limit_per_min: config.rate_limit_per_min,
        auth_rate_limit_per_min: config.auth_rate_limit_per_min,
        ..HttpConfig::new(jwt_secret)
    };
    let app = postpilot_http::router(AppState::new(engine.clone(), http)?);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "listening (docs at /docs)");

    let (stop, stopped) = watch::channel(false);
    let dispatcher = engine.dispatcher(worker_name("serve"), DispatcherConfig::default())?;
    let mut worker_stop = stopped.clone();
    let worker = tokio::spawn(async move {
        dispatcher
            .run_until(WorkerConfig::default(), async move {
                let _ = worker_stop.wait_for(|s| *s).await;
            })
            .await
    });
    let mut server_stop = stopped;
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = server_stop.wait_for(|s| *s).await;
    });
    let server = tokio::spawn(async move { server.await });
    shutdown_signal().await;
    let _ = stop.send(true);
    let grace = config.shutdown_grace;
    match tokio::time::timeout(grace, async { (server.await, worker.await) }).await {
        Ok((served, totals)) => {
            served??;
            tracing::info!(totals = ?totals?, "stopped");
        }
        Err(_) => {
            tracing::warn!("shutdown grace period over; claims left are rescued by other workers")
        }
    }
    Ok(())
}

async fn worker(config: Config) -> Result<(), BoxError> {
    let engine = engine(&config).await?;
    let name = worker_name("worker");
    let dispatcher = engine.dispatcher(name.clone(), DispatcherConfig::default())?;
    tracing::info!(worker = %name, "publishing due posts");
    let totals = dispatcher
        .run_until(WorkerConfig::default(), shutdown_signal())
        .await;
    tracing::info!(?totals, "stopped");
    Ok(())
}

async fn migrate(config: Config) -> Result<(), BoxError> {
    let Some(url) = config.database_url else {
        return Err(ConfigError("migrate needs DATABASE_URL".into()).into());
    };
    #[cfg(feature = "postgres")]
    {
        let store = postpilot_sqlx::PgStore::connect_and_migrate(
            &url,
            &postpilot_sqlx::PoolConfig::default(),
        )
        .await?;
        store.check_schema().await?;
        tracing::info!("migrations applied; the schema is current");
        Ok(())
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        Err(ConfigError("this build has no postgres feature".into()).into())
    }
}
