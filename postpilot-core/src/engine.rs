//! The [`Engine`]: every port wired once, handing out the services.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::account::AccountService;
use crate::analytics::AnalyticsService;
use crate::api_key::ApiKeyService;
use crate::billing::{BillingGateway, BillingService, MockBilling};
use crate::caption::{CaptionGenerator, TemplateCaptions};
use crate::clock::{Clock, SystemClock};
use crate::context::Deps;
use crate::crypto::{
    Argon2Hasher, HashConcurrency, HashGate, KeyId, PasswordHasher, TokenCipher, XChaChaTokenCipher,
};
use crate::error::Result;
use crate::id::{IdGenerator, RandomIds};
use crate::platform::Platform;
use crate::post::PostService;
use crate::publish::{Dispatcher, DispatcherConfig, Publisher, SimulatedPublisher};
use crate::queue::QueueService;
use crate::store::{MemoryStore, Store};
use crate::usage::UsageService;
use crate::user::{AuthService, LoginThrottle, LoginThrottlePolicy};
use crate::webhook::WebhookService;

/// How many active API keys a user may hold unless the engine is built with another cap.
pub const DEFAULT_MAX_API_KEYS: u32 = 25;

/// The PostPilot engine: build one with [`Engine::builder`] (or [`Engine::in_memory`]), share it
/// (it is cheap to clone), and call its services.
#[derive(Clone, Debug)]
pub struct Engine {
    deps: Arc<Deps>,
}

impl Engine {
    /// A builder. Defaults: in-memory store, template captions, mock billing (no provider key),
    /// system clock, random ids, argon2id (OWASP). Publishers and the token cipher have no
    /// silent default: register one per platform and a cipher, or call
    /// [`EngineBuilder::simulated`] for a demo or test engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// An engine entirely in memory with simulated publishers and an ephemeral token key: for
    /// demos, examples and tests.
    pub fn in_memory() -> Self {
        Self::builder().simulated().assemble()
    }

    /// Bulk imports of posts.
    pub fn imports(&self) -> crate::import::ImportService {
        crate::import::ImportService::new(self.deps.clone())
    }

    /// Idempotent requests (`Idempotency-Key`).
    pub fn idempotency(&self) -> crate::idempotency::IdempotencyService {
        crate::idempotency::IdempotencyService::new(self.deps.clone())
    }

    /// Registration, login, provisioning, refresh tokens.
    pub fn auth(&self) -> AuthService {
        AuthService::new(self.deps.clone())
    }
    /// Social accounts.
    pub fn accounts(&self) -> AccountService {
        AccountService::new(self.deps.clone())
    }
    /// Connecting accounts by OAuth.
    pub fn oauth(&self) -> crate::account::OAuthService {
        crate::account::OAuthService::new(self.deps.clone())
    }
    /// Posts and the calendar.
    pub fn posts(&self) -> PostService {
        PostService::new(self.deps.clone())
    }
    /// The content queue.
    pub fn queue(&self) -> QueueService {
        QueueService::new(self.deps.clone())
    }
    /// Accounts' posting schedules.
    pub fn schedules(&self) -> crate::schedule::ScheduleService {
        crate::schedule::ScheduleService::new(self.deps.clone())
    }
    /// Caption templates.
    pub fn templates(&self) -> crate::template::TemplateService {
        crate::template::TemplateService::new(self.deps.clone())
    }
    /// Analytics.
    pub fn analytics(&self) -> AnalyticsService {
        AnalyticsService::new(self.deps.clone())
    }
    /// Plans, checkout, subscription.
    pub fn billing(&self) -> BillingService {
        BillingService::new(self.deps.clone())
    }
    /// Whether billing is a mock (checkouts activate their plan at once, unpaid).
    pub fn billing_is_mock(&self) -> bool {
        self.deps.billing.is_mock()
    }
    /// API keys.
    pub fn api_keys(&self) -> ApiKeyService {
        ApiKeyService::new(self.deps.clone())
    }

    /// Webhook endpoints: where a user's events are delivered.
    pub fn endpoints(&self) -> crate::event::EndpointService {
        crate::event::EndpointService::new(self.deps.clone())
    }
    /// A worker that sends the outbox's events through `deliverer` (any number may run: each
    /// claims its own deliveries).
    pub fn delivery_worker(
        &self,
        deliverer: Arc<dyn crate::event::delivery::EventDeliverer>,
        config: crate::event::DeliveryWorkerConfig,
    ) -> crate::event::DeliveryWorker {
        crate::event::DeliveryWorker::new(self.deps.clone(), deliverer, config)
    }
    /// Usage against plan limits.
    pub fn usage(&self) -> UsageService {
        UsageService::new(self.deps.clone())
    }
    /// Verified provider and platform events.
    pub fn webhooks(&self) -> WebhookService {
        WebhookService::new(self.deps.clone())
    }
    /// A publication worker named `worker` (unique among running workers: it owns the leases
    /// it takes).
    ///
    /// # Errors
    /// The configuration does not hold together ([`DispatcherConfig::validate`]).
    pub fn dispatcher(
        &self,
        worker: impl Into<String>,
        config: DispatcherConfig,
    ) -> Result<Dispatcher, crate::ValidationError> {
        config.validate()?;
        Ok(Dispatcher::new(self.deps.clone(), worker.into(), config))
    }

