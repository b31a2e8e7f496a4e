//! `/app/billing`: the merchant's plan, the plans to move to (a checkout at the billing provider;
//! in mock mode the plan is active at once), and the provider's portal.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use postpilot_core::Error;
use postpilot_core::plan::PlanTier;

use super::flash::{self, Flash};
use super::form::Fields;
use super::pages::{Layout, Notice, PageResult, PlanCard, page, said};
use super::session::{CheckedForm, CsrfToken, SignedIn};
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

/// `GET /app/billing`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
) -> PageResult<Response> {
    let billing = state.engine().billing();
    let subscription = billing.subscription(session.user).await?;
    let template = BillingPage {
        layout: Layout::new("Billing", "billing", true, &csrf),
        notice: flash.notice.take(),
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
    Ok(flash.shown(page(&template, &csrf)))
}

fn back(error: &Error) -> Response {
    flash::redirect("/app/billing", &Notice::error(said(error)))
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
        Ok(checkout) => super::pages::continue_to(&checkout.checkout_url, "checkout"),
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
        Ok(url) => super::pages::continue_to(&url, "the billing portal"),
        Err(e) => back(&e),
    }
}
