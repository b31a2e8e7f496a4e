//! The Python module `postpilot._postpilot`: the engine's services as methods of `Engine`, with
//! keyword arguments, `datetime` and `uuid.UUID` values, and Python exceptions. The GIL is
//! released while the engine works; one `Engine` is safe to share between threads.
// Methods mirror the services with keyword arguments: a Python signature, not a Rust one.
#![allow(clippy::too_many_arguments)]

mod captions;
mod convert;
mod publisher;

use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, NaiveDate, Utc};
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::crypto::{SecretString, XChaChaTokenCipher};
use postpilot_core::event::{EndpointPatch, NewEndpointRequest};
use postpilot_core::event::{OPERATOR, OPERATOR_ENDPOINT};
use postpilot_core::id::AccountId;
use postpilot_core::import::{ImportFormat, ImportKind, ImportMode, ImportRequest};
use postpilot_core::page::PageRequest;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, Duplicates, PostFilter, PostPatch, ResumeCaption};
use postpilot_core::publish::{Dispatcher, DispatcherConfig, WorkerConfig};
use postpilot_core::queue::{
    ApproveItem, CreateQueueItem, Placement, QueueItemPatch, parse_platforms,
};
use postpilot_core::user::{ProfilePatch, Provision};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use uuid::Uuid;

use crate::convert::{AccountOut, Out};

create_exception!(
    postpilot,
    PostPilotError,
    PyException,
    "Base of every PostPilot error."
);
create_exception!(
    postpilot,
    NotFoundError,
    PostPilotError,
    "The object does not exist (or is another user's)."
);
create_exception!(
    postpilot,
    ValidationError,
    PostPilotError,
    "Invalid input; `field` names it."
);
create_exception!(
    postpilot,
    PlanLimitError,
    PostPilotError,
    "The plan's limit is reached; `resource` and `limit` say which."
);
create_exception!(
    postpilot,
    InvalidTransitionError,
    PostPilotError,
    "The state machine refuses the change."
);
create_exception!(
    postpilot,
    ConflictError,
    PostPilotError,
    "Conflicts with stored data (duplicate, or changed concurrently)."
);
create_exception!(
    postpilot,
    PublishingCapError,
    ConflictError,
    "The account's platform publishes no more posts in the 24 hours around that time: \
     `platform`, `cap`, the full window `window_start`..`window_end` and `next_free_at` (aware \
     datetimes; `next_free_at` is `None` when nothing is free within a week)."
);
create_exception!(
    postpilot,
    DuplicatePostError,
    ConflictError,
    "Another post of the account has the same caption within 24 hours of that time; \
     `post_id` names it. Pass `allow_duplicate=True` to schedule both."
);
create_exception!(
    postpilot,
    AuthError,
    PostPilotError,
    "Wrong credentials, or not allowed."
);
create_exception!(
    postpilot,
    UnavailableError,
    PostPilotError,
    "A dependency (store, generator, provider) is unavailable."
);
create_exception!(
    postpilot,
    PublishRejected,
    PyException,
    "Raised by a Python publisher: the platform refused the post for good."
);
create_exception!(
    postpilot,
    RateLimited,
    PyException,
    "Raised by a Python publisher: the platform's rate limit; `RateLimited(retry_after_seconds)` \
     (default 60). The post waits that long; the wait is not a failed attempt."
);
create_exception!(
    postpilot,
    CaptionRefused,
    PyException,
    "Raised by a Python caption generator: it will not write a caption for this product (the \
     engine answers a validation error naming `product_data`)."
);
create_exception!(
    postpilot,
    AuthExpired,
    PyException,
    "Raised by a Python publisher: the account's authorisation expired."
);

/// The one mapping of engine errors to Python exceptions.
fn py_err(e: impl Into<postpilot_core::Error>) -> PyErr {
    use postpilot_core::Error as E;
    let e = e.into();
    Python::attach(|py| match &e {
        E::NotFound(_) => NotFoundError::new_err(e.to_string()),
        E::Validation(v) => {
            let err = ValidationError::new_err(e.to_string());
            let _ = err.value(py).setattr("field", v.field());
            let _ = err.value(py).setattr("reason", v.reason());
            err
        }
        E::PlanLimit { resource, limit } => {
            let err = PlanLimitError::new_err(e.to_string());
            let _ = err.value(py).setattr("resource", resource.as_str());
            let _ = err.value(py).setattr("limit", *limit);
            err
        }
        E::InvalidTransition(_) => InvalidTransitionError::new_err(e.to_string()),
        E::Conflict(_) => ConflictError::new_err(e.to_string()),
        E::PublishingCapFull(full) => {
            let err = PublishingCapError::new_err(e.to_string());
            let value = err.value(py);
            let _ = value.setattr("platform", full.platform.as_str());
            let _ = value.setattr("cap", full.cap);
            let _ = value.setattr("window_start", full.window_start);
            let _ = value.setattr("window_end", full.window_end);
            let _ = value.setattr("next_free_at", full.next_free_at);
            err
        }
        E::DuplicatePost(other) => {
            let err = DuplicatePostError::new_err(e.to_string());
            let value = err.value(py);
            let _ = value.setattr("post_id", other.post_id.as_uuid());
            let _ = value.setattr("scheduled_for", other.scheduled_for);
            err
        }
        E::Unauthorized | E::Forbidden(_) | E::TooManyAttempts { .. } => {
            AuthError::new_err(e.to_string())
        }
        E::PlatformLinkRequired(_) => ConflictError::new_err(e.to_string()),
        // The embedding application is the operator: it is told the cause HTTP clients are not.
        E::Unavailable { source, .. } => UnavailableError::new_err(format!("{e}: {source}")),
        E::Overloaded { .. } => UnavailableError::new_err(e.to_string()),
    })
}

fn invalid(field: &'static str, e: impl std::fmt::Display) -> PyErr {
    py_err(postpilot_core::ValidationError::new(field, e.to_string()))
}

fn invalid_owned(field: String, reason: String) -> PyErr {
    py_err(postpilot_core::ValidationError::new(field, reason))
}

