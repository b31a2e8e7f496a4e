//! `/accounts`: connect, list, get, disconnect.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{TestApp, assert_problem};

fn connect_body(platform: &str, external: &str) -> Value {
    json!({"platform": platform, "account_name": format!("@{external}"), "account_id_external": external})
}

#[tokio::test]
async fn connecting_an_account_returns_it_without_its_tokens() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let mut body = connect_body("instagram", "brand");
    body["access_token"] = json!("oauth-access-secret");
    body["refresh_token"] = json!("oauth-refresh-secret");

    let reply = app
        .as_user(&token, Method::POST, "/api/v1/accounts", Some(body))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let account = reply.body.as_object().unwrap();
    assert!(uuid::Uuid::parse_str(account["id"].as_str().unwrap()).is_ok());
    assert_eq!(account["platform"], "instagram");
    assert_eq!(account["account_name"], "@brand");
    assert_eq!(account["account_id_external"], "brand");
    assert_eq!(account["is_connected"], true);
    assert_eq!(account["needs_reconnect"], false);
    assert!(account["connected_at"].is_string() && account["created_at"].is_string());
    assert!(!account.contains_key("access_token") && !account.contains_key("refresh_token"));
    assert!(!reply.body.to_string().contains("oauth-"), "{}", reply.body);
}

#[tokio::test]
async fn connecting_an_unknown_platform_is_a_validation_problem_on_platform() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(connect_body("myspace", "brand")),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "platform");
}

#[tokio::test]
async fn connecting_with_a_blank_account_name_is_a_validation_problem_on_account_name() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let mut body = connect_body("facebook", "brand");
    body["account_name"] = json!("  ");

    let reply = app
        .as_user(&token, Method::POST, "/api/v1/accounts", Some(body))
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "account_name");
}

#[tokio::test]
async fn connecting_a_second_account_on_the_free_plan_is_payment_required() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.account(&token, "facebook", "first").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(connect_body("tiktok", "second")),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(problem["resource"], "connected_accounts");
    assert_eq!(problem["limit"], 1);
}

#[tokio::test]
async fn a_pro_user_can_connect_several_accounts() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;
    app.account(&token, "facebook", "first").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(connect_body("tiktok", "second")),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn listing_accounts_returns_the_paged_envelope_without_tokens() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let mut body = connect_body("facebook", "brand");
    body["access_token"] = json!("oauth-access-secret");
    app.as_user(&token, Method::POST, "/api/v1/accounts", Some(body))
        .await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/accounts", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["total"], 1);
    assert_eq!(reply.body["page"], 1);
    assert_eq!(reply.body["per_page"], 20);
    assert_eq!(reply.body["items"][0]["account_name"], "@brand");
    assert!(!reply.body.to_string().contains("oauth-"), "{}", reply.body);
    assert!(reply.body["items"][0].get("access_token").is_none());
}

#[tokio::test]
async fn listing_accounts_pages_with_per_page() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;
    app.account(&token, "facebook", "one").await;
    app.account(&token, "tiktok", "two").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/accounts?per_page=1", None)
        .await;

    assert_eq!(reply.body["total"], 2, "{:?}", reply.body);
    assert_eq!(reply.body["per_page"], 1);
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn getting_an_account_returns_it() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = app.account(&token, "facebook", "brand").await;

    let reply = app
        .as_user(&token, Method::GET, &format!("/api/v1/accounts/{id}"), None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["platform"], "facebook");
}

#[tokio::test]
async fn getting_another_users_account_is_not_found() {
    let app = TestApp::new();
    let owner = app.token("owner@example.com").await;
    let id = app.account(&owner, "facebook", "brand").await;
    let other = app.token("other@example.com").await;

    let reply = app
        .as_user(&other, Method::GET, &format!("/api/v1/accounts/{id}"), None)
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn disconnecting_an_account_keeps_it_marked_disconnected() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = app.account(&token, "facebook", "brand").await;

    let reply = app
        .as_user(
            &token,
            Method::DELETE,
            &format!("/api/v1/accounts/{id}"),
            None,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["is_connected"], false);
    let still = app
        .as_user(&token, Method::GET, &format!("/api/v1/accounts/{id}"), None)
        .await;
    assert_eq!(still.body["is_connected"], false, "{:?}", still.body);
}

#[tokio::test]
async fn disconnecting_frees_the_free_plans_account_slot() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = app.account(&token, "facebook", "first").await;
    app.as_user(
        &token,
        Method::DELETE,
        &format!("/api/v1/accounts/{id}"),
        None,
    )
    .await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(connect_body("tiktok", "second")),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn disconnecting_another_users_account_is_not_found() {
    let app = TestApp::new();
    let owner = app.token("owner@example.com").await;
    let id = app.account(&owner, "facebook", "brand").await;
    let other = app.token("other@example.com").await;

    let reply = app
        .as_user(
            &other,
            Method::DELETE,
            &format!("/api/v1/accounts/{id}"),
            None,
        )
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
    let still = app
        .as_user(&owner, Method::GET, &format!("/api/v1/accounts/{id}"), None)
        .await;
    assert_eq!(still.body["is_connected"], true);
}

#[tokio::test]
async fn an_account_shows_the_publishing_cap_its_posts_are_held_to() {
    let app = TestApp::new();
    let token = app.token("caps@example.com").await;
    app.upgrade(&token, "pro").await;
    let auth = format!("Bearer {token}");
    let tiktok = app.account(&token, "tiktok", "tt").await;
    let facebook = app.account(&token, "facebook", "fb").await;

    let cap = |id: String| {
        let app = &app;
        let auth = auth.clone();
        async move {
            let path = format!("/api/v1/accounts/{id}");
            let reply = app
                .send(Method::GET, &path, Some(("authorization", &auth)), None)
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            reply.body["publishing_cap"].clone()
        }
    };

    assert_eq!(
        cap(tiktok).await,
        json!(15),
        "TikTok's configured daily cap"
    );
    assert_eq!(cap(facebook).await, Value::Null, "Facebook Pages have none");
}
