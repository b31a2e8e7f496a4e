//! `/posts`: create, list, get, patch, delete, schedule, calendar, attempts.

use axum::http::{Method, StatusCode};
use chrono::{Duration, NaiveTime, SubsecRound as _};
use serde_json::{Value, json};

use crate::test_app::{TestApp, assert_problem};

/// A free user with one connected Facebook account: (token, account id).
async fn user_with_account(app: &TestApp, email: &str) -> (String, String) {
    let token = app.token(email).await;
    let account = app
        .account(&token, "facebook", email.split('@').next().unwrap())
        .await;
    (token, account)
}

fn post_body(account: &str) -> Value {
    json!({"account_id": account, "content": "Fresh stock is in", "hashtags": ["sale"]})
}

fn in_secs(app: &TestApp, secs: i64) -> String {
    (app.now() + Duration::seconds(secs)).to_rfc3339()
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect()
}

// --- create ---

#[tokio::test]
async fn creating_a_post_returns_a_draft_on_the_accounts_platform() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(post_body(&account)),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let post = &reply.body;
    assert!(uuid::Uuid::parse_str(post["id"].as_str().unwrap()).is_ok());
    assert_eq!(post["account_id"], account.as_str());
    assert_eq!(post["platform"], "facebook");
    assert_eq!(post["content"], "Fresh stock is in");
    assert_eq!(post["status"], "draft");
    assert_eq!(post["media_urls"], json!([]));
    assert_eq!(post["hashtags"], json!(["sale"]));
    assert!(post["scheduled_for"].is_null() && post["posted_at"].is_null());
    assert_eq!(post["attempts"], 0);
    assert!(post["created_at"].is_string() && post["updated_at"].is_string());
}

#[tokio::test]
async fn creating_a_post_with_a_time_creates_it_scheduled() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let mut body = post_body(&account);
    body["scheduled_for"] = json!(in_secs(&app, 3600));

    let reply = app
        .as_user(&token, Method::POST, "/api/v1/posts", Some(body))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "scheduled");
    assert!(reply.body["scheduled_for"].is_string());
}

#[tokio::test]
async fn creating_a_post_with_blank_content_is_a_validation_problem_on_content() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let mut body = post_body(&account);
    body["content"] = json!("   ");

    let reply = app
        .as_user(&token, Method::POST, "/api/v1/posts", Some(body))
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "content");
}

#[tokio::test]
async fn creating_a_post_with_an_unknown_field_is_unprocessable() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let mut body = post_body(&account);
    body["status"] = json!("posted");

    let reply = app
        .as_user(&token, Method::POST, "/api/v1/posts", Some(body))
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "status");
}

#[tokio::test]
async fn creating_an_instagram_post_without_media_is_a_validation_problem_on_media_urls() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let account = app.account(&token, "instagram", "brand").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(post_body(&account)),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "media_urls");
}

#[tokio::test]
async fn creating_a_post_on_another_users_account_is_not_found() {
    let app = TestApp::new();
    let (_, theirs) = user_with_account(&app, "owner@example.com").await;
    let token = app.token("intruder@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(post_body(&theirs)),
        )
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn creating_a_post_on_a_disconnected_account_is_a_validation_problem_on_account_id() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    app.as_user(
        &token,
        Method::DELETE,
        &format!("/api/v1/accounts/{account}"),
        None,
    )
    .await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(post_body(&account)),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "account_id");
}

#[tokio::test]
async fn the_eleventh_post_of_the_month_on_the_free_plan_is_payment_required() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    for _ in 0..10 {
        app.post(&token, &account).await;
    }

    let reply = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(post_body(&account)),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(problem["resource"], "posts_per_month");
    assert_eq!(problem["limit"], 10);
}

// --- list ---

