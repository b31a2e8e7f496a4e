//! `/billing`: plans, checkout, portal, subscription.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SessionUser;
use crate::error::{ApiResult, Problem};
use crate::extract::ApiJson;
use crate::schema::*;
use crate::state::AppState;

/// A plan and its limits (`-1`: unlimited).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlanDto {
    /// `free`, `pro` or `enterprise`.
    tier: String,
    name: String,
    /// Monthly price in whole units of `currency`.
    price_monthly: u32,
    /// ISO 4217 code, lower case (`usd`).
    currency: String,
    /// Posts per calendar month.
    max_items: i64,
    /// Connected social accounts.
    max_secondary: i64,
    api_access: bool,
    /// Captions a language model writes per calendar month.
    generations_per_month: i64,
}

/// A paid plan to buy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckoutBody {
    #[schema(value_type = PaidPlanName)]
    plan: String,
}

/// A started checkout.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckoutDto {
    checkout_url: String,
    session_id: String,
}

/// A customer-portal link.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PortalDto {
    portal_url: String,
}

/// The caller's plan and subscription.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionDto {
    plan: String,
    /// The provider's status (`active`, `trialing`, `past_due`, `canceled`, `unpaid`,
    /// `incomplete`); null without a subscription.
    status: Option<String>,
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    current_period_end: Option<DateTime<Utc>>,
    cancel_at_period_end: bool,
}

/// Every plan.
#[utoipa::path(get, path = "/billing/plans", tag = "billing", responses((status = 200, body = Vec<PlanDto>)))]
async fn plans(State(state): State<AppState>) -> Json<Vec<PlanDto>> {
    Json(
        state
            .engine()
            .billing()
            .plans()
            .into_iter()
            .map(|p| PlanDto {
                tier: p.tier.to_string(),
                name: p.name,
                price_monthly: p.price_monthly,
                currency: p.currency,
                max_items: p.max_items.as_i64(),
                max_secondary: p.max_secondary.as_i64(),
                api_access: p.api_access,
                generations_per_month: p.max_generations.as_i64(),
            })
            .collect(),
    )
}

/// Starts a checkout (mock mode: the plan is active at once).
#[utoipa::path(post, path = "/billing/checkout", tag = "billing", security(("bearer" = [])), request_body = CheckoutBody,
    responses((status = 200, body = CheckoutDto), (status = 401, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem)))]
async fn checkout(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> ApiResult<Json<CheckoutDto>> {
    let plan = body.plan.parse().map_err(postpilot_core::Error::from)?;
    let session = state.engine().billing().checkout(user, plan).await?;
    Ok(Json(CheckoutDto {
        checkout_url: session.checkout_url,
        session_id: session.session_id,
    }))
}

/// A link to the billing provider's customer portal.
#[utoipa::path(post, path = "/billing/portal", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = PortalDto), (status = 401, body = Problem), (status = 409, body = Problem)))]
async fn portal(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
) -> ApiResult<Json<PortalDto>> {
    Ok(Json(PortalDto {
        portal_url: state.engine().billing().portal(user).await?,
    }))
}

/// The caller's plan and subscription state.
#[utoipa::path(get, path = "/billing/subscription", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = SubscriptionDto), (status = 401, body = Problem)))]
async fn subscription(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
) -> ApiResult<Json<SubscriptionDto>> {
    let s = state.engine().billing().subscription(user).await?;
    Ok(Json(SubscriptionDto {
        plan: s.plan.to_string(),
        status: s.status.map(|st| st.to_string()),
        current_period_end: s.current_period_end,
        cancel_at_period_end: s.cancel_at_period_end,
    }))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(plans))
        .routes(routes!(checkout))
        .routes(routes!(portal))
        .routes(routes!(subscription))
}
