//! The webhook matrix: Stripe events (`Stripe-Signature: t=…,v1=…`), platform events and
//! provisioning (`X-PostPilot-Timestamp` + `X-PostPilot-Signature`). A valid signature applies the
//! event once; every refused signature is a 401 problem with no effect; a replay is acknowledged
//! as a duplicate; an unconfigured secret is a 503.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use postpilot_http::HttpConfig;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::test_app::{self, PLATFORM_SECRET, Reply, STRIPE_SECRET, TestApp, assert_problem};

const STRIPE: &str = "/api/v1/webhooks/stripe";
const EVENTS: &str = "/api/v1/webhooks/platform-events";
const PROVISION: &str = "/api/v1/auth/provision";

/// The engine clock's time (signatures are checked against it), in Unix seconds.
fn now(app: &TestApp) -> i64 {
    app.now().timestamp()
}

/// Header names and values.
type Headers = Vec<(&'static str, String)>;

/// POSTs `body` as JSON with exactly `headers`.
async fn post(app: &TestApp, path: &str, headers: &[(&str, String)], body: &str) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    app.raw(request.body(Body::from(body.to_owned())).unwrap())
        .await
}

/// [`post`] owning its headers.
async fn post_owned(app: &TestApp, path: &str, headers: Vec<(&str, String)>, body: &str) -> Reply {
    post(app, path, &headers, body).await
}

fn stripe_header(secret: &str, timestamp: i64, body: &str) -> String {
    format!(
        "t={timestamp},v1={}",
        test_app::sign(secret, timestamp, body)
    )
}

/// A Stripe delivery of `body` signed now with the right secret.
async fn stripe(app: &TestApp, body: &str) -> Reply {
    let header = stripe_header(STRIPE_SECRET, now(app), body);
    post(app, STRIPE, &[("stripe-signature", header)], body).await
}

fn platform_headers(secret: &str, timestamp: i64, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-postpilot-timestamp", timestamp.to_string()),
        (
            "x-postpilot-signature",
            test_app::sign(secret, timestamp, body),
        ),
    ]
}

/// A platform delivery of `body` to `path` signed now with the right secret.
async fn platform(app: &TestApp, path: &str, body: &str) -> Reply {
    post(
        app,
        path,
        &platform_headers(PLATFORM_SECRET, now(app), body),
        body,
    )
    .await
}

/// Sends a request signed `offset` seconds away from the engine's now (the test app's clock
/// stands still, so the server sees exactly that offset).
async fn at_offset<F, Fut>(app: &TestApp, offset: i64, send: F) -> Reply
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    send(now(app) + offset).await
}

fn checkout(event_id: &str, user_id: &str, plan: &str) -> String {
    json!({
        "id": event_id,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": format!("cs_{event_id}"),
            "client_reference_id": user_id,
            "customer": "cus_test",
            "subscription": format!("sub_{event_id}"),
            "metadata": {"plan": plan},
        }},
    })
    .to_string()
}

fn platform_event(event_id: &str, kind: &str, data: Value) -> String {
    json!({"id": event_id, "type": kind, "data": data}).to_string()
}

fn provisioned(event_id: &str, email: &str, external: Uuid) -> String {
    platform_event(
        event_id,
        "user.provisioned",
        json!({"email": email, "external_platform_id": external}),
    )
}

fn subscription_updated(event_id: &str, external: Uuid, plan: &str) -> String {
    platform_event(
        event_id,
        "subscription.updated",
        json!({"external_platform_id": external, "plan": plan, "status": "active"}),
    )
}

