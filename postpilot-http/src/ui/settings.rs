//! `/app/api-keys` (create — the key shown once — and revoke) and `/app/settings` (e-mail and
//! password, the current password required).

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use postpilot_core::Error;
use postpilot_core::api_key::Scope;
use postpilot_core::id::ApiKeyId;
use postpilot_core::post::PauseOn;
use postpilot_core::user::ProfilePatch;

use super::flash::{self, Flash};
use super::form::{Fields, time_zone, when};
use super::pages::{Layout, Notice, PageId, PageResult, first, page, said};
use super::session::{CheckedForm, CsrfToken, SignedIn, fresh_csrf_cookie, session_cookie};
use crate::state::AppState;

/// A key as the page lists it (never the key itself).
#[derive(Debug)]
pub(crate) struct KeyRow {
    pub(crate) id: uuid::Uuid,
    pub(crate) name: String,
    pub(crate) prefix: String,
    pub(crate) scopes: String,
    pub(crate) created: String,
    pub(crate) last_used: String,
    pub(crate) active: bool,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    layout: Layout,
    notice: Option<Notice>,
    keys: Vec<KeyRow>,
    scopes: Vec<(&'static str, &'static str)>,
    /// The key just created: shown this once.
    created: Option<String>,
    api_access: bool,
}

fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::PostsRead => "Read posts and the calendar",
        Scope::PostsWrite => "Create, edit and schedule posts",
        Scope::QueueRead => "Read the queue and templates",
        Scope::QueueWrite => "Generate, approve and reject queue items",
        Scope::AccountsRead => "List accounts",
        Scope::AccountsWrite => "Connect and disconnect accounts",
        Scope::AnalyticsRead => "Read analytics and usage",
        Scope::WebhooksRead => "List webhook endpoints",
        Scope::WebhooksWrite => "Register, edit and delete webhook endpoints",
    }
}

async fn api_keys_page(
    state: &AppState,
    session: &SignedIn,
    csrf: &CsrfToken,
    notice: Option<Notice>,
    created: Option<String>,
) -> PageResult<Response> {
    let engine = state.engine();
    let zone = time_zone(state, session.user).await?;
    let keys = engine
        .api_keys()
        .list(session.user, first(100))
        .await?
        .items
        .iter()
        .map(|k| KeyRow {
            id: k.id().as_uuid(),
            name: k.name().as_ref().to_owned(),
            prefix: k.prefix().to_owned(),
            scopes: k
                .scopes()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: k
                .created_at()
                .with_timezone(&zone)
                .format("%-d %b %Y")
                .to_string(),
            last_used: match k.last_used_at() {
                Some(t) => when(Some(t), zone),
                None => "never".to_owned(),
            },
            active: k.is_active(),
        })
        .collect();
    let api_access = engine.usage().usage(session.user).await?.api_access;
    let template = ApiKeysPage {
        layout: Layout::new("API keys", "api-keys", true, csrf),
        notice,
        keys,
        scopes: Scope::ALL
            .iter()
            .map(|s| (s.as_str(), scope_label(*s)))
            .collect(),
        created,
        api_access,
    };
    Ok(page(&template, csrf))
}

/// `GET /app/api-keys`.
pub(crate) async fn api_keys(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
) -> PageResult<Response> {
    let notice = flash.notice.take();
    Ok(flash.shown(api_keys_page(&state, &session, &csrf, notice, None).await?))
}

/// `POST /app/api-keys`: creates a key and shows it, this once, on the answer itself (never in a
/// redirect, a URL or a cookie).
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let scopes: Vec<String> = form.all("scope").map(str::to_owned).collect();
    let created = state
        .engine()
        .api_keys()
        .create(session.user, form.text("name"), &scopes)
        .await;
    match created {
        Ok(created) => {
            let notice = Notice::success(format!(
                "Key {} created. Copy it now: it is shown only this once.",
                created.key.name().as_ref()
            ));
            let secret = created.secret.expose().to_owned();
            api_keys_page(&state, &session, &csrf, Some(notice), Some(secret)).await
        }
        Err(e) => Ok(flash::redirect("/app/api-keys", &Notice::error(said(&e)))),
    }
}

