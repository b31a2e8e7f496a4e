//! The pages: the landing page and pricing, registration and sign-in, and the merchant's
//! dashboard. Every page reads through the same core services as the JSON API.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use postpilot_core::Error;
use postpilot_core::page::PageRequest;
use postpilot_core::plan::{Limit, PlanLimits};
use postpilot_core::post::PostStatus;
use postpilot_core::store::PostListFilter;
use postpilot_core::user::ProfilePatch;
use serde::Deserialize;

use super::assets::{ASSETS, brand_stylesheet_url};
use super::session::{
    CheckedForm, CsrfToken, SESSION_COOKIE, SignedIn, WithCsrf, cookie, cookie_name,
    ended_session_cookie, fresh_csrf_cookie, session_cookie,
};
use crate::ApiError;
use crate::auth::AuthAttempt;
use crate::brand::Brand;
use crate::state::AppState;

/// What the layout needs on every page.
#[derive(Debug)]
pub(crate) struct Layout {
    /// The page's title (before " · PostPilot").
    pub(crate) title: &'static str,
    pub(crate) css: String,
    pub(crate) js: String,
    pub(crate) icon: String,
    pub(crate) heading_font: String,
    pub(crate) body_font: String,
    /// Whether a merchant is signed in (the navigation differs).
    pub(crate) signed_in: bool,
    /// The CSRF token forms carry.
    pub(crate) csrf: String,
    /// Which navigation entry is the current page.
    pub(crate) current: &'static str,
    /// The product's name and tagline.
    pub(crate) brand: String,
    pub(crate) tagline: String,
    /// The signed-in navigation: `(path, label, key)`.
    pub(crate) nav: Vec<(&'static str, &'static str, &'static str)>,
    /// The brand's stylesheet, when it sets colours.
    pub(crate) brand_css: Option<String>,
}

impl Layout {
    pub(crate) fn new(
        title: &'static str,
        current: &'static str,
        signed_in: bool,
        csrf: &CsrfToken,
    ) -> Self {
        let default = Brand::default();
        let brand = csrf
            .state
            .as_ref()
            .map_or(&default, |state| &state.0.config.brand);
        Self {
            brand: brand.name().to_owned(),
            tagline: brand.tagline().to_owned(),
            nav: brand
                .navigation()
                .iter()
                .map(|p| (p.path(), p.label(), p.key()))
                .collect(),
            brand_css: brand_stylesheet_url(brand),
            title,
            css: ASSETS.css.url(),
            js: ASSETS.js.url(),
            icon: ASSETS.icon.url(),
            heading_font: ASSETS.heading_font.url(),
            body_font: ASSETS.body_font.url(),
            signed_in,
            csrf: csrf.value.clone(),
            current,
        }
    }
}

/// The first `per_page` (at most 100) of a list: what a page shows.
pub(crate) fn first(per_page: u32) -> PageRequest {
    PageRequest::new(
        Some(1),
        Some(per_page.min(postpilot_core::page::MAX_PER_PAGE)),
    )
    .unwrap_or_default()
}

/// A message at the top of a page: what a form did.
#[derive(Debug)]
pub(crate) struct Notice {
    /// `success` or `error` (its style, and `role="status"` or `role="alert"`).
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

impl Notice {
    pub(crate) fn success(text: String) -> Self {
        Self {
            kind: "success",
            text,
        }
    }

