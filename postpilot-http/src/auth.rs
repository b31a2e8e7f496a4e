//! Authentication: HS256 access tokens (algorithm pinned; `exp`, `nbf`, `iss`, `aud` checked) and
//! `X-API-Key`, each rate-limited per user or key.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use postpilot_core::api_key::Scope;
use postpilot_core::id::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, HttpConfig};
use crate::{client, scopes};

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
    /// Always `access` for an access token.
    typ: String,
    /// The user's session epoch when it was issued (absent in tokens from before epochs: 0).
    #[serde(default)]
    sep: i64,
}

/// The claims of a platform link token: what a provision asked, for the account that holds the
/// e-mail, redeemable only by that account's owner, signed in (`POST /auth/link-platform`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LinkClaims {
    /// The account to link.
    pub(crate) sub: Uuid,
    aud: String,
    iss: String,
    exp: i64,
    nbf: i64,
    /// Always `platform-link`.
    typ: String,
    pub(crate) email: String,
    pub(crate) external_platform_id: Uuid,
    pub(crate) external_store_id: Option<Uuid>,
    pub(crate) plan: Option<postpilot_core::plan::PlanTier>,
}

/// How long a platform link token can be redeemed.
const LINK_TOKEN_TTL_SECS: i64 = 24 * 60 * 60;
/// The audience of link tokens: never accepted where an access token is expected.
const LINK_AUDIENCE: &str = "postpilot-platform-link";

pub(crate) struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    link_validation: Validation,
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
        let mut link_validation = validation.clone();
        link_validation.set_audience(&[LINK_AUDIENCE]);
        Self {
            encoding: EncodingKey::from_secret(&config.jwt_secret),
            decoding: DecodingKey::from_secret(&config.jwt_secret),
            validation,
            link_validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_secs: i64::try_from(config.access_token_ttl.as_secs()).unwrap_or(900),
        }
    }

    /// A signed access token for `user` in session epoch `epoch`, and its lifetime in seconds.
    pub(crate) fn issue(&self, user: UserId, epoch: i64) -> ApiResult<(String, i64)> {
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
            sep: epoch,
        };
        Ok((self.sign(&claims)?, self.ttl_secs))
    }

    fn sign<T: Serialize>(&self, claims: &T) -> ApiResult<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| {
            ApiError::from(postpilot_core::Error::unavailable(
                "token signer",
                e.to_string(),
            ))
        })
    }

    /// A link token for the self-registered account `user` that holds the provisioned e-mail.
    pub(crate) fn issue_link(
        &self,
        user: UserId,
        request: &postpilot_core::user::Provision,
    ) -> ApiResult<String> {
        let now = chrono::Utc::now().timestamp();
        self.sign(&LinkClaims {
            sub: user.as_uuid(),
            aud: LINK_AUDIENCE.into(),
            iss: self.issuer.clone(),
            exp: now + LINK_TOKEN_TTL_SECS,
            nbf: now,
            typ: "platform-link".into(),
            email: request.email.clone(),
            external_platform_id: request.external_platform_id,
            external_store_id: request.external_store_id,
            plan: request.plan,
        })
    }

    /// The claims of a valid link token.
    pub(crate) fn verify_link(&self, token: &str) -> Option<LinkClaims> {
        let data = jsonwebtoken::decode::<LinkClaims>(token, &self.decoding, &self.link_validation)
            .ok()?;
        (data.header.typ.as_deref() == Some("JWT") && data.claims.typ == "platform-link")
            .then_some(data.claims)
    }

    /// The user an access token names and its session epoch, if it is valid: signature,
    /// algorithm, `exp`, `nbf`, `iss` and `aud`, the header's `typ` (`JWT`) and the claim's
    /// (`access`). Whether the epoch is still current is [`session`]'s question.
    pub(crate) fn verify(&self, token: &str) -> Option<(UserId, i64)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        (data.header.typ.as_deref() == Some("JWT") && data.claims.typ == "access")
            .then(|| (UserId::from(data.claims.sub), data.claims.sep))
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

/// The user of a bearer access token whose session is still open: a valid token issued in the
/// user's current session epoch (an earlier one was ended by logout everywhere or new
/// credentials), within the user's rate limit. The limit is taken before the epoch is looked
/// up, and the epoch is read through a short-lived cache ([`EpochCache`]), so the hot path
/// makes no extra round trip and a limited caller none at all.
async fn session(state: &AppState, token: Result<&str, ()>) -> ApiResult<UserId> {
    let (user_id, epoch) = token
        .ok()
        .and_then(|t| state.0.jwt.verify(t))
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

/// Session epochs per user, each kept for a short time (`HttpConfig::session_epoch_cache`):
/// within this process an ended session is refused at once (the change writes through here);
/// another process sharing the database refuses it once its entry expires.
#[derive(Debug)]
pub(crate) struct EpochCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<UserId, (i64, std::time::Instant)>>,
}

impl EpochCache {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::Mutex::default(),
        }
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<UserId, (i64, std::time::Instant)>>
    {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, user: UserId) -> Option<i64> {
        let entries = self.entries();
        let (epoch, at) = entries.get(&user)?;
        (at.elapsed() < self.ttl).then_some(*epoch)
    }

    /// Records `user`'s current epoch (after a read, or after this process moved it on).
    pub(crate) fn put(&self, user: UserId, epoch: i64) {
        let mut entries = self.entries();
        if entries.len() > 100_000 {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        entries.insert(user, (epoch, std::time::Instant::now()));
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
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
/// behind a proxy listed in [`HttpConfig::trusted_proxies`] the address it forwarded for
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
