//! `/posts`: create, list, get, edit, delete, schedule, calendar, publication attempts.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use postpilot_core::id::{AccountId, PostId};
use postpilot_core::post::{CreatePost, Duplicates, Post, PostFilter, PostPatch, ResumeCaption};
use postpilot_core::publish::PublicationAttempt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{Paged, list_query, not_null, nullable, parse_name};
use crate::schema::*;
use crate::state::AppState;

/// A post.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PostDto {
    id: Uuid,
    account_id: Uuid,
    /// The queue item it was approved from.
    queue_item_id: Option<Uuid>,
    /// `instagram`, `facebook` or `tiktok` (the account's).
    platform: String,
    content: String,
    media_urls: Vec<String>,
    /// Without `#`.
    hashtags: Vec<String>,
    /// `draft`, `scheduled`, `publishing`, `posted`, `failed` or `paused`.
    status: String,
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    scheduled_for: Option<DateTime<Utc>>,
    /// When the next retry is due, after a failed attempt or a rate limit.
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    next_attempt_at: Option<DateTime<Utc>>,
    /// Failed attempts so far.
    attempts: u32,
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    posted_at: Option<DateTime<Utc>>,
    /// The platform's id of the published post.
    external_id: Option<String>,
    /// A public link to the published post.
    external_url: Option<String>,
    /// Why it failed, or — for a paused post — why it was held back.
    error_message: Option<String>,
    /// Whether the queue put it on a slot of its account's posting schedule (`/queue`); false
    /// once it is given a time of its own.
    on_slot: bool,
    /// The product it advertises as it was when the post was made from its queue item; absent
    /// for a post written directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ProductSnapshotDto>)]
    product: Option<serde_json::Value>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    updated_at: DateTime<Utc>,
}

/// A post's product when the post was made.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct ProductSnapshotDto {
    /// The shop's id of the product.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare_at_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    /// Units in stock; zero or less is sold out.
    #[serde(skip_serializing_if = "Option::is_none")]
    stock: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl From<Post> for PostDto {
    fn from(p: Post) -> Self {
        Self {
            id: p.id().as_uuid(),
            account_id: p.account_id().as_uuid(),
            queue_item_id: p.queue_item_id().map(|q| q.as_uuid()),
            platform: p.platform().to_string(),
            content: p.content().to_string(),
            media_urls: p.media_urls().iter().map(ToString::to_string).collect(),
            hashtags: p.hashtags().to_strings(),
            status: p.status().to_string(),
            scheduled_for: p.scheduled_for(),
            next_attempt_at: p.next_attempt_at(),
            attempts: p.attempts(),
            posted_at: p.posted_at(),
            external_id: p.external_id().map(str::to_owned),
            external_url: p.external_url().map(str::to_owned),
            error_message: p.error_message().map(str::to_owned),
            on_slot: p.on_slot(),
            product: p
                .product()
                .and_then(|product| serde_json::to_value(product).ok()),
            created_at: p.created_at(),
            updated_at: p.updated_at(),
        }
    }
}

/// One attempt at publishing a post, as the publication ledger keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptDto {
    /// 1-based: the post's attempt count at the time (waits on the platform and rate limits
    /// do not count, so several entries can share a number).
    attempt: u32,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    started_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    finished_at: DateTime<Utc>,
    #[schema(value_type = AttemptOutcomeName)]
    outcome: &'static str,
    /// The platform's id of the post, when this attempt published or found it.
    remote_id: Option<String>,
    /// What went wrong, in words a merchant can act on.
    error: Option<String>,
}

impl From<PublicationAttempt> for AttemptDto {
    fn from(a: PublicationAttempt) -> Self {
        Self {
            attempt: a.attempt,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome.as_str(),
            remote_id: a.remote_id,
            error: a.error,
        }
    }
}

/// A post's publication attempts, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptsDto {
    items: Vec<AttemptDto>,
}

/// A new post; with `scheduled_for` it is created scheduled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePostBody {
    account_id: Uuid,
    #[schema(value_type = CaptionText)]
    content: String,
    #[serde(default)]
    #[schema(value_type = Vec<MediaUrlText>, max_items = 35)]
    media_urls: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<HashtagText>, max_items = 100)]
    hashtags: Vec<String>,
    scheduled_for: Option<DateTime<Utc>>,
    /// Schedule it even when another post of the account has the same caption within 24
    /// hours of its time (otherwise 409 `duplicate-post`, naming that post).
    #[serde(default)]
    allow_duplicate: bool,
}

