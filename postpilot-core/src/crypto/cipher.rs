//! [`XChaChaTokenCipher`]: XChaCha20-Poly1305 envelopes for OAuth tokens, with key rotation.
//!
//! An envelope is `v1.<key_id>.<base64url-no-pad(nonce || ciphertext || tag)>`. The associated
//! data binds it to its [`TokenContext`] (user and account) and to its own version and key id.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{
    STANDARD_PAD_INDIFFERENT, URL_SAFE_NO_PAD, URL_SAFE_PAD_INDIFFERENT,
};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::{CipherError, SecretString, TokenCipher, TokenContext};
use crate::ValidationError;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
const MAX_KEY_ID_LEN: usize = 32;
const CONFIG_FIELD: &str = "POSTPILOT_TOKEN_KEY";

/// Names an encryption key: 1 to 32 characters of `A-Z`, `a-z`, `0-9`, `_` and `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Validates a key id.
    ///
    /// # Errors
    /// A [`ValidationError`] of field `token_key` if `id` is empty, too long or has other
    /// characters.
    pub fn parse(id: &str) -> Result<Self, ValidationError> {
        let valid_chars = id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !valid_chars {
            return Err(ValidationError::new(
                "token_key",
                "a key id is 1 to 32 characters of A-Z, a-z, 0-9, `_` or `-`",
            ));
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as written in envelopes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key with its id; its `Debug` shows the id only.
struct NamedKey {
    id: KeyId,
    aead: XChaCha20Poly1305,
}

impl NamedKey {
    fn new(id: KeyId, key: [u8; KEY_LEN]) -> Self {
        Self {
            id,
            aead: XChaCha20Poly1305::new(&Key::from(key)),
        }
    }
}

/// The [`TokenCipher`] built on XChaCha20-Poly1305 with random 24-byte nonces.
///
/// Seals with its current key; opens envelopes of the current key or of any retired key, so keys
/// can be rotated without re-encrypting stored tokens at once. Key bytes are never printed. (They
/// are not zeroed on drop: that would need the `zeroize` crate.)
pub struct XChaChaTokenCipher {
    current: NamedKey,
    retired: Vec<NamedKey>,
}

impl XChaChaTokenCipher {
    /// A cipher sealing and opening with `key`, named `key_id` in envelopes.
    pub fn new(key_id: KeyId, key: [u8; 32]) -> Self {
        Self {
            current: NamedKey::new(key_id, key),
            retired: Vec::new(),
        }
    }

    /// Adds a retired key: it still opens envelopes naming `key_id`, but never seals. A key id
    /// this cipher already holds keeps its earlier key.
    #[must_use]
    pub fn with_retired_key(mut self, key_id: KeyId, key: [u8; 32]) -> Self {
        if self.key(key_id.as_str()).is_none() {
            self.retired.push(NamedKey::new(key_id, key));
        }
        self
    }

    /// A cipher with a fresh random key, e.g. for tests and development.
    ///
    /// # Panics
    /// If the operating system's random generator fails.
    pub fn generate(key_id: KeyId) -> Self {
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key).expect("the system random generator failed");
        Self::new(key_id, key)
    }

    /// Reads the `POSTPILOT_TOKEN_KEY` format: `<key_id>:<base64 of 32 bytes>`, optionally
    /// followed by `,<key_id>:<base64>` retired keys. The first key is the current one. Base64
    /// may be standard or URL-safe, padded or not.
    ///
    /// # Errors
    /// A [`ValidationError`] of field `POSTPILOT_TOKEN_KEY` naming the faulty entry; it never
    /// contains key material.
    pub fn from_config(spec: &str) -> Result<Self, ValidationError> {
        if spec.trim().is_empty() {
            return Err(config_error(
                "is empty; expected `<key_id>:<base64 key>`".into(),
            ));
        }
        let mut cipher: Option<Self> = None;
        for (index, entry) in spec.split(',').enumerate() {
            let n = index + 1;
            let (id, encoded) = entry.trim().split_once(':').ok_or_else(|| {
                config_error(format!(
                    "entry {n} is not of the form `<key_id>:<base64 key>`"
                ))
            })?;
            let id = KeyId::parse(id.trim()).map_err(|_| {
                config_error(format!(
                    "entry {n}: the key id must be 1 to 32 characters of A-Z, a-z, 0-9, `_` or `-`"
                ))
            })?;
            let key = decode_key(encoded.trim()).ok_or_else(|| {
                config_error(format!("entry {n}: the key must be 32 bytes in base64"))
            })?;
            cipher = Some(match cipher {
                None => Self::new(id, key),
                Some(cipher) if cipher.key(id.as_str()).is_some() => {
                    return Err(config_error(format!("entry {n}: key id {id} is repeated")));
                }
                Some(cipher) => cipher.with_retired_key(id, key),
            });
        }
        cipher.ok_or_else(|| config_error("holds no key".into()))
    }

    fn key(&self, id: &str) -> Option<&NamedKey> {
        std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|key| key.id.as_str() == id)
    }
}