    pub(crate) fn error(text: String) -> Self {
        Self {
            kind: "error",
            text,
        }
    }
}

/// What a merchant is told of an error a service answered (the API's problem, in a sentence).
pub(crate) fn said(error: &Error) -> String {
    match error {
        Error::Validation(v) => format!("{}: {}", v.field().replace('_', " "), v.reason()),
        Error::PlanLimit { resource, limit } => format!(
            "Your plan allows {limit} {}: upgrade to go further.",
            resource.as_str().replace('_', " ")
        ),
        Error::PublishingCapFull(_) => error.to_string(),
        Error::DuplicatePost(other) => format!(
            "Another post on this account has the same caption within 24 hours of this time \
             (at {}); platforms hide or refuse repeats.",
            other.scheduled_for.format("%Y-%m-%d %H:%M UTC"),
        ),
        Error::NotFound(what) => format!("That {what} does not exist."),
        Error::InvalidTransition(t) => {
            format!("This {} is {} and cannot be {}.", t.entity, t.from, t.to)
        }
        Error::Conflict(why) => why.to_string(),
        Error::TooManyAttempts { retry_after } | Error::Overloaded { retry_after, .. } => {
            format!(
                "Too many attempts: try again in {} seconds.",
                retry_after.as_secs()
            )
        }
        Error::Forbidden(why) => why.to_string(),
        other => {
            tracing::warn!(error = %other, "ui: a form failed");
            "Something went wrong on our side; try again.".to_owned()
        }
    }
}

/// A rendered page, with the CSRF cookie when the browser had none.
pub(crate) fn page(template: &impl Template, csrf: &CsrfToken) -> Response {
    page_with(StatusCode::OK, template, csrf)
}

pub(crate) fn page_with(
    status: StatusCode,
    template: &impl Template,
    csrf: &CsrfToken,
) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            if let Some(set) = &csrf.set {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, set.clone());
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "ui: a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    text: String,
}

/// An error a page answers as a page, never as the API's problem JSON.
#[derive(Debug)]
pub(crate) struct PageError(Error);

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

/// What a page handler returns.
pub(crate) type PageResult<T> = Result<T, PageError>;

/// The status a page answers an error with, and its heading (as the API's statuses).
pub(crate) fn refusal(error: &Error) -> (StatusCode, &'static str) {
    match error {
        Error::Unauthorized => (StatusCode::UNAUTHORIZED, "Sign in"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        Error::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "That cannot be done"),
        Error::PlanLimit { .. } => (StatusCode::PAYMENT_REQUIRED, "Your plan's limit"),
        Error::Conflict(_)
        | Error::InvalidTransition(_)
        | Error::PublishingCapFull(_)
        | Error::DuplicatePost(_) => (StatusCode::CONFLICT, "That cannot be done now"),
        Error::TooManyAttempts { .. } | Error::Overloaded { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, "Too many requests")
        }
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "Not allowed"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "Something went wrong"),
    }
}

/// A refused form's page: the form as typed, the reason, the error's status.
pub(crate) fn refused(page: PageResult<Response>, error: &Error) -> PageResult<Response> {
    let mut page = page?;
    *page.status_mut() = refusal(error).0;
    Ok(page)
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, Error::Unauthorized) {
            return Redirect::to("/login").into_response();
        }
        let (status, heading) = refusal(&self.0);
        let layout = Layout {
            csrf: String::new(),
            ..Layout::new("Error", "", false, &CsrfToken::none())
        };
        let template = ErrorPage {
            layout,
            heading,
            text: said(&self.0),
        };
        page_with(status, &template, &CsrfToken::none())
    }
}

#[derive(Template)]
#[template(path = "continue.html")]
struct ContinuePage<'a> {
    to: &'a str,
    name: &'a str,
    css: String,
}

/// On to another site after a form (a platform's consent page, the billing provider): a page
/// that navigates there, not a redirect, because browsers hold a redirect that follows a form
/// post to the page's `form-action 'self'`.
pub(crate) fn continue_to(to: &str, name: &str) -> Response {
    let template = ContinuePage {
        to,
        name,
        css: ASSETS.css.url(),
    };
    page(&template, &CsrfToken::none())
}

/// `GET /app/…` that is no page.
pub(crate) async fn not_found() -> PageError {
    PageError(Error::NotFound("page"))
}

/// The id in a page's path (`/app/queue/{id}`); anything else is that page not existing (an
/// HTML 404, not axum's plain-text 400).
#[derive(Debug)]
pub(crate) struct PageId(pub(crate) uuid::Uuid);

impl axum::extract::FromRequestParts<AppState> for PageId {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, PageError> {
        let not_found = || PageError(Error::NotFound("page"));
        let axum::extract::Path(text) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| not_found())?;
        uuid::Uuid::parse_str(&text)
            .map(Self)
            .map_err(|_| not_found())
    }
}

impl Notice {
    /// What a form did: `done` in words, or the error in a sentence.
    pub(crate) fn of(outcome: Result<String, Error>) -> Self {
        match outcome {
            Ok(done) => Self::success(done),
            Err(e) => Self::error(said(&e)),
        }
    }
}

/// Whether the request carries a live session (the landing page's navigation).
async fn has_session(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    match cookie(headers, &cookie_name(state, SESSION_COOKIE)) {
        Some(token) => state.engine().auth().session_of(token).await.is_ok(),
        None => false,
    }
}

