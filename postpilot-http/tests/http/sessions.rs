//! Ending sessions: `POST /auth/logout` ends a refresh family, `everywhere` and new credentials
//! end every access token issued before; and provisioning never links a self-registered account
//! on an e-mail match — its owner links it, signed in, with the link token.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::test_app::{PASSWORD, TestApp, assert_problem};

async fn login(app: &TestApp, email: &str) -> Value {
    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().unwrap()
}

async fn status_with(app: &TestApp, token: &str) -> StatusCode {
    app.as_user(token, Method::GET, "/api/v1/posts", None)
        .await
        .status
}

async fn refresh(app: &TestApp, pair: &Value) -> StatusCode {
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": pair["refresh_token"]})),
    )
    .await
    .status
}

#[tokio::test]
async fn logout_ends_the_refresh_family_of_that_session_only() {
    let app = TestApp::new();
    app.token("logout@example.com").await;
    let laptop = login(&app, "logout@example.com").await;
    let phone = login(&app, "logout@example.com").await;

    let reply = app
        .as_user(
            access(&laptop),
            Method::POST,
            "/api/v1/auth/logout",
            Some(json!({"refresh_token": laptop["refresh_token"]})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(refresh(&app, &laptop).await, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &phone).await, StatusCode::OK);
    assert_eq!(status_with(&app, access(&phone)).await, StatusCode::OK);
}

#[tokio::test]
async fn logout_everywhere_ends_every_access_token_issued_before() {
    let app = TestApp::new();
    app.token("everywhere@example.com").await;
    let laptop = login(&app, "everywhere@example.com").await;
    let phone = login(&app, "everywhere@example.com").await;
    assert_eq!(status_with(&app, access(&phone)).await, StatusCode::OK);

    let reply = app
        .as_user(
            access(&laptop),
            Method::POST,
            "/api/v1/auth/logout",
            Some(json!({"everywhere": true})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    for pair in [&laptop, &phone] {
        assert_eq!(
            status_with(&app, access(pair)).await,
            StatusCode::UNAUTHORIZED
        );
        let me = app
            .as_user(access(pair), Method::GET, "/api/v1/auth/me", None)
            .await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refresh(&app, pair).await, StatusCode::UNAUTHORIZED);
    }
    let fresh = login(&app, "everywhere@example.com").await;
    assert_eq!(status_with(&app, access(&fresh)).await, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_ends_every_access_token_issued_before_it() {
    let app = TestApp::new();
    let old = app.token("rotate@example.com").await;
    let other_device = login(&app, "rotate@example.com").await;

    let reply = app
        .as_user(
            &old,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"password": "a brand new passphrase", "current_password": PASSWORD})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(status_with(&app, &old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status_with(&app, access(&other_device)).await,
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "rotate@example.com", "password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(status_with(&app, access(&again.body)).await, StatusCode::OK);
}

#[tokio::test]
async fn logout_without_a_token_or_everywhere_is_a_422_and_another_users_token_is_404() {
    let app = TestApp::new();
    let a = app.token("a-logout@example.com").await;
    app.token("b-logout@example.com").await;
    let b_pair = login(&app, "b-logout@example.com").await;

    let empty = app
        .as_user(&a, Method::POST, "/api/v1/auth/logout", Some(json!({})))
        .await;
    assert_problem(&empty, StatusCode::UNPROCESSABLE_ENTITY);
    let foreign = app
        .as_user(
            &a,
            Method::POST,
            "/api/v1/auth/logout",
            Some(json!({"refresh_token": b_pair["refresh_token"]})),
        )
        .await;
    assert_problem(&foreign, StatusCode::NOT_FOUND);
    assert_eq!(
        refresh(&app, &b_pair).await,
        StatusCode::OK,
        "b's session lives"
    );
}

fn provision_body(email: &str, platform_id: Uuid) -> Value {
    json!({"email": email, "external_platform_id": platform_id, "plan": "enterprise"})
}

#[tokio::test]
async fn a_provision_for_a_self_registered_email_is_a_409_with_a_link_token_and_links_nothing() {
    let app = TestApp::new();
    let attacker = app.token("victim@shop.example").await;
    let platform_id = Uuid::new_v4();

    let reply = app
        .send_signed(
            "/api/v1/auth/provision",
            &provision_body("victim@shop.example", platform_id),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::CONFLICT);
    assert_eq!(problem["type"], "/problems/platform-link-required");
    assert!(
        problem["link_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let me = app
        .as_user(&attacker, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.body["external_platform_id"], Value::Null);
    assert_eq!(me.body["plan"], "free");
    // The platform event path refuses the same way and records nothing.
    let event = json!({"id": "evt_hijack", "type": "user.provisioned",
                       "data": provision_body("victim@shop.example", platform_id)});
    let reply = app
        .send_signed("/api/v1/webhooks/platform-events", &event)
        .await;
    assert_problem(&reply, StatusCode::CONFLICT);
    let me = app
        .as_user(&attacker, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.body["plan"], "free");
}

#[tokio::test]
async fn the_account_owner_links_with_the_token_signed_in_and_nobody_else_can() {
    let app = TestApp::new();
    let owner = app.token("merchant@shop.example").await;
    let stranger = app.token("stranger@shop.example").await;
    let platform_id = Uuid::new_v4();
    let reply = app
        .send_signed(
            "/api/v1/auth/provision",
            &provision_body("merchant@shop.example", platform_id),
        )
        .await;
    let link_token = reply.body["link_token"].as_str().unwrap().to_owned();

    let as_stranger = app
        .as_user(
            &stranger,
            Method::POST,
            "/api/v1/auth/link-platform",
            Some(json!({"link_token": link_token})),
        )
        .await;
    assert_problem(&as_stranger, StatusCode::FORBIDDEN);
    let forged = app
        .as_user(
            &owner,
            Method::POST,
            "/api/v1/auth/link-platform",
            Some(json!({"link_token": format!("{link_token}x")})),
        )
        .await;
    assert_problem(&forged, StatusCode::FORBIDDEN);
    let unsigned = app
        .send(
            Method::POST,
            "/api/v1/auth/link-platform",
            None,
            Some(json!({"link_token": link_token})),
        )
        .await;
    assert_problem(&unsigned, StatusCode::UNAUTHORIZED);
    // A link token is no access token.
    assert_eq!(
        status_with(&app, &link_token).await,
        StatusCode::UNAUTHORIZED
    );

    let linked = app
        .as_user(
            &owner,
            Method::POST,
            "/api/v1/auth/link-platform",
            Some(json!({"link_token": link_token})),
        )
        .await;

    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    assert_eq!(linked.body["external_platform_id"], json!(platform_id));
    assert_eq!(linked.body["plan"], "enterprise");
    let again = app
        .send_signed(
            "/api/v1/auth/provision",
            &provision_body("merchant@shop.example", platform_id),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], linked.body["id"]);
}

#[tokio::test]
async fn registering_an_address_the_platform_provisioned_is_a_409_and_takes_nothing() {
    let app = TestApp::new();
    let platform_id = Uuid::new_v4();
    let provisioned = app
        .send_signed(
            "/api/v1/auth/provision",
            &provision_body("first@shop.example", platform_id),
        )
        .await;
    assert_eq!(provisioned.status, StatusCode::OK, "{}", provisioned.body);

    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "first@shop.example", "password": PASSWORD})),
        )
        .await;

    assert_problem(&reply, StatusCode::CONFLICT);
    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "first@shop.example", "password": PASSWORD})),
        )
        .await;
    assert_problem(&login, StatusCode::UNAUTHORIZED);
}