/// A registered user's token and id.
async fn registered(app: &TestApp, email: &str) -> (String, String) {
    let token = app.token(email).await;
    let me = app
        .as_user(&token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    (token, me.body["id"].as_str().unwrap().to_owned())
}

async fn plan_of(app: &TestApp, token: &str) -> String {
    let usage = app.as_user(token, Method::GET, "/api/v1/usage", None).await;
    assert_eq!(usage.status, StatusCode::OK, "{:?}", usage.body);
    usage.body["plan"].as_str().unwrap().to_owned()
}

/// The plan of the user the platform knows as `external`, if there is one.
async fn platform_user_plan(app: &TestApp, external: Uuid) -> Option<String> {
    let user = app
        .engine
        .store()
        .user_by_external_id(external)
        .await
        .unwrap()?;
    Some(
        app.engine
            .auth()
            .me(user.id())
            .await
            .unwrap()
            .plan
            .to_string(),
    )
}

fn assert_receipt(reply: &Reply, outcome: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body, json!({"received": true, "outcome": outcome}));
}

fn assert_refused(case: &str, reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{case} was not refused: {:?}",
        reply.body
    );
    test_app::assert_problem(reply, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["type"], "/problems/unauthorized", "{case}");
}

// --- Stripe ---

#[tokio::test]
async fn a_signed_stripe_checkout_completed_event_upgrades_the_referenced_user() {
    let app = TestApp::new();
    let (token, id) = registered(&app, "buyer@example.com").await;
    assert_eq!(plan_of(&app, &token).await, "free");
    let reply = stripe(&app, &checkout("evt_checkout_1", &id, "pro")).await;
    assert_receipt(&reply, "applied");
    assert_eq!(plan_of(&app, &token).await, "pro");
    let subscription = app
        .as_user(&token, Method::GET, "/api/v1/billing/subscription", None)
        .await;
    assert_eq!(
        subscription.body["status"], "active",
        "{:?}",
        subscription.body
    );
}

#[tokio::test]
async fn a_stripe_event_with_a_bad_signature_is_refused_and_has_no_effect() {
    let app = TestApp::new();
    let (token, id) = registered(&app, "stripe-bad@example.com").await;
    let body = checkout("evt_refused", &id, "pro");
    let t = now(&app);
    let good = test_app::sign(STRIPE_SECRET, t, &body);
    let mut flipped = good.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let tampered = body.replace("\"pro\"", "\"enterprise\"");
    assert_ne!(tampered, body);
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "a flipped signature",
            Some(format!("t={t},v1={flipped}")),
            &body,
        ),
        (
            "a zero signature",
            Some(format!("t={t},v1={}", "0".repeat(64))),
            &body,
        ),
        (
            "another secret",
            Some(stripe_header("whsec_other", t, &body)),
            &body,
        ),
        (
            "the signature of the original body",
            Some(format!("t={t},v1={good}")),
            &tampered,
        ),
        (
            "a signature over another timestamp",
            Some(format!("t={},v1={good}", t - 1)),
            &body,
        ),
        ("no header", None, &body),
        ("an empty header", Some(String::new()), &body),
        ("garbage", Some("garbage".into()), &body),
        ("no timestamp", Some(format!("v1={good}")), &body),
        ("no v1", Some(format!("t={t}")), &body),
        (
            "only a v0 signature",
            Some(format!("t={t},v0={good}")),
            &body,
        ),
        (
            "a non-numeric timestamp",
            Some(format!("t=abc,v1={good}")),
            &body,
        ),
        (
            "a negative timestamp",
            Some(format!("t=-{t},v1={good}")),
            &body,
        ),
        (
            "two timestamps",
            Some(format!("t={t},t={t},v1={good}")),
            &body,
        ),
        (
            "a non-hex signature",
            Some(format!("t={t},v1=zz{}", &good[2..])),
            &body,
        ),
        (
            "a truncated signature",
            Some(format!("t={t},v1={}", &good[..32])),
            &body,
        ),
        ("a bare signature", Some(good.clone()), &body),
    ];
    for (case, header, body) in cases {
        let headers: Vec<(&str, String)> = header
            .into_iter()
            .map(|h| ("stripe-signature", h))
            .collect();
        assert_refused(case, &post(&app, STRIPE, &headers, body).await);
    }
    assert_eq!(plan_of(&app, &token).await, "free");
    // Nothing was recorded: the genuine delivery of the same event id still applies.
    assert_receipt(&stripe(&app, &body).await, "applied");
    assert_eq!(plan_of(&app, &token).await, "pro");
}

