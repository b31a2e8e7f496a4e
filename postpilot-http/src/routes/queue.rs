//! `/queue`: the content queue — create, generate, edit, approve into posts, reject, regenerate.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use postpilot_core::ValidationError;
use postpilot_core::caption::{Generator, PlatformCaptions, ProductData, Tone};
use postpilot_core::id::{AccountId, QueueItemId};
use postpilot_core::queue::{
    ApproveItem, CreateQueueItem, Placement, QueueItem, QueueItemPatch, parse_platforms,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery};
use crate::routes::posts::PostDto;
use crate::routes::{Paged, list_query, not_null, parse_name};
use crate::schema::*;
use crate::state::AppState;

/// Product data, as the platform sends it (unknown fields refused).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ProductDataSchema {
    /// The shop's id of the product: what its `product.updated` events name it by.
    #[schema(value_type = Option<LabelText>)]
    id: Option<String>,
    #[schema(value_type = ProductTitleText)]
    title: String,
    #[schema(value_type = Option<ProductDescriptionText>)]
    description: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000_000_f64)]
    price: Option<f64>,
    #[schema(value_type = Option<CurrencyCode>)]
    currency: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000_000_f64)]
    compare_at_price: Option<f64>,
    #[schema(value_type = Option<ProductUrlText>)]
    url: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<ProductUrlText>, max_items = 35)]
    image_urls: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<ProductFeatureText>, max_items = 50)]
    features: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<ProductTagText>, max_items = 50)]
    tags: Vec<String>,
    /// The shop's name, for templates' `{store_name}`.
    #[schema(value_type = Option<ProductTitleText>)]
    store_name: Option<String>,
    /// Units in stock; zero or less is sold out.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    stock: Option<i64>,
}

/// A caption written for one platform.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct PlatformCaptionSchema {
    #[schema(value_type = CaptionText)]
    caption: String,
    /// Without `#`; default none.
    #[serde(default)]
    #[schema(value_type = Vec<HashtagText>, max_items = 100)]
    hashtags: Vec<String>,
}

/// Captions written for single platforms, keyed by platform name; a post on a platform listed
/// here says its caption and hashtags instead of the item's shared ones. Each must be for one of
/// the item's platforms and within that platform's rules.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct PlatformCaptionsSchema {
    #[schema(nullable = false)]
    instagram: Option<PlatformCaptionSchema>,
    #[schema(nullable = false)]
    facebook: Option<PlatformCaptionSchema>,
    #[schema(nullable = false)]
    tiktok: Option<PlatformCaptionSchema>,
}

/// A queue item.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueueItemDto {
    id: Uuid,
    #[schema(value_type = ProductDataSchema)]
    product_data: serde_json::Value,
    ai_generated_content: Option<String>,
    /// What wrote the caption; `null` when the merchant wrote or edited it.
    caption_generator: Option<CaptionGeneratorDto>,
    hashtags: Vec<String>,
    /// Captions for single platforms, used there instead of `ai_generated_content` and
    /// `hashtags`; `{}` when every platform gets those.
    #[schema(value_type = PlatformCaptionsSchema)]
    platform_captions: PlatformCaptions,
    platforms: Vec<String>,
    /// The tone of the generated caption.
    tone: Option<String>,
    /// `pending`, `approved`, `rejected` or `posted`.
    status: String,
    rejection_reason: Option<String>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    updated_at: DateTime<Utc>,
}

/// What wrote a caption, and what it cost.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaptionGeneratorDto {
    /// `template`, or the language model: `anthropic:<model>`, `openai:<model>`.
    name: String,
    /// Tokens the model read, over every round (those of unused answers included).
    input_tokens: u64,
    /// Tokens the model wrote, over every round.
    output_tokens: u64,
    /// Why the template wrote the caption instead of the model.
    fell_back: Option<String>,
}

impl From<&Generator> for CaptionGeneratorDto {
    fn from(g: &Generator) -> Self {
        Self {
            name: g.name.clone(),
            input_tokens: g.usage.input,
            output_tokens: g.usage.output,
            fell_back: g.fell_back.clone(),
        }
    }
}

