//! `/queue`: create, generate, list, get, patch, delete, approve, reject, regenerate.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

use crate::test_app::{self, TestApp, assert_problem};

fn product() -> Value {
    json!({"title": "Glow Lamp", "description": "A lamp that glows", "price": 19.99, "currency": "USD"})
}

/// Creates a pending item with a hand-written caption for Facebook; returns its id.
async fn item(app: &TestApp, token: &str) -> String {
    let reply = app
        .as_user(
            token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": product(), "platforms": ["facebook"], "ai_generated_content": "Meet the Glow Lamp"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn approve(app: &TestApp, token: &str, id: &str, body: Value) -> test_app::Reply {
    app.as_user(
        token,
        Method::POST,
        &format!("/api/v1/queue/{id}/approve"),
        Some(body),
    )
    .await
}

async fn reject(app: &TestApp, token: &str, id: &str) -> test_app::Reply {
    app.as_user(
        token,
        Method::POST,
        &format!("/api/v1/queue/{id}/reject"),
        Some(json!({"reason": "off brand"})),
    )
    .await
}

// --- create / generate ---

#[tokio::test]
async fn creating_a_queue_item_returns_it_pending() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": product(), "platforms": ["facebook", "instagram"], "hashtags": ["lamp"]})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let item = &reply.body;
    assert!(uuid::Uuid::parse_str(item["id"].as_str().unwrap()).is_ok());
    assert_eq!(item["status"], "pending");
    assert_eq!(item["product_data"]["title"], "Glow Lamp");
    assert_eq!(item["platforms"], json!(["facebook", "instagram"]));
    assert_eq!(item["hashtags"], json!(["lamp"]));
    assert!(item["ai_generated_content"].is_null() && item["rejection_reason"].is_null());
    assert!(item["created_at"].is_string() && item["updated_at"].is_string());
}

#[tokio::test]
async fn creating_an_item_without_platforms_is_a_validation_problem_on_platforms() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": product(), "platforms": []})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "platforms");
}

#[tokio::test]
async fn creating_an_item_with_a_blank_title_is_a_validation_problem_on_the_title() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": {"title": "  "}, "platforms": ["facebook"]})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    // Regression: the field came back as
    // "product_data", reason "product_data.title: must not be blank".
    assert_eq!(problem["errors"][0]["field"], "product_data.title");
}

#[tokio::test]
async fn a_negative_compare_at_price_is_a_validation_problem_on_that_field() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": {"title": "Lamp", "price": 10, "compare_at_price": -5}, "platforms": ["facebook"]})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    // Regression: the field is reported as "price" — the
    // new inner-field rule in extract.rs takes the `Price` newtype's own field name over the
    // JSON path `product_data.compare_at_price`.
    assert_eq!(
        problem["errors"][0]["field"],
        "product_data.compare_at_price"
    );
}

#[tokio::test]
async fn generating_an_item_writes_a_caption_naming_the_product() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue/generate",
            Some(json!({"product_data": product(), "platforms": ["instagram"], "tone": "casual"})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "pending");
    assert_eq!(reply.body["tone"], "casual");
    assert!(
        reply.body["ai_generated_content"]
            .as_str()
            .unwrap()
            .contains("Glow Lamp")
    );
    assert!(!reply.body["hashtags"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn generating_with_an_unknown_tone_is_a_validation_problem_on_tone() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue/generate",
            Some(
                json!({"product_data": product(), "platforms": ["instagram"], "tone": "sarcastic"}),
            ),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "tone");
}

// --- list / get ---

#[tokio::test]
async fn listing_the_queue_returns_the_paged_envelope() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    item(&app, &token).await;
    item(&app, &token).await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/queue", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["total"], 2);
    assert_eq!(reply.body["page"], 1);
    assert_eq!(reply.body["per_page"], 20);
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn listing_the_queue_filters_by_status() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    item(&app, &token).await;
    let rejected = item(&app, &token).await;
    reject(&app, &token, &rejected).await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/queue?status=rejected", None)
        .await;

    assert_eq!(reply.body["total"], 1, "{:?}", reply.body);
    assert_eq!(reply.body["items"][0]["id"], rejected.as_str());
}

#[tokio::test]
async fn getting_a_queue_item_returns_it() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = app
        .as_user(&token, Method::GET, &format!("/api/v1/queue/{id}"), None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["ai_generated_content"], "Meet the Glow Lamp");
}

