//! Turning product data into captions: the [`CaptionGenerator`] port, its input types, the
//! built-in deterministic [`TemplateCaptions`], and [`ModelCaptions`] over a [`LanguageModel`].

pub(crate) mod limit;
mod llm;
pub(crate) mod template;

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidationError;
use crate::names::named_enum;
use crate::platform::Platform;
use crate::post::{Caption, Hashtags};
use crate::text;

pub use llm::{
    Completion, Fallback, LanguageModel, MODEL_CAPTION_CHARS, MODEL_HASHTAG_CHARS, MODEL_HASHTAGS,
    MODEL_MAX_TOKENS, ModelCaptions, Prompt, Turn, check_answer, prompt,
};
pub use template::TemplateCaptions;

/// The voice of a generated caption.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    /// Clear and factual (the default).
    #[default]
    Professional,
    /// Relaxed, conversational.
    Casual,
    /// Fun, emoji-friendly.
    Playful,
    /// Refined, exclusive.
    Luxury,
    /// Scarcity and deadlines.
    Urgent,
}

named_enum!(Tone, field = "tone", lenient {
    Professional => "professional",
    Casual => "casual",
    Playful => "playful",
    Luxury => "luxury",
    Urgent => "urgent",
});

/// An amount of money in minor units (cents), exchanged as a JSON number (`19.99`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(u64);

impl Price {
    /// Largest accepted amount (10 billion in major units).
    pub const MAX_CENTS: u64 = 1_000_000_000_000;

    /// From minor units.
    ///
    /// # Errors
    /// Above [`Price::MAX_CENTS`].
    pub fn from_cents(cents: u64) -> Result<Self, ValidationError> {
        if cents > Self::MAX_CENTS {
            return Err(ValidationError::new("price", "is too large"));
        }
        Ok(Self(cents))
    }

    /// From a decimal amount, rounded to the cent.
    ///
    /// # Errors
    /// Negative, not finite, or too large.
    pub fn from_decimal(amount: f64) -> Result<Self, ValidationError> {
        if !amount.is_finite() || amount < 0.0 {
            return Err(ValidationError::new(
                "price",
                "must be a non-negative number",
            ));
        }
        // Compared before rounding, so that the bound is exactly the one the API documents.
        if amount > Self::MAX_CENTS as f64 / 100.0 {
            return Err(ValidationError::new("price", "is too large"));
        }
        let cents = (amount * 100.0).round();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Self(cents as u64))
    }

    /// Minor units.
    pub const fn cents(self) -> u64 {
        self.0
    }

    /// The amount as a decimal number.
    #[allow(clippy::cast_precision_loss)]
    pub fn as_decimal(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_decimal())
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let amount = f64::deserialize(d)?;
        Self::from_decimal(amount).map_err(serde::de::Error::custom)
    }
}

/// The product a caption is written for, as the dropshipping platform sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ProductDataWire")]
pub struct ProductData {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare_at_price: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    image_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    features: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stock: Option<i64>,
}

/// The unvalidated shape of [`ProductData`], as it arrives.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductDataWire {
    /// The shop's id of the product (trimmed, 1 to 255 characters, no control characters): what the
    /// platform's `product.updated` and `product.deleted` events name it by.
    #[serde(default)]
    pub id: Option<String>,
    /// Product title (required, non-blank, ≤ 500 characters).
    pub title: String,
    /// Description (≤ 10,000 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// Price.
    #[serde(default)]
    pub price: Option<Price>,
    /// ISO 4217 code, e.g. `USD`.
    #[serde(default)]
    pub currency: Option<String>,
    /// The price before a discount.
    #[serde(default)]
    pub compare_at_price: Option<Price>,
    /// The product page.
    #[serde(default)]
    pub url: Option<String>,
    /// Product images.
    #[serde(default)]
    pub image_urls: Vec<String>,
    /// Selling points (≤ 50, each ≤ 500 characters).
    #[serde(default)]
    pub features: Vec<String>,
    /// Keywords (≤ 50, each ≤ 100 characters).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The shop's name (non-blank, ≤ 500 characters), for templates' `{store_name}`.
    #[serde(default)]
    pub store_name: Option<String>,
    /// Units in stock; zero or less is sold out.
    #[serde(default, deserialize_with = "whole_number")]
    pub stock: Option<i64>,
}

