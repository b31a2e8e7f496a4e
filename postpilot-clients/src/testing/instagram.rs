//! A local Instagram Graph API that speaks the documented shapes of the *Instagram API with
//! Instagram Login*: `POST /{version}/{ig-user-id}/media` makes a container (image, `REELS`,
//! carousel item, `CAROUSEL`), `GET /{version}/{container-id}?fields=status_code,status` moves it
//! from `IN_PROGRESS` to `FINISHED` after a set number of polls, `POST
//! /{version}/{ig-user-id}/media_publish` publishes a finished container once (then its status is
//! `PUBLISHED`), `GET /{version}/{media-id}?fields=permalink` and `GET
//! /{version}/{ig-user-id}/media` read what was published, `GET
//! /{version}/{media-id}/insights?metric=…` its counters (fixed: 1,000 views, 700 reach, 50
//! likes, 5 comments, 2 shares), `GET /{version}/{ig-user-id}/content_publishing_limit` the
//! account's 24-hour quota (100 unless set; `media_publish` refuses past it with subcode
//! 2207042). It also plays Business Login for Instagram: `POST
//! /oauth/access_token` takes a code it issued (once) for a short-lived token, `GET
//! /access_token?grant_type=ig_exchange_token` makes it long-lived, `GET /{version}/me` names the
//! account, `GET /refresh_access_token?grant_type=ig_refresh_token` replaces the token it
//! accepts (the old one is refused from then on). Errors are Meta's envelope
//! (`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`); faults can be
//! queued per call, and a publication can be made to take effect without an answer.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FAKE_APP_ID, FAKE_APP_SECRET, answer, graph_error};

/// The calls faults can be queued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    Create,
    Status,
    Publish,
    List,
    Insights,
    Limit,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub call: Call,
    pub path: String,
    pub query: HashMap<String, String>,
    pub form: HashMap<String, String>,
    pub authorization: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Container {
    pub owner: String,
    pub form: HashMap<String, String>,
    pub polls_left: u32,
    pub created: std::time::Instant,
    pub status: &'static str,
    /// What it becomes when processed.
    pub ends_as: &'static str,
}

#[derive(Clone, Debug)]
pub struct Media {
    pub id: String,
    pub owner: String,
    pub caption: String,
    pub published: std::time::Instant,
}

#[derive(Debug, Default)]
struct State_ {
    token: String,
    polls_to_finish: u32,
    next_id: u64,
    containers: HashMap<String, Container>,
    media: Vec<Media>,
    faults: HashMap<Call, VecDeque<(u16, HeaderMap, Value)>>,
    container_outcome: Option<&'static str>,
    publish_then_hang: bool,
    seen: Vec<Seen>,
    app_id: String,
    app_secret: String,
    codes: Vec<String>,
    /// Added to every answer (benchmarks: a platform's round trip).
    latency: std::time::Duration,
    /// When set, a container is processed this long after it was made, however often it is
    /// polled (instead of at the `polls_to_finish`-th poll).
    finish_after: Option<std::time::Duration>,
    /// Accounts whose every call hangs (a platform stuck for them).
    hung: Vec<String>,
    /// Posts an account may publish in 24 hours (`content_publishing_limit`'s `quota_total`).
    quota_total: u32,
}

/// The account the fake knows, and its username (the app: [`FAKE_APP_ID`]).
pub const FAKE_IG_USER: &str = "17841400000000077";
pub const FAKE_USERNAME: &str = "aurora.shop";

/// The fake's state, shared with the test.
#[derive(Clone, Debug)]
pub struct FakeInstagram {
    state: Arc<Mutex<State_>>,
    pub base_url: String,
}

impl FakeInstagram {
    /// Starts the fake on a free local port; `token` is the only access token it accepts, and a
    /// container is `FINISHED` at its `polls_to_finish`-th status check.
    pub async fn start(token: &str, polls_to_finish: u32) -> Self {
        let state = Arc::new(Mutex::new(State_ {
            token: token.to_owned(),
            polls_to_finish,
            next_id: 17_900_000_000_000_000,
            app_id: FAKE_APP_ID.into(),
            app_secret: FAKE_APP_SECRET.into(),
            quota_total: 100,
            ..State_::default()
        }));
        let app = Router::new()
            .route("/{version}/{id}", get(read_node))
            .route("/{version}/{owner}/media", post(create).get(list))
            .route("/{version}/{owner}/media_publish", post(publish))
            .route("/{version}/{owner}/insights", get(insights))
            .route(
                "/{version}/{owner}/content_publishing_limit",
                get(publishing_limit),
            )
            .route("/oauth/access_token", post(code_exchange))
            .route("/access_token", get(long_lived))
            .route("/refresh_access_token", get(refresh))
            .layer(axum::middleware::from_fn_with_state(state.clone(), pace))
            .with_state(state.clone());
        Self {
            state,
            base_url: super::serve(app).await,
        }
    }