/// What went wrong outside the engine's rules: the runtime, the store's connection, the worker.
fn unavailable(e: impl std::fmt::Display) -> PyErr {
    UnavailableError::new_err(e.to_string())
}

/// An optional name (a status, platform or tone) as the engine's type, refused as the engine
/// refuses it.
fn parse<T>(name: Option<&str>) -> PyResult<Option<T>>
where
    T: FromStr,
    T::Err: Into<postpilot_core::Error>,
{
    name.map(str::parse).transpose().map_err(py_err)
}

fn page_request(page: u32, per_page: u32, after: Option<&str>) -> PyResult<PageRequest> {
    PageRequest::with_cursor(Some(page), Some(per_page), after).map_err(py_err)
}

/// `seconds` if it is a positive number; `field` names it otherwise.
fn positive_seconds(field: &'static str, seconds: f64) -> PyResult<f64> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(seconds)
    } else {
        Err(invalid(field, "must be a positive number of seconds"))
    }
}

fn dispatcher_config(retry_base_delay: f64, max_attempts: u32) -> PyResult<DispatcherConfig> {
    let retry_base_delay = positive_seconds("retry_base_delay", retry_base_delay)?;
    let mut config = DispatcherConfig::default();
    #[allow(clippy::cast_possible_truncation)]
    {
        config.retry.base_delay =
            chrono::Duration::milliseconds((retry_base_delay * 1000.0).max(1.0) as i64);
    }
    config.retry.max_attempts = max_attempts;
    Ok(config)
}

struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<postpilot_core::publish::WorkerTotals>,
}

/// The PostPilot engine. Build one with `Engine.in_memory()` or `Engine.postgres(url)`.
#[pyclass(frozen, module = "postpilot")]
struct Engine {
    engine: postpilot_core::Engine,
    runtime: Arc<tokio::runtime::Runtime>,
    worker: Mutex<Option<Worker>>,
}

fn runtime() -> PyResult<Arc<tokio::runtime::Runtime>> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(unavailable)
}

fn builder(
    publishers: Option<&Bound<'_, PyDict>>,
    tiktok_daily_cap: Option<u32>,
    captions: Option<&Bound<'_, PyAny>>,
    plans: Option<&Bound<'_, PyAny>>,
) -> PyResult<postpilot_core::EngineBuilder> {
    let mut builder = postpilot_core::Engine::builder().simulated();
    if let Some(plans) = plans {
        // The dict a plans file holds (docs/OPERATIONS.md), read through JSON.
        let json: String = plans
            .py()
            .import("json")?
            .call_method1("dumps", (plans,))?
            .extract()?;
        let file: postpilot_core::plan::PlansFile =
            serde_json::from_str(&json).map_err(|e| invalid("plans", e))?;
        builder = builder.plans(postpilot_core::plan::Plans::parse(file).map_err(py_err)?);
    }
    if let Some(captions) = captions {
        if !captions.is_callable() {
            return Err(invalid("captions", "must be a callable"));
        }
        builder = builder.captions(Arc::new(captions::PyCaptions::new(
            captions.clone().unbind(),
        )));
    }
    if let Some(cap) = tiktok_daily_cap {
        if cap == 0 {
            return Err(invalid("tiktok_daily_cap", "must be at least 1"));
        }
        builder =
            builder.publishing_caps(postpilot_core::post::PublishingCaps { tiktok_daily: cap });
    }
    if let Some(publishers) = publishers {
        for (platform, publisher) in publishers.iter() {
            let platform: Platform = platform
                .extract::<String>()?
                .parse()
                .map_err(|e| invalid("publishers", e))?;
            builder = builder.publisher(
                platform,
                Arc::new(publisher::PyPublisher::new(publisher.unbind())),
            );
        }
    }
    Ok(builder)
}

impl Engine {
    fn new(engine: postpilot_core::Engine, runtime: Arc<tokio::runtime::Runtime>) -> Self {
        Self {
            engine,
            runtime,
            worker: Mutex::new(None),
        }
    }

    /// Runs `future` on the engine's runtime with the GIL released.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        future: impl std::future::Future<Output = postpilot_core::Result<T>> + Send,
    ) -> PyResult<T> {
        py.detach(|| self.runtime.block_on(future)).map_err(py_err)
    }

    /// Runs `future` like [`Engine::run`] and hands its value to Python.
    fn out<T: Out + Send>(
        &self,
        py: Python<'_>,
        future: impl std::future::Future<Output = postpilot_core::Result<T>> + Send,
    ) -> PyResult<Py<PyAny>> {
        self.run(py, future)?.out(py)
    }

    /// A publication worker named `name` with the retry policy.
    fn dispatcher(
        &self,
        name: &str,
        retry_base_delay: f64,
        max_attempts: u32,
    ) -> PyResult<Dispatcher> {
        let config = dispatcher_config(retry_base_delay, max_attempts)?;
        self.engine.dispatcher(name, config).map_err(py_err)
    }

    /// The background worker's slot.
    fn worker_slot(&self) -> PyResult<MutexGuard<'_, Option<Worker>>> {
        self.worker
            .lock()
            .map_err(|_| UnavailableError::new_err("worker lock poisoned"))
    }
}

#[pymethods]
impl Engine {
    /// An engine in memory; `publishers` maps platform names to Python publisher objects (the
    /// others are simulated); `tiktok_daily_cap` is TikTok's posts per account per 24 hours
    /// (default 15); `captions` is a Python caption generator (default: the templates); `plans`
    /// what a plans file holds, as a dict (default: the built-in plans).
    #[staticmethod]
    #[pyo3(signature = (*, publishers = None, tiktok_daily_cap = None, captions = None, plans = None))]
    fn in_memory(
        publishers: Option<&Bound<'_, PyDict>>,
        tiktok_daily_cap: Option<u32>,
        captions: Option<&Bound<'_, PyAny>>,
        plans: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let engine = builder(publishers, tiktok_daily_cap, captions, plans)?
            .build()
            .map_err(unavailable)?;
        Ok(Self::new(engine, runtime()?))
    }

