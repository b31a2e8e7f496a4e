#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod auth;
mod brand;
mod client;
mod error;
mod event_schema;
mod extract;
mod idempotency;
mod limit;
mod mock_billing;
mod openapi;
mod routes;
mod schema;
mod scopes;
mod state;
mod timestamp;
#[cfg(feature = "ui")]
mod ui;

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer as Set;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use auth::{AuthAttempt, Caller, SessionUser};
pub use brand::{Brand, BrandError, BrandFile, COLOR_TOKENS, NavPage};
pub use error::{ApiError, ApiResult, FieldError, Problem};
pub use extract::{ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery};
pub use state::{AppState, HttpConfig};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Why the router could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The JWT secret is too short to be a secret.
    #[error("the JWT secret must be at least 32 bytes")]
    WeakJwtSecret,
}

/// The API: `/api/v1/...`, `/api/v1/openapi.json`, and a docs page at `/docs`.
pub fn router(state: AppState) -> Router {
    build(state, None)
}

/// The API and, beside it, the merchant's pages ([`ui`]): what the bundled server serves. Both
/// get every layer — timeout, body limit, panic catching, security headers, HSTS, tracing.
#[cfg(feature = "ui")]
pub fn app(state: AppState) -> Router {
    build(state, Some(ui::routes()))
}

fn build(state: AppState, pages: Option<Router<AppState>>) -> Router {
    // The routes only: the document is built when first asked for (`openapi_json`).
    let (api, _) = api().split_for_parts();
    let timeout = state.0.config.request_timeout;
    let hsts = state.0.config.hsts_max_age.and_then(|max_age| {
        HeaderValue::from_str(&format!("max-age={}; includeSubDomains", max_age.as_secs())).ok()
    });
    let api = api.route_layer(middleware::from_fn_with_state(
        state.clone(),
        idempotency::idempotent,
    ));
    let router = Router::new()
        .merge(api)
        .merge(mock_billing::router(state.engine()))
        .route(
            "/api/v1/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], openapi_json()) }),
        )
        .route(
            "/docs",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, openapi::DOCS_CSP)],
                    Html(openapi::DOCS_PAGE),
                )
            }),
        )
        .route(
            "/docs/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    openapi::DOCS_SCRIPT,
                )
            }),
        )
        .route(
            "/docs/app.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    openapi::DOCS_STYLE,
                )
            }),
        )
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not take that method",
            )
        });
    // The pages join before the layers, so that they get every one of them.
    let router = match pages {
        Some(pages) => router.merge(pages),
        None => router,
    };
    let router = router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(timeout, with_timeout))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "an unexpected error occurred",
            )
            .into_response()
        }));
    // No referrer; a JSON answer loads nothing at all (the docs page sets its own policy).
    secure_headers(
        router,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        HeaderValue::from_static("no-referrer"),
    )
    .layer(tower::util::option_layer(hsts.map(|value| {
        Set::overriding(header::STRICT_TRANSPORT_SECURITY, value)
    })))
    .layer(tower_http::trace::TraceLayer::new_for_http())
    .with_state(state)
}

/// The headers every response of `router` carries (OWASP's REST and secure-headers guidance): no
/// caching unless a route says otherwise (token and key responses must never be cached, RFC 6749
/// §5.1; pages show a merchant's data), no MIME sniffing, `referrer`, no framing
/// (`X-Frame-Options` for old browsers, CSP `frame-ancestors` for current ones), and `csp` unless
/// a route set its own.
pub(crate) fn secure_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    csp: HeaderValue,
    referrer: HeaderValue,
) -> Router<S> {
    router
        .layer(Set::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(Set::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(Set::overriding(header::REFERRER_POLICY, referrer))
        .layer(Set::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(Set::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
}

/// The OpenAPI document of [`router`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    split(api()).1
}

/// `/api/v1/openapi.json`: built on the first request for it, then shared (`Bytes`) by every
/// later one. Not at start-up: building the document allocates about 6 MB for a moment, and
/// glibc kept 2 MiB of it as free space inside the heap — 2 of the idle server's 7 MiB
/// (docs/BENCHMARKS.md, issue 18). A server that is never asked for it never pays.
fn openapi_json() -> axum::body::Bytes {
    static DOCUMENT: OnceLock<axum::body::Bytes> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            axum::body::Bytes::from(
                openapi()
                    .to_pretty_json()
                    .unwrap_or_else(|_| "{}".to_owned()),
            )
        })
        .clone()
}

fn split(api: OpenApiRouter<AppState>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = api.split_for_parts();
    openapi::publish_scopes(&mut document);
    openapi::complete(&mut document);
    openapi::link_creations(&mut document);
    event_schema::document_events(&mut document);
    (router, document)
}

fn api() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(routes::auth::router())
        .merge(routes::accounts::router())
        .merge(routes::schedules::router())
        .merge(routes::oauth::router())
        .merge(routes::posts::router())
        .merge(routes::imports::router())
        .merge(routes::queue::router())
        .merge(routes::templates::router())
        .merge(routes::analytics::router())
        .merge(routes::billing::router())
        .merge(routes::api_keys::router())
        .merge(routes::endpoints::router())
        .merge(routes::usage::router())
        .merge(routes::health::router())
        .merge(routes::webhooks::router());
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest("/api/v1", v1)
}

/// Prometheus text exposition of this process's publication workers (counters and lag).
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        state.engine().worker_metrics().render(),
    )
}

async fn with_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "Request timed out",
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}
