//! Every operation × every set of API-key scopes → allowed or 403, generated from one table:
//! the OpenAPI document, whose `api_key` requirements the router publishes from the same table
//! its extractor enforces. A route added without a scope shows up here.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{self, TestApp, assert_problem};

const SCOPES: [&str; 9] = [
    "posts:read",
    "posts:write",
    "queue:read",
    "queue:write",
    "accounts:read",
    "accounts:write",
    "analytics:read",
    "webhooks:read",
    "webhooks:write",
];

/// `(method, path, scopes)` of every operation the document lets an API key call.
fn key_operations() -> Vec<(Method, String, Vec<String>)> {
    let doc = serde_json::to_value(postpilot_http::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(requirements) = op["security"].as_array() else {
                continue;
            };
            for requirement in requirements {
                if let Some(scopes) = requirement.get("api_key") {
                    let scopes = scopes
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_owned())
                        .collect();
                    operations.push((method.to_uppercase().parse().unwrap(), path.clone(), scopes));
                }
            }
        }
    }
    operations
}

fn concrete(path: &str) -> String {
    let path = path.replace("{id}", "6f1c2b7e-3a4d-4e5f-8a9b-0c1d2e3f4a5b");
    if path.ends_with("/calendar") {
        format!("{path}?start_date=2026-01-01&end_date=2026-01-07")
    } else {
        path
    }
}

#[test]
fn every_operation_that_takes_an_api_key_names_its_scopes() {
    let operations = key_operations();
    assert!(operations.len() >= 20, "{operations:?}");
    for (method, path, scopes) in &operations {
        assert!(
            !scopes.is_empty(),
            "{method} {path} takes API keys but the scope table has no row for it"
        );
        for scope in scopes {
            assert!(SCOPES.contains(&scope.as_str()), "{method} {path}: {scope}");
        }
    }
}

#[test]
fn every_operation_that_creates_or_schedules_posts_needs_posts_write() {
    let operations = key_operations();
    for (method, path) in [
        (Method::POST, "/api/v1/posts"),
        (Method::PATCH, "/api/v1/posts/{id}"),
        (Method::POST, "/api/v1/posts/{id}/schedule"),
        (Method::POST, "/api/v1/queue/{id}/approve"),
    ] {
        let (_, _, scopes) = operations
            .iter()
            .find(|(m, p, _)| *m == method && p == path)
            .unwrap_or_else(|| panic!("{method} {path} is not in the document"));
        assert!(
            scopes.iter().any(|s| s == "posts:write"),
            "{method} {path}: {scopes:?}"
        );
    }
}

#[tokio::test]
async fn every_operation_allows_exactly_the_keys_holding_its_scopes() {
    let app = TestApp::new();
    let token = app.token("matrix@example.com").await;
    app.upgrade(&token, "enterprise").await;
    let user = app
        .engine
        .auth()
        .login("matrix@example.com", test_app::PASSWORD)
        .await
        .unwrap()
        .id();
    let operations = key_operations();
    let mut failures = Vec::new();
    // Every non-empty set of scopes (an empty list at creation means every scope).
    for mask in 1u32..(1 << SCOPES.len()) {
        let held: Vec<&str> = (0..SCOPES.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| SCOPES[i])
            .collect();
        let held_names: Vec<String> = held.iter().map(|s| (*s).to_owned()).collect();
        let created = app
            .engine
            .api_keys()
            .create(user, "matrix", &held_names)
            .await
            .unwrap();
        let key = created.secret.expose();
        for (method, path, needed) in &operations {
            let allowed = needed.iter().all(|s| held.contains(&s.as_str()));
            let body = matches!(*method, Method::POST | Method::PATCH).then(|| json!({}));
            let reply = app.as_key(key, method.clone(), &concrete(path), body).await;
            let forbidden = reply.status == StatusCode::FORBIDDEN;
            if allowed == forbidden || reply.status == StatusCode::UNAUTHORIZED {
                failures.push(format!(
                    "{method} {path} with {held:?}: {} {}",
                    reply.status, reply.body
                ));
            }
            if forbidden {
                let detail = reply.body["detail"].as_str().unwrap_or_default();
                let missing = needed
                    .iter()
                    .find(|s| !held.contains(&s.as_str()))
                    .map(String::as_str)
                    .unwrap_or("?");
                if !detail.contains(missing) {
                    failures.push(format!(
                        "{method} {path}: 403 without naming {missing}: {detail}"
                    ));
                }
            }
        }
        // At most 25 active keys per user: each set's key is revoked once walked.
        app.engine
            .api_keys()
            .revoke(user, created.key.id())
            .await
            .unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A pro merchant with a Facebook account and a key holding `scopes`, and an item generated
/// with that key: (session token, account id, key, item id).
async fn merchant_with_item(
    app: &TestApp,
    email: &str,
    scopes: &[&str],
) -> (String, String, String, String) {
    let token = app.token(email).await;
    app.upgrade(&token, "pro").await;
    let account = app.account(&token, "facebook", "1001").await;
    let key = app.create_api_key(&token, scopes).await;
    let generated = app
        .as_key(
            &key,
            Method::POST,
            "/api/v1/queue/generate",
            Some(json!({"product_data": {"title": "Aurora Lamp", "price": 39}, "platforms": ["facebook"]})),
        )
        .await;
    assert_eq!(generated.status, StatusCode::CREATED, "{}", generated.body);
    let item = generated.body["id"].as_str().unwrap().to_owned();
    (token, account, key, item)
}

#[tokio::test]
async fn a_queue_write_key_cannot_approve_an_item_into_posts() {
    let app = TestApp::new();
    let (token, account, key, item) =
        merchant_with_item(&app, "approve@example.com", &["queue:write", "queue:read"]).await;

    let when = (app.now() + chrono::Duration::hours(1)).to_rfc3339();
    let reply = app
        .as_key(
            &key,
            Method::POST,
            &format!("/api/v1/queue/{item}/approve"),
            Some(json!({"account_ids": [account], "scheduled_for": when})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::FORBIDDEN);
    assert!(problem["detail"].as_str().unwrap().contains("posts:write"));
    let posts = app
        .as_user(&token, Method::GET, "/api/v1/posts", None)
        .await;
    assert_eq!(posts.body["total"], Value::from(0), "no post was created");
    let item_now = app
        .as_user(&token, Method::GET, &format!("/api/v1/queue/{item}"), None)
        .await;
    assert_eq!(item_now.body["status"], "pending");
}

#[tokio::test]
async fn a_key_with_queue_and_posts_write_approves_an_item() {
    let app = TestApp::new();
    let (_, account, key, item) = merchant_with_item(
        &app,
        "approver@example.com",
        &["queue:write", "posts:write"],
    )
    .await;
    let reply = app
        .as_key(
            &key,
            Method::POST,
            &format!("/api/v1/queue/{item}/approve"),
            Some(json!({"account_ids": [account]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["posts"].as_array().unwrap().len(), 1);
}
