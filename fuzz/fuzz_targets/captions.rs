//! Caption generation from arbitrary product data: never a panic, and the output always fits
//! every requested platform (caption length as that platform counts it, hashtag cap).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postpilot_core::caption::{
    CaptionGenerator, CaptionRequest, Price, ProductData, ProductDataWire, TemplateCaptions, Tone,
};
use postpilot_core::platform::Platform;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\u{1f}');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let title = next();
    let description = next();
    let features: Vec<String> = next().split('|').map(str::to_owned).collect();
    let tags: Vec<String> = next().split('|').map(str::to_owned).collect();
    let selector = data.first().copied().unwrap_or(0);
    let Ok(product) = ProductData::parse(ProductDataWire {
        title,
        description: Some(description),
        price: Price::from_cents(u64::from(selector) * 137).ok(),
        compare_at_price: Price::from_cents(u64::from(selector) * 211).ok(),
        currency: Some("USD".into()),
        features,
        tags,
        ..ProductDataWire::default()
    }) else {
        return;
    };
    let platforms: Vec<Platform> = Platform::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| selector & (1 << i) != 0)
        .map(|(_, p)| p)
        .collect();
    let tone = Tone::ALL[usize::from(selector) % Tone::ALL.len()];
    let request = CaptionRequest {
        product,
        platforms: platforms.clone(),
        tone,
        variant: u32::from(selector >> 4),
    };
    let Ok(generated) = futures::executor::block_on(TemplateCaptions::new().generate(&request))
    else {
        panic!("the template generator never fails");
    };
    let targets = if platforms.is_empty() {
        Platform::ALL.to_vec()
    } else {
        platforms
    };
    for platform in targets {
        let rules = platform.rules();
        assert!(
            rules.caption_length(generated.caption.as_ref(), &generated.hashtags)
                <= rules.max_caption
        );
        assert!(
            rules
                .max_hashtags
                .is_none_or(|max| generated.hashtags.len() <= max)
        );
    }
});
