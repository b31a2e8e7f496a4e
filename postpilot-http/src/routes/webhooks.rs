//! `/webhooks`: Stripe events and platform events, verified over the raw body before anything
//! is parsed, applied once per event id.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use postpilot_core::billing::BillingEventKind;
use postpilot_core::webhook::signature::{self, DEFAULT_TOLERANCE_SECS};
use postpilot_core::webhook::{EventOutcome, PlatformEvent};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{RawBody, json_from_slice};
use crate::state::AppState;

/// The receipt of an event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Receipt {
    /// Always true: the event was accepted.
    received: bool,
    /// `applied`, `duplicate` or `ignored`.
    outcome: &'static str,
}

fn not_configured(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Service unavailable",
        format!("{what} is not configured"),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn refused(e: signature::SignatureError) -> ApiError {
    tracing::warn!(reason = %e, "webhook signature refused");
    ApiError::unauthorized()
}

/// Verifies `X-PostPilot-Timestamp` / `X-PostPilot-Signature` over `body` (±300 s).
pub(crate) fn verify_platform_signature(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<()> {
    let secret = state
        .0
        .config
        .platform_webhook_secret
        .as_deref()
        .ok_or_else(|| not_configured("the platform webhook secret"))?;
    signature::verify_platform(
        secret.as_bytes(),
        header(headers, "x-postpilot-timestamp"),
        header(headers, "x-postpilot-signature"),
        body,
        chrono::Utc::now(),
        DEFAULT_TOLERANCE_SECS,
    )
    .map_err(refused)
}

/// A Stripe event (`Stripe-Signature: t=…,v1=…`): checkouts and subscription changes.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "webhooks",
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256>")),
    request_body(content = Object, description = "A Stripe event", content_type = "application/json"),
    responses((status = 200, body = Receipt), (status = 401, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem)))]
async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Receipt>> {
    let secret = state
        .0
        .config
        .stripe_webhook_secret
        .as_deref()
        .ok_or_else(|| not_configured("the Stripe webhook secret"))?;
    signature::verify_stripe(
        secret.as_bytes(),
        header(&headers, "stripe-signature"),
        &body,
        chrono::Utc::now(),
        DEFAULT_TOLERANCE_SECS,
    )
    .map_err(refused)?;
    // Syntax first (400), like every other body; the event's shape is the billing port's (422).
    json_from_slice::<serde::de::IgnoredAny>(&body)?;
    let applied = state.engine().billing().handle_event(&body).await?;
    Ok(Json(Receipt {
        received: true,
        outcome: match applied {
            None => "duplicate",
            Some(event) if matches!(event.kind, BillingEventKind::Ignored { .. }) => "ignored",
            Some(_) => "applied",
        },
    }))
}

/// A platform event `{id, type, data}`: `user.provisioned`, `subscription.updated`.
#[utoipa::path(post, path = "/webhooks/platform-events", tag = "webhooks",
    params(("X-PostPilot-Timestamp" = String, Header, description = "Unix seconds"),
           ("X-PostPilot-Signature" = String, Header, description = "hex HMAC-SHA256(secret, \"{timestamp}.{body}\")")),
    request_body(content = Object, description = "{id, type, data}", content_type = "application/json"),
    responses((status = 200, body = Receipt), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn platform_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Receipt>> {
    verify_platform_signature(&state, &headers, &body)?;
    let event: PlatformEvent = json_from_slice(&body)?;
    let outcome = state.engine().webhooks().platform_event(event).await?;
    Ok(Json(Receipt {
        received: true,
        outcome: match outcome {
            EventOutcome::Duplicate => "duplicate",
            EventOutcome::Ignored => "ignored",
            EventOutcome::UserProvisioned(_) | EventOutcome::PlanChanged(_) => "applied",
        },
    }))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stripe))
        .routes(routes!(platform_events))
}
