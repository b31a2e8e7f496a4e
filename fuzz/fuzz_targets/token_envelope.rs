//! The token-cipher envelope: opening arbitrary text never panics and never succeeds on
//! something this cipher did not seal; any plaintext round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postpilot_core::crypto::{KeyId, SecretString, TokenCipher, TokenContext, XChaChaTokenCipher};
use postpilot_core::id::{AccountId, UserId};

fuzz_target!(|data: &[u8]| {
    let Ok(key_id) = KeyId::parse("k1") else {
        return;
    };
    let cipher = XChaChaTokenCipher::new(key_id, [7u8; 32]);
    let context = TokenContext {
        user_id: UserId::from_uuid(uuid_from(data, 0)),
        account_id: AccountId::from_uuid(uuid_from(data, 1)),
    };
    let text = String::from_utf8_lossy(data);
    if let Ok(opened) = cipher.open(&text, context) {
        // Only a real envelope opens; fuzzed bytes that happen to be one are a sealed value.
        assert!(text.starts_with("v1.k1."), "{opened:?}");
    }
    let sealed = cipher
        .seal(&SecretString::new(text.to_string()), context)
        .unwrap_or_else(|e| panic!("sealing cannot fail: {e}"));
    assert_eq!(
        cipher
            .open(&sealed, context)
            .map(|s| s.expose().to_owned())
            .ok(),
        Some(text.to_string())
    );
});

fn uuid_from(data: &[u8], salt: u8) -> uuid::Uuid {
    let mut bytes = [salt; 16];
    for (b, d) in bytes.iter_mut().zip(data) {
        *b ^= d;
    }
    uuid::Uuid::from_bytes(bytes)
}
