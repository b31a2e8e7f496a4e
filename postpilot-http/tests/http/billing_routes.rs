//! `/billing`, `/api-keys` (and API-key authentication), `/usage`, `/analytics`, `/health`,
//! `/webhooks`, the docs page, the OpenAPI document, and router-level answers (unknown routes,
//! wrong methods, per-user rate limits).

use axum::http::{Method, StatusCode};
use postpilot_http::HttpConfig;
use serde_json::{Value, json};

use crate::test_app::{self, STRIPE_SECRET, TestApp, assert_problem};

/// A pro user: (token, raw API key with `scopes`).
async fn pro_with_key(app: &TestApp, email: &str, scopes: &[&str]) -> (String, String) {
    let token = app.token(email).await;
    app.upgrade(&token, "pro").await;
    let key = app.create_api_key(&token, scopes).await;
    (token, key)
}

fn sorted_keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

// --- billing ---

#[tokio::test]
async fn plans_list_every_tier_with_its_limits_without_authentication() {
    let app = TestApp::new();

    let reply = app
        .send(Method::GET, "/api/v1/billing/plans", None, None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let plans = reply.body.as_array().unwrap();
    assert_eq!(plans.len(), 3);
    assert_eq!(
        sorted_keys(&plans[0]),
        [
            "api_access",
            "currency",
            "generations_per_month",
            "max_items",
            "max_secondary",
            "name",
            "price_monthly",
            "tier"
        ]
    );
    let tier = |t: &str| plans.iter().find(|p| p["tier"] == t).unwrap();
    assert_eq!(tier("free")["max_items"], 10);
    assert_eq!(tier("free")["max_secondary"], 1);
    assert_eq!(tier("free")["api_access"], false);
    assert_eq!(tier("pro")["max_items"], 200);
    assert_eq!(tier("pro")["max_secondary"], 10);
    assert_eq!(tier("enterprise")["max_items"], -1);
    assert_eq!(tier("enterprise")["max_secondary"], -1);
    assert_eq!(tier("enterprise")["api_access"], true);
    assert_eq!(tier("free")["generations_per_month"], 30);
    assert_eq!(tier("pro")["generations_per_month"], 500);
    assert_eq!(tier("enterprise")["generations_per_month"], -1);
}

#[tokio::test]
async fn checkout_returns_absolute_urls_and_activates_the_plan_in_mock_mode() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/billing/checkout",
            Some(json!({"plan": "pro"})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(sorted_keys(&reply.body), ["checkout_url", "session_id"]);
    let url = reply.body["checkout_url"].as_str().unwrap();
    assert!(
        url.starts_with("http://") || url.starts_with("https://"),
        "{url}"
    );
    assert!(!reply.body["session_id"].as_str().unwrap().is_empty());
    let me = app
        .as_user(&token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.body["plan"], "pro");
}

#[tokio::test]
async fn checkout_for_the_free_plan_is_a_validation_problem_on_plan() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/billing/checkout",
            Some(json!({"plan": "free"})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "plan");
}

#[tokio::test]
async fn the_portal_returns_an_absolute_portal_url() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;

    let reply = app
        .as_user(&token, Method::POST, "/api/v1/billing/portal", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(sorted_keys(&reply.body), ["portal_url"]);
    assert!(
        reply.body["portal_url"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
}

#[tokio::test]
async fn a_new_users_subscription_is_free_without_a_status() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/billing/subscription", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body,
        json!({"plan": "free", "status": null, "current_period_end": null, "cancel_at_period_end": false})
    );
}

#[tokio::test]
async fn the_subscription_after_checkout_is_active_until_the_period_end() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "enterprise").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/billing/subscription", None)
        .await;

    assert_eq!(reply.body["plan"], "enterprise", "{:?}", reply.body);
    assert_eq!(reply.body["status"], "active");
    assert!(reply.body["current_period_end"].is_string());
    assert_eq!(reply.body["cancel_at_period_end"], false);
}

// --- api keys ---

#[tokio::test]
async fn creating_an_api_key_on_pro_shows_the_key_once_with_every_scope() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "zapier"})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(
        sorted_keys(&reply.body),
        ["created_at", "id", "key", "name", "prefix", "scopes"]
    );
    let key = reply.body["key"].as_str().unwrap();
    assert!(key.starts_with("po_live_"), "{key}");
    assert!(key.starts_with(reply.body["prefix"].as_str().unwrap()));
    assert_eq!(reply.body["name"], "zapier");
    assert_eq!(reply.body["scopes"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn creating_an_api_key_on_the_free_plan_is_payment_required() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "zapier"})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(problem["resource"], "api_access");
    assert_eq!(problem["limit"], 0);
}