#[tokio::test]
async fn walking_posts_after_each_next_cursor_lists_each_once_while_new_ones_arrive() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.post(&token, &account).await);
        app.clock.advance(Duration::seconds(1));
    }
    created.reverse();

    let first = app
        .as_user(&token, Method::GET, "/api/v1/posts?per_page=2", None)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let mut seen: Vec<String> = ids(&first.body).iter().map(|s| (*s).to_owned()).collect();
    // A post created after the first page is newer than all: the walk does not see it.
    app.post(&token, &account).await;
    let mut next = first.body["next"].as_str().map(str::to_owned);
    while let Some(cursor) = next {
        let page = app
            .as_user(
                &token,
                Method::GET,
                &format!("/api/v1/posts?per_page=2&after={cursor}"),
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        assert_eq!(page.body["total"], 6);
        seen.extend(ids(&page.body).iter().map(|s| (*s).to_owned()));
        next = page.body["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, created);
}

#[tokio::test]
async fn a_cursor_that_is_not_one_is_a_problem_on_after_and_pages_count_from_a_cursor() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    for _ in 0..3 {
        app.post(&token, &account).await;
    }
    let first = app
        .as_user(&token, Method::GET, "/api/v1/posts?per_page=1", None)
        .await;
    let cursor = first.body["next"].as_str().unwrap().to_owned();
    for query in [
        "after=not-a-cursor".to_owned(),
        format!("after={}", &cursor[..10]),
    ] {
        let reply = app
            .as_user(&token, Method::GET, &format!("/api/v1/posts?{query}"), None)
            .await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "after", "{query}: {problem}");
    }
    let all = app
        .as_user(&token, Method::GET, "/api/v1/posts?per_page=3", None)
        .await;
    assert_eq!(all.body["next"], Value::Null, "no page follows the last");
    let second_after_first = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/posts?per_page=1&page=2&after={cursor}"),
            None,
        )
        .await;
    assert_eq!(second_after_first.status, StatusCode::OK);
    assert_eq!(ids(&second_after_first.body), [ids(&all.body)[2]]);
}

#[tokio::test]
async fn listing_posts_returns_the_paged_envelope_newest_first() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let first = app.post(&token, &account).await;
    app.clock.advance(Duration::seconds(1));
    let second = app.post(&token, &account).await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/posts", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["total"], 2);
    assert_eq!(reply.body["page"], 1);
    assert_eq!(reply.body["per_page"], 20);
    assert_eq!(ids(&reply.body), [second.as_str(), first.as_str()]);
}

#[tokio::test]
async fn listing_posts_pages_with_page_and_per_page() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    for _ in 0..3 {
        app.post(&token, &account).await;
    }

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/posts?page=2&per_page=2", None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["total"], 3);
    assert_eq!(reply.body["page"], 2);
    assert_eq!(reply.body["per_page"], 2);
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn listing_posts_with_per_page_over_100_is_a_validation_problem_on_per_page() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/posts?per_page=101", None)
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "per_page");
}

