//! A merchant's connection to one Instagram, Facebook or TikTok account.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ValidationError;
use crate::aggregate::aggregate;
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

/// An account's OAuth tokens, sealed by the [`TokenCipher`](crate::crypto::TokenCipher), and
/// when the access token expires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealedTokens {
    /// The sealed access token.
    pub access: Option<String>,
    /// The sealed refresh token.
    pub refresh: Option<String>,
    /// When the access token expires, when the platform said.
    pub expires_at: Option<DateTime<Utc>>,
}

aggregate! {
    /// A connected (or formerly connected) social account. Tokens are stored only sealed by the
    /// [`TokenCipher`](crate::crypto::TokenCipher) and are never serialised.
    /// Its fields are read through methods and changed only by its transitions; [SocialAccountRecord]
    /// loads one from storage.
    #[derive(Clone, PartialEq, Eq, Serialize)]
    pub struct SocialAccount / SocialAccountRecord {
        /// Id.
        id: copy AccountId,
        /// Owner.
        user_id: copy UserId,
        /// Platform.
        platform: copy Platform,
        /// Display name.
        account_name: by_ref AccountName,
        /// The platform's id of the account; unique per owner and platform.
        account_id_external: by_ref ExternalAccountId,
        /// Sealed OAuth access token.
        access_token_enc: option_string => skip,
        /// Sealed OAuth refresh token.
        refresh_token_enc: option_string => skip,
        /// When the access token expires, when the platform said (refreshed ahead of it).
        token_expires_at: copy Option<DateTime<Utc>> => skip,
        /// Whether it is connected (only connected accounts count toward the plan limit).
        is_connected: copy bool,
        /// Set when the platform rejected its authorisation: the merchant must reconnect.
        needs_reconnect: copy bool,
        /// The posts per rolling 24 hours its platform reported for it (Instagram's
        /// `content_publishing_limit`), when read.
        publishing_cap: copy Option<u32> => skip,
        /// When `publishing_cap` was read.
        publishing_cap_read_at: copy Option<DateTime<Utc>> => skip,
        /// When it was last connected.
        connected_at: copy Option<DateTime<Utc>>,
        /// Record creation time.
        created_at: copy DateTime<Utc>,
    }
}

impl SocialAccount {
    /// A newly connected account, without tokens until they are sealed under its stored id
    /// ([`set_sealed_tokens`](Self::set_sealed_tokens)).
    pub fn connect(
        id: AccountId,
        user_id: UserId,
        platform: Platform,
        account_name: AccountName,
        account_id_external: ExternalAccountId,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            user_id,
            platform,
            account_name,
            account_id_external,
            access_token_enc: None,
            refresh_token_enc: None,
            token_expires_at: None,
            is_connected: true,
            needs_reconnect: false,
            publishing_cap: None,
            publishing_cap_read_at: None,
            connected_at: Some(now),
            created_at: now,
        }
    }

    /// Disconnects: no longer connected, and its tokens erased (they are never restored).
    pub fn disconnect(&mut self) {
        self.is_connected = false;
        self.access_token_enc = None;
        self.refresh_token_enc = None;
        self.token_expires_at = None;
    }

    /// The platform refused its authorisation: it must be reconnected before it takes posts.
    pub fn require_reconnect(&mut self) {
        self.needs_reconnect = true;
    }

    /// Whether the publishing cap its platform reports for it is unknown or was read before
    /// `stale_before`.
    pub fn publishing_cap_is_stale(&self, stale_before: DateTime<Utc>) -> bool {
        self.publishing_cap_read_at
            .is_none_or(|at| at < stale_before)
    }

    /// Records the publishing cap its platform reported for it, read at `at`.
    pub fn record_publishing_cap(&mut self, posts: u32, at: DateTime<Utc>) {
        self.publishing_cap = Some(posts);
        self.publishing_cap_read_at = Some(at);
    }

    /// Replaces the sealed OAuth tokens and the access token's expiry.
    pub fn set_sealed_tokens(&mut self, tokens: SealedTokens) {
        self.access_token_enc = tokens.access;
        self.refresh_token_enc = tokens.refresh;
        self.token_expires_at = tokens.expires_at;
    }

    /// Its sealed tokens and their expiry.
    pub fn sealed_tokens(&self) -> SealedTokens {
        SealedTokens {
            access: self.access_token_enc.clone(),
            refresh: self.refresh_token_enc.clone(),
            expires_at: self.token_expires_at,
        }
    }

    /// Whether the account can take posts: connected and not awaiting reconnection.
    ///
    /// # Errors
    /// The account is disconnected or its authorisation expired (reported on `account_id`).
    pub fn ensure_publishable(&self) -> Result<(), ValidationError> {
        if !self.is_connected || self.needs_reconnect {
            return Err(ValidationError::new(
                "account_id",
                "the account is disconnected or its authorization expired; reconnect it first",
            ));
        }
        Ok(())
    }
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