    fn state(&self) -> MutexGuard<'_, State_> {
        self.state.lock().unwrap()
    }

    /// Each account may publish `total` posts in 24 hours from now on (100 at the start): the
    /// limit `content_publishing_limit` reports, and past which `media_publish` refuses
    /// (code 9, subcode 2207042).
    pub fn set_quota_total(&self, total: u32) {
        self.state().quota_total = total;
    }

    /// The next `call` answers `status` with `headers` and `body` instead.
    pub fn fail_next(&self, call: Call, status: u16, headers: HeaderMap, body: Value) {
        self.state()
            .faults
            .entry(call)
            .or_default()
            .push_back((status, headers, body));
    }

    /// The next container made ends in `status` instead of `FINISHED` (`ERROR`, `EXPIRED`).
    pub fn next_container_ends_as(&self, status: &'static str) {
        self.state().container_outcome = Some(status);
    }

    /// The next publication takes effect, but its answer never comes.
    pub fn publish_then_hang(&self) {
        self.state().publish_then_hang = true;
    }

    /// A code the consent page would hand back to the app (good for one exchange).
    pub fn issue_code(&self) -> String {
        let mut s = self.state();
        let code = format!("AQD-code-{}", s.codes.len() + 1);
        s.codes.push(code.clone());
        code
    }

    /// Every answer waits `latency` first (a platform's round trip).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state().latency = latency;
    }

    /// Containers are processed `after` their creation, however often they are polled.
    pub fn finish_after(&self, after: std::time::Duration) {
        self.state().finish_after = Some(after);
    }

    /// Every call for the account `owner` (its Instagram user id) hangs from now on.
    pub fn hang(&self, owner: &str) {
        self.state().hung.push(owner.to_owned());
    }

    /// The access token the fake accepts now.
    pub fn token(&self) -> String {
        self.state().token.clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    pub fn containers(&self) -> HashMap<String, Container> {
        self.state().containers.clone()
    }

    pub fn media(&self) -> Vec<Media> {
        self.state().media.clone()
    }
}

type Shared = State<Arc<Mutex<State_>>>;