#[tokio::test]
async fn listing_posts_filters_by_status() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    app.post(&token, &account).await;
    let mut body = post_body(&account);
    body["scheduled_for"] = json!(in_secs(&app, 3600));
    let scheduled = app
        .as_user(&token, Method::POST, "/api/v1/posts", Some(body))
        .await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/posts?status=scheduled", None)
        .await;

    assert_eq!(reply.body["total"], 1, "{:?}", reply.body);
    assert_eq!(ids(&reply.body), [scheduled.body["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn listing_posts_filters_by_platform() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;
    let facebook = app.account(&token, "facebook", "fb").await;
    let instagram = app.account(&token, "instagram", "ig").await;
    app.post(&token, &facebook).await;
    let on_instagram = app.post(&token, &instagram).await;

    let reply = app
        .as_user(
            &token,
            Method::GET,
            "/api/v1/posts?platform=instagram",
            None,
        )
        .await;

    assert_eq!(
        ids(&reply.body),
        [on_instagram.as_str()],
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn listing_posts_with_an_unknown_status_is_a_validation_problem_on_status() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/posts?status=viral", None)
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "status");
}

// --- get ---

#[tokio::test]
async fn getting_a_post_returns_it() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.post(&token, &account).await;

    let reply = app
        .as_user(&token, Method::GET, &format!("/api/v1/posts/{id}"), None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["content"], "New drop");
}

#[tokio::test]
async fn getting_another_users_post_is_not_found() {
    let app = TestApp::new();
    let (owner, account) = user_with_account(&app, "owner@example.com").await;
    let id = app.post(&owner, &account).await;
    let other = app.token("other@example.com").await;

    let reply = app
        .as_user(&other, Method::GET, &format!("/api/v1/posts/{id}"), None)
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn getting_a_post_by_a_non_uuid_id_is_not_found() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/posts/12345", None)
        .await;

    assert_problem(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_scheduled_post_shows_as_posted_once_published() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;

    let id = app.posted_post(&token, &account).await;

    let reply = app
        .as_user(&token, Method::GET, &format!("/api/v1/posts/{id}"), None)
        .await;
    assert_eq!(reply.body["status"], "posted");
    assert!(reply.body["posted_at"].is_string(), "{:?}", reply.body);
    assert!(reply.body["external_id"].is_string() && reply.body["external_url"].is_string());
}

// --- patch ---

#[tokio::test]
async fn patching_a_post_edits_only_the_given_fields() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.post(&token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({"content": "Edited"})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["content"], "Edited");
    assert_eq!(reply.body["hashtags"], json!(["sale"]));
    assert_eq!(reply.body["status"], "draft");
}

#[tokio::test]
async fn patching_scheduled_for_to_null_unschedules_a_post() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let mut body = post_body(&account);
    body["scheduled_for"] = json!(in_secs(&app, 3600));
    let id = app
        .as_user(&token, Method::POST, "/api/v1/posts", Some(body))
        .await
        .body["id"]
        .clone();
    let id = id.as_str().unwrap();

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({"scheduled_for": null})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "draft");
    assert!(reply.body["scheduled_for"].is_null());
}

#[tokio::test]
async fn patching_a_posted_post_is_a_conflict() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.posted_post(&token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({"content": "Too late"})),
        )
        .await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

#[tokio::test]
async fn patching_a_post_with_blank_content_is_a_validation_problem_on_content() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.post(&token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({"content": ""})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "content");
}

// --- delete ---

#[tokio::test]
async fn deleting_a_draft_answers_no_content_and_removes_it() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.post(&token, &account).await;

    let reply = app
        .as_user(&token, Method::DELETE, &format!("/api/v1/posts/{id}"), None)
        .await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    assert!(reply.body.is_null());
    let gone = app
        .as_user(&token, Method::GET, &format!("/api/v1/posts/{id}"), None)
        .await;
    assert_problem(&gone, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_posted_post_is_a_conflict() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.posted_post(&token, &account).await;

    let reply = app
        .as_user(&token, Method::DELETE, &format!("/api/v1/posts/{id}"), None)
        .await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

// --- schedule ---

#[tokio::test]
async fn scheduling_a_draft_returns_it_scheduled_for_that_time() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.post(&token, &account).await;
    let at = (app.now() + Duration::hours(2)).trunc_subsecs(0);

    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/posts/{id}/schedule"),
            Some(json!({"scheduled_for": at.to_rfc3339()})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "scheduled");
    let stored: chrono::DateTime<chrono::Utc> = reply.body["scheduled_for"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(stored, at);
}

#[tokio::test]
async fn scheduling_in_the_past_is_a_validation_problem_on_scheduled_for() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.post(&token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/posts/{id}/schedule"),
            Some(json!({"scheduled_for": in_secs(&app, -1)})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "scheduled_for");
}

#[tokio::test]
async fn scheduling_more_than_a_year_ahead_is_a_validation_problem_on_scheduled_for() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.post(&token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/posts/{id}/schedule"),
            Some(json!({"scheduled_for": in_secs(&app, 366 * 86_400)})),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "scheduled_for");
}

