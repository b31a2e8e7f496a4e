//! The callers of routes: a bearer access token or an `X-API-Key`, each rate-limited per user or
//! key, and the client address that limits login attempts.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use postpilot_core::api_key::Scope;
use postpilot_core::id::UserId;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{client, scopes};

/// The authenticated caller of a protected route: a user with an access token (every scope), or
/// an API key holding every scope the matched route needs ([`crate::scopes`]; pro and
/// enterprise plans only).
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user acted for.
    pub user_id: UserId,
}

/// A caller a middleware already authenticated for this request (the idempotency layer), so
/// the route's extractor does not check — and rate-limit, and record a key's use — twice.
#[derive(Clone, Debug)]
pub(crate) struct Authenticated {
    caller: Caller,
    /// By a bearer access token (a session), not an API key.
    session: bool,
}

impl Authenticated {
    /// `caller`, as `parts` authenticated it.
    pub(crate) fn of(parts: &Parts, caller: &Caller) -> Self {
        Self {
            caller: caller.clone(),
            session: bearer(parts).is_some(),
        }
    }
}

/// Refuses an API key that lacks a scope the matched route needs (see [`crate::scopes`]), or
/// that calls a route API keys may not call at all.
fn check_route_scopes(parts: &Parts, held: &[Scope]) -> ApiResult<()> {
    let required = parts
        .extensions
        .get::<MatchedPath>()
        .and_then(|path| scopes::required(&parts.method, path.as_str()))
        .ok_or_else(|| {
            ApiError::forbidden("this route does not take API keys; use an access token")
        })?;
    match required.iter().find(|scope| !held.contains(scope)) {
        Some(scope) => Err(ApiError::forbidden(format!(
            "this API key lacks the {scope} scope"
        ))),
        None => Ok(()),
    }
}

fn bearer(parts: &Parts) -> Option<Result<&str, ()>> {
    let value = parts.headers.get(AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(()),
    )
}

fn limited(state: &AppState, key: &str) -> ApiResult<()> {
    state
        .0
        .limiter
        .check(key)
        .map_err(ApiError::too_many_requests)
}

/// The user of a bearer access token whose session is still open: a valid token issued in the
/// user's current session epoch (an earlier one was ended by logout everywhere or new
/// credentials), within the user's rate limit. The limit is taken before the epoch is looked
/// up, and the epoch is read through a short-lived cache ([`EpochCache`](crate::auth::EpochCache)), so the hot path
/// makes no extra round trip and a limited caller none at all.
async fn session(state: &AppState, token: Result<&str, ()>) -> ApiResult<UserId> {
    let (user_id, epoch) = token
        .ok()
        .and_then(|t| state.0.jwt.verify(t, state.now()))
        .ok_or_else(ApiError::unauthorized)?;
    limited(state, &format!("user:{user_id}"))?;
    let current = match state.0.epochs.get(user_id) {
        // Epochs only grow: a token from before the cached one is ended for sure; one from
        // after it was issued elsewhere since the cache was filled.
        Some(current) if epoch <= current => current,
        _ => {
            let current = state.engine().auth().session_epoch(user_id).await?;
            if let Some(current) = current {
                state.0.epochs.put(user_id, current);
            }
            // A user that no longer exists: the route answers for itself (404).
            current.unwrap_or(epoch)
        }
    };
    if epoch < current {
        return Err(ApiError::unauthorized());
    }
    Ok(user_id)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(done) = parts.extensions.get::<Authenticated>() {
            return Ok(done.caller.clone());
        }
        if let Some(token) = bearer(parts) {
            let user_id = session(state, token).await?;
            return Ok(Self { user_id });
        }
        if let Some(key) = parts.headers.get("x-api-key") {
            // Guessing keys costs the guesser: failed lookups are budgeted per client address,
            // checked before the lookup; a success spends nothing.
            let address = format!("keyfail:{}", client_key(parts, state));
            let failures = &state.0.key_failures;
            failures
                .peek(&address)
                .map_err(ApiError::too_many_requests)?;
            let keys = state.0.engine.api_keys();
            let authenticated = match key.to_str() {
                Ok(key) => keys.authenticate(key).await,
                Err(_) => Err(postpilot_core::Error::Unauthorized),
            };
            let authenticated = match authenticated {
                Ok(authenticated) => authenticated,
                Err(postpilot_core::Error::Unauthorized) => {
                    let _ = failures.check(&address);
                    return Err(ApiError::unauthorized());
                }
                Err(e) => return Err(e.into()),
            };
            check_route_scopes(parts, &authenticated.scopes)?;
            // One budget per user, whatever key or session the request comes with — checked
            // before anything is written.
            limited(state, &format!("user:{}", authenticated.user_id))?;
            keys.record_use(authenticated.key_id).await?;
            return Ok(Self {
                user_id: authenticated.user_id,
            });
        }
        Err(ApiError::unauthorized())
    }
}

/// A caller with an access token only (account management: profile, API keys, billing).
#[derive(Clone, Copy, Debug)]
pub struct SessionUser(pub UserId);

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(done) = parts.extensions.get::<Authenticated>()
            && done.session
        {
            return Ok(Self(done.caller.user_id));
        }
        let user_id = session(state, bearer(parts).unwrap_or(Err(()))).await?;
        Ok(Self(user_id))
    }
}

/// The client's address, as a rate-limit key: the socket's peer, or behind a trusted proxy the
/// address it forwarded for ([`client::client_addr`]).
fn client_key(parts: &Parts, state: &AppState) -> String {
    client::client_addr(parts, &state.0.config.trusted_proxies)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Rate limit for login, registration and refresh, per client address: the socket's peer, or
/// behind a proxy listed in [`HttpConfig::trusted_proxies`](crate::HttpConfig::trusted_proxies) the address it forwarded for
/// (`crate::client`). Per-account limits on password guessing are the core's login throttle.
#[derive(Clone, Copy, Debug)]
pub struct AuthAttempt;

impl FromRequestParts<AppState> for AuthAttempt {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .0
            .auth_limiter
            .check(&format!("addr:{}", client_key(parts, state)))
            .map_err(ApiError::too_many_requests)?;
        Ok(Self)
    }
}
