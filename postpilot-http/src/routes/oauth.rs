//! Connecting accounts by OAuth: `POST /accounts/connect/{platform}` starts the flow for the
//! signed-in merchant (an access token, never an API key: it acts in a browser), and the
//! platform's consent page comes back to `GET /oauth/{platform}/callback`, which finishes it and
//! sends the browser on to `public_url` + `connect_return_path` with the outcome.

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use postpilot_core::Error;
use postpilot_core::platform::Platform;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::schema::PlatformName;
use crate::state::AppState;

/// Where to send the merchant's browser.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthorizeDto {
    /// The platform's consent page; it comes back to this server within 10 minutes.
    authorize_url: String,
}

/// What the platform's consent page sends back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallbackQuery {
    /// The authorization code (absent when the merchant declined).
    code: Option<String>,
    /// The state this server issued.
    state: Option<String>,
    /// The platform's error, when the merchant declined or the app is misconfigured.
    error: Option<String>,
    /// Meta's reason for `error`.
    error_reason: Option<String>,
    /// The platform's description of `error`.
    error_description: Option<String>,
}

/// The callback URL this server gives `platform`.
pub(crate) fn redirect_uri(state: &AppState, platform: Platform) -> String {
    format!(
        "{}/api/v1/oauth/{platform}/callback",
        state.0.config.public_url.trim_end_matches('/')
    )
}

fn platform_of(name: &str) -> ApiResult<Platform> {
    Ok(name.parse::<Platform>().map_err(Error::from)?)
}

/// Starts connecting the caller's accounts of a platform by OAuth.
#[utoipa::path(post, path = "/accounts/connect/{platform}", tag = "accounts", security(("bearer" = [])),
    params(("platform" = PlatformName, Path)),
    responses((status = 200, body = AuthorizeDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(platform): ApiPath<String>,
) -> ApiResult<Json<AuthorizeDto>> {
    let platform = platform_of(&platform)?;
    let authorize_url = state
        .engine()
        .oauth()
        .begin(caller.user_id, platform, &redirect_uri(&state, platform))
        .await?;
    Ok(Json(AuthorizeDto { authorize_url }))
}

/// A short word for the outcome a browser is sent on with.
fn outcome_code(error: &Error) -> &'static str {
    match error {
        Error::Validation(v) if v.field() == "state" => "expired",
        Error::Validation(v) if v.field() == "code" => "refused",
        Error::Validation(_) => "not_offered",
        Error::PlanLimit { .. } => "plan_limit",
        _ => "unavailable",
    }
}

/// Where the platform's consent page returns: finishes the connect flow and sends the browser
/// on to the app with `?connected=<platform>&accounts=<n>` (and `&over_limit=<n>` when the plan's
/// account limit left granted accounts out), or
/// `?connect_error=<expired|refused|denied|plan_limit|not_offered|unavailable>&platform=<platform>`.
#[utoipa::path(get, path = "/oauth/{platform}/callback", tag = "accounts",
    params(("platform" = PlatformName, Path), CallbackQuery),
    responses((status = 303, description = "On to the app, with the outcome in the query"),
              (status = 422, body = Problem)))]
async fn callback(
    State(state): State<AppState>,
    ApiPath(platform): ApiPath<String>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> ApiResult<Response> {
    let platform = platform_of(&platform)?;
    let outcome = match (&query.error, &query.code, &query.state) {
        (Some(error), _, _) => {
            tracing::info!(%platform, error, reason = ?query.error_reason, description = ?query.error_description, "connect declined at the platform");
            format!("connect_error=denied&platform={platform}")
        }
        (None, Some(code), Some(sealed)) => {
            match state
                .engine()
                .oauth()
                .complete(platform, code, sealed, &redirect_uri(&state, platform))
                .await
            {
                Ok(connected) => {
                    let mut outcome =
                        format!("connected={platform}&accounts={}", connected.accounts.len());
                    if connected.over_limit > 0 {
                        outcome.push_str(&format!("&over_limit={}", connected.over_limit));
                    }
                    outcome
                }
                Err(e) => {
                    tracing::warn!(%platform, error = %e, "connect failed");
                    format!("connect_error={}&platform={platform}", outcome_code(&e))
                }
            }
        }
        _ => format!("connect_error=expired&platform={platform}"),
    };
    let config = &state.0.config;
    let target = format!(
        "{}{}?{outcome}",
        config.public_url.trim_end_matches('/'),
        config.connect_return_path
    );
    let location = HeaderValue::from_str(&target)
        .map_err(|e| Error::unavailable("connect redirect", format!("bad return URL: {e}")))?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response())
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connect))
        .routes(routes!(callback))
}