#[tokio::test]
async fn scheduling_a_posted_post_is_a_conflict() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let id = app.posted_post(&token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/posts/{id}/schedule"),
            Some(json!({"scheduled_for": in_secs(&app, 3600)})),
        )
        .await;

    assert_problem(&reply, StatusCode::CONFLICT);
}

// --- calendar ---

/// A post scheduled two days from now at 03:00 UTC: (post id, its UTC date).
async fn scheduled_at_three_utc(
    app: &TestApp,
    token: &str,
    account: &str,
) -> (String, chrono::NaiveDate) {
    let day = (app.now() + Duration::days(2)).date_naive();
    let at = day
        .and_time(NaiveTime::from_hms_opt(3, 0, 0).unwrap())
        .and_utc();
    let mut body = post_body(account);
    body["scheduled_for"] = json!(at.to_rfc3339());
    let reply = app
        .as_user(token, Method::POST, "/api/v1/posts", Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    (reply.body["id"].as_str().unwrap().to_owned(), day)
}

fn calendar_path(app: &TestApp, tz: Option<&str>) -> String {
    let start = app.now().date_naive();
    let end = start + Duration::days(5);
    match tz {
        Some(tz) => format!("/api/v1/posts/calendar?start_date={start}&end_date={end}&tz={tz}"),
        None => format!("/api/v1/posts/calendar?start_date={start}&end_date={end}"),
    }
}

#[tokio::test]
async fn the_calendar_groups_scheduled_posts_by_utc_date_by_default() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let (id, day) = scheduled_at_three_utc(&app, &token, &account).await;
    app.post(&token, &account).await; // a draft without a time is not on the calendar

    let reply = app
        .as_user(&token, Method::GET, &calendar_path(&app, None), None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let days = reply.body.as_object().unwrap();
    assert_eq!(days.len(), 1, "{:?}", reply.body);
    let posts = days[&day.to_string()].as_array().unwrap();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], id.as_str());
}

#[tokio::test]
async fn the_calendar_groups_posts_by_local_date_in_the_given_time_zone() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "a@example.com").await;
    let (id, day) = scheduled_at_three_utc(&app, &token, &account).await;

    let reply = app
        .as_user(
            &token,
            Method::GET,
            &calendar_path(&app, Some("America/New_York")),
            None,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let local_day = (day - Duration::days(1)).to_string();
    let days = reply.body.as_object().unwrap();
    assert_eq!(
        days.keys().collect::<Vec<_>>(),
        [&local_day],
        "{:?}",
        reply.body
    );
    assert_eq!(days[&local_day][0]["id"], id.as_str());
}

#[tokio::test]
async fn the_calendar_with_an_unknown_time_zone_is_a_validation_problem_on_tz() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::GET,
            &calendar_path(&app, Some("Mars/Olympus")),
            None,
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "tz");
}

#[tokio::test]
async fn the_calendar_with_an_end_before_its_start_is_a_validation_problem_on_end_date() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(
            &token,
            Method::GET,
            "/api/v1/posts/calendar?start_date=2030-05-10&end_date=2030-05-01",
            None,
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "end_date");
}

#[tokio::test]
async fn the_calendar_without_dates_is_a_validation_problem() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;

    let reply = app
        .as_user(&token, Method::GET, "/api/v1/posts/calendar", None)
        .await;

    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_posts_attempts_list_each_publication_attempt_with_its_outcome_and_remote_id() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "ledger@example.com").await;
    let draft = app.post(&token, &account).await;
    let posted = app.posted_post(&token, &account).await;

    let none = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/posts/{draft}/attempts"),
            None,
        )
        .await;
    let one = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/posts/{posted}/attempts"),
            None,
        )
        .await;
    let post = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/posts/{posted}"),
            None,
        )
        .await;

    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body, json!({"items": []}));
    assert_eq!(one.status, StatusCode::OK);
    let items = one.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", one.body);
    assert_eq!(items[0]["attempt"], 1);
    assert_eq!(items[0]["outcome"], "posted");
    assert_eq!(items[0]["remote_id"], post.body["external_id"]);
    assert_eq!(items[0]["error"], Value::Null);
    assert!(
        items[0].get("worker").is_none(),
        "workers are the operator's business"
    );
}