/// A plan as a pricing card shows it.
#[derive(Debug)]
pub(crate) struct PlanCard {
    pub(crate) tier: &'static str,
    pub(crate) name: String,
    pub(crate) price: String,
    pub(crate) posts: String,
    pub(crate) accounts: String,
    pub(crate) generations: String,
    pub(crate) api_access: bool,
    pub(crate) featured: bool,
}

/// A limit in words: `1 social account`, `10 posts a month`, `Unlimited posts a month`.
fn count(limit: Limit, one: &str, many: &str, per: &str) -> String {
    match limit {
        Limit::AtMost(1) => format!("1 {one}{per}"),
        Limit::AtMost(n) => format!("{n} {many}{per}"),
        Limit::Unlimited => format!("Unlimited {many}{per}"),
    }
}

/// An amount in whole units of `currency` (lower-case ISO 4217), as a merchant reads it.
pub(crate) fn money(amount: u32, currency: &str) -> String {
    match currency {
        "usd" => format!("${amount}"),
        "eur" => format!("€{amount}"),
        "gbp" => format!("£{amount}"),
        other => format!("{amount} {}", other.to_ascii_uppercase()),
    }
}

impl From<&PlanLimits> for PlanCard {
    fn from(p: &PlanLimits) -> Self {
        Self {
            tier: p.tier.as_str(),
            name: p.name.clone(),
            price: money(p.price_monthly, &p.currency),
            posts: count(p.max_items, "post", "posts", " a month"),
            accounts: count(p.max_secondary, "social account", "social accounts", ""),
            generations: count(p.max_generations, "AI caption", "AI captions", " a month"),
            api_access: p.api_access,
            featured: p.tier == postpilot_core::plan::PlanTier::Pro,
        }
    }
}

fn plan_cards(state: &AppState) -> Vec<PlanCard> {
    state
        .engine()
        .billing()
        .plans()
        .iter()
        .map(PlanCard::from)
        .collect()
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    layout: Layout,
    plans: Vec<PlanCard>,
}

/// `GET /`: what PostPilot does, how, and what it costs.
pub(crate) async fn landing(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    csrf: CsrfToken,
) -> Response {
    let signed_in = has_session(&state, &headers).await;
    let template = LandingPage {
        layout: Layout::new(
            "Social posts that sell, on autopilot",
            "home",
            signed_in,
            &csrf,
        ),
        plans: plan_cards(&state),
    };
    page(&template, &csrf)
}

#[derive(Template)]
#[template(path = "pricing.html")]
struct PricingPage {
    layout: Layout,
    plans: Vec<PlanCard>,
}

/// `GET /pricing`: the plans, from the plans configuration.
pub(crate) async fn pricing(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    csrf: CsrfToken,
) -> Response {
    let signed_in = has_session(&state, &headers).await;
    let template = PricingPage {
        layout: Layout::new("Pricing", "pricing", signed_in, &csrf),
        plans: plan_cards(&state),
    };
    page(&template, &csrf)
}

/// The credentials form, as sent.
#[derive(Debug, Deserialize)]
pub(crate) struct CredentialsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    /// Registration: the browser's time zone (the page's script fills it in).
    #[serde(default)]
    time_zone: String,
}

impl WithCsrf for CredentialsForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Template)]
#[template(path = "credentials.html")]
struct CredentialsPage {
    layout: Layout,
    /// `register` or `login`.
    action: &'static str,
    heading: &'static str,
    button: &'static str,
    email: String,
    email_error: Option<String>,
    password_error: Option<String>,
    form_error: Option<String>,
}

impl CredentialsPage {
    fn new(register: bool, signed_in: bool, csrf: &CsrfToken) -> Self {
        let (title, action, heading, button) = if register {
            (
                "Create your account",
                "register",
                "Create your account",
                "Create account",
            )
        } else {
            ("Sign in", "login", "Welcome back", "Sign in")
        };
        Self {
            layout: Layout::new(title, action, signed_in, csrf),
            action,
            heading,
            button,
            email: String::new(),
            email_error: None,
            password_error: None,
            form_error: None,
        }
    }

