//! Business Login for Instagram against the fake: the consent URL, the code exchanged for a
//! long-lived token and the account read, refusals, and the whole connect flow through the
//! engine followed by a publication with the token it stored.

use std::sync::Arc;

use chrono::{Duration, Utc};
use postpilot_clients::instagram::{
    InstagramConfig, InstagramOAuth, InstagramOAuthConfig, InstagramPublisher,
};
use postpilot_clients::testing::{FAKE_APP_ID, FAKE_APP_SECRET, FAKE_IG_USER, FakeInstagram};
use postpilot_core::Engine;
use postpilot_core::account::{CurrentTokens, OAuthError, OAuthProvider};
use postpilot_core::clock::{Clock, ManualClock};
use postpilot_core::crypto::SecretString;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, PostStatus};
use postpilot_core::publish::DispatcherConfig;

const TOKEN: &str = "IGQVJ-long-lived";
const REDIRECT: &str = "https://app.example.com/api/v1/oauth/instagram/callback";

fn provider(fake: &FakeInstagram, secret: &str) -> InstagramOAuth {
    InstagramOAuth::new(InstagramOAuthConfig {
        www_url: fake.base_url.clone(),
        api_url: fake.base_url.clone(),
        graph_url: fake.base_url.clone(),
        ..InstagramOAuthConfig::new(FAKE_APP_ID, SecretString::new(secret))
    })
    .unwrap()
}

use crate::shop::param;

#[tokio::test]
async fn the_consent_url_asks_instagram_for_a_code_with_the_state_and_the_permissions() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let url = provider(&fake, FAKE_APP_SECRET).authorize_url("s t/a+te", REDIRECT);

    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", fake.base_url)),
        "{url}"
    );
    assert_eq!(param(&url, "client_id").as_deref(), Some(FAKE_APP_ID));
    assert_eq!(param(&url, "redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&url, "state").as_deref(), Some("s t/a+te"));
    let scope = param(&url, "scope").unwrap();
    assert!(
        scope.contains("instagram_business_content_publish"),
        "{scope}"
    );
    assert!(!url.contains(FAKE_APP_SECRET));
}

#[tokio::test]
async fn a_code_becomes_a_long_lived_token_for_the_professional_account() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let code = fake.issue_code();

    let granted = provider(&fake, FAKE_APP_SECRET)
        .exchange(&code, REDIRECT)
        .await
        .unwrap();

    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].external_id.as_ref(), FAKE_IG_USER);
    assert_eq!(granted[0].name.as_ref(), "@aurora.shop");
    assert_eq!(granted[0].access_token.expose(), TOKEN);
    assert_eq!(granted[0].expires_in, Some(Duration::days(60)));
}

#[tokio::test]
async fn a_used_code_or_a_wrong_secret_is_refused_without_the_secret_in_the_reason() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let code = fake.issue_code();
    provider(&fake, FAKE_APP_SECRET)
        .exchange(&code, REDIRECT)
        .await
        .unwrap();

    let reused = provider(&fake, FAKE_APP_SECRET)
        .exchange(&code, REDIRECT)
        .await
        .unwrap_err();
    let fresh = fake.issue_code();
    let wrong_secret = provider(&fake, "not-the-secret")
        .exchange(&fresh, REDIRECT)
        .await
        .unwrap_err();

    for error in [reused, wrong_secret] {
        let OAuthError::Refused(reason) = &error else {
            panic!("{error:?}");
        };
        assert!(
            reason.contains("Error validating verification code"),
            "{reason}"
        );
        assert!(!reason.contains(FAKE_APP_SECRET) && !reason.contains("not-the-secret"));
    }
}

