//! `Idempotency-Key` on every POST a merchant makes (Stripe's rules, kept by core's
//! [`postpilot_core::idempotency`]): the same key and request within 24 hours answer the first
//! response again, marked `Idempotent-Replayed: true`; the same key with another request is 422;
//! a request still running under the key is 409.
//!
//! A request is its method, path with query, and body — a JSON body read as its value, so key
//! order and spacing do not make two requests differ. What is kept is every response the route
//! gave once it ran (2xx and 4xx alike, as Stripe keeps them), except those that say it did not
//! run or may be retried as new: 401, 403 and 429 (refused before it ran), 409 (a conflict a
//! retry may not meet) and 5xx — the key is let go, so a retry runs again.
//!
//! The route runs in a task of its own: a request cut off by the server's timeout, a client
//! that hangs up, or a panic does not leave the key held with nothing running — the run goes on
//! to its end and its response is kept (or, after a panic, the key is let go).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use postpilot_core::id::UserId;
use postpilot_core::idempotency::{
    Begun, Hold, IdempotencyKey, RequestFingerprint, StoredResponse,
};

use crate::MAX_BODY_BYTES;
use crate::auth::{Authenticated, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// The request header naming a request.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header on a replayed response.
pub(crate) const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Route prefixes whose POSTs are not a merchant's requests: signing in and out, token refresh
/// and registration (no merchant yet), platform and Stripe webhooks (signed, deduplicated by
/// event id).
const NOT_HONOURED: [&str; 2] = ["/api/v1/auth/", "/api/v1/webhooks/"];

/// Merchants' POSTs whose answer must not be kept: a new API key or webhook endpoint secret (it
/// would sit in the store, readable again for a day), and hand-offs whose link expires within minutes (an OAuth
/// consent page, the billing portal) — a replay would hand back a dead link.
const NEVER_KEPT: [&str; 5] = [
    "/api/v1/api-keys",
    "/api/v1/webhook-endpoints",
    "/api/v1/webhook-endpoints/{id}/rotate-secret",
    "/api/v1/accounts/connect/{platform}",
    "/api/v1/billing/portal",
];

/// Whether the route `path` (as matched, with `{id}`s) honours `Idempotency-Key` for `method`.
pub(crate) fn honours(method: &Method, path: &str) -> bool {
    method == Method::POST
        && !NOT_HONOURED.iter().any(|p| path.starts_with(p))
        && !NEVER_KEPT.contains(&path)
}

/// The middleware, as a route layer of the API (the route is matched).
pub(crate) async fn idempotent(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_default();
    let honoured = honours(request.method(), &matched);
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY).cloned() else {
        return next.run(request).await;
    };
    if !honoured {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        // The caller could not be checked at all: nothing runs without its key.
        Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE => return e.into_response(),
        // Not a merchant's request: the route answers for itself (the same refusal), and no
        // key is taken for it.
        Err(_) => return next.run(Request::from_parts(parts, body)).await,
    };
    parts.extensions.insert(Authenticated::of(&parts, &caller));
    // The route's own limit: an import's file, or the API's 1 MiB.
    let limit = if matched == IMPORTS {
        postpilot_core::import::MAX_IMPORT_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let bytes = match to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(e) if too_large(&e) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                format!("the body exceeds {} MiB", limit >> 20),
            )
            .into_response();
        }
        Err(_) => return ApiError::bad_request("the body could not be read").into_response(),
    };
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map_or(&[][..], HeaderValue::as_bytes);
    let fingerprint = fingerprint(parts.method.as_str(), path, content_type, &bytes);
    let key = String::from_utf8_lossy(key.as_bytes());
    let idempotency = state.engine().idempotency();
    let (key, begun) = match idempotency.begin(caller.user_id, &key, fingerprint).await {
        Ok(begun) => begun,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match begun {
        Begun::Replay(stored) => replay(stored),
        Begun::InFlight => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency-in-flight",
            "Request in progress",
            "a request with this Idempotency-Key is still running; retry once it has finished",
        )
        .into_response(),
        Begun::Mismatch => ApiError::invalid(
            "Idempotency-Key",
            "was used with another request in the last 24 hours; use a new key for a new request",
        )
        .into_response(),
        Begun::Run(hold) => {
            let request = Request::from_parts(parts, Body::from(bytes));
            let user = caller.user_id;
            let run = {
                let (state, key) = (state.clone(), key.clone());
                tokio::spawn(async move {
                    let response = next.run(request).await;
                    keep(&state, user, &key, hold, response).await
                })
            };
            match run.await {
                Ok(response) => response,
                Err(e) => {
                    tracing::error!(error = %e, "a request under an idempotency key did not finish");
                    let _ = idempotency.release(user, &key, hold).await;
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "Internal error",
                        "an unexpected error occurred",
                    )
                    .into_response()
                }
            }
        }
    }
}

