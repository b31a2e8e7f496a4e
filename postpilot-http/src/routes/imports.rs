//! `/imports`: bulk import of posts from a CSV or JSON file, and the report of an import.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use postpilot_core::id::ImportId;
use postpilot_core::import::{
    BACKGROUND_ABOVE_ROWS, Import, ImportFormat, ImportJob, ImportKind, ImportMode, ImportRequest,
    ImportStatus, MAX_IMPORT_BYTES,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// One refused row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RowErrorDto {
    /// 1 for the first post of the file (in CSV, the line after the header).
    row: u32,
    /// The file's column: `account`, `caption`, `hashtags`, `media`, `time` or `external_id`
    /// (products: `title`, `price`, `platforms`, …).
    field: String,
    reason: String,
}

/// An import's report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportDto {
    id: Uuid,
    /// `posts`, or `products` (each row a pending queue item).
    kind: String,
    /// `csv` or `json`.
    format: String,
    /// `dry_run`, `all_or_nothing` or `partial`.
    mode: String,
    /// `running` (in the background: `processed` of `rows` so far), `done` (rows created),
    /// `checked` (a dry run), `refused` (all or nothing, a row was refused: nothing created) or
    /// `failed` (stopped before creating anything: `error` says why).
    status: String,
    /// Rows in the file.
    rows: u32,
    /// Rows checked so far (all of them once it has ended).
    processed: u32,
    /// Posts (queue items, for products) created (in a dry run: that would be).
    created: u32,
    /// Rows imported before (same `external_id`, or the same file's same row): not created again.
    duplicates: u32,
    /// Refused rows.
    failed: u32,
    /// Why, row by row.
    errors: Vec<RowErrorDto>,
    /// Why a `failed` import stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
    /// Its last progress, or its end.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    updated_at: DateTime<Utc>,
}

impl From<Import> for ImportDto {
    fn from(i: Import) -> Self {
        Self {
            id: i.id().as_uuid(),
            kind: i.kind().as_str().to_owned(),
            format: i.format().as_str().to_owned(),
            mode: i.mode().as_str().to_owned(),
            status: i.status().as_str().to_owned(),
            rows: i.rows(),
            processed: i.processed(),
            created: i.created(),
            duplicates: i.duplicates(),
            failed: i.failed(),
            errors: i
                .errors()
                .iter()
                .map(|e| RowErrorDto {
                    row: e.row,
                    field: e.field.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
            error: i.error().map(str::to_owned),
            created_at: i.created_at(),
            updated_at: i.updated_at(),
        }
    }
}

/// One post of a JSON import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ImportRowDto {
    /// The account's id, or its name (`@shop`) among your connected accounts.
    account: String,
    caption: String,
    #[serde(default)]
    hashtags: Vec<String>,
    #[serde(default)]
    media: Vec<String>,
    /// An RFC 3339 time, `next` (the account's next free slot), or absent (a draft).
    time: Option<String>,
    /// Your id for the row: a row whose id was imported before is not created again.
    external_id: Option<String>,
}

/// A JSON import: `{"posts": [...]}` (CSV: a header row `account,caption,hashtags,media,time,external_id`,
/// any order, `account` and `caption` required; hashtags and media separated by spaces).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ImportFileDto {
    #[schema(max_items = 10000)]
    posts: Vec<ImportRowDto>,
}

/// One product of a JSON import (`kind=products`): a pending queue item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ProductRowDto {
    title: String,
    description: Option<String>,
    /// A decimal amount (a number, or a string like `"49.90"`).
    #[schema(value_type = Option<f64>)]
    price: Option<serde_json::Value>,
    /// ISO 4217.
    currency: Option<String>,
    #[schema(value_type = Option<f64>)]
    compare_at_price: Option<serde_json::Value>,
    url: Option<String>,
    #[serde(default)]
    image_urls: Vec<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    store_name: Option<String>,
    /// `instagram`, `facebook`, `tiktok`: at least one.
    #[serde(default)]
    platforms: Vec<String>,
    /// A caption; none leaves it to generate in the queue.
    caption: Option<String>,
    #[serde(default)]
    hashtags: Vec<String>,
    /// Your id for the product (a SKU): one already imported is not created again.
    external_id: Option<String>,
}

/// A JSON import of products: `{"products": [...]}` (CSV: a header row naming any of
/// `title,description,price,currency,compare_at_price,url,image_urls,features,tags,store_name,platforms,caption,hashtags,external_id`,
/// `title` required; image URLs separated by spaces, features by `|`, tags, platforms and
/// hashtags by spaces or commas).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ProductFileDto {
    #[schema(max_items = 10000)]
    products: Vec<ProductRowDto>,
}

/// A JSON file of posts or of products.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum ImportJsonDto {
    Posts(ImportFileDto),
    Products(ProductFileDto),
}

/// How to import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// `posts` (the default) or `products` (each row a pending queue item in the content
    /// queue, to review and approve).
    #[param(value_type = Option<String>, pattern = "^(posts|products)$")]
    kind: Option<String>,
    /// `all_or_nothing` (the default: every row or none), `partial` (the rows that pass) or
    /// `dry_run` (check only).
    #[param(value_type = Option<String>, pattern = "^(dry_run|all_or_nothing|partial)$")]
    mode: Option<String>,
}

