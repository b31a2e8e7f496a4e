//! `/webhook-endpoints`: register (the secret shown once), list, read, edit, rotate the secret,
//! delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use postpilot_core::event::{
    CreatedEndpoint, Delivery, EndpointPatch, NewEndpointRequest, WebhookEndpoint,
};
use postpilot_core::id::{DeliveryId, EndpointId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{Paged, list_query, not_null, parse_name};
use crate::schema::*;
use crate::state::AppState;

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointDto {
    id: Uuid,
    /// Where events are delivered.
    url: String,
    description: String,
    /// The event types it receives; empty: every type.
    #[schema(value_type = Vec<EventTypeName>)]
    event_types: Vec<String>,
    /// Whether deliveries are on.
    enabled: bool,
    /// When deliveries stopped, and why: its owner, a `410 Gone` answer, or five days of
    /// failures.
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    disabled_at: Option<DateTime<Utc>>,
    disabled_reason: Option<String>,
    /// Since when every delivery has failed (absent while it answers); after five days of it
    /// the endpoint is disabled.
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs beside the current one.
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    previous_secret_expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for EndpointDto {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id().as_uuid(),
            url: e.url().as_str().to_owned(),
            description: e.description().to_owned(),
            event_types: e.event_types().iter().map(ToString::to_string).collect(),
            enabled: !e.is_disabled(),
            disabled_at: e.disabled_at(),
            disabled_reason: e.disabled_reason().map(str::to_owned),
            failing_since: e.failing_since(),
            previous_secret_expires_at: e.previous_secret_expires_at(),
            created_at: e.created_at(),
            updated_at: e.updated_at(),
        }
    }
}

/// An endpoint with its signing secret: answered once, when it is registered or its secret is
/// rotated.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointWithSecretDto {
    #[serde(flatten)]
    endpoint: EndpointDto,
    /// The signing secret (`whsec_…`, Standard Webhooks). Store it now: it cannot be shown
    /// again.
    secret: String,
}

impl From<CreatedEndpoint> for EndpointWithSecretDto {
    fn from(created: CreatedEndpoint) -> Self {
        Self {
            secret: created.secret.reveal(),
            endpoint: created.endpoint.into(),
        }
    }
}

/// The caller's endpoints, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointsDto {
    items: Vec<EndpointDto>,
}

/// One event's delivery to an endpoint, with its last attempt.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryDto {
    id: Uuid,
    /// The event's id: the `webhook-id` header of every attempt is `evt_` and its 32 hex digits.
    event_id: Uuid,
    #[schema(value_type = EventTypeName)]
    event_type: String,
    endpoint_id: Uuid,
    /// `pending` (waiting for its next attempt), `delivered`, or `dead` (the retry schedule ran
    /// out, or the endpoint answered 410): a dead letter, which can be re-sent.
    #[schema(value_type = DeliveryStatusName)]
    status: String,
    /// Attempts finished since it was written or last re-sent.
    attempts: u32,
    /// When it is next tried (pending only).
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt finished.
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    last_attempt_at: Option<DateTime<Utc>>,
    /// The status the endpoint answered the last attempt with.
    response_status: Option<u16>,
    /// The start of that answer (at most 1 KB).
    response: Option<String>,
    /// What went wrong with the last attempt.
    error: Option<String>,
    /// When the event happened.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryDto {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id().as_uuid(),
            event_id: d.event_id().as_uuid(),
            event_type: d.event_type().to_string(),
            endpoint_id: d.endpoint_id().as_uuid(),
            status: d.status().to_string(),
            attempts: d.attempts(),
            next_attempt_at: d.next_attempt_at(),
            last_attempt_at: d.last_attempt_at(),
            response_status: d.response_status(),
            response: d.response().map(str::to_owned),
            error: d.error().map(str::to_owned),
            created_at: d.created_at(),
        }
    }
}

list_query! {
    /// Filter and paging of a delivery log.
    pub(crate) struct DeliveryQuery {
        /// Only deliveries in this status (`dead`: the dead letters).
        #[param(value_type = Option<DeliveryStatusName>)]
        status: Option<String>,
    }
}

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateEndpointBody {
    /// `https://…`; it must resolve only to public addresses.
    #[schema(value_type = EndpointUrlText)]
    url: String,
    /// The event types to receive; empty or absent: every type.
    #[serde(default)]
    #[schema(value_type = Vec<EventTypeName>)]
    event_types: Vec<String>,
    #[serde(default)]
    #[schema(value_type = DescriptionText)]
    description: String,
}

