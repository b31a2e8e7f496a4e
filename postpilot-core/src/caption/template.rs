//! [`TemplateCaptions`]: deterministic, tone-aware captions and hashtags built from product data
//! with fixed templates, shrunk until they fit every requested platform.

use async_trait::async_trait;

use super::{
    CaptionError, CaptionGenerator, CaptionRequest, GeneratedCaption, Generator, Price,
    ProductData, Tone,
};
use crate::platform::Platform;
use crate::post::{Caption, Hashtag, Hashtags};

/// The phrases of one tone. Placeholders: `{title}` in openers; `{price}`, `{was}`, `{pct}` in
/// the price lines.
struct Voice {
    openers: &'static [&'static str],
    ctas: &'static [&'static str],
    price: &'static str,
    sale: &'static str,
    bullet: &'static str,
}

const PROFESSIONAL: Voice = Voice {
    openers: &[
        "Introducing {title}.",
        "Meet {title}: quality you can count on.",
        "{title}: designed to perform, built to last.",
    ],
    ctas: &[
        "Order yours today.",
        "Available now. Order online today.",
        "Upgrade your everyday essentials today.",
    ],
    price: "Price: {price}.",
    sale: "Now {price} (was {was}). Save {pct}%.",
    bullet: "• ",
};

const CASUAL: Voice = Voice {
    openers: &[
        "Say hello to {title}!",
        "Been looking for something like this? Check out {title}.",
        "Our new favorite thing: {title}.",
    ],
    ctas: &[
        "Grab yours and thank us later.",
        "Go on, treat yourself.",
        "Add it to your cart, you know you want to.",
    ],
    price: "Yours for just {price}.",
    sale: "Just {price} instead of {was}. Save {pct}%!",
    bullet: "- ",
};

const PLAYFUL: Voice = Voice {
    openers: &[
        "✨ Treat yourself to {title}! 🎉",
        "🎉 Guess what just dropped? {title}! ✨",
        "😍 Totally obsessed with {title}! 🛍️",
    ],
    ctas: &[
        "Tap the link and treat yourself! 🛒💖",
        "Add to cart and do a happy dance! 💃🛒",
        "Your cart is calling! 📲😄",
    ],
    price: "Only {price}! 💸",
    sale: "💸 Save {pct}%! Was {was}, now only {price}!",
    bullet: "✨ ",
};

const LUXURY: Voice = Voice {
    openers: &[
        "Discover {title}, crafted for those who expect the exceptional.",
        "Elegance, refined: {title}.",
        "An understated indulgence: {title}.",
    ],
    ctas: &[
        "Reserve yours today.",
        "Indulge in the exceptional.",
        "Elevate your everyday.",
    ],
    price: "Offered at {price}.",
    sale: "Now {price}, previously {was}. Save {pct}%.",
    bullet: "◆ ",
};

const URGENT: Voice = Voice {
    openers: &[
        "⏰ Limited time: {title} is selling fast!",
        "Last chance! {title} is almost gone.",
        "Hurry, {title} won't last long!",
    ],
    ctas: &[
        "Order now before stock runs out!",
        "Limited stock left. Don't miss out!",
        "This offer ends soon. Order today!",
    ],
    price: "Only {price} while stock lasts!",
    sale: "🔥 Save {pct}% for a limited time: {price} (was {was})!",
    bullet: "👉 ",
};

const fn voice(tone: Tone) -> &'static Voice {
    match tone {
        Tone::Professional => &PROFESSIONAL,
        Tone::Casual => &CASUAL,
        Tone::Playful => &PLAYFUL,
        Tone::Luxury => &LUXURY,
        Tone::Urgent => &URGENT,
    }
}

/// A platform's popular tags and how many hashtags PostPilot suggests for it.
struct Reach {
    popular: &'static [&'static str],
    /// Most hashtags in total.
    max_tags: usize,
    /// Most of them taken from the product (the rest are popular tags).
    max_keywords: usize,
}

