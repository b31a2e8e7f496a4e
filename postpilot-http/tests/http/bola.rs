//! Broken object-level authorisation: user B probes every object route with user A's ids (and
//! bodies naming A's ids), with a session token and with an API key. Each answer is the 404
//! problem a random, non-existent id gets; A's objects are unchanged afterwards; and no list or
//! total of B's shows anything of A's.

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use postpilot_core::publish::DispatcherConfig;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::test_app::{self, Reply, TestApp};

/// How a request authenticates as B.
#[derive(Clone, Copy, Debug)]
enum Credential<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
}

impl Credential<'_> {
    async fn send(self, app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
        match self {
            Credential::Bearer(token) => app.as_user(token, method, path, body).await,
            Credential::ApiKey(key) => app.send(method, path, Some(("x-api-key", key)), body).await,
        }
    }
}

/// One request of the matrix.
#[derive(Clone, Debug)]
struct Probe {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Whether an API key may call the route (API keys are managed with a session only).
    key_allowed: bool,
}

fn probe(method: Method, path: String, body: Option<Value>) -> Probe {
    Probe {
        method,
        path,
        body,
        key_allowed: true,
    }
}

/// Every route naming a post by id.
fn post_probes(id: &str, at: &str) -> Vec<Probe> {
    vec![
        probe(Method::GET, format!("/api/v1/posts/{id}"), None),
        probe(
            Method::PATCH,
            format!("/api/v1/posts/{id}"),
            Some(json!({"content": "hijacked", "hashtags": ["pwned"]})),
        ),
        probe(
            Method::PATCH,
            format!("/api/v1/posts/{id}"),
            Some(json!({"scheduled_for": null})),
        ),
        probe(
            Method::PATCH,
            format!("/api/v1/posts/{id}"),
            Some(json!({"scheduled_for": at})),
        ),
        probe(Method::DELETE, format!("/api/v1/posts/{id}"), None),
        probe(
            Method::POST,
            format!("/api/v1/posts/{id}/schedule"),
            Some(json!({"scheduled_for": at})),
        ),
        probe(Method::GET, format!("/api/v1/posts/{id}/attempts"), None),
        probe(Method::GET, format!("/api/v1/analytics/posts/{id}"), None),
    ]
}

/// Every route naming an account by id.
fn account_probes(id: &str) -> Vec<Probe> {
    vec![
        probe(Method::GET, format!("/api/v1/accounts/{id}"), None),
        probe(Method::DELETE, format!("/api/v1/accounts/{id}"), None),
    ]
}

/// Every route naming a queue item by id; `account` is one of B's own accounts (so approving
/// someone else's item would otherwise create posts for B).
fn queue_probes(id: &str, account: &str, at: &str) -> Vec<Probe> {
    vec![
        probe(Method::GET, format!("/api/v1/queue/{id}"), None),
        probe(
            Method::PATCH,
            format!("/api/v1/queue/{id}"),
            Some(json!({"ai_generated_content": "hijacked", "platforms": ["facebook"]})),
        ),
        probe(Method::DELETE, format!("/api/v1/queue/{id}"), None),
        probe(
            Method::POST,
            format!("/api/v1/queue/{id}/approve"),
            Some(json!({"account_ids": [account]})),
        ),
        probe(
            Method::POST,
            format!("/api/v1/queue/{id}/approve"),
            Some(json!({"account_ids": [account], "scheduled_for": at})),
        ),
        probe(
            Method::POST,
            format!("/api/v1/queue/{id}/reject"),
            Some(json!({"reason": "not mine"})),
        ),
        probe(
            Method::POST,
            format!("/api/v1/queue/{id}/reject"),
            Some(json!({})),
        ),
        probe(
            Method::POST,
            format!("/api/v1/queue/{id}/regenerate"),
            Some(json!({})),
        ),
        probe(
            Method::POST,
            format!("/api/v1/queue/{id}/regenerate"),
            Some(json!({"tone": "urgent"})),
        ),
    ]
}