    /// An engine on PostgreSQL at `url`, applying the embedded migrations unless
    /// `migrate=False`. `token_key` (`"<id>:<base64 32 bytes>"`) seals OAuth tokens; without it
    /// they are sealed with a key that dies with the process.
    #[cfg(feature = "postgres")]
    #[staticmethod]
    #[pyo3(signature = (url, *, migrate = true, token_key = None, publishers = None, tiktok_daily_cap = None, captions = None, plans = None))]
    fn postgres(
        py: Python<'_>,
        url: &str,
        migrate: bool,
        token_key: Option<&str>,
        publishers: Option<&Bound<'_, PyDict>>,
        tiktok_daily_cap: Option<u32>,
        captions: Option<&Bound<'_, PyAny>>,
        plans: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let runtime = runtime()?;
        let config = postpilot_sqlx::PoolConfig::default();
        let store = py
            .detach(|| {
                runtime.block_on(async {
                    if migrate {
                        postpilot_sqlx::PgStore::connect_and_migrate(url, &config).await
                    } else {
                        postpilot_sqlx::PgStore::connect(url, &config).await
                    }
                })
            })
            .map_err(unavailable)?;
        let mut builder =
            builder(publishers, tiktok_daily_cap, captions, plans)?.store(Arc::new(store));
        if let Some(spec) = token_key {
            builder = builder.cipher(Arc::new(
                XChaChaTokenCipher::from_config(spec).map_err(|e| invalid("token_key", e))?,
            ));
        }
        Ok(Self::new(builder.build().map_err(unavailable)?, runtime))
    }

    // ---- users ----------------------------------------------------------------------------

    /// Creates a user; returns it as a dict.
    #[pyo3(signature = (*, email, password))]
    fn register(&self, py: Python<'_>, email: &str, password: &str) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.auth().register(email, password))
    }

    /// Checks credentials; returns the user.
    #[pyo3(signature = (*, email, password))]
    fn login(&self, py: Python<'_>, email: &str, password: &str) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.auth().login(email, password))
    }

    /// The user's profile, with the plan.
    #[pyo3(signature = (*, user_id))]
    fn me(&self, py: Python<'_>, user_id: Uuid) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.auth().me(user_id.into()))
    }

    /// Changes the user's time zone, what product changes pause posts (`pause_on`: both, price,
    /// stock, off), e-mail and/or password (the current password is required for the e-mail or
    /// the password).
    #[pyo3(signature = (*, user_id, current_password = None, email = None, password = None, time_zone = None, pause_on = None))]
    fn update_me(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        current_password: Option<String>,
        email: Option<String>,
        password: Option<String>,
        time_zone: Option<String>,
        pause_on: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let patch = ProfilePatch {
            email,
            password,
            current_password,
            time_zone,
            pause_on,
        };
        self.out(py, self.engine.auth().update_me(user_id.into(), patch))
    }

    /// Creates or links a user for the dropshipping platform.
    #[pyo3(signature = (*, email, external_platform_id, external_store_id = None, plan = None))]
    fn provision(
        &self,
        py: Python<'_>,
        email: String,
        external_platform_id: Uuid,
        external_store_id: Option<Uuid>,
        plan: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let request = Provision {
            email,
            external_platform_id,
            external_store_id,
            plan: plan
                .map(str::parse)
                .transpose()
                .map_err(|e| invalid("plan", e))?,
        };
        self.out(py, self.engine.auth().provision(request))
    }

    // ---- accounts ---------------------------------------------------------------------------

    /// Connects a social account within the plan's limit.
    #[pyo3(signature = (*, user_id, platform, account_name, account_id_external, access_token = None, refresh_token = None))]
    fn connect_account(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        platform: &str,
        account_name: &str,
        account_id_external: &str,
        access_token: Option<String>,
        refresh_token: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let request = ConnectAccount {
            platform: platform.parse().map_err(|e| invalid("platform", e))?,
            account_name: AccountName::parse(account_name).map_err(py_err)?,
            account_id_external: ExternalAccountId::parse(account_id_external).map_err(py_err)?,
            access_token: access_token.map(SecretString::new),
            refresh_token: refresh_token.map(SecretString::new),
        };
        let engine = &self.engine;
        self.out(py, async move {
            let account = engine.accounts().connect(user_id.into(), request).await?;
            Ok(AccountOut::of(account, engine))
        })
    }

    /// The user's accounts: `{items, total, page, per_page, next}`.
    #[pyo3(signature = (*, user_id, page = 1, per_page = 20, after = None))]
    fn list_accounts(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let request = page_request(page, per_page, after.as_deref())?;
        let engine = &self.engine;
        self.out(py, async move {
            let page = engine.accounts().list(user_id.into(), request).await?;
            Ok(page.map(|a| AccountOut::of(a, engine)))
        })
    }

    /// One of the user's accounts.
    #[pyo3(signature = (*, user_id, account_id))]
    fn get_account(&self, py: Python<'_>, user_id: Uuid, account_id: Uuid) -> PyResult<Py<PyAny>> {
        let engine = &self.engine;
        self.out(py, async move {
            let account = engine
                .accounts()
                .get(user_id.into(), account_id.into())
                .await?;
            Ok(AccountOut::of(account, engine))
        })
    }

    /// Soft-disconnects an account.
    #[pyo3(signature = (*, user_id, account_id))]
    fn disconnect_account(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        account_id: Uuid,
    ) -> PyResult<Py<PyAny>> {
        let engine = &self.engine;
        self.out(py, async move {
            let account = engine
                .accounts()
                .disconnect(user_id.into(), account_id.into())
                .await?;
            Ok(AccountOut::of(account, engine))
        })
    }

    // ---- posts ------------------------------------------------------------------------------