/// Whether reading a body failed on its length (axum's limit) rather than on the connection.
fn too_large(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The route whose bodies are files of up to 5 MiB.
const IMPORTS: &str = "/api/v1/imports";

/// What identifies a request: method, path with query, content type, and the body — a JSON
/// body of the API's size as its value (serde_json's maps sort their keys), any other body
/// (a file) as its bytes.
fn fingerprint(method: &str, path: &str, content_type: &[u8], body: &[u8]) -> RequestFingerprint {
    let canonical = (body.len() <= MAX_BODY_BYTES)
        .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
        .flatten()
        .and_then(|value| serde_json::to_vec(&value).ok());
    let body = canonical.as_deref().unwrap_or(body);
    RequestFingerprint::of(&[method.as_bytes(), path.as_bytes(), content_type, body])
}

/// How many times keeping a response is tried before the key is left to lapse.
const FINISH_TRIES: u32 = 3;

/// Keeps the route's response under the key (or lets the key go), and answers it.
async fn keep(
    state: &AppState,
    user: UserId,
    key: &IdempotencyKey,
    hold: Hold,
    response: Response,
) -> Response {
    let idempotency = state.engine().idempotency();
    let status = response.status();
    if matches!(
        status,
        StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::CONFLICT
            | StatusCode::TOO_MANY_REQUESTS
    ) || status.is_server_error()
    {
        if let Err(e) = idempotency.release(user, key, hold).await {
            tracing::warn!(error = %e, "an idempotency key could not be let go; it lapses in five minutes");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        let _ = idempotency.release(user, key, hold).await;
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the response could not be read",
        )
        .into_response();
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        headers: [header::CONTENT_TYPE, header::LOCATION]
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(name)?.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect(),
        body: bytes.to_vec(),
    };
    let mut tries = 0;
    while let Err(e) = idempotency.finish(user, key, hold, &stored).await {
        tries += 1;
        if tries == FINISH_TRIES {
            tracing::warn!(error = %e, "a response could not be kept under its idempotency key; retries get 409 until the hold lapses, then run again");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50 << tries)).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A kept response, answered again.
fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &[u8] = b"application/json";

    #[test]
    fn a_json_body_is_the_same_request_whatever_its_key_order_and_spacing() {
        assert_eq!(
            fingerprint("POST", "/api/v1/posts", JSON, br#"{"a": 1, "b": [2, 3]}"#),
            fingerprint("POST", "/api/v1/posts", JSON, br#"{"b":[2,3],"a":1}"#)
        );
        assert_ne!(
            fingerprint("POST", "/api/v1/posts", JSON, br#"{"a":1}"#),
            fingerprint("POST", "/api/v1/posts", JSON, br#"{"a":2}"#)
        );
        assert_ne!(
            fingerprint("POST", "/api/v1/posts", JSON, b"{}"),
            fingerprint("POST", "/api/v1/queue", JSON, b"{}")
        );
        assert_ne!(
            fingerprint("POST", "/api/v1/imports", JSON, b"{}"),
            fingerprint("POST", "/api/v1/imports", b"text/csv", b"{}"),
            "the same bytes as another format are another request"
        );
    }

    #[test]
    fn merchants_posts_honour_keys_and_sign_in_webhooks_and_reads_do_not() {
        assert!(honours(&Method::POST, "/api/v1/posts"));
        assert!(honours(&Method::POST, "/api/v1/queue/{id}/approve"));
        assert!(!honours(&Method::GET, "/api/v1/posts"));
        assert!(!honours(&Method::PATCH, "/api/v1/posts/{id}"));
        assert!(!honours(&Method::POST, "/api/v1/auth/login"));
        assert!(!honours(&Method::POST, "/api/v1/webhooks/stripe"));
    }
}