#[tokio::test]
async fn a_stripe_event_signed_301_seconds_in_the_past_or_future_is_refused() {
    let app = TestApp::new();
    let (token, id) = registered(&app, "stripe-stale@example.com").await;
    let body = checkout("evt_stale", &id, "pro");
    for offset in [-301, 301, -3_600, 86_400] {
        let reply = at_offset(&app, offset, |t| {
            post_owned(
                &app,
                STRIPE,
                vec![("stripe-signature", stripe_header(STRIPE_SECRET, t, &body))],
                &body,
            )
        })
        .await;
        assert_refused(&format!("timestamp {offset} s away"), &reply);
    }
    assert_eq!(plan_of(&app, &token).await, "free");
}

#[tokio::test]
async fn a_replayed_stripe_event_is_a_duplicate_with_no_second_effect() {
    let app = TestApp::new();
    let (token, id) = registered(&app, "stripe-replay@example.com").await;
    let first = checkout("evt_replay_1", &id, "pro");
    let header = stripe_header(STRIPE_SECRET, now(&app), &first);
    let request = [("stripe-signature", header)];
    assert_receipt(&post(&app, STRIPE, &request, &first).await, "applied");
    assert_eq!(plan_of(&app, &token).await, "pro");
    // A later event moves the user on; replaying the first must not move them back.
    assert_receipt(
        &stripe(&app, &checkout("evt_replay_2", &id, "enterprise")).await,
        "applied",
    );
    assert_eq!(plan_of(&app, &token).await, "enterprise");
    for _ in 0..2 {
        assert_receipt(&post(&app, STRIPE, &request, &first).await, "duplicate");
    }
    assert_eq!(plan_of(&app, &token).await, "enterprise");
}

#[tokio::test]
async fn the_stripe_webhook_without_a_configured_secret_is_503() {
    let app = TestApp::with_config(|c| HttpConfig {
        stripe_webhook_secret: None,
        ..c
    });
    let (token, id) = registered(&app, "stripe-off@example.com").await;
    let body = checkout("evt_off", &id, "pro");
    let reply = stripe(&app, &body).await;
    test_app::assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body["type"], "/problems/unavailable");
    // Whatever the signature: an empty secret must not become a usable one.
    let header = stripe_header("", now(&app), &body);
    let reply = post(&app, STRIPE, &[("stripe-signature", header)], &body).await;
    test_app::assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(plan_of(&app, &token).await, "free");
}

#[tokio::test]
async fn malformed_json_with_a_valid_stripe_signature_is_400() {
    let app = TestApp::new();
    for body in ["{not json", "", "{\"", "{,}", "nul", "\u{0}"] {
        let reply = stripe(&app, body).await;
        // Regression: the Stripe route answers 422 (`/problems/validation`, field `event`: "not a JSON
        // event") for a body that is not JSON at all, where every other JSON route — platform
        // events included — answers 400 `/problems/bad-request` for a syntax error.
        test_app::assert_problem(&reply, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["type"], "/problems/bad-request", "{body:?}");
    }
}

#[tokio::test]
async fn an_unknown_stripe_event_type_is_acknowledged_as_ignored() {
    let app = TestApp::new();
    let (token, id) = registered(&app, "stripe-unknown@example.com").await;
    let body = json!({
        "id": "evt_unknown",
        "type": "invoice.created",
        "data": {"object": {"client_reference_id": id, "metadata": {"plan": "pro"}}},
    })
    .to_string();
    let reply = stripe(&app, &body).await;
    // Regression: the Stripe route reports `applied` for an event type it does nothing with; the
    // receipt documents `ignored` for exactly this (and platform events answer `ignored`).
    assert_receipt(&reply, "ignored");
    assert_eq!(plan_of(&app, &token).await, "free");
}

// --- Platform events ---

