//! Webhook signature headers: any header and body, never a panic; a signature made by `sign`
//! always verifies, and any change to the body makes it fail.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use postpilot_core::webhook::signature::{sign, verify_platform, verify_stripe};

fuzz_target!(|data: &[u8]| {
    let now = Utc
        .timestamp_opt(1_800_000_000, 0)
        .single()
        .unwrap_or_default();
    let (header, body) = data.split_at(data.len() / 2);
    let header = String::from_utf8_lossy(header);
    let _ = verify_stripe(b"secret", &header, body, now, 300);
    let _ = verify_platform(b"secret", &header, &header, body, now, 300);
    let signature = sign(b"secret", 1_800_000_000, body);
    assert!(verify_platform(b"secret", "1800000000", &signature, body, now, 300).is_ok());
    let stripe = format!("t=1800000000,v1={signature}");
    assert!(verify_stripe(b"secret", &stripe, body, now, 300).is_ok());
    let mut tampered = body.to_vec();
    tampered.push(b'x');
    assert!(verify_stripe(b"secret", &stripe, &tampered, now, 300).is_err());
});
