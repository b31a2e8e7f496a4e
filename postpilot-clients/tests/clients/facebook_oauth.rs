//! Facebook Login for Pages against the fake: the consent URL, a code exchanged for one account
//! per Page the merchant may publish on — each with its own Page token — refusals, and the
//! whole connect flow through the engine followed by a post on the second Page, sent with that
//! Page's token (the wrong-token bug of gitroomhq/postiz-app #1679, #1881).

use std::sync::Arc;

use chrono::{Duration, Utc};
use postpilot_clients::facebook::{
    FacebookConfig, FacebookOAuth, FacebookOAuthConfig, FacebookPublisher,
};
use postpilot_clients::testing::{
    FAKE_APP_ID, FAKE_APP_SECRET, FAKE_PAGE, FAKE_PAGE_TOKEN, FAKE_SECOND_PAGE,
    FAKE_SECOND_PAGE_TOKEN, FakeFacebook, FbCall,
};
use postpilot_core::Engine;
use postpilot_core::account::{OAuthError, OAuthProvider};
use postpilot_core::clock::{Clock, ManualClock};
use postpilot_core::crypto::SecretString;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, PostStatus};
use postpilot_core::publish::DispatcherConfig;

const REDIRECT: &str = "https://app.example.com/api/v1/oauth/facebook/callback";

fn provider(fake: &FakeFacebook, secret: &str) -> FacebookOAuth {
    FacebookOAuth::new(FacebookOAuthConfig {
        www_url: fake.base_url.clone(),
        graph_url: fake.base_url.clone(),
        ..FacebookOAuthConfig::new(FAKE_APP_ID, SecretString::new(secret))
    })
    .unwrap()
}

use crate::shop::param;

#[tokio::test]
async fn the_consent_url_is_facebook_logins_dialog_with_the_page_permissions() {
    let fake = FakeFacebook::start().await;
    let url = provider(&fake, FAKE_APP_SECRET).authorize_url("st+ate", REDIRECT);

    assert!(
        url.starts_with(&format!("{}/v23.0/dialog/oauth?", fake.base_url)),
        "{url}"
    );
    assert_eq!(param(&url, "client_id").as_deref(), Some(FAKE_APP_ID));
    assert_eq!(param(&url, "redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(param(&url, "state").as_deref(), Some("st+ate"));
    let scope = param(&url, "scope").unwrap();
    for permission in [
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
    ] {
        assert!(scope.split(',').any(|s| s == permission), "{scope}");
    }
    assert!(!url.contains(FAKE_APP_SECRET));
}

#[tokio::test]
async fn a_code_becomes_one_account_per_page_the_merchant_may_publish_on_with_its_own_token() {
    let fake = FakeFacebook::start().await;

    let granted = provider(&fake, FAKE_APP_SECRET)
        .exchange(&fake.issue_code(), REDIRECT)
        .await
        .unwrap();

    let pages: Vec<(&str, &str, &str)> = granted
        .iter()
        .map(|g| {
            (
                g.external_id.as_ref(),
                g.name.as_ref(),
                g.access_token.expose(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        vec![
            (FAKE_PAGE, "Aurora Lamps", FAKE_PAGE_TOKEN),
            (FAKE_SECOND_PAGE, "Aurora Outlet", FAKE_SECOND_PAGE_TOKEN),
        ],
        "the Page the merchant may only analyse is left out"
    );
    assert!(
        granted.iter().all(|g| g.expires_in.is_none()),
        "Page tokens do not expire"
    );
}

#[tokio::test]
async fn a_used_code_or_a_wrong_secret_is_refused() {
    let fake = FakeFacebook::start().await;
    let code = fake.issue_code();
    provider(&fake, FAKE_APP_SECRET)
        .exchange(&code, REDIRECT)
        .await
        .unwrap();

    let again = provider(&fake, FAKE_APP_SECRET)
        .exchange(&code, REDIRECT)
        .await;
    let wrong = provider(&fake, "not-the-secret")
        .exchange(&fake.issue_code(), REDIRECT)
        .await;

    assert!(
        matches!(again, Err(OAuthError::Refused(ref m)) if m.contains("used")),
        "{again:?}"
    );
    assert!(matches!(wrong, Err(OAuthError::Refused(_))), "{wrong:?}");
}

#[tokio::test]
async fn connecting_through_the_engine_stores_each_page_and_posts_with_that_pages_token() {
    let fake = FakeFacebook::start().await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::builder()
        .simulated()
        .clock(clock.clone())
        .publisher(
            Platform::Facebook,
            Arc::new(
                FacebookPublisher::new(FacebookConfig {
                    graph_url: fake.base_url.clone(),
                    ..FacebookConfig::default()
                })
                .unwrap(),
            ),
        )
        .oauth(
            Platform::Facebook,
            Arc::new(provider(&fake, FAKE_APP_SECRET)),
        )
        .build()
        .unwrap();

    let (user, connected) =
        crate::shop::oauth_connect(&engine, Platform::Facebook, &fake.issue_code(), REDIRECT).await;
    let outlet = connected
        .accounts
        .iter()
        .find(|a| a.account_id_external().as_ref() == FAKE_SECOND_PAGE)
        .unwrap()
        .clone();
    let post = engine
        .posts()
        .create(
            user.id(),
            CreatePost {
                account_id: outlet.id(),
                content: "Outlet weekend: every lamp 20 % off".into(),
                media_urls: vec![],
                hashtags: vec![],
                scheduled_for: Some(clock.now() + Duration::seconds(1)),
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await
        .unwrap();
    clock.advance(Duration::seconds(1));
    let worker = engine.dispatcher("w", DispatcherConfig::default()).unwrap();
    worker.run_once().await.unwrap();
    worker.run_once().await.unwrap();

    assert_eq!(connected.accounts.len(), 2);
    let stored = engine.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Posted, "{stored:?}");
    let made = fake.posts();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].page, FAKE_SECOND_PAGE);
    let sent = fake.seen(FbCall::Post);
    assert_eq!(sent[0].1.as_deref(), Some(FAKE_SECOND_PAGE_TOKEN));
}
