//! `Idempotency-Key` on POSTs: a retry answers the first response and creates nothing twice;
//! another request under the key is 422; a request still running under it is 409.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Duration;
use postpilot_core::idempotency::RequestFingerprint;
use serde_json::{Value, json};

use crate::test_app::{Reply, TestApp, assert_problem};

async fn post_with_key(app: &TestApp, token: &str, path: &str, key: &str, body: &str) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.raw(request).await
}

async fn post_count(app: &TestApp, token: &str) -> u64 {
    let list = app.as_user(token, Method::GET, "/api/v1/posts", None).await;
    list.body["total"].as_u64().unwrap()
}

fn new_post(account: &str, content: &str) -> String {
    json!({"account_id": account, "content": content}).to_string()
}

#[tokio::test]
async fn a_retried_create_answers_the_first_response_and_creates_one_post() {
    let app = TestApp::new();
    let token = app.token("retry@example.com").await;
    let account = app.account(&token, "facebook", "fb-retry").await;
    let body = new_post(&account, "Once only");
    // The same JSON, keys in another order and spaced: the same request.
    let same = format!(r#"{{ "content": "Once only", "account_id": "{account}" }}"#);

    let first = post_with_key(&app, &token, "/api/v1/posts", "key-1", &body).await;
    let retry = post_with_key(&app, &token, "/api/v1/posts", "key-1", &same).await;

    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.body, first.body, "the first response, again");
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(retry.headers.get("location"), first.headers.get("location"));
    assert_eq!(post_count(&app, &token).await, 1);
}

#[tokio::test]
async fn a_key_used_with_another_request_is_422_and_creates_nothing() {
    let app = TestApp::new();
    let token = app.token("mismatch@example.com").await;
    let account = app.account(&token, "facebook", "fb-mismatch").await;
    post_with_key(
        &app,
        &token,
        "/api/v1/posts",
        "key-1",
        &new_post(&account, "First"),
    )
    .await;

    let other_body = post_with_key(
        &app,
        &token,
        "/api/v1/posts",
        "key-1",
        &new_post(&account, "Second"),
    )
    .await;
    let other_route = post_with_key(
        &app,
        &token,
        "/api/v1/queue",
        "key-1",
        r#"{"product_data": {"title": "Lamp", "price": 10, "currency": "USD"}, "platforms": ["facebook"]}"#,
    )
    .await;

    for reply in [&other_body, &other_route] {
        assert_eq!(
            assert_problem(reply, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
            "Idempotency-Key"
        );
    }
    assert_eq!(post_count(&app, &token).await, 1);
}

#[tokio::test]
async fn a_request_still_running_under_the_key_is_409() {
    let app = TestApp::new();
    let token = app.token("inflight@example.com").await;
    let account = app.account(&token, "facebook", "fb-inflight").await;
    let body = new_post(&account, "Running");
    let user = app
        .engine
        .auth()
        .login("inflight@example.com", crate::test_app::PASSWORD)
        .await
        .unwrap();
    // A request with this key and body has begun and not finished (the fingerprint is the
    // method, the path, the content type and the body's JSON value with its keys sorted).
    let canonical = serde_json::to_vec(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    let running =
        RequestFingerprint::of(&[b"POST", b"/api/v1/posts", b"application/json", &canonical]);
    app.engine
        .idempotency()
        .begin(user.id(), "key-1", running)
        .await
        .unwrap();

    let reply = post_with_key(&app, &token, "/api/v1/posts", "key-1", &body).await;

    assert_problem(&reply, StatusCode::CONFLICT);
    assert_eq!(post_count(&app, &token).await, 0);
}

#[tokio::test]
async fn keys_are_each_merchants_own_and_new_again_after_24_hours() {
    let app = TestApp::new();
    let token = app.token("own@example.com").await;
    let account = app.account(&token, "facebook", "fb-own").await;
    let other = app.token("other@example.com").await;
    let other_account = app.account(&other, "facebook", "fb-other").await;
    post_with_key(
        &app,
        &token,
        "/api/v1/posts",
        "shared",
        &new_post(&account, "Mine"),
    )
    .await;

    let theirs = post_with_key(
        &app,
        &other,
        "/api/v1/posts",
        "shared",
        &new_post(&other_account, "Theirs"),
    )
    .await;
    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    let purged = app.engine.idempotency().purge_expired().await.unwrap();
    // The access token of yesterday has expired: sign in again.
    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "own@example.com", "password": crate::test_app::PASSWORD})),
        )
        .await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let next_day = post_with_key(
        &app,
        &token,
        "/api/v1/posts",
        "shared",
        &new_post(&account, "Tomorrow"),
    )
    .await;

    assert_eq!(theirs.status, StatusCode::CREATED, "{:?}", theirs.body);
    assert_eq!(purged, 2);
    assert_eq!(next_day.status, StatusCode::CREATED, "{:?}", next_day.body);
    assert_eq!(post_count(&app, &token).await, 2);
}

