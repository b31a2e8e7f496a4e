//! `/app/accounts`: the merchant's social accounts — connect (by OAuth where the platform's app is
//! configured, else by the account's id for simulated publishing or tokens managed elsewhere),
//! disconnect, and a banner for those that need signing in to again.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use postpilot_core::Error;
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::id::AccountId;
use postpilot_core::platform::Platform;
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::pages::{Layout, Notice, PageId, PageResult, first, page};
use super::session::{CheckedForm, CsrfToken, SignedIn, WithCsrf};
use crate::state::AppState;

/// One account as the page lists it.
#[derive(Debug)]
pub(crate) struct AccountRow {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) platform: &'static str,
    /// `Connected`, `Needs reconnection` or `Disconnected`.
    pub(crate) status: &'static str,
    /// Its style: `connected`, `needs-reconnection`, `disconnected`.
    pub(crate) status_class: &'static str,
    pub(crate) connected: bool,
}

/// A platform's connect options.
#[derive(Debug)]
pub(crate) struct PlatformOption {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    pub(crate) oauth: bool,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    layout: Layout,
    accounts: Vec<AccountRow>,
    needs_reconnection: bool,
    platforms: Vec<PlatformOption>,
    notice: Option<Notice>,
}

/// What the OAuth callback and the page's own forms say happened.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Outcome {
    connected: Option<String>,
    accounts: Option<u32>,
    over_limit: Option<u32>,
    connect_error: Option<String>,
}

impl Outcome {
    fn notice(&self) -> Option<Notice> {
        let connected = self
            .connected
            .as_deref()
            .and_then(|p| p.parse::<Platform>().ok());
        if let Some(platform) = connected {
            let mut text = format!(
                "Connected {} {platform} account(s).",
                self.accounts.unwrap_or(0)
            );
            if let Some(over) = self.over_limit.filter(|n| *n > 0) {
                text.push_str(&format!(
                    " {over} more were left out: your plan's account limit is reached."
                ));
            }
            return Some(Notice::success(text));
        }
        let why = match self.connect_error.as_deref() {
            Some("expired") => "The connection took too long; start again.",
            Some("refused" | "denied") => "The platform did not grant access.",
            Some("plan_limit") => "Your plan's account limit is reached: upgrade to connect more.",
            Some("not_offered") => "This platform cannot be connected on this server.",
            Some(_) => "The platform could not be reached; try again later.",
            None => return None,
        };
        Some(Notice::error(why.to_owned()))
    }
}

/// `GET /app/accounts`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
    Query(outcome): Query<Outcome>,
) -> PageResult<Response> {
    let engine = state.engine();
    let page_request = first(100);
    let accounts = engine.accounts().list(session.user, page_request).await?;
    let rows: Vec<AccountRow> = accounts
        .items
        .iter()
        .map(|a| AccountRow {
            id: a.id().as_uuid(),
            name: a.account_name().to_string(),
            platform: a.platform().display_name(),
            status: match (a.is_connected(), a.needs_reconnect()) {
                (true, false) => "Connected",
                (true, true) => "Needs reconnection",
                (false, _) => "Disconnected",
            },
            status_class: match (a.is_connected(), a.needs_reconnect()) {
                (true, false) => "connected",
                (true, true) => "needs-reconnection",
                (false, _) => "disconnected",
            },
            connected: a.is_connected(),
        })
        .collect();
    let oauth = engine.oauth();
    let platforms = Platform::ALL
        .iter()
        .map(|p| PlatformOption {
            key: p.as_str(),
            name: p.display_name(),
            oauth: oauth.offers(*p),
        })
        .collect();
    let needs_reconnection = rows
        .iter()
        .any(|r: &AccountRow| r.status_class == "needs-reconnection");
    let template = AccountsPage {
        layout: Layout::new("Accounts", "accounts", true, &csrf),
        needs_reconnection,
        accounts: rows,
        platforms,
        notice: flash.notice.take().or_else(|| outcome.notice()),
    };
    Ok(flash.shown(page(&template, &csrf)))
}

/// Where the page sends the browser after a form: back to the list, with what happened.
fn back(error: Option<&Error>) -> Response {
    match error {
        None => Redirect::to("/app/accounts").into_response(),
        Some(e) => flash::redirect("/app/accounts", &Notice::error(super::pages::said(e))),
    }
}

/// The connect-by-id form.
#[derive(Debug, Deserialize)]
pub(crate) struct ConnectForm {
    #[serde(default)]
    platform: String,
    #[serde(default)]
    account_name: String,
    #[serde(default)]
    account_id_external: String,
    #[serde(default)]
    csrf: String,
}

impl WithCsrf for ConnectForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /app/accounts`: connects an account by its id (what `POST /api/v1/accounts` does).
pub(crate) async fn connect(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(form): CheckedForm<ConnectForm>,
) -> Response {
    let request = (|| -> Result<ConnectAccount, Error> {
        Ok(ConnectAccount {
            platform: form.platform.parse()?,
            account_name: AccountName::parse(&form.account_name)?,
            account_id_external: ExternalAccountId::parse(&form.account_id_external)?,
            access_token: None,
            refresh_token: None,
        })
    })();
    let connected = match request {
        Ok(request) => {
            state
                .engine()
                .accounts()
                .connect(session.user, request)
                .await
        }
        Err(e) => Err(e),
    };
    back(connected.err().as_ref())
}

/// A form with nothing but its CSRF token.
pub(crate) use super::pages::EmptyForm;

/// `POST /app/accounts/connect/{platform}`: starts the platform's OAuth flow.
pub(crate) async fn connect_oauth(
    State(state): State<AppState>,
    session: SignedIn,
    Path(platform): Path<String>,
    CheckedForm(_): CheckedForm<EmptyForm>,
) -> Response {
    let platform = match platform.parse::<Platform>() {
        Ok(platform) => platform,
        Err(e) => return back(Some(&e.into())),
    };
    let redirect_uri = crate::routes::oauth::redirect_uri(&state, platform);
    match state
        .engine()
        .oauth()
        .begin(session.user, platform, &redirect_uri)
        .await
    {
        Ok(url) => super::pages::continue_to(&url, platform.display_name()),
        Err(e) => back(Some(&e)),
    }
}

/// `POST /app/accounts/{id}/disconnect`.
pub(crate) async fn disconnect(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(_): CheckedForm<EmptyForm>,
) -> Response {
    let result = state
        .engine()
        .accounts()
        .disconnect(session.user, AccountId::from(id))
        .await;
    back(result.err().as_ref())
}