#[tokio::test]
async fn creating_an_api_key_with_an_unknown_scope_is_a_validation_problem_on_scopes() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "zapier", "scopes": ["posts:read", "admin"]})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "scopes");
}

#[tokio::test]
async fn listing_api_keys_uses_the_envelope_and_never_returns_the_key() {
    let app = TestApp::new();
    let (token, key) = pro_with_key(&app, "a@example.com", &["posts:read"]).await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/api-keys", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["total"], 1);
    assert_eq!(reply.body["page"], 1);
    assert_eq!(reply.body["per_page"], 20);
    let listed = &reply.body["items"][0];
    assert!(listed.get("key").is_none(), "{listed}");
    assert_eq!(listed["scopes"], json!(["posts:read"]));
    assert!(key.starts_with(listed["prefix"].as_str().unwrap()));
    assert!(!reply.body.to_string().contains(&key));
}

#[tokio::test]
async fn revoking_an_api_key_answers_no_content_and_the_key_stops_working() {
    let app = TestApp::new();
    let (token, key) = pro_with_key(&app, "a@example.com", &[]).await;
    let id = app
        .as_user(&token, Method::GET, "/api/v1/api-keys", None)
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let reply = app
        .as_user(
            &token,
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            None,
        )
        .await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    let refused = app.as_key(&key, Method::GET, "/api/v1/posts", None).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_pro_users_api_key_works_on_posts() {
    let app = TestApp::new();
    let (token, key) = pro_with_key(&app, "a@example.com", &[]).await;
    let account = app.account(&token, "facebook", "brand").await;

    let created = app
        .as_key(
            &key,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": account, "content": "Via the API"})),
        )
        .await;
    let listed = app.as_key(&key, Method::GET, "/api/v1/posts", None).await;

    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    assert_eq!(listed.body["items"][0]["id"], created.body["id"]);
}

#[tokio::test]
async fn an_api_key_is_forbidden_outside_its_scopes() {
    let app = TestApp::new();
    let (token, key) = pro_with_key(&app, "a@example.com", &["posts:read"]).await;
    let account = app.account(&token, "facebook", "brand").await;

    let reply = app
        .as_key(
            &key,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": account, "content": "Nope"})),
        )
        .await;

    assert_problem(&reply, StatusCode::FORBIDDEN);
    assert_eq!(
        app.as_key(&key, Method::GET, "/api/v1/posts", None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_api_key_is_unauthorized_on_session_only_routes() {
    let app = TestApp::new();
    let (_, key) = pro_with_key(&app, "a@example.com", &[]).await;

    let keys = app
        .as_key(&key, Method::GET, "/api/v1/api-keys", None)
        .await;
    let create = app
        .as_key(
            &key,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "more"})),
        )
        .await;
    let me = app.as_key(&key, Method::GET, "/api/v1/auth/me", None).await;

    assert_problem(&keys, StatusCode::UNAUTHORIZED);
    assert_problem(&create, StatusCode::UNAUTHORIZED);
    assert_problem(&me, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_downgraded_users_api_key_stops_authenticating() {
    let app = TestApp::new();
    let token = app.token("shop@example.com").await;
    let platform_id = uuid::Uuid::new_v4();
    let refused = app
        .send_signed(
            "/api/v1/auth/provision",
            &json!({"email": "shop@example.com", "external_platform_id": platform_id, "plan": "pro"}),
        )
        .await;
    // A self-registered account is linked by its owner, signed in, never on an e-mail match.
    let linked = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/auth/link-platform",
            Some(json!({"link_token": refused.body["link_token"]})),
        )
        .await;
    assert_eq!(linked.body["plan"], "pro", "{:?}", linked.body);
    let key = app.create_api_key(&token, &[]).await;
    let downgrade = app
        .send_signed(
            "/api/v1/webhooks/platform-events",
            &json!({"id": "evt_1", "type": "subscription.updated",
                    "data": {"external_platform_id": platform_id, "plan": "free", "status": "active"}}),
        )
        .await;
    assert_eq!(downgrade.status, StatusCode::OK, "{:?}", downgrade.body);

    let reply = app.as_key(&key, Method::GET, "/api/v1/posts", None).await;

    assert_problem(&reply, StatusCode::FORBIDDEN);
}

// --- usage ---

#[tokio::test]
async fn usage_of_a_new_free_user_reports_the_free_limits() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/usage", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body,
        json!({"plan": "free", "posts_this_month": 0, "posts_limit": 10,
               "connected_accounts": 0, "accounts_limit": 1, "api_access": false,
               "generations_this_month": 0, "generations_limit": 30})
    );
}

