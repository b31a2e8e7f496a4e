//! A local TikTok Content Posting API: `POST /v2/post/publish/creator_info/query/` (the privacy
//! levels the creator allows), `…/video/init/` (`PULL_FROM_URL`) and `…/content/init/` (photos)
//! start a publication and answer its `publish_id`, `…/status/fetch/` moves it from
//! `PROCESSING_DOWNLOAD` to `PUBLISH_COMPLETE` (or `FAILED`) at a set number of checks, and
//! a video init with `FILE_UPLOAD` (its `video_size`, `chunk_size` and `total_chunk_count`
//! checked by TikTok's chunk rules) answers an `upload_url` that takes the chunks in order by
//! `PUT` with `Content-Range` (206, then 201 once whole) before the publication is processed;
//! `GET`/`HEAD /media/{name}` is a media host with `Range` support for the videos it is given;
//! `POST /v2/video/list/` lists the published videos (their text and creation time);
//! `POST /v2/video/query/` reads a published video's counters. It also plays Login Kit:
//! `POST /v2/oauth/token/` takes a code it issued (once) for a 24-hour access token and a
//! refresh token, or a refresh token for a new pair — rotating: the old refresh token is spent
//! — and `GET /v2/user/info/` names the account. Every answer is TikTok's envelope
//! `{"data": …, "error": {"code", "message", "log_id"}}`; a token other than the one it accepts
//! gets `access_token_invalid`. Faults can be queued per call, and an init can take effect
//! without an answer.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::answer;

/// The app the fake knows, and its account.
pub const FAKE_TIKTOK_CLIENT_KEY: &str = "awfakeclientkey01";
pub const FAKE_TIKTOK_CLIENT_SECRET: &str = "fake-tiktok-secret";
pub const FAKE_TIKTOK_OPEN_ID: &str = "-000fakeOpenIdAurora";

/// The calls faults can be queued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TtCall {
    CreatorInfo,
    Init,
    Status,
    Query,
    Upload,
    List,
}

/// A publication TikTok was asked to make.
#[derive(Clone, Debug)]
pub struct TtPublication {
    pub publish_id: String,
    /// The init's whole body.
    pub body: Value,
    pub status: &'static str,
    pub checks_left: u32,
    pub post_id: String,
    /// For a `FILE_UPLOAD`: the bytes received so far, of `video_size`, in `chunk_size` chunks.
    pub uploaded: Vec<u8>,
    pub video_size: u64,
    pub chunk_size: u64,
    /// When it was started (Unix seconds).
    pub created: i64,
}

#[derive(Debug, Default)]
struct TtState {
    token: String,
    privacy_options: Vec<&'static str>,
    checks_to_finish: u32,
    next_id: u64,
    publications: Vec<TtPublication>,
    faults: HashMap<TtCall, VecDeque<(u16, Value)>>,
    fail_next_as: Option<&'static str>,
    init_then_hang: bool,
    seen: Vec<(TtCall, Option<String>)>,
    codes: Vec<String>,
    refresh_token: String,
    refreshes: u32,
    /// The media host's files.
    media: HashMap<String, Vec<u8>>,
    /// Statuses the media host answers its next requests with instead.
    media_faults: VecDeque<u16>,
    /// Whether the media host refuses `HEAD` (405), as hosts of URLs signed for `GET` do.
    refuse_head: bool,
    /// Where the fake listens (for the `upload_url`s it hands out).
    base_url: String,
}

/// The fake, shared with the test.
#[derive(Clone, Debug)]
pub struct FakeTikTok {
    state: Arc<Mutex<TtState>>,
    pub base_url: String,
}

type Shared = State<Arc<Mutex<TtState>>>;

/// TikTok's envelope.
pub fn tiktok_answer(data: Value, code: &str, message: &str) -> Value {
    json!({ "data": data, "error": { "code": code, "message": message, "log_id": "20261203120000ABCDEF" } })
}