#[tokio::test]
async fn an_account_connected_by_oauth_publishes_with_the_token_it_was_granted() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let publisher = InstagramPublisher::new(InstagramConfig {
        graph_url: fake.base_url.clone(),
        ..InstagramConfig::default()
    })
    .unwrap();
    let engine = Engine::builder()
        .simulated()
        .clock(clock.clone())
        .publisher(Platform::Instagram, Arc::new(publisher))
        .oauth(
            Platform::Instagram,
            Arc::new(provider(&fake, FAKE_APP_SECRET)),
        )
        .build()
        .unwrap();
    let user = engine
        .auth()
        .register("shop@example.com", "correct horse battery")
        .await
        .unwrap();

    let url = engine
        .oauth()
        .begin(user.id(), Platform::Instagram, REDIRECT)
        .await
        .unwrap();
    let state = param(&url, "state").unwrap();
    let connected = engine
        .oauth()
        .complete(Platform::Instagram, &fake.issue_code(), &state, REDIRECT)
        .await
        .unwrap();
    let account = &connected.accounts[0];
    let post = engine
        .posts()
        .create(
            user.id(),
            CreatePost {
                account_id: account.id(),
                content: "Connected and live".into(),
                media_urls: vec!["https://cdn.example.com/lamp.jpg".into()],
                hashtags: vec![],
                scheduled_for: Some(clock.now() + Duration::seconds(1)),
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await
        .unwrap();
    clock.advance(Duration::seconds(1));
    engine
        .dispatcher("w", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    let stored = engine.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(account.account_id_external().as_ref(), FAKE_IG_USER);
    assert_eq!(stored.status(), PostStatus::Posted);
    assert_eq!(fake.media().len(), 1);
}

#[tokio::test]
async fn a_long_lived_token_is_refreshed_and_the_old_one_stops_working() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let ig = provider(&fake, FAKE_APP_SECRET);
    let current = CurrentTokens {
        access_token: SecretString::new(TOKEN),
        refresh_token: None,
    };

    let fresh = ig.refresh(&current).await.unwrap();
    let again = ig.refresh(&current).await.unwrap_err();

    assert_eq!(fresh.access_token.expose(), fake.token());
    assert_ne!(fresh.access_token.expose(), TOKEN);
    assert_eq!(fresh.expires_in, Some(Duration::days(60)));
    assert!(fresh.refresh_token.is_none());
    assert!(
        matches!(&again, OAuthError::Refused(reason) if reason.contains("Session has expired")),
        "{again:?}"
    );
}

#[tokio::test]
async fn the_worker_refreshes_an_expiring_instagram_token_and_publishes_with_the_new_one() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::builder()
        .simulated()
        .clock(clock.clone())
        .publisher(
            Platform::Instagram,
            Arc::new(
                InstagramPublisher::new(InstagramConfig {
                    graph_url: fake.base_url.clone(),
                    ..InstagramConfig::default()
                })
                .unwrap(),
            ),
        )
        .oauth(
            Platform::Instagram,
            Arc::new(provider(&fake, FAKE_APP_SECRET)),
        )
        .build()
        .unwrap();
    let (user, connected) =
        crate::shop::oauth_connect(&engine, Platform::Instagram, &fake.issue_code(), REDIRECT)
            .await;
    let account = connected.accounts[0].clone();
    clock.advance(Duration::days(55));
    let worker = engine.dispatcher("w", DispatcherConfig::default()).unwrap();

    let report = worker.refresh_tokens(Duration::days(7)).await.unwrap();
    let post = engine
        .posts()
        .create(
            user.id(),
            CreatePost {
                account_id: account.id(),
                content: "Still connected".into(),
                media_urls: vec!["https://cdn.example.com/lamp.jpg".into()],
                hashtags: vec![],
                scheduled_for: Some(clock.now() + Duration::seconds(1)),
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await
        .unwrap();
    clock.advance(Duration::seconds(1));
    worker.run_once().await.unwrap();

    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_ne!(fake.token(), TOKEN);
    let stored = engine.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Posted, "{stored:?}");
    let refreshed = engine
        .accounts()
        .get(user.id(), account.id())
        .await
        .unwrap();
    assert_eq!(
        refreshed.token_expires_at(),
        Some(clock.now() - Duration::seconds(1) + Duration::days(60))
    );
}