#[tokio::test]
async fn usage_counts_this_months_posts_and_connected_accounts() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    app.post(&token, &account).await;
    app.post(&token, &account).await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/usage", None)
        .await;

    assert_eq!(reply.body["posts_this_month"], 2, "{:?}", reply.body);
    assert_eq!(reply.body["connected_accounts"], 1);
}

#[tokio::test]
async fn usage_on_enterprise_reports_unlimited_as_minus_one() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "enterprise").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/usage", None)
        .await;

    assert_eq!(reply.body["plan"], "enterprise", "{:?}", reply.body);
    assert_eq!(reply.body["posts_limit"], -1);
    assert_eq!(reply.body["accounts_limit"], -1);
    assert_eq!(reply.body["api_access"], true);
}

#[tokio::test]
async fn requests_beyond_the_per_user_rate_limit_are_too_many_requests_with_retry_after() {
    let app = TestApp::with_config(|c| HttpConfig {
        rate_limit_per_min: 2,
        ..c
    });
    let token = app.token("a@example.com").await;
    app.as_user(&token, Method::GET, "/api/v1/usage", None)
        .await;
    app.as_user(&token, Method::GET, "/api/v1/usage", None)
        .await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/usage", None)
        .await;

    assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.headers.contains_key("retry-after"));
}

// --- analytics ---

#[tokio::test]
async fn the_analytics_overview_of_a_new_user_is_all_zeros() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/analytics/overview", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body,
        json!({"impressions": 0, "reach": 0, "likes": 0, "comments": 0, "shares": 0,
               "clicks": 0, "posts_published": 0, "engagement_rate": 0.0})
    );
}

#[tokio::test]
async fn the_analytics_overview_totals_published_posts_metrics() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    app.posted_post(&token, &account).await;
    app.refresh_metrics().await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/analytics/overview", None)
        .await;

    assert_eq!(reply.body["posts_published"], 1, "{:?}", reply.body);
    assert!(reply.body["impressions"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn analytics_per_post_lists_metrics_in_the_envelope() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    let id = app.posted_post(&token, &account).await;
    app.refresh_metrics().await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/analytics/posts", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["total"], 1);
    assert_eq!(reply.body["page"], 1);
    assert_eq!(reply.body["per_page"], 20);
    let metrics = &reply.body["items"][0];
    assert_eq!(metrics["post_id"], id.as_str());
    assert_eq!(
        sorted_keys(metrics),
        [
            "clicks",
            "comments",
            "engagement_rate",
            "fetched_at",
            "impressions",
            "likes",
            "post_id",
            "reach",
            "shares"
        ]
    );
}

#[tokio::test]
async fn analytics_for_one_post_are_zeros_until_fetched() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    let id = app.post(&token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/analytics/posts/{id}"),
            None,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["post_id"], id.as_str());
    assert_eq!(reply.body["impressions"], 0);
    assert_eq!(reply.body["likes"], 0);
}

#[tokio::test]
async fn analytics_for_another_users_post_are_not_found() {
    let app = TestApp::new();
    let owner = app.token("owner@example.com").await;
    let account = app.account(&owner, "facebook", "brand").await;
    let id = app.post(&owner, &account).await;
    let other = app.token("other@example.com").await;

    let reply = app
        .as_user(
            &other,
            Method::GET,
            &format!("/api/v1/analytics/posts/{id}"),
            None,
        )
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

// --- webhooks ---

#[tokio::test]
async fn a_signed_platform_event_is_applied_once_per_event_id() {
    let app = TestApp::new();
    let event = json!({"id": "evt_42", "type": "user.provisioned",
                       "data": {"email": "shop@example.com", "external_platform_id": uuid::Uuid::new_v4()}});

    let first = app
        .send_signed("/api/v1/webhooks/platform-events", &event)
        .await;
    let again = app
        .send_signed("/api/v1/webhooks/platform-events", &event)
        .await;

    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body, json!({"received": true, "outcome": "applied"}));
    assert_eq!(
        again.body,
        json!({"received": true, "outcome": "duplicate"})
    );
}

