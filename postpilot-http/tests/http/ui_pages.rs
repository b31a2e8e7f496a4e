//! The dashboard and landing page (feature `ui`), mounted beside the API as the server mounts
//! them: sessions by cookie, CSRF, what the pages show, their headers and assets. The journeys
//! in a real browser are `ui-tests/run.mjs`.
#![cfg(feature = "ui")]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::test_app::{Reply, TestApp};

const PASSWORD: &str = "correct horse battery";

fn html(reply: &Reply) -> &str {
    reply.body.as_str().unwrap_or_default()
}

/// The value `Set-Cookie` gives cookie `name`, with its attributes.
fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn value_of(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

async fn get(app: &TestApp, path: &str, cookies: &str) -> Reply {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    app.raw(request.body(Body::empty()).unwrap()).await
}

async fn post_form(app: &TestApp, path: &str, cookies: &str, form: &str) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from(form.to_owned()))
        .unwrap();
    app.raw(request).await
}

/// A browser's CSRF token, as the first page it opens sets it.
async fn csrf(app: &TestApp) -> String {
    let page = get(app, "/register", "").await;
    value_of(&set_cookie(&page, "pp_csrf").expect("a page sets the CSRF cookie"))
}

/// Registers `email` through the form; returns the cookies a browser then holds.
async fn register(app: &TestApp, email: &str) -> String {
    let token = csrf(app).await;
    let form = format!(
        "email={}&password={}&csrf={token}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let reply = post_form(app, "/register", &format!("pp_csrf={token}"), &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{:?}", reply.body);
    assert_eq!(reply.headers[header::LOCATION], "/app");
    let session = set_cookie(&reply, "pp_session").expect("a session cookie");
    format!("pp_csrf={token}; pp_session={}", value_of(&session))
}

#[tokio::test]
async fn the_landing_page_shows_every_configured_plan_with_its_price_and_limits() {
    let app = TestApp::new();

    let reply = get(&app, "/", "").await;

    assert_eq!(reply.status, StatusCode::OK);
    let page = html(&reply);
    for plan in app.engine.billing().plans() {
        assert!(page.contains(&format!("<h3 id=\"plan-{}\">{}</h3>", plan.tier, plan.name)));
        assert!(
            page.contains(&format!("${}", plan.price_monthly)),
            "{}",
            plan.name
        );
    }
    assert!(page.contains("10 posts a month") && page.contains("1 social account<"));
    assert!(page.contains("href=\"/register\""));
}

#[tokio::test]
async fn registering_opens_a_cookie_session_that_shows_the_dashboard() {
    let app = TestApp::new();
    let token = csrf(&app).await;
    let form = format!("email=shop%40example.com&password=correct+horse+battery&csrf={token}");

    let reply = post_form(&app, "/register", &format!("pp_csrf={token}"), &form).await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let session = set_cookie(&reply, "pp_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(
        !session.contains("Secure"),
        "plain HTTP: a Secure cookie would never come back"
    );
    let cookies = format!("pp_session={}", value_of(&session));
    let dashboard = get(&app, "/app", &cookies).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(html(&dashboard).contains("Signed in as shop@example.com"));
    assert!(html(&dashboard).contains("of 10 this month"));
}

#[tokio::test]
async fn over_https_the_cookies_are_secure_and_host_only() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        public_url: "https://app.example.com".into(),
        ..c
    });
    let page = get(&app, "/register", "").await;
    let csrf = set_cookie(&page, "__Host-pp_csrf").expect("a __Host- CSRF cookie");
    assert!(csrf.ends_with("; Secure") && csrf.contains("Path=/") && !csrf.contains("Domain"));
    let token = value_of(&csrf);
    let form = format!("email=secure%40example.com&password=correct+horse+battery&csrf={token}");

    let reply = post_form(&app, "/register", &format!("__Host-pp_csrf={token}"), &form).await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let session = set_cookie(&reply, "__Host-pp_session").expect("a __Host- session cookie");
    assert!(
        session.contains("HttpOnly") && session.ends_with("; Secure"),
        "{session}"
    );
    // A plain-named cookie (what a sibling subdomain could plant) opens nothing.
    let planted = get(&app, "/app", &format!("pp_session={}", value_of(&session))).await;
    assert_eq!(planted.headers[header::LOCATION], "/login");
    let real = get(
        &app,
        "/app",
        &format!("__Host-pp_session={}", value_of(&session)),
    )
    .await;
    assert_eq!(real.status, StatusCode::OK);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_from_another_site_is_refused_and_creates_nothing() {
    let app = TestApp::new();
    let token = csrf(&app).await;
    let form = "email=csrf%40example.com&password=correct+horse+battery";

    let missing = post_form(&app, "/register", &format!("pp_csrf={token}"), form).await;
    let wrong = post_form(
        &app,
        "/register",
        &format!("pp_csrf={token}"),
        &format!("{form}&csrf={}", "A".repeat(43)),
    )
    .await;
    let no_cookie = post_form(&app, "/register", "", &format!("{form}&csrf={token}")).await;
    let cross_site = app
        .raw(
            Request::builder()
                .method(Method::POST)
                .uri("/register")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("pp_csrf={token}"))
                .header("sec-fetch-site", "cross-site")
                .body(Body::from(format!("{form}&csrf={token}")))
                .unwrap(),
        )
        .await;

    let mut from_elsewhere = Vec::new();
    for (header_name, value) in [
        ("sec-fetch-site", "same-site"),
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://shop.example.com"),
    ] {
        from_elsewhere.push(
            app.raw(
                Request::builder()
                    .method(Method::POST)
                    .uri("/register")
                    .header(header::HOST, "app.example.com")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::COOKIE, format!("pp_csrf={token}"))
                    .header(header_name, value)
                    .body(Body::from(format!("{form}&csrf={token}")))
                    .unwrap(),
            )
            .await,
        );
    }

    for refused in [missing, wrong, no_cookie, cross_site]
        .into_iter()
        .chain(from_elsewhere)
    {
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(set_cookie(&refused, "pp_session").is_none());
    }
    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "csrf@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        login.status,
        StatusCode::UNAUTHORIZED,
        "no account was created"
    );
}

