//! Users, their e-mail addresses, and the refresh tokens of their sessions.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ValidationError;
use crate::aggregate::aggregate;
use crate::id::{RefreshTokenId, TokenFamilyId, UserId};
use crate::text::{self, CharClass, WHITE_SPACE};

/// Longest accepted e-mail address, in characters (RFC 5321's path limit less the brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// What the local part of an address may hold besides dots: printable ASCII but
/// `"(),.:;<>@[\]`.
const EMAIL_LOCAL: CharClass = CharClass::new(&[
    ('!', '!'),
    ('#', '\''),
    ('*', '+'),
    ('-', '-'),
    ('/', '9'),
    ('=', '='),
    ('?', '?'),
    ('A', 'Z'),
    ('^', '~'),
]);

/// An IANA time zone name (`Europe/Paris`, `UTC`) as the value of `field`.
///
/// # Errors
/// A [`ValidationError`] on `field` naming what was given when no zone has that name.
pub fn parse_time_zone(field: &'static str, name: &str) -> Result<Tz, ValidationError> {
    name.trim()
        .parse()
        .map_err(|_| ValidationError::new(field, format!("{name} is not an IANA time zone name")))
}

/// A normalised e-mail address: trimmed, lower case, ASCII `local@domain.tld`, at most
/// [`MAX_EMAIL_CHARS`] characters as sent. The local part has 1 to 64 characters and neither
/// starts nor ends with a dot; internationalised domains are given in their `xn--` form.
///
/// Consecutive dots in the local part (`a..b@`, RFC 5322's obsolete syntax) are accepted: the
/// rule could not be said in the OpenAPI document's pattern together with the 64-character limit,
/// and the limit is the one mail servers enforce.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Validates and normalises an address.
    ///
    /// # Errors
    /// `email` is not a plausible address.
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValidationError> {
        let invalid = || {
            Err(ValidationError::new(
                "email",
                "is not a valid e-mail address",
            ))
        };
        if text.as_ref().chars().count() > MAX_EMAIL_CHARS {
            return invalid();
        }
        let email = text.as_ref().trim();
        if !email.bytes().all(|b| b.is_ascii_graphic()) {
            return invalid();
        }
        let email = email.to_ascii_lowercase();
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid();
        };
        let domain_ok = domain.contains('.')
            && domain
                .split('.')
                .all(|label| text::is_host_label(label, MAX_EMAIL_CHARS));
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && local.chars().all(|c| c == '.' || EMAIL_LOCAL.contains(c));
        if !(domain_ok && local_ok) {
            return invalid();
        }
        Ok(Self(email))
    }

    /// An address as stored, or as typed at login: trimmed and lower-cased but not validated, so
    /// that an address accepted under an earlier build's rules still loads and still logs in.
    pub fn normalized(text: impl AsRef<str>) -> Self {
        Self(text.as_ref().trim().to_lowercase())
    }

    /// The JSON Schema `pattern` of an address as a client sends it (see [`crate::text`]); the
    /// length is `maxLength` [`MAX_EMAIL_CHARS`].
    pub fn pattern() -> String {
        let ws = WHITE_SPACE.regex_ranges();
        let c = EMAIL_LOCAL.regex_ranges();
        let label = text::host_label_pattern(MAX_EMAIL_CHARS);
        format!("^[{ws}]*[{c}](?:[{c}.]{{0,62}}[{c}])?@{label}(?:\\.{label})+[{ws}]*$")
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

aggregate! {
    /// A PostPilot user (a merchant).
    /// Its fields are read through methods and changed only by its transitions; [UserRecord]
    /// loads one from storage.
    #[derive(Clone, PartialEq, Eq)]
    pub struct User / UserRecord {
        /// Id.
        id: copy UserId,
        /// Login and contact address.
        email: by_ref Email,
        /// PHC string (argon2id), or a legacy bcrypt hash until the next login rehashes it.
        password_hash: string,
        /// The billing provider's customer id.
        stripe_customer_id: option_string,
        /// The dropshipping platform's user id, for provisioned users.
        external_platform_id: copy Option<Uuid>,
        /// The dropshipping platform's store id.
        external_store_id: copy Option<Uuid>,
        /// The merchant's time zone: the calendar's days and the times they type are in it.
        time_zone: copy Tz,
        /// Which product changes pause the merchant's scheduled posts of that product.
        pause_on: copy crate::post::PauseOn,
        /// The session epoch: access tokens carry the epoch they were issued in and stop working when it moves on (logout everywhere, a new password or e-mail).
        session_epoch: copy i64,
        /// Creation time.
        created_at: copy DateTime<Utc>,
        /// Last change.
        updated_at: copy DateTime<Utc>,
    }
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

aggregate! {
    /// A stored refresh token: only its SHA-256 is kept. Tokens rotate on every use; all tokens
    /// descending from one login share a family, revoked whole when a used token is presented again.
    /// Its fields are read through methods and changed only by its transitions; [RefreshTokenRecord]
    /// loads one from storage.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct RefreshToken / RefreshTokenRecord {
        /// Id.
        id: copy RefreshTokenId,
        /// Owner.
        user_id: copy UserId,
        /// The login session it belongs to.
        family_id: copy TokenFamilyId,
        /// Hex SHA-256 of the raw token.
        token_hash: string,
        /// Issue time.
        created_at: copy DateTime<Utc>,
        /// Expiry.
        expires_at: copy DateTime<Utc>,
        /// When it was exchanged for a new one.
        used_at: copy Option<DateTime<Utc>>,
        /// When its family was revoked.
        revoked_at: copy Option<DateTime<Utc>>,
    }
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
    fn an_address_from_an_earlier_rule_still_normalises_for_lookup() {
        assert!(Email::parse("José@Example.com").is_err());
        assert_eq!(
            Email::normalized(" José@Example.com ").as_ref(),
            "josé@example.com"
        );
        assert_eq!(Email::normalized("A@B.co"), Email::parse("A@B.co").unwrap());
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
            "a@-x.com",
            "a@x..com",
            "ü@example.com",
            "a@bücher.de",
            "a(b)@example.com",
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
            time_zone: Tz::UTC,
            pause_on: crate::post::PauseOn::Both,
            session_epoch: 0,
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
        fn the_email_pattern_accepts_exactly_the_valid_addresses(
            local in crate::text::tests::edgy_text(6),
            at in prop::sample::select(vec!["@", "", "@@"]),
            domain in crate::text::tests::edgy_text(6),
            tld in prop::sample::select(vec![".com", ".x-y", "", ".", ".-a"]),
        ) {
            let text = format!("{local}{at}{domain}{tld}");
            crate::text::tests::agrees(&Email::pattern(), &text, Email::parse(&text).is_ok())?;
        }

        #[test]
        fn the_email_pattern_counts_the_local_part_and_the_whole(local in 62usize..67, padding in 0usize..3) {
            let local = format!("a{}", ".b".repeat(local / 2)).chars().take(local).collect::<String>();
            let text = format!("{}{local}@example.com", " ".repeat(padding));
            crate::text::tests::agrees(&Email::pattern(), &text, Email::parse(&text).is_ok())?;
            let long = format!("{}a@{}.com", " ".repeat(padding), "b".repeat(248));
            let regex = regex::Regex::new(&Email::pattern()).unwrap();
            prop_assert_eq!(
                regex.is_match(&long) && long.chars().count() <= MAX_EMAIL_CHARS,
                Email::parse(&long).is_ok()
            );
        }

        #[test]
        fn email_parsing_never_panics(text in "\\PC{0,300}") {
            let _ = Email::parse(text);
        }
    }
}