    /// Creates a post (scheduled when `scheduled_for` is given) within the monthly quota;
    /// `allow_duplicate=True` schedules it even when another post of the account has the same
    /// caption within 24 hours.
    #[pyo3(signature = (*, user_id, account_id, content, media_urls = Vec::new(), hashtags = Vec::new(), scheduled_for = None, allow_duplicate = false))]
    fn create_post(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        account_id: Uuid,
        content: String,
        media_urls: Vec<String>,
        hashtags: Vec<String>,
        scheduled_for: Option<DateTime<Utc>>,
        allow_duplicate: bool,
    ) -> PyResult<Py<PyAny>> {
        let request = CreatePost {
            account_id: AccountId::from(account_id),
            content,
            media_urls,
            hashtags,
            scheduled_for,
            duplicates: Duplicates::allowed(allow_duplicate),
        };
        self.out(py, self.engine.posts().create(user_id.into(), request))
    }

    /// One of the user's posts.
    #[pyo3(signature = (*, user_id, post_id))]
    fn get_post(&self, py: Python<'_>, user_id: Uuid, post_id: Uuid) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.posts().get(user_id.into(), post_id.into()))
    }

    /// The publication attempts of one of the user's posts, oldest first: each attempt's time,
    /// outcome and platform error.
    #[pyo3(signature = (*, user_id, post_id))]
    fn get_post_attempts(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        post_id: Uuid,
    ) -> PyResult<Py<PyAny>> {
        let attempts = self.run(
            py,
            self.engine.posts().attempts(user_id.into(), post_id.into()),
        )?;
        attempts.as_slice().out(py)
    }

    /// Edits a draft or scheduled post; `scheduled_for` (re)schedules, `unschedule=True` takes it
    /// back to draft; `allow_duplicate=True` as for `create_post`.
    #[pyo3(signature = (*, user_id, post_id, content = None, media_urls = None, hashtags = None, scheduled_for = None, unschedule = false, allow_duplicate = false))]
    fn update_post(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        post_id: Uuid,
        content: Option<String>,
        media_urls: Option<Vec<String>>,
        hashtags: Option<Vec<String>>,
        scheduled_for: Option<DateTime<Utc>>,
        unschedule: bool,
        allow_duplicate: bool,
    ) -> PyResult<Py<PyAny>> {
        if unschedule && scheduled_for.is_some() {
            return Err(invalid(
                "scheduled_for",
                "give a time or unschedule=True, not both",
            ));
        }
        let patch = PostPatch {
            content,
            media_urls,
            hashtags,
            scheduled_for: if unschedule {
                Some(None)
            } else {
                scheduled_for.map(Some)
            },
            duplicates: Duplicates::allowed(allow_duplicate),
        };
        let posts = self.engine.posts();
        self.out(py, posts.update(user_id.into(), post_id.into(), patch))
    }

    /// Deletes a draft or scheduled post.
    #[pyo3(signature = (*, user_id, post_id))]
    fn delete_post(&self, py: Python<'_>, user_id: Uuid, post_id: Uuid) -> PyResult<()> {
        self.run(
            py,
            self.engine.posts().delete(user_id.into(), post_id.into()),
        )
    }

    /// Imports posts — or, with `kind="products"`, products as pending queue items — from a
    /// CSV or JSON file (`data`: bytes or str; `format`: `csv` or `json`; `mode`:
    /// `all_or_nothing`, `partial` or `dry_run`): the import's report, `{id, kind,
    /// status, rows, processed, created, duplicates, failed, errors: [{row, field, reason}],
    /// error}`, once the import has ended — or, with `background=True`, at once, `running`:
    /// `get_import` then reads its progress (`processed` of `rows`) and its end. A file that
    /// does not read raises `ValidationError` on `file`; rows over the month's quota,
    /// `PlanLimitError` (in the background: the import ends `failed`, its `error` says why).
    #[pyo3(signature = (*, user_id, data, format = "csv", mode = "all_or_nothing", kind = "posts", background = false))]
    #[allow(clippy::too_many_arguments)]
    fn import_posts(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        data: &Bound<'_, PyAny>,
        format: &str,
        mode: &str,
        kind: &str,
        background: bool,
    ) -> PyResult<Py<PyAny>> {
        let data: Vec<u8> = if let Ok(bytes) = data.cast::<pyo3::types::PyBytes>() {
            bytes.as_bytes().to_vec()
        } else if let Ok(text) = data.extract::<String>() {
            text.into_bytes()
        } else {
            return Err(invalid("data", "must be bytes or str"));
        };
        let format = format.parse::<ImportFormat>().map_err(py_err)?;
        let mode = mode.parse::<ImportMode>().map_err(py_err)?;
        let kind = kind.parse::<ImportKind>().map_err(py_err)?;
        let imports = self.engine.imports();
        let job = self.run(
            py,
            imports.start(
                user_id.into(),
                ImportRequest {
                    kind,
                    format,
                    mode,
                    data,
                },
            ),
        )?;
        if background {
            let running = job.import().clone();
            // How it ended, or why it stopped, is kept with the import: `get_import` reads it.
            self.runtime.spawn(job.run());
            return running.out(py);
        }
        self.out(py, job.run())
    }

    /// One of the user's imports: its report.
    #[pyo3(signature = (*, user_id, import_id))]
    fn get_import(&self, py: Python<'_>, user_id: Uuid, import_id: Uuid) -> PyResult<Py<PyAny>> {
        let imports = self.engine.imports();
        self.out(py, imports.get(user_id.into(), import_id.into()))
    }

    /// Puts a post on its account's next free slot (see `set_schedule`); `allow_duplicate=True`
    /// as for `create_post`.
    #[pyo3(signature = (*, user_id, post_id, allow_duplicate = false))]
    fn queue_post(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        post_id: Uuid,
        allow_duplicate: bool,
    ) -> PyResult<Py<PyAny>> {
        let posts = self.engine.posts();
        let duplicates = Duplicates::allowed(allow_duplicate);
        self.out(py, posts.queue(user_id.into(), post_id.into(), duplicates))
    }