#[tokio::test]
async fn a_signed_stripe_checkout_event_activates_the_plan() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let user = app.user_id(&token).await;
    let body = json!({"id": "evt_stripe_1", "type": "checkout.session.completed",
                      "data": {"object": {"client_reference_id": user, "customer": "cus_1",
                                          "subscription": "sub_1", "metadata": {"plan": "pro"}}}})
    .to_string();
    let ts = chrono::Utc::now().timestamp();
    let header = format!("t={ts},v1={}", test_app::sign(STRIPE_SECRET, ts, &body));

    let reply = app
        .send_with_headers(
            Method::POST,
            "/api/v1/webhooks/stripe",
            &[
                ("content-type", "application/json"),
                ("stripe-signature", header.as_str()),
            ],
            body,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["outcome"], "applied");
    let me = app
        .as_user(&token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.body["plan"], "pro");
}

// --- health, docs, OpenAPI, router ---

#[tokio::test]
async fn health_reports_the_service_and_store_ok() {
    let app = TestApp::new();

    let reply = app.send(Method::GET, "/api/v1/health", None, None).await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body, json!({"status": "ok", "store": "ok"}));
}

#[tokio::test]
async fn the_docs_page_is_html_that_loads_the_openapi_document() {
    let app = TestApp::new();

    let reply = app.send(Method::GET, "/docs", None, None).await;

    assert_eq!(reply.status, StatusCode::OK);
    let content_type = reply.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(
        reply
            .body
            .as_str()
            .unwrap()
            .contains("/api/v1/openapi.json")
    );
}

// The served document is built once, on demand, and kept (DECISIONS 99); whichever request built
// it, every request gets the whole of `postpilot_http::openapi()`. (That it is built on demand
// rather than at start-up is a memory measurement, docs/BENCHMARKS.md, not something a test here
// can see.)
#[tokio::test]
async fn the_served_document_is_the_library_document_on_every_request() {
    let app = TestApp::new();
    let expected = serde_json::to_value(postpilot_http::openapi()).unwrap();

    for _ in 0..2 {
        let reply = app
            .send(Method::GET, "/api/v1/openapi.json", None, None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, expected);
    }
}

#[tokio::test]
async fn the_openapi_document_is_openapi_3_1_covering_every_route() {
    let app = TestApp::new();

    let reply = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert!(
        reply.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        reply.body["openapi"]
    );
    let paths = reply.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/me", "get"),
        ("/api/v1/auth/me", "patch"),
        ("/api/v1/auth/provision", "post"),
        ("/api/v1/accounts", "get"),
        ("/api/v1/accounts", "post"),
        ("/api/v1/accounts/{id}", "get"),
        ("/api/v1/accounts/{id}", "delete"),
        ("/api/v1/posts", "get"),
        ("/api/v1/posts", "post"),
        ("/api/v1/posts/{id}", "get"),
        ("/api/v1/posts/{id}", "patch"),
        ("/api/v1/posts/{id}", "delete"),
        ("/api/v1/posts/{id}/schedule", "post"),
        ("/api/v1/posts/{id}/attempts", "get"),
        ("/api/v1/accounts/connect/{platform}", "post"),
        ("/api/v1/oauth/{platform}/callback", "get"),
        ("/api/v1/posts/calendar", "get"),
        ("/api/v1/queue", "get"),
        ("/api/v1/queue", "post"),
        ("/api/v1/queue/{id}", "get"),
        ("/api/v1/queue/{id}", "patch"),
        ("/api/v1/queue/{id}", "delete"),
        ("/api/v1/queue/generate", "post"),
        ("/api/v1/queue/{id}/approve", "post"),
        ("/api/v1/queue/{id}/reject", "post"),
        ("/api/v1/queue/{id}/regenerate", "post"),
        ("/api/v1/analytics/overview", "get"),
        ("/api/v1/analytics/posts", "get"),
        ("/api/v1/analytics/posts/{id}", "get"),
        ("/api/v1/billing/plans", "get"),
        ("/api/v1/billing/checkout", "post"),
        ("/api/v1/billing/portal", "post"),
        ("/api/v1/billing/subscription", "get"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/api-keys", "get"),
        ("/api/v1/api-keys/{id}", "delete"),
        ("/api/v1/usage", "get"),
        ("/api/v1/health", "get"),
        ("/api/v1/webhooks/stripe", "post"),
        ("/api/v1/webhooks/platform-events", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing"
        );
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_not_found_problem() {
    let app = TestApp::new();

    let reply = app
        .send(Method::GET, "/api/v1/nothing-here", None, None)
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_method_is_a_method_not_allowed_problem() {
    let app = TestApp::new();

    let reply = app.send(Method::PUT, "/api/v1/health", None, None).await;

    assert_problem(&reply, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.headers.contains_key("allow"));
}
