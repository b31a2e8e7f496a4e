//! `/auth`: register, login, refresh, profile, provisioning.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use postpilot_core::id::UserId;
use postpilot_core::user::{Profile, ProfilePatch, Provision, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{AuthAttempt, SessionUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiJsonOrEmpty};
use crate::routes::not_null;
use crate::routes::webhooks::PlatformSigned;
use crate::schema::*;
use crate::state::AppState;

/// E-mail and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    #[schema(value_type = EmailText)]
    email: String,
    #[schema(value_type = PasswordText)]
    password: String,
}

/// A new token pair.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenPair {
    /// A 15-minute HS256 access token.
    access_token: String,
    /// An opaque 7-day refresh token, rotated on every use.
    refresh_token: String,
    /// Always `bearer`.
    token_type: &'static str,
    /// Access-token lifetime in seconds.
    expires_in: i64,
}

/// A refresh token to exchange.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// The refresh token from the last pair.
    refresh_token: String,
}

/// The caller's profile.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    id: Uuid,
    email: String,
    /// `free`, `pro` or `enterprise`.
    plan: String,
    external_platform_id: Option<Uuid>,
    external_store_id: Option<Uuid>,
    /// IANA name; the dashboard's calendar and typed times are in it.
    #[schema(value_type = TimeZoneName)]
    time_zone: String,
    /// Which product changes pause the merchant's scheduled posts of that product: `both` (a
    /// new price or page, and selling out), `price`, `stock` or `off`.
    #[schema(value_type = PauseOnName)]
    pause_on: String,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
}

/// A change of time zone, e-mail and/or password; `current_password` is required for the e-mail
/// or the password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MePatch {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = EmailText)]
    email: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = PasswordText)]
    password: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = String)]
    current_password: Option<String>,
    /// An IANA time zone name.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = TimeZoneName)]
    time_zone: Option<String>,
    /// Which product changes pause posts; no password needed.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = PauseOnName)]
    pause_on: Option<String>,
}

/// A user created or linked by the platform.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProvisionRequest {
    #[schema(value_type = EmailText)]
    email: String,
    external_platform_id: Uuid,
    external_store_id: Option<Uuid>,
    #[schema(value_type = Option<PlanName>)]
    plan: Option<postpilot_core::plan::PlanTier>,
}

/// What ends: with a refresh token, its session; with `everywhere`, every session of the user,
/// and every access token issued before (including the one sent with this request).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutRequest {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = String)]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool)]
    everywhere: Option<bool>,
}

/// A link token from a `platform-link-required` problem.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkPlatformRequest {
    link_token: String,
}

impl From<Profile> for Me {
    fn from(Profile { user, plan }: Profile) -> Self {
        Self {
            id: user.id().as_uuid(),
            email: user.email().to_string(),
            plan: plan.to_string(),
            external_platform_id: user.external_platform_id(),
            external_store_id: user.external_store_id(),
            time_zone: user.time_zone().name().to_owned(),
            pause_on: user.pause_on().as_str().to_owned(),
            created_at: user.created_at(),
        }
    }
}

impl From<ProvisionRequest> for Provision {
    fn from(request: ProvisionRequest) -> Self {
        Self {
            email: request.email,
            external_platform_id: request.external_platform_id,
            external_store_id: request.external_store_id,
            plan: request.plan,
        }
    }
}

impl TokenPair {
    /// An access token (and its lifetime in seconds) paired with a refresh token.
    fn new((access_token, expires_in): (String, i64), refresh_token: String) -> Self {
        Self {
            access_token,
            refresh_token,
            token_type: "bearer",
            expires_in,
        }
    }
}

/// A new session for `user`: an access token, then a refresh token.
async fn token_pair(state: &AppState, user: &User) -> ApiResult<TokenPair> {
    let access = state
        .0
        .jwt
        .issue(user.id(), user.session_epoch(), state.now())?;
    let refresh = state.engine().auth().issue_refresh_token(user).await?;
    Ok(TokenPair::new(access, refresh.raw))
}

/// `user`'s profile, as every route that ends on one answers it.
async fn profile_of(state: &AppState, user: UserId) -> ApiResult<Json<Me>> {
    Ok(Json(state.engine().auth().me(user).await?.into()))
}

/// Creates an account and returns a token pair.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = Credentials,
    responses((status = 201, body = TokenPair), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    _: AuthAttempt,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<TokenPair>)> {
    let user = state
        .engine()
        .auth()
        .register(&body.email, &body.password)
        .await?;
    Ok((StatusCode::CREATED, Json(token_pair(&state, &user).await?)))
}

/// Exchanges credentials for a token pair.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn login(
    State(state): State<AppState>,
    _: AuthAttempt,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Json<TokenPair>> {
    let user = state
        .engine()
        .auth()
        .login(&body.email, &body.password)
        .await?;
    Ok(Json(token_pair(&state, &user).await?))
}

