//! `/accounts/{id}/schedule` and `/accounts/{id}/slots`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::test_app::{TestApp, assert_problem};

#[tokio::test]
async fn a_schedule_is_set_read_back_and_its_slots_stay_at_local_times_across_a_clock_change() {
    let app = TestApp::new();
    let token = app.token("slots@example.com").await;
    let account = app.account(&token, "facebook", "fb-slots").await;
    let path = format!("/api/v1/accounts/{account}/schedule");

    let empty = app.as_user(&token, Method::GET, &path, None).await;
    let set = app
        .as_user(
            &token,
            Method::PUT,
            &path,
            Some(json!({"time_zone": "Europe/Berlin", "slots": ["sun 09:00", "sat 09:00", "sat 09:00"]})),
        )
        .await;
    let read = app.as_user(&token, Method::GET, &path, None).await;
    // Berlin moves from UTC+1 to UTC+2 on Sunday 28 March 2027.
    let slots = app
        .as_user(
            &token,
            Method::GET,
            &format!(
                "/api/v1/accounts/{account}/slots?from=2027-03-27T00:00:00Z&to=2027-03-29T00:00:00Z"
            ),
            None,
        )
        .await;

    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["slots"], json!([]));
    assert_eq!(empty.body["time_zone"], "UTC", "the merchant's zone");
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(read.body["slots"], json!(["sat 09:00", "sun 09:00"]));
    assert_eq!(read.body["time_zone"], "Europe/Berlin");
    assert_eq!(slots.status, StatusCode::OK, "{:?}", slots.body);
    assert_eq!(
        slots.body,
        json!([
            {"at": "2027-03-27T08:00:00Z", "posts": []},
            {"at": "2027-03-28T07:00:00Z", "posts": []}
        ])
    );
}

#[tokio::test]
async fn a_slot_lists_the_post_at_its_time() {
    let app = TestApp::new();
    let token = app.token("filled@example.com").await;
    let account = app.account(&token, "facebook", "fb-filled").await;
    app.as_user(
        &token,
        Method::PUT,
        &format!("/api/v1/accounts/{account}/schedule"),
        Some(json!({"time_zone": "UTC", "slots": ["mon 09:00", "tue 09:00", "wed 09:00", "thu 09:00", "fri 09:00", "sat 09:00", "sun 09:00"]})),
    )
    .await;
    let day = (app.now() + chrono::Duration::days(2)).date_naive();
    let at = format!("{day}T09:00:00Z");
    let post = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": account, "content": "On the slot", "scheduled_for": at})),
        )
        .await;
    assert_eq!(post.status, StatusCode::CREATED, "{:?}", post.body);

    let slots = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/accounts/{account}/slots?from={day}T00:00:00Z&to={day}T23:59:59Z"),
            None,
        )
        .await;

    assert_eq!(slots.body, json!([{"at": at, "posts": [post.body["id"]]}]));
}

#[tokio::test]
async fn bad_slots_zones_and_ranges_are_422_and_someone_elses_account_is_404() {
    let app = TestApp::new();
    let token = app.token("bad@example.com").await;
    let account = app.account(&token, "facebook", "fb-bad").await;
    let other = app.token("other@example.com").await;
    let path = format!("/api/v1/accounts/{account}/schedule");

    let bad_slot = app
        .as_user(
            &token,
            Method::PUT,
            &path,
            Some(json!({"slots": ["monday 9am"]})),
        )
        .await;
    let bad_zone = app
        .as_user(
            &token,
            Method::PUT,
            &path,
            Some(json!({"time_zone": "Mars/Olympus", "slots": []})),
        )
        .await;
    let long_range = app
        .as_user(
            &token,
            Method::GET,
            &format!(
                "/api/v1/accounts/{account}/slots?from=2027-01-01T00:00:00Z&to=2027-06-01T00:00:00Z"
            ),
            None,
        )
        .await;
    let foreign = app
        .as_user(
            &other,
            Method::PUT,
            &path,
            Some(json!({"slots": ["mon 09:00"]})),
        )
        .await;

    assert_eq!(
        assert_problem(&bad_slot, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "slots"
    );
    assert_eq!(
        assert_problem(&bad_zone, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "time_zone"
    );
    assert_eq!(
        assert_problem(&long_range, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "to"
    );
    assert_problem(&foreign, StatusCode::NOT_FOUND);
    let unchanged = app.as_user(&token, Method::GET, &path, None).await;
    assert_eq!(unchanged.body["slots"], json!([]), "nothing was stored");
}