#[tokio::test]
async fn the_dashboard_without_a_live_session_sends_the_browser_to_sign_in() {
    let app = TestApp::new();

    for cookies in ["", "pp_session=forged-or-expired"] {
        let reply = get(&app, "/app", cookies).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{cookies}");
        assert_eq!(reply.headers[header::LOCATION], "/login");
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good_not_just_in_this_browser() {
    let app = TestApp::new();
    let cookies = register(&app, "out@example.com").await;
    let token = cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("pp_csrf="))
        .unwrap()
        .to_owned();

    let out = post_form(&app, "/logout", &cookies, &format!("csrf={token}")).await;

    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        set_cookie(&out, "pp_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie, replayed, no longer opens anything.
    let replay = get(&app, "/app", &cookies).await;
    assert_eq!(replay.headers[header::LOCATION], "/login");
}

#[tokio::test]
async fn the_json_api_never_accepts_the_session_cookie() {
    let app = TestApp::new();
    let cookies = register(&app, "api@example.com").await;

    let reply = get(&app, "/api/v1/auth/me", &cookies).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_wrong_password_answers_401_with_the_message_next_to_the_password_field() {
    let app = TestApp::new();
    register(&app, "wrong@example.com").await;
    let token = csrf(&app).await;

    let reply = post_form(
        &app,
        "/login",
        &format!("pp_csrf={token}"),
        &format!("email=wrong%40example.com&password=nope+nope+nope&csrf={token}"),
    )
    .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let page = html(&reply);
    assert!(page.contains("id=\"password-error\">wrong e-mail or password<"));
    assert!(
        page.contains("value=\"wrong@example.com\""),
        "the e-mail is kept"
    );
    assert!(
        !page.contains("nope nope nope"),
        "the password is never echoed"
    );
}

#[tokio::test]
async fn pages_forbid_inline_script_and_framing_and_assets_are_cached_under_their_hash() {
    let app = TestApp::new();
    let page = get(&app, "/pricing", "").await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");

    let stylesheet = html(&page)
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        stylesheet.starts_with("/assets/app.") && stylesheet.ends_with(".css"),
        "{stylesheet}"
    );
    let css = get(&app, &stylesheet, "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(
        css.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(
        html(&css).contains("/assets/plus-jakarta-sans."),
        "fonts by their hashed names"
    );
    let stale = get(&app, "/assets/app.0000000000.css", "").await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
}

/// The cookies' CSRF token.
fn csrf_of(cookies: &str) -> String {
    cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("pp_csrf="))
        .unwrap()
        .to_owned()
}

/// Generates an item for `platforms` through the queue's form; returns its id.
async fn generate(app: &TestApp, cookies: &str, platforms: &[&str]) -> String {
    let token = csrf_of(cookies);
    let ticked: String = platforms.iter().map(|p| format!("&platform={p}")).collect();
    let form = format!(
        "title=Aurora+Desk+Lamp&price=39&currency=USD&image_urls=https%3A%2F%2Fcdn.example%2Fa.jpg{ticked}&csrf={token}"
    );
    let reply = post_form(app, "/app/queue/generate", cookies, &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{:?}", reply.body);
    let location = reply.headers[header::LOCATION].to_str().unwrap().to_owned();
    location.strip_prefix("/app/queue/").unwrap().to_owned()
}

/// When the merchant's only post is scheduled.
async fn only_post_time(
    app: &TestApp,
    user: &postpilot_core::user::User,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let posts = app
        .engine
        .posts()
        .list(user.id(), Default::default(), Default::default())
        .await
        .unwrap();
    assert_eq!(posts.items.len(), 1);
    posts.items[0].scheduled_for()
}

fn utc(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, year, month, day, hour, minute, 0).single()
}

/// A bearer token for the JSON API of a merchant registered through the pages.
async fn bearer(app: &TestApp, email: &str) -> String {
    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    login.body["access_token"].as_str().unwrap().to_owned()
}

/// Sets the merchant's time zone on the Settings page.
async fn set_zone(app: &TestApp, cookies: &str, zone: &str) {
    let reply = post_form(
        app,
        "/app/settings/time-zone",
        cookies,
        &format!(
            "time_zone={}&csrf={}",
            zone.replace('/', "%2F"),
            csrf_of(cookies)
        ),
    )
    .await;
    assert!(
        set_cookie(&reply, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sTime"),
        "{:?}",
        reply.headers
    );
}

/// The id in the first link or form action under `prefix` (`/app/posts/` → a post's).
fn id_in_action(page: &str, prefix: &str) -> String {
    page.split(&format!("=\"{prefix}"))
        .nth(1)
        .and_then(|rest| rest.split(['/', '"']).next())
        .unwrap()
        .to_owned()
}

/// A merchant registered through the form with a Facebook account connected through the
/// Accounts page: their cookies, CSRF token, user and account id.
async fn with_account(
    app: &TestApp,
    email: &str,
) -> (String, String, postpilot_core::user::User, uuid::Uuid) {
    let cookies = register(app, email).await;
    let token = csrf_of(&cookies);
    let connect = post_form(
        app,
        "/app/accounts",
        &cookies,
        &format!("platform=facebook&account_name=%40shop&account_id_external=fb-1&csrf={token}"),
    )
    .await;
    assert_eq!(connect.headers[header::LOCATION], "/app/accounts");
    let user = app.engine.auth().login(email, PASSWORD).await.unwrap();
    let account = app
        .engine
        .accounts()
        .list(user.id(), Default::default())
        .await
        .unwrap()
        .items[0]
        .id()
        .as_uuid();
    (cookies, token, user, account)
}

#[tokio::test]
async fn a_generated_items_page_counts_each_platform_in_its_own_unit() {
    let app = TestApp::new();
    let cookies = register(&app, "counters@example.com").await;
    let id = generate(&app, &cookies, &["instagram", "tiktok"]).await;

    let page = get(&app, &format!("/app/queue/{id}"), &cookies).await;

    assert_eq!(page.status, StatusCode::OK);
    let html = html(&page);
    assert!(html.contains("Aurora Desk Lamp"));
    assert!(html.contains(
        r#"data-platform="tiktok" data-name="TikTok" data-max="2200" data-unit="utf16" data-tags-count="true""#
    ));
    assert!(html.contains(
        r#"data-platform="instagram" data-name="Instagram" data-max="2200" data-unit="chars" data-tags-count="false""#
    ));
}

#[tokio::test]
async fn approving_through_the_form_schedules_at_the_local_time_of_the_merchants_zone() {
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "approve@example.com").await;
    set_zone(&app, &cookies, "Europe/Paris").await;
    let id = generate(&app, &cookies, &["facebook"]).await;
    // Next year's 1 July at 09:30 in Paris is 07:30 UTC (summer time).
    let year = chrono::Datelike::year(&app.now()) + 1;

    let reply = post_form(
        &app,
        &format!("/app/queue/{id}/approve"),
        &cookies,
        &format!("account={account}&scheduled_for={year}-07-01T09%3A30&csrf={token}"),
    )
    .await;

    assert_eq!(
        reply.headers[header::LOCATION].to_str().unwrap(),
        format!("/app/queue/{id}")
    );
    assert!(
        set_cookie(&reply, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sApproved")
    );
    assert_eq!(only_post_time(&app, &user).await, utc(year, 7, 1, 7, 30));
}

#[tokio::test]
async fn the_next_free_slot_button_puts_the_post_on_the_accounts_first_free_slot() {
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "slot@example.com").await;
    let slots = app
        .engine
        .schedules()
        .set(
            user.id(),
            account.into(),
            Some("Europe/Paris"),
            &["mon 09:30", "thu 18:00"],
        )
        .await
        .unwrap();
    let id = generate(&app, &cookies, &["facebook"]).await;
    let page = get(&app, &format!("/app/queue/{id}"), &cookies).await;

    let reply = post_form(
        &app,
        &format!("/app/queue/{id}/approve"),
        &cookies,
        &format!("account={account}&scheduled_for=&slot=next&csrf={token}"),
    )
    .await;

    assert!(html(&page).contains(r#"name="slot" value="next""#));
    assert!(
        set_cookie(&reply, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sApproved"),
        "{:?}",
        set_cookie(&reply, "pp_flash")
    );
    let first = slots
        .slots()
        .occurrences(app.now())
        .find(|at| *at > app.now());
    assert_eq!(only_post_time(&app, &user).await, first);
}

#[tokio::test]
async fn the_schedule_page_saves_slots_lists_them_and_shows_a_refused_form_as_typed() {
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "schedule-page@example.com").await;
    let path = format!("/app/accounts/{account}/schedule");
    let accounts = get(&app, "/app/accounts", &cookies).await;

    let saved = post_form(
        &app,
        &path,
        &cookies,
        &format!("time_zone=Europe%2FBerlin&slots=mon+09%3A00%0D%0Athu+18%3A30%2C+sat+10%3A00&csrf={token}"),
    )
    .await;
    let shown = get(&app, &path, &cookies).await;
    let refused = post_form(
        &app,
        &path,
        &cookies,
        &format!("time_zone=Europe%2FBerlin&slots=monday+9am&csrf={token}"),
    )
    .await;
    let stranger = register(&app, "stranger@example.com").await;
    let foreign = get(&app, &path, &stranger).await;

    assert!(html(&accounts).contains(&format!("href=\"{path}\"")));
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.headers[header::LOCATION].to_str().unwrap(), path);
    assert_eq!(shown.status, StatusCode::OK);
    let page = html(&shown);
    assert!(
        page.contains("mon 09:00\nthu 18:30\nsat 10:00"),
        "the slots, one per line"
    );
    assert!(page.contains("<option selected>Europe/Berlin</option>"));
    assert!(
        page.contains("<time datetime="),
        "upcoming slots are listed"
    );
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("monday 9am"), "the form as typed");
    let kept = app
        .engine
        .schedules()
        .get(user.id(), account.into())
        .await
        .unwrap();
    assert_eq!(
        kept.slots().to_strings(),
        ["mon 09:00", "thu 18:30", "sat 10:00"]
    );
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_import_page_imports_pasted_rows_and_reports_them_and_a_broken_file_comes_back_as_typed()
 {
    let app = TestApp::new();
    let (cookies, token, user, _) = with_account(&app, "import-page@example.com").await;
    let posts = get(&app, "/app/posts", &cookies).await;
    let form = get(&app, "/app/imports", &cookies).await;
    let csv = "account,caption\n@shop,From the page\n@shop,\n";

    let done = post_form(
        &app,
        "/app/imports",
        &cookies,
        &format!(
            "data={}&mode=partial&csrf={token}",
            csv.replace('\n', "%0A")
                .replace(',', "%2C")
                .replace('@', "%40")
                .replace(' ', "+")
        ),
    )
    .await;
    let location = done.headers[header::LOCATION].to_str().unwrap().to_owned();
    let report = get(&app, &location, &cookies).await;
    let broken = post_form(
        &app,
        "/app/imports",
        &cookies,
        &format!("data=account%2Ccaption%0A%40shop%2C%22open&mode=partial&csrf={token}"),
    )
    .await;
    let stranger = register(&app, "import-stranger@example.com").await;
    let foreign = get(&app, &location, &stranger).await;

    assert!(html(&posts).contains("href=\"/app/imports\""));
    assert!(html(&form).contains("data-fills=\"data\""));
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/app/imports/"));
    let page = html(&report);
    assert!(page.contains("1 post(s) created"), "{page}");
    assert!(
        page.contains("<td>caption</td>"),
        "the refused row's column"
    );
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&broken).contains("unclosed quote"));
    assert!(
        html(&broken).contains("open</textarea>"),
        "the rows as typed"
    );
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let created = app
        .engine
        .posts()
        .list(user.id(), Default::default(), Default::default())
        .await
        .unwrap();
    assert_eq!(created.total, 1);
}

#[tokio::test]
async fn the_import_page_imports_products_into_the_content_queue() {
    let app = TestApp::new();
    let cookies = register(&app, "import-products@example.com").await;
    let token = csrf_of(&cookies);
    let csv = "title,platforms\nAurora lamp,instagram\n";

    let done = post_form(
        &app,
        "/app/imports",
        &cookies,
        &format!(
            "data={}&kind=products&mode=all_or_nothing&csrf={token}",
            csv.replace('\n', "%0A")
                .replace(',', "%2C")
                .replace(' ', "+")
        ),
    )
    .await;
    let location = done.headers[header::LOCATION].to_str().unwrap().to_owned();
    let report = get(&app, &location, &cookies).await;
    let queue = get(&app, "/app/queue", &cookies).await;

    let page = html(&report);
    assert!(page.contains("1 queue item(s) created"), "{page}");
    assert!(page.contains("href=\"/app/queue\""));
    assert!(html(&queue).contains("Aurora lamp"));
}

#[tokio::test]
async fn a_running_imports_page_shows_its_progress_and_reloads_until_it_ends() {
    let app = TestApp::new();
    let (cookies, _, user, _) = with_account(&app, "import-progress@example.com").await;
    // A refused last row: all or nothing creates none, within the free plan's month.
    let rows: String = (0..1_199).map(|i| format!("@shop,Post {i}\n")).collect();
    let job = app
        .engine
        .imports()
        .start(
            user.id(),
            postpilot_core::import::ImportRequest {
                format: postpilot_core::import::ImportFormat::Csv,
                kind: postpilot_core::import::ImportKind::Posts,
                mode: postpilot_core::import::ImportMode::AllOrNothing,
                data: format!("account,caption\n{rows}@nobody,Lost\n").into_bytes(),
            },
        )
        .await
        .unwrap();
    let location = format!("/app/imports/{}", job.import().id());

    let running = get(&app, &location, &cookies).await;
    job.run().await.unwrap();
    let ended = get(&app, &location, &cookies).await;
    let (running, ended) = (html(&running), html(&ended));

    assert!(running.contains("<h1>Importing</h1>"), "{running}");
    assert!(running.contains("value=\"0\" max=\"1200\""), "{running}");
    assert!(running.contains("data-reload-after"));
    assert!(ended.contains("<h1>Not imported</h1>"), "{ended}");
    assert!(
        !ended.contains("data-reload-after"),
        "an ended import stops reloading"
    );
}

#[tokio::test]
async fn a_platform_caption_over_its_limit_is_refused_with_the_reason_and_nothing_changes() {
    let app = TestApp::new();
    let cookies = register(&app, "long@example.com").await;
    let id = generate(&app, &cookies, &["instagram"]).await;
    let token = csrf_of(&cookies);
    let long = "x".repeat(2_201);

    let reply = post_form(
        &app,
        &format!("/app/queue/{id}/edit"),
        &cookies,
        &format!("caption=Short&caption_instagram={long}&csrf={token}"),
    )
    .await;

    let flash = set_cookie(&reply, "pp_flash").unwrap();
    assert!(
        flash.starts_with("pp_flash=eplatform%20captions.instagram"),
        "{flash}"
    );
    let page = get(&app, &format!("/app/queue/{id}"), &cookies).await;
    assert!(
        !html(&page).contains(">Short<"),
        "the shared caption was not changed either"
    );
}

#[tokio::test]
async fn choosing_a_plan_on_the_billing_page_goes_to_checkout_and_the_plan_is_shown() {
    let app = TestApp::new();
    let cookies = register(&app, "billing@example.com").await;
    let token = csrf_of(&cookies);

    let reply = post_form(
        &app,
        "/app/billing/checkout",
        &cookies,
        &format!("plan=pro&csrf={token}"),
    )
    .await;

    // A page that goes on to the provider (a redirect after a form post would be held by the
    // page's `form-action 'self'` when the provider is another origin).
    assert_eq!(reply.status, StatusCode::OK);
    let continuing = html(&reply);
    assert!(
        continuing.contains(r#"<meta http-equiv="refresh" content="0; url="#),
        "{continuing}"
    );
    assert!(continuing.contains("/billing/mock/checkout/") && continuing.contains("plan=pro"));
    let page = get(&app, "/app/billing", &cookies).await;
    assert!(html(&page).contains("pro plan</span>"), "{}", html(&page));
    let free = post_form(
        &app,
        "/app/billing/checkout",
        &cookies,
        &format!("plan=free&csrf={token}"),
    )
    .await;
    assert_eq!(free.headers[header::LOCATION], "/app/billing");
    assert!(
        set_cookie(&free, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=e")
    );
}

#[tokio::test]
async fn pages_get_the_apis_layers_hsts_included() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        hsts_max_age: Some(std::time::Duration::from_secs(31_536_000)),
        ..c
    });

    let page = get(&app, "/login", "").await;

    assert_eq!(
        page.headers[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000; includeSubDomains"
    );
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("form-action 'self'"),
        "the pages' own policy: {csp}"
    );
}

