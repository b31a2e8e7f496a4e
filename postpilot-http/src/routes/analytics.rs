//! `/analytics`: totals and per-post metrics.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use postpilot_core::analytics::{AnalyticsOverview, PostMetrics};
use postpilot_core::id::PostId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::{Paged, Paging};
use crate::state::AppState;

/// Totals over the caller's published posts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OverviewDto {
    impressions: u64,
    reach: u64,
    likes: u64,
    comments: u64,
    shares: u64,
    clicks: u64,
    posts_published: u64,
    /// Average interactions per impression over posts with metrics, in percent.
    engagement_rate: f64,
}

impl From<AnalyticsOverview> for OverviewDto {
    fn from(o: AnalyticsOverview) -> Self {
        Self {
            impressions: o.totals.impressions,
            reach: o.totals.reach,
            likes: o.totals.likes,
            comments: o.totals.comments,
            shares: o.totals.shares,
            clicks: o.totals.clicks,
            posts_published: o.posts_published,
            engagement_rate: o.engagement_rate,
        }
    }
}

/// One post's latest metrics.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MetricsDto {
    post_id: Uuid,
    impressions: u64,
    reach: u64,
    likes: u64,
    comments: u64,
    shares: u64,
    clicks: u64,
    /// Interactions per impression, in percent.
    engagement_rate: f64,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    fetched_at: DateTime<Utc>,
}

impl From<PostMetrics> for MetricsDto {
    fn from(m: PostMetrics) -> Self {
        Self {
            post_id: m.post_id.as_uuid(),
            impressions: m.counts.impressions,
            reach: m.counts.reach,
            likes: m.counts.likes,
            comments: m.counts.comments,
            shares: m.counts.shares,
            clicks: m.counts.clicks,
            engagement_rate: m.engagement_rate,
            fetched_at: m.fetched_at,
        }
    }
}

/// Totals and the average engagement rate.
#[utoipa::path(get, path = "/analytics/overview", tag = "analytics", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = OverviewDto), (status = 401, body = Problem)))]
async fn overview(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<OverviewDto>> {
    let overview = state.engine().analytics().overview(caller.user_id).await?;
    Ok(Json(overview.into()))
}

/// Metrics of the caller's posts, most recently published first.
#[utoipa::path(get, path = "/analytics/posts", tag = "analytics", security(("bearer" = []), ("api_key" = [])),
    params(Paging),
    responses((status = 200, body = Paged<MetricsDto>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn posts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<MetricsDto>>> {
    let page = state
        .engine()
        .analytics()
        .posts(caller.user_id, paging.page_request()?)
        .await?;
    Ok(Json(page.into()))
}

/// One post's metrics (zeros until fetched).
#[utoipa::path(get, path = "/analytics/posts/{id}", tag = "analytics", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = MetricsDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn post(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
) -> ApiResult<Json<MetricsDto>> {
    let metrics = state.engine().analytics().post(caller.user_id, id).await?;
    Ok(Json(metrics.into()))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(posts))
        .routes(routes!(post))
}
