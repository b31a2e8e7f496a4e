//! Shared arrangement for router tests: a router over an in-memory engine (manual clock, cheap
//! password hashing), requests sent with `tower::ServiceExt::oneshot` — no socket.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use postpilot_core::Engine;
use postpilot_core::clock::ManualClock;
use postpilot_core::crypto::Argon2Hasher;
use postpilot_http::{AppState, HttpConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const JWT_SECRET: &[u8] = b"test-secret-test-secret-test-secret!!";
pub const PLATFORM_SECRET: &str = "platform-secret";
pub const STRIPE_SECRET: &str = "whsec_test";
pub const PASSWORD: &str = "correct horse battery";

/// A router and the engine behind it.
pub struct TestApp {
    pub router: Router,
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
}

/// The response of one request.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_config(|c| c)
    }

    pub fn with_config(configure: impl FnOnce(HttpConfig) -> HttpConfig) -> Self {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let engine = Engine::builder()
            .simulated()
            .clock(clock.clone())
            .hasher(Arc::new(Argon2Hasher::with_params(64, 1, 1).unwrap()))
            .build()
            .unwrap();
        let config = configure(HttpConfig {
            platform_webhook_secret: Some(PLATFORM_SECRET.into()),
            stripe_webhook_secret: Some(STRIPE_SECRET.into()),
            rate_limit_per_min: 10_000,
            auth_rate_limit_per_min: 10_000,
            ..HttpConfig::new(JWT_SECRET.to_vec())
        });
        let state = AppState::new(engine.clone(), config).unwrap();
        // As the bundled server serves it: the API, and the pages beside it when built in.
        #[cfg(feature = "ui")]
        let router = postpilot_http::app(state);
        #[cfg(not(feature = "ui"))]
        let router = postpilot_http::router(state);
        Self {
            router,
            engine,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        postpilot_core::clock::Clock::now(self.clock.as_ref())
    }

    /// Sends a request; `auth` is a full header value pair like `("authorization", "Bearer …")`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some((name, value)) = auth {
            request = request.header(name, value);
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        self.raw(request).await
    }

    /// Sends a prepared request.
    pub async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Registers `email` and returns its access token.
    pub async fn token(&self, email: &str) -> String {
        let reply = self
            .send(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    /// GET/POST/… as the holder of `token`.
    pub async fn as_user(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let bearer = format!("Bearer {token}");
        self.send(method, path, Some(("authorization", bearer.as_str())), body)
            .await
    }

    /// Upgrades the token's user to `plan` through mock checkout.
    pub async fn upgrade(&self, token: &str, plan: &str) {
        let reply = self
            .as_user(
                token,
                Method::POST,
                "/api/v1/billing/checkout",
                Some(json!({"plan": plan})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }

    /// Connects an account and returns its id.
    pub async fn account(&self, token: &str, platform: &str, external: &str) -> String {
        let reply = self
            .as_user(
                token,
                Method::POST,
                "/api/v1/accounts",
                Some(json!({"platform": platform, "account_name": format!("@{external}"), "account_id_external": external})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a Facebook-valid post on `account` and returns its id.
    pub async fn post(&self, token: &str, account: &str) -> String {
        let reply = self
            .as_user(
                token,
                Method::POST,
                "/api/v1/posts",
                Some(json!({"account_id": account, "content": "New drop", "media_urls": ["https://cdn.example.com/a.mp4"], "hashtags": ["sale"]})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }
}

/// Asserts a problem+json answer with `status` and returns its body.
pub fn assert_problem(reply: &Reply, status: StatusCode) -> &Value {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{:?}",
        reply.body
    );
    assert_eq!(reply.body["status"], json!(status.as_u16()));
    assert!(
        reply.body["type"].is_string()
            && reply.body["title"].is_string()
            && reply.body["detail"].is_string()
    );
    &reply.body
}

/// The hex HMAC-SHA256 signature a sender puts on `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    postpilot_core::webhook::signature::sign(secret.as_bytes(), timestamp, body.as_bytes())
}

impl TestApp {
    /// Runs one publication tick of a worker over the engine (posts due by the manual clock).
    pub async fn publish_due(&self) -> postpilot_core::publish::TickReport {
        self.engine
            .dispatcher(
                "test-worker",
                postpilot_core::publish::DispatcherConfig::default(),
            )
            .unwrap()
            .run_once()
            .await
            .unwrap()
    }

    /// Fetches metrics for every posted post (as the metrics job would).
    pub async fn refresh_metrics(&self) -> u32 {
        self.engine
            .dispatcher(
                "test-metrics",
                postpilot_core::publish::DispatcherConfig::default(),
            )
            .unwrap()
            .refresh_metrics(chrono::Duration::zero(), 100)
            .await
            .unwrap()
    }

    /// GET/POST/… with an `X-API-Key`.
    pub async fn as_key(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        self.send(method, path, Some(("x-api-key", key)), body)
            .await
    }
}

// --- Helpers for the route test files (auth, accounts, posts, queue, billing). ---

impl TestApp {
    /// Sends `body` as-is with exactly the given headers (no content type is added).
    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.raw(request.body(body.into()).unwrap()).await
    }

    /// Creates an API key with `scopes` (empty: every scope) for a pro/enterprise user; returns
    /// the raw key.
    pub async fn create_api_key(&self, token: &str, scopes: &[&str]) -> String {
        let reply = self
            .as_user(
                token,
                Method::POST,
                "/api/v1/api-keys",
                Some(json!({"name": "ci", "scopes": scopes})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["key"].as_str().unwrap().to_owned()
    }

    /// POSTs `body` signed with the platform secret at the engine clock's time.
    pub async fn send_signed(&self, path: &str, body: &Value) -> Reply {
        let body = body.to_string();
        let timestamp = self.now().timestamp();
        let signature = sign(PLATFORM_SECRET, timestamp, &body);
        let timestamp = timestamp.to_string();
        self.send_with_headers(
            Method::POST,
            path,
            &[
                ("content-type", "application/json"),
                ("x-postpilot-timestamp", timestamp.as_str()),
                ("x-postpilot-signature", signature.as_str()),
            ],
            body,
        )
        .await
    }

    /// The id of the token's user.
    pub async fn user_id(&self, token: &str) -> String {
        let reply = self
            .as_user(token, Method::GET, "/api/v1/auth/me", None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Moves the clock past `by` seconds and runs one dispatcher tick (publishes due posts).
    pub async fn publish_due_after(&self, by_secs: i64) {
        self.clock.advance(chrono::Duration::seconds(by_secs));
        self.engine
            .dispatcher("w", postpilot_core::publish::DispatcherConfig::default())
            .unwrap()
            .run_once()
            .await
            .unwrap();
    }

    /// Creates a post scheduled 5 s ahead on `account`, publishes it, and returns its id.
    pub async fn posted_post(&self, token: &str, account: &str) -> String {
        let at = (self.now() + chrono::Duration::seconds(5)).to_rfc3339();
        let reply = self
            .as_user(
                token,
                Method::POST,
                "/api/v1/posts",
                Some(json!({"account_id": account, "content": "Going live", "media_urls": ["https://cdn.example.com/a.mp4"], "scheduled_for": at})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        self.publish_due_after(10).await;
        let post = self
            .as_user(token, Method::GET, &format!("/api/v1/posts/{id}"), None)
            .await;
        assert_eq!(post.body["status"], "posted", "{:?}", post.body);
        id
    }
}