#[tokio::test]
async fn a_signed_user_provisioned_event_creates_the_user() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    assert_eq!(platform_user_plan(&app, external).await, None);
    let body = provisioned("pe_provision", "Shop.Owner@Example.com", external);
    assert_receipt(&platform(&app, EVENTS, &body).await, "applied");
    let user = app
        .engine
        .store()
        .user_by_external_id(external)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email().to_string(), "shop.owner@example.com");
    assert_eq!(user.external_platform_id(), Some(external));
}

#[tokio::test]
async fn a_signed_subscription_updated_event_changes_the_plan() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    let body = provisioned("pe_sub_user", "sub@example.com", external);
    assert_receipt(&platform(&app, EVENTS, &body).await, "applied");
    assert_eq!(
        platform_user_plan(&app, external).await.as_deref(),
        Some("free")
    );
    let body = subscription_updated("pe_sub_pro", external, "pro");
    assert_receipt(&platform(&app, EVENTS, &body).await, "applied");
    assert_eq!(
        platform_user_plan(&app, external).await.as_deref(),
        Some("pro")
    );
}

#[tokio::test]
async fn a_platform_event_with_a_bad_signature_is_refused_and_has_no_effect() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    let body = provisioned("pe_refused", "refused@example.com", external);
    let t = now(&app);
    let ts = t.to_string();
    let good = test_app::sign(PLATFORM_SECRET, t, &body);
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'f' { b'e' } else { b'f' };
    let flipped = String::from_utf8(flipped).unwrap();
    let tampered = body.replace("refused@", "attacker@");
    assert_ne!(tampered, body);
    let other = test_app::sign("another-secret", t, &body);
    let cases: Vec<(&str, Option<&str>, Option<&str>, &str)> = vec![
        ("a flipped signature", Some(&ts), Some(&flipped), &body),
        ("another secret", Some(&ts), Some(&other), &body),
        (
            "the signature of the original body",
            Some(&ts),
            Some(&good),
            &tampered,
        ),
        ("no timestamp", None, Some(&good), &body),
        ("no signature", Some(&ts), None, &body),
        ("no headers", None, None, &body),
        ("an empty signature", Some(&ts), Some(""), &body),
        ("an empty timestamp", Some(""), Some(&good), &body),
        ("a non-numeric timestamp", Some("now"), Some(&good), &body),
        ("a fractional timestamp", Some("1.5"), Some(&good), &body),
        ("a non-hex signature", Some(&ts), Some("zz"), &body),
        ("a truncated signature", Some(&ts), Some(&good[..32]), &body),
        (
            "a Stripe-style signature",
            Some(&ts),
            Some("t=1,v1=00"),
            &body,
        ),
    ];
    let sha256_prefixed = format!("sha256={good}");
    let off_by_one = (t - 1).to_string();
    let cases = cases.into_iter().chain([
        (
            "a prefixed signature",
            Some(ts.as_str()),
            Some(sha256_prefixed.as_str()),
            body.as_str(),
        ),
        (
            "a signature over another timestamp",
            Some(off_by_one.as_str()),
            Some(good.as_str()),
            body.as_str(),
        ),
    ]);
    for (case, timestamp, signature, body) in cases {
        let mut headers = Vec::new();
        if let Some(t) = timestamp {
            headers.push(("x-postpilot-timestamp", t.to_owned()));
        }
        if let Some(s) = signature {
            headers.push(("x-postpilot-signature", s.to_owned()));
        }
        assert_refused(case, &post(&app, EVENTS, &headers, body).await);
    }
    assert_eq!(platform_user_plan(&app, external).await, None);
    // Nothing was recorded: the genuine delivery of the same event id still applies.
    assert_receipt(&platform(&app, EVENTS, &body).await, "applied");
    assert_eq!(
        platform_user_plan(&app, external).await.as_deref(),
        Some("free")
    );
}