    /// The counters of every worker this engine runs, for `GET /metrics`.
    pub fn worker_metrics(&self) -> &Arc<crate::publish::MetricsRegistry> {
        &self.deps.metrics
    }

    /// The store (for health checks and adapters).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.deps.store
    }

    /// The cap `account`'s posts are held to (posts per rolling 24 hours), if its platform has
    /// one: the one the platform reported for it, or this engine's configured or default one.
    pub fn publishing_cap(
        &self,
        account: &crate::account::SocialAccount,
    ) -> Option<crate::post::PublishingCap> {
        self.deps
            .publishing_caps
            .of(account.platform(), account.publishing_cap())
    }

    /// The platforms this engine publishes to (those with a publisher), in a fixed order.
    pub fn offered_platforms(&self) -> Vec<Platform> {
        Platform::ALL
            .into_iter()
            .filter(|p| self.deps.publishers.contains_key(p))
            .collect()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.deps.clock
    }

    /// Whether the store answers.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when it does not.
    pub async fn health(&self) -> Result<()> {
        Ok(self.deps.store.ping().await?)
    }
}

/// Builds an [`Engine`]; every port has a built-in default.
#[derive(Default)]
pub struct EngineBuilder {
    store: Option<Arc<dyn Store>>,
    publishers: HashMap<Platform, Arc<dyn Publisher>>,
    oauth: HashMap<Platform, Arc<dyn crate::account::OAuthProvider>>,
    captions: Option<Arc<dyn CaptionGenerator>>,
    generations_per_minute: Option<u32>,
    plans: Option<crate::plan::Plans>,
    billing: Option<Arc<dyn BillingGateway>>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGenerator>>,
    cipher: Option<Arc<dyn TokenCipher>>,
    hasher: Option<Arc<dyn PasswordHasher>>,
    hash_concurrency: Option<HashConcurrency>,
    login_throttle: Option<LoginThrottlePolicy>,
    refresh_token_ttl: Option<chrono::Duration>,
    max_api_keys: Option<u32>,
    publishing_caps: Option<crate::post::PublishingCaps>,
    address_policy: crate::event::address::AddressPolicy,
    resolver: Option<Arc<dyn crate::event::address::HostResolver>>,
    simulated: bool,
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No platform has a publisher: the engine could publish nothing.
    #[error(
        "no publisher: register one per platform to offer with publisher(), or call simulated() for a demo or test engine"
    )]
    NoPublisher,
    /// No token cipher was configured.
    #[error(
        "no token cipher: configure one (e.g. XChaChaTokenCipher::from_config), or call simulated() for a demo or test engine"
    )]
    MissingCipher,
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder").finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// The store (default: a new [`MemoryStore`]).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }
    /// How accounts of `platform` connect by OAuth (its authorization-code flow). A platform
    /// without one connects only with tokens given to [`AccountService::connect`].
    #[must_use]
    pub fn oauth(
        mut self,
        platform: Platform,
        provider: Arc<dyn crate::account::OAuthProvider>,
    ) -> Self {
        self.oauth.insert(platform, provider);
        self
    }

    /// The publisher for one platform, which the engine then offers. A platform without one is
    /// not offered (unless [`simulated`](Self::simulated)).
    #[must_use]
    pub fn publisher(mut self, platform: Platform, publisher: Arc<dyn Publisher>) -> Self {
        self.publishers.insert(platform, publisher);
        self
    }
    /// The caption generator (default: [`TemplateCaptions`]).
    #[must_use]
    pub fn captions(mut self, captions: Arc<dyn CaptionGenerator>) -> Self {
        self.captions = Some(captions);
        self
    }
    /// Caption generations (generate and regenerate) one user may ask for per minute (default:
    /// unlimited, right for the templates; set it with a language model, whose calls cost).
    #[must_use]
    pub fn caption_generations_per_minute(mut self, per_minute: u32) -> Self {
        self.generations_per_minute = Some(per_minute);
        self
    }
    /// The plans: names, prices, limits and Stripe prices (default: [`Plans::default`], the
    /// seed's).
    ///
    /// [`Plans::default`]: crate::plan::Plans
    #[must_use]
    pub fn plans(mut self, plans: crate::plan::Plans) -> Self {
        self.plans = Some(plans);
        self
    }
    /// The billing gateway (default: [`MockBilling`]).
    #[must_use]
    pub fn billing(mut self, billing: Arc<dyn BillingGateway>) -> Self {
        self.billing = Some(billing);
        self
    }
    /// The clock (default: [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// The id generator (default: [`RandomIds`]).
    #[must_use]
    pub fn ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = Some(ids);
        self
    }
    /// The token cipher that seals social OAuth tokens at rest.
    #[must_use]
    pub fn cipher(mut self, cipher: Arc<dyn TokenCipher>) -> Self {
        self.cipher = Some(cipher);
        self
    }
    /// The password hasher (default: argon2id with OWASP parameters).
    #[must_use]
    pub fn hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }
    /// How many password hashes may run at once and how long a request waits for a slot
    /// (default: one per core, 2 s).
    #[must_use]
    pub fn hash_concurrency(mut self, settings: HashConcurrency) -> Self {
        self.hash_concurrency = Some(settings);
        self
    }
    /// The failed-password throttle (default: locked after 5 consecutive failures for 1 s,
    /// doubling to 15 min). Its counts live in this process's memory.
    #[must_use]
    pub fn login_throttle(mut self, policy: LoginThrottlePolicy) -> Self {
        self.login_throttle = Some(policy);
        self
    }
    /// How long a refresh token lives (default: 7 days).
    #[must_use]
    pub fn refresh_token_ttl(mut self, ttl: chrono::Duration) -> Self {
        self.refresh_token_ttl = Some(ttl);
        self
    }

    /// How many active API keys a user may hold (default: [`DEFAULT_MAX_API_KEYS`], 25).
    #[must_use]
    pub fn max_api_keys(mut self, max: u32) -> Self {
        self.max_api_keys = Some(max);
        self
    }

    /// Which addresses webhook deliveries may reach (default: public addresses only; loopback
    /// only when the operator sets `POSTPILOT_WEBHOOK_ALLOW_LOOPBACK=1`).
    #[must_use]
    pub fn webhook_addresses(mut self, policy: crate::event::address::AddressPolicy) -> Self {
        self.address_policy = policy;
        self
    }

    /// Resolves webhook endpoint hosts (default: the operating system's resolver).
    #[must_use]
    pub fn resolver(mut self, resolver: Arc<dyn crate::event::address::HostResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The publishing caps the platforms do not report (default: TikTok
    /// [`DEFAULT_TIKTOK_DAILY_CAP`](crate::post::DEFAULT_TIKTOK_DAILY_CAP) posts a day).
    #[must_use]
    pub fn publishing_caps(mut self, caps: crate::post::PublishingCaps) -> Self {
        self.publishing_caps = Some(caps);
        self
    }

    /// A demo or test engine: every platform without a registered publisher gets a
    /// [`SimulatedPublisher`] (posts are "published" in memory), and without a configured cipher
    /// tokens are sealed with a random key that dies with the process.
    #[must_use]
    pub fn simulated(mut self) -> Self {
        self.simulated = true;
        self
    }

    /// The engine.
    ///
    /// # Errors
    /// [`BuildError`] when no platform has a publisher or no cipher is configured (unless
    /// [`simulated`](Self::simulated)). A platform without a publisher is not offered: its
    /// accounts cannot be connected.
    pub fn build(self) -> Result<Engine, BuildError> {
        if !self.simulated {
            if self.publishers.is_empty() {
                return Err(BuildError::NoPublisher);
            }
            if self.cipher.is_none() {
                return Err(BuildError::MissingCipher);
            }
        }
        Ok(self.assemble())
    }

    fn assemble(self) -> Engine {
        let mut publishers = self.publishers;
        if self.simulated {
            for platform in Platform::ALL {
                publishers
                    .entry(platform)
                    .or_insert_with(|| Arc::new(SimulatedPublisher::new(platform)));
            }
        }
        let cipher = self.cipher.unwrap_or_else(|| {
            let key_id =
                KeyId::parse("ephemeral").unwrap_or_else(|_| unreachable!("valid literal"));
            Arc::new(XChaChaTokenCipher::generate(key_id))
        });
        Engine {
            deps: Arc::new(Deps {
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                publishers,
                oauth: self.oauth,
                captions: self
                    .captions
                    .unwrap_or_else(|| Arc::new(TemplateCaptions::new())),
                generation_limit: crate::caption::limit::GenerationLimit::new(
                    self.generations_per_minute,
                ),
                billing: self
                    .billing
                    .unwrap_or_else(|| Arc::new(MockBilling::default())),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                ids: self.ids.unwrap_or_else(|| Arc::new(RandomIds)),
                cipher,
                hasher: self
                    .hasher
                    .unwrap_or_else(|| Arc::new(Argon2Hasher::owasp())),
                hash_gate: HashGate::new(self.hash_concurrency.unwrap_or_default()),
                login_throttle: LoginThrottle::new(self.login_throttle.unwrap_or_default()),
                refresh_token_ttl: self
                    .refresh_token_ttl
                    .unwrap_or_else(|| chrono::Duration::days(7)),
                max_api_keys: self.max_api_keys.unwrap_or(DEFAULT_MAX_API_KEYS),
                plans: self.plans.unwrap_or_default(),
                publishing_caps: self.publishing_caps.unwrap_or_default(),
                cap_read_failed: std::sync::Mutex::default(),
                metrics: Arc::default(),
                address_policy: self.address_policy,
                resolver: self
                    .resolver
                    .unwrap_or_else(|| Arc::new(crate::event::address::SystemResolver::default())),
            }),
        }
    }
}
