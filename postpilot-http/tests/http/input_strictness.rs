//! Strict input: an explicit `null` for a field that cannot be null is a 422 naming the field on
//! every PATCH route (never read as "unchanged"), and a leap second is refused wherever a time
//! is taken.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

use crate::test_app::{TestApp, assert_problem};

/// `(path, field)` for every property of every PATCH body in the OpenAPI document whose schema
/// does not admit `null`.
fn non_nullable_patch_fields() -> Vec<(String, String)> {
    let doc = serde_json::to_value(postpilot_http::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let mut fields = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("patch") else {
            continue;
        };
        let body = &op["requestBody"]["content"]["application/json"]["schema"];
        let name = body["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        for (field, schema) in schemas[name]["properties"].as_object().unwrap() {
            if !schema.to_string().contains("\"null\"") {
                fields.push((path.clone(), field.clone()));
            }
        }
    }
    fields
}

/// A pending Facebook queue item with a caption; its id.
async fn queue_item(app: &TestApp, token: &str) -> String {
    let created = app
        .as_user(
            token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": {"title": "Glow Lamp"}, "platforms": ["facebook"], "ai_generated_content": "Meet the Glow Lamp"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_patch_bodies_mark_only_scheduled_for_as_nullable() {
    let fields = non_nullable_patch_fields();
    for expected in [
        ("/api/v1/posts/{id}", "content"),
        ("/api/v1/posts/{id}", "media_urls"),
        ("/api/v1/posts/{id}", "hashtags"),
        ("/api/v1/queue/{id}", "ai_generated_content"),
        ("/api/v1/queue/{id}", "platforms"),
        ("/api/v1/queue/{id}", "product_data"),
        ("/api/v1/auth/me", "email"),
        ("/api/v1/auth/me", "password"),
        ("/api/v1/auth/me", "current_password"),
        ("/api/v1/webhook-endpoints/{id}", "url"),
        ("/api/v1/webhook-endpoints/{id}", "event_types"),
        ("/api/v1/webhook-endpoints/{id}", "description"),
        ("/api/v1/webhook-endpoints/{id}", "enabled"),
    ] {
        assert!(
            fields
                .iter()
                .any(|(p, f)| p == expected.0 && f == expected.1),
            "{expected:?} missing from {fields:?}"
        );
    }
    assert!(!fields.iter().any(|(_, f)| f == "scheduled_for"));
}

#[tokio::test]
async fn an_explicit_null_for_a_field_that_cannot_be_null_is_a_422_naming_it_on_every_patch_route()
{
    let app = TestApp::new();
    let token = app.token("nulls@example.com").await;
    let account = app.account(&token, "facebook", "2001").await;
    let post = app.post(&token, &account).await;
    let item = queue_item(&app, &token).await;
    let endpoint = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(json!({"url": "https://93.184.216.34/hooks"})),
        )
        .await;
    let endpoint = endpoint.body["id"].as_str().unwrap().to_owned();
    let fields = non_nullable_patch_fields();
    assert!(fields.len() >= 13);
    for (path, field) in fields {
        let concrete = if path.starts_with("/api/v1/posts") {
            path.replace("{id}", &post)
        } else if path.starts_with("/api/v1/webhook-endpoints") {
            path.replace("{id}", &endpoint)
        } else {
            path.replace("{id}", &item)
        };
        let before = app.as_user(&token, Method::GET, &concrete, None).await;
        let reply = app
            .as_user(
                &token,
                Method::PATCH,
                &concrete,
                Some(json!({ field.clone(): null })),
            )
            .await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            problem["errors"][0]["field"],
            json!(field),
            "{path}: {problem}"
        );
        assert!(
            problem["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("null"),
            "{path} {field}: {problem}"
        );
        let after = app.as_user(&token, Method::GET, &concrete, None).await;
        assert_eq!(before.body, after.body, "{path} {field}: nothing changed");
    }
}

#[tokio::test]
async fn a_null_scheduled_for_still_takes_a_scheduled_post_back_to_draft() {
    let app = TestApp::new();
    let token = app.token("draft@example.com").await;
    let account = app.account(&token, "facebook", "2002").await;
    let post = app.post(&token, &account).await;
    let when = (app.now() + Duration::hours(2)).to_rfc3339();
    let path = format!("/api/v1/posts/{post}");
    let scheduled = app
        .as_user(
            &token,
            Method::PATCH,
            &path,
            Some(json!({"scheduled_for": when})),
        )
        .await;
    assert_eq!(scheduled.body["status"], "scheduled");
    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            &path,
            Some(json!({"scheduled_for": null})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "draft");
}

fn leap_second(app: &TestApp) -> String {
    let day = (app.now() + Duration::days(2)).date_naive();
    format!("{}T23:59:60Z", day.format("%Y-%m-%d"))
}

#[tokio::test]
async fn a_leap_second_is_refused_naming_scheduled_for_wherever_a_time_is_taken() {
    let app = TestApp::new();
    let token = app.token("leap@example.com").await;
    let account = app.account(&token, "facebook", "2003").await;
    let post = app.post(&token, &account).await;
    let item = queue_item(&app, &token).await;
    let leap = leap_second(&app);
    let cases: [(Method, String, Value); 4] = [
        (
            Method::POST,
            "/api/v1/posts".into(),
            json!({"account_id": account, "content": "New drop", "media_urls": ["https://cdn.example.com/a.mp4"], "scheduled_for": leap}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/posts/{post}"),
            json!({"scheduled_for": leap}),
        ),
        (
            Method::POST,
            format!("/api/v1/posts/{post}/schedule"),
            json!({"scheduled_for": leap}),
        ),
        (
            Method::POST,
            format!("/api/v1/queue/{item}/approve"),
            json!({"account_ids": [account], "scheduled_for": leap}),
        ),
    ];
    for (method, path, body) in cases {
        let reply = app.as_user(&token, method.clone(), &path, Some(body)).await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            problem["errors"][0]["field"], "scheduled_for",
            "{method} {path}: {problem}"
        );
    }
    let posts = app
        .as_user(&token, Method::GET, "/api/v1/posts", None)
        .await;
    assert_eq!(posts.body["total"], 1, "only the draft made before");
    assert_eq!(posts.body["items"][0]["status"], "draft");
    // The second before the leap second is an ordinary time.
    let ordinary = leap.replace("23:59:60", "23:59:59");
    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/posts/{post}/schedule"),
            Some(json!({"scheduled_for": ordinary})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}