impl From<QueueItem> for QueueItemDto {
    fn from(i: QueueItem) -> Self {
        Self {
            id: i.id().as_uuid(),
            product_data: serde_json::to_value(i.product_data()).unwrap_or_default(),
            ai_generated_content: i.ai_generated_content().map(|c| c.to_string()),
            caption_generator: i.caption_generator().map(CaptionGeneratorDto::from),
            hashtags: i.hashtags().to_strings(),
            platform_captions: i.platform_captions().clone(),
            platforms: i.platforms().iter().map(ToString::to_string).collect(),
            tone: i.tone().map(|t| t.to_string()),
            status: i.status().to_string(),
            rejection_reason: i.rejection_reason().map(str::to_owned),
            created_at: i.created_at(),
            updated_at: i.updated_at(),
        }
    }
}

/// A new item with product data (and optionally a hand-written caption).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateQueueItemBody {
    #[schema(value_type = ProductDataSchema)]
    product_data: ProductData,
    #[schema(value_type = Vec<PlatformName>, min_items = 1)]
    platforms: Vec<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = CaptionText)]
    ai_generated_content: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<HashtagText>, max_items = 100)]
    hashtags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = PlatformCaptionsSchema)]
    platform_captions: PlatformCaptions,
}

/// Product data to write a caption for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateQueueItemBody {
    #[schema(value_type = ProductDataSchema)]
    product_data: ProductData,
    #[schema(value_type = Vec<PlatformName>, min_items = 1)]
    platforms: Vec<String>,
    /// Default `professional`; with a template, the template's.
    #[schema(value_type = Option<ToneName>)]
    tone: Option<String>,
    /// Fill one of the caller's templates (`/templates`) instead of generating.
    template_id: Option<Uuid>,
}

/// A partial update of a pending item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchQueueItemBody {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = CaptionText)]
    ai_generated_content: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Vec<HashtagText>, max_items = 100)]
    hashtags: Option<Vec<String>>,
    /// Replaces every platform's own caption (`{}`: none).
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = PlatformCaptionsSchema)]
    platform_captions: Option<PlatformCaptions>,
    /// A platform removed here loses its own caption.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Vec<PlatformName>, min_items = 1)]
    platforms: Option<Vec<String>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = ProductDataSchema)]
    product_data: Option<ProductData>,
}

/// Approval into posts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveQueueItemBody {
    /// One post per account; each on one of the item's platforms.
    #[schema(min_items = 1)]
    account_ids: Vec<Uuid>,
    /// With a time the posts are scheduled; without (and without `slot`), drafts.
    scheduled_for: Option<DateTime<Utc>>,
    /// `"next"`: each post on its account's next free slot (not with `scheduled_for`).
    slot: Option<SlotChoice>,
}

/// Which slot of the account's posting schedule a post goes on.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SlotChoice {
    /// The first free one after now.
    Next,
}

/// Where the approval's body puts the posts.
fn placement(body: &ApproveQueueItemBody) -> Result<Placement, ValidationError> {
    match (body.scheduled_for, body.slot) {
        (Some(_), Some(_)) => Err(ValidationError::new(
            "slot",
            "give either scheduled_for or slot, not both",
        )),
        (Some(at), None) => Ok(Placement::At(at)),
        (None, Some(SlotChoice::Next)) => Ok(Placement::NextSlot),
        (None, None) => Ok(Placement::Draft),
    }
}

/// The approved item and its posts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApprovalDto {
    item: QueueItemDto,
    posts: Vec<PostDto>,
}

/// A rejection.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectQueueItemBody {
    #[schema(value_type = Option<RejectionReasonText>)]
    reason: Option<String>,
}

/// A regeneration, optionally in another tone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegenerateQueueItemBody {
    #[schema(value_type = Option<ToneName>)]
    tone: Option<String>,
}

list_query! {
    /// Filters and paging of the queue.
    pub(crate) struct ListQuery {
        #[param(value_type = Option<QueueStatusName>)]
        status: Option<String>,
    }
}

fn platforms(names: &[String]) -> ApiResult<Vec<postpilot_core::platform::Platform>> {
    Ok(parse_platforms(names).map_err(postpilot_core::Error::from)?)
}

