#![allow(unreachable_pub)]
//! Shared arrangement for the service tests: an engine on a manual clock, users, accounts,
//! plans. Each test builds its own engine; nothing is shared between tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use postpilot_core::Engine;
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId, SocialAccount};
use postpilot_core::caption::{ProductData, ProductDataWire};
use postpilot_core::clock::ManualClock;
use postpilot_core::crypto::Argon2Hasher;
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, Post};
use postpilot_core::publish::SimulatedPublisher;
use postpilot_core::store::MemoryStore;
use postpilot_core::user::User;

/// A DNS zone with fixed answers, so no test reaches the real resolver: `hooks.example.com` is
/// public, `internal.example.com` points at loopback (a rebinding attacker's name).
#[derive(Debug)]
pub struct TestZone;

#[async_trait::async_trait]
impl postpilot_core::event::address::HostResolver for TestZone {
    async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<std::net::IpAddr>> {
        let answer = match host {
            "hooks.example.com" | "other.example.com" => "93.184.216.34",
            "internal.example.com" => "127.0.0.1",
            _ => return Err(std::io::ErrorKind::NotFound.into()),
        };
        Ok(vec![answer.parse().unwrap()])
    }
}

/// 2026-03-15 12:00:00 UTC, where every test's clock starts.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
}

/// An engine with a manual clock, cheap password hashing, and one simulated publisher per
/// platform that the test can reach.
pub struct TestEngine {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub store: Arc<MemoryStore>,
    pub instagram: Arc<SimulatedPublisher>,
    pub facebook: Arc<SimulatedPublisher>,
    pub tiktok: Arc<SimulatedPublisher>,
}

