//! `/app/billing`: the merchant's plan, the plans to move to (a checkout at the billing provider;
//! in mock mode the plan is active at once), and the provider's portal.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use postpilot_core::Error;
use postpilot_core::plan::PlanTier;

use super::accounts::url_encode;
use super::form::Fields;
use super::pages::{Layout, Notice, PlanCard, page, said};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::ApiResult;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "billing.html")]
struct BillingPage {
    layout: Layout,
    notice: Option<Notice>,
    plan: String,
    status: Option<String>,
    renews: Option<String>,
    cancels: bool,
    subscribed: bool,
    plans: Vec<PlanCard>,
    current: &'static str,
}

/// `?error=`, `?done=`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Said {
    error: Option<String>,
    done: Option<String>,
}

/// `GET /app/billing`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    Query(said): Query<Said>,
) -> ApiResult<Response> {
    let billing = state.engine().billing();
    let subscription = billing.subscription(session.user).await?;
    let template = BillingPage {
        layout: Layout::new("Billing", "billing", true, &csrf),
        notice: match (said.error, said.done) {
            (Some(error), _) => Some(Notice::error(error)),
            (None, Some(done)) => Some(Notice::success(done)),
            (None, None) => None,
        },
        plan: subscription.plan.as_str().to_owned(),
        status: subscription.status.map(|s| s.as_str().replace('_', " ")),
        renews: subscription
            .current_period_end
            .map(|t| t.format("%-d %B %Y").to_string()),
        cancels: subscription.cancel_at_period_end,
        subscribed: subscription.status.is_some(),
        plans: billing.plans().iter().map(PlanCard::from).collect(),
        current: subscription.plan.as_str(),
    };
    Ok(page(&template, &csrf))
}

fn back(error: &Error) -> Response {
    Redirect::to(&format!("/app/billing?error={}", url_encode(&said(error)))).into_response()
}

/// `POST /app/billing/checkout`: on to the provider's checkout for the chosen plan.
pub(crate) async fn checkout(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let plan = match form.get("plan").unwrap_or_default().parse::<PlanTier>() {
        Ok(plan) => plan,
        Err(e) => return back(&e.into()),
    };
    match state.engine().billing().checkout(session.user, plan).await {
        Ok(checkout) => Redirect::to(&checkout.checkout_url).into_response(),
        Err(e) => back(&e),
    }
}

/// `POST /app/billing/portal`: on to the provider's customer portal.
pub(crate) async fn portal(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(_): CheckedForm<Fields>,
) -> Response {
    match state.engine().billing().portal(session.user).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => back(&e),
    }
}