/// A partial update; `"scheduled_for": null` takes a scheduled post back to draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchPostBody {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = CaptionText)]
    content: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Vec<MediaUrlText>, max_items = 35)]
    media_urls: Option<Vec<String>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Vec<HashtagText>, max_items = 100)]
    hashtags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    scheduled_for: Option<Option<DateTime<Utc>>>,
    /// Schedule it even when another post of the account has the same caption within 24
    /// hours of its time (otherwise 409 `duplicate-post`, naming that post).
    #[serde(default)]
    allow_duplicate: bool,
}

/// A publication time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SchedulePostBody {
    /// Strictly in the future, at most 365 days ahead.
    scheduled_for: DateTime<Utc>,
    /// Schedule it even when another post of the account has the same caption within 24
    /// hours of its time (otherwise 409 `duplicate-post`, naming that post).
    #[serde(default)]
    allow_duplicate: bool,
}

/// Why a post is held back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PausePostBody {
    /// Shown to the merchant as the post's `error_message` until it is scheduled again.
    #[schema(value_type = PauseReasonText)]
    reason: String,
}

/// Resuming a paused post.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResumePostBody {
    /// Resume even when another post of the account has the same caption within 24 hours of
    /// its time (otherwise 409 `duplicate-post`).
    #[serde(default)]
    allow_duplicate: bool,
    /// Write the caption anew from the post's queue item, with the product as it is now (the
    /// change that paused it included); 422 naming `regenerate_caption` for a post not made from
    /// a queue item. Counts as a caption generation of the plan.
    #[serde(default)]
    regenerate_caption: bool,
}

/// How a post joins the queue.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct QueueQuery {
    /// Take the slot even when another post of the account has the same caption within 24
    /// hours of it (otherwise 409 `duplicate-post`, naming that post).
    #[serde(default)]
    allow_duplicate: bool,
}

list_query! {
    /// Filters and paging of the post list.
    pub(crate) struct ListQuery {
        #[param(value_type = Option<PostStatusName>)]
        status: Option<String>,
        #[param(value_type = Option<PlatformName>)]
        platform: Option<String>,
    }
}

/// A calendar range: local dates in `tz` (IANA name, default UTC), both inclusive.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CalendarQuery {
    start_date: NaiveDate,
    end_date: NaiveDate,
    #[param(value_type = Option<TimeZoneName>)]
    tz: Option<String>,
}

/// Creates a post on a connected account of the caller's, within the quota and publishing cap.
///
/// Past the account's publishing cap: 409 `publishing-cap`, with the full window and the next
/// free time.
#[utoipa::path(post, path = "/posts", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    request_body = CreatePostBody,
    responses((status = 201, body = PostDto), (status = 401, body = Problem), (status = 402, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreatePostBody>,
) -> ApiResult<(StatusCode, Json<PostDto>)> {
    let post = state
        .engine()
        .posts()
        .create(
            caller.user_id,
            CreatePost {
                account_id: AccountId::from(body.account_id),
                content: body.content,
                media_urls: body.media_urls,
                hashtags: body.hashtags,
                scheduled_for: body.scheduled_for,
                duplicates: Duplicates::allowed(body.allow_duplicate),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(post.into())))
}

/// The caller's posts, newest first, filtered by status and platform.
#[utoipa::path(get, path = "/posts", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(ListQuery),
    responses((status = 200, body = Paged<PostDto>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<PostDto>>> {
    let filter = PostFilter {
        status: parse_name(query.status.as_deref())?,
        platform: parse_name(query.platform.as_deref())?,
    };
    let page = state
        .engine()
        .posts()
        .list(caller.user_id, filter, query.page_request()?)
        .await?;
    Ok(Json(page.into()))
}

/// The caller's posts with a time in a date range, grouped by local date (`YYYY-MM-DD`).
#[utoipa::path(get, path = "/posts/calendar", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(CalendarQuery),
    responses((status = 200, body = BTreeMap<String, Vec<PostDto>>), (status = 401, body = Problem),
              (status = 422, body = Problem)))]
async fn calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CalendarQuery>,
) -> ApiResult<Json<BTreeMap<String, Vec<PostDto>>>> {
    let tz = match query.tz.as_deref() {
        None => chrono_tz::UTC,
        Some(name) => name
            .parse::<chrono_tz::Tz>()
            .map_err(|_| ApiError::invalid("tz", "is not an IANA time zone name"))?,
    };
    let days = state
        .engine()
        .posts()
        .calendar(caller.user_id, query.start_date, query.end_date, tz)
        .await?;
    Ok(Json(
        days.into_iter()
            .map(|(day, posts)| {
                (
                    day.to_string(),
                    posts.into_iter().map(PostDto::from).collect(),
                )
            })
            .collect(),
    ))
}