    /// The page again with what was typed (never the password) and why it was refused, next to
    /// the field it concerns.
    fn refused(mut self, email: String, error: &Error) -> Self {
        self.email = email;
        match error {
            Error::Validation(v) if v.field() == "email" => {
                self.email_error = Some(v.reason().to_owned());
            }
            Error::Validation(v) if v.field() == "password" => {
                self.password_error = Some(v.reason().to_owned());
            }
            Error::Conflict(_) => {
                self.email_error = Some("an account with this e-mail already exists".into());
            }
            Error::Unauthorized => {
                self.password_error = Some("wrong e-mail or password".into());
            }
            Error::TooManyAttempts { retry_after } | Error::Overloaded { retry_after, .. } => {
                self.form_error = Some(format!(
                    "too many attempts: try again in {} seconds",
                    retry_after.as_secs()
                ));
            }
            other => {
                tracing::warn!(error = %other, "ui: sign-in or registration failed");
                self.form_error = Some("something went wrong on our side; try again".into());
            }
        }
        self
    }
}

/// `GET /register`.
pub(crate) async fn register_page(csrf: CsrfToken) -> Response {
    page(&CredentialsPage::new(true, false, &csrf), &csrf)
}

/// `GET /login`.
pub(crate) async fn login_page(csrf: CsrfToken) -> Response {
    page(&CredentialsPage::new(false, false, &csrf), &csrf)
}

/// `POST /register`: creates the account and signs it in.
pub(crate) async fn register(
    State(state): State<AppState>,
    attempt: Result<AuthAttempt, ApiError>,
    csrf: CsrfToken,
    CheckedForm(form): CheckedForm<CredentialsForm>,
) -> Response {
    credentials(state, attempt, csrf, form, true).await
}

/// `POST /login`: signs in.
pub(crate) async fn login(
    State(state): State<AppState>,
    attempt: Result<AuthAttempt, ApiError>,
    csrf: CsrfToken,
    CheckedForm(form): CheckedForm<CredentialsForm>,
) -> Response {
    credentials(state, attempt, csrf, form, false).await
}

