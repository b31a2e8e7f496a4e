//! `/webhook-endpoints`: register (the secret shown once), list, read, edit, rotate the secret,
//! delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use postpilot_core::event::{CreatedEndpoint, EndpointPatch, NewEndpointRequest, WebhookEndpoint};
use postpilot_core::id::EndpointId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::not_null;
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
    disabled_at: Option<DateTime<Utc>>,
    disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs beside the current one.
    previous_secret_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
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

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
        .routes(routes!(rotate_secret))
}
