//! `POST /imports` and `GET /imports/{id}`: CSV and JSON files of posts, each mode, the per-row
//! report in the API's problem vocabulary, malformed files, limits.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::test_app::{Reply, TestApp, assert_problem};

async fn import(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/imports{query}"))
        .header("authorization", format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    app.raw(request).await
}

async fn post_count(app: &TestApp, token: &str) -> u64 {
    app.as_user(token, Method::GET, "/api/v1/posts", None)
        .await
        .body["total"]
        .as_u64()
        .unwrap()
}

/// Upgrades the merchant to enterprise (no monthly post limit) and connects `@shop`.
async fn enterprise_with_an_account(app: &TestApp, token: &str) {
    app.as_user(
        token,
        Method::POST,
        "/api/v1/billing/checkout",
        Some(json!({"plan": "enterprise"})),
    )
    .await;
    app.account(token, "facebook", "shop").await;
}

#[tokio::test]
async fn a_partial_csv_import_creates_the_valid_rows_and_its_report_reads_back() {
    let app = TestApp::new();
    let token = app.token("csv@example.com").await;
    app.account(&token, "facebook", "shop").await;
    let file = "account,caption,hashtags\n@shop,\"Warm light, late nights\",lamp desk\n@shop,,\n@shop,Second,\n";

    let reply = import(
        &app,
        &token,
        "?mode=partial",
        "text/csv; charset=utf-8",
        file.into(),
    )
    .await;
    let location = reply.headers[header::LOCATION].to_str().unwrap().to_owned();
    let again = app.as_user(&token, Method::GET, &location, None).await;
    let other = app.token("other@example.com").await;
    let foreign = app.as_user(&other, Method::GET, &location, None).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "done");
    assert_eq!(
        (reply.body["rows"].as_u64(), reply.body["created"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        reply.body["errors"],
        json!([{"row": 2, "field": "caption", "reason": "must not be blank"}])
    );
    assert_eq!(again.body, reply.body);
    assert_problem(&foreign, StatusCode::NOT_FOUND);
    assert_eq!(post_count(&app, &token).await, 2);
}

#[tokio::test]
async fn all_or_nothing_refuses_the_file_with_each_rows_field_and_creates_nothing() {
    let app = TestApp::new();
    let token = app.token("strict@example.com").await;
    app.account(&token, "facebook", "shop").await;
    let file =
        "account,caption,time\n@shop,Fine,\n@shop,Past,2001-01-01T00:00:00Z\n@nobody,Lost,\n";

    let reply = import(&app, &token, "", "text/csv", file.into()).await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["rows[2].time", "rows[3].account"]);
    assert_eq!(post_count(&app, &token).await, 0);
}

#[tokio::test]
async fn a_dry_run_checks_and_a_json_file_imports_and_a_resent_file_creates_nothing_twice() {
    let app = TestApp::new();
    let token = app.token("json@example.com").await;
    app.account(&token, "facebook", "shop").await;
    let file = json!({"posts": [
        {"account": "@shop", "caption": "One", "external_id": "sku-1"},
        {"account": "@shop", "caption": "Two", "hashtags": ["sale"]}
    ]})
    .to_string();

    let checked = import(
        &app,
        &token,
        "?mode=dry_run",
        "application/json",
        file.clone().into(),
    )
    .await;
    let first = import(&app, &token, "", "application/json", file.clone().into()).await;
    let again = import(&app, &token, "", "application/json", file.into()).await;

    assert_eq!(checked.status, StatusCode::OK, "{:?}", checked.body);
    assert_eq!(
        (
            checked.body["status"].as_str(),
            checked.body["created"].as_u64()
        ),
        (Some("checked"), Some(2))
    );
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["created"], 2);
    assert_eq!(
        (
            again.body["created"].as_u64(),
            again.body["duplicates"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(post_count(&app, &token).await, 2);
}

#[tokio::test]
async fn a_malformed_file_is_a_422_naming_the_file_and_stores_nothing() {
    let app = TestApp::new();
    let token = app.token("malformed@example.com").await;
    app.account(&token, "facebook", "shop").await;
    let long_line = format!("account,caption\n@shop,{}\n", "x".repeat(1 << 20));
    let files: [(&str, Vec<u8>); 4] = [
        (
            "text/csv",
            b"account,caption\n@shop,\"never closed\n@shop,x\n".to_vec(),
        ),
        ("text/csv", b"account,caption\n@shop,caf\xe9\n".to_vec()),
        ("text/csv", long_line.into_bytes()),
        (
            "application/json",
            b"{\"posts\": [{\"account\": \"@shop\"}]}".to_vec(),
        ),
    ];

    for (content_type, body) in files {
        let reply = import(&app, &token, "?mode=partial", content_type, body).await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "file", "{problem}");
    }
    assert_eq!(post_count(&app, &token).await, 0);
}

#[tokio::test]
async fn another_format_is_415_a_file_over_5_mib_is_413_and_a_bad_mode_is_422() {
    let app = TestApp::new();
    let token = app.token("limits@example.com").await;

    let xml = import(&app, &token, "", "application/xml", b"<posts/>".to_vec()).await;
    let huge = import(&app, &token, "", "text/csv", vec![b'x'; (5 << 20) + 1]).await;
    let mode = import(
        &app,
        &token,
        "?mode=some",
        "text/csv",
        b"account,caption\n".to_vec(),
    )
    .await;

    assert_problem(&xml, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_problem(&huge, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        assert_problem(&mode, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "mode"
    );
}

#[tokio::test]
async fn a_file_over_the_apis_1_mib_but_within_5_mib_is_taken_also_with_an_idempotency_key() {
    let app = TestApp::new();
    let token = app.token("big@example.com").await;
    enterprise_with_an_account(&app, &token).await;
    let caption = "A warm light for late nights at the desk. ".repeat(6);
    let rows: String = (0..7_000)
        .map(|i| format!("@shop,{caption}{i}\n"))
        .collect();
    let file = format!("account,caption\n{rows}");
    assert!(file.len() > 1 << 20 && file.len() < 5 << 20);

    let plain = import(
        &app,
        &token,
        "?mode=dry_run",
        "text/csv",
        file.clone().into(),
    )
    .await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/imports?mode=dry_run")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", "big-file")
        .header(header::CONTENT_TYPE, "application/vnd.ms-excel")
        .body(Body::from(file))
        .unwrap();
    let keyed = app.raw(request).await;

    assert_eq!(plain.status, StatusCode::ACCEPTED, "{:?}", plain.body);
    let checked = ended(&app, &token, &plain).await;
    assert_eq!(
        (&checked.body["status"], &checked.body["created"]),
        (&json!("checked"), &json!(7_000))
    );
    assert_eq!(keyed.status, StatusCode::ACCEPTED, "{:?}", keyed.body);
    assert_eq!(keyed.body["rows"], 7_000);
    assert_eq!(ended(&app, &token, &keyed).await.body["status"], "checked");
}

/// The import a 202 answer started, read until it has ended.
async fn ended(app: &TestApp, token: &str, accepted: &Reply) -> Reply {
    let location = accepted.headers[header::LOCATION].to_str().unwrap();
    for _ in 0..1_000 {
        let read = app.as_user(token, Method::GET, location, None).await;
        if read.body["status"] != "running" {
            return read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the import at {location} never ended");
}

#[tokio::test]
async fn a_file_of_over_1000_rows_runs_in_the_background_and_its_progress_reads_until_done() {
    let app = TestApp::new();
    let token = app.token("background@example.com").await;
    enterprise_with_an_account(&app, &token).await;
    let rows: String = (0..1_500).map(|i| format!("@shop,Post {i}\n")).collect();

    let accepted = import(
        &app,
        &token,
        "?mode=partial",
        "text/csv",
        format!("account,caption\n{rows}").into(),
    )
    .await;
    let done = ended(&app, &token, &accepted).await;

    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{:?}", accepted.body);
    assert_eq!(accepted.headers["preference-applied"], "respond-async");
    assert_eq!(
        (
            &accepted.body["status"],
            &accepted.body["rows"],
            &accepted.body["processed"]
        ),
        (&json!("running"), &json!(1_500), &json!(0))
    );
    assert_eq!(done.body["id"], accepted.body["id"]);
    assert_eq!(
        (
            &done.body["status"],
            &done.body["processed"],
            &done.body["created"]
        ),
        (&json!("done"), &json!(1_500), &json!(1_500))
    );
    assert_eq!(post_count(&app, &token).await, 1_500);
}

#[tokio::test]
async fn prefer_respond_async_runs_a_small_file_in_the_background_and_a_stop_reads_as_failed() {
    let app = TestApp::new();
    let token = app.token("async@example.com").await;
    app.account(&token, "facebook", "shop").await;
    // The free plan's month holds 10 posts: 11 rows stop the import, and nothing is created.
    let rows: String = (0..11).map(|i| format!("@shop,Post {i}\n")).collect();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/imports?mode=partial")
        .header("authorization", format!("Bearer {token}"))
        .header("prefer", "wait=5, respond-async")
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(format!("account,caption\n{rows}")))
        .unwrap();

    let accepted = app.raw(request).await;
    let stopped = ended(&app, &token, &accepted).await;

    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{:?}", accepted.body);
    assert_eq!(stopped.body["status"], "failed");
    assert!(
        stopped.body["error"]
            .as_str()
            .unwrap()
            .contains("plan limit"),
        "{:?}",
        stopped.body
    );
    assert_eq!(post_count(&app, &token).await, 0);
}

#[tokio::test]
async fn kind_products_imports_rows_as_pending_queue_items_and_an_unknown_kind_is_422() {
    let app = TestApp::new();
    let token = app.token("products@example.com").await;
    let file = "title,price,image_urls,platforms,caption,external_id\n\
                Aurora lamp,49.90,https://cdn.example.com/a.jpg,instagram,Light up late nights,sku-1\n\
                Mug,-3,,tiktok,,sku-2\n";

    let reply = import(
        &app,
        &token,
        "?kind=products&mode=partial",
        "text/csv",
        file.into(),
    )
    .await;
    let queue = app
        .as_user(&token, Method::GET, "/api/v1/queue", None)
        .await;
    let odd = import(&app, &token, "?kind=pictures", "text/csv", file.into()).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(
        (&reply.body["kind"], &reply.body["created"]),
        (&json!("products"), &json!(1))
    );
    assert_eq!(
        reply.body["errors"],
        json!([{"row": 2, "field": "price", "reason": "must be a non-negative number"}])
    );
    let items = queue.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["product_data"]["title"], "Aurora lamp");
    assert_eq!(items[0]["ai_generated_content"], "Light up late nights");
    let problem = assert_problem(&odd, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "kind");
}

#[tokio::test]
async fn the_openapi_document_gives_the_imports_query_and_header_parameters_together() {
    let app = TestApp::new();

    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;

    let names: Vec<&str> = doc.body["paths"]["/api/v1/imports"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["kind", "mode", "Prefer", "Idempotency-Key"] {
        assert!(names.contains(&name), "{name} is missing from {names:?}");
    }
}
