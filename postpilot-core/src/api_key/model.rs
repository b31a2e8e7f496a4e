//! API key values and records.

use std::fmt;

use crate::crypto::hex_sha256;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::ValidationError;
use crate::aggregate::aggregate;
use crate::id::{ApiKeyId, UserId};
use crate::names::named_enum;

/// Every key starts with this.
pub const KEY_PREFIX: &str = "po_live_";
const SECRET_BYTES: usize = 32;
/// Length of the base64url body of a key (32 bytes, unpadded).
const BODY_LEN: usize = 43;
/// How many characters of a key are stored and shown to identify it.
const VISIBLE_PREFIX_LEN: usize = 12;

/// A raw API key, as the client holds it. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// A new key from 32 bytes of operating-system randomness.
    ///
    /// # Errors
    /// The system random generator failed.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!(
            "{KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// Checks the shape of a presented key (prefix, 43 base64url characters).
    ///
    /// # Errors
    /// `api_key` is not shaped like a PostPilot key.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let body = text
            .strip_prefix(KEY_PREFIX)
            .ok_or_else(|| ValidationError::new("api_key", "is not a PostPilot API key"))?;
        if body.len() != BODY_LEN
            || !body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ValidationError::new(
                "api_key",
                "is not a PostPilot API key",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// Hex SHA-256 of the key: what is stored and looked up.
    pub fn hash(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }

    /// The visible prefix shown in lists (`po_live_AbCd`).
    pub fn visible_prefix(&self) -> String {
        self.0.chars().take(VISIBLE_PREFIX_LEN).collect()
    }

    /// The key itself; shown once, at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.visible_prefix())
    }
}

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read posts, calendar.
    PostsRead,
    /// Create, edit, schedule, delete posts.
    PostsWrite,
    /// Read the content queue.
    QueueRead,
    /// Create, generate, approve, reject queue items.
    QueueWrite,
    /// List accounts.
    AccountsRead,
    /// Connect and disconnect accounts.
    AccountsWrite,
    /// Read analytics and usage.
    AnalyticsRead,
    /// List webhook endpoints.
    WebhooksRead,
    /// Register, edit, rotate and delete webhook endpoints.
    WebhooksWrite,
}

named_enum!(Scope, field = "scopes", exact {
    PostsRead => "posts:read",
    PostsWrite => "posts:write",
    QueueRead => "queue:read",
    QueueWrite => "queue:write",
    AccountsRead => "accounts:read",
    AccountsWrite => "accounts:write",
    AnalyticsRead => "analytics:read",
    WebhooksRead => "webhooks:read",
    WebhooksWrite => "webhooks:write",
});

impl Scope {
    /// Parses a list of scope names; duplicates removed; empty means every scope.
    ///
    /// # Errors
    /// `scopes` names an unknown scope.
    pub fn parse_list<I, S>(names: I) -> Result<Vec<Self>, ValidationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = crate::names::parse_set(names)?;
        if scopes.is_empty() {
            return Ok(Self::ALL.to_vec());
        }
        Ok(scopes)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A key's label, 1–255 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct ApiKeyName(String);

impl ApiKeyName {
    /// Validates a key name.
    ///
    /// # Errors
    /// `name` is blank, too long, or has control characters.
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValidationError> {
        crate::text::parse_label("name", text.as_ref()).map(Self)
    }
}

impl AsRef<str> for ApiKeyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<ApiKeyName> for String {
    fn from(value: ApiKeyName) -> Self {
        value.0
    }
}

aggregate! {
    /// A stored API key (never the key itself).
    /// Its fields are read through methods and changed only by its transitions; [ApiKeyRecord]
    /// loads one from storage.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub struct ApiKey / ApiKeyRecord {
        /// Id.
        id: copy ApiKeyId,
        /// Owner.
        user_id: copy UserId,
        /// Label.
        name: by_ref ApiKeyName,
        /// The first characters of the key, to recognise it.
        prefix: string,
        /// Hex SHA-256 of the key.
        key_hash: string => skip,
        /// What it may do.
        scopes: list Scope,
        /// False once revoked.
        is_active: copy bool,
        /// Last successful authentication.
        last_used_at: copy Option<DateTime<Utc>>,
        /// Creation time.
        created_at: copy DateTime<Utc>,
    }
}

impl ApiKey {
    /// A new active key for `secret`, storing only its visible prefix and hash.
    pub fn issue(
        id: ApiKeyId,
        user_id: UserId,
        name: ApiKeyName,
        secret: &ApiKeySecret,
        scopes: Vec<Scope>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            user_id,
            name,
            prefix: secret.visible_prefix(),
            key_hash: secret.hash(),
            scopes,
            is_active: true,
            last_used_at: None,
            created_at: now,
        }
    }

    /// Revokes the key: it never authenticates again.
    pub fn revoke(&mut self) {
        self.is_active = false;
    }

    /// Records a successful authentication at `at`.
    pub fn record_use(&mut self, at: DateTime<Utc>) {
        self.last_used_at = Some(at);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_generated_key_has_the_prefix_and_32_random_bytes() {
        let key = ApiKeySecret::generate().unwrap();
        assert!(key.expose().starts_with(KEY_PREFIX));
        assert_eq!(key.expose().len(), KEY_PREFIX.len() + BODY_LEN);
        assert_ne!(key, ApiKeySecret::generate().unwrap());
        assert_eq!(ApiKeySecret::parse(key.expose()).unwrap(), key);
    }

    #[test]
    fn the_stored_hash_is_the_sha256_of_the_key() {
        let key = ApiKeySecret::parse(&format!("{KEY_PREFIX}{}", "A".repeat(BODY_LEN))).unwrap();
        assert_eq!(key.hash().len(), 64);
        assert_eq!(key.hash(), hex_sha256(key.expose().as_bytes()));
        assert_eq!(key.visible_prefix(), "po_live_AAAA");
    }

    #[test]
    fn a_keys_debug_output_shows_only_its_prefix() {
        let key = ApiKeySecret::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.expose()));
        assert!(shown.contains(&key.visible_prefix()));
    }

    #[test]
    fn keys_of_the_wrong_shape_are_refused() {
        for bad in [
            "",
            "po_live_",
            "po_test_AAAA",
            &format!("po_live_{}", "A".repeat(42)),
            &format!("po_live_{}!", "A".repeat(42)),
        ] {
            assert!(ApiKeySecret::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_empty_scope_list_means_every_scope() {
        assert_eq!(
            Scope::parse_list(Vec::<String>::new()).unwrap(),
            Scope::ALL.to_vec()
        );
        assert_eq!(
            Scope::parse_list(["posts:read", "posts:read"]).unwrap(),
            vec![Scope::PostsRead]
        );
        assert!(Scope::parse_list(["admin"]).is_err());
    }

    proptest! {
        #[test]
        fn key_parsing_never_panics_and_accepts_only_the_exact_shape(text in "\\PC{0,80}") {
            if let Ok(key) = ApiKeySecret::parse(&text) {
                prop_assert!(key.expose().starts_with(KEY_PREFIX));
                prop_assert_eq!(key.expose().len(), KEY_PREFIX.len() + BODY_LEN);
            }
        }
    }
}
