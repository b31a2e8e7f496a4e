//! `/accounts/{id}/schedule` and `/accounts/{id}/slots`.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde_json::{Value, json};

use crate::test_app::{Reply, TestApp, assert_problem};

const EVERY_DAY_AT_NINE: [&str; 7] = [
    "mon 09:00",
    "tue 09:00",
    "wed 09:00",
    "thu 09:00",
    "fri 09:00",
    "sat 09:00",
    "sun 09:00",
];

/// The first 09:00 UTC after `now`, and the `n - 1` after it.
fn nines_after(now: DateTime<Utc>, n: usize) -> Vec<String> {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    let mut day = now.date_naive();
    if day.and_time(nine).and_utc() <= now {
        day = day.succ_opt().unwrap();
    }
    (0..n)
        .map(|i| {
            (day + Duration::days(i as i64))
                .and_time(nine)
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .collect()
}

async fn set_slots(app: &TestApp, token: &str, account: &str, slots: &[&str]) {
    let set = app
        .as_user(
            token,
            Method::PUT,
            &format!("/api/v1/accounts/{account}/schedule"),
            Some(json!({"time_zone": "UTC", "slots": slots})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
}

async fn draft(app: &TestApp, token: &str, account: &str) -> String {
    let post = app
        .as_user(
            token,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": account, "content": "Into the queue"})),
        )
        .await;
    assert_eq!(post.status, StatusCode::CREATED, "{:?}", post.body);
    post.body["id"].as_str().unwrap().to_owned()
}

async fn queue(app: &TestApp, token: &str, post: &str) -> Reply {
    app.as_user(
        token,
        Method::POST,
        &format!("/api/v1/posts/{post}/queue"),
        None,
    )
    .await
}

#[tokio::test]
async fn queued_posts_take_the_next_free_slots_in_turn_skipping_one_a_post_already_holds() {
    let app = TestApp::new();
    let token = app.token("queue@example.com").await;
    let account = app.account(&token, "facebook", "fb-queue").await;
    set_slots(&app, &token, &account, &EVERY_DAY_AT_NINE).await;
    let nines = nines_after(app.now(), 3);
    let by_hand = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": account, "content": "Mine", "scheduled_for": nines[1]})),
        )
        .await;
    assert_eq!(by_hand.status, StatusCode::CREATED, "{:?}", by_hand.body);
    let first = draft(&app, &token, &account).await;
    let second = draft(&app, &token, &account).await;

    let first = queue(&app, &token, &first).await;
    let second = queue(&app, &token, &second).await;

    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["scheduled_for"], nines[0]);
    assert_eq!(first.body["status"], "scheduled");
    assert_eq!(first.body["on_slot"], true);
    assert_eq!(
        second.body["scheduled_for"], nines[2],
        "the slot a post holds is skipped"
    );
    assert_eq!(by_hand.body["on_slot"], false);
}

#[tokio::test]
async fn approving_into_the_next_slot_puts_each_post_on_a_slot_and_a_time_with_a_slot_is_422() {
    let app = TestApp::new();
    let token = app.token("approve-slot@example.com").await;
    let account = app.account(&token, "facebook", "fb-approve-slot").await;
    set_slots(&app, &token, &account, &EVERY_DAY_AT_NINE).await;
    let item = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(
                json!({"product_data": {"title": "Glow Lamp", "price": 19.99, "currency": "USD"},
                        "platforms": ["facebook"], "ai_generated_content": "Meet the Glow Lamp"}),
            ),
        )
        .await;
    let path = format!(
        "/api/v1/queue/{}/approve",
        item.body["id"].as_str().unwrap()
    );
    let at = (app.now() + Duration::hours(2)).to_rfc3339();

    let both = app
        .as_user(
            &token,
            Method::POST,
            &path,
            Some(json!({"account_ids": [account], "scheduled_for": at, "slot": "next"})),
        )
        .await;
    let next = app
        .as_user(
            &token,
            Method::POST,
            &path,
            Some(json!({"account_ids": [account], "slot": "next"})),
        )
        .await;

    assert_eq!(
        assert_problem(&both, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "slot"
    );
    assert_eq!(next.status, StatusCode::OK, "{:?}", next.body);
    let post: &Value = &next.body["posts"][0];
    assert_eq!(post["scheduled_for"], nines_after(app.now(), 1)[0]);
    assert_eq!(post["on_slot"], true);
}

#[tokio::test]
async fn a_queued_post_whose_slot_is_removed_keeps_its_time_and_is_listed_off_slot() {
    let app = TestApp::new();
    let token = app.token("off-slot@example.com").await;
    let account = app.account(&token, "facebook", "fb-off-slot").await;
    set_slots(&app, &token, &account, &EVERY_DAY_AT_NINE).await;
    let post = draft(&app, &token, &account).await;
    let placed = queue(&app, &token, &post).await;
    let at = placed.body["scheduled_for"].as_str().unwrap().to_owned();
    let from = app.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (app.now() + Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let listing = format!("/api/v1/accounts/{account}/slots?from={from}&to={to}");

    set_slots(&app, &token, &account, &["mon 18:00"]).await;
    let after = app.as_user(&token, Method::GET, &listing, None).await;
    let kept = app
        .as_user(&token, Method::GET, &format!("/api/v1/posts/{post}"), None)
        .await;

    assert_eq!(after.status, StatusCode::OK, "{:?}", after.body);
    assert_eq!(after.body["off_slot"], json!([post]));
    assert_eq!(kept.body["scheduled_for"], at, "the post keeps its time");
    assert_eq!(kept.body["status"], "scheduled");
}

#[tokio::test]
async fn queueing_on_an_account_without_a_schedule_is_422_naming_slot_and_leaves_the_draft() {
    let app = TestApp::new();
    let token = app.token("no-schedule@example.com").await;
    let account = app.account(&token, "facebook", "fb-no-schedule").await;
    let post = draft(&app, &token, &account).await;

    let reply = queue(&app, &token, &post).await;
    let kept = app
        .as_user(&token, Method::GET, &format!("/api/v1/posts/{post}"), None)
        .await;

    assert_eq!(
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "slot"
    );
    assert_eq!(kept.body["status"], "draft");
}

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
        json!({"slots": [
            {"at": "2027-03-27T08:00:00Z", "posts": []},
            {"at": "2027-03-28T07:00:00Z", "posts": []}
        ], "off_slot": []})
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

    assert_eq!(
        slots.body,
        json!({"slots": [{"at": at, "posts": [post.body["id"]]}], "off_slot": []})
    );
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
