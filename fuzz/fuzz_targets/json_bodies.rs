//! JSON bodies from outside into domain types (what the HTTP extractors and the webhook
//! handlers deserialise): never a panic; accepted product data round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postpilot_core::caption::ProductData;
use postpilot_core::post::Hashtags;
use postpilot_core::webhook::{PlatformEvent, ProvisionData, SubscriptionUpdatedData};

fuzz_target!(|data: &[u8]| {
    if let Ok(product) = serde_json::from_slice::<ProductData>(data) {
        let again: ProductData =
            serde_json::from_value(serde_json::to_value(&product).unwrap_or_default())
                .unwrap_or_else(|e| panic!("accepted product data must round-trip: {e}"));
        assert_eq!(again, product);
    }
    if let Ok(event) = serde_json::from_slice::<PlatformEvent>(data) {
        let _ = serde_json::from_value::<ProvisionData>(event.data.clone());
        let _ = serde_json::from_value::<SubscriptionUpdatedData>(event.data);
    }
    let _ = serde_json::from_slice::<Hashtags>(data);
    let _ = postpilot_core::billing::parse_stripe_event(data);
});
