//! `/accounts`: connect, list, get, soft disconnect.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId, SocialAccount};
use postpilot_core::crypto::SecretString;
use postpilot_core::id::AccountId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{Paged, Paging};
use crate::schema::*;
use crate::state::AppState;

/// A social account (tokens are never returned).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AccountDto {
    id: Uuid,
    /// `instagram`, `facebook` or `tiktok`.
    platform: String,
    account_name: String,
    account_id_external: String,
    is_connected: bool,
    /// The platform refused the account's authorisation: reconnect it.
    needs_reconnect: bool,
    /// The most posts the platform publishes for this account in a rolling 24 hours (reported
    /// by Instagram for each account, configured for TikTok); scheduling past it is refused
    /// with a 409. None: the platform has no cap (Facebook Pages).
    publishing_cap: Option<u32>,
    #[serde(serialize_with = "crate::timestamp::option::serialize")]
    connected_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    created_at: DateTime<Utc>,
}

impl AccountDto {
    /// The account as answered, with the cap `engine` holds it to.
    fn of(a: SocialAccount, engine: &postpilot_core::Engine) -> Self {
        Self {
            id: a.id().as_uuid(),
            platform: a.platform().to_string(),
            account_name: a.account_name().to_string(),
            account_id_external: a.account_id_external().to_string(),
            is_connected: a.is_connected(),
            needs_reconnect: a.needs_reconnect(),
            publishing_cap: engine.publishing_cap(&a).map(|cap| cap.posts),
            connected_at: a.connected_at(),
            created_at: a.created_at(),
        }
    }
}

/// An account to connect.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectBody {
    #[schema(value_type = PlatformName)]
    platform: String,
    /// Display name, e.g. `@mybrand`.
    #[schema(value_type = LabelText)]
    account_name: String,
    /// The platform's id of the account.
    #[schema(value_type = LabelText)]
    account_id_external: String,
    /// The OAuth access token the platform granted (stored encrypted, never returned).
    access_token: Option<String>,
    /// The OAuth refresh token (stored encrypted, never returned).
    refresh_token: Option<String>,
}

/// Connects an account within the plan's limit; reconnecting a known account reactivates it.
#[utoipa::path(post, path = "/accounts", tag = "accounts", security(("bearer" = []), ("api_key" = [])),
    request_body = ConnectBody,
    responses((status = 201, body = AccountDto), (status = 401, body = Problem), (status = 402, body = Problem),
              (status = 422, body = Problem)))]
async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConnectBody>,
) -> ApiResult<(StatusCode, Json<AccountDto>)> {
    let request = ConnectAccount {
        platform: body.platform.parse().map_err(postpilot_core::Error::from)?,
        account_name: AccountName::parse(&body.account_name)
            .map_err(postpilot_core::Error::from)?,
        account_id_external: ExternalAccountId::parse(&body.account_id_external)
            .map_err(postpilot_core::Error::from)?,
        access_token: body.access_token.map(SecretString::new),
        refresh_token: body.refresh_token.map(SecretString::new),
    };
    let account = state
        .engine()
        .accounts()
        .connect(caller.user_id, request)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountDto::of(account, state.engine())),
    ))
}

/// The caller's accounts, connected and not, oldest first.
#[utoipa::path(get, path = "/accounts", tag = "accounts", security(("bearer" = []), ("api_key" = [])),
    params(Paging),
    responses((status = 200, body = Paged<AccountDto>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<AccountDto>>> {
    let page = state
        .engine()
        .accounts()
        .list(caller.user_id, paging.page_request()?)
        .await?;
    Ok(Json(page.map(|a| AccountDto::of(a, state.engine())).into()))
}

/// One of the caller's accounts.
#[utoipa::path(get, path = "/accounts/{id}", tag = "accounts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = AccountDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<AccountDto>> {
    let account = state.engine().accounts().get(caller.user_id, id).await?;
    Ok(Json(AccountDto::of(account, state.engine())))
}

/// Disconnects an account: tokens erased, record kept, no longer counted toward the limit.
#[utoipa::path(delete, path = "/accounts/{id}", tag = "accounts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = AccountDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn disconnect(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<AccountDto>> {
    let account = state
        .engine()
        .accounts()
        .disconnect(caller.user_id, id)
        .await?;
    Ok(Json(AccountDto::of(account, state.engine())))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connect, list))
        .routes(routes!(get, disconnect))
}
