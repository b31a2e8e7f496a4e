//! Browser sessions and CSRF protection for the dashboard.
//!
//! **Session.** Signing in issues a refresh token (core's sessions: stored hashed, revocable,
//! ended by a password change) and hands it to the browser in an HttpOnly cookie, `pp_session`,
//! `SameSite=Lax`; when `public_url` is `https://…` it is `Secure` and named
//! `__Host-pp_session` (a name browsers accept only from this host, for `/`, over HTTPS: a
//! sibling subdomain cannot plant or shadow it). Each page reads the token
//! ([`AuthService::session_of`](postpilot_core::user::AuthService::session_of)) without rotating
//! it. The JSON API never reads this cookie: it stays bearer- and API-key-only, so a cookie can
//! never authorise an API call a page did not make.
//!
//! **CSRF.** Every form carries the value of the `pp_csrf` cookie (HttpOnly, `SameSite=Lax`,
//! random per browser, renewed at sign-in and sign-out, `__Host-` under HTTPS) in a hidden `csrf`
//! field; a POST is accepted only when the two are equal (compared in constant time) and the
//! request comes from this origin: `Sec-Fetch-Site` is `same-origin` (or `none`, typed by the
//! user), or, from a browser that does not send it, `Origin` (when sent) names this host. Another
//! site — a sibling subdomain included — can neither read the token nor pass the origin check.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use postpilot_core::id::UserId;
use serde::de::DeserializeOwned;

use crate::state::AppState;

/// The session cookie's name over plain HTTP.
pub(crate) const SESSION_COOKIE: &str = "pp_session";
/// The CSRF cookie's name over plain HTTP.
pub(crate) const CSRF_COOKIE: &str = "pp_csrf";

/// Whether browsers reach this server over HTTPS (`public_url`).
fn secure(state: &AppState) -> bool {
    state.0.config.public_url.starts_with("https://")
}

/// A cookie's name: `__Host-` prefixed over HTTPS.
pub(crate) fn cookie_name(state: &AppState, name: &str) -> String {
    if secure(state) {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A `Set-Cookie` value: HttpOnly, for the whole site, `Secure` when the server is reached over
/// HTTPS; `max_age` in seconds (0 deletes it).
fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: i64,
) -> HeaderValue {
    let name = cookie_name(state, name);
    let secure = if secure(state) { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookie that opens a session with refresh token `raw`, for as long as the token lives.
pub(crate) fn session_cookie(state: &AppState, raw: &str, lifetime_seconds: i64) -> HeaderValue {
    set_cookie(state, SESSION_COOKIE, raw, "Lax", lifetime_seconds.max(0))
}

/// The cookie that ends the session in this browser.
pub(crate) fn ended_session_cookie(state: &AppState) -> HeaderValue {
    set_cookie(state, SESSION_COOKIE, "", "Lax", 0)
}

/// A new CSRF token for this browser, and the cookie that holds it (at sign-in and sign-out, so
/// that a token seen before cannot be used after).
pub(crate) fn fresh_csrf_cookie(state: &AppState) -> Option<HeaderValue> {
    let value = postpilot_core::crypto::random_token().ok()?;
    Some(set_cookie(state, CSRF_COOKIE, &value, "Lax", 31_536_000))
}

/// Whether the request comes from this origin: `Sec-Fetch-Site` `same-origin` or `none`; from a
/// browser that sends no `Sec-Fetch-Site`, an `Origin` (when sent) naming this host.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let authority = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, authority)| authority);
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            authority.is_some() && authority == host
        }
    }
}

/// Whether `value` looks like a token this server issued (43 base64url characters).
fn well_formed(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The CSRF token of this browser for a page's forms, and the cookie to set when it has none yet;
/// with the deployment's brand, which every page's layout shows.
#[derive(Debug)]
pub(crate) struct CsrfToken {
    /// The value forms carry.
    pub(crate) value: String,
    /// `Set-Cookie`, when the browser had no token.
    pub(crate) set: Option<HeaderValue>,
    /// The server's state, for its brand (none on error pages: the default brand).
    pub(crate) state: Option<AppState>,
}

impl CsrfToken {
    /// No token: for pages that carry no form (error pages).
    pub(crate) fn none() -> Self {
        Self {
            value: String::new(),
            set: None,
            state: None,
        }
    }
}

impl FromRequestParts<AppState> for CsrfToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let name = cookie_name(state, CSRF_COOKIE);
        if let Some(value) = cookie(&parts.headers, &name).filter(|v| well_formed(v)) {
            return Ok(Self {
                value: value.to_owned(),
                set: None,
                state: Some(state.clone()),
            });
        }
        let value = postpilot_core::crypto::random_token()
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE.into_response())?;
        // A year: the token protects forms, not a session (it is renewed at sign-in and
        // sign-out). Lax, so that arriving from another site does not replace it under the
        // forms of the merchant's other tabs.
        let set = set_cookie(state, CSRF_COOKIE, &value, "Lax", 31_536_000);
        Ok(Self {
            value,
            set: Some(set),
            state: Some(state.clone()),
        })
    }
}

/// A form whose hidden `csrf` field carries the browser's CSRF token.
pub(crate) trait WithCsrf {
    /// The `csrf` field.
    fn csrf(&self) -> &str;
}

/// A form POST that passed the CSRF check; anything else is refused with 403 before the handler
/// runs.
#[derive(Debug)]
pub(crate) struct CheckedForm<T>(pub(crate) T);

/// Why a form was refused: the page says so and how to go on.
fn refused() -> Response {
    let body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Form expired \
                · PostPilot</title></head><body><main><h1>This form has expired</h1><p>Go back, \
                reload the page and send it again.</p><p><a href=\"/\">Home</a></p></main></body>\
                </html>";
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

impl<T> FromRequest<AppState> for CheckedForm<T>
where
    T: DeserializeOwned + WithCsrf + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let from_here = same_origin(request.headers());
        let expected = cookie(request.headers(), &cookie_name(state, CSRF_COOKIE))
            .filter(|v| well_formed(v))
            .map(str::to_owned);
        let axum::Form(form) = axum::Form::<T>::from_request(request, state)
            .await
            .map_err(|e| e.into_response())?;
        match expected {
            Some(expected)
                if from_here
                    && postpilot_core::crypto::constant_time_eq(form.csrf(), &expected) =>
            {
                Ok(Self(form))
            }
            _ => Err(refused()),
        }
    }
}

/// A signed-in merchant, from the session cookie; without a live session the page redirects to
/// sign-in.
#[derive(Debug)]
pub(crate) struct SignedIn {
    /// The merchant.
    pub(crate) user: UserId,
    /// The session's token (to sign it out).
    pub(crate) token: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let sign_in = || Redirect::to("/login").into_response();
        let token =
            cookie(&parts.headers, &cookie_name(state, SESSION_COOKIE)).ok_or_else(sign_in)?;
        match state.engine().auth().session_of(token).await {
            Ok(user) => Ok(Self {
                user,
                token: token.to_owned(),
            }),
            Err(postpilot_core::Error::Unauthorized) => Err((
                [(header::SET_COOKIE, ended_session_cookie(state))],
                sign_in(),
            )
                .into_response()),
            Err(e) => Err(super::pages::PageError::from(e).into_response()),
        }
    }
}
