//! `/auth`: register, login, refresh, me, provision — and the request-level problems every JSON
//! route shares (bad JSON, content type, size, unknown fields).

use axum::http::{Method, StatusCode};
use postpilot_http::HttpConfig;
use serde_json::{Value, json};

use crate::test_app::{self, PASSWORD, PLATFORM_SECRET, TestApp, assert_problem};

async fn register(app: &TestApp, email: &str, password: &str) -> test_app::Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
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

async fn refresh(app: &TestApp, refresh_token: &Value) -> test_app::Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await
}

fn assert_token_pair(body: &Value) {
    assert!(
        body["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
}

// --- register ---

#[tokio::test]
async fn registering_returns_a_bearer_token_pair() {
    let app = TestApp::new();

    let reply = register(&app, "a@example.com", PASSWORD).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_token_pair(&reply.body);
}

#[tokio::test]
async fn registering_normalises_the_email_to_lower_case() {
    let app = TestApp::new();
    let reply = register(&app, "Mixed.Case@Example.COM", PASSWORD).await;
    let token = reply.body["access_token"].as_str().unwrap();

    let me = app
        .as_user(token, Method::GET, "/api/v1/auth/me", None)
        .await;

    assert_eq!(me.body["email"], "mixed.case@example.com");
}

#[tokio::test]
async fn the_time_zone_changes_alone_without_a_password_and_an_unknown_one_is_a_422() {
    let app = TestApp::new();
    let reply = register(&app, "zone@example.com", PASSWORD).await;
    let token = reply.body["access_token"].as_str().unwrap();

    let changed = app
        .as_user(
            token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"time_zone": "Europe/Paris"})),
        )
        .await;
    let unknown = app
        .as_user(
            token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"time_zone": "Mars/Olympus"})),
        )
        .await;

    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["time_zone"], "Europe/Paris");
    let problem = assert_problem(&unknown, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "time_zone");
    let me = app
        .as_user(token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "the session still works");
    assert_eq!(me.body["time_zone"], "Europe/Paris");
}

#[tokio::test]
async fn registering_a_short_password_is_a_validation_problem_on_password() {
    let app = TestApp::new();

    let reply = register(&app, "a@example.com", "short").await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "password");
}

#[tokio::test]
async fn registering_an_invalid_email_is_a_validation_problem_on_email() {
    let app = TestApp::new();

    let reply = register(&app, "not-an-email", PASSWORD).await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "email");
}

#[tokio::test]
async fn registering_a_taken_email_is_a_conflict() {
    let app = TestApp::new();
    app.token("taken@example.com").await;

    let reply = register(&app, "TAKEN@example.com", PASSWORD).await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

#[tokio::test]
async fn registering_with_an_unknown_field_is_unprocessable() {
    let app = TestApp::new();

    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "a@example.com", "password": PASSWORD, "is_admin": true})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("is_admin"),
        "{problem}"
    );
}

#[tokio::test]
async fn registering_without_a_password_field_is_unprocessable() {
    let app = TestApp::new();

    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "a@example.com"})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    // Regression: a missing field was reported
    // as field "body" although `ApiJson` documents a 422 naming the field.
    assert_eq!(problem["errors"][0]["field"], "password");
}