/// A partial update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchEndpointBody {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = EndpointUrlText)]
    url: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Vec<EventTypeName>)]
    event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = DescriptionText)]
    description: Option<String>,
    /// `false` stops deliveries; `true` starts them again.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool)]
    enabled: Option<bool>,
}

/// Registers an endpoint; the answer holds its signing secret, shown this once.
///
/// Its URL must resolve only to public addresses (loopback, private, link-local and metadata
/// addresses are refused with 422 naming `url`). At most 10 per user.
#[utoipa::path(post, path = "/webhook-endpoints", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    request_body = CreateEndpointBody,
    responses((status = 201, body = EndpointWithSecretDto), (status = 401, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateEndpointBody>,
) -> ApiResult<(StatusCode, Json<EndpointWithSecretDto>)> {
    let request = NewEndpointRequest {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
    };
    let created = state
        .engine()
        .endpoints()
        .create(caller.user_id, request)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The caller's endpoints, oldest first.
#[utoipa::path(get, path = "/webhook-endpoints", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = EndpointsDto), (status = 401, body = Problem)))]
async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<EndpointsDto>> {
    let endpoints = state.engine().endpoints().list(caller.user_id).await?;
    Ok(Json(EndpointsDto {
        items: endpoints.into_iter().map(EndpointDto::from).collect(),
    }))
}

/// One of the caller's endpoints.
#[utoipa::path(get, path = "/webhook-endpoints/{id}", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EndpointDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<EndpointId>,
) -> ApiResult<Json<EndpointDto>> {
    let endpoint = state.engine().endpoints().get(caller.user_id, id).await?;
    Ok(Json(endpoint.into()))
}

/// Edits an endpoint: its URL (checked again), event types, description, or whether it
/// receives deliveries.
#[utoipa::path(patch, path = "/webhook-endpoints/{id}", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = PatchEndpointBody,
    responses((status = 200, body = EndpointDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<EndpointId>,
    ApiJson(body): ApiJson<PatchEndpointBody>,
) -> ApiResult<Json<EndpointDto>> {
    let patch = EndpointPatch {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
        enabled: body.enabled,
    };
    let endpoint = state
        .engine()
        .endpoints()
        .update(caller.user_id, id, patch)
        .await?;
    Ok(Json(endpoint.into()))
}

/// Gives an endpoint a new signing secret, shown this once; the old one keeps signing beside it
/// for 24 hours (every delivery carries both signatures), so the receiver switches at its pace.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/rotate-secret", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EndpointWithSecretDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<EndpointId>,
) -> ApiResult<Json<EndpointWithSecretDto>> {
    let rotated = state
        .engine()
        .endpoints()
        .rotate_secret(caller.user_id, id)
        .await?;
    Ok(Json(rotated.into()))
}

/// Deletes an endpoint.
#[utoipa::path(delete, path = "/webhook-endpoints/{id}", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<EndpointId>,
) -> ApiResult<StatusCode> {
    state
        .engine()
        .endpoints()
        .delete(caller.user_id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's delivery log, newest first: every event sent (or being sent) to it, with its
/// last attempt. `?status=dead` lists the dead letters.
#[utoipa::path(get, path = "/webhook-endpoints/{id}/deliveries", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = Paged<DeliveryDto>), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<EndpointId>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Paged<DeliveryDto>>> {
    let page = state
        .engine()
        .endpoints()
        .deliveries(
            caller.user_id,
            id,
            parse_name(query.status.as_deref())?,
            query.page_request()?,
        )
        .await?;
    Ok(Json(page.into()))
}

/// Sends a delivered or dead delivery again, at once, under the same event id (receivers
/// deduplicate by it); its retry schedule starts over. 409 while it is still pending.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/deliveries/{delivery_id}/resend", tag = "webhook endpoints", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202, body = DeliveryDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, delivery)): ApiPath<(EndpointId, DeliveryId)>,
) -> ApiResult<(StatusCode, Json<DeliveryDto>)> {
    let resent = state
        .engine()
        .endpoints()
        .resend(caller.user_id, id, delivery)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(resent.into())))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries))
        .routes(routes!(resend))
}
