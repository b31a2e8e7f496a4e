//! Authentication: HS256 access tokens (algorithm pinned; `exp`, `nbf`, `iss`, `aud` checked) and
//! `X-API-Key`, each rate-limited per user or key.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use postpilot_core::api_key::Scope;
use postpilot_core::id::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::scopes;
use crate::state::{AppState, HttpConfig};

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    sub: Uuid,
    iss: String,
    aud: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: Uuid,
    /// Always `access`: no other kind of token is a JWT here.
    typ: String,
}

pub(crate) struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl JwtKeys {
    pub(crate) fn new(config: &HttpConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&config.jwt_secret),
            decoding: DecodingKey::from_secret(&config.jwt_secret),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_secs: i64::try_from(config.access_token_ttl.as_secs()).unwrap_or(900),
        }
    }

    /// A signed access token for `user` and its lifetime in seconds.
    pub(crate) fn issue(&self, user: UserId) -> ApiResult<(String, i64)> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.as_uuid(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + self.ttl_secs,
            nbf: now,
            iat: now,
            jti: Uuid::new_v4(),
            typ: "access".into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| {
            ApiError::from(postpilot_core::Error::unavailable(
                "token signer",
                e.to_string(),
            ))
        })?;
        Ok((token, self.ttl_secs))
    }

    /// The user an access token names, if it is valid: signature, algorithm, `exp`, `nbf`,
    /// `iss` and `aud`, the header's `typ` (`JWT`) and the claim's (`access`).
    pub(crate) fn verify(&self, token: &str) -> Option<UserId> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        (data.header.typ.as_deref() == Some("JWT") && data.claims.typ == "access")
            .then(|| UserId::from(data.claims.sub))
    }
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").finish_non_exhaustive()
    }
}

/// The authenticated caller of a protected route: a user with an access token (every scope), or
/// an API key holding every scope the matched route needs ([`crate::scopes`]; pro and
/// enterprise plans only).
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user acted for.
    pub user_id: UserId,
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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            let user_id = token
                .ok()
                .and_then(|t| state.0.jwt.verify(t))
                .ok_or_else(ApiError::unauthorized)?;
            limited(state, &format!("user:{user_id}"))?;
            return Ok(Self { user_id });
        }
        if let Some(key) = parts.headers.get("x-api-key") {
            let key = key.to_str().map_err(|_| ApiError::unauthorized())?;
            let authenticated = state.0.engine.api_keys().authenticate(key).await?;
            check_route_scopes(parts, &authenticated.scopes)?;
            limited(state, &format!("key:{}", authenticated.key_id))?;
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
        let user_id = bearer(parts)
            .and_then(Result::ok)
            .and_then(|t| state.0.jwt.verify(t))
            .ok_or_else(ApiError::unauthorized)?;
        limited(state, &format!("user:{user_id}"))?;
        Ok(Self(user_id))
    }
}

/// Rate limit for login and registration, per client address (the socket's peer; proxies must
/// be configured to pass the real one through `ConnectInfo`).
#[derive(Clone, Copy, Debug)]
pub struct AuthAttempt;

impl FromRequestParts<AppState> for AuthAttempt {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        state
            .0
            .auth_limiter
            .check(&format!("addr:{peer}"))
            .map_err(ApiError::too_many_requests)?;
        Ok(Self)
    }
}
