//! `/webhooks`: Stripe events and platform events, verified over the raw body before anything
//! is parsed, applied once per event id.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use postpilot_core::billing::BillingEventKind;
use postpilot_core::webhook::signature::{self, DEFAULT_TOLERANCE_SECS};
use postpilot_core::webhook::{EventOutcome, PlatformEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
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

/// Checks a request's signature with the configured `secret`: 503 naming `what` without one,
/// 401 when `verify` refuses it.
fn check_signature(
    secret: Option<&str>,
    what: &str,
    verify: impl FnOnce(&[u8]) -> Result<(), signature::SignatureError>,
) -> ApiResult<()> {
    let secret = secret.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            format!("{what} is not configured"),
        )
    })?;
    verify(secret.as_bytes()).map_err(|e| {
        tracing::warn!(reason = %e, "webhook signature refused");
        ApiError::unauthorized()
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The answer to an accepted event.
fn receipt(outcome: &'static str) -> Json<Receipt> {
    Json(Receipt {
        received: true,
        outcome,
    })
}

/// A JSON body the platform signed (`X-PostPilot-Timestamp`, `X-PostPilot-Signature` over the
/// raw body, ±300 s), verified before it is parsed: over the body limit 413, no secret
/// configured 503, a wrong signature 401, then syntax 400 and shape 422.
pub(crate) struct PlatformSigned<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for PlatformSigned<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let RawBody(body) = RawBody::from_request(req, state).await?;
        check_signature(
            state.0.config.platform_webhook_secret.as_deref(),
            "the platform webhook secret",
            |secret| {
                signature::verify_platform(
                    secret,
                    header(&headers, "x-postpilot-timestamp"),
                    header(&headers, "x-postpilot-signature"),
                    &body,
                    state.now(),
                    DEFAULT_TOLERANCE_SECS,
                )
            },
        )?;
        json_from_slice(&body).map(Self)
    }
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
    check_signature(
        state.0.config.stripe_webhook_secret.as_deref(),
        "the Stripe webhook secret",
        |secret| {
            signature::verify_stripe(
                secret,
                header(&headers, "stripe-signature"),
                &body,
                state.now(),
                DEFAULT_TOLERANCE_SECS,
            )
        },
    )?;
    // Syntax first (400), like every other body; the event's shape is the billing port's (422).
    json_from_slice::<serde::de::IgnoredAny>(&body)?;
    let applied = state.engine().billing().handle_event(&body).await?;
    Ok(receipt(match applied {
        None => "duplicate",
        Some(event) if matches!(event.kind, BillingEventKind::Ignored { .. }) => "ignored",
        Some(_) => "applied",
    }))
}

/// A platform event `{id, type, data}`: `user.provisioned`, `subscription.updated`,
/// `product.updated`, `product.deleted`.
///
/// A product event names the merchant (`user_id` or `external_platform_id`) and the product
/// (`{"id", "price", "compare_at_price", "stock", "url", "title"}`; a deletion: `{"id"}`), and
/// pauses the merchant's scheduled posts of that product whose price or page changed or which
/// sold out.
#[utoipa::path(post, path = "/webhooks/platform-events", tag = "webhooks",
    params(("X-PostPilot-Timestamp" = String, Header, description = "Unix seconds"),
           ("X-PostPilot-Signature" = String, Header, description = "hex HMAC-SHA256(secret, \"{timestamp}.{body}\")")),
    request_body(content = Object, description = "{id, type, data}", content_type = "application/json"),
    responses((status = 200, body = Receipt), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn platform_events(
    State(state): State<AppState>,
    PlatformSigned(event): PlatformSigned<PlatformEvent>,
) -> ApiResult<Json<Receipt>> {
    let outcome = state.engine().webhooks().platform_event(event).await?;
    Ok(receipt(match outcome {
        EventOutcome::Duplicate => "duplicate",
        EventOutcome::Ignored => "ignored",
        EventOutcome::UserProvisioned(_)
        | EventOutcome::PlanChanged(_)
        | EventOutcome::ProductChanged(_) => "applied",
    }))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stripe))
        .routes(routes!(platform_events))
}
