//! Database errors mapped to store errors by constraint name; driver text never leaves this crate
//! except as the logged source of [`StoreError::Unavailable`].

use postpilot_core::store::{Conflict, StoreError};
use sqlx::error::ErrorKind;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `DATABASE_URL` is not a PostgreSQL URL.
    #[error("the database URL is not a valid postgres:// URL")]
    InvalidUrl,
    /// The database did not answer (down, wrong host or credentials, timeout).
    #[error("the database is unreachable")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Migrations are missing: the schema is older than this build.
    #[error(
        "the database schema is behind this build (applied: {}, expected: {latest}); run `postpilot-server migrate`",
        applied.map_or_else(|| "none".to_owned(), |v| v.to_string())
    )]
    SchemaBehind {
        /// The newest migration applied, if any.
        applied: Option<i64>,
        /// The newest migration this build embeds.
        latest: i64,
    },
    /// Applying the migrations failed.
    #[error("applying migrations failed")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The domain rule a unique constraint enforces. Constraint names are this crate's stable API
/// and stop here: callers see only the [`Conflict`].
fn conflict_of(constraint: &str) -> Conflict {
    match constraint {
        "users_email_key" => Conflict::Email,
        "users_external_platform_id_key" => Conflict::ExternalPlatformId,
        "subscriptions_stripe_subscription_id_key" => Conflict::ProviderSubscription,
        "api_keys_key_hash_key" => Conflict::ApiKeyHash,
        "refresh_tokens_token_hash_key" => Conflict::RefreshTokenHash,
        "posts_account_slot_key" => Conflict::SlotTaken,
        "users_pkey"
        | "social_accounts_pkey"
        | "content_queue_pkey"
        | "posts_pkey"
        | "api_keys_pkey"
        | "refresh_tokens_pkey"
        | "publication_attempts_pkey"
        | "webhook_endpoints_pkey" => Conflict::DuplicateId,
        _ => Conflict::Other,
    }
}

/// A row that no longer parses into its domain type (edited by hand, or a bug).
#[derive(Debug, thiserror::Error)]
#[error("corrupt {table} row: {reason}")]
pub(crate) struct CorruptRow {
    pub(crate) table: &'static str,
    pub(crate) reason: String,
}

pub(crate) fn corrupt(table: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Unavailable(Box::new(CorruptRow {
        table,
        reason: reason.to_string(),
    }))
}

/// Maps a driver error: unique violations to [`StoreError::Conflict`] by constraint,
/// foreign-key violations (a missing owner or parent) to [`StoreError::NotFound`], everything
/// else to [`StoreError::Unavailable`].
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.kind() {
            ErrorKind::UniqueViolation => {
                return StoreError::Conflict(conflict_of(db.constraint().unwrap_or_default()));
            }
            ErrorKind::ForeignKeyViolation => return StoreError::NotFound,
            _ => {}
        }
    }
    if matches!(e, sqlx::Error::RowNotFound) {
        return StoreError::NotFound;
    }
    StoreError::Unavailable(Box::new(e))
}

/// Converts a stored non-negative count.
pub(crate) fn count(table: &'static str, n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| corrupt(table, format!("negative count {n}")))
}

/// Converts a count for storage.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_constraints_map_to_the_rule_they_enforce_and_unknown_ones_to_other() {
        assert_eq!(conflict_of("users_email_key"), Conflict::Email);
        assert_eq!(conflict_of("posts_pkey"), Conflict::DuplicateId);
        assert_eq!(conflict_of("a_constraint_added_later"), Conflict::Other);
    }

    #[test]
    fn a_conflict_reaches_callers_without_a_constraint_name() {
        for name in [
            "users_email_key",
            "api_keys_key_hash_key",
            "posts_pkey",
            "x_key",
        ] {
            let said = postpilot_core::Error::from(StoreError::Conflict(conflict_of(name)));
            let said = said.to_string();
            assert!(!said.contains("_key") && !said.contains("pkey"), "{said}");
        }
    }
}