impl std::ops::Deref for TestEngine {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl TestEngine {
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        let store = Arc::new(MemoryStore::new());
        let instagram = Arc::new(SimulatedPublisher::new(Platform::Instagram));
        let facebook = Arc::new(SimulatedPublisher::new(Platform::Facebook));
        let tiktok = Arc::new(SimulatedPublisher::new(Platform::Tiktok));
        let engine = Engine::builder()
            .simulated()
            .clock(clock.clone())
            .store(store.clone())
            .hasher(Arc::new(Argon2Hasher::with_params(64, 1, 1).unwrap()))
            .publisher(Platform::Instagram, instagram.clone())
            .publisher(Platform::Facebook, facebook.clone())
            .publisher(Platform::Tiktok, tiktok.clone())
            .resolver(Arc::new(TestZone))
            .build()
            .unwrap();
        Self {
            engine,
            clock,
            store,
            instagram,
            facebook,
            tiktok,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        postpilot_core::clock::Clock::now(self.clock.as_ref())
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Registers `email` with a valid password.
    pub async fn user(&self, email: &str) -> User {
        self.auth()
            .register(email, "correct horse battery")
            .await
            .unwrap()
    }

    /// Moves the user to `plan` through mock checkout (free: no-op).
    pub async fn on_plan(&self, user: &User, plan: PlanTier) {
        if plan != PlanTier::Free {
            self.billing().checkout(user.id(), plan).await.unwrap();
        }
    }

    /// Connects an account of `platform` with external id `external`.
    pub async fn connect(&self, user: &User, platform: Platform, external: &str) -> SocialAccount {
        self.accounts()
            .connect(user.id(), connect_request(platform, external))
            .await
            .unwrap()
    }

    /// Creates a valid post for `account` (draft unless `at` is given).
    pub async fn post(
        &self,
        user: &User,
        account: &SocialAccount,
        at: Option<DateTime<Utc>>,
    ) -> Post {
        self.posts()
            .create(user.id(), create_post(account, at))
            .await
            .unwrap()
    }
}

pub fn connect_request(platform: Platform, external: &str) -> ConnectAccount {
    ConnectAccount {
        platform,
        account_name: AccountName::parse(format!("@{external}")).unwrap(),
        account_id_external: ExternalAccountId::parse(external).unwrap(),
        access_token: None,
        refresh_token: None,
    }
}

/// A post request valid on every platform for `account` (an MP4 satisfies all media rules).
/// Each request's caption is numbered, so posts made from it are never duplicates of each
/// other (the duplicate guard refuses the same caption on an account within 24 hours).
pub fn create_post(account: &SocialAccount, at: Option<DateTime<Utc>>) -> CreatePost {
    static NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let number = NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    CreatePost {
        account_id: account.id(),
        content: format!("New drop: the Aurora Desk Lamp, no. {number}"),
        media_urls: vec!["https://cdn.example.com/aurora.mp4".into()],
        hashtags: vec!["lamp".into(), "#HomeOffice".into()],
        scheduled_for: at,
        duplicates: postpilot_core::post::Duplicates::Refuse,
    }
}

/// Product data with an image, valid for every platform's media rule when approved.
pub fn product(title: &str) -> ProductData {
    ProductData::parse(ProductDataWire {
        title: title.into(),
        description: Some("A dimmable LED lamp with a warm glow.".into()),
        image_urls: vec!["https://cdn.example.com/product.jpg".into()],
        tags: vec!["desk lamp".into()],
        ..ProductDataWire::default()
    })
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Queue, dispatcher and port-replacement helpers (fully qualified paths: no new `use` lines).
// ---------------------------------------------------------------------------------------------

impl TestEngine {
    /// Like [`TestEngine::new`], but `configure` may replace ports (a mock caption generator,
    /// publisher, billing gateway or store) before the engine is built. A publisher replaced
    /// this way is no longer the matching `instagram`/`facebook`/`tiktok` field; a store
    /// replaced this way is no longer `store`.
    pub fn with_ports(
        configure: impl FnOnce(postpilot_core::EngineBuilder) -> postpilot_core::EngineBuilder,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        let store = Arc::new(MemoryStore::new());
        let instagram = Arc::new(SimulatedPublisher::new(Platform::Instagram));
        let facebook = Arc::new(SimulatedPublisher::new(Platform::Facebook));
        let tiktok = Arc::new(SimulatedPublisher::new(Platform::Tiktok));
        let builder = Engine::builder()
            .simulated()
            .clock(clock.clone())
            .store(store.clone())
            .hasher(Arc::new(Argon2Hasher::with_params(64, 1, 1).unwrap()))
            .publisher(Platform::Instagram, instagram.clone())
            .publisher(Platform::Facebook, facebook.clone())
            .publisher(Platform::Tiktok, tiktok.clone());
        Self {
            engine: configure(builder).build().unwrap(),
            clock,
            store,
            instagram,
            facebook,
            tiktok,
        }
    }

    /// Registers `email` and moves it to the pro plan (200 posts/month, 10 accounts).
    pub async fn pro_user(&self, email: &str) -> User {
        let user = self.user(email).await;
        self.on_plan(&user, PlanTier::Pro).await;
        user
    }

    /// One tick of a dispatcher named `test-worker` with the default settings.
    pub async fn tick(&self) -> postpilot_core::publish::TickReport {
        self.dispatcher(
            "test-worker",
            postpilot_core::publish::DispatcherConfig::default(),
        )
        .unwrap()
        .run_once()
        .await
        .unwrap()
    }

    /// A pending queue item generated (professional tone) from [`product`]`(title)` for
    /// `platforms`.
    pub async fn queue_item(
        &self,
        user: &User,
        title: &str,
        platforms: &[Platform],
    ) -> postpilot_core::queue::QueueItem {
        self.queue()
            .generate(
                user.id(),
                product(title),
                platforms.to_vec(),
                postpilot_core::caption::Tone::Professional,
            )
            .await
            .unwrap()
    }

    /// The user's posts (first 100), newest first.
    pub async fn posts_of(&self, user: &User) -> Vec<Post> {
        self.posts()
            .list(
                user.id(),
                postpilot_core::post::PostFilter::default(),
                postpilot_core::page::PageRequest::new(Some(1), Some(100)).unwrap(),
            )
            .await
            .unwrap()
            .items
    }
}

/// Runs a future of the in-memory engine, which never waits, to completion in place: lets a
/// hooked port run another request synchronously between a service's read and its write.
pub fn run_now<T>(future: impl std::future::Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => panic!("the in-memory engine was expected not to wait"),
    }
}
