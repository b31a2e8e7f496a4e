//! What the router needs: the engine and the HTTP-side settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use postpilot_core::Engine;

use crate::auth::{EpochCache, JwtKeys};
use crate::brand::Brand;
use crate::limit::RateLimiter;

/// HTTP-side settings.
#[derive(Clone)]
pub struct HttpConfig {
    /// The HS256 secret for access tokens (at least 32 bytes).
    pub jwt_secret: Vec<u8>,
    /// The `iss` claim issued and required.
    pub jwt_issuer: String,
    /// The `aud` claim issued and required.
    pub jwt_audience: String,
    /// Access-token lifetime (default 15 min).
    pub access_token_ttl: Duration,
    /// Stripe's webhook signing secret; without it `/webhooks/stripe` answers 503.
    pub stripe_webhook_secret: Option<String>,
    /// The platform's webhook secret; without it platform events and provisioning answer 503.
    pub platform_webhook_secret: Option<String>,
    /// Requests per minute per user or API key (default 600).
    pub rate_limit_per_min: u32,
    /// Login, registration and refresh attempts per minute per client address (default 20).
    pub auth_rate_limit_per_min: u32,
    /// The reverse proxies (CIDR blocks) whose `X-Forwarded-For` is believed when they are the
    /// socket's peer (default: none — the peer is always the client). Behind a proxy, list its
    /// addresses here, or every client shares the proxy's rate-limit bucket; never list a range
    /// clients can connect from directly, or they choose their own address. See
    /// `crate::client` for how the header is read.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Longest a request may take before it is answered 503 (default 30 s).
    pub request_timeout: Duration,
    /// `Strict-Transport-Security: max-age=…` on every response; set it only when the server is
    /// reached over HTTPS (default: off).
    pub hsts_max_age: Option<Duration>,
    /// Failed API-key lookups (unknown, revoked or malformed keys) per minute per client
    /// address (default 20): past it, keys from that address are refused with 429 before any
    /// lookup.
    pub api_key_failures_per_min: u32,
    /// How long a user's session epoch is cached (default 5 s): the longest an access token
    /// ended by another server process sharing the database keeps working there.
    pub session_epoch_cache: Duration,
    /// Where this server is reached from browsers (default `http://127.0.0.1:8080`): the OAuth
    /// callback URLs given to the platforms are under it.
    pub public_url: String,
    /// The app page a finished OAuth connect flow sends the browser to, under `public_url`
    /// (default `/app/accounts`, the dashboard's Accounts page, with feature `ui`; else `/accounts`), with the outcome in the query.
    pub connect_return_path: String,
    /// The product's name, tagline, colours and navigation on the pages (feature `ui`).
    pub brand: Brand,
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("jwt_secret", &"***")
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .field(
                "stripe_webhook_secret",
                &self.stripe_webhook_secret.as_ref().map(|_| "***"),
            )
            .field(
                "platform_webhook_secret",
                &self.platform_webhook_secret.as_ref().map(|_| "***"),
            )
            .field("rate_limit_per_min", &self.rate_limit_per_min)
            .field("auth_rate_limit_per_min", &self.auth_rate_limit_per_min)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("request_timeout", &self.request_timeout)
            .field("hsts_max_age", &self.hsts_max_age)
            .field("session_epoch_cache", &self.session_epoch_cache)
            .field("api_key_failures_per_min", &self.api_key_failures_per_min)
            .field("public_url", &self.public_url)
            .field("connect_return_path", &self.connect_return_path)
            .field("brand", &self.brand.name())
            .finish()
    }
}