const fn reach(platform: Platform) -> &'static Reach {
    match platform {
        Platform::Instagram => &Reach {
            popular: &[
                "instadaily",
                "shopsmall",
                "musthave",
                "instashop",
                "shoponline",
                "onlineshopping",
                "newarrivals",
                "shopnow",
                "instagood",
                "giftideas",
            ],
            max_tags: 30,
            max_keywords: 20,
        },
        Platform::Facebook => &Reach {
            popular: &["shoplocal", "deals", "shoponline", "giftideas"],
            max_tags: 5,
            max_keywords: 3,
        },
        Platform::Tiktok => &Reach {
            popular: &[
                "tiktokmademebuyit",
                "fyp",
                "foryou",
                "tiktokshop",
                "foryoupage",
                "viral",
            ],
            max_tags: 8,
            max_keywords: 5,
        },
    }
}

/// Title words that make poor hashtags.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "from", "into", "onto", "your", "you", "our", "this", "that",
    "these", "those", "are", "was", "were", "has", "have", "its", "not", "but", "all", "any",
    "per", "via", "out", "off", "who", "why", "how", "what", "when", "which", "will", "can",
];

/// Longest keyword suggested as a hashtag, in characters.
const MAX_KEYWORD_CHARS: usize = 30;
/// Features shown as bullets.
const MAX_FEATURES: usize = 3;
/// Longest feature bullet, in characters.
const MAX_FEATURE_CHARS: usize = 120;

/// How much of the product a caption shows; tried from the most to the least detailed.
#[derive(Clone, Copy)]
struct Detail {
    features: bool,
    description: Option<usize>,
    url: bool,
}

#[rustfmt::skip]
const DETAILS: [Detail; 5] = [
    Detail { features: true,  description: Some(280), url: true },
    Detail { features: false, description: Some(280), url: true },
    Detail { features: false, description: Some(100), url: true },
    Detail { features: false, description: None,      url: true },
    Detail { features: false, description: None,      url: false },
];

/// Writes captions from fixed templates: deterministic (the same request always gives the same
/// caption), tone-aware, and always within the rules of every requested platform. Hashtags are
/// keywords from the product's tags and title followed by each platform's popular tags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TemplateCaptions {
    _private: (),
}

impl TemplateCaptions {
    /// The template generator.
    pub const fn new() -> Self {
        Self { _private: () }
    }

    fn compose(&self, request: &CaptionRequest) -> Result<GeneratedCaption, CaptionError> {
        let mut platforms = Platform::dedup(request.platforms.clone());
        if platforms.is_empty() {
            platforms = Platform::ALL.to_vec();
        }
        let mut hashtags = suggest_hashtags(&request.product, &platforms);
        let parts = Parts::new(&request.product, request.tone, request.variant);
        let fits = |text: &str, tags: &Hashtags| fits_all(&platforms, text, tags);

        let mut text = String::new();
        for detail in DETAILS {
            text = parts.render(detail);
            if fits(&text, &hashtags) {
                break;
            }
        }
        while !fits(&text, &hashtags) && hashtags.pop().is_some() {}
        if !fits(&text, &hashtags) {
            text = truncate_to_fit(&text, |t| fits(t, &hashtags));
        }
        // Never fails: the text is non-blank template prose, cleaned of control characters and
        // within every limit.
        let caption = Caption::parse(text).map_err(|e| CaptionError::Refused(e.to_string()))?;
        Ok(GeneratedCaption::shared(
            caption,
            hashtags,
            Generator::template(),
        ))
    }
}

#[async_trait]
impl CaptionGenerator for TemplateCaptions {
    async fn generate(&self, request: &CaptionRequest) -> Result<GeneratedCaption, CaptionError> {
        self.compose(request)
    }
}

/// The caption's pieces, cleaned and chosen once per request.
struct Parts {
    opener: String,
    description: Option<String>,
    features: Vec<String>,
    price: Option<String>,
    cta: &'static str,
    url: Option<String>,
}

