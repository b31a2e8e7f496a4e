//! A local Facebook Graph API for Pages: `POST /{version}/{page}/feed` (a text post, or one
//! attaching unpublished photos by `attached_media[i]={"media_fbid": …}`), `POST
//! /{version}/{page}/photos` (`url`, `published`, `message`: a photo post, or an unpublished
//! upload), `POST /{version}/{page}/videos` (`file_url`, `description`), `GET
//! /{version}/{page}/posts?since=…` (newest first, `created_time` in Meta's format), `GET
//! /{version}/{post}` (reactions, comments and shares summaries) and `GET
//! /{version}/{post}/insights`. Each Page answers only to its own token. It also plays Facebook
//! Login: `GET /{version}/oauth/access_token` takes a code it issued (once) for a short-lived user
//! token, or (`grant_type=fb_exchange_token`) a short-lived user token for a long-lived one, and
//! `GET /{version}/me/accounts` lists three Pages with their tokens and tasks — two the user may
//! publish on, one only analysed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{FAKE_APP_ID, FAKE_APP_SECRET, answer, graph_error};

/// The Pages the fake's user manages, and their tokens.
pub const FAKE_PAGE: &str = "104000000000001";
pub const FAKE_PAGE_NAME: &str = "Aurora Lamps";
pub const FAKE_PAGE_TOKEN: &str = "EAAG-page-aurora-lamps";
pub const FAKE_SECOND_PAGE: &str = "104000000000002";
pub const FAKE_SECOND_PAGE_TOKEN: &str = "EAAG-page-aurora-outlet";
const ANALYSED_PAGE: &str = "104000000000003";
const LONG_USER_TOKEN: &str = "EAAG-user-long-lived";

/// The calls faults can be queued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FbCall {
    /// `/photos` unpublished (a multi-photo post's upload).
    Upload,
    /// The call that makes a post public (`/feed`, `/photos`, `/videos`).
    Post,
    /// `/{page}/posts`.
    List,
    /// Reading a post or its insights.
    Read,
}

/// A post on a Page.
#[derive(Clone, Debug)]
pub struct FbPost {
    pub id: String,
    pub page: String,
    pub message: String,
    pub created_time: i64,
    /// `feed`, `photo`, `video`.
    pub kind: &'static str,
    /// The photos a `feed` post attaches, or the photo's URL.
    pub media: Vec<String>,
}

#[derive(Debug, Default)]
struct FbState {
    next_id: u64,
    codes: Vec<String>,
    posts: Vec<FbPost>,
    /// Unpublished photos: id → (page, URL).
    uploads: HashMap<String, (String, String)>,
    faults: HashMap<FbCall, VecDeque<(u16, HeaderMap, Value)>>,
    post_then_hang: bool,
    /// Posts made but not listed yet (a video still processing).
    unlisted: Vec<String>,
    seen: Vec<(FbCall, String, Option<String>)>,
}

/// The fake, shared with the test.
#[derive(Clone, Debug)]
pub struct FakeFacebook {
    state: Arc<Mutex<FbState>>,
    pub base_url: String,
}

type Shared = State<Arc<Mutex<FbState>>>;

fn page_token(page: &str) -> Option<&'static str> {
    match page {
        FAKE_PAGE => Some(FAKE_PAGE_TOKEN),
        FAKE_SECOND_PAGE => Some(FAKE_SECOND_PAGE_TOKEN),
        _ => None,
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

fn expired() -> Response {
    answer(
        400,
        HeaderMap::new(),
        graph_error(190, Some(460), "Error validating access token"),
    )
}

fn invalid(message: &str) -> Response {
    answer(400, HeaderMap::new(), graph_error(100, None, message))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl FakeFacebook {
    /// Starts the fake on a free local port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FbState {
            next_id: 1_000,
            ..FbState::default()
        }));
        let app = Router::new()
            .route("/{version}/{node}", get(read_post))
            .route("/{version}/{node}/{edge}", get(read_edge).post(create))
            .with_state(state.clone());
        Self {
            state,
            base_url: super::serve(app).await,
        }
    }

    fn state(&self) -> MutexGuard<'_, FbState> {
        self.state.lock().unwrap()
    }

    /// The next `call` answers `status` with `headers` and `body` instead.
    pub fn fail_next(&self, call: FbCall, status: u16, headers: HeaderMap, body: Value) {
        self.state()
            .faults
            .entry(call)
            .or_default()
            .push_back((status, headers, body));
    }

    /// The next post takes effect, but its answer never comes.
    pub fn post_then_hang(&self) {
        self.state().post_then_hang = true;
    }

    /// The next post is made but not listed by `/{page}/posts` (a video still processing).
    pub fn list_next_post_late(&self) {
        self.state().unlisted.push(String::new());
    }

    /// A code the consent dialog would hand back to the app (good for one exchange).
    pub fn issue_code(&self) -> String {
        let mut s = self.state();
        let code = format!("AQB-fb-code-{}", s.codes.len() + 1);
        s.codes.push(code.clone());
        code
    }

    /// Every post made so far, oldest first.
    pub fn posts(&self) -> Vec<FbPost> {
        self.state().posts.clone()
    }

    /// How many calls of `call` were made, and the token each carried.
    pub fn seen(&self, call: FbCall) -> Vec<(String, Option<String>)> {
        self.state()
            .seen
            .iter()
            .filter(|(c, _, _)| *c == call)
            .map(|(_, path, token)| (path.clone(), token.clone()))
            .collect()
    }
}

