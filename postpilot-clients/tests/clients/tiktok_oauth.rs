//! TikTok's Login Kit against the fake: the consent URL (`client_key`), a code exchanged for a
//! 24-hour access token and a refresh token, refresh tokens that rotate (the old one is spent),
//! and the whole flow through the engine: connect, let the day run down, the worker refreshes
//! (once, under its lease) and the account keeps publishing with the new token.

use std::sync::Arc;

use chrono::{Duration, Utc};
use postpilot_clients::testing::{
    FAKE_TIKTOK_CLIENT_KEY, FAKE_TIKTOK_CLIENT_SECRET, FAKE_TIKTOK_OPEN_ID, FakeTikTok,
};
use postpilot_clients::tiktok::{TikTokConfig, TikTokOAuth, TikTokOAuthConfig, TikTokPublisher};
use postpilot_core::Engine;
use postpilot_core::account::{CurrentTokens, OAuthError, OAuthProvider};
use postpilot_core::clock::{Clock, ManualClock};
use postpilot_core::crypto::SecretString;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, PostStatus};
use postpilot_core::publish::DispatcherConfig;

const ACCESS: &str = "act.first-access-token";
const REDIRECT: &str = "https://app.example.com/api/v1/oauth/tiktok/callback";

fn provider(fake: &FakeTikTok) -> TikTokOAuth {
    TikTokOAuth::new(TikTokOAuthConfig {
        www_url: fake.base_url.clone(),
        api_url: fake.base_url.clone(),
        ..TikTokOAuthConfig::new(
            FAKE_TIKTOK_CLIENT_KEY,
            SecretString::new(FAKE_TIKTOK_CLIENT_SECRET),
        )
    })
    .unwrap()
}

use crate::shop::param;

/// An engine publishing to and connecting with the fake, on a manual clock.
fn engine_over(fake: &FakeTikTok) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::builder()
        .simulated()
        .clock(clock.clone())
        .publisher(
            Platform::Tiktok,
            Arc::new(
                TikTokPublisher::new(TikTokConfig {
                    api_url: fake.base_url.clone(),
                    ..TikTokConfig::default()
                })
                .unwrap(),
            ),
        )
        .oauth(Platform::Tiktok, Arc::new(provider(fake)))
        .build()
        .unwrap();
    (engine, clock)
}

#[tokio::test]
async fn the_consent_url_is_login_kits_with_the_client_key_and_the_publishing_scopes() {
    let fake = FakeTikTok::start(ACCESS, 1).await;
    let url = provider(&fake).authorize_url("st/ate", REDIRECT);

    assert!(
        url.starts_with(&format!("{}/v2/auth/authorize/?", fake.base_url)),
        "{url}"
    );
    assert_eq!(
        param(&url, "client_key").as_deref(),
        Some(FAKE_TIKTOK_CLIENT_KEY)
    );
    assert_eq!(param(&url, "state").as_deref(), Some("st/ate"));
    assert_eq!(param(&url, "redirect_uri").as_deref(), Some(REDIRECT));
    let scope = param(&url, "scope").unwrap();
    assert!(scope.split(',').any(|s| s == "video.publish"), "{scope}");
    assert!(!url.contains(FAKE_TIKTOK_CLIENT_SECRET));
}

#[tokio::test]
async fn a_code_becomes_the_account_with_a_day_long_token_and_a_refresh_token() {
    let fake = FakeTikTok::start(ACCESS, 1).await;

    let granted = provider(&fake)
        .exchange(&fake.issue_code(), REDIRECT)
        .await
        .unwrap();

    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].external_id.as_ref(), FAKE_TIKTOK_OPEN_ID);
    assert_eq!(granted[0].name.as_ref(), "Aurora Lamps");
    assert_eq!(granted[0].access_token.expose(), ACCESS);
    assert_eq!(
        granted[0].refresh_token.as_ref().map(SecretString::expose),
        Some("rft.first")
    );
    assert_eq!(granted[0].expires_in, Some(Duration::hours(24)));
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_and_the_spent_one_is_refused() {
    let fake = FakeTikTok::start(ACCESS, 1).await;
    let tiktok = provider(&fake);
    let current = CurrentTokens {
        access_token: SecretString::new(ACCESS),
        refresh_token: Some(SecretString::new("rft.first")),
    };

    let fresh = tiktok.refresh(&current).await.unwrap();
    let again = tiktok.refresh(&current).await;

    assert_eq!(fresh.access_token.expose(), "act.refreshed-1");
    assert_eq!(
        fresh.refresh_token.as_ref().map(SecretString::expose),
        Some("rft.rotated-1")
    );
    assert!(
        matches!(again, Err(OAuthError::Refused(ref m)) if m.contains("invalid_grant")),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_connected_account_is_refreshed_once_before_its_day_ends_and_keeps_publishing() {
    let fake = FakeTikTok::start(ACCESS, 1).await;
    let (engine, clock) = engine_over(&fake);
    let (user, connected) =
        crate::shop::oauth_connect(&engine, Platform::Tiktok, &fake.issue_code(), REDIRECT).await;
    let account = connected.accounts[0].clone();
    let worker = engine.dispatcher("w", DispatcherConfig::default()).unwrap();

    // Twelve hours in: not yet (six hours ahead of expiry); twenty hours in: refreshed.
    clock.advance(Duration::hours(12));
    let early = worker.refresh_tokens(Duration::days(7)).await.unwrap();
    clock.advance(Duration::hours(8));
    let due = worker.refresh_tokens(Duration::days(7)).await.unwrap();
    let post = engine
        .posts()
        .create(
            user.id(),
            CreatePost {
                account_id: account.id(),
                content: "Still connected".into(),
                media_urls: vec!["https://cdn.example.com/lamp.mp4".into()],
                hashtags: vec![],
                scheduled_for: Some(clock.now() + Duration::seconds(1)),
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await
        .unwrap();
    for _ in 0..5 {
        clock.advance(Duration::seconds(30));
        worker.run_once().await.unwrap();
    }

    assert_eq!(
        (early.refreshed, due.refreshed),
        (0, 1),
        "{early:?} {due:?}"
    );
    assert_eq!(fake.refreshes(), 1);
    assert_eq!(fake.tokens().0, "act.refreshed-1");
    let stored = engine.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Posted, "{stored:?}");
}

#[tokio::test]
async fn a_lapsed_token_refused_while_publishing_is_refreshed_not_reported() {
    let fake = FakeTikTok::start(ACCESS, 1).await;
    let (engine, clock) = engine_over(&fake);
    let (user, connected) =
        crate::shop::oauth_connect(&engine, Platform::Tiktok, &fake.issue_code(), REDIRECT).await;
    let account = connected.accounts[0].clone();
    // A refresh run was missed: the access token lapsed, the refresh token still works.
    fake.lapse_access_token();
    let post = engine
        .posts()
        .create(
            user.id(),
            CreatePost {
                account_id: account.id(),
                content: "Back in stock".into(),
                media_urls: vec!["https://cdn.example.com/lamp.mp4".into()],
                hashtags: vec![],
                scheduled_for: Some(clock.now() + Duration::seconds(1)),
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await
        .unwrap();
    let worker = engine.dispatcher("w", DispatcherConfig::default()).unwrap();
    for _ in 0..6 {
        clock.advance(Duration::seconds(30));
        worker.run_once().await.unwrap();
    }

    let stored = engine.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Posted, "{stored:?}");
    assert_eq!(fake.refreshes(), 1);
    let account = engine
        .accounts()
        .get(user.id(), account.id())
        .await
        .unwrap();
    assert!(!account.needs_reconnect(), "refreshed, not reported");
}
