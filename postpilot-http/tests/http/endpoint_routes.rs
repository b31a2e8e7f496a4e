//! `/webhook-endpoints`: register (the secret shown once), list, read, edit, rotate, delete, and
//! the address guard.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{TestApp, assert_problem};

/// A public address, so no test depends on DNS.
const PUBLIC: &str = "https://93.184.216.34/postpilot";

#[tokio::test]
async fn an_endpoint_is_registered_read_rotated_disabled_and_deleted_with_its_secret_shown_only_twice()
 {
    let app = TestApp::new();
    let token = app.token("hooks@example.com").await;
    let auth = format!("Bearer {token}");
    let send = |method: Method, path: String, body: Option<Value>| {
        let auth = auth.clone();
        let app = &app;
        async move {
            app.send(method, &path, Some(("authorization", &auth)), body)
                .await
        }
    };

    let created = send(
        Method::POST,
        "/api/v1/webhook-endpoints".into(),
        Some(json!({"url": PUBLIC, "event_types": ["post.failed", "post.published"], "description": " orders "})),
    )
    .await;

    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(
        created.body["event_types"],
        json!(["post.published", "post.failed"])
    );
    assert_eq!(created.body["description"], "orders");
    assert_eq!(created.body["enabled"], true);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/webhook-endpoints/{id}");
    let read = send(Method::GET, path.clone(), None).await;
    let listed = send(Method::GET, "/api/v1/webhook-endpoints".into(), None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    for body in [&read.body, &listed.body] {
        assert!(
            !body.to_string().contains(&secret[6..]),
            "the secret is shown once"
        );
    }

    let rotated = send(Method::POST, format!("{path}/rotate-secret"), None).await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    assert_ne!(rotated.body["secret"], secret.as_str());
    assert!(rotated.body["previous_secret_expires_at"].is_string());

    let disabled = send(Method::PATCH, path.clone(), Some(json!({"enabled": false}))).await;
    assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
    assert_eq!(disabled.body["enabled"], false);
    assert_eq!(disabled.body["disabled_reason"], "disabled by its owner");

    assert_eq!(
        send(Method::DELETE, path.clone(), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(Method::GET, path, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_endpoint_reaching_loopback_private_or_metadata_addresses_is_a_422_naming_url() {
    let app = TestApp::new();
    let token = app.token("ssrf@example.com").await;
    let auth = format!("Bearer {token}");
    for url in [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost:8080/hook",
        "http://93.184.216.34/plain-http",
    ] {
        let refused = app
            .send(
                Method::POST,
                "/api/v1/webhook-endpoints",
                Some(("authorization", &auth)),
                Some(json!({"url": url})),
            )
            .await;
        let problem = assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    let listed = app
        .send(
            Method::GET,
            "/api/v1/webhook-endpoints",
            Some(("authorization", &auth)),
            None,
        )
        .await;
    assert_eq!(listed.body["items"], json!([]));
}

#[tokio::test]
async fn another_users_endpoint_is_not_found_for_every_operation() {
    let app = TestApp::new();
    let owner = app.token("owner@example.com").await;
    let stranger = format!("Bearer {}", app.token("stranger@example.com").await);
    let created = app
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(("authorization", &format!("Bearer {owner}"))),
            Some(json!({"url": PUBLIC})),
        )
        .await;
    let path = format!(
        "/api/v1/webhook-endpoints/{}",
        created.body["id"].as_str().unwrap()
    );

    for (method, path, body) in [
        (Method::GET, path.clone(), None),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"description": "mine"})),
        ),
        (Method::POST, format!("{path}/rotate-secret"), None),
        (Method::DELETE, path.clone(), None),
    ] {
        let reply = app
            .send(
                method.clone(),
                &path,
                Some(("authorization", &stranger)),
                body,
            )
            .await;
        assert_problem(&reply, StatusCode::NOT_FOUND);
    }
}
