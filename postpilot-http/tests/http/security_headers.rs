//! The headers every response carries: no caching of tokens and secrets (RFC 6749 §5.1), no
//! MIME sniffing, no referrer, no framing, a Content-Security-Policy without `unsafe-inline`, and
//! HSTS only when configured.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::test_app::{PASSWORD, Reply, TestApp};

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).map(|v| v.to_str().unwrap())
}

fn assert_hardened(reply: &Reply, what: &str) {
    assert_eq!(
        header(reply, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(reply, "referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(header(reply, "x-frame-options"), Some("DENY"), "{what}");
    let csp = header(reply, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
}

#[tokio::test]
async fn every_response_that_carries_a_token_or_a_secret_is_not_stored() {
    let app = TestApp::new();
    let credentials = json!({"email": "cache@example.com", "password": PASSWORD});
    let registered = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(credentials.clone()),
        )
        .await;
    let logged_in = app
        .send(Method::POST, "/api/v1/auth/login", None, Some(credentials))
        .await;
    let refreshed = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": logged_in.body["refresh_token"]})),
        )
        .await;
    let token = registered.body["access_token"].as_str().unwrap().to_owned();
    app.upgrade(&token, "pro").await;
    let key = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "cache"})),
        )
        .await;
    for (what, reply, status) in [
        ("register", &registered, StatusCode::CREATED),
        ("login", &logged_in, StatusCode::OK),
        ("refresh", &refreshed, StatusCode::OK),
        ("api key", &key, StatusCode::CREATED),
    ] {
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert_eq!(header(reply, "cache-control"), Some("no-store"), "{what}");
        assert_hardened(reply, what);
    }
}

#[tokio::test]
async fn json_answers_errors_and_the_docs_page_are_hardened() {
    let app = TestApp::new();
    let health = app.send(Method::GET, "/api/v1/health", None, None).await;
    let missing = app.send(Method::GET, "/api/v1/nowhere", None, None).await;
    let unauthorized = app.send(Method::GET, "/api/v1/posts", None, None).await;
    let docs = app.send(Method::GET, "/docs", None, None).await;
    for (what, reply) in [
        ("health", &health),
        ("404", &missing),
        ("401", &unauthorized),
        ("docs", &docs),
    ] {
        assert_hardened(reply, what);
        assert_eq!(header(reply, "strict-transport-security"), None, "{what}");
    }
    assert_eq!(
        header(&health, "content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn the_docs_page_runs_only_its_own_script_under_its_policy() {
    let app = TestApp::new();
    let docs = app.send(Method::GET, "/docs", None, None).await;
    let page = docs.body.as_str().unwrap();
    let csp = header(&docs, "content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!page.contains("<script>"), "no inline script");
    assert!(!page.contains("<style>"), "no inline style");
    for asset in ["/docs/app.js", "/docs/app.css"] {
        assert!(page.contains(asset), "{asset}");
        let reply = app.send(Method::GET, asset, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert_eq!(header(&reply, "x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn hsts_is_sent_on_every_response_once_configured() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        hsts_max_age: Some(Duration::from_secs(31_536_000)),
        ..c
    });
    for path in ["/api/v1/health", "/api/v1/posts", "/docs"] {
        let reply = app.send(Method::GET, path, None, None).await;
        assert_eq!(
            header(&reply, "strict-transport-security"),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
}
