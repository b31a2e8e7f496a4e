//! The pages behind the links mock billing hands out (`checkout_url`, `portal_url`), so that a
//! client following them lands somewhere instead of on a 404. Mounted only when the engine's
//! billing is the mock, outside `/api/v1` and outside the OpenAPI document: they are browser
//! pages of a demo server, not API.

use axum::Router;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use postpilot_core::Engine;
use postpilot_core::plan::PlanTier;
use serde::Deserialize;

use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// The mock checkout and portal pages when `engine` bills through the mock; no routes otherwise.
pub(crate) fn router(engine: &Engine) -> Router<AppState> {
    if !engine.billing_is_mock() {
        return Router::new();
    }
    Router::new()
        .route("/billing/mock/checkout/{session_id}", get(checkout))
        .route("/billing/mock/portal/{customer_id}", get(portal))
}

/// `?plan=pro` on a mock checkout link.
#[derive(Debug, Deserialize)]
struct CheckoutQuery {
    plan: Option<String>,
}

async fn checkout(
    ApiPath(session_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CheckoutQuery>,
) -> Response {
    // Only a plan name this build knows is shown, so nothing of the query reaches the page.
    let plan = match query.plan.and_then(|p| p.parse::<PlanTier>().ok()) {
        Some(plan) => format!("The <strong>{plan}</strong> plan was"),
        None => "The plan you chose was".to_owned(),
    };
    page(
        "Mock checkout",
        &format!(
            "<p>{plan} activated at once, when the checkout started: nothing was charged and \
             nothing needs to be paid.</p>\n<p>Checkout session <code>{}</code>.</p>",
            escape(&session_id)
        ),
    )
}

async fn portal(ApiPath(customer_id): ApiPath<String>) -> Response {
    page(
        "Mock customer portal",
        &format!(
            "<p>There is nothing to manage here: mock billing keeps no payment methods and no \
             invoices. Change plan with <code>POST /api/v1/billing/checkout</code>.</p>\n\
             <p>Customer <code>{}</code>.</p>",
            escape(&customer_id)
        ),
    )
}

/// Where a merchant goes on from a mock page: the dashboard's billing page when it is built in.
const BACK: &str = if cfg!(feature = "ui") {
    "Back to <a href=\"/app/billing\">your billing</a> or "
} else {
    "Back to "
};

/// A self-contained page: no script, no outside resource (the router's default
/// `Content-Security-Policy: default-src 'none'` forbids both, and `no-store` keeps it uncached).
fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} — PostPilot</title></head>\n\
         <body><main>\n<h1>{title}</h1>\n\
         <p>This is the mock billing of a PostPilot demo server: no payment provider is \
         connected.</p>\n{body}\n<p>{BACK}<a href=\"/docs\">the API docs</a></p>\n\
         </main></body></html>\n"
    ))
    .into_response()
}

/// `text` as HTML text or attribute content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
