//! API-key limits: failed lookups are budgeted per client address (checked before any lookup),
//! all of a user's keys and sessions share the user's budget, a user holds at most 25 active
//! keys, and a limited request writes nothing (`last_used_at`).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use postpilot_core::page::PageRequest;
use serde_json::json;

use crate::test_app::{self, Reply, TestApp, assert_problem};

const BOGUS: &str = "po_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

async fn from(app: &TestApp, address: &str, key: &str) -> Reply {
    via(app, address, None, key).await
}

/// A request from `peer`, carrying `X-Forwarded-For: forwarded` when given.
async fn via(app: &TestApp, address: &str, forwarded: Option<&str>, key: &str) -> Reply {
    let mut request = Request::builder()
        .method(Method::GET)
        .uri("/api/v1/posts")
        .header("x-api-key", key);
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = format!("{address}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.raw(request).await
}

async fn pro_key(app: &TestApp, email: &str) -> (String, String) {
    let token = app.token(email).await;
    app.upgrade(&token, "pro").await;
    let key = app.create_api_key(&token, &[]).await;
    (token, key)
}

#[tokio::test]
async fn failed_key_lookups_are_limited_per_client_address_before_any_lookup() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        api_key_failures_per_min: 3,
        ..c
    });
    let (_, good) = pro_key(&app, "guessed@example.com").await;
    for _ in 0..3 {
        assert_problem(
            &from(&app, "203.0.113.7", BOGUS).await,
            StatusCode::UNAUTHORIZED,
        );
    }
    assert_problem(
        &from(&app, "203.0.113.7", "not-even-a-key").await,
        StatusCode::TOO_MANY_REQUESTS,
    );

    let limited = from(&app, "203.0.113.7", BOGUS).await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    // The guessing address is refused before its keys are looked up, whatever they are.
    assert_problem(
        &from(&app, "203.0.113.7", &good).await,
        StatusCode::TOO_MANY_REQUESTS,
    );
    // Other addresses, and successful lookups, are not charged.
    for _ in 0..5 {
        assert_eq!(
            from(&app, "198.51.100.2", &good).await.status,
            StatusCode::OK
        );
    }
    assert_problem(
        &from(&app, "198.51.100.2", BOGUS).await,
        StatusCode::UNAUTHORIZED,
    );
}

/// Makes `user` a pro user without spending any of their request budget.
async fn grant_pro(app: &TestApp, user: postpilot_core::id::UserId) {
    app.engine
        .billing()
        .grant_plan(
            user,
            postpilot_core::plan::PlanTier::Pro,
            postpilot_core::billing::SubscriptionStatus::Active,
        )
        .await
        .unwrap();
}

/// A pro user registered through the API (not charged to their budget) and two keys made
/// through the engine: (session token, key one, key two).
async fn user_with_two_keys(
    app: &TestApp,
    email: &str,
) -> (
    String,
    postpilot_core::api_key::ApiKeySecret,
    postpilot_core::api_key::ApiKeySecret,
) {
    let token = app.token(email).await;
    let user = app
        .engine
        .auth()
        .login(email, test_app::PASSWORD)
        .await
        .unwrap();
    grant_pro(app, user.id()).await;
    let keys = app.engine.api_keys();
    let one = keys.create(user.id(), "one", &[]).await.unwrap().secret;
    let two = keys.create(user.id(), "two", &[]).await.unwrap().secret;
    (token, one, two)
}

#[tokio::test]
async fn behind_a_trusted_proxy_failed_lookups_are_counted_per_forwarded_client() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        api_key_failures_per_min: 2,
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        ..c
    });
    let (_, good) = pro_key(&app, "proxied@example.com").await;
    for _ in 0..2 {
        let reply = via(&app, "10.0.0.1", Some("203.0.113.7"), BOGUS).await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED);
    }
    let guesser = via(&app, "10.0.0.1", Some("203.0.113.7"), BOGUS).await;
    assert_problem(&guesser, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not locked out by the guesser.
    let neighbour = via(&app, "10.0.0.1", Some("198.51.100.2"), &good).await;
    assert_eq!(neighbour.status, StatusCode::OK, "{}", neighbour.body);
}

#[tokio::test]
async fn a_users_keys_and_sessions_share_one_budget() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        rate_limit_per_min: 4,
        ..c
    });
    let (token, one, two) = user_with_two_keys(&app, "shared@example.com").await;
    let (_, other, _) = user_with_two_keys(&app, "other@example.com").await;

    let mut replies = Vec::new();
    for caller in [Some(&one), Some(&two), Some(&one), None, Some(&two), None] {
        let reply = match caller {
            Some(key) => {
                app.as_key(key.expose(), Method::GET, "/api/v1/posts", None)
                    .await
            }
            None => {
                app.as_user(&token, Method::GET, "/api/v1/posts", None)
                    .await
            }
        };
        replies.push(reply.status);
    }

    assert_eq!(&replies[..4], &[StatusCode::OK; 4], "{replies:?}");
    assert_eq!(
        &replies[4..],
        &[StatusCode::TOO_MANY_REQUESTS; 2],
        "{replies:?}"
    );
    let elsewhere = app
        .as_key(other.expose(), Method::GET, "/api/v1/posts", None)
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::OK,
        "another user's budget is their own"
    );
}

#[tokio::test]
async fn a_user_holds_at_most_25_active_keys_and_a_revoked_one_frees_a_place() {
    let app = TestApp::new();
    let token = app.token("many@example.com").await;
    app.upgrade(&token, "pro").await;
    for _ in 0..25 {
        app.create_api_key(&token, &[]).await;
    }
    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "26th"})),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().unwrap().contains("25"),
        "{problem}"
    );
    let listed = app
        .as_user(&token, Method::GET, "/api/v1/api-keys?per_page=1", None)
        .await;
    assert_eq!(listed.body["total"], 25);
    let last = listed.body["items"][0]["id"].as_str().unwrap();
    let revoked = app
        .as_user(
            &token,
            Method::DELETE,
            &format!("/api/v1/api-keys/{last}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    app.create_api_key(&token, &[]).await;
}

#[tokio::test]
async fn a_rate_limited_key_request_writes_nothing() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        rate_limit_per_min: 1,
        ..c
    });
    let user = app
        .engine
        .auth()
        .register("quiet@example.com", test_app::PASSWORD)
        .await
        .unwrap();
    grant_pro(&app, user.id()).await;
    let key = app
        .engine
        .api_keys()
        .create(user.id(), "k", &[])
        .await
        .unwrap()
        .secret;
    let owner = user.id();
    let used_at = |app: &TestApp| {
        let engine = app.engine.clone();
        async move {
            engine
                .api_keys()
                .list(owner, PageRequest::default())
                .await
                .unwrap()
                .items[0]
                .last_used_at()
        }
    };

    let first = app
        .as_key(key.expose(), Method::GET, "/api/v1/posts", None)
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let after_first = used_at(&app).await;
    assert!(after_first.is_some());
    app.clock.advance(chrono::Duration::seconds(5));
    let second = app
        .as_key(key.expose(), Method::GET, "/api/v1/posts", None)
        .await;

    assert_problem(&second, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        used_at(&app).await,
        after_first,
        "last_used_at was not written"
    );
}