#[tokio::test]
async fn a_failed_posts_attempts_say_why_in_the_merchants_words() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "why@example.com").await;
    let at = (app.now() + chrono::Duration::seconds(5)).to_rfc3339();
    let created = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": account, "content": "Soon", "scheduled_for": at})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.engine
        .accounts()
        .disconnect(
            app.user_id(&token)
                .await
                .parse::<uuid::Uuid>()
                .unwrap()
                .into(),
            account.parse::<uuid::Uuid>().unwrap().into(),
        )
        .await
        .unwrap();
    app.publish_due_after(10).await;

    let reply = app
        .as_user(
            &token,
            Method::GET,
            &format!("/api/v1/posts/{id}/attempts"),
            None,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", reply.body);
    assert_eq!(items[0]["outcome"], "rejected");
    let error = items[0]["error"].as_str().unwrap();
    assert!(error.contains("Reconnect it"), "{error}");
}

#[tokio::test]
async fn a_post_past_the_accounts_publishing_cap_is_a_409_naming_the_window_and_the_next_free_time()
{
    let app = TestApp::new();
    let token = app.token("caps@example.com").await;
    app.upgrade(&token, "pro").await;
    let tiktok = app.account(&token, "tiktok", "caps").await;
    let auth = format!("Bearer {token}");
    let at = |minutes: i64| (app.now() + Duration::minutes(minutes)).trunc_subsecs(0);
    // Captions differ by their time: the same caption twice in 24 hours is refused on its own.
    let body = |scheduled: chrono::DateTime<chrono::Utc>| {
        json!({
            "account_id": tiktok,
            "content": format!("Fresh stock is in: drop of {}", scheduled.to_rfc3339()),
            "media_urls": ["https://cdn.example.com/drop.mp4"],
            "scheduled_for": scheduled.to_rfc3339(),
        })
    };
    // TikTok's default cap: 15 posts in 24 hours.
    for n in 0..15 {
        let reply = app
            .send(
                Method::POST,
                "/api/v1/posts",
                Some(("authorization", &auth)),
                Some(body(at(60 + n))),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }

    let refused = app
        .send(
            Method::POST,
            "/api/v1/posts",
            Some(("authorization", &auth)),
            Some(body(at(120))),
        )
        .await;

    let problem = assert_problem(&refused, StatusCode::CONFLICT);
    assert_eq!(problem["type"], "/problems/publishing-cap");
    assert_eq!(problem["limit"], 15);
    let time = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(problem[field].as_str().unwrap()).unwrap()
    };
    assert_eq!(time("window_end"), at(120));
    assert_eq!(time("window_start"), at(120) - Duration::hours(24));
    assert_eq!(time("next_free_at"), at(60) + Duration::hours(24));
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("at most 15 posts"), "{detail}");
    let listed = app
        .send(
            Method::GET,
            "/api/v1/posts?per_page=100",
            Some(("authorization", &auth)),
            None,
        )
        .await;
    assert_eq!(listed.body["total"], 15, "the refused post was not stored");
}

