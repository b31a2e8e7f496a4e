//! Users, their e-mail addresses, and the refresh tokens of their sessions.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ValidationError;
use crate::id::{RefreshTokenId, TokenFamilyId, UserId};

/// A normalised e-mail address: trimmed, lower case, `local@domain.tld`, at most 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Validates and normalises an address.
    ///
    /// # Errors
    /// `email` is not a plausible address.
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValidationError> {
        let email = text.as_ref().trim().to_lowercase();
        let invalid = || {
            Err(ValidationError::new(
                "email",
                "is not a valid e-mail address",
            ))
        };
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid();
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid();
        };
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && !local.contains(['"', '(', ')', ',', ':', ';', '<', '>', '[', '\\', ']']);
        if !(domain_ok && local_ok) {
            return invalid();
        }
        Ok(Self(email))
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A PostPilot user (a merchant).
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login and contact address.
    pub email: Email,
    /// PHC string (argon2id), or a legacy bcrypt hash until the next login rehashes it.
    pub password_hash: String,
    /// The billing provider's customer id.
    pub stripe_customer_id: Option<String>,
    /// The dropshipping platform's user id, for provisioned users.
    pub external_platform_id: Option<Uuid>,
    /// The dropshipping platform's store id.
    pub external_store_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &"***")
            .field("external_platform_id", &self.external_platform_id)
            .field("external_store_id", &self.external_store_id)
            .finish_non_exhaustive()
    }
}

/// A stored refresh token: only its SHA-256 is kept. Tokens rotate on every use; all tokens
/// descending from one login share a family, revoked whole when a used token is presented again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// Id.
    pub id: RefreshTokenId,
    /// Owner.
    pub user_id: UserId,
    /// The login session it belongs to.
    pub family_id: TokenFamilyId,
    /// Hex SHA-256 of the raw token.
    pub token_hash: String,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for a new one.
    pub used_at: Option<DateTime<Utc>>,
    /// When its family was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The token that replaces a presented refresh token in its family, if the presented one is
/// fresh. Owner and family come from the presented token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Successor {
    /// Id of the new token.
    pub id: RefreshTokenId,
    /// Hex SHA-256 of the new raw token.
    pub token_hash: String,
    /// Expiry of the new token.
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshUse {
    /// Valid: it is now marked used and its successor is stored (returned here), atomically.
    Fresh(RefreshToken),
    /// Already used (a replay, or a stolen token): the whole family is now revoked.
    Reused {
        /// The family that was revoked.
        family_id: TokenFamilyId,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Merchant@Example.COM ").unwrap().as_ref(),
            "merchant@example.com"
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@-x.com",
            "a@x..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_users_debug_output_hides_the_password_hash() {
        let user = User {
            id: UserId::from(Uuid::nil()),
            email: Email::parse("a@example.com").unwrap(),
            password_hash: "$argon2id$secret".into(),
            stripe_customer_id: None,
            external_platform_id: None,
            external_store_id: None,
            created_at: DateTime::default(),
            updated_at: DateTime::default(),
        };
        assert!(!format!("{user:?}").contains("argon2id"));
    }

    proptest! {
        #[test]
        fn an_accepted_email_is_normalised_and_round_trips(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-zA-Z0-9-]{1,10}\\.[a-z]{2,6}") {
            if let Ok(email) = Email::parse(format!("{local}@{domain}")) {
                prop_assert_eq!(email.as_ref(), email.as_ref().to_lowercase());
                prop_assert_eq!(Email::parse(email.as_ref()).unwrap(), email.clone());
            }
        }

        #[test]
        fn email_parsing_never_panics(text in "\\PC{0,300}") {
            let _ = Email::parse(text);
        }
    }
}