#[tokio::test]
async fn a_platform_event_signed_301_seconds_in_the_past_or_future_is_refused() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    let body = provisioned("pe_stale", "stale@example.com", external);
    for offset in [-301, 301, -3_600, 86_400] {
        let reply = at_offset(&app, offset, |t| {
            post_owned(
                &app,
                EVENTS,
                platform_headers(PLATFORM_SECRET, t, &body),
                &body,
            )
        })
        .await;
        assert_refused(&format!("timestamp {offset} s away"), &reply);
    }
    assert_eq!(platform_user_plan(&app, external).await, None);
}

#[tokio::test]
async fn a_replayed_platform_event_is_a_duplicate_with_no_second_effect() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    let user = provisioned("pe_replay_user", "replay@example.com", external);
    assert_receipt(&platform(&app, EVENTS, &user).await, "applied");
    let first = subscription_updated("pe_replay_1", external, "pro");
    let headers = platform_headers(PLATFORM_SECRET, now(&app), &first);
    assert_receipt(&post(&app, EVENTS, &headers, &first).await, "applied");
    assert_eq!(
        platform_user_plan(&app, external).await.as_deref(),
        Some("pro")
    );
    let second = subscription_updated("pe_replay_2", external, "enterprise");
    assert_receipt(&platform(&app, EVENTS, &second).await, "applied");
    for _ in 0..2 {
        assert_receipt(&post(&app, EVENTS, &headers, &first).await, "duplicate");
    }
    assert_eq!(
        platform_user_plan(&app, external).await.as_deref(),
        Some("enterprise")
    );
    // A replayed provisioning is a duplicate too.
    assert_receipt(&platform(&app, EVENTS, &user).await, "duplicate");
}

#[tokio::test]
async fn platform_events_and_provisioning_without_a_configured_secret_are_503() {
    let app = TestApp::with_config(|c| HttpConfig {
        platform_webhook_secret: None,
        ..c
    });
    let external = Uuid::new_v4();
    let event = provisioned("pe_off", "off@example.com", external);
    let reply = platform(&app, EVENTS, &event).await;
    test_app::assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body["type"], "/problems/unavailable");
    let body = json!({"email": "off@example.com", "external_platform_id": external}).to_string();
    let reply = platform(&app, PROVISION, &body).await;
    test_app::assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(platform_user_plan(&app, external).await, None);
}

#[tokio::test]
async fn malformed_json_with_a_valid_platform_signature_is_400() {
    let app = TestApp::new();
    for path in [EVENTS, PROVISION] {
        for body in ["{not json", "", "{\"", "{,}", "nul", "\u{0}"] {
            let reply = platform(&app, path, body).await;
            test_app::assert_problem(&reply, StatusCode::BAD_REQUEST);
            assert_eq!(
                reply.body["type"], "/problems/bad-request",
                "{path} {body:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_platform_event_type_is_acknowledged_as_ignored() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    let body = platform_event(
        "pe_unknown",
        "store.deleted",
        json!({"email": "unknown@example.com", "external_platform_id": external}),
    );
    assert_receipt(&platform(&app, EVENTS, &body).await, "ignored");
    assert_eq!(platform_user_plan(&app, external).await, None);
}

// --- Provisioning ---

#[tokio::test]
async fn a_signed_provision_request_creates_the_user() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    let store = Uuid::new_v4();
    let body = json!({
        "email": "Provisioned@Example.com",
        "external_platform_id": external,
        "external_store_id": store,
        "plan": "pro",
    })
    .to_string();
    let reply = platform(&app, PROVISION, &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["email"], "provisioned@example.com");
    assert_eq!(reply.body["external_platform_id"], json!(external));
    assert_eq!(reply.body["external_store_id"], json!(store));
    assert_eq!(reply.body["plan"], "pro");
    let user = app
        .engine
        .store()
        .user_by_external_id(external)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.body["id"], json!(user.id().as_uuid()));
}

