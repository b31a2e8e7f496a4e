//! `/templates`: saved, checked, listed, changed, deleted, and filled by `/queue/generate`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{TestApp, assert_problem};

fn product() -> Value {
    json!({"title": "Glow Lamp", "price": 30.0, "compare_at_price": 40.0, "currency": "USD",
           "url": "https://shop.example/glow", "store_name": "Glow & Co"})
}

async fn create(app: &TestApp, token: &str, body: Value) -> crate::test_app::Reply {
    app.as_user(token, Method::POST, "/api/v1/templates", Some(body))
        .await
}

#[tokio::test]
async fn a_template_is_saved_listed_changed_and_deleted() {
    let app = TestApp::new();
    let token = app.token("t@example.com").await;

    let saved = create(
        &app,
        &token,
        json!({"name": "Sale", "body": "{title}: {discount} off at {store_name}",
                                            "platforms": ["instagram"], "tone": "urgent"}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{:?}", saved.body);
    assert_eq!(
        (saved.body["platforms"].clone(), saved.body["tone"].clone()),
        (json!(["instagram"]), json!("urgent"))
    );
    let path = format!("/api/v1/templates/{}", saved.body["id"].as_str().unwrap());

    let list = app
        .as_user(&token, Method::GET, "/api/v1/templates", None)
        .await;
    assert_eq!(list.body["total"], 1);
    let changed = app
        .as_user(
            &token,
            Method::PATCH,
            &path,
            Some(json!({"name": "Big sale", "platforms": [], "tone": null})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(
        (
            changed.body["name"].clone(),
            changed.body["platforms"].clone()
        ),
        (json!("Big sale"), json!([]))
    );
    assert_eq!(changed.body["tone"], Value::Null, "a null tone clears it");
    assert_eq!(
        app.as_user(&token, Method::DELETE, &path, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.as_user(&token, Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_unknown_placeholder_or_a_body_too_long_for_a_platform_is_a_422_naming_the_body() {
    let app = TestApp::new();
    let token = app.token("t@example.com").await;

    let unknown = create(
        &app,
        &token,
        json!({"name": "X", "body": "Buy {title} ({sku})"}),
    )
    .await;
    let problem = assert_problem(&unknown, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("unknown placeholder {sku}"),
        "{problem}"
    );

    let long = format!("{} {{title}}", "x".repeat(2_150));
    let too_long = create(
        &app,
        &token,
        json!({"name": "X", "body": long, "platforms": ["tiktok"]}),
    )
    .await;
    let problem = assert_problem(&too_long, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("rendered with a sample product"),
        "{problem}"
    );
    let list = app
        .as_user(&token, Method::GET, "/api/v1/templates", None)
        .await;
    assert_eq!(list.body["total"], 0, "nothing was saved");
}

#[tokio::test]
async fn generating_with_a_template_fills_it_from_the_product_and_says_which() {
    let app = TestApp::new();
    let token = app.token("t@example.com").await;
    let saved = create(&app, &token, json!({"name": "Sale", "body": "{title} now {price} {currency} ({discount} off) at {store_name} {{today}}\n{url}"}))
        .await;
    let template = saved.body["id"].as_str().unwrap().to_owned();

    let item = app
        .as_user(&token, Method::POST, "/api/v1/queue/generate",
                 Some(json!({"product_data": product(), "platforms": ["instagram"], "template_id": template, "tone": "luxury"})))
        .await;

    assert_eq!(item.status, StatusCode::CREATED, "{:?}", item.body);
    assert_eq!(
        item.body["ai_generated_content"],
        "Glow Lamp now 30.00 USD (25% off) at Glow & Co {today}\nhttps://shop.example/glow"
    );
    assert_eq!(item.body["caption_generator"]["name"], "template:Sale");
    assert_eq!(
        item.body["tone"], "luxury",
        "the request's tone wins over the template's"
    );
    let other = app.token("other@example.com").await;
    let theirs = app
        .as_user(&other, Method::POST, "/api/v1/queue/generate",
                 Some(json!({"product_data": product(), "platforms": ["instagram"], "template_id": template})))
        .await;
    assert_problem(&theirs, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_users_template_cannot_be_read_changed_or_deleted() {
    let app = TestApp::new();
    let owner = app.token("owner@example.com").await;
    let other = app.token("other@example.com").await;
    let saved = create(&app, &owner, json!({"name": "Mine", "body": "{title}"})).await;
    let path = format!("/api/v1/templates/{}", saved.body["id"].as_str().unwrap());

    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "Theirs"}))),
        (Method::DELETE, None),
    ] {
        let reply = app.as_user(&other, method.clone(), &path, body).await;
        assert_problem(&reply, StatusCode::NOT_FOUND);
    }
    let mine = app.as_user(&owner, Method::GET, &path, None).await;
    assert_eq!(mine.body["name"], "Mine");
}
