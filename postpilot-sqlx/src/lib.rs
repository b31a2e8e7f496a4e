#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod accounts;
mod api_keys;
mod attempts;
mod counters;
mod endpoints;
mod error;
mod events;
mod fetch;
mod guard;
mod idempotency;
mod imports;
mod metrics;
mod posts;
mod queue;
mod schedules;
mod status;
mod subscriptions;
mod templates;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod users;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use postpilot_core::store::{Store, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use counters::CounterRepair;
pub use error::ConnectError;

/// The embedded migrations (`postpilot-sqlx/migrations`), applied in order by [`PgStore::migrate`].
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connection-pool settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most open connections (default 10).
    pub max_connections: u32,
    /// Connections kept open when idle (default 0).
    pub min_connections: u32,
    /// How long a caller waits for a free connection before the store reports itself unavailable
    /// (default 5 s).
    pub acquire_timeout: Duration,
    /// Idle connections are closed after this long (default 10 min).
    pub idle_timeout: Duration,
    /// Any statement running longer is cancelled by the server (default 30 s).
    pub statement_timeout: Duration,
    /// Ping every connection before handing it out (default false). A ping is a round trip per
    /// store call; without it a connection the server dropped (a restart) fails the one call
    /// that finds it, is discarded, and the caller's retry gets a fresh one.
    pub test_before_acquire: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
            statement_timeout: Duration::from_secs(30),
            test_before_acquire: false,
        }
    }
}

/// Every storage port of `postpilot-core` on PostgreSQL. Cheap to clone (it shares the pool).
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    due: Arc<DueSignal>,
}

/// `LISTEN postpilot_due`, forwarded to waiting workers. The listener task starts with the first
/// wait and reconnects on its own.
#[derive(Debug, Default)]
pub(crate) struct DueSignal {
    notify: tokio::sync::Notify,
    listening: std::sync::OnceLock<()>,
}

impl DueSignal {
    fn start(self: &Arc<Self>, pool: &PgPool) {
        self.listening.get_or_init(|| {
            let signal = Arc::downgrade(self);
            let pool = pool.clone();
            tokio::spawn(async move {
                loop {
                    let Ok(mut listener) = sqlx::postgres::PgListener::connect_with(&pool).await
                    else {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    };
                    if listener.listen("postpilot_due").await.is_err() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    loop {
                        let received = listener.recv().await;
                        let Some(signal) = signal.upgrade() else {
                            return;
                        };
                        // A lost connection also wakes the workers: they look again.
                        signal.notify.notify_waiters();
                        if received.is_err() {
                            break;
                        }
                    }
                }
            });
        });
    }
}

impl PgStore {
    /// Connects to `url` with `config` and checks that the schema is current.
    ///
    /// # Errors
    /// [`ConnectError::InvalidUrl`], [`ConnectError::Unreachable`], or
    /// [`ConnectError::SchemaBehind`] when migrations are missing (run [`PgStore::migrate`]).
    pub async fn connect(url: &str, config: &PoolConfig) -> Result<Self, ConnectError> {
        let store = Self::connect_unchecked(url, config).await?;
        store.check_schema().await?;
        Ok(store)
    }

    /// Connects and applies any missing migrations.
    ///
    /// # Errors
    /// As [`PgStore::connect`], or [`ConnectError::Migration`].
    pub async fn connect_and_migrate(url: &str, config: &PoolConfig) -> Result<Self, ConnectError> {
        let store = Self::connect_unchecked(url, config).await?;
        store.migrate().await?;
        Ok(store)
    }

    async fn connect_unchecked(url: &str, config: &PoolConfig) -> Result<Self, ConnectError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConnectError::InvalidUrl);
        }
        let options: PgConnectOptions = url.parse().map_err(|_| ConnectError::InvalidUrl)?;
        let timeout_ms = config.statement_timeout.as_millis().to_string();
        // Generic plans always, and no parallel workers (DECISIONS 100). Every statement is
        // written for a generic plan: a list has a statement per filter combination, so its plan
        // reads the index that matches. Left to choose, PostgreSQL re-plans the paged lists on
        // every execution (their `LIMIT $n` makes the generic plan look costlier than a custom
        // one), and planning a page cost twice what running it did. A generic plan guesses a
        // tenth of the table for `LIMIT $n`, and on a large table that guess asks for parallel
        // workers: starting them cost the metrics page 4 of its 6 ms at 1,000,000 posts, where
        // every statement here reads a page's worth of rows.
        let options = options.application_name("postpilot").options([
            ("statement_timeout", timeout_ms.as_str()),
            ("plan_cache_mode", "force_generic_plan"),
            ("max_parallel_workers_per_gather", "0"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .idle_timeout(config.idle_timeout)
            .test_before_acquire(config.test_before_acquire)
            .connect_with(options)
            .await
            .map_err(|e| ConnectError::Unreachable(Box::new(e)))?;
        Ok(Self::from_pool(pool))
    }

    /// A store over an existing pool (the caller is responsible for the schema, and for the
    /// session settings [`PgStore::connect`] makes: `statement_timeout`,
    /// `plan_cache_mode = force_generic_plan`, without which PostgreSQL plans a page of a list
    /// again on every request, and `max_parallel_workers_per_gather = 0`).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            due: Arc::default(),
        }
    }

    pub(crate) async fn wait_due(&self, max: Duration) -> bool {
        self.due.start(&self.pool);
        tokio::time::timeout(max, self.due.notify.notified())
            .await
            .is_ok()
    }

    /// The pool, for health checks and for running SQL next to the store.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations that are missing. Safe to run concurrently from several
    /// processes (sqlx takes an advisory lock).
    ///
    /// # Errors
    /// [`ConnectError::Migration`].
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| ConnectError::Migration(Box::new(e)))
    }

    /// Checks that every embedded migration has been applied.
    ///
    /// # Errors
    /// [`ConnectError::SchemaBehind`] naming the versions applied and expected;
    /// [`ConnectError::Unreachable`] when the database does not answer.
    pub async fn check_schema(&self) -> Result<(), ConnectError> {
        let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            match sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
            {
                Ok(version) => version,
                // No migrations table: nothing applied yet.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => None,
                Err(e) => return Err(ConnectError::Unreachable(Box::new(e))),
            };
        if applied.unwrap_or(0) < latest {
            return Err(ConnectError::SchemaBehind { applied, latest });
        }
        Ok(())
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(error::store_error)
    }
}
