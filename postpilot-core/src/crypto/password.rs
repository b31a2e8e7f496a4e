//! [`Password`] and [`Argon2Hasher`]: argon2id PHC hashes, verifying legacy bcrypt ones.

use std::fmt;

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _,
    PasswordVerifier as _, Version,
};
use async_trait::async_trait;
use serde::Deserialize;

use super::{HashError, PasswordHasher, Verification};
use crate::ValidationError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;
const SALT_LEN: usize = 16;

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
const OWASP_PARAMS: Params = match Params::new(19_456, 2, 1, None) {
    Ok(params) => params,
    Err(_) => panic!("invalid OWASP argon2 parameters"),
};

// Stored hashes costlier than these (or than the hasher's own parameters, if higher) are treated
// as mismatches instead of being computed: a corrupted row must not exhaust memory or CPU.
const MAX_VERIFY_M_COST: u32 = 256 * 1024;
const MAX_VERIFY_T_COST: u32 = 16;
const MAX_VERIFY_P_COST: u32 = 16;
const MAX_BCRYPT_COST: u32 = 16;

/// A candidate password: 8 to 128 characters (Unicode scalar values, not bytes). Its `Debug`
/// never shows it and it has no `Display`.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    /// Validates a password's length.
    ///
    /// # Errors
    /// A [`ValidationError`] of field `password` if it has fewer than 8 or more than 128
    /// characters.
    pub fn parse(password: impl Into<String>) -> Result<Self, ValidationError> {
        let password = password.into();
        match password.chars().count() {
            n if n < MIN_PASSWORD_CHARS => Err(ValidationError::new(
                "password",
                "must be at least 8 characters",
            )),
            n if n > MAX_PASSWORD_CHARS => Err(ValidationError::new(
                "password",
                "must be at most 128 characters",
            )),
            _ => Ok(Self(password)),
        }
    }

    /// The password itself; keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Password {
    type Error = ValidationError;

    fn try_from(password: String) -> Result<Self, Self::Error> {
        Self::parse(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The [`PasswordHasher`]: argon2id (version 0x13) PHC strings with a random 16-byte salt.
///
/// Verifies argon2 PHC hashes of any variant or parameters (reporting
/// [`Verification::MatchNeedsRehash`] when they differ from this hasher's) and legacy bcrypt
/// hashes (`$2a$`, `$2b$`, `$2y$`, always `MatchNeedsRehash`). bcrypt only reads a password's
/// first 72 bytes, so a legacy hash also matches any password sharing those 72 bytes; the rehash
/// to argon2id removes that limit. Stored hashes with a cost far above this hasher's (memory
/// over 256 MiB, more than 16 passes or lanes, bcrypt cost over 16) are refused as
/// [`Verification::Mismatch`] rather than computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argon2Hasher {
    params: Params,
}

impl Argon2Hasher {
    /// OWASP's parameters: `m=19456` KiB, `t=2`, `p=1`.
    pub fn owasp() -> Self {
        Self {
            params: OWASP_PARAMS,
        }
    }

    /// Custom parameters: memory in KiB, passes, lanes (cheap ones make tests fast).
    ///
    /// # Errors
    /// Parameters argon2 rejects (e.g. `m_cost < 8 * p_cost`, `t_cost == 0`).
    pub fn with_params(m_cost: u32, t_cost: u32, p_cost: u32) -> Result<Self, HashError> {
        Params::new(m_cost, t_cost, p_cost, None)
            .map(|params| Self { params })
            .map_err(|e| HashError(format!("invalid argon2 parameters: {e}")))
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn verify_now(&self, password: &Password, stored: &str) -> Verification {
        if ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|prefix| stored.starts_with(prefix))
        {
            return verify_bcrypt(password, stored);
        }
        let Ok(hash) = PasswordHash::new(stored) else {
            return Verification::Mismatch;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return Verification::Mismatch;
        };
        let own = &self.params;
        if params.m_cost() > MAX_VERIFY_M_COST.max(own.m_cost())
            || params.t_cost() > MAX_VERIFY_T_COST.max(own.t_cost())
            || params.p_cost() > MAX_VERIFY_P_COST.max(own.p_cost())
        {
            return Verification::Mismatch;
        }
        // Uses the algorithm, version and parameters of `hash`; compares in constant time.
        if Argon2::default()
            .verify_password(password.expose().as_bytes(), &hash)
            .is_err()
        {
            return Verification::Mismatch;
        }
        let current = hash.algorithm == ARGON2ID_IDENT
            && hash.version == Some(Version::V0x13.into())
            && params.m_cost() == own.m_cost()
            && params.t_cost() == own.t_cost()
            && params.p_cost() == own.p_cost()
            && params.keyid().is_empty()
            && params.data().is_empty()
            && params.output_len() == Some(own.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN));
        if current {
            Verification::Match
        } else {
            Verification::MatchNeedsRehash
        }
    }
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self::owasp()
    }
}