/// Every route naming an API key by id.
fn key_probes(id: &str) -> Vec<Probe> {
    vec![Probe {
        key_allowed: false,
        ..probe(Method::DELETE, format!("/api/v1/api-keys/{id}"), None)
    }]
}

/// Routes whose body names an account; `b_item` is one of B's own pending items.
fn account_reference_probes(account: &str, b_item: &str, at: &str) -> Vec<Probe> {
    vec![
        probe(
            Method::POST,
            "/api/v1/posts".into(),
            Some(
                json!({"account_id": account, "content": "On your account", "media_urls": ["https://cdn.example.com/b.mp4"]}),
            ),
        ),
        probe(
            Method::POST,
            "/api/v1/posts".into(),
            Some(
                json!({"account_id": account, "content": "On your account", "media_urls": ["https://cdn.example.com/b.mp4"], "scheduled_for": at}),
            ),
        ),
        probe(
            Method::POST,
            format!("/api/v1/queue/{b_item}/approve"),
            Some(json!({"account_ids": [account]})),
        ),
        probe(
            Method::POST,
            format!("/api/v1/queue/{b_item}/approve"),
            Some(json!({"account_ids": [account], "scheduled_for": at})),
        ),
    ]
}

/// A (pro) with one of every object, and B (pro) with an account, a pending item and a key.
struct World {
    app: TestApp,
    a: String,
    a_user: String,
    a_account: String,
    a_posted: String,
    a_posts: Vec<String>,
    a_queue: Vec<String>,
    a_key_id: String,
    a_key: String,
    b: String,
    b_key: String,
    b_account: String,
    b_item: String,
}

impl World {
    /// Every id of A's, for leak checks.
    fn a_ids(&self) -> Vec<&str> {
        let mut ids = vec![
            self.a_user.as_str(),
            self.a_account.as_str(),
            self.a_key_id.as_str(),
        ];
        ids.extend(self.a_posts.iter().map(String::as_str));
        ids.extend(self.a_queue.iter().map(String::as_str));
        ids
    }

    /// A valid publication time, two days ahead on the engine's clock.
    fn at(&self) -> String {
        (self.app.now() + Duration::days(2)).to_rfc3339()
    }

    /// Every route of the matrix for A's ids (`mine`: true) or for random ids in the same shape.
    fn probes(&self, mine: bool) -> Vec<Probe> {
        let id = |real: &str| {
            if mine {
                real.to_owned()
            } else {
                Uuid::new_v4().to_string()
            }
        };
        let at = self.at();
        let mut probes = Vec::new();
        for post in &self.a_posts {
            probes.extend(post_probes(&id(post), &at));
        }
        probes.extend(account_probes(&id(&self.a_account)));
        for item in &self.a_queue {
            probes.extend(queue_probes(&id(item), &self.b_account, &at));
        }
        probes.extend(key_probes(&id(&self.a_key_id)));
        probes.extend(account_reference_probes(
            &id(&self.a_account),
            &self.b_item,
            &at,
        ));
        probes
    }
}

fn created(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn queue_item(app: &TestApp, token: &str, title: &str) -> String {
    created(
        &app.as_user(
            token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({
                "product_data": {"title": title, "image_urls": ["https://cdn.example.com/item.jpg"]},
                "platforms": ["facebook"],
                "ai_generated_content": format!("{title}: back in stock"),
                "hashtags": ["restock"],
            })),
        )
        .await,
    )
}

async fn api_key(app: &TestApp, token: &str, name: &str) -> (String, String) {
    let reply = app
        .as_user(
            token,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": name})),
        )
        .await;
    let id = created(&reply);
    (id, reply.body["key"].as_str().unwrap().to_owned())
}

