//! Run with: `cargo run -p examples --bin postpilot-server -- serve`
//!
//! The bundled PostPilot server. `serve` runs the HTTP API and a publication worker in one
//! process (in memory unless `DATABASE_URL` is set); `worker` runs a worker alone, so workers
//! scale out over processes and machines sharing one database; `migrate` applies the database
//! migrations. Every setting is a flag or an environment variable: `serve --help` lists them.

mod cli;
mod config;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod malloc;

use std::sync::Arc;

use clap::Parser;
use postpilot_clients::facebook::{
    FacebookConfig, FacebookOAuth, FacebookOAuthConfig, FacebookPublisher,
};
use postpilot_clients::instagram::{
    InstagramConfig, InstagramOAuth, InstagramOAuthConfig, InstagramPublisher,
};
use postpilot_clients::tiktok::{TikTokConfig, TikTokOAuth, TikTokOAuthConfig, TikTokPublisher};
use postpilot_core::billing::MockBilling;
use postpilot_core::caption::ModelCaptions;
use postpilot_core::crypto::{KeyId, XChaChaTokenCipher};
use postpilot_core::platform::Platform;
use postpilot_core::publish::{DispatcherConfig, WorkerConfig};
use postpilot_core::{Engine, EngineBuilder};
use postpilot_http::{AppState, HttpConfig};
use tokio::sync::watch;

use crate::config::{Billing, Config, ConfigError, OperatorSetting, Publishers, Role};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    malloc::tune();
    run();
}

