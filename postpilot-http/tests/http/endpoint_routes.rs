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
        (Method::GET, format!("{path}/deliveries"), None),
        (
            Method::POST,
            format!("{path}/deliveries/{}/resend", uuid::Uuid::new_v4()),
            None,
        ),
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

#[tokio::test]
async fn a_scheduled_post_shows_in_the_delivery_log_pending_and_a_pending_delivery_is_not_resent() {
    let app = TestApp::new();
    let token = app.token("log@example.com").await;
    let created = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(json!({"url": PUBLIC, "event_types": ["post.scheduled"]})),
        )
        .await;
    let path = format!(
        "/api/v1/webhook-endpoints/{}",
        created.body["id"].as_str().unwrap()
    );
    let account = app.account(&token, "facebook", "shop").await;
    let post = app.post(&token, &account).await;
    let draft_log = app
        .as_user(&token, Method::GET, &format!("{path}/deliveries"), None)
        .await;
    assert_eq!(draft_log.body["total"], 0, "a draft reports nothing");

    let at = (app.now() + chrono::Duration::hours(2)).to_rfc3339();
    let scheduled = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/posts/{post}/schedule"),
            Some(json!({"scheduled_for": at})),
        )
        .await;
    assert_eq!(scheduled.status, StatusCode::OK, "{:?}", scheduled.body);
    let log = app
        .as_user(&token, Method::GET, &format!("{path}/deliveries"), None)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    assert_eq!(log.body["total"], 1);
    let delivery = &log.body["items"][0];
    assert_eq!(
        (
            &delivery["event_type"],
            &delivery["status"],
            &delivery["attempts"]
        ),
        (&json!("post.scheduled"), &json!("pending"), &json!(0))
    );
    let dead = app
        .as_user(
            &token,
            Method::GET,
            &format!("{path}/deliveries?status=dead"),
            None,
        )
        .await;
    assert_eq!(dead.body["total"], 0);
    let bad = app
        .as_user(
            &token,
            Method::GET,
            &format!("{path}/deliveries?status=lost"),
            None,
        )
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    let resend = app
        .as_user(
            &token,
            Method::POST,
            &format!(
                "{path}/deliveries/{}/resend",
                delivery["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_problem(&resend, StatusCode::CONFLICT);
}
