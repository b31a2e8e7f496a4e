#![allow(unreachable_pub, dead_code)]
//! The arrangement the platform tests share: an engine on a manual clock whose publisher for
//! one platform talks to that platform's fake, and a merchant with one connected account holding
//! the token the fake accepts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, Utc};
use postpilot_core::Engine;
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId, SocialAccount};
use postpilot_core::analytics::MetricCounts;
use postpilot_core::clock::{Clock, ManualClock};
use postpilot_core::crypto::SecretString;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, Post, PostStatus};
use postpilot_core::publish::{AttemptOutcome, DispatcherConfig, Publisher, TickReport};
use postpilot_core::user::User;

/// The caption of a shop's posts.
pub const CAPTION: &str = "The Aurora Desk Lamp is back";

/// The account a shop connects: its platform, name, id on the platform and token.
pub struct Account<'a> {
    pub platform: Platform,
    pub name: &'a str,
    pub external_id: &'a str,
    pub token: &'a str,
}

pub struct Shop<F> {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub fake: F,
    pub user: User,
    pub account: SocialAccount,
    /// Posts made so far (with `numbered`, each caption carries its number).
    made: AtomicUsize,
    numbered: bool,
}

impl<F> Shop<F> {
    /// A shop over `fake` whose publisher for `account.platform` is `publisher`. With
    /// `numbered`, the `n`-th post's caption is [`CAPTION`]` (n)` (Facebook tells a post by its
    /// text); otherwise every post has [`CAPTION`].
    pub async fn open(
        fake: F,
        publisher: Arc<dyn Publisher>,
        account: Account<'_>,
        numbered: bool,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let engine = Engine::builder()
            .simulated()
            .clock(clock.clone())
            .publisher(account.platform, publisher)
            .build()
            .unwrap();
        let user = engine
            .auth()
            .register("shop@example.com", "correct horse battery")
            .await
            .unwrap();
        let connected = engine
            .accounts()
            .connect(
                user.id(),
                ConnectAccount {
                    platform: account.platform,
                    account_name: AccountName::parse(account.name).unwrap(),
                    account_id_external: ExternalAccountId::parse(account.external_id).unwrap(),
                    access_token: Some(SecretString::new(account.token)),
                    refresh_token: None,
                },
            )
            .await
            .unwrap();
        Self {
            engine,
            clock,
            fake,
            user,
            account: connected,
            made: AtomicUsize::new(0),
            numbered,
        }
    }

    /// A post of `media` due now, with the hashtags `#lamp #homeoffice`.
    pub async fn due(&self, media: &[&str]) -> Post {
        let n = self.made.fetch_add(1, Ordering::SeqCst);
        let content = if self.numbered {
            format!("{CAPTION} ({n})")
        } else {
            CAPTION.to_owned()
        };
        self.due_with(&content, media).await
    }

    /// A post of `content` and `media` due now, with the hashtags `#lamp #homeoffice`.
    pub async fn due_with(&self, content: &str, media: &[&str]) -> Post {
        let post = self
            .engine
            .posts()
            .create(
                self.user.id(),
                CreatePost {
                    account_id: self.account.id(),
                    content: content.to_owned(),
                    media_urls: media.iter().map(|m| (*m).to_owned()).collect(),
                    hashtags: vec!["lamp".into(), "homeoffice".into()],
                    scheduled_for: Some(self.clock.now() + Duration::seconds(1)),
                    // The shop repeats captions on purpose: these tests are about what the
                    // platform does with a repeat, past PostPilot's own guard.
                    duplicates: postpilot_core::post::Duplicates::Allow,
                },
            )
            .await
            .unwrap();
        self.clock.advance(Duration::seconds(1));
        post
    }

    pub async fn tick(&self) -> TickReport {
        self.engine
            .dispatcher("worker", DispatcherConfig::default())
            .unwrap()
            .run_once()
            .await
            .unwrap()
    }

    /// Ticks, moving the clock on `step` between ticks, until the post leaves `publishing` and
    /// `scheduled`.
    pub async fn publish_stepping(&self, post: &Post, step: Duration) -> Post {
        for _ in 0..20 {
            self.tick().await;
            let now = self.reload(post).await;
            if !matches!(now.status(), PostStatus::Publishing | PostStatus::Scheduled) {
                return now;
            }
            self.clock.advance(step);
        }
        panic!("still not published: {:?}", self.reload(post).await);
    }

    /// Whether the account awaits reconnection.
    pub async fn needs_reconnect(&self) -> bool {
        self.engine
            .accounts()
            .get(self.user.id(), self.account.id())
            .await
            .unwrap()
            .needs_reconnect()
    }

    /// Refreshes every published post's metrics now; how many were refreshed, and `post`'s
    /// counters.
    pub async fn refresh_metrics(&self, post: &Post) -> (u32, MetricCounts) {
        let refreshed = self
            .engine
            .dispatcher("metrics", DispatcherConfig::default())
            .unwrap()
            .refresh_metrics(Duration::zero(), 10)
            .await
            .unwrap();
        let metrics = self
            .engine
            .analytics()
            .post(self.user.id(), post.id())
            .await
            .unwrap();
        (refreshed, metrics.counts)
    }

    /// The outcomes of the post's attempts, in order.
    pub async fn outcomes(&self, post: &Post) -> Vec<AttemptOutcome> {
        self.engine
            .posts()
            .attempts(self.user.id(), post.id())
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.outcome)
            .collect()
    }

    pub async fn reload(&self, post: &Post) -> Post {
        self.engine
            .posts()
            .get(self.user.id(), post.id())
            .await
            .unwrap()
    }
}

/// A query parameter of `url`, decoded.
pub fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The engine's whole OAuth connect flow for a new merchant: registers, begins, and completes
/// with `code` and the state the consent URL carried.
pub async fn oauth_connect(
    engine: &Engine,
    platform: Platform,
    code: &str,
    redirect: &str,
) -> (User, postpilot_core::account::Connected) {
    let user = engine
        .auth()
        .register("shop@example.com", "correct horse battery")
        .await
        .unwrap();
    if platform == Platform::Facebook {
        // Two Pages are granted: a plan with room for both.
        engine
            .billing()
            .checkout(user.id(), postpilot_core::plan::PlanTier::Pro)
            .await
            .unwrap();
    }
    let url = engine
        .oauth()
        .begin(user.id(), platform, redirect)
        .await
        .unwrap();
    let connected = engine
        .oauth()
        .complete(platform, code, &param(&url, "state").unwrap(), redirect)
        .await
        .unwrap();
    (user, connected)
}
