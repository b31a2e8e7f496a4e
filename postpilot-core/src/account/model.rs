//! A merchant's connection to one Instagram, Facebook or TikTok account.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ValidationError;
use crate::id::{AccountId, UserId};
use crate::platform::Platform;
use crate::text;

/// The account's display name on its platform (e.g. `@mybrand`), 1–255 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct AccountName(String);

impl AccountName {
    /// Validates a display name.
    ///
    /// # Errors
    /// `account_name` is blank, too long or has control characters.
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValidationError> {
        text::parse_label("account_name", text.as_ref()).map(Self)
    }
}

/// The platform's own id of the account, 1–255 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct ExternalAccountId(String);

impl ExternalAccountId {
    /// Validates an external id.
    ///
    /// # Errors
    /// `account_id_external` is blank, too long or has control characters.
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValidationError> {
        text::parse_label("account_id_external", text.as_ref()).map(Self)
    }
}

macro_rules! string_like {
    ($($t:ty),*) => {$(
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str { &self.0 }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl From<$t> for String {
            fn from(value: $t) -> Self { value.0 }
        }
    )*};
}
string_like!(AccountName, ExternalAccountId);

/// A request to connect an account.
#[derive(Clone, Debug)]
pub struct ConnectAccount {
    /// The platform.
    pub platform: Platform,
    /// Display name.
    pub account_name: AccountName,
    /// The platform's id of the account.
    pub account_id_external: ExternalAccountId,
    /// The OAuth access token the platform granted (sealed before storage).
    pub access_token: Option<crate::crypto::SecretString>,
    /// The OAuth refresh token (sealed before storage).
    pub refresh_token: Option<crate::crypto::SecretString>,
}

/// A connected (or formerly connected) social account. Tokens are stored only sealed by the
/// [`TokenCipher`](crate::crypto::TokenCipher) and are never serialised.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct SocialAccount {
    /// Id.
    pub id: AccountId,
    /// Owner.
    pub user_id: UserId,
    /// Platform.
    pub platform: Platform,
    /// Display name.
    pub account_name: AccountName,
    /// The platform's id of the account; unique per owner and platform.
    pub account_id_external: ExternalAccountId,
    /// Sealed OAuth access token.
    #[serde(skip)]
    pub access_token_enc: Option<String>,
    /// Sealed OAuth refresh token.
    #[serde(skip)]
    pub refresh_token_enc: Option<String>,
    /// Whether it is connected (only connected accounts count toward the plan limit).
    pub is_connected: bool,
    /// Set when the platform rejected its authorisation: the merchant must reconnect.
    pub needs_reconnect: bool,
    /// When it was last connected.
    pub connected_at: Option<DateTime<Utc>>,
    /// Record creation time.
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for SocialAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocialAccount")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("platform", &self.platform)
            .field("account_name", &self.account_name)
            .field("account_id_external", &self.account_id_external)
            .field("is_connected", &self.is_connected)
            .field("needs_reconnect", &self.needs_reconnect)
            .finish_non_exhaustive()
    }
}