impl Parts {
    fn new(product: &ProductData, tone: Tone, variant: u32) -> Self {
        let voice = voice(tone);
        let title = clean(product.title());
        let hash = fnv1a(title.as_bytes());
        let pick = |items: &'static [&'static str], shift: u32| {
            let at = (hash >> shift).wrapping_add(u64::from(variant)) % items.len() as u64;
            items[usize::try_from(at).unwrap_or(0)]
        };
        let features = product
            .features()
            .iter()
            .map(|f| clean(f))
            .filter(|f| !f.is_empty())
            .take(MAX_FEATURES)
            .map(|f| format!("{}{}", voice.bullet, shorten(&f, MAX_FEATURE_CHARS)))
            .collect();
        Self {
            opener: pick(voice.openers, 0).replacen("{title}", &title, 1),
            description: product.description().map(clean).filter(|d| !d.is_empty()),
            features,
            price: price_line(product, voice),
            cta: pick(voice.ctas, 32),
            url: product.url().map(clean).filter(|u| !u.is_empty()),
        }
    }

    fn render(&self, detail: Detail) -> String {
        let mut blocks = vec![self.opener.clone()];
        if let (Some(max), Some(description)) = (detail.description, &self.description) {
            blocks.push(shorten(first_sentence(description), max));
        }
        if detail.features && !self.features.is_empty() {
            blocks.push(self.features.join("\n"));
        }
        blocks.extend(self.price.clone());
        let mut closing = self.cta.to_owned();
        if let Some(url) = self.url.as_ref().filter(|_| detail.url) {
            closing = format!("{closing}\nShop now: {url}");
        }
        blocks.push(closing);
        blocks.join("\n\n")
    }
}

/// The price (and discount, when `compare_at_price` is higher) in the voice's words.
fn price_line(product: &ProductData, voice: &Voice) -> Option<String> {
    let price = product.price()?;
    let money = |p: Price| format_money(p, product.currency());
    let line = match product.compare_at_price() {
        Some(was) if was > price && discount_percent(price, was) > 0 => voice
            .sale
            .replace("{pct}", &discount_percent(price, was).to_string())
            .replace("{was}", &money(was)),
        _ => voice.price.to_owned(),
    };
    Some(line.replace("{price}", &money(price)))
}

/// `$19.99`, `€19.99`, `£19.99`, else `19.99 CAD` (or `19.99` without a currency).
fn format_money(price: Price, currency: Option<&str>) -> String {
    match currency {
        Some("USD") => format!("${price}"),
        Some("EUR") => format!("€{price}"),
        Some("GBP") => format!("£{price}"),
        Some(code) => format!("{price} {code}"),
        None => price.to_string(),
    }
}

/// The discount from `was` to `price`, rounded to whole percent.
pub(crate) fn discount_percent(price: Price, was: Price) -> u64 {
    let (now, was) = (u128::from(price.cents()), u128::from(was.cents()));
    if was <= now {
        return 0;
    }
    u64::try_from(((was - now) * 100 + was / 2) / was).unwrap_or(0)
}

/// Hashtags for every platform: product keywords (tags, then title words), then the platforms'
/// popular tags in turn, capped by the strictest platform.
pub(crate) fn suggest_hashtags(product: &ProductData, platforms: &[Platform]) -> Hashtags {
    let cap = platforms
        .iter()
        .map(|p| {
            let rule_cap = p.rules().max_hashtags.unwrap_or(usize::MAX);
            reach(*p).max_tags.min(rule_cap)
        })
        .min()
        .unwrap_or(0);
    let keyword_cap = platforms
        .iter()
        .map(|p| reach(*p).max_keywords)
        .min()
        .unwrap_or(0)
        .min(cap);

    let mut tags = Hashtags::default();
    let from_tags = product.tags().iter().filter_map(|t| keyword(t, 2));
    let from_title = product
        .title()
        .split(|c: char| !(is_tag_char(c) || matches!(c, '\'' | '’' | '-' | '.')))
        .filter_map(|w| keyword(w, 3));
    for tag in from_tags.chain(from_title) {
        if tags.len() >= keyword_cap {
            break;
        }
        tags.push(tag);
    }
    let longest = platforms.iter().map(|p| reach(*p).popular.len()).max();
    let popular = (0..longest.unwrap_or(0))
        .flat_map(|i| {
            platforms
                .iter()
                .filter_map(move |p| reach(*p).popular.get(i))
        })
        .filter_map(|t| Hashtag::parse(t).ok());
    for tag in popular {
        if tags.len() >= cap {
            break;
        }
        tags.push(tag);
    }
    tags
}

