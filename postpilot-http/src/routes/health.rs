//! `GET /health`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::state::AppState;

/// Liveness and store reachability.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok`.
    status: &'static str,
    /// `ok` when the store answers.
    store: &'static str,
}

/// Whether the service and its store answer.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = crate::error::Problem)))]
async fn health(State(state): State<AppState>) -> ApiResult<(StatusCode, Json<Health>)> {
    state.engine().health().await?;
    Ok((
        StatusCode::OK,
        Json(Health {
            status: "ok",
            store: "ok",
        }),
    ))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}