fn config_error(reason: String) -> ValidationError {
    ValidationError::new(CONFIG_FIELD, reason)
}

/// Decodes a 32-byte key from standard or URL-safe base64, padded or not.
fn decode_key(encoded: &str) -> Option<[u8; KEY_LEN]> {
    // Room for the decoder's length estimate; anything longer than 32 bytes is rejected below.
    let mut buf = [0u8; KEY_LEN + 16];
    let len = STANDARD_PAD_INDIFFERENT
        .decode_slice(encoded, &mut buf)
        .or_else(|_| URL_SAFE_PAD_INDIFFERENT.decode_slice(encoded, &mut buf))
        .ok()?;
    let key = buf.get(..len)?.try_into().ok();
    buf.fill(0);
    key
}

/// The associated data: the owner context, then the envelope's version and key id.
fn associated_data(context: TokenContext, key_id: &KeyId) -> Vec<u8> {
    let owner = context.associated_data();
    let mut aad = Vec::with_capacity(owner.len() + VERSION.len() + 1 + key_id.as_str().len());
    aad.extend_from_slice(&owner);
    aad.extend_from_slice(VERSION.as_bytes());
    aad.push(b'.');
    aad.extend_from_slice(key_id.as_str().as_bytes());
    aad
}

impl fmt::Debug for XChaChaTokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let retired: Vec<&str> = self.retired.iter().map(|key| key.id.as_str()).collect();
        f.debug_struct("XChaChaTokenCipher")
            .field("current_key", &self.current.id.as_str())
            .field("retired_keys", &retired)
            .finish_non_exhaustive()
    }
}