#[tokio::test]
async fn the_same_caption_on_an_account_within_24_hours_is_a_409_naming_the_other_post_unless_allowed()
 {
    let app = TestApp::new();
    let token = app.token("twice@example.com").await;
    let account = app.account(&token, "facebook", "fb-twice").await;
    let auth = format!("Bearer {token}");
    let scheduled = |secs: i64| {
        let mut body = post_body(&account);
        body["scheduled_for"] = json!(in_secs(&app, secs));
        body
    };
    let first = app
        .send(
            Method::POST,
            "/api/v1/posts",
            Some(("authorization", &auth)),
            Some(scheduled(3_600)),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);

    let refused = app
        .send(
            Method::POST,
            "/api/v1/posts",
            Some(("authorization", &auth)),
            Some(scheduled(7_200)),
        )
        .await;
    let problem = assert_problem(&refused, StatusCode::CONFLICT);
    assert_eq!(problem["type"], "/problems/duplicate-post");
    assert_eq!(problem["duplicate_of"], first.body["id"]);

    let mut allowed = scheduled(7_200);
    allowed["allow_duplicate"] = json!(true);
    let second = app
        .send(
            Method::POST,
            "/api/v1/posts",
            Some(("authorization", &auth)),
            Some(allowed),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{:?}", second.body);

    let draft = app
        .send(
            Method::POST,
            "/api/v1/posts",
            Some(("authorization", &auth)),
            Some(post_body(&account)),
        )
        .await;
    assert_eq!(
        draft.status,
        StatusCode::CREATED,
        "a draft is never a duplicate"
    );
    let draft_id = draft.body["id"].as_str().unwrap();
    let schedule = |allow: Option<bool>| {
        let mut body = json!({"scheduled_for": in_secs(&app, 10_800)});
        if let Some(allow) = allow {
            body["allow_duplicate"] = json!(allow);
        }
        body
    };
    let path = format!("/api/v1/posts/{draft_id}/schedule");
    let refused = app
        .send(
            Method::POST,
            &path,
            Some(("authorization", &auth)),
            Some(schedule(None)),
        )
        .await;
    assert_eq!(
        assert_problem(&refused, StatusCode::CONFLICT)["type"],
        "/problems/duplicate-post"
    );
    let moved = app
        .send(
            Method::POST,
            &path,
            Some(("authorization", &auth)),
            Some(schedule(Some(true))),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(moved.body["status"], "scheduled");
}

#[tokio::test]
async fn a_post_is_paused_with_a_reason_listed_as_paused_and_resumed_at_its_time() {
    let app = TestApp::new();
    let (token, account) = user_with_account(&app, "pause@example.com").await;
    let auth = format!("Bearer {token}");
    let mut body = post_body(&account);
    let at = in_secs(&app, 7_200);
    body["scheduled_for"] = json!(at);
    let created = app
        .send(
            Method::POST,
            "/api/v1/posts",
            Some(("authorization", &auth)),
            Some(body),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = |action: &str| format!("/api/v1/posts/{id}/{action}");

    let paused = app
        .send(
            Method::POST,
            &path("pause"),
            Some(("authorization", &auth)),
            Some(json!({"reason": "sold out"})),
        )
        .await;
    let listed = app
        .send(
            Method::GET,
            "/api/v1/posts?status=paused",
            Some(("authorization", &auth)),
            None,
        )
        .await;
    let again = app
        .send(
            Method::POST,
            &path("pause"),
            Some(("authorization", &auth)),
            Some(json!({"reason": "still sold out"})),
        )
        .await;
    let rewritten = app
        .send(
            Method::POST,
            &path("resume"),
            Some(("authorization", &auth)),
            Some(json!({"regenerate_caption": true})),
        )
        .await;
    let resumed = app
        .send(
            Method::POST,
            &path("resume"),
            Some(("authorization", &auth)),
            Some(json!({})),
        )
        .await;

    assert_eq!(
        assert_problem(&rewritten, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "regenerate_caption",
        "a post written directly has no product to write from"
    );
    assert_eq!(paused.status, StatusCode::OK, "{:?}", paused.body);
    assert_eq!(
        (
            paused.body["status"].as_str(),
            paused.body["error_message"].as_str()
        ),
        (Some("paused"), Some("sold out"))
    );
    assert_eq!(ids(&listed.body), [id.as_str()]);
    assert_eq!(
        assert_problem(&again, StatusCode::CONFLICT)["type"],
        "/problems/invalid-transition"
    );
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    assert_eq!(resumed.body["status"], "scheduled");
    assert!(resumed.body["error_message"].is_null());
    let resumed_at =
        chrono::DateTime::parse_from_rfc3339(resumed.body["scheduled_for"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        resumed_at,
        chrono::DateTime::parse_from_rfc3339(&at).unwrap()
    );
}