/// Rotates a refresh token: the old one stops working; presenting it again ends the session.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn refresh(
    State(state): State<AppState>,
    _: AuthAttempt,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    let next = state.engine().auth().refresh(&body.refresh_token).await?;
    let access = state
        .0
        .jwt
        .issue(next.token.user_id(), next.session_epoch, state.now())?;
    Ok(Json(TokenPair::new(access, next.raw)))
}

/// The caller's profile.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn get_me(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
) -> ApiResult<Json<Me>> {
    profile_of(&state, user).await
}

/// Changes the caller's time zone, e-mail and/or password (a new e-mail or password needs the
/// current password and ends every session; a time zone alone needs neither).
#[utoipa::path(patch, path = "/auth/me", tag = "auth", security(("bearer" = [])), request_body = MePatch,
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn patch_me(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiJson(body): ApiJson<MePatch>,
) -> ApiResult<Json<Me>> {
    let profile = state
        .engine()
        .auth()
        .update_me(
            user,
            ProfilePatch {
                email: body.email,
                password: body.password,
                current_password: body.current_password,
                time_zone: body.time_zone,
                pause_on: body.pause_on,
            },
        )
        .await?;
    // The change ended every session: this process refuses the old tokens at once.
    state.0.epochs.put(user, profile.user.session_epoch());
    Ok(Json(profile.into()))
}

/// Ends the session of a refresh token, or with `everywhere` every session and every access
/// token issued before.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    request_body(content = LogoutRequest, description = "Optional"),
    responses((status = 204, description = "Ended"), (status = 401, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<LogoutRequest>,
) -> ApiResult<StatusCode> {
    let everywhere = body.everywhere.unwrap_or(false);
    if body.refresh_token.is_none() && !everywhere {
        return Err(ApiError::invalid(
            "refresh_token",
            "give the session's refresh token, or everywhere: true",
        ));
    }
    let ended = state
        .engine()
        .auth()
        .logout(user, body.refresh_token.as_deref(), everywhere)
        .await?;
    if let Some(epoch) = ended {
        // This process refuses the ended tokens at once; others when their cache entry expires.
        state.0.epochs.put(user, epoch);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Links the signed-in account to the platform identity of a provision that found this
/// account's e-mail (a `platform-link-required` problem's `link_token`).
#[utoipa::path(post, path = "/auth/link-platform", tag = "auth", security(("bearer" = [])),
    request_body = LinkPlatformRequest,
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn link_platform(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiJson(body): ApiJson<LinkPlatformRequest>,
) -> ApiResult<Json<Me>> {
    // A link token is a credential: forged, expired and someone else's are refused alike.
    let claims = state
        .0
        .jwt
        .verify_link(&body.link_token, state.now())
        .filter(|claims| claims.sub == user.as_uuid())
        .ok_or_else(|| {
            ApiError::forbidden("the link token is not a current one issued for this account")
        })?;
    let linked = state
        .engine()
        .auth()
        .link_platform(
            user,
            Provision {
                email: claims.email,
                external_platform_id: claims.external_platform_id,
                external_store_id: claims.external_store_id,
                plan: claims.plan,
            },
        )
        .await?;
    profile_of(&state, linked.id()).await
}

/// Creates a user for the dropshipping platform, keyed by `external_platform_id` (signed like
/// platform events: `X-PostPilot-Timestamp`, `X-PostPilot-Signature`). An e-mail that a
/// self-registered account holds is never linked on its own: the answer is a 409
/// `platform-link-required` problem with a `link_token` for the merchant, who links the account
/// signed in (`POST /auth/link-platform`).
#[utoipa::path(post, path = "/auth/provision", tag = "auth", request_body = ProvisionRequest,
    params(("X-PostPilot-Timestamp" = String, Header, description = "Unix seconds"),
           ("X-PostPilot-Signature" = String, Header, description = "hex HMAC-SHA256(secret, \"{timestamp}.{body}\")")),
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn provision(
    State(state): State<AppState>,
    PlatformSigned(request): PlatformSigned<ProvisionRequest>,
) -> ApiResult<Json<Me>> {
    let request = Provision::from(request);
    let user = match state.engine().auth().provision(request.clone()).await {
        Ok(user) => user,
        Err(e @ postpilot_core::Error::PlatformLinkRequired(holder)) => {
            let token = state.0.jwt.issue_link(holder, &request, state.now())?;
            return Err(ApiError::from(e).with_link_token(token));
        }
        Err(e) => return Err(e.into()),
    };
    profile_of(&state, user.id()).await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(get_me, patch_me))
        .routes(routes!(provision))
        .routes(routes!(logout))
        .routes(routes!(link_platform))
}