/// One of the caller's posts.
#[utoipa::path(get, path = "/posts/{id}", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PostDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
) -> ApiResult<Json<PostDto>> {
    let post = state.engine().posts().get(caller.user_id, id).await?;
    Ok(Json(post.into()))
}

/// Edits a draft, scheduled or paused post.
#[utoipa::path(patch, path = "/posts/{id}", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = PatchPostBody,
    responses((status = 200, body = PostDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<PatchPostBody>,
) -> ApiResult<Json<PostDto>> {
    let patch = PostPatch {
        content: body.content,
        media_urls: body.media_urls,
        hashtags: body.hashtags,
        scheduled_for: body.scheduled_for,
        duplicates: Duplicates::allowed(body.allow_duplicate),
    };
    let post = state
        .engine()
        .posts()
        .update(caller.user_id, id, patch)
        .await?;
    Ok(Json(post.into()))
}

/// Deletes a draft, scheduled or paused post.
#[utoipa::path(delete, path = "/posts/{id}", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
) -> ApiResult<StatusCode> {
    state.engine().posts().delete(caller.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Schedules (or reschedules) a post.
#[utoipa::path(post, path = "/posts/{id}/schedule", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = SchedulePostBody,
    responses((status = 200, body = PostDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<SchedulePostBody>,
) -> ApiResult<Json<PostDto>> {
    let post = state
        .engine()
        .posts()
        .schedule(
            caller.user_id,
            id,
            body.scheduled_for,
            Duplicates::allowed(body.allow_duplicate),
        )
        .await?;
    Ok(Json(post.into()))
}

/// Puts a post on its account's next free slot: the first instant of the account's posting
/// schedule after now that no other post of the account holds and its platform's publishing
/// cap has room for. Concurrent requests for one account each get their own slot.
#[utoipa::path(post, path = "/posts/{id}/queue", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), QueueQuery),
    responses((status = 200, body = PostDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> ApiResult<Json<PostDto>> {
    let duplicates = Duplicates::allowed(query.allow_duplicate);
    let post = state
        .engine()
        .posts()
        .queue(caller.user_id, id, duplicates)
        .await?;
    Ok(Json(post.into()))
}

/// Holds a scheduled post back before its time, saying why: no worker publishes it until it is
/// resumed or scheduled again.
///
/// A post a worker has already claimed is being published and cannot be held back (409).
#[utoipa::path(post, path = "/posts/{id}/pause", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = PausePostBody,
    responses((status = 200, body = PostDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<PausePostBody>,
) -> ApiResult<Json<PostDto>> {
    let post = state
        .engine()
        .posts()
        .pause(caller.user_id, id, &body.reason)
        .await?;
    Ok(Json(post.into()))
}

/// Resumes a paused post at its own time (422 naming `scheduled_for` once that has passed:
/// schedule it at a new time instead), checked against the publishing cap and the duplicate
/// guard again; with `regenerate_caption`, its caption is written anew from the product as it
/// is now.
#[utoipa::path(post, path = "/posts/{id}/resume", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = ResumePostBody,
    responses((status = 200, body = PostDto), (status = 401, body = Problem),
              (status = 402, body = Problem, description = "A new caption would pass the plan's caption generations"),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<ResumePostBody>,
) -> ApiResult<Json<PostDto>> {
    let duplicates = Duplicates::allowed(body.allow_duplicate);
    let caption = ResumeCaption::regenerated(body.regenerate_caption);
    let post = state
        .engine()
        .posts()
        .resume(caller.user_id, id, duplicates, caption)
        .await?;
    Ok(Json(post.into()))
}

/// The publication attempts of one of the caller's posts, oldest first.
///
/// Every attempt's time, outcome and platform error: why a post failed, or what it waits for.
#[utoipa::path(get, path = "/posts/{id}/attempts", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = AttemptsDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn attempts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
) -> ApiResult<Json<AttemptsDto>> {
    let attempts = state.engine().posts().attempts(caller.user_id, id).await?;
    Ok(Json(AttemptsDto {
        items: attempts.into_iter().map(AttemptDto::from).collect(),
    }))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(calendar))
        .routes(routes!(get, update, delete))
        .routes(routes!(schedule))
        .routes(routes!(queue))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(attempts))
}