#[tokio::test]
async fn getting_another_users_queue_item_is_not_found() {
    let app = TestApp::new();
    let owner = app.token("owner@example.com").await;
    let id = item(&app, &owner).await;
    let other = app.token("other@example.com").await;

    let reply = app
        .as_user(&other, Method::GET, &format!("/api/v1/queue/{id}"), None)
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

// --- patch / delete ---

#[tokio::test]
async fn patching_a_pending_item_edits_its_caption_and_platforms() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            &format!("/api/v1/queue/{id}"),
            Some(json!({"ai_generated_content": "Edited caption", "platforms": ["tiktok"]})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["ai_generated_content"], "Edited caption");
    assert_eq!(reply.body["platforms"], json!(["tiktok"]));
    assert_eq!(reply.body["product_data"]["title"], "Glow Lamp");
}

#[tokio::test]
async fn a_platforms_own_caption_is_kept_on_the_item_and_is_what_its_post_says() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;
    let facebook = app.account(&token, "facebook", "brand").await;
    let instagram = app.account(&token, "instagram", "brand").await;
    let mut product = product();
    product["image_urls"] = json!(["https://cdn.example/lamp.jpg"]);
    let created = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({
                "product_data": product, "platforms": ["facebook", "instagram"],
                "ai_generated_content": "Meet the Glow Lamp: https://shop.example/glow",
                "platform_captions": {"instagram": {"caption": "Meet the Glow Lamp. Link in bio."}},
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        created.body["platform_captions"],
        json!({"instagram": {"caption": "Meet the Glow Lamp. Link in bio.", "hashtags": []}})
    );

    let own = json!({"instagram": {"caption": "Glow up. Link in bio.", "hashtags": ["lamp"]}});
    let patched = app
        .as_user(
            &token,
            Method::PATCH,
            &format!("/api/v1/queue/{id}"),
            Some(json!({"platform_captions": own})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["platform_captions"], own);
    let reply = approve(
        &app,
        &token,
        id,
        json!({"account_ids": [facebook, instagram]}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let said: std::collections::HashMap<_, _> = reply.body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().to_owned(),
                (p["content"].clone(), p["hashtags"].clone()),
            )
        })
        .collect();
    assert_eq!(
        said["instagram"],
        (json!("Glow up. Link in bio."), json!(["lamp"]))
    );
    assert_eq!(
        said["facebook"],
        (
            json!("Meet the Glow Lamp: https://shop.example/glow"),
            json!([])
        )
    );
}

#[tokio::test]
async fn a_caption_for_a_platform_the_item_does_not_target_is_a_problem_naming_it_and_changes_nothing()
 {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;
    let path = format!("/api/v1/queue/{id}");

    let untargeted = json!({"platform_captions": {"tiktok": {"caption": "POV: it glows"}}});
    let reply = app
        .as_user(&token, Method::PATCH, &path, Some(untargeted))
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "platform_captions.tiktok");
    for bad in [
        json!({"platform_captions": {"myspace": {"caption": "Hi"}}}),
        json!({"platform_captions": {"facebook": {"caption": "  "}}}),
        json!({"platform_captions": null}),
    ] {
        let reply = app
            .as_user(&token, Method::PATCH, &path, Some(bad.clone()))
            .await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let stored = app.as_user(&token, Method::GET, &path, None).await;
    assert_eq!(stored.body["platform_captions"], json!({}));
    assert_eq!(stored.body["ai_generated_content"], "Meet the Glow Lamp");
}

#[tokio::test]
async fn patching_an_approved_item_is_a_conflict() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    let id = item(&app, &token).await;
    approve(&app, &token, &id, json!({"account_ids": [account]})).await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            &format!("/api/v1/queue/{id}"),
            Some(json!({"ai_generated_content": "Late"})),
        )
        .await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

#[tokio::test]
async fn deleting_a_pending_item_answers_no_content_and_removes_it() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = app
        .as_user(&token, Method::DELETE, &format!("/api/v1/queue/{id}"), None)
        .await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    let gone = app
        .as_user(&token, Method::GET, &format!("/api/v1/queue/{id}"), None)
        .await;
    assert_problem(&gone, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_an_approved_item_is_a_conflict() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    let id = item(&app, &token).await;
    approve(&app, &token, &id, json!({"account_ids": [account]})).await;

    let reply = app
        .as_user(&token, Method::DELETE, &format!("/api/v1/queue/{id}"), None)
        .await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

// --- approve ---

#[tokio::test]
async fn approving_an_item_creates_one_draft_post_per_account() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    let id = item(&app, &token).await;

    let reply = approve(&app, &token, &id, json!({"account_ids": [account]})).await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["item"]["id"], id.as_str());
    assert_eq!(reply.body["item"]["status"], "approved");
    let posts = reply.body["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["status"], "draft");
    assert_eq!(posts[0]["account_id"], account.as_str());
    assert_eq!(posts[0]["queue_item_id"], id.as_str());
    assert_eq!(posts[0]["content"], "Meet the Glow Lamp");
}

#[tokio::test]
async fn approving_with_a_time_creates_scheduled_posts() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    let id = item(&app, &token).await;
    let at = (app.now() + Duration::hours(3)).to_rfc3339();

    let reply = approve(
        &app,
        &token,
        &id,
        json!({"account_ids": [account], "scheduled_for": at}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["posts"][0]["status"], "scheduled");
}