/// Imports posts — or, with `kind=products`, products as pending queue items — from a CSV
/// (`text/csv`) or JSON (`application/json`) file of at most 10,000 rows and 5 MiB. Every row
/// is checked as `POST /posts` checks a post (`POST /queue` an item); the new posts fit the
/// month's quota together or none is created. A row is created once: re-sending a file, or a
/// row with an `external_id` already imported, creates nothing again. A file of more than
/// 1,000 rows (or any file, with `Prefer: respond-async`) is imported in the background: the
/// answer is 202 with the running import, whose progress `GET /imports/{id}` reads.
#[utoipa::path(post, path = "/imports", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(ImportQuery,
        ("Prefer" = Option<String>, Header, description = "`respond-async`: import in the background whatever the file's size")),
    request_body(content(
        (String = "text/csv"),
        (ImportJsonDto = "application/json"),
    )),
    responses((status = 201, description = "Rows created (those that passed, in partial)", body = ImportDto),
              (status = 202, description = "Importing in the background: read its progress at `Location`", body = ImportDto),
              (status = 200, description = "Checked (a dry run), or nothing to create (every row imported before or refused)", body = ImportDto),
              (status = 401, body = Problem), (status = 402, body = Problem), (status = 413, body = Problem),
              (status = 409, description = "A background import of yours is still running (one at a time)", body = Problem),
              (status = 415, body = Problem),
              (status = 422, description = "The file does not read (`errors[0].field` is `file`), or a row was refused in all_or_nothing (`errors[].field` is `rows[N].field`)", body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let mode = match query.mode.as_deref() {
        None => ImportMode::AllOrNothing,
        Some(mode) => mode
            .parse::<ImportMode>()
            .map_err(postpilot_core::Error::from)?,
    };
    let kind = match query.kind.as_deref() {
        None => ImportKind::Posts,
        Some(kind) => kind
            .parse::<ImportKind>()
            .map_err(postpilot_core::Error::from)?,
    };
    let format = format_of(&headers)?;
    let data = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                format!("an import is at most {} MiB", MAX_IMPORT_BYTES >> 20),
            )
        } else {
            ApiError::bad_request("the body could not be read")
        }
    })?;
    let job = state
        .engine()
        .imports()
        .start(
            caller.user_id,
            ImportRequest {
                kind,
                format,
                mode,
                data: data.to_vec(),
            },
        )
        .await?;
    drop(data);
    let location = format!("/api/v1/imports/{}", job.import().id());
    if job.import().rows() > BACKGROUND_ABOVE_ROWS || prefers_async(&headers) {
        let running = in_background(&state, job).await?;
        return Ok((
            StatusCode::ACCEPTED,
            [
                (header::LOCATION, location),
                (PREFERENCE_APPLIED, "respond-async".to_owned()),
            ],
            Json(ImportDto::from(running)),
        )
            .into_response());
    }
    let import = job.run().await?;
    match import.status() {
        ImportStatus::Refused => Err(ApiError::invalid_fields(
            format!(
                "{} of {} rows were refused, so none was imported (the report: {location})",
                import.failed(),
                import.rows()
            ),
            import
                .errors()
                .iter()
                .map(|e| (format!("rows[{}].{}", e.row, e.field), e.reason.clone())),
        )),
        // Nothing created (every row imported before, or refused): no new resource.
        ImportStatus::Checked | ImportStatus::Done if import.created() == 0 => {
            Ok(Json(ImportDto::from(import)).into_response())
        }
        ImportStatus::Checked | ImportStatus::Running | ImportStatus::Failed => {
            Ok(Json(ImportDto::from(import)).into_response())
        }
        ImportStatus::Done => Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(ImportDto::from(import)),
        )
            .into_response()),
    }
}

const PREFERENCE_APPLIED: header::HeaderName =
    header::HeaderName::from_static("preference-applied");

/// Whether the request asks to be answered before the work is done (RFC 7240's
/// `respond-async`).
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        // A preference may carry parameters (`respond-async; x=y`).
        .filter_map(|p| p.split(';').next())
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// Runs an import's job in the background — its end, or why it stopped, is kept in the store
/// where `GET /imports/{id}` reads it — and returns the import as it started.
///
/// # Errors
/// [`postpilot_core::Error::Conflict`] when the merchant has a background import running on this
/// server: one at a time (the new one is kept as failed, saying so).
pub(crate) async fn in_background(
    state: &AppState,
    job: ImportJob,
) -> Result<Import, postpilot_core::Error> {
    let running = job.import().clone();
    match state.0.imports.spawn(job).await {
        Ok(()) => Ok(running),
        Err(job) => {
            const BUSY: &str =
                "another import of yours is still running: send this file when it has ended";
            job.abandon(BUSY).await?;
            Err(postpilot_core::Error::Conflict(BUSY.into()))
        }
    }
}

/// The format a request's content type names.
fn format_of(headers: &HeaderMap) -> ApiResult<ImportFormat> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media.as_deref() {
        // What browsers and spreadsheets send a .csv file as, Windows' Excel type included.
        Some("text/csv" | "application/csv" | "application/vnd.ms-excel") => Ok(ImportFormat::Csv),
        Some("application/json") => Ok(ImportFormat::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the file as text/csv or application/json",
        )),
    }
}

/// One of the caller's imports: its report.
#[utoipa::path(get, path = "/imports/{id}", tag = "posts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ImportId>,
) -> ApiResult<Json<ImportDto>> {
    let import = state.engine().imports().get(caller.user_id, id).await?;
    Ok(Json(import.into()))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES))
        .routes(routes!(get))
}