#[tokio::main]
async fn run() {
    // Help, the version and command-line errors end the process here (clap: 0 or 2).
    let command = cli::Cli::parse().command;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let role = command.role();
    let config = Config::from_lookup(role, |name| command.setting(name));
    drop(command);
    let outcome = match config {
        Err(e) => Err(BoxError::from(e)),
        Ok(config) => match role {
            Role::Serve => serve(config).await,
            Role::Worker => worker(config).await,
            Role::Migrate => migrate(config).await,
            Role::RepairCounters => repair_counters(config).await,
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

/// Logs that `variable`'s stand-in `kind` is in use, what that means, and whether the operator
/// chose it or memory mode defaulted to it.
fn warn_stand_in(variable: &str, kind: &str, explicit: bool, effect: &str) {
    if explicit {
        tracing::warn!("{variable}={kind}: {effect}");
    } else {
        tracing::warn!("{variable} is not set, so in memory mode it is {kind}: {effect}");
    }
}

async fn engine(config: &Config) -> Result<Engine, BoxError> {
    let mut builder: EngineBuilder = Engine::builder();
    builder = match config.publishers.kind {
        Publishers::Simulated => {
            warn_stand_in(
                "POSTPILOT_PUBLISHERS",
                "simulated",
                config.publishers.explicit,
                "posts are marked published, nothing reaches a real platform",
            );
            builder.simulated()
        }
        Publishers::Platforms => {
            tracing::info!(
                offered = if config.tiktok_app.is_some() {
                    "instagram, facebook, tiktok"
                } else {
                    "instagram, facebook"
                },
                "publishing through the platforms' APIs"
            );
            let instagram = InstagramPublisher::new(InstagramConfig {
                graph_url: config.instagram.graph.clone(),
                ..InstagramConfig::default()
            })?;
            let facebook = FacebookPublisher::new(FacebookConfig {
                graph_url: config.facebook.graph.clone(),
                ..FacebookConfig::default()
            })?;
            builder = builder
                .publisher(Platform::Instagram, Arc::new(instagram))
                .publisher(Platform::Facebook, Arc::new(facebook));
            if let Some((app_id, secret)) = &config.instagram_app {
                let oauth = InstagramOAuth::new(InstagramOAuthConfig {
                    www_url: config.instagram.www.clone(),
                    api_url: config.instagram.api.clone(),
                    graph_url: config.instagram.graph.clone(),
                    ..InstagramOAuthConfig::new(app_id.clone(), secret.clone())
                })?;
                builder = builder.oauth(Platform::Instagram, Arc::new(oauth));
            }
            if let Some((app_id, secret)) = &config.meta_app {
                let oauth = FacebookOAuth::new(FacebookOAuthConfig {
                    www_url: config.facebook.www.clone(),
                    graph_url: config.facebook.graph.clone(),
                    ..FacebookOAuthConfig::new(app_id.clone(), secret.clone())
                })?;
                builder = builder.oauth(Platform::Facebook, Arc::new(oauth));
            }
            if let Some((client_key, secret)) = &config.tiktok_app {
                // TikTok's tokens live a day: it is offered only with the app that refreshes them.
                let publisher = TikTokPublisher::new(TikTokConfig {
                    api_url: config.tiktok.api.clone(),
                    video_source: config.tiktok_video_source,
                    ..TikTokConfig::default()
                })?;
                let oauth = TikTokOAuth::new(TikTokOAuthConfig {
                    www_url: config.tiktok.www.clone(),
                    api_url: config.tiktok.api.clone(),
                    ..TikTokOAuthConfig::new(client_key.clone(), secret.clone())
                })?;
                builder = builder
                    .publisher(Platform::Tiktok, Arc::new(publisher))
                    .oauth(Platform::Tiktok, Arc::new(oauth));
            } else {
                tracing::info!(
                    "POSTPILOT_TIKTOK_CLIENT_KEY is not set: TikTok is not offered (its day-long tokens need the app to be refreshed)"
                );
            }
            for (platform, app, id) in [
                (
                    "Instagram accounts",
                    &config.instagram_app,
                    "POSTPILOT_INSTAGRAM_APP_ID",
                ),
                ("Facebook Pages", &config.meta_app, "POSTPILOT_META_APP_ID"),
            ] {
                if app.is_none() {
                    tracing::info!(
                        "{id} is not set: {platform} connect only with tokens given to POST /api/v1/accounts"
                    );
                }
            }
            builder
        }
    };
    builder = match config.billing.kind {
        Billing::Mock => {
            warn_stand_in(
                "POSTPILOT_BILLING",
                "mock",
                config.billing.explicit,
                "any user gets any paid plan for free with POST /api/v1/billing/checkout",
            );
            builder.billing(Arc::new(MockBilling::new(config.public_url.clone())))
        }
        Billing::Stripe => {
            let stripe = config
                .stripe
                .clone()
                .ok_or("POSTPILOT_BILLING=stripe without its settings")?;
            tracing::info!("billing: Stripe");
            builder.billing(Arc::new(postpilot_clients::stripe::StripeBilling::new(
                stripe,
            )?))
        }
    };
    if let Some((llm, fallback)) = &config.caption_model {
        let model = postpilot_clients::llm::language_model(llm.clone())?;
        tracing::info!(model = %model.name(), ?fallback, "captions: written by a language model");
        builder = builder
            .captions(Arc::new(ModelCaptions::new(model, *fallback)))
            .caption_generations_per_minute(config.generations_per_minute);
    }
    builder = match &config.token_key {
        Some(spec) => builder.cipher(Arc::new(XChaChaTokenCipher::from_config(spec.expose())?)),
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
                let store = postpilot_sqlx::PgStore::connect(
                    url.expose(),
                    &postpilot_sqlx::PoolConfig::default(),
                )
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
    let engine = builder
        .max_api_keys(config.max_api_keys)
        .plans(config.plans.clone())
        .publishing_caps(config.publishing_caps)
        .webhook_addresses(config.webhook_addresses)
        .build()?;
    // The operator's endpoint is what the settings say, at every start, when they say.
    let endpoints = engine.endpoints();
    match &config.operator_endpoint {
        Some(OperatorSetting::Configure(operator)) => {
            let endpoint = endpoints
                .configure_operator(
                    operator.url.clone(),
                    operator.secret.expose(),
                    &operator.event_types,
                )
                .await
                .map_err(|e| ConfigError(format!("POSTPILOT_OPERATOR_WEBHOOK_*: {e}")))?;
            tracing::info!(url = %endpoint.url().host(), "the operator's webhook endpoint receives every merchant's events");
        }
        Some(OperatorSetting::Remove) => endpoints.remove_operator().await?,
        // Unset: an embedder may manage it from Rust or Python on the same database.
        None => {}
    }
    Ok(engine)
}

fn worker_name(role: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!("{role}-{host}-{}", std::process::id())
}

async fn serve(config: Config) -> Result<(), BoxError> {
    let engine = engine(&config).await?;
    let jwt_secret = match &config.jwt_secret {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => {
            tracing::warn!("POSTPILOT_JWT_SECRET is not set: sessions end when this process does");
            random_bytes::<32>()?.to_vec()
        }
    };
    let http = HttpConfig {
        platform_webhook_secret: config
            .platform_webhook_secret
            .as_ref()
            .map(|s| s.expose().to_owned()),
        stripe_webhook_secret: config
            .stripe_webhook_secret
            .as_ref()
            .map(|s| s.expose().to_owned()),
        rate_limit_per_min: config.rate_limit_per_min,
        auth_rate_limit_per_min: config.auth_rate_limit_per_min,
        trusted_proxies: config.trusted_proxies.clone(),
        api_key_failures_per_min: config.api_key_failures_per_min,
        session_epoch_cache: config.session_epoch_cache,
        hsts_max_age: config.hsts_max_age,
        public_url: config.public_url.clone(),
        connect_return_path: config.connect_return_path.clone(),
        brand: config.brand.clone(),
        ..HttpConfig::new(jwt_secret)
    };
    let state = AppState::new(engine.clone(), http)?;
    // The JSON API, and beside it the dashboard and landing page (the API never reads their
    // session cookie).
    let app = postpilot_http::app(state.clone());
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening: open http://{addr}/ for the dashboard, http://{addr}/docs for the API reference");

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
    let deliveries = spawn_deliveries(&engine, &config, stopped.clone())?;
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
    // Connections end, the worker settles its claims, and imports running in the background
    // finish, all within the grace period.
    let imports = state.finish_background_imports();
    match tokio::time::timeout(grace, async {
        (server.await, worker.await, deliveries.await, imports.await)
    })
    .await
    {
        Ok((served, totals, delivered, ())) => {
            served??;
            tracing::info!(totals = ?totals?, deliveries = ?delivered?, "stopped");
        }
        Err(_) => tracing::warn!(
            "shutdown grace period over; claims left are rescued by other workers, imports cut \
             short read as failed and created nothing"
        ),
    }
    Ok(())
}

async fn worker(config: Config) -> Result<(), BoxError> {
    let engine = engine(&config).await?;
    let name = worker_name("worker");
    let dispatcher = engine.dispatcher(name.clone(), DispatcherConfig::default())?;
    tracing::info!(worker = %name, "publishing due posts and delivering webhook events");
    let (stop, stopped) = watch::channel(false);
    let deliveries = spawn_deliveries(&engine, &config, stopped)?;
    let totals = dispatcher
        .run_until(WorkerConfig::default(), shutdown_signal())
        .await;
    let _ = stop.send(true);
    // A delivery round under way finishes within the grace period; one cut short is sent
    // again by another worker when its claim lapses.
    match tokio::time::timeout(config.shutdown_grace, deliveries).await {
        Ok(delivered) => tracing::info!(?totals, deliveries = ?delivered?, "stopped"),
        Err(_) => tracing::warn!(
            ?totals,
            "shutdown grace period over; deliveries in flight are sent again by other workers"
        ),
    }
    Ok(())
}

/// The webhook delivery worker, beside the publishing one, until `stopped` turns true.
fn spawn_deliveries(
    engine: &postpilot_core::Engine,
    config: &Config,
    mut stopped: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<postpilot_core::event::DeliveryTotals>, BoxError> {
    let deliverer = postpilot_clients::webhook::HttpDeliverer::new(config.webhook_addresses)?;
    let worker = engine.delivery_worker(
        std::sync::Arc::new(deliverer),
        postpilot_core::event::DeliveryWorkerConfig::default(),
    );
    Ok(tokio::spawn(async move {
        worker
            .run_until(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    }))
}

/// Recomputes every counter the database keeps and says how many were wrong.
async fn repair_counters(config: Config) -> Result<(), BoxError> {
    let Some(url) = config.database_url else {
        return Err(ConfigError(
            "repair-counters needs DATABASE_URL (the memory store keeps no counters)".into(),
        )
        .into());
    };
    #[cfg(feature = "postgres")]
    {
        let store =
            postpilot_sqlx::PgStore::connect(url.expose(), &postpilot_sqlx::PoolConfig::default())
                .await?;
        store.check_schema().await?;
        let repair = store.repair_counters().await?;
        println!(
            "counters repaired: {} post count(s), {} monthly quota count(s), {} analytics total(s) \
             were wrong and are recomputed",
            repair.post_counts, repair.monthly_posts, repair.metric_totals
        );
        Ok(())
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        Err(ConfigError("this build has no postgres feature".into()).into())
    }
}

async fn migrate(config: Config) -> Result<(), BoxError> {
    let Some(url) = config.database_url else {
        return Err(ConfigError("migrate needs DATABASE_URL".into()).into());
    };
    #[cfg(feature = "postgres")]
    {
        let store = postpilot_sqlx::PgStore::connect_and_migrate(
            url.expose(),
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
