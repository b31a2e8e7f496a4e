//! Standard Webhooks 1.0 (<https://www.standardwebhooks.com>) signatures of the events
//! PostPilot sends: an endpoint's secret is `whsec_` and the base64 of its key; a delivery
//! carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a
//! space-separated list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` — one per
//! secret in force, so while a rotated secret overlaps its successor both sign and the receiver
//! accepts either.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ValidationError;
use crate::webhook::signature::SignatureError;

/// What an endpoint's secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// Bytes of a generated key (the spec asks for 24 to 64).
const KEY_BYTES: usize = 32;

/// How far a delivery's timestamp may be from now, either way, for [`verify`].
pub const TOLERANCE_SECS: i64 = 300;

/// An endpoint's signing secret. Its `Debug` hides the key; [`EndpointSecret::reveal`] gives the
/// `whsec_…` text, shown to the endpoint's owner once.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointSecret(Vec<u8>);

impl std::fmt::Debug for EndpointSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointSecret(whsec_…)")
    }
}

impl EndpointSecret {
    /// A new random secret.
    ///
    /// # Errors
    /// The operating system's random source failed.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut key = vec![0u8; KEY_BYTES];
        getrandom::fill(&mut key)?;
        Ok(Self(key))
    }

    /// A secret from its `whsec_…` text.
    ///
    /// # Errors
    /// Not `whsec_` and standard base64 of 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let refused = || {
            ValidationError::new(
                "secret",
                "must be whsec_ followed by the base64 of 24 to 64 bytes",
            )
        };
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(refused)?;
        let key = STANDARD.decode(encoded).map_err(|_| refused())?;
        if !(24..=64).contains(&key.len()) {
            return Err(refused());
        }
        Ok(Self(key))
    }

    /// The `whsec_…` text.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// The three headers of one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `webhook-id`: the event's id, the same on every attempt (receivers deduplicate by it).
    pub id: String,
    /// `webhook-timestamp`: Unix seconds of this attempt.
    pub timestamp: String,
    /// `webhook-signature`: `v1,<base64>` per secret, separated by spaces.
    pub signature: String,
}

/// Signs a delivery of `body` as event `id` at `at`, with every secret in force (the current
/// one first).
pub fn sign(
    id: &str,
    at: DateTime<Utc>,
    body: &[u8],
    secrets: &[&EndpointSecret],
) -> SignedHeaders {
    let timestamp = at.timestamp().to_string();
    let signature = secrets
        .iter()
        .map(|secret| {
            let digest = secret.mac(id, &timestamp, body).finalize().into_bytes();
            format!("v1,{}", STANDARD.encode(digest))
        })
        .collect::<Vec<_>>()
        .join(" ");
    SignedHeaders {
        id: id.to_owned(),
        timestamp,
        signature,
    }
}

/// Checks a delivery as a receiver does: its timestamp within [`TOLERANCE_SECS`] of `now`, and
/// one of its `v1` signatures made with `secret` (compared in constant time). For tests and for
/// embedders who receive PostPilot's events.
///
/// # Errors
/// [`SignatureError::Malformed`] for a header out of shape, [`SignatureError::Stale`] outside
/// the window, [`SignatureError::Mismatch`] when no signature matches.
pub fn verify(
    headers: &SignedHeaders,
    body: &[u8],
    secret: &EndpointSecret,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let timestamp: i64 = headers
        .timestamp
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let mut any = false;
    for entry in headers.signature.split_whitespace() {
        let Some(encoded) = entry.strip_prefix("v1,") else {
            // Another scheme (a future version, or v1a): not ours to check.
            continue;
        };
        any = true;
        let Ok(digest) = STANDARD.decode(encoded) else {
            continue;
        };
        let mac = secret.mac(&headers.id, &headers.timestamp, body);
        if mac.verify_slice(&digest).is_ok() {
            return Ok(());
        }
    }
    Err(if any {
        SignatureError::Mismatch
    } else {
        SignatureError::Malformed
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The specification's published test vector.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn vector_time() -> DateTime<Utc> {
        DateTime::from_timestamp(1_614_265_330, 0).unwrap()
    }

    #[test]
    fn the_specifications_test_vector_signs_and_verifies() {
        let secret = EndpointSecret::parse(VECTOR_SECRET).unwrap();

        let headers = sign(VECTOR_ID, vector_time(), VECTOR_BODY, &[&secret]);

        assert_eq!(headers.signature, VECTOR_SIGNATURE);
        assert_eq!(headers.timestamp, "1614265330");
        assert_eq!(
            verify(&headers, VECTOR_BODY, &secret, vector_time()),
            Ok(())
        );
        assert_eq!(secret.reveal(), VECTOR_SECRET);
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_and_either_verifies() {
        let old = EndpointSecret::parse(VECTOR_SECRET).unwrap();
        let new = EndpointSecret::generate().unwrap();

        let headers = sign(VECTOR_ID, vector_time(), VECTOR_BODY, &[&new, &old]);

        assert_eq!(headers.signature.split(' ').count(), 2);
        assert!(headers.signature.ends_with(VECTOR_SIGNATURE));
        assert_eq!(verify(&headers, VECTOR_BODY, &old, vector_time()), Ok(()));
        assert_eq!(verify(&headers, VECTOR_BODY, &new, vector_time()), Ok(()));
    }

    #[test]
    fn a_changed_body_an_old_timestamp_or_a_foreign_scheme_is_refused() {
        let secret = EndpointSecret::parse(VECTOR_SECRET).unwrap();
        let headers = sign(VECTOR_ID, vector_time(), VECTOR_BODY, &[&secret]);
        let later = vector_time() + chrono::Duration::seconds(TOLERANCE_SECS + 1);
        let foreign = SignedHeaders {
            signature: "v1a,abc".into(),
            ..headers.clone()
        };

        assert_eq!(
            verify(&headers, br#"{"test": 1}"#, &secret, vector_time()),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&headers, VECTOR_BODY, &secret, later),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&foreign, VECTOR_BODY, &secret, vector_time()),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn a_secret_is_whsec_and_base64_of_24_to_64_bytes_and_its_debug_hides_it() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            "whsec_AAAA",
            &format!("whsec_{}", STANDARD.encode([0u8; 65])),
        ] {
            assert!(EndpointSecret::parse(bad).is_err(), "{bad}");
        }
        let generated = EndpointSecret::generate().unwrap();
        assert_eq!(
            EndpointSecret::parse(&generated.reveal()).unwrap(),
            generated
        );
        assert!(!format!("{generated:?}").contains(&generated.reveal()[6..]));
    }
}