impl TokenCipher for XChaChaTokenCipher {
    /// # Errors
    /// [`CipherError::Unauthentic`] if the random generator fails (the port has no better
    /// variant); it cannot fail otherwise.
    fn seal(&self, plaintext: &SecretString, context: TokenContext) -> Result<String, CipherError> {
        let key = &self.current;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| CipherError::Unauthentic)?;
        let aad = associated_data(context, &key.id);
        let payload = Payload {
            msg: plaintext.expose().as_bytes(),
            aad: &aad,
        };
        let ciphertext = key
            .aead
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| CipherError::Unauthentic)?;
        let mut body = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(body)
        ))
    }

    fn open(&self, envelope: &str, context: TokenContext) -> Result<SecretString, CipherError> {
        let mut parts = envelope.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CipherError::Malformed);
        };
        let key_id = KeyId::parse(key_id).map_err(|_| CipherError::Malformed)?;
        let key = self
            .key(key_id.as_str())
            .ok_or_else(|| CipherError::UnknownKey(key_id.to_string()))?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CipherError::Malformed)?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(CipherError::Malformed);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| CipherError::Malformed)?;
        let aad = associated_data(context, &key_id);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plaintext = key
            .aead
            .decrypt(&nonce, payload)
            .map_err(|_| CipherError::Unauthentic)?;
        String::from_utf8(plaintext)
            .map(SecretString::new)
            .map_err(|_| CipherError::Malformed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::id::{AccountId, UserId};

    const KEY_A: [u8; 32] = [7; 32];
    const KEY_B: [u8; 32] = [9; 32];

    fn id(s: &str) -> KeyId {
        KeyId::parse(s).unwrap()
    }

    fn context(user: u128, account: u128) -> TokenContext {
        TokenContext {
            user_id: UserId::from_uuid(Uuid::from_u128(user)),
            account_id: AccountId::from_uuid(Uuid::from_u128(account)),
        }
    }

    fn cipher() -> XChaChaTokenCipher {
        XChaChaTokenCipher::new(id("a"), KEY_A)
    }

    fn secret(s: &str) -> SecretString {
        SecretString::new(s)
    }

    #[test]
    fn a_sealed_token_opens_to_the_same_plaintext() {
        let cipher = cipher();
        let envelope = cipher.seal(&secret("oauth-token"), context(1, 2)).unwrap();
        assert!(envelope.starts_with("v1.a."));
        assert!(envelope.is_ascii());
        let opened = cipher.open(&envelope, context(1, 2)).unwrap();
        assert_eq!(opened.expose(), "oauth-token");
    }

    #[test]
    fn opening_under_another_user_or_account_is_unauthentic() {
        let cipher = cipher();
        let envelope = cipher.seal(&secret("oauth-token"), context(1, 2)).unwrap();
        assert_eq!(
            cipher.open(&envelope, context(3, 2)),
            Err(CipherError::Unauthentic)
        );
        assert_eq!(
            cipher.open(&envelope, context(1, 3)),
            Err(CipherError::Unauthentic)
        );
    }

    #[test]
    fn a_tampered_ciphertext_is_unauthentic() {
        let cipher = cipher();
        let envelope = cipher.seal(&secret("oauth-token"), context(1, 2)).unwrap();
        let (prefix, body) = envelope.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            let tampered = format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(
                cipher.open(&tampered, context(1, 2)),
                Err(CipherError::Unauthentic)
            );
            bytes[i] ^= 1;
        }
    }

    #[test]
    fn swapping_the_key_id_to_another_known_key_is_unauthentic() {
        // Same key bytes under both ids: only the key id in the associated data differs.
        let cipher = XChaChaTokenCipher::new(id("a"), KEY_A).with_retired_key(id("b"), KEY_A);
        let envelope = cipher.seal(&secret("oauth-token"), context(1, 2)).unwrap();
        let swapped = envelope.replacen("v1.a.", "v1.b.", 1);
        assert_eq!(
            cipher.open(&swapped, context(1, 2)),
            Err(CipherError::Unauthentic)
        );
    }

    #[test]
    fn an_unknown_key_id_is_reported() {
        let envelope = cipher()
            .seal(&secret("oauth-token"), context(1, 2))
            .unwrap();
        let other = XChaChaTokenCipher::new(id("b"), KEY_A);
        assert_eq!(
            other.open(&envelope, context(1, 2)),
            Err(CipherError::UnknownKey("a".into()))
        );
    }

    #[test]
    fn a_retired_key_opens_old_envelopes_while_new_ones_use_the_current_key() {
        let old = cipher().seal(&secret("old-token"), context(1, 2)).unwrap();
        let rotated = XChaChaTokenCipher::new(id("b"), KEY_B).with_retired_key(id("a"), KEY_A);
        assert_eq!(
            rotated.open(&old, context(1, 2)).unwrap().expose(),
            "old-token"
        );
        let new = rotated.seal(&secret("new-token"), context(1, 2)).unwrap();
        assert!(new.starts_with("v1.b."));
        assert_eq!(
            rotated.open(&new, context(1, 2)).unwrap().expose(),
            "new-token"
        );
    }

    #[test]
    fn two_seals_of_the_same_plaintext_differ() {
        let cipher = cipher();
        let first = cipher.seal(&secret("oauth-token"), context(1, 2)).unwrap();
        let second = cipher.seal(&secret("oauth-token"), context(1, 2)).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn malformed_envelopes_are_rejected() {
        let cipher = cipher();
        let valid = cipher.seal(&secret("t"), context(1, 2)).unwrap();
        let body = valid.rsplit_once('.').unwrap().1;
        let short = URL_SAFE_NO_PAD.encode([0u8; NONCE_LEN + TAG_LEN - 1]);
        for envelope in [
            String::new(),
            "v1".into(),
            "v1.a".into(),
            format!("v2.a.{body}"),
            format!("v1..{body}"),
            format!("v1.a b.{body}"),
            format!("v1.a.{body}="),
            format!("v1.a.{body}.x"),
            format!("v1.a.{short}"),
            "v1.a.é".into(),
        ] {
            assert_eq!(
                cipher.open(&envelope, context(1, 2)),
                Err(CipherError::Malformed),
                "{envelope:?}"
            );
        }
        let huge = format!("v1.a.{}", "A".repeat(1 << 20));
        assert!(cipher.open(&huge, context(1, 2)).is_err());
    }

    #[test]
    fn key_ids_are_validated() {
        assert_eq!(id("key_2024-01").as_str(), "key_2024-01");
        assert_eq!(id(&"k".repeat(32)).to_string(), "k".repeat(32));
        for bad in ["", "a.b", "a:b", "é", &"k".repeat(33)] {
            let err = KeyId::parse(bad).unwrap_err();
            assert_eq!(err.field(), "token_key");
        }
    }

    #[test]
    fn from_config_reads_the_current_key_and_retired_keys() {
        let a = STANDARD_PAD_INDIFFERENT.encode([0xfb; 32]);
        let b = URL_SAFE_NO_PAD.encode([0xfb; 32]);
        let config = XChaChaTokenCipher::from_config(&format!("new:{b}, old:{a}")).unwrap();
        let old = XChaChaTokenCipher::new(id("old"), [0xfb; 32]);
        let envelope = old.seal(&secret("t"), context(1, 2)).unwrap();
        assert_eq!(config.open(&envelope, context(1, 2)).unwrap().expose(), "t");
        let envelope = config.seal(&secret("t"), context(1, 2)).unwrap();
        assert!(envelope.starts_with("v1.new."));
    }

    #[test]
    fn from_config_rejects_bad_specs_without_echoing_keys() {
        let key = STANDARD_PAD_INDIFFERENT.encode(KEY_A);
        let short = STANDARD_PAD_INDIFFERENT.encode([1u8; 31]);
        let long = STANDARD_PAD_INDIFFERENT.encode([1u8; 33]);
        for spec in [
            String::new(),
            " ".into(),
            key.clone(),
            format!(":{key}"),
            format!("a.b:{key}"),
            format!("a:{short}"),
            format!("a:{long}"),
            format!("a:{key}!"),
            format!("a:{key},"),
            format!("a:{key},a:{key}"),
        ] {
            let err = XChaChaTokenCipher::from_config(&spec).unwrap_err();
            assert_eq!(err.field(), "POSTPILOT_TOKEN_KEY");
            let message = err.to_string();
            for secret in [&key, &short, &long] {
                assert!(!message.contains(secret.trim_end_matches('=')), "{message}");
            }
        }
    }

    #[test]
    fn debug_shows_key_ids_but_not_key_bytes() {
        let cipher =
            XChaChaTokenCipher::new(id("current"), KEY_A).with_retired_key(id("old"), KEY_B);
        let debug = format!("{cipher:?}");
        assert!(
            debug.contains("current") && debug.contains("old"),
            "{debug}"
        );
        for key in [KEY_A, KEY_B] {
            for encoded in [
                STANDARD_PAD_INDIFFERENT.encode(key),
                URL_SAFE_NO_PAD.encode(key),
            ] {
                assert!(!debug.contains(encoded.trim_end_matches('=')));
            }
            assert!(!debug.contains(&format!("{:?}", key)));
        }
    }

    #[test]
    fn a_generated_cipher_round_trips() {
        let cipher = XChaChaTokenCipher::generate(id("dev"));
        let envelope = cipher.seal(&secret("t"), context(1, 2)).unwrap();
        assert_eq!(cipher.open(&envelope, context(1, 2)).unwrap().expose(), "t");
    }

    proptest! {
        #[test]
        fn open_never_panics_on_arbitrary_input(
            envelope in prop_oneof![
                any::<String>(),
                "v1\\.[a-c]{1,2}\\.[A-Za-z0-9_=.-]{0,120}",
            ],
        ) {
            let cipher = cipher().with_retired_key(id("b"), KEY_B);
            let _ = cipher.open(&envelope, context(1, 2));
        }

        #[test]
        fn any_plaintext_round_trips(plaintext in any::<String>(), user in any::<u128>()) {
            let cipher = cipher();
            let envelope = cipher.seal(&secret(&plaintext), context(user, 2)).unwrap();
            let opened = cipher.open(&envelope, context(user, 2)).unwrap();
            prop_assert_eq!(opened.expose(), plaintext.as_str());
        }
    }
}