#[tokio::test]
async fn an_unknown_page_or_item_is_an_html_404_not_the_apis_json() {
    let app = TestApp::new();
    let cookies = register(&app, "lost@example.com").await;

    for path in [
        "/app/nothing-here",
        "/app/queue/not-an-id",
        "/app/queue/00000000-0000-0000-0000-000000000000",
    ] {
        let reply = get(&app, path, &cookies).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        let kind = reply.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(html(&reply).contains("<h1>Not found</h1>"), "{path}");
    }
}

#[tokio::test]
async fn a_forms_notice_shows_once_and_a_link_cannot_write_one() {
    let app = TestApp::new();
    let cookies = register(&app, "flash@example.com").await;
    let token = csrf_of(&cookies);
    let refused = post_form(
        &app,
        "/app/billing/checkout",
        &cookies,
        &format!("plan=free&csrf={token}"),
    )
    .await;
    let flash = value_of(&set_cookie(&refused, "pp_flash").unwrap());

    let shown = get(
        &app,
        "/app/billing",
        &format!("{cookies}; pp_flash={flash}"),
    )
    .await;

    assert!(
        html(&shown).contains("class=\"notice error\""),
        "{}",
        html(&shown)
    );
    assert!(
        set_cookie(&shown, "pp_flash")
            .unwrap()
            .contains("Max-Age=0"),
        "cleared once shown"
    );
    let forged = get(
        &app,
        "/app/billing?error=Re-enter+your+card+at+evil.example",
        &cookies,
    )
    .await;
    assert!(
        !html(&forged).contains("evil.example"),
        "the URL cannot write a notice"
    );
}

