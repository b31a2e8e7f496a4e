//! Secrets at rest: the [`TokenCipher`] port (social OAuth tokens, sealed with an AEAD) and the
//! [`PasswordHasher`] port (argon2id, verifying legacy bcrypt), with their built-in
//! implementations. Every comparison of secrets here is constant-time.

mod cipher;
mod gate;
mod password;

use std::fmt;

use async_trait::async_trait;

use crate::id::{AccountId, UserId};

pub use cipher::{KeyId, XChaChaTokenCipher};
pub use gate::HashConcurrency;
pub(crate) use gate::{HashGate, HashSlot};
pub use password::{Argon2Hasher, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, Password};

/// Hex SHA-256 of `bytes` (stored token hashes, content-hashed asset names).
pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// 32 random bytes from the operating system, base64url without padding (43 characters): a
/// session token, a CSRF token.
///
/// # Errors
/// The operating system's random generator failed.
pub fn random_token() -> Result<String, getrandom::Error> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether two secrets are equal, in time that depends on their lengths only.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Binds a sealed token to its owner: decrypting it under another user or account fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenContext {
    /// The owning user.
    pub user_id: UserId,
    /// The social account the token belongs to.
    pub account_id: AccountId,
}

impl TokenContext {
    /// The context of a webhook endpoint's signing secret: its owner and the endpoint's id in
    /// the place of an account's (ids are random UUIDs, so a secret sealed for an endpoint
    /// cannot open as an account's token, nor as another endpoint's).
    pub fn for_endpoint(user_id: UserId, endpoint: crate::id::EndpointId) -> Self {
        Self {
            user_id,
            account_id: AccountId::from(endpoint.as_uuid()),
        }
    }

    /// The associated data authenticated with the ciphertext.
    pub fn associated_data(&self) -> [u8; 32] {
        let mut aad = [0u8; 32];
        aad[..16].copy_from_slice(self.user_id.as_uuid().as_bytes());
        aad[16..].copy_from_slice(self.account_id.as_uuid().as_bytes());
        aad
    }
}

/// A plaintext secret (an OAuth token) whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// Why a token could not be sealed or opened.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The envelope is not one this cipher wrote (bad format, unknown version).
    #[error("malformed token envelope")]
    Malformed,
    /// The envelope names a key this cipher does not hold.
    #[error("unknown key id {0}")]
    UnknownKey(String),
    /// Authentication failed: tampered ciphertext, wrong key, or wrong owner/account.
    #[error("token failed authentication")]
    Unauthentic,
}

/// Encrypts social OAuth tokens at rest. The envelope names the key that sealed it, so keys can be
/// rotated: new tokens use the current key, old ones still open with retired keys.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenCipher: Send + Sync + fmt::Debug {
    /// Seals `plaintext` for `context`, returning a printable envelope.
    ///
    /// # Errors
    /// Only if the system's random generator fails.
    fn seal(&self, plaintext: &SecretString, context: TokenContext) -> Result<String, CipherError>;

    /// Opens an envelope sealed for `context`.
    ///
    /// # Errors
    /// [`CipherError`]: malformed, unknown key, or failed authentication. Never panics, whatever
    /// the input.
    fn open(&self, envelope: &str, context: TokenContext) -> Result<SecretString, CipherError>;
}

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password (or an unreadable hash).
    Mismatch,
    /// Right password; the hash is current.
    Match,
    /// Right password, but the hash is legacy (bcrypt) or uses old parameters: store a new one.
    MatchNeedsRehash,
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// Hashes and verifies passwords. Hashing is deliberately slow; implementations run it off the
/// async executor.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync + fmt::Debug {
    /// A PHC-format hash of `password` with a fresh salt.
    ///
    /// # Errors
    /// The hashing backend failed.
    async fn hash(&self, password: &Password) -> Result<String, HashError>;

    /// Checks `password` against `stored` (argon2id PHC string, or a legacy `$2a$/$2b$/$2y$`
    /// bcrypt hash). Constant-time in the comparison of digests.
    async fn verify(&self, password: &Password, stored: &str) -> Verification;
}