/// Reads a whole number written either way JSON allows: `12` or `12.0` (JSON Schema's
/// `integer` accepts both, so clients generated from the document may send either). A fraction,
/// or a number beyond ±2⁵³, is refused.
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<i64>, D::Error> {
    use serde::de::Error as _;
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => match (n.as_i64(), n.as_f64()) {
            (Some(whole), _) => Ok(Some(whole)),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() <= EXACT => Ok(Some(f as i64)),
            _ => Err(D::Error::custom(format!("{n} is not a whole number"))),
        },
    }
}

/// The limits of [`ProductData`]'s text, in characters and items; the text fields may hold line
/// breaks and tabs but no other control character ([`text::free_text_pattern`]).
pub mod product_limits {
    /// `title`, after trimming ([`super::ProductData::title_pattern`]).
    pub const TITLE_CHARS: usize = 500;
    /// `description`.
    pub const DESCRIPTION_CHARS: usize = 10_000;
    /// `url` and each of `image_urls`.
    pub const URL_CHARS: usize = 2_048;
    /// How many `image_urls`.
    pub const IMAGE_URLS: usize = 35;
    /// How many `features`.
    pub const FEATURES: usize = 50;
    /// Each feature.
    pub const FEATURE_CHARS: usize = 500;
    /// How many `tags`.
    pub const TAGS: usize = 50;
    /// Each tag.
    pub const TAG_CHARS: usize = 100;
    /// `stock`, either way (a shop may oversell into negative stock).
    pub const STOCK: i64 = 1_000_000_000;
}

fn check_list(
    field: &'static str,
    items: &[String],
    max_items: usize,
    max_len: usize,
) -> Result<(), ValidationError> {
    if items.len() > max_items {
        return Err(ValidationError::new(
            field,
            format!("must have at most {max_items} items"),
        ));
    }
    items
        .iter()
        .try_for_each(|item| check_text(field, item, max_len))
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), ValidationError> {
    text::check_chars(field, text, text::CONTROL_BUT_LINE_BREAKS, max)
}

impl TryFrom<ProductDataWire> for ProductData {
    type Error = ValidationError;

    fn try_from(w: ProductDataWire) -> Result<Self, Self::Error> {
        let id =
            w.id.as_deref()
                .map(|id| text::parse_label("product_data.id", id))
                .transpose()?;
        let title = text::parse_required(
            "product_data.title",
            &w.title,
            text::CONTROL_BUT_LINE_BREAKS,
            product_limits::TITLE_CHARS,
        )?;
        let store_name = w
            .store_name
            .as_deref()
            .map(|name| {
                text::parse_required(
                    "product_data.store_name",
                    name,
                    text::CONTROL_BUT_LINE_BREAKS,
                    product_limits::TITLE_CHARS,
                )
            })
            .transpose()?;
        if let Some(d) = &w.description {
            check_text(
                "product_data.description",
                d,
                product_limits::DESCRIPTION_CHARS,
            )?;
        }
        let currency = match w.currency {
            Some(c) => {
                let c = c.trim().to_ascii_uppercase();
                if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(ValidationError::new(
                        "product_data.currency",
                        "must be a three-letter ISO 4217 code",
                    ));
                }
                Some(c)
            }
            None => None,
        };
        if let Some(u) = &w.url {
            check_text("product_data.url", u, product_limits::URL_CHARS)?;
        }
        use product_limits as l;
        check_list(
            "product_data.image_urls",
            &w.image_urls,
            l::IMAGE_URLS,
            l::URL_CHARS,
        )?;
        check_list(
            "product_data.features",
            &w.features,
            l::FEATURES,
            l::FEATURE_CHARS,
        )?;
        check_list("product_data.tags", &w.tags, l::TAGS, l::TAG_CHARS)?;
        if w.stock.is_some_and(|stock| stock.abs() > l::STOCK) {
            return Err(ValidationError::new(
                "product_data.stock",
                "must be between -1000000000 and 1000000000",
            ));
        }
        Ok(Self {
            id,
            title,
            description: w.description.filter(|d| !d.trim().is_empty()),
            price: w.price,
            currency,
            compare_at_price: w.compare_at_price,
            url: w.url,
            image_urls: w.image_urls,
            features: w
                .features
                .into_iter()
                .filter(|f| !f.trim().is_empty())
                .collect(),
            tags: w
                .tags
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .collect(),
            store_name,
            stock: w.stock,
        })
    }
}

