//! Webhook signatures: Stripe's `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` and the platform's
//! `X-PostPilot-Timestamp` + `X-PostPilot-Signature: <hex>`, both HMAC-SHA256 over
//! `"{timestamp}.{raw body}"`, both refused outside a tolerance window. Parsing never panics on any
//! header; digests are compared in constant time (through `Mac::verify_slice`).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a signature's timestamp may be from now, either way (Stripe's default).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signed request was refused. The variants are for logs; a client is told only that the
/// signature is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is missing or not in the expected format.
    #[error("malformed signature header")]
    Malformed,
    /// The timestamp is outside the tolerance window (a replay, or a skewed clock).
    #[error("signature timestamp outside the tolerance window")]
    Stale,
    /// No signature matches the body.
    #[error("signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || hex.len() > 256 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect()
}

fn check_time(
    timestamp: &str,
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::Malformed);
    }
    let at: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if (now.timestamp() - at).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// The hex signature a sender computes: HMAC-SHA256(secret, "{timestamp}.{body}").
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    use std::fmt::Write as _;
    mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Verifies a `Stripe-Signature` header (`t=…,v1=…`; any `v1` may match; other schemes are
/// ignored) over the raw body.
///
/// # Errors
/// [`SignatureError`]: malformed header, stale timestamp, or no matching signature.
pub fn verify_stripe(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    if header.len() > 4_096 {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match key {
            "t" if timestamp.is_none() => timestamp = Some(value),
            "t" => return Err(SignatureError::Malformed),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    check_time(timestamp, now, tolerance_secs)?;
    let expected = mac(secret, timestamp, body);
    let matches = signatures
        .iter()
        .filter_map(|s| decode_hex(s))
        .any(|sig| expected.clone().verify_slice(&sig).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Verifies the platform's `X-PostPilot-Timestamp` and `X-PostPilot-Signature` over the raw body.
///
/// # Errors
/// [`SignatureError`]: malformed headers, stale timestamp, or a mismatch.
pub fn verify_platform(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    check_time(timestamp, now, tolerance_secs)?;
    let signature = decode_hex(signature.trim()).ok_or(SignatureError::Malformed)?;
    mac(secret, timestamp, body)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_stripe_header_with_a_matching_v1_verifies() {
        let sig = sign(SECRET, 1_800_000_000, b"{}");
        let header = format!("t=1800000000,v0=ignored,v1=deadbeef,v1={sig}");
        assert_eq!(verify_stripe(SECRET, &header, b"{}", now(), 300), Ok(()));
    }

    #[test]
    fn a_tampered_body_or_wrong_secret_is_a_mismatch() {
        let sig = sign(SECRET, 1_800_000_000, b"{}");
        let header = format!("t=1800000000,v1={sig}");
        assert_eq!(
            verify_stripe(SECRET, &header, b"{ }", now(), 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(b"other", &header, b"{}", now(), 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_and_future_timestamps_are_stale() {
        for t in [1_800_000_000 - 301, 1_800_000_000 + 301] {
            let header = format!("t={t},v1={}", sign(SECRET, t, b"{}"));
            assert_eq!(
                verify_stripe(SECRET, &header, b"{}", now(), 300),
                Err(SignatureError::Stale)
            );
        }
        let edge = format!(
            "t={},v1={}",
            1_800_000_000 - 300,
            sign(SECRET, 1_800_000_000 - 300, b"{}")
        );
        assert_eq!(verify_stripe(SECRET, &edge, b"{}", now(), 300), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for header in [
            "",
            "t=1800000000",
            "v1=abcd",
            "t=abc,v1=ab",
            "t=1,t=2,v1=ab",
            "garbage",
            "t=-5,v1=ab",
        ] {
            assert_eq!(
                verify_stripe(SECRET, header, b"{}", now(), 300),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn the_platform_signature_verifies_and_refuses_like_stripes() {
        let sig = sign(SECRET, 1_800_000_000, b"body");
        assert_eq!(
            verify_platform(SECRET, "1800000000", &sig, b"body", now(), 300),
            Ok(())
        );
        assert_eq!(
            verify_platform(SECRET, "1800000000", &sig, b"bodY", now(), 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_platform(SECRET, "1799999000", &sig, b"body", now(), 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_platform(SECRET, "1800000000", "zz", b"body", now(), 300),
            Err(SignatureError::Malformed)
        );
    }

    proptest! {
        #[test]
        fn verification_never_panics(header in "\\PC{0,300}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = verify_stripe(SECRET, &header, &body, now(), 300);
            let _ = verify_platform(SECRET, &header, &header, &body, now(), 300);
        }
    }
}