#[tokio::test]
async fn registering_with_malformed_json_is_a_bad_request() {
    let app = TestApp::new();

    let reply = app
        .send_with_headers(
            Method::POST,
            "/api/v1/auth/register",
            &[("content-type", "application/json")],
            r#"{"email": "a@example.com", "password": "#,
        )
        .await;

    assert_problem(&reply, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn registering_without_a_json_content_type_is_unsupported_media_type() {
    let app = TestApp::new();
    let body = json!({"email": "a@example.com", "password": PASSWORD}).to_string();

    let reply = app
        .send_with_headers(
            Method::POST,
            "/api/v1/auth/register",
            &[("content-type", "text/plain")],
            body,
        )
        .await;

    assert_problem(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn registering_with_a_body_over_one_mebibyte_is_payload_too_large() {
    let app = TestApp::new();
    let huge = "x".repeat(1_100_000);

    let reply = register(&app, &format!("{huge}@example.com"), PASSWORD).await;

    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn registrations_beyond_the_address_rate_limit_are_too_many_requests_with_retry_after() {
    let app = TestApp::with_config(|c| HttpConfig {
        auth_rate_limit_per_min: 2,
        ..c
    });
    register(&app, "a@example.com", PASSWORD).await;
    register(&app, "b@example.com", PASSWORD).await;

    let reply = register(&app, "c@example.com", PASSWORD).await;

    assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS);
    let retry_after = reply.headers.get("retry-after").unwrap().to_str().unwrap();
    assert!(retry_after.parse::<u64>().unwrap() >= 1, "{retry_after}");
}

// --- login ---

#[tokio::test]
async fn logging_in_returns_a_bearer_token_pair() {
    let app = TestApp::new();
    app.token("a@example.com").await;

    let reply = login(&app, "a@example.com", PASSWORD).await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_token_pair(&reply.body);
}

#[tokio::test]
async fn logging_in_with_a_wrong_password_is_unauthorized_with_a_challenge() {
    let app = TestApp::new();
    app.token("a@example.com").await;

    let reply = login(&app, "a@example.com", "wrong password").await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
    assert!(reply.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn logins_beyond_the_address_rate_limit_are_too_many_requests_with_retry_after() {
    let app = TestApp::with_config(|c| HttpConfig {
        auth_rate_limit_per_min: 2,
        ..c
    });
    login(&app, "a@example.com", PASSWORD).await;
    login(&app, "a@example.com", PASSWORD).await;

    let reply = login(&app, "a@example.com", PASSWORD).await;

    assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.headers.contains_key("retry-after"));
}

// --- refresh ---

#[tokio::test]
async fn refreshing_rotates_the_refresh_token() {
    let app = TestApp::new();
    let first = register(&app, "a@example.com", PASSWORD).await.body;

    let reply = refresh(&app, &first["refresh_token"]).await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_token_pair(&reply.body);
    assert_ne!(reply.body["refresh_token"], first["refresh_token"]);
    let token = reply.body["access_token"].as_str().unwrap();
    let me = app
        .as_user(token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.body["email"], "a@example.com");
}

#[tokio::test]
async fn a_rotated_refresh_token_cannot_be_used_again() {
    let app = TestApp::new();
    let first = register(&app, "a@example.com", PASSWORD).await.body;
    refresh(&app, &first["refresh_token"]).await;

    let reply = refresh(&app, &first["refresh_token"]).await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_its_whole_family() {
    let app = TestApp::new();
    let first = register(&app, "a@example.com", PASSWORD).await.body;
    let second = refresh(&app, &first["refresh_token"]).await.body;
    refresh(&app, &first["refresh_token"]).await;

    let reply = refresh(&app, &second["refresh_token"]).await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refreshing_with_an_unknown_token_is_unauthorized() {
    let app = TestApp::new();

    let reply = refresh(&app, &json!("not-a-refresh-token")).await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

// --- me ---

#[tokio::test]
async fn me_returns_the_callers_profile() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/auth/me", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let body = reply.body.as_object().unwrap();
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "email",
            "external_platform_id",
            "external_store_id",
            "id",
            "pause_on",
            "plan",
            "time_zone"
        ]
    );
    assert_eq!(body["time_zone"], "UTC", "a new user starts in UTC");
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok());
    assert_eq!(body["email"], "a@example.com");
    assert_eq!(body["plan"], "free");
    assert!(body["external_platform_id"].is_null() && body["external_store_id"].is_null());
    assert!(chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn me_without_credentials_is_unauthorized_with_a_challenge() {
    let app = TestApp::new();

    let reply = app.send(Method::GET, "/api/v1/auth/me", None, None).await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
    let challenge = reply
        .headers
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
}

#[tokio::test]
async fn me_with_a_tampered_token_is_unauthorized() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let tampered = format!("{}x", &token[..token.len() - 1]);

    let reply = app
        .as_user(&tampered, Method::GET, "/api/v1/auth/me", None)
        .await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn patching_me_changes_the_email_given_the_current_password() {
    let app = TestApp::new();
    let token = app.token("old@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"email": "New@Example.com", "current_password": PASSWORD})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["email"], "new@example.com");
    assert_eq!(
        login(&app, "new@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn patching_me_without_the_current_password_is_unauthorized() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"email": "b@example.com"})),
        )
        .await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
    let me = app
        .as_user(&token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.body["email"], "a@example.com");
}

#[tokio::test]
async fn patching_me_with_a_wrong_current_password_is_unauthorized() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(
                json!({"password": "a brand new password", "current_password": "not my password"}),
            ),
        )
        .await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_the_password_replaces_the_login_password() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"password": "a brand new password", "current_password": PASSWORD})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        login(&app, "a@example.com", "a brand new password")
            .await
            .status,
        StatusCode::OK
    );
    assert_problem(
        &login(&app, "a@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn changing_the_password_ends_existing_refresh_sessions() {
    let app = TestApp::new();
    let pair = register(&app, "a@example.com", PASSWORD).await.body;
    let token = pair["access_token"].as_str().unwrap();
    app.as_user(
        token,
        Method::PATCH,
        "/api/v1/auth/me",
        Some(json!({"password": "a brand new password", "current_password": PASSWORD})),
    )
    .await;

    let reply = refresh(&app, &pair["refresh_token"]).await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

// --- provision ---

fn provision_body(email: &str, platform_id: uuid::Uuid) -> Value {
    json!({
        "email": email,
        "external_platform_id": platform_id,
        "external_store_id": "6f1b7c8e-0a4d-4a57-9d8b-2f54f1a0c001",
        "plan": "pro",
    })
}

#[tokio::test]
async fn provisioning_with_a_valid_signature_creates_a_linked_user() {
    let app = TestApp::new();
    let platform_id = uuid::Uuid::new_v4();

    let reply = app
        .send_signed(
            "/api/v1/auth/provision",
            &provision_body("shop@example.com", platform_id),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["email"], "shop@example.com");
    assert_eq!(reply.body["external_platform_id"], json!(platform_id));
    assert_eq!(
        reply.body["external_store_id"],
        "6f1b7c8e-0a4d-4a57-9d8b-2f54f1a0c001"
    );
    assert_eq!(reply.body["plan"], "pro");
}

#[tokio::test]
async fn provisioning_the_same_platform_user_twice_returns_the_same_user() {
    let app = TestApp::new();
    let platform_id = uuid::Uuid::new_v4();
    let body = provision_body("shop@example.com", platform_id);
    let first = app.send_signed("/api/v1/auth/provision", &body).await;

    let second = app.send_signed("/api/v1/auth/provision", &body).await;

    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    assert_eq!(second.body["id"], first.body["id"]);
}

#[tokio::test]
async fn provisioning_with_a_bad_signature_is_unauthorized() {
    let app = TestApp::new();
    let body = provision_body("shop@example.com", uuid::Uuid::new_v4()).to_string();
    let ts = chrono::Utc::now().timestamp();
    let signature = test_app::sign("some-other-secret", ts, &body);

    let reply = app
        .send_with_headers(
            Method::POST,
            "/api/v1/auth/provision",
            &[
                ("content-type", "application/json"),
                ("x-postpilot-timestamp", ts.to_string().as_str()),
                ("x-postpilot-signature", signature.as_str()),
            ],
            body,
        )
        .await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
    let login = login(&app, "shop@example.com", PASSWORD).await;
    assert_problem(&login, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provisioning_with_a_stale_timestamp_is_unauthorized() {
    let app = TestApp::new();
    let body = provision_body("shop@example.com", uuid::Uuid::new_v4()).to_string();
    let ts = chrono::Utc::now().timestamp() - 3600;
    let signature = test_app::sign(PLATFORM_SECRET, ts, &body);

    let reply = app
        .send_with_headers(
            Method::POST,
            "/api/v1/auth/provision",
            &[
                ("content-type", "application/json"),
                ("x-postpilot-timestamp", ts.to_string().as_str()),
                ("x-postpilot-signature", signature.as_str()),
            ],
            body,
        )
        .await;

    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provisioning_an_invalid_email_is_a_validation_problem_on_email() {
    let app = TestApp::new();

    let reply = app
        .send_signed(
            "/api/v1/auth/provision",
            &provision_body("nope", uuid::Uuid::new_v4()),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "email");
}
