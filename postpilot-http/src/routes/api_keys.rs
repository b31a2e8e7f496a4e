//! `/api-keys`: create (shown once), list, revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use postpilot_core::api_key::{ApiKey, CreatedApiKey};
use postpilot_core::id::ApiKeyId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{Paged, Paging};
use crate::schema::*;
use crate::state::AppState;

/// A stored key (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyDto {
    id: Uuid,
    name: String,
    /// The key's first characters, to recognise it.
    prefix: String,
    scopes: Vec<String>,
    is_active: bool,
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    last_used_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id().as_uuid(),
            name: k.name().as_ref().to_owned(),
            prefix: k.prefix().to_owned(),
            scopes: k.scopes().iter().map(ToString::to_string).collect(),
            is_active: k.is_active(),
            last_used_at: k.last_used_at(),
            created_at: k.created_at(),
        }
    }
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateApiKeyBody {
    #[schema(value_type = LabelText)]
    name: String,
    /// None means all.
    #[serde(default)]
    #[schema(value_type = Vec<ScopeName>)]
    scopes: Vec<String>,
}

/// A new key: `key` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedKeyDto {
    id: Uuid,
    name: String,
    prefix: String,
    /// The key (`po_live_…`). Store it now: it cannot be shown again.
    key: String,
    scopes: Vec<String>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
}

impl From<CreatedApiKey> for CreatedKeyDto {
    fn from(created: CreatedApiKey) -> Self {
        let key = ApiKeyDto::from(created.key);
        Self {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            key: created.secret.expose().to_owned(),
            scopes: key.scopes,
            created_at: key.created_at,
        }
    }
}

/// Creates a key (pro and enterprise plans).
#[utoipa::path(post, path = "/api-keys", tag = "api keys", security(("bearer" = [])), request_body = CreateApiKeyBody,
    responses((status = 201, body = CreatedKeyDto), (status = 401, body = Problem), (status = 402, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiJson(body): ApiJson<CreateApiKeyBody>,
) -> ApiResult<(StatusCode, Json<CreatedKeyDto>)> {
    let created = state
        .engine()
        .api_keys()
        .create(user, &body.name, &body.scopes)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The caller's keys, newest first.
#[utoipa::path(get, path = "/api-keys", tag = "api keys", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = Paged<ApiKeyDto>), (status = 401, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<ApiKeyDto>>> {
    let page = state
        .engine()
        .api_keys()
        .list(user, paging.page_request()?)
        .await?;
    Ok(Json(page.into()))
}

/// Revokes a key.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "api keys", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> ApiResult<StatusCode> {
    state.engine().api_keys().revoke(user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
}