    /// The account's posting schedule: `{account_id, time_zone, slots: ["mon 09:00", …]}`.
    #[pyo3(signature = (*, user_id, account_id))]
    fn get_schedule(&self, py: Python<'_>, user_id: Uuid, account_id: Uuid) -> PyResult<Py<PyAny>> {
        let schedules = self.engine.schedules();
        self.out(py, schedules.get(user_id.into(), account_id.into()))
    }

    /// Replaces the account's posting schedule: weekly local times (`"mon 09:00"`) in
    /// `time_zone` (default: the merchant's). Posts keep their times.
    #[pyo3(signature = (*, user_id, account_id, slots, time_zone = None))]
    fn set_schedule(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        account_id: Uuid,
        slots: Vec<String>,
        time_zone: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let schedules = self.engine.schedules();
        self.out(
            py,
            schedules.set(
                user_id.into(),
                account_id.into(),
                time_zone.as_deref(),
                &slots,
            ),
        )
    }

    /// The account's slots in `[from_, to)`: `{slots: [{at, posts: [post ids]}], off_slot:
    /// [post ids the queue put on a slot the schedule no longer has]}`.
    #[pyo3(signature = (*, user_id, account_id, from_, to))]
    fn slots(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        account_id: Uuid,
        from_: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PyResult<Py<PyAny>> {
        let schedules = self.engine.schedules();
        self.out(
            py,
            schedules.slots(user_id.into(), account_id.into(), from_, to),
        )
    }

    /// Schedules (or reschedules) a post; `allow_duplicate=True` as for `create_post`.
    #[pyo3(signature = (*, user_id, post_id, scheduled_for, allow_duplicate = false))]
    fn schedule_post(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        post_id: Uuid,
        scheduled_for: DateTime<Utc>,
        allow_duplicate: bool,
    ) -> PyResult<Py<PyAny>> {
        let posts = self.engine.posts();
        let duplicates = Duplicates::allowed(allow_duplicate);
        self.out(
            py,
            posts.schedule(user_id.into(), post_id.into(), scheduled_for, duplicates),
        )
    }

    /// Holds a scheduled post back before its time, `reason` becoming its `error_message`; no
    /// worker publishes it until it is resumed or scheduled again.
    #[pyo3(signature = (*, user_id, post_id, reason))]
    fn pause_post(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        post_id: Uuid,
        reason: String,
    ) -> PyResult<Py<PyAny>> {
        let posts = self.engine.posts();
        self.out(py, posts.pause(user_id.into(), post_id.into(), &reason))
    }

    /// Resumes a paused post at its own time (a `ValidationError` on `scheduled_for` once that
    /// has passed: use `schedule_post`); `allow_duplicate=True` as for `create_post`;
    /// `regenerate_caption=True` writes its caption anew from its queue item's product as it is
    /// now.
    #[pyo3(signature = (*, user_id, post_id, allow_duplicate = false, regenerate_caption = false))]
    fn resume_post(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        post_id: Uuid,
        allow_duplicate: bool,
        regenerate_caption: bool,
    ) -> PyResult<Py<PyAny>> {
        let posts = self.engine.posts();
        let duplicates = Duplicates::allowed(allow_duplicate);
        let caption = ResumeCaption::regenerated(regenerate_caption);
        self.out(
            py,
            posts.resume(user_id.into(), post_id.into(), duplicates, caption),
        )
    }

    /// The user's posts, newest first: `{items, total, page, per_page, next}`.
    #[pyo3(signature = (*, user_id, status = None, platform = None, page = 1, per_page = 20, after = None))]
    fn list_posts(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        status: Option<&str>,
        platform: Option<&str>,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let filter = PostFilter {
            status: parse(status)?,
            platform: parse(platform)?,
        };
        let request = page_request(page, per_page, after.as_deref())?;
        self.out(
            py,
            self.engine.posts().list(user_id.into(), filter, request),
        )
    }

    /// Posts with a time between two local dates (inclusive) in `tz`, by date (`"YYYY-MM-DD"`).
    #[pyo3(signature = (*, user_id, start_date, end_date, tz = "UTC"))]
    fn calendar(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        start_date: NaiveDate,
        end_date: NaiveDate,
        tz: &str,
    ) -> PyResult<Py<PyAny>> {
        let tz: chrono_tz::Tz = tz
            .parse()
            .map_err(|_| invalid("tz", "is not an IANA time zone name"))?;
        let posts = self.engine.posts();
        self.out(py, posts.calendar(user_id.into(), start_date, end_date, tz))
    }

    // ---- queue -----------------------------------------------------------------------------

    /// Adds a pending queue item with product data.
    #[pyo3(signature = (*, user_id, product_data, platforms, content = None, hashtags = Vec::new(), platform_captions = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_queue_item(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        product_data: &Bound<'_, PyAny>,
        platforms: Vec<String>,
        content: Option<String>,
        hashtags: Vec<String>,
        platform_captions: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let request = CreateQueueItem {
            product_data: convert::product(product_data)?,
            platforms: parse_platforms(&platforms).map_err(py_err)?,
            content,
            hashtags,
            platform_captions: platform_captions
                .map(convert::platform_captions)
                .transpose()?
                .unwrap_or_default(),
        };
        self.out(py, self.engine.queue().create(user_id.into(), request))
    }

    /// Adds a pending item whose caption is generated from the product — or, with a
    /// `template_id`, that template filled from the product.
    #[pyo3(signature = (*, user_id, product_data, platforms, tone = None, template_id = None))]
    fn generate(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        product_data: &Bound<'_, PyAny>,
        platforms: Vec<String>,
        tone: Option<&str>,
        template_id: Option<Uuid>,
    ) -> PyResult<Py<PyAny>> {
        let product = convert::product(product_data)?;
        let platforms = parse_platforms(&platforms).map_err(py_err)?;
        let tone = parse(tone)?;
        let queue = self.engine.queue();
        let template = template_id.map(Into::into);
        self.out(
            py,
            queue.generate_with(user_id.into(), product, platforms, tone, template),
        )
    }

    // ---- caption templates --------------------------------------------------------------------