impl ProductData {
    /// Validates product data.
    ///
    /// # Errors
    /// The first invalid field, named `product_data.<field>`.
    pub fn parse(wire: ProductDataWire) -> Result<Self, ValidationError> {
        wire.try_into()
    }

    /// The JSON Schema `pattern` of `title` (see [`crate::text`]).
    pub fn title_pattern() -> String {
        text::trimmed_pattern(
            text::CONTROL_BUT_LINE_BREAKS,
            product_limits::TITLE_CHARS,
            true,
        )
    }

    /// The JSON Schema `pattern` of `currency`: three letters, any case, white space around.
    pub fn currency_pattern() -> String {
        let ws = text::WHITE_SPACE.regex_ranges();
        format!("^[{ws}]*[A-Za-z]{{3}}[{ws}]*$")
    }

    /// Title (trimmed, non-blank).
    pub fn title(&self) -> &str {
        &self.title
    }
    /// The shop's id of the product (trimmed, non-blank).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    /// Units in stock (zero or less: sold out).
    pub fn stock(&self) -> Option<i64> {
        self.stock
    }
    /// The shop's name (trimmed, non-blank).
    pub fn store_name(&self) -> Option<&str> {
        self.store_name.as_deref()
    }
    /// Description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// Price.
    pub fn price(&self) -> Option<Price> {
        self.price
    }
    /// Upper-case ISO 4217 code.
    pub fn currency(&self) -> Option<&str> {
        self.currency.as_deref()
    }
    /// Price before a discount.
    pub fn compare_at_price(&self) -> Option<Price> {
        self.compare_at_price
    }
    /// Product page.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
    /// Product images.
    pub fn image_urls(&self) -> &[String] {
        &self.image_urls
    }
    /// Selling points.
    pub fn features(&self) -> &[String] {
        &self.features
    }
    /// Keywords.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Whether `url` is one of the product's own addresses (its page or an image), ignoring a
    /// trailing `/`: the only links a generated caption may carry.
    pub fn is_own_link(&self, url: &str) -> bool {
        let url = url.trim_end_matches('/');
        self.url
            .iter()
            .chain(&self.image_urls)
            .any(|own| own.trim_end_matches('/') == url)
    }
}

/// What to write a caption for.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptionRequest {
    /// The product.
    pub product: ProductData,
    /// Every platform the caption will be posted to: the result must satisfy all of them.
    pub platforms: Vec<Platform>,
    /// The voice.
    pub tone: Tone,
    /// Which variation to write: 0 for a first caption, then one more for each regeneration, so
    /// asking again gives a different caption (a template picks other phrasings; an LLM client
    /// may use it as a seed).
    pub variant: u32,
}

/// A generated caption and its hashtags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedCaption {
    /// The caption text: what every target platform without its own caption gets.
    pub caption: Caption,
    /// Suggested hashtags (without `#`), with `caption`.
    pub hashtags: Hashtags,
    /// Captions written for one platform each, used there instead of `caption` and `hashtags`.
    pub per_platform: PlatformCaptions,
    /// What wrote it.
    pub generator: Generator,
}

impl GeneratedCaption {
    /// One caption for every platform.
    pub fn shared(caption: Caption, hashtags: Hashtags, generator: Generator) -> Self {
        Self {
            caption,
            hashtags,
            per_platform: PlatformCaptions::default(),
            generator,
        }
    }

    /// From a caption for each of `platforms` (in `written`): the first platform's is the shared
    /// one, and every other platform whose caption differs from it keeps its own.
    ///
    /// # Errors
    /// `written` has no caption for the first platform (`platforms` is empty, or it was not
    /// written).
    pub fn from_each(
        platforms: &[Platform],
        mut written: PlatformCaptions,
        generator: Generator,
    ) -> Result<Self, String> {
        let first = platforms.first().ok_or("no platform to write for")?;
        let shared = written
            .0
            .remove(first)
            .ok_or_else(|| format!("no caption for {}", first.display_name()))?;
        written
            .0
            .retain(|platform, own| platforms.contains(platform) && *own != shared);
        Ok(Self {
            caption: shared.caption,
            hashtags: shared.hashtags,
            per_platform: written,
            generator,
        })
    }

