//! `GET /usage`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// Usage against the plan's limits (`-1`: unlimited).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsageDto {
    /// `free`, `pro` or `enterprise`.
    plan: String,
    /// Posts created this calendar month (UTC).
    posts_this_month: u64,
    /// Monthly post limit.
    posts_limit: i64,
    /// Connected accounts.
    connected_accounts: u64,
    /// Connected-account limit.
    accounts_limit: i64,
    /// Whether API keys work.
    api_access: bool,
    /// Captions a language model wrote this calendar month (UTC).
    generations_this_month: u64,
    /// Monthly limit on them (counted only while a model is configured).
    generations_limit: i64,
}

/// Posts and model-written captions this month and connected accounts against the plan's limits.
#[utoipa::path(get, path = "/usage", tag = "usage", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = UsageDto), (status = 401, body = crate::error::Problem)))]
async fn usage(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<UsageDto>> {
    let u = state.engine().usage().usage(caller.user_id).await?;
    Ok(Json(UsageDto {
        plan: u.plan.to_string(),
        posts_this_month: u.posts_this_month,
        posts_limit: u.posts_limit.as_i64(),
        connected_accounts: u.connected_accounts,
        accounts_limit: u.accounts_limit.as_i64(),
        api_access: u.api_access,
        generations_this_month: u.generations_this_month,
        generations_limit: u.generations_limit.as_i64(),
    }))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage))
}