impl FakeTikTok {
    /// Starts the fake; `token` is the only access token it accepts, and a publication is
    /// complete at its `checks_to_finish`-th status check.
    pub async fn start(token: &str, checks_to_finish: u32) -> Self {
        let state = Arc::new(Mutex::new(TtState {
            token: token.to_owned(),
            privacy_options: vec!["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            checks_to_finish,
            next_id: 7_300_000_000_000_000_000,
            refresh_token: "rft.first".into(),
            ..TtState::default()
        }));
        let app = Router::new()
            .route("/v2/post/publish/creator_info/query/", post(creator_info))
            .route("/v2/post/publish/video/init/", post(init))
            .route("/v2/post/publish/content/init/", post(init))
            .route("/v2/post/publish/status/fetch/", post(status))
            .route("/v2/video/query/", post(query))
            .route("/v2/video/list/", post(list))
            .route("/v2/oauth/token/", post(oauth_token))
            .route("/v2/user/info/", get(user_info))
            .route(
                "/upload/",
                axum::routing::put(upload).layer(axum::extract::DefaultBodyLimit::max(130 << 20)),
            )
            .route("/media/{name}", get(media))
            .with_state(state.clone());
        let base_url = super::serve(app).await;
        state.lock().unwrap().base_url.clone_from(&base_url);
        Self { state, base_url }
    }

    fn state(&self) -> MutexGuard<'_, TtState> {
        self.state.lock().unwrap()
    }

    /// The next `call` answers `status` with `body` instead.
    pub fn fail_next(&self, call: TtCall, status: u16, body: Value) {
        self.state()
            .faults
            .entry(call)
            .or_default()
            .push_back((status, body));
    }

    /// The creator allows only these privacy levels (an unaudited app: `SELF_ONLY`).
    pub fn allow_privacy(&self, options: Vec<&'static str>) {
        self.state().privacy_options = options;
    }

    /// The next publication ends `FAILED` with this `fail_reason`.
    pub fn next_publication_fails(&self, reason: &'static str) {
        self.state().fail_next_as = Some(reason);
    }

    /// The next init takes effect, but its answer never comes.
    pub fn init_then_hang(&self) {
        self.state().init_then_hang = true;
    }

    /// A code the consent page would hand back to the app (good for one exchange).
    pub fn issue_code(&self) -> String {
        let mut s = self.state();
        let code = format!("tt-code-{}", s.codes.len() + 1);
        s.codes.push(code.clone());
        code
    }

    /// The access token the fake accepts now, and the refresh token it would take.
    pub fn tokens(&self) -> (String, String) {
        let s = self.state();
        (s.token.clone(), s.refresh_token.clone())
    }

    /// The access token lapses (as if a refresh run had been missed): calls with it are
    /// refused as `access_token_invalid`; the refresh token still works.
    pub fn lapse_access_token(&self) {
        self.state().token = "act.lapsed-nobody-has-this".into();
    }

    /// How many refreshes it granted.
    pub fn refreshes(&self) -> u32 {
        self.state().refreshes
    }

    /// The media host serves `bytes` at `/media/{name}`; returns its URL.
    pub fn host_media(&self, name: &str, bytes: Vec<u8>) -> String {
        self.state().media.insert(name.to_owned(), bytes);
        format!("{}/media/{name}", self.base_url)
    }

    /// The media host answers its next request with `status` instead.
    pub fn fail_media_next(&self, status: u16) {
        self.state().media_faults.push_back(status);
    }

    /// The media host refuses `HEAD` from now on (405).
    pub fn refuse_head(&self) {
        self.state().refuse_head = true;
    }

    /// TikTok finishes every publication still processing, without being asked (as it does
    /// for one whose `publish_id` never reached the app).
    pub fn finish_all(&self) {
        for publication in &mut self.state().publications {
            if publication.status != "FAILED" {
                publication.status = "PUBLISH_COMPLETE";
            }
        }
    }

    pub fn publications(&self) -> Vec<TtPublication> {
        self.state().publications.clone()
    }