    /// Checks what each of `platforms` would get against that platform's rules
    /// ([`fits_platforms`]), and that no other platform got a caption.
    ///
    /// # Errors
    /// The first platform whose caption does not fit, and why.
    pub fn fits(&self, platforms: &[Platform]) -> Result<(), String> {
        self.per_platform.check(platforms).map_err(|(_, why)| why)?;
        let shared: Vec<_> = platforms
            .iter()
            .copied()
            .filter(|p| self.per_platform.get(*p).is_none())
            .collect();
        fits_platforms(&self.caption, &self.hashtags, &shared)
    }
}

/// A caption written for one platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformCaption {
    /// The caption text.
    pub caption: Caption,
    /// Its hashtags (without `#`).
    #[serde(default)]
    pub hashtags: Hashtags,
}

/// Captions written for particular platforms, each used on its platform instead of the shared
/// caption; as JSON, an object keyed by platform name (`{"tiktok": {"caption": …, "hashtags":
/// […]}}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlatformCaptions(std::collections::BTreeMap<Platform, PlatformCaption>);

impl PlatformCaptions {
    /// The caption written for `platform`, if any.
    pub fn get(&self, platform: Platform) -> Option<&PlatformCaption> {
        self.0.get(&platform)
    }

    /// Sets `platform`'s caption, replacing any.
    pub fn insert(&mut self, platform: Platform, caption: PlatformCaption) {
        self.0.insert(platform, caption);
    }

    /// Checks that each caption is for one of `platforms` and within its platform's rules
    /// ([`fits_platforms`]).
    ///
    /// # Errors
    /// The first platform that is not one of `platforms` or whose caption does not fit, and why.
    pub fn check(&self, platforms: &[Platform]) -> Result<(), (Platform, String)> {
        for (platform, own) in self.iter() {
            if !platforms.contains(&platform) {
                let why = format!("{} is not a target platform", platform.display_name());
                return Err((platform, why));
            }
            fits_platforms(&own.caption, &own.hashtags, &[platform])
                .map_err(|why| (platform, why))?;
        }
        Ok(())
    }

    /// Drops the captions of platforms not in `platforms`.
    pub fn keep_only(&mut self, platforms: &[Platform]) {
        self.0.retain(|platform, _| platforms.contains(platform));
    }

    /// The platforms and their captions, in platform order.
    pub fn iter(&self) -> impl Iterator<Item = (Platform, &PlatformCaption)> {
        self.0
            .iter()
            .map(|(platform, caption)| (*platform, caption))
    }

    /// Whether no platform has its own caption.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many platforms have their own caption.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl FromIterator<(Platform, PlatformCaption)> for PlatformCaptions {
    fn from_iter<I: IntoIterator<Item = (Platform, PlatformCaption)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Tokens a language model read and wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TokenUsage {
    /// Tokens of the prompt.
    pub input: u64,
    /// Tokens of the answer.
    pub output: u64,
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: Self) {
        self.input += other.input;
        self.output += other.output;
    }
}

/// What wrote a caption, and at what cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Generator {
    /// `template`, or the model (`anthropic:<model>`, `openai:<model>`).
    pub name: String,
    /// Tokens spent, on every round, including those of answers that were not used.
    pub usage: TokenUsage,
    /// Why the model's caption was not used, when the template wrote it instead.
    pub fell_back: Option<String>,
}

impl Generator {
    /// The built-in templates.
    pub fn template() -> Self {
        Self {
            name: "template".into(),
            usage: TokenUsage::default(),
            fell_back: None,
        }
    }
}

