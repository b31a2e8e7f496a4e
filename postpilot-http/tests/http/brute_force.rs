//! Brute force over HTTP: the address rate limit behind trusted proxies, the per-account
//! failed-password throttle (429 with `Retry-After`), and the hashing cap (503 with
//! `Retry-After`).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use postpilot_core::Engine;
use postpilot_core::clock::ManualClock;
use postpilot_core::crypto::{
    Argon2Hasher, HashConcurrency, HashError, Password, PasswordHasher, Verification,
};
use postpilot_http::{AppState, HttpConfig};
use serde_json::json;
use tokio::sync::Notify;

use crate::test_app::{self, JWT_SECRET, PASSWORD, TestApp, assert_problem};

const WRONG: &str = "not the password";

/// A login as sent by `peer`, with `X-Forwarded-For: forwarded_for` if given.
fn login_request(peer: &str, forwarded_for: Option<&str>, email: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header("content-type", "application/json");
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    let mut request = request
        .body(Body::from(
            json!({"email": email, "password": WRONG}).to_string(),
        ))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    request
}

fn behind_proxy(config: HttpConfig) -> HttpConfig {
    HttpConfig {
        auth_rate_limit_per_min: 2,
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        ..config
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> test_app::Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

fn retry_after(reply: &test_app::Reply) -> u64 {
    reply
        .headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

// --- the client address behind a reverse proxy ---

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_address_bucket() {
    let app = TestApp::with_config(behind_proxy);
    for _ in 0..2 {
        let reply = app
            .raw(login_request(
                "10.0.0.2:40000",
                Some("203.0.113.7"),
                "a@example.com",
            ))
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED);
    }
    let limited = app
        .raw(login_request(
            "10.0.0.2:40000",
            Some("203.0.113.7"),
            "a@example.com",
        ))
        .await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS);

    let other_client = app
        .raw(login_request(
            "10.0.0.2:40000",
            Some("203.0.113.8"),
            "a@example.com",
        ))
        .await;

    assert_problem(&other_client, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_client_cannot_escape_its_bucket_by_forging_forwarded_for() {
    let app = TestApp::with_config(behind_proxy);
    for forged in ["198.51.100.1", "198.51.100.2"] {
        let reply = app
            .raw(login_request(
                "203.0.113.7:40000",
                Some(forged),
                "a@example.com",
            ))
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED);
    }

    let reply = app
        .raw(login_request(
            "203.0.113.7:40000",
            Some("198.51.100.3"),
            "a@example.com",
        ))
        .await;

    assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn through_a_trusted_proxy_a_forged_left_entry_does_not_change_the_bucket() {
    let app = TestApp::with_config(behind_proxy);
    for forged in ["198.51.100.1", "198.51.100.2"] {
        let header = format!("{forged}, 203.0.113.7");
        let reply = app
            .raw(login_request(
                "10.0.0.2:40000",
                Some(&header),
                "a@example.com",
            ))
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED);
    }

    let reply = app
        .raw(login_request(
            "10.0.0.2:40000",
            Some("198.51.100.3, 203.0.113.7"),
            "a@example.com",
        ))
        .await;

    assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS);
}

// --- the per-account throttle ---

#[tokio::test]
async fn five_failed_logins_lock_the_account_with_429_and_retry_after_even_for_the_right_password()
{
    let app = TestApp::new();
    app.token("a@example.com").await;
    for _ in 0..5 {
        assert_problem(
            &login(&app, "a@example.com", WRONG).await,
            StatusCode::UNAUTHORIZED,
        );
    }

    let locked = login(&app, "a@example.com", PASSWORD).await;

    assert_problem(&locked, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&locked), 1);
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        login(&app, "a@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_lock_of_an_unknown_email_answers_exactly_like_that_of_a_registered_one() {
    let app = TestApp::new();
    app.token("a@example.com").await;
    let mut answers = Vec::new();
    for email in ["a@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            login(&app, email, WRONG).await;
        }
        let reply = login(&app, email, WRONG).await;
        assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS);
        answers.push((reply.body.clone(), retry_after(&reply)));
    }

    assert_eq!(answers[0], answers[1]);
}

#[tokio::test]
async fn five_wrong_current_passwords_lock_profile_changes_with_429_and_retry_after() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let change = |current: &str| {
        Some(json!({"password": "a brand new password", "current_password": current}))
    };
    for _ in 0..5 {
        let reply = app
            .as_user(&token, Method::PATCH, "/api/v1/auth/me", change(WRONG))
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED);
    }

    let locked = app
        .as_user(&token, Method::PATCH, "/api/v1/auth/me", change(PASSWORD))
        .await;

    assert_problem(&locked, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&locked), 1);
}

// --- the hashing cap ---

/// A cheap hasher that holds every call until released, counting the calls running.
#[derive(Debug)]
struct HeldHasher {
    inner: Argon2Hasher,
    release: Notify,
    running: AtomicUsize,
}

impl HeldHasher {
    async fn held<T>(&self, work: impl Future<Output = T>) -> T {
        self.running.fetch_add(1, Ordering::SeqCst);
        self.release.notified().await;
        work.await
    }
}

#[async_trait]
impl PasswordHasher for HeldHasher {
    async fn hash(&self, password: &Password) -> Result<String, HashError> {
        self.held(self.inner.hash(password)).await
    }

    async fn verify(&self, password: &Password, stored: &str) -> Verification {
        self.held(self.inner.verify(password, stored)).await
    }
}

#[tokio::test]
async fn a_registration_that_finds_every_hashing_slot_busy_is_503_with_retry_after() {
    let hasher = Arc::new(HeldHasher {
        inner: Argon2Hasher::with_params(64, 1, 1).unwrap(),
        release: Notify::new(),
        running: AtomicUsize::new(0),
    });
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::builder()
        .simulated()
        .clock(clock.clone())
        .hasher(hasher.clone())
        .hash_concurrency(HashConcurrency {
            slots: NonZeroUsize::MIN,
            max_wait: Duration::from_millis(100),
        })
        .build()
        .unwrap();
    let app = TestApp {
        router: postpilot_http::router(
            AppState::new(engine.clone(), HttpConfig::new(JWT_SECRET.to_vec())).unwrap(),
        ),
        engine,
        clock,
    };
    let app = Arc::new(app);
    let register = |email: &str| {
        let app = app.clone();
        let body = json!({"email": email, "password": PASSWORD});
        async move {
            app.send(Method::POST, "/api/v1/auth/register", None, Some(body))
                .await
        }
    };
    let first = tokio::spawn(register("a@example.com"));
    while hasher.running.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }

    let shed = tokio::time::timeout(Duration::from_secs(10), register("b@example.com"))
        .await
        .expect("the second registration must give up on its own");

    let body = assert_problem(&shed, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["type"], "/problems/unavailable");
    assert_eq!(retry_after(&shed), 1);
    hasher.release.notify_one();
    assert_eq!(first.await.unwrap().status, StatusCode::CREATED);
}