    /// The tokens the calls of `call` carried.
    pub fn seen(&self, call: TtCall) -> Vec<Option<String>> {
        self.state()
            .seen
            .iter()
            .filter(|(c, _)| *c == call)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

fn intake(s: &mut TtState, call: TtCall, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    s.seen.push((call, token.clone()));
    if token.as_deref() != Some(s.token.as_str()) {
        return Some(answer(
            401,
            HeaderMap::new(),
            tiktok_answer(
                json!({}),
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            ),
        ));
    }
    let (status, body) = s.faults.get_mut(&call).and_then(VecDeque::pop_front)?;
    Some(answer(status, HeaderMap::new(), body))
}

async fn creator_info(State(state): Shared, headers: HeaderMap) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = intake(&mut s, TtCall::CreatorInfo, &headers) {
        return r;
    }
    let data = json!({
        "creator_username": "aurora.lamps",
        "creator_nickname": "Aurora Lamps",
        "privacy_level_options": s.privacy_options,
        "comment_disabled": false, "duet_disabled": false, "stitch_disabled": false,
        "max_video_post_duration_sec": 600
    });
    answer(200, HeaderMap::new(), tiktok_answer(data, "ok", ""))
}

async fn init(
    State(state): Shared,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let hang = {
        let mut s = state.lock().unwrap();
        if let Some(r) = intake(&mut s, TtCall::Init, &headers) {
            return r;
        }
        let privacy = body
            .pointer("/post_info/privacy_level")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let source = body.pointer("/source_info/source").and_then(Value::as_str);
        let media = body.pointer("/source_info/video_url").is_some()
            || body.pointer("/source_info/photo_images/0").is_some();
        if !s.privacy_options.contains(&privacy) {
            return answer(
                400,
                HeaderMap::new(),
                tiktok_answer(
                    json!({}),
                    "privacy_level_option_mismatch",
                    "privacy_level is not among the creator's options",
                ),
            );
        }
        let upload = (source == Some("FILE_UPLOAD"))
            .then(|| chunk_plan(&body))
            .flatten();
        if !(source == Some("PULL_FROM_URL") && media || upload.is_some()) {
            return answer(
                400,
                HeaderMap::new(),
                tiktok_answer(json!({}), "invalid_params", "source_info is invalid"),
            );
        }
        s.next_id += 1;
        let publish_id = format!("v_pub_url~v2-1.{}", s.next_id);
        let post_id = s.next_id.to_string();
        let checks_left = s.checks_to_finish;
        let (video_size, chunk_size) = upload.unwrap_or((0, 0));
        s.publications.push(TtPublication {
            publish_id: publish_id.clone(),
            body,
            status: if upload.is_some() {
                "PROCESSING_UPLOAD"
            } else {
                "PROCESSING_DOWNLOAD"
            },
            checks_left,
            post_id,
            uploaded: Vec::new(),
            video_size,
            chunk_size,
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
        });
        let mut data = json!({ "publish_id": publish_id });
        if upload.is_some() {
            data["upload_url"] = json!(format!(
                "{}/upload/?upload_id={}&upload_token=fake-upload-token",
                s.base_url, publish_id
            ));
        }
        if !std::mem::take(&mut s.init_then_hang) {
            return answer(200, HeaderMap::new(), tiktok_answer(data, "ok", ""));
        }
        true
    };
    debug_assert!(hang);
    std::future::pending::<()>().await;
    unreachable!()
}

async fn status(
    State(state): Shared,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = intake(&mut s, TtCall::Status, &headers) {
        return r;
    }
    let id = body
        .get("publish_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let fail_as = s.fail_next_as;
    let Some(publication) = s.publications.iter_mut().find(|p| p.publish_id == id) else {
        return answer(
            400,
            HeaderMap::new(),
            tiktok_answer(json!({}), "invalid_publish_id", "publish_id does not exist"),
        );
    };
    let mut fail_reason = None;
    let uploaded = publication.status == "PROCESSING_UPLOAD"
        && publication.uploaded.len() as u64 == publication.video_size;
    if publication.status == "PROCESSING_DOWNLOAD" || uploaded {
        publication.checks_left = publication.checks_left.saturating_sub(1);
        if publication.checks_left == 0 {
            match fail_as {
                Some(reason) => {
                    publication.status = "FAILED";
                    fail_reason = Some(reason);
                }
                None => publication.status = "PUBLISH_COMPLETE",
            }
        }
    }
    let data = match publication.status {
        "PUBLISH_COMPLETE" => {
            json!({ "status": "PUBLISH_COMPLETE", "publicaly_available_post_id": [publication.post_id.parse::<u64>().unwrap()] })
        }
        "FAILED" => json!({ "status": "FAILED", "fail_reason": fail_reason.unwrap_or("internal") }),
        other => json!({ "status": other, "downloaded_bytes": 1024 }),
    };
    if fail_reason.is_some() {
        s.fail_next_as = None;
    }
    answer(200, HeaderMap::new(), tiktok_answer(data, "ok", ""))
}

async fn query(
    State(state): Shared,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = intake(&mut s, TtCall::Query, &headers) {
        return r;
    }
    let ids: Vec<String> = body
        .pointer("/filters/video_ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let videos: Vec<Value> = s
        .publications
        .iter()
        .filter(|p| p.status == "PUBLISH_COMPLETE" && ids.contains(&p.post_id))
        .map(|p| json!({ "id": p.post_id, "view_count": 1_200, "like_count": 90, "comment_count": 7, "share_count": 11 }))
        .collect();
    videos_answer(videos)
}

fn token_pair(s: &TtState) -> Value {
    json!({
        "access_token": s.token, "expires_in": 86_400, "open_id": FAKE_TIKTOK_OPEN_ID,
        "refresh_token": s.refresh_token, "refresh_expires_in": 31_536_000,
        "scope": "user.info.basic,video.publish,video.list", "token_type": "Bearer"
    })
}

async fn oauth_token(State(state): Shared, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut s = state.lock().unwrap();
    let field = |name: &str| form.get(name).map(String::as_str);
    let refused = |description: &str| {
        answer(
            400,
            HeaderMap::new(),
            json!({ "error": "invalid_grant", "error_description": description, "log_id": "20261203" }),
        )
    };
    if field("client_key") != Some(FAKE_TIKTOK_CLIENT_KEY)
        || field("client_secret") != Some(FAKE_TIKTOK_CLIENT_SECRET)
    {
        return answer(
            401,
            HeaderMap::new(),
            json!({ "error": "invalid_client", "error_description": "Client key or secret is incorrect.", "log_id": "20261203" }),
        );
    }
    match field("grant_type") {
        Some("authorization_code") => {
            let code = field("code").unwrap_or_default().to_owned();
            let Some(i) = s.codes.iter().position(|c| *c == code) else {
                return refused("Authorization code is expired.");
            };
            if field("redirect_uri").is_none() {
                return refused("redirect_uri is missing.");
            }
            s.codes.remove(i);
            answer(200, HeaderMap::new(), token_pair(&s))
        }
        Some("refresh_token") => {
            if field("refresh_token") != Some(s.refresh_token.as_str()) {
                return refused("Refresh token is invalid or expired.");
            }
            s.refreshes += 1;
            s.token = format!("act.refreshed-{}", s.refreshes);
            s.refresh_token = format!("rft.rotated-{}", s.refreshes);
            answer(200, HeaderMap::new(), token_pair(&s))
        }
        _ => refused("grant_type is invalid."),
    }
}

async fn user_info(
    State(state): Shared,
    headers: HeaderMap,
    Query(_query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = intake(&mut s, TtCall::Query, &headers) {
        return r;
    }
    let data =
        json!({ "user": { "open_id": FAKE_TIKTOK_OPEN_ID, "display_name": "Aurora Lamps" } });
    answer(200, HeaderMap::new(), tiktok_answer(data, "ok", ""))
}

const MB: u64 = 1024 * 1024;

/// A `FILE_UPLOAD` init's `(video_size, chunk_size)`, if they keep TikTok's chunk rules: a video
/// under 5 MB in one chunk of its size; otherwise chunks of 5 to 64 MB, `total_chunk_count` the
/// size divided by the chunk size rounded down (the last chunk takes the rest, up to 128 MB),
/// at most 1,000 chunks.
fn chunk_plan(body: &Value) -> Option<(u64, u64)> {
    let field = |name: &str| body.pointer(&format!("/source_info/{name}"))?.as_u64();
    let (size, chunk, count) = (
        field("video_size")?,
        field("chunk_size")?,
        field("total_chunk_count")?,
    );
    let fits = if size < 5 * MB {
        chunk == size && count == 1
    } else {
        (5 * MB..=64 * MB).contains(&chunk)
            && count == size / chunk
            && (1..=1000).contains(&count)
            && size - (count - 1) * chunk <= 128 * MB
    };
    (size > 0 && fits).then_some((size, chunk))
}

/// `PUT /upload/?upload_id=…`: the next chunk, in order, with its `Content-Range`.
async fn upload(
    State(state): Shared,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut s = state.lock().unwrap();
    s.seen.push((TtCall::Upload, None));
    if let Some((status, body)) = s
        .faults
        .get_mut(&TtCall::Upload)
        .and_then(VecDeque::pop_front)
    {
        return answer(status, HeaderMap::new(), body);
    }
    let id = query.get("upload_id").cloned().unwrap_or_default();
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| {
            let (span, total) = v.split_once('/')?;
            let (first, last) = span.split_once('-')?;
            Some((
                first.parse::<u64>().ok()?,
                last.parse::<u64>().ok()?,
                total.parse::<u64>().ok()?,
            ))
        });
    let refuse = |why: &str| {
        answer(
            400,
            HeaderMap::new(),
            tiktok_answer(json!({}), "invalid_params", why),
        )
    };
    let Some(publication) = s
        .publications
        .iter_mut()
        .find(|p| p.publish_id == id && p.video_size > 0)
    else {
        return refuse("unknown upload");
    };
    let Some((first, last, total)) = range else {
        return refuse("Content-Range is missing or malformed");
    };
    let received = publication.uploaded.len() as u64;
    let whole = received == publication.video_size;
    let length = body.len() as u64;
    let final_chunk = last + 1 == total;
    let chunk_ok = if final_chunk {
        length >= publication.chunk_size.min(publication.video_size)
    } else {
        length == publication.chunk_size
    };
    if whole
        || first != received
        || total != publication.video_size
        || last + 1 - first != length
        || !chunk_ok
    {
        return refuse("the chunk is out of order or of the wrong size");
    }
    publication.uploaded.extend_from_slice(&body);
    let status = if final_chunk { 201 } else { 206 };
    answer(status, HeaderMap::new(), Value::Null)
}

/// `GET`/`HEAD /media/{name}`: the whole file, or the `Range` asked for (206).
async fn media(
    State(state): Shared,
    method: axum::http::Method,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(status) = s.media_faults.pop_front() {
        return answer(status, HeaderMap::new(), Value::Null);
    }
    if method == axum::http::Method::HEAD && s.refuse_head {
        return answer(405, HeaderMap::new(), Value::Null);
    }
    let Some(bytes) = s.media.get(&name) else {
        return answer(404, HeaderMap::new(), Value::Null);
    };
    let total = bytes.len();
    let range = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| {
            let (first, last) = v.split_once('-')?;
            Some((first.parse::<usize>().ok()?, last.parse::<usize>().ok()?))
        })
        .filter(|(first, last)| first <= last && *last < total);
    let (status, part) = match range {
        Some((first, last)) => (206, bytes[first..=last].to_vec()),
        None => (200, bytes.clone()),
    };
    let mut response = Response::new(axum::body::Body::from(part.clone()));
    *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
    let head = response.headers_mut();
    head.insert("content-type", "video/mp4".parse().unwrap());
    head.insert("content-length", part.len().to_string().parse().unwrap());
    head.insert("accept-ranges", "bytes".parse().unwrap());
    if let Some((first, last)) = range {
        head.insert(
            "content-range",
            format!("bytes {first}-{last}/{total}").parse().unwrap(),
        );
    }
    response
}

/// `POST /v2/video/list/`: the account's published videos, newest first.
async fn list(State(state): Shared, headers: HeaderMap) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = intake(&mut s, TtCall::List, &headers) {
        return r;
    }
    let videos: Vec<Value> = s
        .publications
        .iter()
        .rev()
        .filter(|p| p.status == "PUBLISH_COMPLETE")
        .map(|p| {
            let info = &p.body["post_info"];
            json!({
                "id": p.post_id,
                "title": info["title"],
                "video_description": info.get("description").unwrap_or(&info["title"]),
                "create_time": p.created,
                "share_url": format!("https://www.tiktok.com/@aurora.lamps/video/{}", p.post_id),
            })
        })
        .collect();
    videos_answer(videos)
}

/// A list of videos in one page, as `video/query` and `video/list` answer.
fn videos_answer(videos: Vec<Value>) -> Response {
    let data = json!({ "videos": videos, "cursor": 0, "has_more": false });
    answer(200, HeaderMap::new(), tiktok_answer(data, "ok", ""))
}
