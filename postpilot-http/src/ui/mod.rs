//! The merchant's dashboard and the landing page (feature `ui`): server-rendered HTML
//! ([askama](https://docs.rs/askama) templates compiled into the binary), assets embedded under
//! content-hashed names, no JavaScript framework and no Node at build or run time.
//!
//! Serve it beside the API with [`crate::app`] (the API and the pages, under the same layers).
//! Pages call the same core services as the JSON API; browser sessions are an HttpOnly cookie with
//! CSRF protection ([`session`]), which the JSON API never reads.

mod accounts;
mod analytics;
mod assets;
mod billing;
mod calendar;
mod flash;
mod form;
mod imports;
mod pages;
mod posts;
mod queue;
mod schedule;
mod session;
mod settings;
mod templates;

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

/// The pages: `/`, `/pricing`, `/register`, `/login`, `/logout`, `/app` (dashboard),
/// `/app/queue`, `/app/accounts`, `/app/billing`, `/app/api-keys`, `/app/settings`, and
/// `/assets/…`; served with every layer of
/// the API by [`crate::app`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::landing))
        .route("/pricing", get(pages::pricing))
        .route("/register", get(pages::register_page).post(pages::register))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/app", get(pages::dashboard))
        .route(
            "/app/webhook-endpoints/{id}/enable",
            post(pages::enable_endpoint),
        )
        .route("/app/queue", get(queue::list))
        .route("/app/queue/generate", post(queue::generate))
        .route("/app/queue/{id}", get(queue::item))
        .route("/app/queue/{id}/edit", post(queue::edit))
        .route("/app/queue/{id}/approve", post(queue::approve))
        .route("/app/queue/{id}/reject", post(queue::reject))
        .route("/app/queue/{id}/regenerate", post(queue::regenerate))
        .route("/app/accounts", get(accounts::list).post(accounts::connect))
        .route(
            "/app/accounts/connect/{platform}",
            post(accounts::connect_oauth),
        )
        .route("/app/accounts/{id}/disconnect", post(accounts::disconnect))
        .route(
            "/app/accounts/{id}/schedule",
            get(schedule::show).post(schedule::update),
        )
        .route("/app/calendar", get(calendar::show))
        .route("/app/posts", get(posts::list))
        .route(
            "/app/imports",
            get(imports::show)
                .post(imports::create)
                // A 5 MiB file, url-encoded (a CSV grows by about a third; three times covers
                // any text); core holds the file itself to 5 MiB.
                .layer(axum::extract::DefaultBodyLimit::max(
                    3 * postpilot_core::import::MAX_IMPORT_BYTES,
                )),
        )
        .route("/app/imports/{id}", get(imports::report))
        .route("/app/posts/{id}", get(posts::show).post(posts::edit))
        .route("/app/posts/{id}/move", post(calendar::move_post))
        .route("/app/posts/{id}/resume", post(posts::resume))
        .route("/app/posts/{id}/delete", post(posts::delete))
        .route("/app/analytics", get(analytics::show))
        .route(
            "/app/templates",
            get(templates::list).post(templates::create),
        )
        .route(
            "/app/templates/{id}",
            get(templates::show).post(templates::update),
        )
        .route("/app/templates/{id}/delete", post(templates::delete))
        .route("/app/billing", get(billing::show))
        .route("/app/billing/checkout", post(billing::checkout))
        .route("/app/billing/portal", post(billing::portal))
        .route(
            "/app/api-keys",
            get(settings::api_keys).post(settings::create_api_key),
        )
        .route("/app/api-keys/{id}/revoke", post(settings::revoke_api_key))
        .route(
            "/app/settings",
            get(settings::settings).post(settings::update_settings),
        )
        .route("/app/settings/time-zone", post(settings::update_time_zone))
        .route("/app/settings/pause-on", post(settings::update_pause_on))
        .route("/app/{*rest}", get(pages::not_found))
        .route("/assets/{name}", get(assets::serve))
        // The pages' policy; the API's stricter one covers everything else.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            pages::PAGE_CSP,
        ))
}
