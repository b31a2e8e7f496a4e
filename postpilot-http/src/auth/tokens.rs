//! HS256 tokens: access tokens and platform link tokens, signed and checked with one key. The
//! algorithm is pinned; `exp`, `nbf`, `iss`, `aud`, the header's `typ` and the claim's `typ` are
//! checked, the times against the engine's clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use postpilot_core::id::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

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

/// Clock skew forgiven on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: i64 = 5;

/// Whether a token with these `nbf` and `exp` claims is valid at `now`, within [`LEEWAY_SECS`].
fn within_lifetime(nbf: i64, exp: i64, now: DateTime<Utc>) -> bool {
    let now = now.timestamp();
    nbf <= now + LEEWAY_SECS && now - LEEWAY_SECS <= exp
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
    /// Keys for `secret`, issuing tokens for `issuer` and `audience` that live `ttl`.
    pub(crate) fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // `exp` and `nbf` are checked against the engine's clock ([`within_lifetime`]), not the
        // library's own reading of the system time.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let mut link_validation = validation.clone();
        link_validation.set_audience(&[LINK_AUDIENCE]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            link_validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_secs: i64::try_from(ttl.as_secs()).unwrap_or(900),
        }
    }

    /// A signed access token for `user` in session epoch `epoch`, issued `now`, and its
    /// lifetime in seconds.
    pub(crate) fn issue(
        &self,
        user: UserId,
        epoch: i64,
        now: DateTime<Utc>,
    ) -> ApiResult<(String, i64)> {
        let now = now.timestamp();
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
        now: DateTime<Utc>,
    ) -> ApiResult<String> {
        let now = now.timestamp();
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

    /// The claims of a link token valid `now`.
    pub(crate) fn verify_link(&self, token: &str, now: DateTime<Utc>) -> Option<LinkClaims> {
        let data = jsonwebtoken::decode::<LinkClaims>(token, &self.decoding, &self.link_validation)
            .ok()?;
        (data.header.typ.as_deref() == Some("JWT")
            && data.claims.typ == "platform-link"
            && within_lifetime(data.claims.nbf, data.claims.exp, now))
        .then_some(data.claims)
    }

    /// The user an access token names and its session epoch, if it is valid `now`: signature,
    /// algorithm, `exp`, `nbf`, `iss` and `aud`, the header's `typ` (`JWT`) and the claim's
    /// (`access`). Whether the epoch is still current is the caller's question.
    pub(crate) fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<(UserId, i64)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        (data.header.typ.as_deref() == Some("JWT")
            && data.claims.typ == "access"
            && within_lifetime(data.claims.nbf, data.claims.exp, now))
        .then(|| (UserId::from(data.claims.sub), data.claims.sep))
    }
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").finish_non_exhaustive()
    }
}
