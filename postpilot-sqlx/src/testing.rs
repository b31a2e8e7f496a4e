//! Fresh databases for tests (feature `testing`): every call creates a new database on the
//! server named by `DATABASE_URL`, applies the migrations, and returns a store on it, so tests
//! never share state. Run the tests through `.ci/with-postgres`, which provides a throwaway server.

use uuid::Uuid;

use crate::{ConnectError, PgStore, PoolConfig};

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