fn verify_bcrypt(password: &Password, stored: &str) -> Verification {
    let affordable = stored
        .parse::<bcrypt::HashParts>()
        .is_ok_and(|parts| parts.get_cost() <= MAX_BCRYPT_COST);
    // bcrypt::verify compares digests in constant time.
    if affordable && bcrypt::verify(password.expose(), stored).unwrap_or(false) {
        Verification::MatchNeedsRehash
    } else {
        Verification::Mismatch
    }
}

/// Runs CPU-heavy work on tokio's blocking pool, or inline when called outside a tokio runtime.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(work)
            .await
            .map_err(|e| HashError(format!("hashing task failed: {e}"))),
        Err(_) => Ok(work()),
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let argon2 = self.argon2();
        let password = password.clone();
        run_blocking(move || {
            let mut salt = [0u8; SALT_LEN];
            getrandom::fill(&mut salt)
                .map_err(|e| HashError(format!("random generator failed: {e}")))?;
            argon2
                .hash_password_with_salt(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| HashError(e.to_string()))
        })
        .await?
    }

    async fn verify(&self, password: &Password, stored: &str) -> Verification {
        let hasher = self.clone();
        let password = password.clone();
        let stored = stored.to_owned();
        run_blocking(move || hasher.verify_now(&password, &stored))
            .await
            .unwrap_or(Verification::Mismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn cheap() -> Argon2Hasher {
        Argon2Hasher::with_params(64, 1, 1).unwrap()
    }

    fn password(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_as_a_match() {
        let hasher = cheap();
        let hash = hasher.hash(&password("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert_eq!(
            hasher.verify(&password("correct horse"), &hash).await,
            Verification::Match
        );
    }

    #[tokio::test]
    async fn a_wrong_password_is_a_mismatch() {
        let hasher = cheap();
        let hash = hasher.hash(&password("correct horse")).await.unwrap();
        assert_eq!(
            hasher.verify(&password("correct horsE"), &hash).await,
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_use_different_salts() {
        let hasher = cheap();
        let first = hasher.hash(&password("correct horse")).await.unwrap();
        let second = hasher.hash(&password("correct horse")).await.unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn a_legacy_bcrypt_hash_matches_but_needs_a_rehash() {
        let hasher = cheap();
        let hash = bcrypt::hash("legacy password", 4).unwrap();
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let stored = format!("{prefix}{}", &hash[4..]);
            assert_eq!(
                hasher.verify(&password("legacy password"), &stored).await,
                Verification::MatchNeedsRehash
            );
            assert_eq!(
                hasher.verify(&password("legacy passworD"), &stored).await,
                Verification::Mismatch
            );
        }
    }

    #[tokio::test]
    async fn a_hash_with_other_parameters_or_variant_needs_a_rehash() {
        let old = Argon2Hasher::with_params(32, 1, 1).unwrap();
        let hash = old.hash(&password("correct horse")).await.unwrap();
        assert_eq!(
            cheap().verify(&password("correct horse"), &hash).await,
            Verification::MatchNeedsRehash
        );
        let params = Params::new(64, 1, 1, None).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
            .hash_password_with_salt(b"correct horse", &[1; 16])
            .unwrap()
            .to_string();
        assert_eq!(
            cheap().verify(&password("correct horse"), &argon2i).await,
            Verification::MatchNeedsRehash
        );
    }

    #[tokio::test]
    async fn an_unreadable_or_unaffordable_stored_hash_is_a_mismatch() {
        let hasher = cheap();
        let real = hasher.hash(&password("correct horse")).await.unwrap();
        let (salt_and_hash, _) = real.rsplit_once('$').unwrap();
        let salt = salt_and_hash.rsplit_once('$').unwrap().1;
        let output = real.rsplit_once('$').unwrap().1;
        let bcrypt = bcrypt::hash("correct horse", 4).unwrap();
        let stored_hashes = [
            String::new(),
            "garbage".into(),
            "$".into(),
            "$argon2id$".into(),
            "$argon2id$v=19$m=64,t=1,p=1".into(),
            format!("$argon2id$v=19$m=64,t=1,p=1${salt}"),
            real[..real.len() - 2].to_owned(),
            format!("{real}$extra"),
            format!("$argon2id$v=19$m=64,t=1,p=1,x=1${salt}${output}"),
            format!("$argon2id$v=99$m=64,t=1,p=1${salt}${output}"),
            format!("$scrypt$ln=1,r=8,p=1${salt}${output}"),
            format!("$argon2id$v=19$m=4294967295,t=1,p=1${salt}${output}"),
            format!("$argon2id$v=19$m=64,t=4294967295,p=1${salt}${output}"),
            bcrypt.replacen("$04$", "$31$", 1),
            format!("$2x${}", &bcrypt[4..]),
            bcrypt[..30].to_owned(),
            format!("$2b$04$é{}", &bcrypt[9..]),
            "$argon2id$v=19$m=64,t=1,p=1$é$é".into(),
            "$2b$".repeat(100_000),
        ];
        for stored in stored_hashes {
            assert_eq!(
                hasher.verify(&password("correct horse"), &stored).await,
                Verification::Mismatch,
                "{stored:.80}"
            );
        }
    }

    #[tokio::test]
    async fn the_owasp_hasher_writes_its_parameters_into_the_phc_string() {
        let hasher = Argon2Hasher::owasp();
        assert_eq!(hasher, Argon2Hasher::default());
        let hash = hasher.hash(&password("correct horse")).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            hasher.verify(&password("correct horse"), &hash).await,
            Verification::Match
        );
    }

    #[test]
    fn hashing_and_verifying_work_outside_a_tokio_runtime() {
        fn ready<T>(future: impl Future<Output = T>) -> T {
            match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(value) => value,
                Poll::Pending => panic!("expected the work to run inline"),
            }
        }
        let hasher = cheap();
        let hash = ready(hasher.hash(&password("correct horse"))).unwrap();
        assert_eq!(
            ready(hasher.verify(&password("correct horse"), &hash)),
            Verification::Match
        );
    }

    #[test]
    fn invalid_parameters_are_refused() {
        assert!(Argon2Hasher::with_params(4, 1, 1).is_err());
        assert!(Argon2Hasher::with_params(64, 0, 1).is_err());
        assert!(Argon2Hasher::with_params(64, 1, 0).is_err());
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        for (c, bytes) in [("a", 1), ("é", 2), ("🦀", 4)] {
            for (count, valid) in [(7, false), (8, true), (128, true), (129, false)] {
                let candidate = c.repeat(count);
                assert_eq!(candidate.len(), count * bytes);
                match Password::parse(candidate) {
                    Ok(p) => assert!(valid, "{count} × {c} accepted: {p:?}"),
                    Err(e) => {
                        assert!(!valid, "{count} × {c} refused");
                        assert_eq!(e.field(), "password");
                    }
                }
            }
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let p = password("hunter2hunter2");
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(p.expose(), "hunter2hunter2");
    }

    #[test]
    fn a_password_deserializes_only_when_valid() {
        let p: Password = serde_json::from_str(r#""long enough""#).unwrap();
        assert_eq!(p.expose(), "long enough");
        assert!(serde_json::from_str::<Password>(r#""short""#).is_err());
    }
}