async fn arrange() -> World {
    let app = TestApp::new();
    let a = app.token("alice@example.com").await;
    app.upgrade(&a, "pro").await;
    let b = app.token("bob@example.com").await;
    app.upgrade(&b, "pro").await;
    let me = app.as_user(&a, Method::GET, "/api/v1/auth/me", None).await;
    let a_user = me.body["id"].as_str().unwrap().to_owned();
    let a_account = app.account(&a, "facebook", "alice-brand").await;
    let b_account = app.account(&b, "facebook", "bob-brand").await;

    // A posted post with metrics: scheduled just ahead, published by a worker tick.
    let soon = (app.now() + Duration::seconds(5)).to_rfc3339();
    let a_posted = created(
        &app.as_user(
            &a,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": a_account, "content": "Live now", "media_urls": ["https://cdn.example.com/a.mp4"], "scheduled_for": soon})),
        )
        .await,
    );
    app.clock.advance(Duration::seconds(10));
    let dispatcher = app
        .engine
        .dispatcher("bola-worker", DispatcherConfig::default())
        .unwrap();
    let tick = dispatcher.run_once().await.unwrap();
    assert_eq!(tick.claimed, 1, "{tick:?}");
    assert_eq!(
        dispatcher
            .refresh_metrics(Duration::zero(), 10)
            .await
            .unwrap(),
        1
    );
    let metrics = app
        .as_user(
            &a,
            Method::GET,
            &format!("/api/v1/analytics/posts/{a_posted}"),
            None,
        )
        .await;
    assert!(
        metrics.body["impressions"].as_u64().unwrap() > 0,
        "{:?}",
        metrics.body
    );

    let a_draft = app.post(&a, &a_account).await;
    let tomorrow = (app.now() + Duration::days(1)).to_rfc3339();
    let a_scheduled = created(
        &app.as_user(
            &a,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": a_account, "content": "Tomorrow", "media_urls": ["https://cdn.example.com/a.mp4"], "scheduled_for": tomorrow})),
        )
        .await,
    );

    let a_pending = queue_item(&app, &a, "Linen shirt").await;
    let a_approved = queue_item(&app, &a, "Canvas bag").await;
    let approval = app
        .as_user(
            &a,
            Method::POST,
            &format!("/api/v1/queue/{a_approved}/approve"),
            Some(json!({"account_ids": [a_account]})),
        )
        .await;
    assert_eq!(approval.status, StatusCode::OK, "{:?}", approval.body);
    let a_from_queue = approval.body["posts"][0]["id"].as_str().unwrap().to_owned();
    let a_rejected = queue_item(&app, &a, "Wool hat").await;
    let rejection = app
        .as_user(
            &a,
            Method::POST,
            &format!("/api/v1/queue/{a_rejected}/reject"),
            Some(json!({"reason": "off brand"})),
        )
        .await;
    assert_eq!(rejection.status, StatusCode::OK, "{:?}", rejection.body);

    let (a_key_id, a_key) = api_key(&app, &a, "alice-ci").await;
    let (_, b_key) = api_key(&app, &b, "bob-ci").await;
    let b_item = queue_item(&app, &b, "Bob's mug").await;

    World {
        a_posts: vec![a_draft, a_scheduled, a_posted.clone(), a_from_queue],
        a_queue: vec![a_pending, a_approved, a_rejected],
        app,
        a,
        a_user,
        a_account,
        a_posted,
        a_key_id,
        a_key,
        b,
        b_key,
        b_account,
        b_item,
    }
}

