//! `/templates`: a merchant's caption templates — placeholders the queue fills from a product.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use postpilot_core::caption::Tone;
use postpilot_core::id::TemplateId;
use postpilot_core::platform::Platform;
use postpilot_core::template::{CaptionTemplate, CreateTemplate, TemplatePatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{Paged, list_query, not_null, nullable, parse_name};
use crate::schema::*;
use crate::state::AppState;

/// A caption template.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TemplateDto {
    id: Uuid,
    name: String,
    /// The text with placeholders: `{title}`, `{description}`, `{price}`, `{compare_at_price}`,
    /// `{discount}`, `{currency}`, `{url}`, `{store_name}`, `{hashtags}`, `{features}`, `{tags}`;
    /// `{{` and `}}` for braces.
    body: String,
    /// The platforms it was checked against; empty: every platform.
    platforms: Vec<String>,
    tone: Option<String>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    updated_at: DateTime<Utc>,
}

impl From<CaptionTemplate> for TemplateDto {
    fn from(t: CaptionTemplate) -> Self {
        Self {
            id: t.id().as_uuid(),
            name: t.name().to_owned(),
            body: t.body().as_ref().to_owned(),
            platforms: t.platforms().iter().map(ToString::to_string).collect(),
            tone: t.tone().map(|tone| tone.to_string()),
            created_at: t.created_at(),
            updated_at: t.updated_at(),
        }
    }
}

/// A new template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTemplateBody {
    #[schema(value_type = TemplateNameText)]
    name: String,
    #[schema(value_type = TemplateBodyText)]
    body: String,
    /// The platforms to check it against (default: every platform).
    #[serde(default)]
    #[schema(value_type = Vec<PlatformName>)]
    platforms: Vec<String>,
    #[schema(value_type = Option<ToneName>)]
    tone: Option<String>,
}

/// A template's change: what it names is replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchTemplateBody {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = TemplateNameText)]
    name: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = TemplateBodyText)]
    body: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Vec<PlatformName>)]
    platforms: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<ToneName>)]
    tone: Option<Option<String>>,
}

list_query! {
    /// Paging of the templates.
    pub(crate) struct ListQuery {}
}

fn platforms(names: &[String]) -> ApiResult<Vec<Platform>> {
    Ok(Platform::parse_list(names).map_err(postpilot_core::Error::from)?)
}

/// Saves a template, its placeholders known and its text within its platforms' rules.
///
/// The body, filled from a sample product, must fit each of the template's platforms.
#[utoipa::path(post, path = "/templates", tag = "templates", security(("bearer" = []), ("api_key" = [])),
    request_body = CreateTemplateBody,
    responses((status = 201, body = TemplateDto), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTemplateBody>,
) -> ApiResult<(StatusCode, Json<TemplateDto>)> {
    let fields = CreateTemplate {
        name: body.name,
        body: body.body,
        platforms: platforms(&body.platforms)?,
        tone: parse_name::<Tone>(body.tone.as_deref())?,
    };
    let template = state
        .engine()
        .templates()
        .create(caller.user_id, fields)
        .await?;
    Ok((StatusCode::CREATED, Json(template.into())))
}

/// The caller's templates, oldest first.
#[utoipa::path(get, path = "/templates", tag = "templates", security(("bearer" = []), ("api_key" = [])),
    params(ListQuery),
    responses((status = 200, body = Paged<TemplateDto>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<TemplateDto>>> {
    let page = state
        .engine()
        .templates()
        .list(caller.user_id, query.page_request()?)
        .await?;
    Ok(Json(page.into()))
}

/// One of the caller's templates.
#[utoipa::path(get, path = "/templates/{id}", tag = "templates", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TemplateDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<TemplateId>,
) -> ApiResult<Json<TemplateDto>> {
    let template = state.engine().templates().get(caller.user_id, id).await?;
    Ok(Json(template.into()))
}

/// Changes a template, checked as when it was saved.
#[utoipa::path(patch, path = "/templates/{id}", tag = "templates", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = PatchTemplateBody,
    responses((status = 200, body = TemplateDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<TemplateId>,
    ApiJson(body): ApiJson<PatchTemplateBody>,
) -> ApiResult<Json<TemplateDto>> {
    let patch = TemplatePatch {
        name: body.name,
        body: body.body,
        platforms: body.platforms.as_deref().map(platforms).transpose()?,
        tone: body
            .tone
            .map(|tone| parse_name::<Tone>(tone.as_deref()))
            .transpose()?,
    };
    let template = state
        .engine()
        .templates()
        .update(caller.user_id, id, patch)
        .await?;
    Ok(Json(template.into()))
}

/// Deletes a template (items made with it keep their captions).
#[utoipa::path(delete, path = "/templates/{id}", tag = "templates", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<TemplateId>,
) -> ApiResult<StatusCode> {
    state
        .engine()
        .templates()
        .delete(caller.user_id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
}