#[tokio::test]
async fn a_malformed_key_is_422_naming_the_header_and_a_refused_credential_keeps_no_answer() {
    let app = TestApp::new();
    let token = app.token("malformed@example.com").await;
    let account = app.account(&token, "facebook", "fb-malformed").await;
    let body = new_post(&account, "Hello");

    let long = post_with_key(&app, &token, "/api/v1/posts", &"k".repeat(256), &body).await;
    let spaced = post_with_key(&app, &token, "/api/v1/posts", "a b", &body).await;
    let unauthenticated = post_with_key(&app, "not-a-token", "/api/v1/posts", "key-1", &body).await;
    let then = post_with_key(&app, &token, "/api/v1/posts", "key-1", &body).await;

    for reply in [&long, &spaced] {
        assert_eq!(
            assert_problem(reply, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
            "Idempotency-Key"
        );
    }
    assert_problem(&unauthenticated, StatusCode::UNAUTHORIZED);
    assert_eq!(then.status, StatusCode::CREATED, "{:?}", then.body);
}

#[tokio::test]
async fn the_openapi_document_offers_the_header_on_merchants_posts_only() {
    let app = TestApp::new();
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .body;
    let header_of = |path: &str| {
        doc["paths"][path]["post"]["parameters"]
            .as_array()
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
            })
    };

    assert!(header_of("/api/v1/posts"));
    assert!(header_of("/api/v1/queue/{id}/approve"));
    assert!(header_of("/api/v1/posts/{id}/queue"));
    assert!(!header_of("/api/v1/auth/login"));
    assert!(
        !header_of("/api/v1/api-keys"),
        "a new key's secret is never kept"
    );
    for secret_shown in [
        "/api/v1/webhook-endpoints",
        "/api/v1/webhook-endpoints/{id}/rotate-secret",
    ] {
        assert!(
            !header_of(secret_shown),
            "{secret_shown}: a secret is never kept"
        );
    }
    assert!(!header_of("/api/v1/webhooks/stripe"));
}

#[tokio::test]
async fn a_conflict_is_not_kept_so_the_same_request_runs_once_the_state_allows_it() {
    let app = TestApp::new();
    let token = app.token("conflict@example.com").await;
    let account = app.account(&token, "facebook", "fb-conflict").await;
    let item = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(
                json!({"product_data": {"title": "Lamp", "price": 10, "currency": "USD"},
                        "platforms": ["facebook"], "ai_generated_content": "Meet the lamp"}),
            ),
        )
        .await;
    let id = item.body["id"].as_str().unwrap();
    app.as_user(
        &token,
        Method::POST,
        &format!("/api/v1/queue/{id}/reject"),
        Some(json!({"reason": "not yet"})),
    )
    .await;
    let approve = format!("/api/v1/queue/{id}/approve");
    let body = json!({"account_ids": [account]}).to_string();

    let refused = post_with_key(&app, &token, &approve, "approve-1", &body).await;
    let regenerated = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/queue/{id}/regenerate"),
            Some(json!({})),
        )
        .await;
    let approved = post_with_key(&app, &token, &approve, "approve-1", &body).await;

    assert_problem(&refused, StatusCode::CONFLICT);
    assert_eq!(regenerated.status, StatusCode::OK, "{:?}", regenerated.body);
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert!(approved.headers.get("idempotent-replayed").is_none());
    assert_eq!(post_count(&app, &token).await, 1);
}

#[tokio::test]
async fn a_webhook_endpoints_secret_is_never_kept_or_replayed_at_creation_or_rotation() {
    let app = TestApp::new();
    let token = app.token("hooks@example.com").await;
    let body = json!({"url": "https://93.184.216.34/hooks"}).to_string();
    let path = "/api/v1/webhook-endpoints";

    let first = post_with_key(&app, &token, path, "same", &body).await;
    let second = post_with_key(&app, &token, path, "same", &body).await;
    let rotate = format!(
        "{path}/{}/rotate-secret",
        first.body["id"].as_str().unwrap()
    );
    let rotated = post_with_key(&app, &token, &rotate, "again", "").await;
    let rotated_again = post_with_key(&app, &token, &rotate, "again", "").await;

    for reply in [&first, &second] {
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
    assert_ne!(
        first.body["id"], second.body["id"],
        "each request registered its own"
    );
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    assert_ne!(rotated.body["secret"], rotated_again.body["secret"]);
    for reply in [&second, &rotated_again] {
        assert!(reply.headers.get("idempotent-replayed").is_none());
    }
}

#[tokio::test]
async fn a_new_api_key_is_never_kept_or_replayed() {
    let app = TestApp::new();
    let token = app.token("keys@example.com").await;
    app.as_user(
        &token,
        Method::POST,
        "/api/v1/billing/checkout",
        Some(json!({"plan": "pro"})),
    )
    .await;
    let body = json!({"name": "shop"}).to_string();

    let first = post_with_key(&app, &token, "/api/v1/api-keys", "same", &body).await;
    let second = post_with_key(&app, &token, "/api/v1/api-keys", "same", &body).await;

    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(second.status, StatusCode::CREATED, "{:?}", second.body);
    assert_ne!(
        first.body["key"], second.body["key"],
        "each request made its own key"
    );
    assert!(second.headers.get("idempotent-replayed").is_none());
}