/// Records the request, checks the token, and takes a queued fault if there is one.
fn intake(
    state: &mut State_,
    call: Call,
    path: String,
    query: HashMap<String, String>,
    form: HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<Response> {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state.seen.push(Seen {
        call,
        path,
        query,
        form,
        authorization: authorization.clone(),
    });
    if authorization.as_deref() != Some(&format!("Bearer {}", state.token)) {
        return Some(answer(
            400,
            HeaderMap::new(),
            graph_error(
                190,
                Some(463),
                "Error validating access token: Session has expired",
            ),
        ));
    }
    let fault = state.faults.get_mut(&call).and_then(VecDeque::pop_front)?;
    Some(answer(fault.0, fault.1, fault.2))
}

fn new_id(state: &mut State_) -> String {
    state.next_id += 1;
    state.next_id.to_string()
}

async fn create(
    State(state): Shared,
    Path((_version, owner)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap();
    let path = format!("{owner}/media");
    if let Some(r) = intake(
        &mut s,
        Call::Create,
        path,
        HashMap::new(),
        form.clone(),
        &headers,
    ) {
        return r;
    }
    let media_type = form.get("media_type").map(String::as_str);
    let valid = match media_type {
        Some("CAROUSEL") => form.get("children").is_some_and(|c| {
            let n = c.split(',').count();
            (2..=10).contains(&n) && c.split(',').all(|id| s.containers.contains_key(id))
        }),
        Some("REELS" | "VIDEO") => form.contains_key("video_url"),
        None => form.contains_key("image_url"),
        Some(_) => false,
    };
    if !valid {
        return answer(
            400,
            HeaderMap::new(),
            graph_error(100, None, "Invalid parameter"),
        );
    }
    let id = new_id(&mut s);
    let polls_left = s.polls_to_finish;
    let ends_as = s.container_outcome.take().unwrap_or("FINISHED");
    s.containers.insert(
        id.clone(),
        Container {
            owner,
            form,
            polls_left,
            created: std::time::Instant::now(),
            status: "IN_PROGRESS",
            ends_as,
        },
    );
    answer(200, HeaderMap::new(), json!({ "id": id }))
}

async fn read_node(
    State(state): Shared,
    Path((_version, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    if id == "me" {
        if let Some(r) = intake(
            &mut s,
            Call::List,
            id.clone(),
            query,
            HashMap::new(),
            &headers,
        ) {
            return r;
        }
        return answer(
            200,
            HeaderMap::new(),
            json!({ "user_id": FAKE_IG_USER, "username": FAKE_USERNAME, "id": "app-scoped-1" }),
        );
    }
    if let Some(media) = s.media.iter().find(|m| m.id == id).cloned() {
        if let Some(r) = intake(
            &mut s,
            Call::List,
            id.clone(),
            query,
            HashMap::new(),
            &headers,
        ) {
            return r;
        }
        return answer(
            200,
            HeaderMap::new(),
            json!({ "id": media.id, "permalink": format!("https://www.instagram.com/p/{}/", media.id) }),
        );
    }
    if let Some(r) = intake(
        &mut s,
        Call::Status,
        id.clone(),
        query,
        HashMap::new(),
        &headers,
    ) {
        return r;
    }
    let finish_after = s.finish_after;
    let Some(container) = s.containers.get_mut(&id) else {
        return answer(
            400,
            HeaderMap::new(),
            graph_error(100, Some(33), "Unsupported get request"),
        );
    };
    if container.status == "IN_PROGRESS" {
        container.polls_left = container.polls_left.saturating_sub(1);
        let ready = match finish_after {
            Some(after) => container.created.elapsed() >= after,
            None => container.polls_left == 0,
        };
        if ready {
            container.status = container.ends_as;
        }
    }
    let detail = if container.status == "ERROR" {
        "Error: 2207001 Media upload has failed with error code 2207001"
    } else {
        container.status
    };
    answer(
        200,
        HeaderMap::new(),
        json!({ "id": id, "status_code": container.status, "status": detail }),
    )
}

async fn publish(
    State(state): Shared,
    Path((_version, owner)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let hang = {
        let mut s = state.lock().unwrap();
        let path = format!("{owner}/media_publish");
        if let Some(r) = intake(
            &mut s,
            Call::Publish,
            path,
            HashMap::new(),
            form.clone(),
            &headers,
        ) {
            return r;
        }
        let Some(creation) = form.get("creation_id").cloned() else {
            return answer(
                400,
                HeaderMap::new(),
                graph_error(100, None, "Invalid parameter"),
            );
        };
        let finished = s
            .containers
            .get(&creation)
            .is_some_and(|c| c.status == "FINISHED" && c.owner == owner);
        if !finished {
            return answer(
                400,
                HeaderMap::new(),
                graph_error(9007, Some(2_207_027), "Media ID is not available"),
            );
        }
        if published_in_a_day(&s, &owner) >= s.quota_total {
            return answer(
                400,
                HeaderMap::new(),
                graph_error(
                    9,
                    Some(2_207_042),
                    "You reached maximum number of posts that is allowed to be published by Content Publishing API",
                ),
            );
        }
        let id = new_id(&mut s);
        let container = s.containers.get_mut(&creation).unwrap();
        container.status = "PUBLISHED";
        let caption = container.form.get("caption").cloned().unwrap_or_default();
        s.media.push(Media {
            id: id.clone(),
            owner,
            caption,
            published: std::time::Instant::now(),
        });
        let hang = std::mem::take(&mut s.publish_then_hang);
        if !hang {
            return answer(200, HeaderMap::new(), json!({ "id": id }));
        }
        hang
    };
    debug_assert!(hang);
    std::future::pending::<()>().await;
    unreachable!()
}

async fn list(
    State(state): Shared,
    Path((_version, owner)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    let path = format!("{owner}/media");
    if let Some(r) = intake(&mut s, Call::List, path, query, HashMap::new(), &headers) {
        return r;
    }
    let data: Vec<Value> = s
        .media
        .iter()
        .rev()
        .filter(|m| m.owner == owner)
        .map(|m| {
            json!({
                "id": m.id,
                "caption": m.caption,
                "permalink": format!("https://www.instagram.com/p/{}/", m.id)
            })
        })
        .collect();
    answer(200, HeaderMap::new(), json!({ "data": data }))
}

/// The owner's posts published in the last 24 hours.
fn published_in_a_day(state: &State_, owner: &str) -> u32 {
    let day = std::time::Duration::from_secs(86_400);
    let count = state
        .media
        .iter()
        .filter(|m| m.owner == owner && m.published.elapsed() < day)
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

async fn publishing_limit(
    State(state): Shared,
    Path((_version, owner)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    let path = format!("{owner}/content_publishing_limit");
    if let Some(r) = intake(&mut s, Call::Limit, path, query, HashMap::new(), &headers) {
        return r;
    }
    let usage = published_in_a_day(&s, &owner);
    answer(
        200,
        HeaderMap::new(),
        json!({ "data": [{
            "quota_usage": usage,
            "config": { "quota_total": s.quota_total, "quota_duration": 86_400 }
        }] }),
    )
}

async fn insights(
    State(state): Shared,
    Path((_version, media)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    let path = format!("{media}/insights");
    let metrics = query.get("metric").cloned().unwrap_or_default();
    if let Some(r) = intake(
        &mut s,
        Call::Insights,
        path,
        query,
        HashMap::new(),
        &headers,
    ) {
        return r;
    }
    if !s.media.iter().any(|m| m.id == media) {
        return answer(
            400,
            HeaderMap::new(),
            graph_error(100, Some(33), "Unsupported get request"),
        );
    }
    let data: Vec<Value> = metrics
        .split(',')
        .filter_map(|name| {
            let value = match name {
                "views" => 1_000,
                "reach" => 700,
                "likes" => 50,
                "comments" => 5,
                "shares" => 2,
                _ => return None,
            };
            Some(json!({
                "name": name,
                "period": "lifetime",
                "values": [{ "value": value }],
                "id": format!("{media}/insights/{name}/lifetime")
            }))
        })
        .collect();
    answer(200, HeaderMap::new(), json!({ "data": data }))
}

async fn code_exchange(
    State(state): Shared,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap();
    let app_ok = form.get("client_id") == Some(&s.app_id)
        && form.get("client_secret") == Some(&s.app_secret)
        && form.get("grant_type").map(String::as_str) == Some("authorization_code")
        && form.contains_key("redirect_uri");
    let code = form.get("code").cloned().unwrap_or_default();
    let known = s.codes.iter().position(|c| *c == code);
    match (app_ok, known) {
        (true, Some(i)) => {
            s.codes.remove(i);
            answer(
                200,
                HeaderMap::new(),
                json!({ "data": [{
                    "access_token": format!("short-{code}"),
                    "user_id": FAKE_IG_USER,
                    "permissions": "instagram_business_basic,instagram_business_content_publish"
                }] }),
            )
        }
        _ => answer(
            400,
            HeaderMap::new(),
            json!({
                "error_type": "OAuthException",
                "code": 400,
                "error_message": "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"
            }),
        ),
    }
}

async fn long_lived(
    State(state): Shared,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let s = state.lock().unwrap();
    let ok = query.get("grant_type").map(String::as_str) == Some("ig_exchange_token")
        && query.get("client_secret") == Some(&s.app_secret)
        && query
            .get("access_token")
            .is_some_and(|t| t.starts_with("short-"));
    if !ok {
        return answer(
            400,
            HeaderMap::new(),
            graph_error(190, None, "Invalid OAuth access token"),
        );
    }
    answer(
        200,
        HeaderMap::new(),
        json!({ "access_token": s.token, "token_type": "bearer", "expires_in": 5_184_000 }),
    )
}

async fn refresh(State(state): Shared, Query(query): Query<HashMap<String, String>>) -> Response {
    let mut s = state.lock().unwrap();
    let ok = query.get("grant_type").map(String::as_str) == Some("ig_refresh_token")
        && query.get("access_token") == Some(&s.token);
    if !ok {
        return answer(
            400,
            HeaderMap::new(),
            graph_error(
                190,
                None,
                "Error validating access token: Session has expired",
            ),
        );
    }
    s.next_id += 1;
    s.token = format!("IGQVJ-refreshed-{}", s.next_id);
    answer(
        200,
        HeaderMap::new(),
        json!({ "access_token": s.token, "token_type": "bearer", "expires_in": 5_184_000 }),
    )
}

/// Delays every answer by the configured latency, and never answers a hung account's calls.
async fn pace(
    State(state): Shared,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (latency, hung) = {
        let s = state.lock().unwrap();
        let path = request.uri().path();
        (
            s.latency,
            s.hung.iter().any(|owner| path.contains(owner.as_str())),
        )
    };
    if hung {
        std::future::pending::<()>().await;
    }
    let response = next.run(request).await;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response
}