/// Everything A can see, as A sees it (read with A's session: nothing here changes state).
async fn a_view(w: &World) -> Value {
    let get = |path: String| async move {
        let reply = w.app.as_user(&w.a, Method::GET, &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
        (path, reply.body)
    };
    let mut paths = vec![
        "/api/v1/accounts".to_owned(),
        format!("/api/v1/accounts/{}", w.a_account),
        "/api/v1/posts?per_page=100".to_owned(),
        "/api/v1/queue?per_page=100".to_owned(),
        "/api/v1/api-keys".to_owned(),
        "/api/v1/usage".to_owned(),
        "/api/v1/analytics/overview".to_owned(),
        "/api/v1/analytics/posts".to_owned(),
        "/api/v1/billing/subscription".to_owned(),
        "/api/v1/auth/me".to_owned(),
    ];
    for post in &w.a_posts {
        paths.push(format!("/api/v1/posts/{post}"));
        paths.push(format!("/api/v1/analytics/posts/{post}"));
    }
    for item in &w.a_queue {
        paths.push(format!("/api/v1/queue/{item}"));
    }
    let mut view = serde_json::Map::new();
    for path in paths {
        let (path, body) = get(path).await;
        view.insert(path, body);
    }
    Value::Object(view)
}

/// Runs every probe as B with A's ids and with random ids: both must be the same 404 problem.
async fn assert_matrix_is_404_like_missing(w: &World, credential: Credential<'_>) {
    let theirs = w.probes(true);
    let missing = w.probes(false);
    assert_eq!(theirs.len(), missing.len());
    let key = matches!(credential, Credential::ApiKey(_));
    let mut probed = 0;
    for (theirs, missing) in theirs.into_iter().zip(missing) {
        if key && !theirs.key_allowed {
            continue;
        }
        let case = format!(
            "{:?} {} {:?} via {credential:?}",
            theirs.method, theirs.path, theirs.body
        );
        let answer = credential
            .send(
                &w.app,
                theirs.method.clone(),
                &theirs.path,
                theirs.body.clone(),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{case} reached A's object: {:?}",
            answer.body
        );
        test_app::assert_problem(&answer, StatusCode::NOT_FOUND);
        let control = credential
            .send(
                &w.app,
                missing.method.clone(),
                &missing.path,
                missing.body.clone(),
            )
            .await;
        test_app::assert_problem(&control, StatusCode::NOT_FOUND);
        assert_eq!(answer.status, control.status, "{case}");
        assert_eq!(answer.body["type"], control.body["type"], "{case}");
        assert_eq!(
            answer.body, control.body,
            "{case}: A's id answers differently from a missing id"
        );
        assert_eq!(
            answer.headers.get("content-type"),
            control.headers.get("content-type"),
            "{case}"
        );
        probed += 1;
    }
    assert!(probed >= 40, "only {probed} probes ran");
}

/// Asserts none of A's ids appears in `body`.
fn assert_no_leak(w: &World, case: &str, body: &Value) {
    let text = body.to_string();
    for id in w.a_ids() {
        assert!(!text.contains(id), "{case} shows A's id {id}: {text}");
    }
    assert!(!text.contains("alice"), "{case} shows A's data: {text}");
}

/// Asserts B's own lists and totals: one account, no posts, one queue item, nothing published.
async fn assert_b_sees_only_its_own(w: &World, credential: Credential<'_>) {
    let today = Utc::now().date_naive();
    let (start, end) = (today - Duration::days(180), today + Duration::days(185));
    let mut routes = vec![
        (
            "/api/v1/accounts?per_page=100".to_owned(),
            json!({"total": 1}),
        ),
        ("/api/v1/posts?per_page=100".to_owned(), json!({"total": 0})),
        (
            "/api/v1/posts?status=posted".to_owned(),
            json!({"total": 0}),
        ),
        (
            "/api/v1/posts?status=scheduled".to_owned(),
            json!({"total": 0}),
        ),
        ("/api/v1/posts?status=draft".to_owned(), json!({"total": 0})),
        (
            "/api/v1/posts?platform=facebook".to_owned(),
            json!({"total": 0}),
        ),
        ("/api/v1/queue?per_page=100".to_owned(), json!({"total": 1})),
        (
            "/api/v1/queue?status=approved".to_owned(),
            json!({"total": 0}),
        ),
        (
            "/api/v1/queue?status=rejected".to_owned(),
            json!({"total": 0}),
        ),
        (
            "/api/v1/analytics/posts?per_page=100".to_owned(),
            json!({"total": 0}),
        ),
        (
            format!("/api/v1/posts/calendar?start_date={start}&end_date={end}"),
            json!({}),
        ),
        (
            format!(
                "/api/v1/posts/calendar?start_date={start}&end_date={end}&tz=Pacific/Kiritimati"
            ),
            json!({}),
        ),
        (
            "/api/v1/usage".to_owned(),
            json!({"posts_this_month": 0, "connected_accounts": 1}),
        ),
        (
            "/api/v1/analytics/overview".to_owned(),
            json!({"posts_published": 0, "impressions": 0, "likes": 0}),
        ),
    ];
    if matches!(credential, Credential::Bearer(_)) {
        routes.push((
            "/api/v1/api-keys?per_page=100".to_owned(),
            json!({"total": 1}),
        ));
        routes.push((
            "/api/v1/auth/me".to_owned(),
            json!({"email": "bob@example.com"}),
        ));
    }
    for (path, expected) in routes {
        let case = format!("{path} via {credential:?}");
        let reply = credential.send(&w.app, Method::GET, &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{case}: {:?}", reply.body);
        assert_no_leak(w, &case, &reply.body);
        if expected.as_object().unwrap().is_empty() {
            assert_eq!(reply.body, expected, "{case}");
        }
        for (field, value) in expected.as_object().unwrap() {
            assert_eq!(&reply.body[field], value, "{case}: {:?}", reply.body);
        }
    }
}

#[tokio::test]
async fn another_users_objects_answer_404_exactly_like_missing_ones_to_a_session_and_stay_unchanged()
 {
    let w = arrange().await;
    let before = a_view(&w).await;
    assert_matrix_is_404_like_missing(&w, Credential::Bearer(&w.b)).await;
    assert_eq!(a_view(&w).await, before, "B's probes changed A's objects");
}

#[tokio::test]
async fn another_users_objects_answer_404_exactly_like_missing_ones_to_an_api_key_and_stay_unchanged()
 {
    let w = arrange().await;
    let before = a_view(&w).await;
    assert_matrix_is_404_like_missing(&w, Credential::ApiKey(&w.b_key)).await;
    assert_eq!(a_view(&w).await, before, "B's key changed A's objects");
}

#[tokio::test]
async fn probing_another_users_objects_leaves_their_key_working_and_the_prober_unchanged() {
    let w = arrange().await;
    assert_matrix_is_404_like_missing(&w, Credential::Bearer(&w.b)).await;
    assert_matrix_is_404_like_missing(&w, Credential::ApiKey(&w.b_key)).await;
    // A's key was not revoked and still authenticates as A.
    let accounts = Credential::ApiKey(&w.a_key)
        .send(&w.app, Method::GET, "/api/v1/accounts", None)
        .await;
    assert_eq!(accounts.status, StatusCode::OK, "{:?}", accounts.body);
    assert_eq!(accounts.body["items"][0]["id"], json!(w.a_account));
    // B's item is still pending and B still has no posts: no approval borrowed A's account.
    let item = w
        .app
        .as_user(
            &w.b,
            Method::GET,
            &format!("/api/v1/queue/{}", w.b_item),
            None,
        )
        .await;
    assert_eq!(item.body["status"], "pending", "{:?}", item.body);
    assert_b_sees_only_its_own(&w, Credential::Bearer(&w.b)).await;
}

#[tokio::test]
async fn no_list_or_total_shows_another_users_objects_to_a_session() {
    let w = arrange().await;
    // Control: A's own lists do show A's objects, so their absence from B's means something.
    let mine = a_view(&w).await.to_string();
    for id in w.a_ids() {
        assert!(mine.contains(id), "A does not see its own {id}");
    }
    let today = Utc::now().date_naive();
    let calendar = w
        .app
        .as_user(
            &w.a,
            Method::GET,
            &format!(
                "/api/v1/posts/calendar?start_date={}&end_date={}",
                today - Duration::days(180),
                today + Duration::days(185)
            ),
            None,
        )
        .await;
    assert_eq!(calendar.status, StatusCode::OK, "{:?}", calendar.body);
    assert!(
        calendar.body.to_string().contains(&w.a_posted),
        "{:?}",
        calendar.body
    );
    assert_b_sees_only_its_own(&w, Credential::Bearer(&w.b)).await;
}

#[tokio::test]
async fn no_list_or_total_shows_another_users_objects_to_an_api_key() {
    let w = arrange().await;
    assert_b_sees_only_its_own(&w, Credential::ApiKey(&w.b_key)).await;
}