    /// Saves a caption template, checked (placeholders known; filled from a sample product, it
    /// fits each of `platforms`, every platform when empty).
    #[pyo3(signature = (*, user_id, name, body, platforms = Vec::new(), tone = None))]
    fn create_template(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        name: String,
        body: String,
        platforms: Vec<String>,
        tone: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let fields = postpilot_core::template::CreateTemplate {
            name,
            body,
            platforms: Platform::parse_list(&platforms).map_err(py_err)?,
            tone: parse(tone)?,
        };
        let templates = self.engine.templates();
        self.out(py, templates.create(user_id.into(), fields))
    }

    /// One of the user's templates.
    #[pyo3(signature = (*, user_id, template_id))]
    fn get_template(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        template_id: Uuid,
    ) -> PyResult<Py<PyAny>> {
        let templates = self.engine.templates();
        self.out(py, templates.get(user_id.into(), template_id.into()))
    }

    /// The user's templates, oldest first.
    #[pyo3(signature = (*, user_id, page = 1, per_page = 20, after = None))]
    fn list_templates(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let request = page_request(page, per_page, after.as_deref())?;
        let templates = self.engine.templates();
        self.out(py, templates.list(user_id.into(), request))
    }

    /// Changes what is given of a template, checked as when saved.
    /// `clear_tone=True` removes its tone.
    #[pyo3(signature = (*, user_id, template_id, name = None, body = None, platforms = None, tone = None, clear_tone = false))]
    #[allow(clippy::too_many_arguments)]
    fn update_template(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        template_id: Uuid,
        name: Option<String>,
        body: Option<String>,
        platforms: Option<Vec<String>>,
        tone: Option<&str>,
        clear_tone: bool,
    ) -> PyResult<Py<PyAny>> {
        let patch = postpilot_core::template::TemplatePatch {
            name,
            body,
            platforms: platforms
                .map(|p| Platform::parse_list(p).map_err(py_err))
                .transpose()?,
            tone: if clear_tone {
                Some(None)
            } else {
                parse(tone)?.map(Some)
            },
        };
        let templates = self.engine.templates();
        self.out(
            py,
            templates.update(user_id.into(), template_id.into(), patch),
        )
    }

    /// Deletes a template.
    #[pyo3(signature = (*, user_id, template_id))]
    fn delete_template(&self, py: Python<'_>, user_id: Uuid, template_id: Uuid) -> PyResult<()> {
        let templates = self.engine.templates();
        self.run(py, templates.delete(user_id.into(), template_id.into()))
    }