/// `text` as a lower-case hashtag of letters, digits and `_`, if it has at least `min_chars`
/// characters, at most [`MAX_KEYWORD_CHARS`], and a letter.
fn keyword(text: &str, min_chars: usize) -> Option<Hashtag> {
    let word: String = text
        .to_lowercase()
        .chars()
        .filter(|&c| is_tag_char(c))
        .collect();
    let len = word.chars().count();
    let usable = (min_chars..=MAX_KEYWORD_CHARS).contains(&len)
        && word.chars().any(char::is_alphabetic)
        && !STOPWORDS.contains(&word.as_str());
    if !usable {
        return None;
    }
    Hashtag::parse(&word).ok()
}

/// The characters a [`Hashtag`] accepts.
fn is_tag_char(c: char) -> bool {
    crate::text::HASHTAG.contains(c)
}

/// `text` on one line: whitespace runs collapsed to one space, control characters removed.
fn clean(text: &str) -> String {
    text.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to and including the first sentence terminator, or all of `text`.
fn first_sentence(text: &str) -> &str {
    text.char_indices()
        .find(|&(i, c)| {
            let rest = &text[i + c.len_utf8()..];
            matches!(c, '。' | '！' | '？')
                || (matches!(c, '.' | '!' | '?')
                    && rest.chars().next().is_none_or(char::is_whitespace))
        })
        .map_or(text, |(i, c)| &text[..i + c.len_utf8()])
}

/// `text` cut to at most `max_chars` characters, ending in `…` when cut (at a word boundary when
/// one is near).
fn shorten(text: &str, max_chars: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return text.to_owned();
    };
    let cut = text[..cut].char_indices().last().map_or(0, |(i, _)| i);
    let head = &text[..cut];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space >= cut / 2 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

/// The longest prefix of `text` (at a char boundary) plus `…` that `fits`, or `…` alone.
fn truncate_to_fit(text: &str, fits: impl Fn(&str) -> bool) -> String {
    let ends: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let with_ellipsis = |end: usize| format!("{}…", text[..end].trim_end());
    let keep = ends.partition_point(|&end| fits(&with_ellipsis(end)));
    with_ellipsis(keep.checked_sub(1).map_or(0, |k| ends[k]))
}

/// Whether `text` with `tags` is within every platform's caption length and hashtag count.
fn fits_all(platforms: &[Platform], text: &str, tags: &Hashtags) -> bool {
    platforms.iter().all(|p| {
        let rules = p.rules();
        rules.caption_length(text, tags) <= rules.max_caption
            && rules.max_hashtags.is_none_or(|max| tags.len() <= max)
    })
}

/// 64-bit FNV-1a: a stable hash (std's is randomized per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use proptest::string::string_regex;

    use super::*;
    use crate::caption::ProductDataWire;

    fn wire(title: &str) -> ProductDataWire {
        ProductDataWire {
            title: title.to_owned(),
            ..ProductDataWire::default()
        }
    }

    fn request(wire: ProductDataWire, platforms: &[Platform], tone: Tone) -> CaptionRequest {
        CaptionRequest {
            product: ProductData::parse(wire).expect("valid product"),
            platforms: platforms.to_vec(),
            tone,
            variant: 0,
        }
    }

    fn generate(request: &CaptionRequest) -> GeneratedCaption {
        TemplateCaptions::new()
            .compose(request)
            .expect("template captions never fail")
    }

    fn caption_of(wire: ProductDataWire, tone: Tone) -> String {
        generate(&request(wire, &[Platform::Instagram], tone))
            .caption
            .to_string()
    }

    fn priced(price: u64, compare_at: Option<u64>, currency: &str) -> ProductDataWire {
        ProductDataWire {
            price: Some(Price::from_cents(price).expect("price")),
            compare_at_price: compare_at.map(|c| Price::from_cents(c).expect("price")),
            currency: Some(currency.to_owned()),
            ..wire("Bamboo Cutting Board")
        }
    }

    fn assert_within_rules(platforms: &[Platform], out: &GeneratedCaption) {
        for platform in platforms {
            let rules = platform.rules();
            let length = rules.caption_length(out.caption.as_ref(), &out.hashtags);
            assert!(
                length <= rules.max_caption,
                "{platform}: {length} > {}",
                rules.max_caption
            );
            if let Some(max) = rules.max_hashtags {
                assert!(
                    out.hashtags.len() <= max,
                    "{platform}: {} hashtags",
                    out.hashtags.len()
                );
            }
        }
    }

    #[tokio::test]
    async fn generates_through_the_caption_generator_trait() {
        let generator: &dyn CaptionGenerator = &TemplateCaptions::default();
        let req = request(
            wire("Wireless Earbuds"),
            &[Platform::Facebook],
            Tone::Casual,
        );
        let out = generator.generate(&req).await.expect("generates");
        assert_eq!(out, generate(&req));
    }

    #[test]
    fn caption_names_the_product_title() {
        for tone in Tone::ALL {
            for platform in Platform::ALL {
                let req = request(wire("Ergonomic Office Chair"), &[platform], tone);
                assert!(
                    generate(&req)
                        .caption
                        .as_ref()
                        .contains("Ergonomic Office Chair")
                );
            }
        }
    }

    #[test]
    fn each_tone_gives_a_different_caption_for_the_same_product() {
        let product = ProductDataWire {
            description: Some("Keeps drinks cold for 24 hours. Dishwasher safe.".into()),
            price: Some(Price::from_cents(2_499).expect("price")),
            currency: Some("USD".into()),
            features: vec!["Leak-proof lid".into()],
            ..wire("Insulated Water Bottle")
        };
        let captions: HashSet<String> = Tone::ALL
            .into_iter()
            .map(|tone| caption_of(product.clone(), tone))
            .collect();
        assert_eq!(captions.len(), Tone::ALL.len());
        assert!(
            caption_of(product.clone(), Tone::Urgent)
                .to_lowercase()
                .contains("stock")
        );
        let playful = caption_of(product, Tone::Playful);
        assert!(playful.chars().filter(|c| u32::from(*c) >= 0x1F300).count() >= 2);
    }

    #[test]
    fn the_same_request_gives_the_same_output() {
        let req = request(
            ProductDataWire {
                tags: vec!["Summer".into(), "Beach".into()],
                ..wire("Straw Sun Hat")
            },
            &[Platform::Instagram, Platform::Tiktok],
            Tone::Playful,
        );
        assert_eq!(generate(&req), generate(&req));
        assert_eq!(
            generate(&req),
            TemplateCaptions::new().compose(&req).expect("ok")
        );
    }

    #[test]
    fn templates_vary_with_the_title() {
        let openers: HashSet<String> = ["Desk Lamp", "Phone Case", "Yoga Mat", "Tote Bag", "Mug"]
            .into_iter()
            .map(|t| caption_of(wire(t), Tone::Professional).replace(t, ""))
            .collect();
        assert!(openers.len() > 1);
    }

    #[test]
    fn discount_percent_is_mentioned_only_when_compare_at_price_exceeds_price() {
        for tone in Tone::ALL {
            let sale = caption_of(priced(7_500, Some(10_000), "USD"), tone);
            assert!(sale.contains("Save 25%"), "{sale}");
            assert!(
                sale.contains("$75.00") && sale.contains("$100.00"),
                "{sale}"
            );
            for compare_at in [None, Some(7_500), Some(5_000)] {
                let plain = caption_of(priced(7_500, compare_at, "USD"), tone);
                assert!(!plain.contains('%'), "{plain}");
            }
        }
    }

    #[test]
    fn price_is_formatted_with_the_currency_symbol() {
        for (currency, shown) in [
            ("USD", "$19.99"),
            ("eur", "€19.99"),
            ("GBP", "£19.99"),
            ("CAD", "19.99 CAD"),
        ] {
            let caption = caption_of(priced(1_999, None, currency), Tone::Professional);
            assert!(caption.contains(shown), "{caption}");
        }
    }

    #[test]
    fn features_appear_as_bullets() {
        let product = ProductDataWire {
            features: vec![
                "Waterproof".into(),
                "  ".into(),
                "10-hour battery".into(),
                "USB-C charging".into(),
                "Fourth feature".into(),
            ],
            ..wire("Bluetooth Speaker")
        };
        let caption = caption_of(product, Tone::Professional);
        for feature in ["Waterproof", "10-hour battery", "USB-C charging"] {
            assert!(caption.contains(&format!("\n• {feature}")), "{caption}");
        }
        assert!(!caption.contains("Fourth feature"));
    }

    #[test]
    fn description_is_reduced_to_its_first_sentence() {
        let product = ProductDataWire {
            description: Some("Soft   cotton blend.\nMachine washable! Made in Portugal.".into()),
            url: Some("https://shop.example/p/tee".into()),
            ..wire("Classic Tee")
        };
        let caption = caption_of(product, Tone::Casual);
        assert!(caption.contains("Soft cotton blend."), "{caption}");
        assert!(!caption.contains("washable"));
        assert!(caption.contains("Shop now: https://shop.example/p/tee"));
    }

    #[test]
    fn hashtags_include_tag_keywords_and_platform_popular_tags_deduplicated_case_insensitively() {
        let product = ProductDataWire {
            tags: vec![
                "Yoga".into(),
                "#YOGA".into(),
                "Eco Friendly".into(),
                "🔥🔥".into(),
                "!!!".into(),
                "2024".into(),
                "InstaDaily".into(),
            ],
            ..wire("The Yoga Mat for Beginners, 6mm")
        };
        let ig = generate(&request(
            product.clone(),
            &[Platform::Instagram],
            Tone::Casual,
        ));
        let tags = ig.hashtags.to_strings();
        assert_eq!(
            &tags[..5],
            ["yoga", "ecofriendly", "instadaily", "mat", "beginners"]
        );
        assert!(tags.contains(&"shopsmall".to_owned()) && tags.contains(&"musthave".to_owned()));
        let folded: HashSet<String> = tags.iter().map(|t| t.to_lowercase()).collect();
        assert_eq!(folded.len(), tags.len());
        assert!(!tags.iter().any(|t| t == "the" || t == "for" || t == "2024"));

        let tiktok = generate(&request(product, &[Platform::Tiktok], Tone::Casual));
        let tags = tiktok.hashtags.to_strings();
        assert!(
            tags.contains(&"tiktokmademebuyit".to_owned()) && tags.contains(&"yoga".to_owned())
        );
    }

    #[test]
    fn hashtag_count_is_capped_per_platform() {
        let product = ProductDataWire {
            tags: (0..50).map(|i| format!("keyword{i}")).collect(),
            ..wire("Minimalist Leather Wallet With Coin Pocket")
        };
        for (platforms, cap) in [
            (&[Platform::Instagram][..], 30),
            (&[Platform::Facebook][..], 5),
            (&[Platform::Tiktok][..], 8),
            (&[][..], 5),
        ] {
            let out = generate(&request(product.clone(), platforms, Tone::Luxury));
            assert_eq!(out.hashtags.len(), cap, "{platforms:?}");
        }
    }

    #[test]
    fn instagram_gets_at_most_30_hashtags() {
        let product = ProductDataWire {
            tags: (0..50).map(|i| format!("tag{i}")).collect(),
            ..wire("Handmade Ceramic Vase")
        };
        let out = generate(&request(
            product,
            &[Platform::Instagram],
            Tone::Professional,
        ));
        assert!(out.hashtags.len() <= 30);
        assert_within_rules(&[Platform::Instagram], &out);
    }

    #[test]
    fn tiktok_caption_plus_hashtags_fit_2200_utf16_units_for_an_emoji_title_and_huge_description() {
        let product = ProductDataWire {
            title: "😀".repeat(500),
            description: Some("🎉".repeat(10_000)),
            price: Some(Price::from_cents(123_456_789).expect("price")),
            compare_at_price: Some(Price::from_cents(999_999_999).expect("price")),
            currency: Some("JPY".into()),
            url: Some(format!("https://shop.example/{}", "𝐱".repeat(2_000))),
            features: vec!["🚀".repeat(500); 50],
            tags: (0..50).map(|i| format!("{}{i}", "𝐀".repeat(25))).collect(),
            ..ProductDataWire::default()
        };
        for tone in Tone::ALL {
            let req = request(
                product.clone(),
                &[Platform::Tiktok, Platform::Instagram],
                tone,
            );
            let out = generate(&req);
            assert_within_rules(&req.platforms, &out);
            assert!(out.caption.as_ref().contains(&"😀".repeat(500)));
        }
    }

    #[test]
    fn an_oversized_caption_is_truncated_at_a_char_boundary_with_an_ellipsis() {
        let text = "héllo wörld 😀😀😀";
        let cut = truncate_to_fit(text, |t| t.encode_utf16().count() <= 10);
        assert_eq!(cut, "héllo wör…");
        assert_eq!(truncate_to_fit(text, |t| t.chars().count() <= 1), "…");
        assert_eq!(shorten("one two three four", 12), "one two…");
        assert_eq!(shorten("short", 12), "short");
    }

    fn text(max: usize) -> BoxedStrategy<String> {
        let regex =
            |class: &str| string_regex(&format!("[{class}]{{0,{max}}}")).expect("valid regex");
        prop_oneof![
            regex("\\PC\\n\\r\\t\\u{200F}\\u{202E}"),
            regex("😀-🙏𝐀-𝐙a-zA-Z0-9 #.,!'_-"),
            regex("\\p{Arabic}\\p{Hebrew} ."),
        ]
        .boxed()
    }

    fn money() -> impl Strategy<Value = Option<Price>> {
        proptest::option::of(
            prop_oneof![0..=100_000u64, 0..=Price::MAX_CENTS]
                .prop_map(|c| Price::from_cents(c).expect("in range")),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(192))]
        #[test]
        fn any_product_gives_a_caption_within_every_requested_platforms_rules(
            title in text(500),
            description in proptest::option::of(text(10_000)),
            price in money(),
            compare_at_price in money(),
            currency in proptest::option::of(prop_oneof![Just("USD".to_owned()), "[A-Z]{3}"]),
            url in proptest::option::of(text(2_048)),
            features in proptest::collection::vec(text(500), 0..12),
            tags in proptest::collection::vec(text(100), 0..50),
            tone in proptest::sample::select(Tone::ALL.to_vec()),
            platforms in proptest::sample::subsequence(Platform::ALL.to_vec(), 1..=3),
        ) {
            let parsed = ProductData::parse(ProductDataWire {
                title, description, price, currency, compare_at_price, url, features, tags,
                ..ProductDataWire::default()
            });
            prop_assume!(parsed.is_ok());
            let product = parsed.expect("checked");
            let title = clean(product.title());
            let req = CaptionRequest { product, platforms, tone, variant: 0 };
            let out = generate(&req);
            assert_within_rules(&req.platforms, &out);
            let caption = out.caption.as_ref();
            prop_assert!(caption.chars().all(|c| c == '\n' || !c.is_control()), "{caption:?}");
            prop_assert!(caption.contains(&title));
            prop_assert_eq!(&out, &generate(&req));
        }
    }

    #[test]
    fn another_variant_gives_another_caption_for_the_same_product() {
        let mut req = request(
            ProductDataWire {
                title: "Aurora Desk Lamp".into(),
                ..ProductDataWire::default()
            },
            &[Platform::Facebook],
            Tone::Casual,
        );
        let first = generate(&req).caption;
        req.variant = 1;
        let second = generate(&req).caption;
        assert_ne!(first, second);
        assert!(second.as_ref().contains("Aurora Desk Lamp"));
    }
}
