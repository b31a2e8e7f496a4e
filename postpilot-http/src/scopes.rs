//! The scopes an API key needs, per operation: one table, enforced by the [`Caller`] extractor
//! and published in the OpenAPI document.
//!
//! The table is the only place a scope is named for a route. A route missing from it refuses
//! every API key (fail closed), and `tests/http/scope_matrix.rs` walks every operation of the
//! OpenAPI document against every set of scopes, so a new route cannot forget its scope.
//! A route that creates or schedules posts needs `posts:write`, whatever else it needs:
//! approving a queue item creates posts, so it needs `queue:write` and `posts:write`.
//!
//! [`Caller`]: crate::Caller

use axum::http::Method;
use postpilot_core::api_key::Scope;

use Scope::{
    AccountsRead, AccountsWrite, AnalyticsRead, PostsRead, PostsWrite, QueueRead, QueueWrite,
    WebhooksRead, WebhooksWrite,
};

/// `(method, path template, scopes)` for every operation an API key may call.
const REQUIRED: &[(Method, &str, &[Scope])] = &[
    (Method::GET, "/api/v1/accounts", &[AccountsRead]),
    (Method::POST, "/api/v1/accounts", &[AccountsWrite]),
    (Method::GET, "/api/v1/accounts/{id}", &[AccountsRead]),
    (Method::DELETE, "/api/v1/accounts/{id}", &[AccountsWrite]),
    (
        Method::GET,
        "/api/v1/accounts/{id}/schedule",
        &[AccountsRead],
    ),
    (
        Method::PUT,
        "/api/v1/accounts/{id}/schedule",
        &[AccountsWrite],
    ),
    (
        Method::GET,
        "/api/v1/accounts/{id}/slots",
        &[AccountsRead, PostsRead],
    ),
    (Method::GET, "/api/v1/posts", &[PostsRead]),
    (Method::POST, "/api/v1/posts", &[PostsWrite]),
    (Method::GET, "/api/v1/posts/calendar", &[PostsRead]),
    (Method::GET, "/api/v1/posts/{id}", &[PostsRead]),
    (Method::PATCH, "/api/v1/posts/{id}", &[PostsWrite]),
    (Method::DELETE, "/api/v1/posts/{id}", &[PostsWrite]),
    (Method::POST, "/api/v1/posts/{id}/schedule", &[PostsWrite]),
    (Method::POST, "/api/v1/posts/{id}/queue", &[PostsWrite]),
    (Method::POST, "/api/v1/posts/{id}/pause", &[PostsWrite]),
    (Method::POST, "/api/v1/posts/{id}/resume", &[PostsWrite]),
    (Method::POST, "/api/v1/imports", &[PostsWrite]),
    (Method::GET, "/api/v1/imports/{id}", &[PostsRead]),
    (Method::GET, "/api/v1/posts/{id}/attempts", &[PostsRead]),
    (Method::GET, "/api/v1/queue", &[QueueRead]),
    (Method::POST, "/api/v1/queue", &[QueueWrite]),
    (Method::POST, "/api/v1/queue/generate", &[QueueWrite]),
    (Method::GET, "/api/v1/queue/{id}", &[QueueRead]),
    (Method::PATCH, "/api/v1/queue/{id}", &[QueueWrite]),
    (Method::DELETE, "/api/v1/queue/{id}", &[QueueWrite]),
    (
        Method::POST,
        "/api/v1/queue/{id}/approve",
        &[QueueWrite, PostsWrite],
    ),
    (Method::POST, "/api/v1/queue/{id}/reject", &[QueueWrite]),
    (Method::POST, "/api/v1/queue/{id}/regenerate", &[QueueWrite]),
    (Method::GET, "/api/v1/templates", &[QueueRead]),
    (Method::POST, "/api/v1/templates", &[QueueWrite]),
    (Method::GET, "/api/v1/templates/{id}", &[QueueRead]),
    (Method::PATCH, "/api/v1/templates/{id}", &[QueueWrite]),
    (Method::DELETE, "/api/v1/templates/{id}", &[QueueWrite]),
    (Method::GET, "/api/v1/analytics/overview", &[AnalyticsRead]),
    (Method::GET, "/api/v1/analytics/posts", &[AnalyticsRead]),
    (
        Method::GET,
        "/api/v1/analytics/posts/{id}",
        &[AnalyticsRead],
    ),
    (Method::GET, "/api/v1/usage", &[AnalyticsRead]),
    (Method::GET, "/api/v1/webhook-endpoints", &[WebhooksRead]),
    (Method::POST, "/api/v1/webhook-endpoints", &[WebhooksWrite]),
    (
        Method::GET,
        "/api/v1/webhook-endpoints/{id}",
        &[WebhooksRead],
    ),
    (
        Method::PATCH,
        "/api/v1/webhook-endpoints/{id}",
        &[WebhooksWrite],
    ),
    (
        Method::DELETE,
        "/api/v1/webhook-endpoints/{id}",
        &[WebhooksWrite],
    ),
    (
        Method::POST,
        "/api/v1/webhook-endpoints/{id}/rotate-secret",
        &[WebhooksWrite],
    ),
    (
        Method::GET,
        "/api/v1/webhook-endpoints/{id}/deliveries",
        &[WebhooksRead],
    ),
    (
        Method::POST,
        "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend",
        &[WebhooksWrite],
    ),
];

/// The scopes an API key needs for `method` on the route `path` (its template, as matched);
/// `None` when API keys may not call it at all.
pub(crate) fn required(method: &Method, path: &str) -> Option<&'static [Scope]> {
    REQUIRED
        .iter()
        .find(|(m, p, _)| m == method && *p == path)
        .map(|(_, _, scopes)| *scopes)
}