    /// Approves a pending item into one post per account: `{"item": …, "posts": […]}`.
    /// With `scheduled_for` the posts are scheduled then; with `slot="next"` each goes on its
    /// account's next free slot; with neither they are drafts.
    #[pyo3(signature = (*, user_id, item_id, account_ids, scheduled_for = None, slot = None))]
    fn approve(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        item_id: Uuid,
        account_ids: Vec<Uuid>,
        scheduled_for: Option<DateTime<Utc>>,
        slot: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let placement = match (scheduled_for, slot) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "slot",
                    "give either scheduled_for or slot, not both",
                ));
            }
            (None, Some("next")) => Placement::NextSlot,
            (None, Some(_)) => return Err(invalid("slot", "must be \"next\"")),
            (Some(at), None) => Placement::At(at),
            (None, None) => Placement::Draft,
        };
        let request = ApproveItem {
            account_ids: account_ids.into_iter().map(AccountId::from).collect(),
            placement,
        };
        let queue = self.engine.queue();
        self.out(py, queue.approve(user_id.into(), item_id.into(), request))
    }

    /// Rejects a pending item.
    #[pyo3(signature = (*, user_id, item_id, reason = None))]
    fn reject(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        item_id: Uuid,
        reason: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let queue = self.engine.queue();
        self.out(py, queue.reject(user_id.into(), item_id.into(), reason))
    }

    /// One of the user's queue items.
    #[pyo3(signature = (*, user_id, item_id))]
    fn get_queue_item(&self, py: Python<'_>, user_id: Uuid, item_id: Uuid) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.queue().get(user_id.into(), item_id.into()))
    }

    /// Edits a pending item.
    #[pyo3(signature = (*, user_id, item_id, ai_generated_content = None, hashtags = None, platform_captions = None, platforms = None, product_data = None))]
    #[allow(clippy::too_many_arguments)]
    fn update_queue_item(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        item_id: Uuid,
        ai_generated_content: Option<String>,
        hashtags: Option<Vec<String>>,
        platform_captions: Option<&Bound<'_, PyAny>>,
        platforms: Option<Vec<String>>,
        product_data: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let patch = QueueItemPatch {
            ai_generated_content,
            hashtags,
            platform_captions: platform_captions
                .map(convert::platform_captions)
                .transpose()?,
            platforms: platforms
                .map(|p| parse_platforms(&p))
                .transpose()
                .map_err(py_err)?,
            product_data: product_data.map(convert::product).transpose()?,
        };
        let queue = self.engine.queue();
        self.out(py, queue.update(user_id.into(), item_id.into(), patch))
    }

    /// Deletes a pending or rejected item.
    #[pyo3(signature = (*, user_id, item_id))]
    fn delete_queue_item(&self, py: Python<'_>, user_id: Uuid, item_id: Uuid) -> PyResult<()> {
        self.run(
            py,
            self.engine.queue().delete(user_id.into(), item_id.into()),
        )
    }

    /// Writes a new caption for a rejected item and puts it back to pending.
    #[pyo3(signature = (*, user_id, item_id, tone = None))]
    fn regenerate(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        item_id: Uuid,
        tone: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let tone = parse(tone)?;
        let queue = self.engine.queue();
        self.out(py, queue.regenerate(user_id.into(), item_id.into(), tone))
    }

    /// The user's queue, newest first.
    #[pyo3(signature = (*, user_id, status = None, page = 1, per_page = 20, after = None))]
    fn list_queue(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        status: Option<&str>,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let status = parse(status)?;
        let request = page_request(page, per_page, after.as_deref())?;
        self.out(
            py,
            self.engine.queue().list(user_id.into(), status, request),
        )
    }

    // ---- analytics, billing, keys, usage ------------------------------------------------------

    /// Totals over the user's published posts.
    #[pyo3(signature = (*, user_id))]
    fn analytics_overview(&self, py: Python<'_>, user_id: Uuid) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.analytics().overview(user_id.into()))
    }

    /// One post's metrics (zeros until fetched).
    #[pyo3(signature = (*, user_id, post_id))]
    fn analytics_post(&self, py: Python<'_>, user_id: Uuid, post_id: Uuid) -> PyResult<Py<PyAny>> {
        let analytics = self.engine.analytics();
        self.out(py, analytics.post(user_id.into(), post_id.into()))
    }

    /// Metrics of the user's posts, most recently published first.
    #[pyo3(signature = (*, user_id, page = 1, per_page = 20, after = None))]
    fn analytics_posts(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let request = page_request(page, per_page, after.as_deref())?;
        self.out(py, self.engine.analytics().posts(user_id.into(), request))
    }

    /// The user's plan and subscription state.
    #[pyo3(signature = (*, user_id))]
    fn subscription(&self, py: Python<'_>, user_id: Uuid) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.billing().subscription(user_id.into()))
    }

    /// A link to the billing provider's customer portal.
    #[pyo3(signature = (*, user_id))]
    fn portal(&self, py: Python<'_>, user_id: Uuid) -> PyResult<String> {
        self.run(py, self.engine.billing().portal(user_id.into()))
    }

    /// Every plan and its limits (`-1`: unlimited).
    fn plans(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.engine.billing().plans().out(py)
    }

    /// Starts a checkout (mock billing: the plan is active at once).
    #[pyo3(signature = (*, user_id, plan))]
    fn checkout(&self, py: Python<'_>, user_id: Uuid, plan: &str) -> PyResult<Py<PyAny>> {
        let plan = plan.parse().map_err(py_err)?;
        self.out(py, self.engine.billing().checkout(user_id.into(), plan))
    }

    /// Registers a webhook endpoint; the returned `secret` (`whsec_…`) is shown this once. The
    /// URL must resolve only to public addresses.
    #[pyo3(signature = (*, user_id, url, event_types = Vec::new(), description = String::new()))]
    fn create_webhook_endpoint(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        url: String,
        event_types: Vec<String>,
        description: String,
    ) -> PyResult<Py<PyAny>> {
        let request = NewEndpointRequest {
            url,
            event_types,
            description,
        };
        let endpoints = self.engine.endpoints();
        self.out(py, endpoints.create(user_id.into(), request))
    }

    /// The user's webhook endpoints, oldest first (never their secrets).
    #[pyo3(signature = (*, user_id))]
    fn list_webhook_endpoints(&self, py: Python<'_>, user_id: Uuid) -> PyResult<Py<PyAny>> {
        let endpoints = self.run(py, self.engine.endpoints().list(user_id.into()))?;
        endpoints.as_slice().out(py)
    }

    /// One of the user's webhook endpoints.
    #[pyo3(signature = (*, user_id, endpoint_id))]
    fn get_webhook_endpoint(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        endpoint_id: Uuid,
    ) -> PyResult<Py<PyAny>> {
        let endpoints = self.engine.endpoints();
        self.out(py, endpoints.get(user_id.into(), endpoint_id.into()))
    }

    /// Edits a webhook endpoint; `enabled=False` stops deliveries, `True` starts them again.
    #[pyo3(signature = (*, user_id, endpoint_id, url = None, event_types = None, description = None, enabled = None))]
    fn update_webhook_endpoint(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        endpoint_id: Uuid,
        url: Option<String>,
        event_types: Option<Vec<String>>,
        description: Option<String>,
        enabled: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        let patch = EndpointPatch {
            url,
            event_types,
            description,
            enabled,
        };
        let endpoints = self.engine.endpoints();
        self.out(
            py,
            endpoints.update(user_id.into(), endpoint_id.into(), patch),
        )
    }

    /// Gives a webhook endpoint a new `secret` (returned, shown this once); the old one keeps
    /// signing beside it for 24 hours.
    #[pyo3(signature = (*, user_id, endpoint_id))]
    fn rotate_webhook_endpoint_secret(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        endpoint_id: Uuid,
    ) -> PyResult<Py<PyAny>> {
        let endpoints = self.engine.endpoints();
        self.out(
            py,
            endpoints.rotate_secret(user_id.into(), endpoint_id.into()),
        )
    }

    /// Deletes a webhook endpoint.
    #[pyo3(signature = (*, user_id, endpoint_id))]
    fn delete_webhook_endpoint(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        endpoint_id: Uuid,
    ) -> PyResult<()> {
        let endpoints = self.engine.endpoints();
        self.run(py, endpoints.delete(user_id.into(), endpoint_id.into()))
    }

    /// A webhook endpoint's delivery log, newest first; `status="dead"` lists its dead letters.
    #[pyo3(signature = (*, user_id, endpoint_id, status = None, page = 1, per_page = 20, after = None))]
    fn list_webhook_deliveries(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        endpoint_id: Uuid,
        status: Option<&str>,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let status = parse(status)?;
        let request = page_request(page, per_page, after.as_deref())?;
        let endpoints = self.engine.endpoints();
        self.out(
            py,
            endpoints.deliveries(user_id.into(), endpoint_id.into(), status, request),
        )
    }

    /// Sends a delivered or dead delivery again, under the same event id; its retry schedule
    /// starts over. `ConflictError` while it is still pending.
    #[pyo3(signature = (*, user_id, endpoint_id, delivery_id))]
    fn resend_webhook_delivery(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        endpoint_id: Uuid,
        delivery_id: Uuid,
    ) -> PyResult<Py<PyAny>> {
        let endpoints = self.engine.endpoints();
        self.out(
            py,
            endpoints.resend(user_id.into(), endpoint_id.into(), delivery_id.into()),
        )
    }

    /// Makes the operator's endpoint — one endpoint receiving every merchant's events — the one
    /// described: `url`, signed with `secret` (`whsec_…`, yours), receiving `event_types`
    /// (empty: all). Call it at every start; a new secret rotates (both sign for 24 hours).
    #[pyo3(signature = (*, url, secret, event_types = Vec::new()))]
    fn configure_operator_endpoint(
        &self,
        py: Python<'_>,
        url: String,
        secret: String,
        event_types: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        let endpoints = self.engine.endpoints();
        self.out(py, async move {
            endpoints
                .configure_operator(url, &secret, &event_types)
                .await
        })
    }

    /// Removes the operator's endpoint and its deliveries, if there is one.
    fn remove_operator_endpoint(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, self.engine.endpoints().remove_operator())
    }

    /// The operator endpoint's delivery log, newest first; `status="dead"`: its dead letters.
    #[pyo3(signature = (*, status = None, page = 1, per_page = 20, after = None))]
    fn list_operator_deliveries(
        &self,
        py: Python<'_>,
        status: Option<&str>,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let (operator, endpoint) = (OPERATOR.as_uuid(), OPERATOR_ENDPOINT.as_uuid());
        self.list_webhook_deliveries(py, operator, endpoint, status, page, per_page, after)
    }

    /// Sends one of the operator endpoint's delivered or dead deliveries again.
    #[pyo3(signature = (*, delivery_id))]
    fn resend_operator_delivery(&self, py: Python<'_>, delivery_id: Uuid) -> PyResult<Py<PyAny>> {
        let (operator, endpoint) = (OPERATOR.as_uuid(), OPERATOR_ENDPOINT.as_uuid());
        self.resend_webhook_delivery(py, operator, endpoint, delivery_id)
    }

    /// Creates an API key; the returned `key` is shown this once.
    #[pyo3(signature = (*, user_id, name, scopes = Vec::new()))]
    fn create_api_key(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        name: String,
        scopes: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        let keys = self.engine.api_keys();
        self.out(py, keys.create(user_id.into(), &name, &scopes))
    }

    /// The user's API keys (never the keys themselves).
    #[pyo3(signature = (*, user_id, page = 1, per_page = 20, after = None))]
    fn list_api_keys(
        &self,
        py: Python<'_>,
        user_id: Uuid,
        page: u32,
        per_page: u32,
        after: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let request = page_request(page, per_page, after.as_deref())?;
        self.out(py, self.engine.api_keys().list(user_id.into(), request))
    }

    /// Revokes an API key.
    #[pyo3(signature = (*, user_id, key_id))]
    fn revoke_api_key(&self, py: Python<'_>, user_id: Uuid, key_id: Uuid) -> PyResult<()> {
        self.run(
            py,
            self.engine.api_keys().revoke(user_id.into(), key_id.into()),
        )
    }

    /// Posts this month and connected accounts against the plan's limits.
    #[pyo3(signature = (*, user_id))]
    fn usage(&self, py: Python<'_>, user_id: Uuid) -> PyResult<Py<PyAny>> {
        self.out(py, self.engine.usage().usage(user_id.into()))
    }

    // ---- publishing ---------------------------------------------------------------------------

    /// Publishes what is due now (one worker tick); returns what happened. `retry_base_delay`
    /// (seconds, doubled per failure) and `max_attempts` set the retry policy.
    #[pyo3(signature = (*, retry_base_delay = 30.0, max_attempts = 5))]
    fn run_due(
        &self,
        py: Python<'_>,
        retry_base_delay: f64,
        max_attempts: u32,
    ) -> PyResult<Py<PyAny>> {
        let worker = self.dispatcher("python", retry_base_delay, max_attempts)?;
        self.out(py, worker.run_once())
    }

    /// Starts a publication worker on a background thread (no-op if one runs).
    #[pyo3(signature = (*, poll_interval = 1.0, retry_base_delay = 30.0, max_attempts = 5))]
    fn start_worker(
        &self,
        poll_interval: f64,
        retry_base_delay: f64,
        max_attempts: u32,
    ) -> PyResult<()> {
        let mut slot = self.worker_slot()?;
        if slot.is_some() {
            return Ok(());
        }
        let poll_interval = positive_seconds("poll_interval", poll_interval)?;
        let dispatcher = self.dispatcher("python-worker", retry_base_delay, max_attempts)?;
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        #[allow(clippy::cast_possible_truncation)]
        let config = WorkerConfig {
            poll_interval: chrono::Duration::milliseconds((poll_interval * 1000.0) as i64),
            ..WorkerConfig::default()
        };
        let handle = self.runtime.spawn(async move {
            dispatcher
                .run_until(config, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        });
        *slot = Some(Worker { stop, handle });
        Ok(())
    }

    /// Stops the background worker (once the posts in flight are settled); returns its totals, or None.
    fn stop_worker(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Some(worker) = self.worker_slot()?.take() else {
            return Ok(None);
        };
        let _ = worker.stop.send(true);
        let totals = py
            .detach(|| self.runtime.block_on(worker.handle))
            .map_err(unavailable)?;
        totals.out(py).map(Some)
    }
}

/// The native module.
#[pymodule]
fn _postpilot(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Engine>()?;
    m.add("PostPilotError", py.get_type::<PostPilotError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("PlanLimitError", py.get_type::<PlanLimitError>())?;
    m.add(
        "InvalidTransitionError",
        py.get_type::<InvalidTransitionError>(),
    )?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add("PublishingCapError", py.get_type::<PublishingCapError>())?;
    m.add("DuplicatePostError", py.get_type::<DuplicatePostError>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("UnavailableError", py.get_type::<UnavailableError>())?;
    m.add("PublishRejected", py.get_type::<PublishRejected>())?;
    m.add("AuthExpired", py.get_type::<AuthExpired>())?;
    m.add("RateLimited", py.get_type::<RateLimited>())?;
    m.add("CaptionRefused", py.get_type::<CaptionRefused>())?;
    Ok(())
}