/// Adds a pending item.
#[utoipa::path(post, path = "/queue", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    request_body = CreateQueueItemBody,
    responses((status = 201, body = QueueItemDto), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateQueueItemBody>,
) -> ApiResult<(StatusCode, Json<QueueItemDto>)> {
    let item = state
        .engine()
        .queue()
        .create(
            caller.user_id,
            CreateQueueItem {
                product_data: body.product_data,
                platforms: platforms(&body.platforms)?,
                content: body.ai_generated_content,
                hashtags: body.hashtags,
                platform_captions: body.platform_captions,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// Adds a pending item whose caption is generated from the product, or a template filled with it.
///
/// With `template_id`, the caption is that template filled from the product.
#[utoipa::path(post, path = "/queue/generate", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    request_body = GenerateQueueItemBody,
    responses((status = 201, body = QueueItemDto), (status = 401, body = Problem), (status = 402, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem),
              (status = 503, body = Problem)))]
async fn generate(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<GenerateQueueItemBody>,
) -> ApiResult<(StatusCode, Json<QueueItemDto>)> {
    let queue = state.engine().queue();
    let platforms = platforms(&body.platforms)?;
    let tone = parse_name::<Tone>(body.tone.as_deref())?;
    let template = body.template_id.map(postpilot_core::id::TemplateId::from);
    let item = queue
        .generate_with(caller.user_id, body.product_data, platforms, tone, template)
        .await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// The caller's queue, newest first.
#[utoipa::path(get, path = "/queue", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    params(ListQuery),
    responses((status = 200, body = Paged<QueueItemDto>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<QueueItemDto>>> {
    let status = parse_name(query.status.as_deref())?;
    let page = state
        .engine()
        .queue()
        .list(caller.user_id, status, query.page_request()?)
        .await?;
    Ok(Json(page.into()))
}

/// One of the caller's items.
#[utoipa::path(get, path = "/queue/{id}", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = QueueItemDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<QueueItemId>,
) -> ApiResult<Json<QueueItemDto>> {
    let item = state.engine().queue().get(caller.user_id, id).await?;
    Ok(Json(item.into()))
}

/// Edits a pending item.
#[utoipa::path(patch, path = "/queue/{id}", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = PatchQueueItemBody,
    responses((status = 200, body = QueueItemDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<QueueItemId>,
    ApiJson(body): ApiJson<PatchQueueItemBody>,
) -> ApiResult<Json<QueueItemDto>> {
    let patch = QueueItemPatch {
        ai_generated_content: body.ai_generated_content,
        hashtags: body.hashtags,
        platform_captions: body.platform_captions,
        platforms: body.platforms.as_deref().map(platforms).transpose()?,
        product_data: body.product_data,
    };
    let item = state
        .engine()
        .queue()
        .update(caller.user_id, id, patch)
        .await?;
    Ok(Json(item.into()))
}

/// Deletes a pending or rejected item.
#[utoipa::path(delete, path = "/queue/{id}", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<QueueItemId>,
) -> ApiResult<StatusCode> {
    state.engine().queue().delete(caller.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Approves a pending item into one post per account — all within the quota, or none.
#[utoipa::path(post, path = "/queue/{id}/approve", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = ApproveQueueItemBody,
    responses((status = 200, body = ApprovalDto), (status = 401, body = Problem), (status = 402, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<QueueItemId>,
    ApiJson(body): ApiJson<ApproveQueueItemBody>,
) -> ApiResult<Json<ApprovalDto>> {
    let request = ApproveItem {
        placement: placement(&body).map_err(postpilot_core::Error::from)?,
        account_ids: body.account_ids.into_iter().map(AccountId::from).collect(),
    };
    let approval = state
        .engine()
        .queue()
        .approve(caller.user_id, id, request)
        .await?;
    Ok(Json(ApprovalDto {
        item: approval.item.into(),
        posts: approval.posts.into_iter().map(PostDto::from).collect(),
    }))
}

/// Rejects a pending item.
#[utoipa::path(post, path = "/queue/{id}/reject", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body(content = RejectQueueItemBody, description = "Optional"),
    responses((status = 200, body = QueueItemDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<QueueItemId>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<RejectQueueItemBody>,
) -> ApiResult<Json<QueueItemDto>> {
    let item = state
        .engine()
        .queue()
        .reject(caller.user_id, id, body.reason)
        .await?;
    Ok(Json(item.into()))
}

/// Writes a new caption for a rejected item and puts it back to pending.
#[utoipa::path(post, path = "/queue/{id}/regenerate", tag = "queue", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = RegenerateQueueItemBody,
    responses((status = 200, body = QueueItemDto), (status = 401, body = Problem), (status = 402, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem), (status = 503, body = Problem)))]
async fn regenerate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<QueueItemId>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<RegenerateQueueItemBody>,
) -> ApiResult<Json<QueueItemDto>> {
    let tone = parse_name(body.tone.as_deref())?;
    let item = state
        .engine()
        .queue()
        .regenerate(caller.user_id, id, tone)
        .await?;
    Ok(Json(item.into()))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(generate))
        .routes(routes!(get, update, delete))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(regenerate))
}