impl HttpConfig {
    /// Defaults around a JWT secret.
    pub fn new(jwt_secret: impl Into<Vec<u8>>) -> Self {
        Self {
            jwt_secret: jwt_secret.into(),
            jwt_issuer: "postpilot".into(),
            jwt_audience: "postpilot-api".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            stripe_webhook_secret: None,
            platform_webhook_secret: None,
            rate_limit_per_min: 600,
            auth_rate_limit_per_min: 20,
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(30),
            hsts_max_age: None,
            session_epoch_cache: Duration::from_secs(5),
            api_key_failures_per_min: 20,
            public_url: "http://127.0.0.1:8080".into(),
            // The dashboard's Accounts page when it is built in.
            connect_return_path: if cfg!(feature = "ui") {
                "/app/accounts".into()
            } else {
                "/accounts".into()
            },
            brand: Brand::default(),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) config: HttpConfig,
    pub(crate) jwt: JwtKeys,
    pub(crate) limiter: RateLimiter,
    pub(crate) auth_limiter: RateLimiter,
    pub(crate) epochs: EpochCache,
    pub(crate) key_failures: RateLimiter,
    /// Imports running in the background, and whose they are.
    pub(crate) imports: Arc<BackgroundImports>,
}

/// The imports this server runs in the background: at most one per merchant at a time, awaited
/// when the server stops (within its grace period).
#[derive(Default)]
pub(crate) struct BackgroundImports {
    tasks: tokio::sync::Mutex<tokio::task::JoinSet<()>>,
    running: std::sync::Mutex<std::collections::HashSet<postpilot_core::id::UserId>>,
}

impl BackgroundImports {
    /// Runs `job` in the background.
    ///
    /// # Errors
    /// The merchant has an import running here already: `job` is dropped (its import was kept
    /// as `running` and then reads as failed once stalled; the caller tells the merchant).
    pub(crate) async fn spawn(
        self: &Arc<Self>,
        job: postpilot_core::import::ImportJob,
    ) -> Result<(), postpilot_core::import::ImportJob> {
        let user = job.import().user_id();
        let fresh = self
            .running
            .lock()
            .map(|mut running| running.insert(user))
            .unwrap_or(false);
        if !fresh {
            return Err(job);
        }
        let this = Arc::clone(self);
        let mut tasks = self.tasks.lock().await;
        // Finished tasks stay in the set until joined: reap them as new ones come.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            // How it ended, or why it stopped, is kept with the import.
            let _ = job.run().await;
            if let Ok(mut running) = this.running.lock() {
                running.remove(&user);
            }
        });
        Ok(())
    }

    /// Waits until every background import has ended.
    pub(crate) async fn finish(&self) {
        let mut tasks = self.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
    }
}

/// The router's state: cheap to clone.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for `engine` with `config`.
    ///
    /// # Errors
    /// A JWT secret shorter than 32 bytes.
    pub fn new(engine: Engine, config: HttpConfig) -> Result<Self, crate::ConfigError> {
        if config.jwt_secret.len() < 32 {
            return Err(crate::ConfigError::WeakJwtSecret);
        }
        Ok(Self(Arc::new(Inner {
            jwt: JwtKeys::new(
                &config.jwt_secret,
                &config.jwt_issuer,
                &config.jwt_audience,
                config.access_token_ttl,
            ),
            limiter: RateLimiter::per_minute(config.rate_limit_per_min),
            auth_limiter: RateLimiter::per_minute(config.auth_rate_limit_per_min),
            epochs: EpochCache::new(config.session_epoch_cache),
            key_failures: RateLimiter::per_minute(config.api_key_failures_per_min),
            imports: Arc::default(),
            engine,
            config,
        })))
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    /// Waits until the imports running in the background have ended: call it when the server
    /// stops, within its grace period (an import cut short reads as failed ten minutes later,
    /// and nothing of it was created).
    pub async fn finish_background_imports(&self) {
        self.0.imports.finish().await;
    }

    /// The time now, by the engine's clock (the one clock every rule reads).
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.engine.clock().now()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use postpilot_core::import::{
        ImportFormat, ImportKind, ImportMode, ImportRequest, ImportStatus,
    };

    use super::*;

    fn request() -> ImportRequest {
        ImportRequest {
            kind: ImportKind::Products,
            format: ImportFormat::Csv,
            mode: ImportMode::Partial,
            data: b"title,platforms\nLamp,instagram\n".to_vec(),
        }
    }

    #[tokio::test]
    async fn a_merchant_runs_one_background_import_at_a_time_and_the_server_awaits_them() {
        let engine = Engine::builder().simulated().build().unwrap();
        let state = AppState::new(engine.clone(), HttpConfig::new(vec![7; 32])).unwrap();
        let (merchant, other) = (
            postpilot_core::id::UserId::from(uuid::Uuid::from_u128(1)),
            postpilot_core::id::UserId::from(uuid::Uuid::from_u128(2)),
        );
        let imports = engine.imports();
        let first = imports.start(merchant, request()).await.unwrap();
        let second = imports.start(merchant, request()).await.unwrap();
        let theirs = imports.start(other, request()).await.unwrap();
        let ids = [
            first.import().id(),
            second.import().id(),
            theirs.import().id(),
        ];

        // On this single-threaded runtime no spawned job runs before the test yields.
        let spawned = state.0.imports.spawn(first).await;
        let refused = state.0.imports.spawn(second).await;
        let beside = state.0.imports.spawn(theirs).await;
        state.finish_background_imports().await;

        assert!(spawned.is_ok() && beside.is_ok());
        assert!(
            refused.is_err(),
            "a second import of the merchant's while one runs"
        );
        let read = |user, id| imports.get(user, id);
        assert_eq!(
            read(merchant, ids[0]).await.unwrap().status(),
            ImportStatus::Done
        );
        assert_eq!(
            read(other, ids[2]).await.unwrap().status(),
            ImportStatus::Done
        );
        let again = imports.start(merchant, request()).await.unwrap();
        assert!(
            state.0.imports.spawn(again).await.is_ok(),
            "once it has ended, the next may run"
        );
    }
}