async fn credentials(
    state: AppState,
    attempt: Result<AuthAttempt, ApiError>,
    csrf: CsrfToken,
    form: CredentialsForm,
    register: bool,
) -> Response {
    let auth = state.engine().auth();
    let user = match attempt {
        Err(_) => Err(Error::TooManyAttempts {
            retry_after: std::time::Duration::from_secs(60),
        }),
        Ok(_) if register => match auth.register(&form.email, &form.password).await {
            // The account starts in the browser's zone; one this server does not know leaves
            // it in UTC, which Settings changes.
            Ok(user) if !form.time_zone.is_empty() && form.time_zone != "UTC" => {
                let zone = ProfilePatch {
                    time_zone: Some(form.time_zone.clone()),
                    ..ProfilePatch::default()
                };
                match auth.update_me(user.id(), zone).await {
                    Ok(profile) => Ok(profile.user),
                    Err(_) => Ok(user),
                }
            }
            registered => registered,
        },
        Ok(_) => auth.login(&form.email, &form.password).await,
    };
    let session = match user {
        Ok(user) => auth.issue_refresh_token(&user).await,
        Err(e) => Err(e),
    };
    match session {
        Ok(session) => {
            let lifetime = (session.token.expires_at() - state.now()).num_seconds();
            let cookie = session_cookie(&state, &session.raw, lifetime);
            let mut response =
                ([(header::SET_COOKIE, cookie)], Redirect::to("/app")).into_response();
            if let Some(csrf) = fresh_csrf_cookie(&state) {
                response.headers_mut().append(header::SET_COOKIE, csrf);
            }
            response
        }
        Err(error) => {
            let status = match error {
                Error::Unauthorized => StatusCode::UNAUTHORIZED,
                Error::Conflict(_) => StatusCode::CONFLICT,
                Error::TooManyAttempts { .. } | Error::Overloaded { .. } => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            let template = CredentialsPage::new(register, false, &csrf).refused(form.email, &error);
            page_with(status, &template, &csrf)
        }
    }
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct EmptyForm {
    #[serde(default)]
    csrf: String,
}

impl WithCsrf for EmptyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /logout`: ends this browser's session (its token family is revoked).
pub(crate) async fn logout(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(_): CheckedForm<EmptyForm>,
) -> PageResult<Response> {
    match state
        .engine()
        .auth()
        .logout(session.user, Some(&session.token), false)
        .await
    {
        // Signed out already (a second click): the cookie is cleared all the same.
        Ok(_) | Err(Error::NotFound(_) | Error::Unauthorized) => {}
        Err(e) => return Err(e.into()),
    }
    let ended = ended_session_cookie(&state);
    let mut response = ([(header::SET_COOKIE, ended)], Redirect::to("/")).into_response();
    if let Some(csrf) = fresh_csrf_cookie(&state) {
        response.headers_mut().append(header::SET_COOKIE, csrf);
    }
    Ok(response)
}

/// One figure on the dashboard.
#[derive(Debug)]
pub(crate) struct Kpi {
    pub(crate) label: &'static str,
    pub(crate) value: String,
    pub(crate) detail: String,
}

/// A webhook endpoint its receiver stopped (a `410`, five days of failures), on the dashboard.
#[derive(Debug)]
struct StoppedEndpoint {
    id: String,
    url: String,
    reason: String,
    since: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    email: String,
    plan: String,
    kpis: Vec<Kpi>,
    reconnect: Vec<String>,
    /// Webhook endpoints that stopped receiving events without the merchant asking.
    stopped: Vec<StoppedEndpoint>,
    notice: Option<Notice>,
}

/// `GET /app`: the merchant's figures at a glance.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: super::flash::Flash,
) -> PageResult<Response> {
    let engine = state.engine();
    let user = session.user;
    let me = engine.auth().me(user).await?;
    let zone = me.user.time_zone();
    let stopped = engine
        .endpoints()
        .list(user)
        .await?
        .into_iter()
        .filter(postpilot_core::event::WebhookEndpoint::was_stopped_by_its_receiver)
        .map(|e| StoppedEndpoint {
            id: e.id().to_string(),
            url: e.url().as_str().to_owned(),
            reason: e.disabled_reason().unwrap_or_default().to_owned(),
            since: super::form::when(e.disabled_at(), zone),
        })
        .collect();
    let usage = engine.usage().usage(user).await?;
    let scheduled = engine
        .posts()
        .list(
            user,
            PostListFilter {
                status: Some(PostStatus::Scheduled),
                platform: None,
            },
            first(1),
        )
        .await?
        .total;
    let analytics = engine.analytics().overview(user).await?;
    // The most accounts any plan shows on one page; a merchant with more sees the first 100.
    let accounts = engine.accounts().list(user, first(100)).await?;
    let reconnect: Vec<String> = accounts
        .items
        .iter()
        .filter(|a| a.is_connected() && a.needs_reconnect())
        .map(|a| format!("{} on {}", a.account_name(), a.platform().display_name()))
        .collect();
    let of_limit = |limit: Limit| match limit {
        Limit::AtMost(n) => format!("of {n} this month"),
        Limit::Unlimited => "this month, no limit".to_owned(),
    };
    let kpis = vec![
        Kpi {
            label: "Scheduled",
            value: scheduled.to_string(),
            detail: "posts waiting for their time".into(),
        },
        Kpi {
            label: "Posts this month",
            value: usage.posts_this_month.to_string(),
            detail: of_limit(usage.posts_limit),
        },
        Kpi {
            label: "Engagement",
            value: format!("{:.2}%", analytics.engagement_rate),
            detail: format!("over {} published posts", analytics.posts_published),
        },
        Kpi {
            label: "Needs reconnection",
            value: reconnect.len().to_string(),
            detail: "accounts to sign in to again".into(),
        },
    ];
    let template = DashboardPage {
        layout: Layout::new("Dashboard", "dashboard", true, &csrf),
        email: me.user.email().to_string(),
        plan: usage.plan.as_str().to_owned(),
        kpis,
        reconnect,
        stopped,
        notice: flash.notice.take(),
    };
    Ok(flash.shown(page(&template, &csrf)))
}

/// `POST /app/webhook-endpoints/{id}/enable`: a stopped endpoint receives events again (its
/// waiting deliveries go at once), back to the dashboard.
pub(crate) async fn enable_endpoint(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(_form): CheckedForm<super::form::Fields>,
) -> PageResult<Response> {
    let patch = postpilot_core::event::EndpointPatch {
        enabled: Some(true),
        ..Default::default()
    };
    let enabled = state
        .engine()
        .endpoints()
        .update(session.user, id.into(), patch)
        .await
        .map(|e| format!("{} receives events again.", e.url().as_str()));
    Ok(super::flash::redirect("/app", &Notice::of(enabled)))
}

/// The content-security policy of every page: nothing from elsewhere, no inline script or style,
/// no framing, forms only to this site.
pub(crate) const PAGE_CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'",
);