#[tokio::test]
async fn a_provision_request_with_a_bad_signature_is_refused_and_creates_nothing() {
    let app = TestApp::new();
    let external = Uuid::new_v4();
    let body = json!({"email": "nobody@example.com", "external_platform_id": external, "plan": "enterprise"})
        .to_string();
    let t = now(&app);
    let good = test_app::sign(PLATFORM_SECRET, t, &body);
    let tampered = body.replace("nobody@", "somebody@");
    let cases: Vec<(&str, Headers, &str)> = vec![
        (
            "another secret",
            platform_headers("another-secret", t, &body),
            &body,
        ),
        (
            "a zero signature",
            vec![
                ("x-postpilot-timestamp", t.to_string()),
                ("x-postpilot-signature", "0".repeat(64)),
            ],
            &body,
        ),
        (
            "the signature of the original body",
            vec![
                ("x-postpilot-timestamp", t.to_string()),
                ("x-postpilot-signature", good.clone()),
            ],
            &tampered,
        ),
        ("no headers", Vec::new(), &body),
        (
            "no timestamp",
            vec![("x-postpilot-signature", good.clone())],
            &body,
        ),
        (
            "a malformed timestamp",
            vec![
                ("x-postpilot-timestamp", "yesterday".into()),
                ("x-postpilot-signature", good.clone()),
            ],
            &body,
        ),
    ];
    for (case, headers, body) in cases {
        assert_refused(case, &post(&app, PROVISION, &headers, body).await);
    }
    for offset in [-301, 301] {
        let reply = at_offset(&app, offset, |t| {
            post_owned(
                &app,
                PROVISION,
                platform_headers(PLATFORM_SECRET, t, &body),
                &body,
            )
        })
        .await;
        assert_refused(&format!("timestamp {offset} s away"), &reply);
    }
    assert_eq!(platform_user_plan(&app, external).await, None);
    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "somebody@example.com", "password": test_app::PASSWORD})),
        )
        .await;
    test_app::assert_problem(&reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_signed_product_update_pauses_the_scheduled_posts_it_makes_wrong() {
    let app = TestApp::new();
    let (token, user_id) = registered(&app, "shop@example.com").await;
    let account = app.account(&token, "facebook", "fb-shop").await;
    let item = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({
                "product_data": {"id": "lamp-1", "title": "Glow Lamp", "price": 34.0, "stock": 4},
                "platforms": ["facebook"], "ai_generated_content": "The Glow Lamp, 34.00"
            })),
        )
        .await;
    let at = (app.now() + chrono::Duration::days(1)).to_rfc3339();
    let approved = app
        .as_user(
            &token,
            Method::POST,
            &format!(
                "/api/v1/queue/{}/approve",
                item.body["id"].as_str().unwrap()
            ),
            Some(json!({"account_ids": [account], "scheduled_for": at})),
        )
        .await;
    let post = approved.body["posts"][0]["id"].as_str().unwrap().to_owned();

    let body = platform_event(
        "pe_price",
        "product.updated",
        json!({"user_id": user_id, "product": {"id": "lamp-1", "price": 29.0}}),
    );
    assert_receipt(&platform(&app, EVENTS, &body).await, "applied");

    let read = app
        .as_user(&token, Method::GET, &format!("/api/v1/posts/{post}"), None)
        .await;
    assert_eq!(read.body["status"], "paused");
    assert_eq!(
        read.body["error_message"],
        "the product's price changed from 34.00 to 29.00"
    );
}

#[tokio::test]
async fn what_a_product_change_pauses_is_a_setting_of_the_merchants_profile() {
    let app = TestApp::new();
    let (token, _) = registered(&app, "setting@example.com").await;
    let me = app
        .as_user(&token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.body["pause_on"], "both");

    let changed = app
        .as_user(
            &token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"pause_on": "price"})),
        )
        .await;
    let refused = app
        .as_user(
            &token,
            Method::PATCH,
            "/api/v1/auth/me",
            Some(json!({"pause_on": "sometimes"})),
        )
        .await;

    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["pause_on"], "price");
    assert_eq!(
        assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "pause_on"
    );
}