#[tokio::test]
async fn approving_without_accounts_is_a_validation_problem_on_account_ids() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = approve(&app, &token, &id, json!({"account_ids": []})).await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "account_ids");
}

#[tokio::test]
async fn approving_an_item_without_a_caption_is_a_validation_problem_on_ai_generated_content() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    let created = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": product(), "platforms": ["facebook"]})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();

    let reply = approve(&app, &token, id, json!({"account_ids": [account]})).await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "ai_generated_content");
}

#[tokio::test]
async fn approving_onto_another_users_account_is_not_found() {
    let app = TestApp::new();
    let owner = app.token("owner@example.com").await;
    let theirs = app.account(&owner, "facebook", "theirs").await;
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = approve(&app, &token, &id, json!({"account_ids": [theirs]})).await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn approving_onto_an_account_on_an_untargeted_platform_is_a_validation_problem() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let tiktok = app.account(&token, "tiktok", "brand").await;
    let id = item(&app, &token).await;

    let reply = approve(&app, &token, &id, json!({"account_ids": [tiktok]})).await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "account_ids");
}

#[tokio::test]
async fn approving_beyond_the_monthly_post_quota_is_payment_required() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "facebook", "brand").await;
    for _ in 0..10 {
        app.post(&token, &account).await;
    }
    let id = item(&app, &token).await;

    let reply = approve(&app, &token, &id, json!({"account_ids": [account]})).await;

    let problem = assert_problem(&reply, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(problem["resource"], "posts_per_month");
    assert_eq!(problem["limit"], 10);
    let still = app
        .as_user(&token, Method::GET, &format!("/api/v1/queue/{id}"), None)
        .await;
    assert_eq!(still.body["status"], "pending");
}

// --- reject / regenerate ---

#[tokio::test]
async fn rejecting_an_item_records_the_reason() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = reject(&app, &token, &id).await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "rejected");
    assert_eq!(reply.body["rejection_reason"], "off brand");
}

#[tokio::test]
async fn rejecting_without_a_body_rejects_the_item() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/queue/{id}/reject"),
            None,
        )
        .await;

    // Regression: a body-less reject was
    // 415 "send the body as application/json" although `reject {reason?}` needs no body.
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "rejected");
}

#[tokio::test]
async fn rejecting_a_rejected_item_is_a_conflict() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;
    reject(&app, &token, &id).await;

    let reply = reject(&app, &token, &id).await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

#[tokio::test]
async fn regenerating_a_rejected_item_puts_it_back_to_pending_with_a_new_caption() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;
    reject(&app, &token, &id).await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/queue/{id}/regenerate"),
            Some(json!({"tone": "luxury"})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "pending");
    assert_eq!(reply.body["tone"], "luxury");
    assert!(reply.body["rejection_reason"].is_null());
    let caption = reply.body["ai_generated_content"].as_str().unwrap();
    assert_ne!(caption, "Meet the Glow Lamp");
    assert!(caption.contains("Glow Lamp"), "{caption}");
}

#[tokio::test]
async fn regenerating_a_pending_item_is_a_conflict() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let id = item(&app, &token).await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/queue/{id}/regenerate"),
            Some(json!({})),
        )
        .await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_post_approved_from_an_item_shows_the_product_it_advertises_with_its_id_and_stock() {
    let app = TestApp::new();
    let token = app.token("snap@example.com").await;
    let account = app.account(&token, "facebook", "fb-snap").await;
    let product = json!({
        "id": "gid://shopify/Product/42", "title": "Glow Lamp", "price": 34.0,
        "compare_at_price": 49.5, "currency": "eur", "stock": 3,
        "url": "https://shop.example.com/glow"
    });
    let created = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": product, "platforms": ["facebook"], "ai_generated_content": "Meet the Glow Lamp"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["product_data"]["stock"], 3);
    let id = created.body["id"].as_str().unwrap();

    let approved = approve(&app, &token, id, json!({"account_ids": [account]})).await;

    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let post = approved.body["posts"][0]["id"].as_str().unwrap();
    let read = app
        .as_user(&token, Method::GET, &format!("/api/v1/posts/{post}"), None)
        .await;
    assert_eq!(
        read.body["product"],
        json!({
            "id": "gid://shopify/Product/42", "title": "Glow Lamp", "price": 34.0,
            "compare_at_price": 49.5, "currency": "EUR", "stock": 3,
            "url": "https://shop.example.com/glow"
        })
    );
    let direct = app.post(&token, &account).await;
    let direct = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/posts/{direct}"),
            None,
        )
        .await;
    assert!(direct.body.get("product").is_none(), "{:?}", direct.body);
}