#[tokio::test]
async fn an_api_key_is_shown_once_on_creation_works_and_is_revoked_from_the_page() {
    let app = TestApp::new();
    let cookies = register(&app, "keys@example.com").await;
    let token = csrf_of(&cookies);
    post_form(
        &app,
        "/app/billing/checkout",
        &cookies,
        &format!("plan=pro&csrf={token}"),
    )
    .await;

    let created = post_form(
        &app,
        "/app/api-keys",
        &cookies,
        &format!("name=Shop+backend&scope=posts%3Aread&csrf={token}"),
    )
    .await;

    assert_eq!(created.status, StatusCode::OK);
    let page = html(&created);
    let key = page
        .split("id=\"new-key\" type=\"text\" readonly value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let listed = get(&app, "/api/v1/posts", "").await;
    assert_eq!(listed.status, StatusCode::UNAUTHORIZED);
    let with_key = app
        .send(
            Method::GET,
            "/api/v1/posts",
            Some(("x-api-key", key.as_str())),
            None,
        )
        .await;
    assert_eq!(with_key.status, StatusCode::OK, "the key shown works");
    let again = get(&app, "/app/api-keys", &cookies).await;
    assert!(!html(&again).contains(&key), "shown only once");
    let id = id_in_action(html(&again), "/app/api-keys/");
    let revoked = post_form(
        &app,
        &format!("/app/api-keys/{id}/revoke"),
        &cookies,
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(revoked.headers[header::LOCATION], "/app/api-keys");
    let refused = app
        .send(
            Method::GET,
            "/api/v1/posts",
            Some(("x-api-key", key.as_str())),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_change_keeps_this_browser_signed_in_and_ends_the_old_session() {
    let app = TestApp::new();
    let cookies = register(&app, "settings@example.com").await;
    let token = csrf_of(&cookies);

    let wrong = post_form(
        &app,
        "/app/settings",
        &cookies,
        &format!("new_password=a+brand+new+secret&current_password=nope+nope+nope&csrf={token}"),
    )
    .await;
    assert!(
        set_cookie(&wrong, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=eThe%20current%20password")
    );

    let changed = post_form(
        &app,
        "/app/settings",
        &cookies,
        &format!(
            "new_password=a+brand+new+secret&current_password=correct+horse+battery&csrf={token}"
        ),
    )
    .await;

    let session = value_of(&set_cookie(&changed, "pp_session").expect("a new session"));
    let now = get(&app, "/app/settings", &format!("pp_session={session}")).await;
    assert_eq!(now.status, StatusCode::OK);
    let old = get(&app, "/app", &cookies).await;
    assert_eq!(
        old.headers[header::LOCATION],
        "/login",
        "the old session ended"
    );
    assert!(
        app.engine
            .auth()
            .login("settings@example.com", "a brand new secret")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_calendar_shows_a_post_on_its_local_day_and_hour_in_both_views_and_moves_it() {
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "calendar@example.com").await;
    set_zone(&app, &cookies, "Europe/Paris").await;
    let id = generate(&app, &cookies, &["facebook"]).await;
    let year = chrono::Datelike::year(&app.now()) + 1;
    // 23:30 in Paris on 31 October is 22:30 UTC the same day (winter time): the day is Paris's.
    post_form(
        &app,
        &format!("/app/queue/{id}/approve"),
        &cookies,
        &format!("account={account}&scheduled_for={year}-10-31T23%3A30&csrf={token}"),
    )
    .await;

    let month = get(&app, &format!("/app/calendar?month={year}-10"), &cookies).await;
    let week = get(&app, &format!("/app/calendar?week={year}-10-31"), &cookies).await;

    assert_eq!(month.status, StatusCode::OK);
    let page = html(&month);
    assert!(page.contains("Your posts in Europe/Paris time"), "{page}");
    let day = page
        .split(&format!("data-date=\"{year}-10-31\""))
        .nth(1)
        .unwrap();
    let day = day.split("data-date=").next().unwrap();
    assert!(day.contains("<span class=\"when\">23:30</span>"), "{day}");
    let post = id_in_action(page, "/app/posts/");
    assert_eq!(week.status, StatusCode::OK);
    let slot = html(&week)
        .split(&format!("data-date=\"{year}-10-31\" data-hour=\"23\""))
        .nth(1)
        .unwrap();
    let slot = slot.split("data-date=").next().unwrap();
    assert!(
        slot.contains(&format!("href=\"/app/posts/{post}\"")),
        "{slot}"
    );

    let moved = post_form(
        &app,
        &format!("/app/posts/{post}/move"),
        &cookies,
        &format!(
            "date={year}-11-02&time=08%3A15&back=%2Fapp%2Fcalendar%3Fweek%3D{year}-11-02&csrf={token}"
        ),
    )
    .await;

    assert_eq!(
        moved.headers[header::LOCATION].to_str().unwrap(),
        format!("/app/calendar?week={year}-11-02")
    );
    assert!(
        set_cookie(&moved, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sMoved")
    );
    assert_eq!(only_post_time(&app, &user).await, utc(year, 11, 2, 7, 15));
    let elsewhere = post_form(
        &app,
        &format!("/app/posts/{post}/move"),
        &cookies,
        &format!("date={year}-11-03&time=08%3A15&back=https%3A%2F%2Fevil.example&csrf={token}"),
    )
    .await;
    assert_eq!(elsewhere.headers[header::LOCATION], "/app/calendar");
    for bad in ["/app/calendar?week=soon", "/app/calendar?month=2026-13"] {
        assert_eq!(
            get(&app, bad, &cookies).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_new_account_starts_in_the_browsers_zone_and_settings_change_it() {
    let app = TestApp::new();
    let token = csrf(&app).await;
    let form = format!(
        "email=zone%40example.com&password={}&time_zone=America%2FNew_York&csrf={token}",
        PASSWORD.replace(' ', "+")
    );
    let reply = post_form(&app, "/register", &format!("pp_csrf={token}"), &form).await;
    let cookies = format!(
        "pp_csrf={token}; pp_session={}",
        value_of(&set_cookie(&reply, "pp_session").unwrap())
    );
    let zone = |app: &TestApp| {
        let engine = app.engine.clone();
        async move {
            let user = engine
                .auth()
                .login("zone@example.com", PASSWORD)
                .await
                .unwrap();
            user.time_zone().name().to_owned()
        }
    };
    assert_eq!(zone(&app).await, "America/New_York");

    set_zone(&app, &cookies, "Asia/Tokyo").await;
    let refused = post_form(
        &app,
        "/app/settings/time-zone",
        &cookies,
        &format!("time_zone=Mars%2FOlympus&csrf={token}"),
    )
    .await;

    assert_eq!(zone(&app).await, "Asia/Tokyo");
    assert!(
        set_cookie(&refused, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=e"),
        "a refused zone says so"
    );
    let settings = get(&app, "/app/settings", &cookies).await;
    assert!(html(&settings).contains("<option selected>Asia/Tokyo</option>"));
}

#[tokio::test]
async fn a_scheduled_post_is_edited_on_its_page_and_a_published_one_offers_no_form() {
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "edit@example.com").await;
    set_zone(&app, &cookies, "Europe/Paris").await;
    let id = generate(&app, &cookies, &["facebook"]).await;
    let year = chrono::Datelike::year(&app.now()) + 1;
    post_form(
        &app,
        &format!("/app/queue/{id}/approve"),
        &cookies,
        &format!("account={account}&scheduled_for={year}-07-01T09%3A30&csrf={token}"),
    )
    .await;
    let calendar = get(&app, &format!("/app/calendar?month={year}-07"), &cookies).await;
    let post = id_in_action(html(&calendar), "/app/posts/");
    let page = get(&app, &format!("/app/posts/{post}"), &cookies).await;
    assert!(
        html(&page).contains(&format!("value=\"{year}-07-01T09:30\"")),
        "the form shows the local time"
    );

    let saved = post_form(
        &app,
        &format!("/app/posts/{post}"),
        &cookies,
        &format!(
            "content=Summer+sale&hashtags=%23sale+summer&scheduled_for={year}-07-02T18%3A00&csrf={token}"
        ),
    )
    .await;
    let refused = post_form(
        &app,
        &format!("/app/posts/{post}"),
        &cookies,
        &format!("content=&hashtags=&scheduled_for=&csrf={token}"),
    )
    .await;
    let caption_only = post_form(
        &app,
        &format!("/app/posts/{post}"),
        &cookies,
        &format!(
            "content=Summer+sale+today&hashtags=sale+summer&was_hashtags=sale+summer&scheduled_for={year}-07-02T18%3A00&was_scheduled_for={year}-07-02T18%3A00&csrf={token}"
        ),
    )
    .await;

    assert_eq!(
        saved.headers[header::LOCATION].to_str().unwrap(),
        format!("/app/posts/{post}")
    );
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&refused).contains("class=\"notice error\""),
        "{}",
        html(&refused)
    );
    assert!(
        set_cookie(&caption_only, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sSaved")
    );
    let stored = app
        .engine
        .posts()
        .get(
            user.id(),
            postpilot_core::id::PostId::from(uuid::Uuid::parse_str(&post).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(stored.content().as_ref(), "Summer sale today");
    assert_eq!(
        stored
            .hashtags()
            .iter()
            .map(|t| t.as_ref())
            .collect::<Vec<_>>(),
        ["sale", "summer"]
    );
    assert_eq!(stored.scheduled_for(), utc(year, 7, 2, 16, 0));
    let bearer = bearer(&app, "edit@example.com").await;
    let posted = app.posted_post(&bearer, &account.to_string()).await;
    let published = get(&app, &format!("/app/posts/{posted}"), &cookies).await;
    assert!(!html(&published).contains(&format!("action=\"/app/posts/{posted}\"")));
}

#[tokio::test]
async fn the_posts_page_filters_and_a_posts_page_shows_its_publication_history() {
    let app = TestApp::new();
    let (cookies, _, _, account) = with_account(&app, "posts@example.com").await;
    let token = bearer(&app, "posts@example.com").await;
    let posted = app.posted_post(&token, &account.to_string()).await;

    let all = get(&app, "/app/posts", &cookies).await;
    let drafts = get(&app, "/app/posts?status=draft", &cookies).await;
    let one = get(&app, &format!("/app/posts/{posted}"), &cookies).await;

    assert!(html(&all).contains(&format!("href=\"/app/posts/{posted}\"")));
    assert!(!html(&drafts).contains(&format!("href=\"/app/posts/{posted}\"")));
    let page = html(&one);
    assert!(
        page.contains("<span class=\"status posted\">posted</span>"),
        "{page}"
    );
    assert!(
        page.contains("<td>1</td>") && page.contains("<td>posted</td>"),
        "{page}"
    );
    assert!(
        !page.contains(">w<"),
        "the worker is the operator's business"
    );
}

#[tokio::test]
async fn the_analytics_page_charts_a_published_posts_figures_on_its_local_day_and_lists_it_on_top()
{
    let app = TestApp::new();
    let (cookies, _, _, account) = with_account(&app, "analytics@example.com").await;
    let empty = get(&app, "/app/analytics", &cookies).await;
    assert!(html(&empty).contains("No interactions in the last 30 days."));
    let token = bearer(&app, "analytics@example.com").await;
    let posted = app.posted_post(&token, &account.to_string()).await;
    assert_eq!(app.refresh_metrics().await, 1);

    let reply = get(&app, "/app/analytics", &cookies).await;

    assert_eq!(reply.status, StatusCode::OK);
    let page = html(&reply);
    let metrics = app
        .engine
        .analytics()
        .post(
            app.engine
                .auth()
                .login("analytics@example.com", PASSWORD)
                .await
                .unwrap()
                .id(),
            postpilot_core::id::PostId::from(uuid::Uuid::parse_str(&posted).unwrap()),
        )
        .await
        .unwrap();
    let interactions = metrics.counts.interactions();
    assert!(
        interactions > 0,
        "the simulated platform reports interactions"
    );
    let today = app.now().format("%a %-d %b").to_string();
    assert!(
        page.contains(&format!(
            "<title>{today}: {interactions} interactions, 1 post</title>"
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"/app/posts/{posted}\"")),
        "a top post"
    );
    assert!(
        page.contains("<p class=\"value\">1</p>"),
        "one published post"
    );
    assert_eq!(
        page.matches("<rect class=\"bar\"").count(),
        60,
        "30 days, two charts"
    );
}

#[tokio::test]
async fn a_template_is_created_edited_used_by_the_queue_and_deleted_from_its_pages() {
    let app = TestApp::new();
    let cookies = register(&app, "templates@example.com").await;
    let token = csrf_of(&cookies);
    let refused = post_form(
        &app,
        "/app/templates",
        &cookies,
        &format!("name=Bad&body=Buy+%7Bnonsense%7D&csrf={token}"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&refused).contains("nonsense") && html(&refused).contains("Buy {nonsense}</textarea>"),
        "the unknown placeholder is named, and the form keeps what was typed"
    );

    let created = post_form(
        &app,
        "/app/templates",
        &cookies,
        &format!("name=Launch&body=New%3A+%7Btitle%7D+for+%7Bprice%7D&platform=instagram&tone=casual&csrf={token}"),
    )
    .await;

    assert_eq!(created.headers[header::LOCATION], "/app/templates");
    let list = get(&app, "/app/templates", &cookies).await;
    let id = id_in_action(html(&list), "/app/templates/");
    assert!(html(&list).contains(">Launch</a>") && html(&list).contains("<td>Instagram</td>"));
    let edited = post_form(
        &app,
        &format!("/app/templates/{id}"),
        &cookies,
        &format!("name=Launch+day&body=Today%3A+%7Btitle%7D&csrf={token}"),
    )
    .await;
    assert!(
        set_cookie(&edited, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sSaved")
    );
    let page = get(&app, &format!("/app/templates/{id}"), &cookies).await;
    assert!(
        html(&page).contains("Today: {title}</textarea>"),
        "{}",
        html(&page)
    );
    assert!(
        !html(&page).contains("value=\"instagram\" checked"),
        "no platform ticked: every platform"
    );
    let queue = get(&app, "/app/queue", &cookies).await;
    assert!(html(&queue).contains(&format!("<option value=\"{id}\">Launch day</option>")));

    let deleted = post_form(
        &app,
        &format!("/app/templates/{id}/delete"),
        &cookies,
        &format!("csrf={token}"),
    )
    .await;

    assert!(
        set_cookie(&deleted, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sTemplate")
    );
    assert_eq!(
        get(&app, &format!("/app/templates/{id}"), &cookies)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_brand_renames_the_product_recolours_it_and_orders_its_navigation() {
    let mut colors = std::collections::BTreeMap::new();
    colors.insert("primary".to_owned(), "#2563eb".to_owned());
    let brand = postpilot_http::Brand::parse(
        postpilot_http::BrandFile {
            name: Some("ShopCast".into()),
            tagline: Some("posts for makers".into()),
            colors,
            ..Default::default()
        },
        Some(vec![
            postpilot_http::NavPage::Dashboard,
            postpilot_http::NavPage::Calendar,
            postpilot_http::NavPage::Settings,
        ]),
    )
    .unwrap();
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig { brand, ..c });
    let cookies = register(&app, "brand@example.com").await;

    let dashboard = get(&app, "/app", &cookies).await;
    let landing = get(&app, "/", "").await;

    let page = html(&dashboard);
    assert!(
        page.contains("<title>Dashboard · ShopCast</title>"),
        "{page}"
    );
    assert!(!page.contains("PostPilot"), "no trace of the default name");
    let nav: Vec<&str> = page
        .split("<li><a href=\"")
        .skip(1)
        .filter_map(|l| l.split('"').next())
        .collect();
    assert_eq!(nav, ["/app", "/app/calendar", "/app/settings"]);
    let stylesheet = page
        .split("href=\"/assets/brand.")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|name| format!("/assets/brand.{name}"))
        .expect("the brand's stylesheet is linked");
    let css = get(&app, &stylesheet, "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(
        html(&css),
        "@media not (prefers-color-scheme: dark){:root{--primary:#2563eb;}}\n"
    );
    assert!(html(&landing).contains("ShopCast writes captions"));
    assert!(html(&landing).contains("ShopCast · posts for makers"));
}

#[tokio::test]
async fn saving_a_posts_caption_keeps_its_exact_time_even_to_the_second() {
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "seconds@example.com").await;
    let at = app.now() + chrono::Duration::days(2) + chrono::Duration::seconds(45);
    let created = app
        .engine
        .posts()
        .create(
            user.id(),
            postpilot_core::post::CreatePost {
                account_id: postpilot_core::id::AccountId::from(account),
                content: "First words".into(),
                media_urls: Vec::new(),
                hashtags: Vec::new(),
                scheduled_for: Some(at),
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await
        .unwrap();
    let id = created.id().as_uuid();
    let shown = at.format("%Y-%m-%dT%H%%3A%M").to_string();

    let saved = post_form(
        &app,
        &format!("/app/posts/{id}"),
        &cookies,
        &format!(
            "content=Better+words&hashtags=&was_hashtags=&scheduled_for={shown}&was_scheduled_for={shown}&csrf={token}"
        ),
    )
    .await;

    assert!(
        set_cookie(&saved, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sSaved")
    );
    let stored = app
        .engine
        .posts()
        .get(user.id(), created.id())
        .await
        .unwrap();
    assert_eq!(stored.content().as_ref(), "Better words");
    assert_eq!(
        stored.scheduled_for(),
        Some(at),
        "the time was not sent again"
    );
}

#[tokio::test]
async fn an_edit_repeating_another_posts_caption_is_refused_with_a_link_and_a_box_to_schedule_both()
{
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "twice@example.com").await;
    let at = app.now() + chrono::Duration::days(2);
    let create = |content: &str, minutes: i64| postpilot_core::post::CreatePost {
        account_id: postpilot_core::id::AccountId::from(account),
        content: content.into(),
        media_urls: Vec::new(),
        hashtags: Vec::new(),
        scheduled_for: Some(at + chrono::Duration::minutes(minutes)),
        duplicates: postpilot_core::post::Duplicates::Refuse,
    };
    let posts = app.engine.posts();
    let first = posts
        .create(user.id(), create("Mugs are back", 0))
        .await
        .unwrap();
    let second = posts
        .create(user.id(), create("Lamps are back", 30))
        .await
        .unwrap();
    let path = format!("/app/posts/{}", second.id().as_uuid());
    let form =
        |extra: &str| format!("content=Mugs+are+back&hashtags=&was_hashtags=&csrf={token}{extra}");

    let refused = post_form(&app, &path, &cookies, &form("")).await;

    assert_eq!(refused.status, StatusCode::CONFLICT);
    let page = html(&refused);
    assert!(page.contains("same caption within 24 hours"), "{page}");
    assert!(page.contains(&format!("href=\"/app/posts/{}\"", first.id().as_uuid())));
    assert!(page.contains("name=\"allow_duplicate\""));
    let kept = posts.get(user.id(), second.id()).await.unwrap();
    assert_eq!(kept.content().as_ref(), "Lamps are back");

    let saved = post_form(&app, &path, &cookies, &form("&allow_duplicate=1")).await;

    assert!(
        set_cookie(&saved, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sSaved")
    );
    let stored = posts.get(user.id(), second.id()).await.unwrap();
    assert_eq!(stored.content().as_ref(), "Mugs are back");
}

#[tokio::test]
async fn a_paused_post_says_why_on_its_page_and_is_resumed_or_deleted_there() {
    let app = TestApp::new();
    let (cookies, token, user, account) = with_account(&app, "paused@example.com").await;
    let at = app.now() + chrono::Duration::days(1);
    let posts = app.engine.posts();
    let mut ids = Vec::new();
    for content in ["Lamp sale", "Mug sale"] {
        let request = postpilot_core::post::CreatePost {
            account_id: postpilot_core::id::AccountId::from(account),
            content: content.into(),
            media_urls: Vec::new(),
            hashtags: Vec::new(),
            scheduled_for: Some(at),
            duplicates: postpilot_core::post::Duplicates::Refuse,
        };
        let post = posts.create(user.id(), request).await.unwrap();
        posts
            .pause(user.id(), post.id(), "the price changed")
            .await
            .unwrap();
        ids.push(post.id());
    }
    let resumed_path = format!("/app/posts/{}", ids[0].as_uuid());

    let page = get(&app, &resumed_path, &cookies).await;
    assert!(
        html(&page).contains("Paused: the price changed"),
        "{}",
        html(&page)
    );
    assert!(html(&page).contains(&format!("action=\"{resumed_path}/resume\"")));
    let resumed = post_form(
        &app,
        &format!("{resumed_path}/resume"),
        &cookies,
        &format!("csrf={token}"),
    )
    .await;
    let deleted_path = format!("/app/posts/{}/delete", ids[1].as_uuid());
    let deleted = post_form(&app, &deleted_path, &cookies, &format!("csrf={token}")).await;

    assert!(
        set_cookie(&resumed, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sResumed")
    );
    let stored = posts.get(user.id(), ids[0]).await.unwrap();
    assert_eq!(stored.status(), postpilot_core::post::PostStatus::Scheduled);
    assert_eq!(stored.scheduled_for(), Some(at));
    assert!(
        set_cookie(&deleted, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sDeleted")
    );
    assert!(posts.get(user.id(), ids[1]).await.is_err());
}

#[tokio::test]
async fn the_settings_page_chooses_what_a_product_change_pauses() {
    let app = TestApp::new();
    let (cookies, token, user, _) = with_account(&app, "pause-on@example.com").await;

    let page = get(&app, "/app/settings", &cookies).await;
    assert!(
        html(&page).contains("<option value=\"both\" selected>"),
        "{}",
        html(&page)
    );

    let saved = post_form(
        &app,
        "/app/settings/pause-on",
        &cookies,
        &format!("pause_on=stock&csrf={token}"),
    )
    .await;
    let refused = post_form(
        &app,
        "/app/settings/pause-on",
        &cookies,
        &format!("pause_on=never&csrf={token}"),
    )
    .await;

    assert!(
        set_cookie(&saved, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=sSaved")
    );
    assert!(
        set_cookie(&refused, "pp_flash")
            .unwrap()
            .starts_with("pp_flash=e")
    );
    let me = app.engine.auth().me(user.id()).await.unwrap();
    assert_eq!(me.user.pause_on(), postpilot_core::post::PauseOn::Stock);
}

#[tokio::test]
async fn an_endpoint_its_receiver_stopped_is_told_on_the_dashboard_and_enabled_again_from_it() {
    let app = TestApp::new();
    let cookies = register(&app, "hooks@example.com").await;
    let email = postpilot_core::user::Email::parse("hooks@example.com").unwrap();
    let user = app
        .engine
        .store()
        .user_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .id();
    let endpoints = app.engine.endpoints();
    let request = |url: &str| postpilot_core::event::NewEndpointRequest {
        url: url.into(),
        event_types: Vec::new(),
        description: String::new(),
    };
    let gone = endpoints
        .create(user, request("https://93.184.216.34/gone"))
        .await
        .unwrap()
        .endpoint;
    let mine = endpoints
        .create(user, request("https://93.184.216.34/mine"))
        .await
        .unwrap()
        .endpoint;
    let mut stopped = gone.clone();
    stopped.disable(postpilot_core::event::GONE_REASON, app.now());
    app.engine
        .store()
        .update_endpoint(&stopped, gone.updated_at())
        .await
        .unwrap();
    let off = postpilot_core::event::EndpointPatch {
        enabled: Some(false),
        ..Default::default()
    };
    endpoints.update(user, mine.id(), off).await.unwrap();

    let dashboard = get(&app, "/app", &cookies).await;
    let page = html(&dashboard);
    assert!(
        page.contains("A webhook endpoint stopped receiving events"),
        "{page}"
    );
    assert!(page.contains("https://93.184.216.34/gone") && page.contains("410 Gone"));
    assert!(
        !page.contains("/mine"),
        "one its owner turned off is not news"
    );

    let token = cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("pp_csrf="))
        .unwrap();
    let enabled = post_form(
        &app,
        &format!("/app/webhook-endpoints/{}/enable", gone.id()),
        &cookies,
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER, "{:?}", enabled.body);
    assert_eq!(enabled.headers[header::LOCATION], "/app");
    assert!(!endpoints.get(user, gone.id()).await.unwrap().is_disabled());
    let flash = set_cookie(&enabled, "pp_flash")
        .map(|c| value_of(&c))
        .unwrap_or_default();
    let again = get(&app, "/app", &format!("{cookies}; pp_flash={flash}")).await;
    let after = html(&again);
    assert!(!after.contains("stopped receiving events"));
    assert!(after.contains("receives events again"), "{after}");
}
