//! Fresh databases for tests (feature `testing`): every call creates a new database on the
//! server named by `DATABASE_URL`, applies the migrations, and returns a store on it, so tests
//! never share state. Run the tests through `.ci/with-postgres`, which provides a throwaway server.

use uuid::Uuid;

use crate::{ConnectError, PgStore, PoolConfig};

use crate::status::{PlatformSql, PostStatusSql};

/// The server every test database is created on.
///
/// # Panics
/// When `DATABASE_URL` is not set: the Postgres tests need a server, and skipping them silently
/// would hide that they did not run. Use `bash .ci/with-postgres cargo test …`.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set: run the Postgres tests through \
             `bash .ci/with-postgres cargo test -p postpilot-sqlx`"
        )
    })
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Creates an empty database (no migrations) and returns its URL.
///
/// # Errors
/// The server is unreachable or refuses.
pub async fn fresh_database_url() -> Result<String, ConnectError> {
    use sqlx::{Connection, Executor};
    let server = server_url();
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .map_err(|e| ConnectError::Unreachable(Box::new(e)))?;
    let name = format!("postpilot_test_{}", Uuid::new_v4().simple());
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .map_err(|e| ConnectError::Unreachable(Box::new(e)))?;
    Ok(with_database(&server, &name))
}

/// A store on a new, migrated database.
///
/// # Panics
/// When the server is unreachable or the migrations fail: a test cannot go on without it.
pub async fn fresh_store() -> PgStore {
    let url = fresh_database_url()
        .await
        .unwrap_or_else(|e| panic!("creating a test database: {e}"));
    let config = PoolConfig {
        max_connections: 20,
        ..PoolConfig::default()
    };
    PgStore::connect_and_migrate(&url, &config)
        .await
        .unwrap_or_else(|e| panic!("migrating a test database: {e}"))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_keeping_host_and_options() {
        assert_eq!(
            with_database(
                "postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable",
                "t1"
            ),
            "postgres://u:p@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://127.0.0.1:5432", "t2"),
            "postgres://127.0.0.1:5432/t2"
        );
    }
}

/// A publisher for multi-process tests: every publication is a row in `test_publications` of
/// the test database, so any process can `lookup` what any other published — including one
/// killed right after the platform call. Publishing the same key twice makes two rows, which is
/// what the chaos tests look for.
#[derive(Debug, Clone)]
pub struct PgRecordingPublisher {
    pool: sqlx::PgPool,
    latency: std::time::Duration,
    answer_after: std::time::Duration,
}

impl PgRecordingPublisher {
    /// A publisher on `pool` whose every publish takes `latency` before the post exists and
    /// `answer_after` more before it answers (the window in which a crash leaves a published post
    /// uncommitted); creates its table if needed.
    ///
    /// # Errors
    /// The table could not be created.
    pub async fn install(
        pool: sqlx::PgPool,
        latency: std::time::Duration,
        answer_after: std::time::Duration,
    ) -> Result<Self, sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS test_publications (\
                 remote_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), \
                 idempotency_key text NOT NULL, \
                 published_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        )
        .execute(&pool)
        .await?;
        Ok(Self {
            pool,
            latency,
            answer_after,
        })
    }

    /// How many publications each idempotency key got, for keys published more than once.
    ///
    /// # Errors
    /// The query failed.
    pub async fn duplicates(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT idempotency_key, count(*) FROM test_publications \
             GROUP BY idempotency_key HAVING count(*) > 1",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// Publications in all.
    ///
    /// # Errors
    /// The query failed.
    pub async fn total(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM test_publications")
            .fetch_one(&self.pool)
            .await
    }
}

fn unavailable(e: sqlx::Error) -> postpilot_core::publish::PublishError {
    postpilot_core::publish::PublishError::Retryable {
        reason: e.to_string(),
        after: None,
    }
}

#[async_trait::async_trait]
impl postpilot_core::publish::Publisher for PgRecordingPublisher {
    async fn publish(
        &self,
        request: &postpilot_core::publish::PublishRequest,
    ) -> Result<postpilot_core::publish::Progress, postpilot_core::publish::PublishError> {
        tokio::time::sleep(self.latency).await;
        let remote_id: Uuid = sqlx::query_scalar(
            "INSERT INTO test_publications (idempotency_key) VALUES ($1) RETURNING remote_id",
        )
        .bind(&request.idempotency_key)
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        tokio::time::sleep(self.answer_after).await;
        Ok(postpilot_core::publish::Progress::Published(
            postpilot_core::post::Published {
                remote_id: remote_id.to_string(),
                url: None,
            },
        ))
    }

    async fn lookup(
        &self,
        idempotency_key: &str,
    ) -> Result<Option<postpilot_core::post::Published>, postpilot_core::publish::PublishError>
    {
        let found: Option<Uuid> = sqlx::query_scalar(
            "SELECT remote_id FROM test_publications WHERE idempotency_key = $1 \
             ORDER BY published_at LIMIT 1",
        )
        .bind(idempotency_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(found.map(|id| postpilot_core::post::Published {
            remote_id: id.to_string(),
            url: None,
        }))
    }

    async fn fetch_metrics(
        &self,
        _request: &postpilot_core::publish::MetricsRequest,
    ) -> Result<postpilot_core::analytics::MetricCounts, postpilot_core::publish::PublishError>
    {
        Ok(postpilot_core::analytics::MetricCounts::default())
    }
}

/// A merchant, a Facebook account, and `count` posts all due at `due` (one instant), loaded in
/// one statement.
///
/// # Panics
/// When the database refuses.
pub async fn seed_due_posts(store: &PgStore, count: i64, due: chrono::DateTime<chrono::Utc>) {
    let (user, account) = (Uuid::new_v4(), Uuid::new_v4());
    let run = |sql: &'static str| sqlx::query(sql);
    run("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ($1, $2, 'x', now(), now())")
        .bind(user)
        .bind(format!("{user}@example.com"))
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    run("INSERT INTO social_accounts (id, user_id, platform, account_name, account_id_external, created_at) \
         VALUES ($1, $2, $3, 'herd', $1::text, now())")
    .bind(account)
    .bind(user)
    .bind(PlatformSql::Facebook)
    .execute(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    run("INSERT INTO posts (id, user_id, account_id, platform, content, status, scheduled_for, created_at, updated_at) \
         SELECT gen_random_uuid(), $1, $2, $5, 'post ' || n, $6, $3, now(), now() \
         FROM generate_series(1, $4) AS n")
    .bind(user)
    .bind(account)
    .bind(due)
    .bind(count)
    .bind(PlatformSql::Facebook)
    .bind(PostStatusSql::Scheduled)
    .execute(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Posts not yet published.
///
/// # Panics
/// When the database refuses.
pub async fn unposted(store: &PgStore) -> i64 {
    try_unposted(store).await.unwrap_or_else(|e| panic!("{e}"))
}

/// Posts not yet published, or the database's error (a connection the server dropped fails the
/// one call that finds it: poll with this across a restart).
///
/// # Errors
/// The database refused or the connection was lost.
pub async fn try_unposted(store: &PgStore) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM posts WHERE status <> $1")
        .bind(PostStatusSql::Posted)
        .fetch_one(store.pool())
        .await
}