/// Checks a caption against every target platform's rules: its length in the platform's own
/// unit (with the hashtags where they count) and the number of hashtags.
///
/// # Errors
/// The first platform it does not fit, and why.
pub fn fits_platforms(
    caption: &Caption,
    hashtags: &Hashtags,
    platforms: &[Platform],
) -> Result<(), String> {
    for platform in platforms {
        let rules = platform.rules();
        let length = rules.caption_length(caption.as_ref(), hashtags);
        if length > rules.max_caption {
            return Err(format!(
                "the caption is {length} long for {}, which allows {}",
                platform.display_name(),
                rules.max_caption
            ));
        }
        if let Some(max) = rules.max_hashtags
            && hashtags.len() > max
        {
            return Err(format!(
                "{} hashtags are too many for {}, which allows {max}",
                hashtags.len(),
                platform.display_name()
            ));
        }
    }
    Ok(())
}

/// Why a caption could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum CaptionError {
    /// The generator is down or timed out; trying again later may work.
    #[error("caption generator unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The generator refused this input (content policy, …).
    #[error("caption generator refused the request: {0}")]
    Refused(String),
}

/// Writes captions from product data: the built-in [`TemplateCaptions`], or an LLM client.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait CaptionGenerator: Send + Sync + fmt::Debug {
    /// A caption and hashtags for `request`, within the rules of every requested platform.
    ///
    /// # Errors
    /// The generator is unavailable or refused.
    async fn generate(&self, request: &CaptionRequest) -> Result<GeneratedCaption, CaptionError>;

    /// Whether each generation costs money and counts against the plan's
    /// `generations_per_month` (a language model: yes; the templates: no).
    fn metered(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn stock_reads_a_whole_number_written_as_an_integer_or_a_float_and_refuses_a_fraction() {
        let stock = |json: &str| {
            serde_json::from_str::<ProductDataWire>(&format!(
                r#"{{"title": "Lamp", "stock": {json}}}"#
            ))
            .map(|w| w.stock)
            .map_err(|e| e.to_string())
        };
        assert_eq!(stock("12"), Ok(Some(12)));
        assert_eq!(stock("326334.0"), Ok(Some(326_334)));
        assert_eq!(stock("-3.0"), Ok(Some(-3)));
        assert_eq!(stock("null"), Ok(None));
        assert!(stock("12.5").unwrap_err().contains("not a whole number"));
        assert!(stock("1e300").is_err());
        assert!(stock("\"12\"").is_err());
    }

    proptest! {
        #[test]
        fn the_title_and_currency_patterns_accept_exactly_what_parsing_accepts(text in crate::text::tests::edgy_text(8)) {
            let title_ok = ProductData::parse(wire(&text)).is_ok();
            crate::text::tests::agrees(&ProductData::title_pattern(), &text, title_ok)?;
            let currency_ok = ProductData::parse(ProductDataWire { currency: Some(text.clone()), ..wire("t") }).is_ok();
            crate::text::tests::agrees(&ProductData::currency_pattern(), &text, currency_ok)?;
        }
    }

    fn wire(title: &str) -> ProductDataWire {
        ProductDataWire {
            title: title.into(),
            ..ProductDataWire::default()
        }
    }

    #[test]
    fn product_data_needs_a_non_blank_title() {
        assert_eq!(
            ProductData::parse(wire("  ")).unwrap_err().field(),
            "product_data.title"
        );
        assert_eq!(ProductData::parse(wire("  Lamp ")).unwrap().title(), "Lamp");
    }

    #[test]
    fn product_data_refuses_unknown_fields_and_bad_currencies() {
        let unknown = serde_json::from_str::<ProductData>(r#"{"title":"Lamp","colour":"red"}"#);
        assert!(unknown.is_err());
        let bad = ProductData::parse(ProductDataWire {
            currency: Some("dollars".into()),
            ..wire("Lamp")
        });
        assert_eq!(bad.unwrap_err().field(), "product_data.currency");
        let ok = ProductData::parse(ProductDataWire {
            currency: Some("eur".into()),
            ..wire("Lamp")
        });
        assert_eq!(ok.unwrap().currency(), Some("EUR"));
    }

    #[test]
    fn product_data_round_trips_through_json() {
        let json =
            r#"{"title":"Lamp","price":19.99,"currency":"USD","features":["LED"],"tags":["home"]}"#;
        let data: ProductData = serde_json::from_str(json).unwrap();
        assert_eq!(data.price().map(Price::cents), Some(1999));
        let back: ProductData =
            serde_json::from_value(serde_json::to_value(&data).unwrap()).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn prices_are_non_negative_finite_and_rounded_to_the_cent() {
        assert_eq!(Price::from_decimal(19.999).unwrap().cents(), 2000);
        assert!(Price::from_decimal(-0.01).is_err());
        assert!(Price::from_decimal(f64::NAN).is_err());
        assert!(Price::from_decimal(f64::INFINITY).is_err());
        assert_eq!(Price::from_cents(1999).unwrap().to_string(), "19.99");
    }

    fn own(caption: &str, tags: &[&str]) -> PlatformCaption {
        PlatformCaption {
            caption: Caption::parse(caption).unwrap(),
            hashtags: Hashtags::parse(tags).unwrap(),
        }
    }

    #[test]
    fn from_each_shares_the_first_platforms_caption_and_keeps_only_the_ones_that_differ() {
        let written: PlatformCaptions = [
            (Platform::Instagram, own("Link in bio", &["lamp"])),
            (Platform::Facebook, own("Link in bio", &["lamp"])),
            (Platform::Tiktok, own("POV: desk glow", &["desk"])),
        ]
        .into_iter()
        .collect();
        let platforms = [Platform::Instagram, Platform::Facebook, Platform::Tiktok];
        let generated =
            GeneratedCaption::from_each(&platforms, written.clone(), Generator::template())
                .unwrap();
        assert_eq!(generated.caption.as_ref(), "Link in bio");
        assert_eq!(generated.hashtags.to_strings(), ["lamp"]);
        assert_eq!(
            generated
                .per_platform
                .iter()
                .map(|(p, _)| p)
                .collect::<Vec<_>>(),
            [Platform::Tiktok]
        );
        assert!(generated.fits(&platforms).is_ok());
        let missing = GeneratedCaption::from_each(
            &[Platform::Tiktok],
            PlatformCaptions::default(),
            Generator::template(),
        );
        assert_eq!(missing.unwrap_err(), "no caption for TikTok");
    }

    #[test]
    fn fits_holds_each_platform_to_the_caption_it_would_get() {
        let mut generated = GeneratedCaption::shared(
            Caption::parse("x".repeat(2_500)).unwrap(),
            Hashtags::default(),
            Generator::template(),
        );
        assert!(generated.fits(&[Platform::Facebook]).is_ok());
        let err = generated
            .fits(&[Platform::Facebook, Platform::Instagram])
            .unwrap_err();
        assert!(err.contains("Instagram"), "{err}");
        generated
            .per_platform
            .insert(Platform::Instagram, own("Short", &[]));
        assert!(
            generated
                .fits(&[Platform::Facebook, Platform::Instagram])
                .is_ok()
        );
        assert!(
            generated
                .fits(&[Platform::Facebook])
                .unwrap_err()
                .contains("Instagram is not a target platform")
        );
    }

    #[test]
    fn platform_captions_are_json_keyed_by_platform_and_validated() {
        let parsed: PlatformCaptions =
            serde_json::from_str(r#"{"tiktok": {"caption": "Hi", "hashtags": ["a"]}}"#).unwrap();
        assert_eq!(parsed.get(Platform::Tiktok), Some(&own("Hi", &["a"])));
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::json!({"tiktok": {"caption": "Hi", "hashtags": ["a"]}})
        );
        for bad in [
            r#"{"myspace": {"caption": "Hi"}}"#,
            r#"{"tiktok": {"caption": "  "}}"#,
            r#"{"tiktok": {"caption": "Hi", "colour": "red"}}"#,
        ] {
            assert!(
                serde_json::from_str::<PlatformCaptions>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tones_parse_by_name() {
        assert_eq!("Luxury".parse::<Tone>().unwrap(), Tone::Luxury);
        assert_eq!("angry".parse::<Tone>().unwrap_err().field(), "tone");
    }

    proptest! {
        #[test]
        fn product_parsing_never_panics(title in "\\PC{0,600}", currency in "\\PC{0,5}", price in proptest::num::f64::ANY) {
            let _ = ProductData::parse(ProductDataWire {
                currency: Some(currency),
                price: Price::from_decimal(price).ok(),
                ..wire(&title)
            });
        }
    }
}