/// `POST /app/api-keys/{id}/revoke`.
pub(crate) async fn revoke_api_key(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(_): CheckedForm<Fields>,
) -> Response {
    let revoked = state
        .engine()
        .api_keys()
        .revoke(session.user, ApiKeyId::from(id))
        .await;
    let revoked = revoked.map(|()| "Key revoked: it no longer works.".to_owned());
    flash::redirect("/app/api-keys", &Notice::of(revoked))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    notice: Option<Notice>,
    email: String,
    /// The merchant's zone, and every zone this server knows (IANA names, sorted).
    tz: &'static str,
    zones: Vec<&'static str>,
    /// What a product change pauses: each choice `(value, label, chosen)`.
    pause_choices: Vec<(&'static str, &'static str, bool)>,
}

/// The choices of `pause_on`, in words.
fn pause_label(rule: PauseOn) -> &'static str {
    match rule {
        PauseOn::Both => "New price, page or sold out",
        PauseOn::Price => "New price or page only",
        PauseOn::Stock => "Sold out only",
        PauseOn::Off => "Nothing: never pause",
    }
}

/// `GET /app/settings`.
pub(crate) async fn settings(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
) -> PageResult<Response> {
    let me = state.engine().auth().me(session.user).await?;
    let template = SettingsPage {
        layout: Layout::new("Settings", "settings", true, &csrf),
        notice: flash.notice.take(),
        email: me.user.email().to_string(),
        tz: me.user.time_zone().name(),
        zones: super::form::zone_names(),
        pause_choices: PauseOn::ALL
            .into_iter()
            .map(|rule| (rule.as_str(), pause_label(rule), rule == me.user.pause_on()))
            .collect(),
    };
    Ok(flash.shown(page(&template, &csrf)))
}

/// `POST /app/settings/pause-on`: which changes of a product in the shop pause its scheduled
/// posts.
pub(crate) async fn update_pause_on(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let patch = ProfilePatch {
        pause_on: Some(form.text("pause_on").to_owned()),
        ..ProfilePatch::default()
    };
    let changed = state.engine().auth().update_me(session.user, patch).await;
    let changed = changed.map(|p| {
        format!(
            "Saved: {} pauses a product's posts.",
            pause_label(p.user.pause_on()).to_lowercase()
        )
    });
    flash::redirect("/app/settings", &Notice::of(changed))
}

/// `POST /app/settings/time-zone`: the zone the calendar shows and typed times are read in.
pub(crate) async fn update_time_zone(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let patch = ProfilePatch {
        time_zone: Some(form.text("time_zone").to_owned()),
        ..ProfilePatch::default()
    };
    let changed = state.engine().auth().update_me(session.user, patch).await;
    let changed = changed.map(|p| format!("Time zone saved: {}.", p.user.time_zone().name()));
    flash::redirect("/app/settings", &Notice::of(changed))
}

/// `POST /app/settings`: a new e-mail and/or password. Either ends every session (core's rule),
/// so this browser gets a new one and stays signed in.
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let auth = state.engine().auth();
    let patch = ProfilePatch {
        email: form.get("email").map(str::to_owned),
        password: form.get("new_password").map(str::to_owned),
        current_password: form.get("current_password").map(str::to_owned),
        time_zone: None,
        pause_on: None,
    };
    let changed = match auth.update_me(session.user, patch).await {
        Ok(profile) => auth.issue_refresh_token(&profile.user).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(fresh) => {
            let lifetime = (fresh.token.expires_at() - state.now()).num_seconds();
            let mut response = flash::redirect(
                "/app/settings",
                &Notice::success("Saved. Every other session was signed out.".to_owned()),
            );
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                session_cookie(&state, &fresh.raw, lifetime),
            );
            if let Some(csrf) = fresh_csrf_cookie(&state) {
                headers.append(header::SET_COOKIE, csrf);
            }
            response
        }
        Err(Error::Unauthorized) => flash::redirect(
            "/app/settings",
            &Notice::error("The current password is wrong.".to_owned()),
        ),
        Err(e) => flash::redirect("/app/settings", &Notice::error(said(&e))),
    }
}