/// Records the call, checks the Page's token, and takes a queued fault if there is one.
fn intake(
    s: &mut FbState,
    call: FbCall,
    page: &str,
    path: String,
    headers: &HeaderMap,
) -> Option<Response> {
    let token = bearer(headers);
    s.seen.push((call, path, token.clone()));
    if token.is_none() || token.as_deref() != page_token(page) {
        return Some(expired());
    }
    let fault = s.faults.get_mut(&call).and_then(VecDeque::pop_front)?;
    Some(answer(fault.0, fault.1, fault.2))
}

async fn create(
    State(state): Shared,
    Path((_version, page, edge)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let hang = {
        let mut s = state.lock().unwrap();
        let unpublished =
            edge == "photos" && form.get("published").map(String::as_str) == Some("false");
        let call = if unpublished {
            FbCall::Upload
        } else {
            FbCall::Post
        };
        if let Some(r) = intake(&mut s, call, &page, format!("{page}/{edge}"), &headers) {
            return r;
        }
        s.next_id += 1;
        let n = s.next_id;
        let message = form
            .get("message")
            .or(form.get("description"))
            .cloned()
            .unwrap_or_default();
        let (kind, media, object_id) = match edge.as_str() {
            "photos" if unpublished => {
                let Some(url) = form.get("url") else {
                    return invalid("(#100) url is required");
                };
                let id = format!("{n}");
                s.uploads.insert(id.clone(), (page.clone(), url.clone()));
                return answer(200, HeaderMap::new(), json!({ "id": id }));
            }
            "photos" => {
                let Some(url) = form.get("url") else {
                    return invalid("(#100) url is required");
                };
                ("photo", vec![url.clone()], Some(format!("{n}")))
            }
            "videos" => {
                let Some(url) = form.get("file_url") else {
                    return invalid("(#100) file_url is required");
                };
                ("video", vec![url.clone()], Some(format!("{n}")))
            }
            "feed" => {
                let mut attached = Vec::new();
                for i in 0.. {
                    let Some(value) = form.get(&format!("attached_media[{i}]")) else {
                        break;
                    };
                    let id = serde_json::from_str::<Value>(value).ok().and_then(|v| {
                        v.get("media_fbid")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    });
                    match id
                        .and_then(|id| s.uploads.get(&id).filter(|(p, _)| *p == page).map(|_| id))
                    {
                        Some(id) => attached.push(id),
                        None => {
                            return invalid(
                                "(#100) attached_media must be unpublished photos of this Page",
                            );
                        }
                    }
                }
                if message.is_empty() && attached.is_empty() {
                    return invalid("(#100) a post needs a message or attached media");
                }
                ("feed", attached, None)
            }
            _ => return invalid("(#100) unknown edge"),
        };
        let id = format!("{page}_{n}");
        if s.unlisted.pop().is_some() {
            s.unlisted.push(id.clone());
        }
        s.posts.push(FbPost {
            id: id.clone(),
            page,
            message,
            created_time: now(),
            kind,
            media,
        });
        let body = match (kind, object_id) {
            ("photo", Some(photo)) => json!({ "id": photo, "post_id": id }),
            ("video", Some(video)) => json!({ "id": video }),
            _ => json!({ "id": id }),
        };
        if !std::mem::take(&mut s.post_then_hang) {
            return answer(200, HeaderMap::new(), body);
        }
        true
    };
    debug_assert!(hang);
    std::future::pending::<()>().await;
    unreachable!()
}

fn meta_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

async fn read_edge(
    State(state): Shared,
    Path((_version, node, edge)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    match (node.as_str(), edge.as_str()) {
        ("oauth", "access_token") => token_exchange(&mut s, &query),
        ("me", "accounts") => {
            if bearer(&headers).as_deref() != Some(LONG_USER_TOKEN) {
                return expired();
            }
            let page = |id: &str, name: &str, token: &str, tasks: &[&str]| json!({ "id": id, "name": name, "access_token": token, "category": "Shopping & retail", "tasks": tasks });
            answer(
                200,
                HeaderMap::new(),
                json!({ "data": [
                    page(FAKE_PAGE, FAKE_PAGE_NAME, FAKE_PAGE_TOKEN, &["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]),
                    page(FAKE_SECOND_PAGE, "Aurora Outlet", FAKE_SECOND_PAGE_TOKEN, &["CREATE_CONTENT", "MODERATE"]),
                    page(ANALYSED_PAGE, "Aurora Fans", "EAAG-page-analysed", &["ANALYZE"]),
                ], "paging": { "cursors": { "before": "QVFI", "after": "QVFJ" } } }),
            )
        }
        (page, "posts") => {
            if let Some(r) = intake(
                &mut s,
                FbCall::List,
                page,
                format!("{page}/posts"),
                &headers,
            ) {
                return r;
            }
            let since: i64 = query.get("since").and_then(|v| v.parse().ok()).unwrap_or(0);
            let data: Vec<Value> = s
                .posts
                .iter()
                .rev()
                .filter(|p| {
                    p.page == page && p.created_time >= since && !s.unlisted.contains(&p.id)
                })
                .map(|p| {
                    json!({
                        "id": p.id,
                        "message": p.message,
                        "created_time": meta_time(p.created_time),
                        "permalink_url": format!("https://www.facebook.com/{}", p.id)
                    })
                })
                .collect();
            answer(200, HeaderMap::new(), json!({ "data": data }))
        }
        (post, "insights") => {
            let page = post.split('_').next().unwrap_or_default().to_owned();
            if let Some(r) = intake(
                &mut s,
                FbCall::Read,
                &page,
                format!("{post}/insights"),
                &headers,
            ) {
                return r;
            }
            if !s.posts.iter().any(|p| p.id == post) {
                return invalid("(#100) Unsupported get request");
            }
            let metrics = query.get("metric").cloned().unwrap_or_default();
            let data: Vec<Value> = metrics
                .split(',')
                .filter_map(|name| {
                    let value = match name {
                        "post_impressions" => 900,
                        "post_impressions_unique" => 600,
                        "post_clicks" => 25,
                        _ => return None,
                    };
                    Some(json!({ "name": name, "period": "lifetime", "values": [{ "value": value }] }))
                })
                .collect();
            answer(200, HeaderMap::new(), json!({ "data": data }))
        }
        _ => invalid("(#100) Unsupported get request"),
    }
}

async fn read_post(
    State(state): Shared,
    Path((_version, post)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    let page = post.split('_').next().unwrap_or_default().to_owned();
    if let Some(r) = intake(&mut s, FbCall::Read, &page, post.clone(), &headers) {
        return r;
    }
    if !s.posts.iter().any(|p| p.id == post) {
        return invalid("(#100) Unsupported get request");
    }
    answer(
        200,
        HeaderMap::new(),
        json!({
            "id": post,
            "shares": { "count": 3 },
            "reactions": { "data": [], "summary": { "total_count": 40 } },
            "comments": { "data": [], "summary": { "total_count": 4, "can_comment": true } }
        }),
    )
}

fn token_exchange(s: &mut FbState, query: &HashMap<String, String>) -> Response {
    let app_ok = query.get("client_id").map(String::as_str) == Some(FAKE_APP_ID)
        && query.get("client_secret").map(String::as_str) == Some(FAKE_APP_SECRET);
    if query.get("grant_type").map(String::as_str) == Some("fb_exchange_token") {
        let short = query
            .get("fb_exchange_token")
            .is_some_and(|t| t.starts_with("EAAG-user-short-"));
        if !(app_ok && short) {
            return expired();
        }
        return answer(
            200,
            HeaderMap::new(),
            json!({ "access_token": LONG_USER_TOKEN, "token_type": "bearer", "expires_in": 5_183_944 }),
        );
    }
    let code = query.get("code").cloned().unwrap_or_default();
    match s.codes.iter().position(|c| *c == code) {
        Some(i) if app_ok && query.contains_key("redirect_uri") => {
            s.codes.remove(i);
            answer(
                200,
                HeaderMap::new(),
                json!({ "access_token": format!("EAAG-user-short-{code}"), "token_type": "bearer", "expires_in": 5_183 }),
            )
        }
        _ => answer(
            400,
            HeaderMap::new(),
            graph_error(100, Some(36_009), "This authorization code has been used."),
        ),
    }
}
