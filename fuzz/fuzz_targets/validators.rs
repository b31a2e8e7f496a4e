//! Every validated constructor of outside text: never a panic, and whatever is accepted
//! satisfies its rule and parses again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postpilot_core::api_key::ApiKeySecret;
use postpilot_core::post::{Caption, Hashtag, Hashtags, MediaUrl};
use postpilot_core::text::HASHTAG;
use postpilot_core::user::Email;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(caption) = Caption::parse(text.to_string()) {
        assert!(!caption.as_ref().trim().is_empty());
        assert_eq!(Caption::parse(caption.to_string()).ok(), Some(caption));
    }
    if let Ok(tag) = Hashtag::parse(&*text) {
        assert!(tag.as_ref().chars().all(|c| HASHTAG.contains(c)));
        assert_eq!(Hashtag::parse(tag.as_ref()).ok(), Some(tag));
    }
    let parts: Vec<&str> = text.split(',').collect();
    if let Ok(tags) = Hashtags::parse(&parts) {
        assert!(tags.len() <= parts.len());
    }
    if let Ok(url) = MediaUrl::parse(text.to_string()) {
        assert!(url.as_ref().to_ascii_lowercase().starts_with("https://"));
        assert!(!url.as_ref().contains(char::is_whitespace));
    }
    if let Ok(email) = Email::parse(&*text) {
        assert_eq!(email.as_ref(), email.as_ref().to_lowercase());
        assert_eq!(Email::parse(email.as_ref()).ok(), Some(email));
    }
    if let Ok(key) = ApiKeySecret::parse(&text) {
        assert_eq!(key.hash().len(), 64);
    }
    let _ = text.parse::<postpilot_core::platform::Platform>();
    let _ = text.parse::<postpilot_core::post::PostStatus>();
});
