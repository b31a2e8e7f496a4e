//! Caption templates: a merchant's own caption with placeholders (`{title}`, `{price}`, …) that
//! the queue fills from a product. Checked when saved — every placeholder known, and the body
//! rendered with a sample product within every target platform's rules — so a template that is
//! saved can be used.

mod service;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ValidationError;
use crate::aggregate::aggregate;
use crate::caption::{Price, ProductData, ProductDataWire, Tone, fits_platforms};
use crate::id::{TemplateId, UserId};
use crate::platform::Platform;
use crate::post::{Caption, Hashtags};
use crate::text;

pub use service::{CreateTemplate, TemplatePatch, TemplateService};

/// The placeholders a body may use, each filled from the product (empty when it has no value).
pub const PLACEHOLDERS: [&str; 11] = [
    "title",
    "description",
    "price",
    "compare_at_price",
    "discount",
    "currency",
    "url",
    "store_name",
    "hashtags",
    "features",
    "tags",
];

/// Longest template name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest body, in characters (before rendering).
pub const MAX_BODY_CHARS: usize = 5_000;

/// A template's text: placeholders in braces, `{{` and `}}` for literal braces.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TemplateBody(String);

/// A piece of a body.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

impl TemplateBody {
    /// A body whose every placeholder is known.
    ///
    /// # Errors
    /// `body` is blank, too long, holds a control character, an unclosed `{`, a lone `}`, or an
    /// unknown placeholder (named, with the known ones).
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let body =
            text::parse_required("body", text, text::CONTROL_BUT_LINE_BREAKS, MAX_BODY_CHARS)?;
        for piece in pieces(&body)? {
            if let Piece::Placeholder(name) = piece
                && !PLACEHOLDERS.contains(&name)
            {
                return Err(ValidationError::new(
                    "body",
                    format!(
                        "unknown placeholder {{{name}}}; use {}",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ),
                ));
            }
        }
        Ok(Self(body))
    }

    /// A body as stored: checked when it was written, under the rules of the build that wrote it
    /// (a later build's narrower rule must not make a stored template unreadable).
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The body filled from `product`, with `hashtags` for `{hashtags}`.
    pub fn render(&self, product: &ProductData, hashtags: &Hashtags) -> String {
        let mut out = String::with_capacity(self.0.len());
        for piece in pieces(&self.0).unwrap_or_default() {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder(name) => out.push_str(&value(name, product, hashtags)),
            }
        }
        out.trim().to_owned()
    }
}

impl AsRef<str> for TemplateBody {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The text and placeholders of `body`, with `{{`/`}}` as literal braces.
fn pieces(body: &str) -> Result<Vec<Piece<'_>>, ValidationError> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(['{', '}']) {
        let (text, tail) = rest.split_at(at);
        if !text.is_empty() {
            out.push(Piece::Text(text));
        }
        if let Some(after) = tail.strip_prefix("{{") {
            out.push(Piece::Text("{"));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push(Piece::Text("}"));
            rest = after;
        } else if tail.starts_with('}') {
            return Err(ValidationError::new(
                "body",
                "a } without its {; write }} for a brace",
            ));
        } else {
            let end = tail.find('}').ok_or_else(|| {
                ValidationError::new("body", "a { is not closed; write {{ for a brace")
            })?;
            out.push(Piece::Placeholder(tail[1..end].trim()));
            rest = &tail[end + 1..];
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

fn money(price: Option<Price>) -> String {
    price.map(|p| p.to_string()).unwrap_or_default()
}

/// One placeholder's value for `product`.
fn value(name: &str, product: &ProductData, hashtags: &Hashtags) -> String {
    match name {
        "title" => product.title().to_owned(),
        "description" => product.description().unwrap_or_default().trim().to_owned(),
        "price" => money(product.price()),
        "compare_at_price" => money(product.compare_at_price()),
        "discount" => match (product.price(), product.compare_at_price()) {
            (Some(now), Some(was)) => match crate::caption::template::discount_percent(now, was) {
                0 => String::new(),
                off => format!("{off}%"),
            },
            _ => String::new(),
        },
        "currency" => product.currency().unwrap_or_default().to_owned(),
        "url" => product.url().unwrap_or_default().to_owned(),
        "store_name" => product.store_name().unwrap_or_default().to_owned(),
        "hashtags" => hashtags
            .iter()
            .map(|t| format!("#{}", t.as_ref()))
            .collect::<Vec<_>>()
            .join(" "),
        "features" => product
            .features()
            .iter()
            .map(|f| format!("• {}", f.trim()))
            .collect::<Vec<_>>()
            .join("\n"),
        "tags" => product.tags().join(", "),
        _ => String::new(),
    }
}

/// The product a template is checked with when saved: every field filled, at realistic lengths.
fn sample_product() -> ProductData {
    let wire = ProductDataWire {
        id: Some("aurora-desk-lamp".into()),
        title: "Aurora Adjustable LED Desk Lamp with Wireless Charger".into(),
        description: Some(
            "A warm, flicker-free light in three colour temperatures, a touch dimmer and a \
             charging pad in its base. Folds flat for travel."
                .into(),
        ),
        price: Price::from_cents(3_999).ok(),
        currency: Some("USD".into()),
        compare_at_price: Price::from_cents(5_999).ok(),
        url: Some("https://shop.example.com/products/aurora-desk-lamp".into()),
        image_urls: Vec::new(),
        features: vec![
            "Three colour temperatures".into(),
            "Wireless charging base".into(),
            "Folds flat".into(),
        ],
        tags: vec!["desk lamp".into(), "home office".into(), "lighting".into()],
        store_name: Some("Aurora Home".into()),
        stock: Some(12),
    };
    ProductData::parse(wire).unwrap_or_else(|_| unreachable!("the sample product is valid"))
}

/// Every platform, when a template names none.
fn targets(platforms: &[Platform]) -> &[Platform] {
    if platforms.is_empty() {
        &Platform::ALL
    } else {
        platforms
    }
}

/// Checks `body` renders, for the sample product, into a caption every target platform takes.
fn check_renders(body: &TemplateBody, platforms: &[Platform]) -> Result<(), ValidationError> {
    let hashtags = Hashtags::parse(["aurora", "deskdecor", "homeoffice", "lighting"])?;
    let rendered = body.render(&sample_product(), &hashtags);
    let caption = Caption::parse(rendered).map_err(|e| {
        ValidationError::new(
            "body",
            format!("rendered with a sample product: {}", e.reason()),
        )
    })?;
    fits_platforms(&caption, &Hashtags::default(), targets(platforms)).map_err(|why| {
        ValidationError::new("body", format!("rendered with a sample product, {why}"))
    })
}

/// A template name: trimmed, non-blank, at most [`MAX_NAME_CHARS`].
fn parse_name(name: &str) -> Result<String, ValidationError> {
    text::parse_required("name", name, text::CONTROL, MAX_NAME_CHARS)
}

aggregate! {
    /// A merchant's caption template. Read through its methods, changed by [`edit`](Self::edit);
    /// [`CaptionTemplateRecord`] loads one from storage.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct CaptionTemplate / CaptionTemplateRecord {
        /// Id.
        id: copy TemplateId,
        /// Owner.
        user_id: copy UserId,
        /// Its name in the merchant's list.
        name: string,
        /// The text with placeholders.
        body: by_ref TemplateBody,
        /// The platforms it is meant for (checked against); empty: every platform.
        platforms: list Platform,
        /// The tone it is written in, for the queue item's record.
        tone: copy Option<Tone>,
        /// Creation time.
        created_at: copy DateTime<Utc>,
        /// Last change.
        updated_at: copy DateTime<Utc>,
    }
}

/// What a template is made of, unchecked.
#[derive(Clone, Debug)]
pub struct TemplateFields {
    /// Its name.
    pub name: String,
    /// Its body.
    pub body: String,
    /// Its platforms (none: every platform).
    pub platforms: Vec<Platform>,
    /// Its tone.
    pub tone: Option<Tone>,
}

impl CaptionTemplate {
    /// A new template, checked: its name, body and placeholders, and its body rendered with a
    /// sample product within each of its platforms' rules.
    ///
    /// # Errors
    /// The first problem, naming `name` or `body`.
    pub fn create(
        id: TemplateId,
        user_id: UserId,
        fields: TemplateFields,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let name = parse_name(&fields.name)?;
        let body = TemplateBody::parse(&fields.body)?;
        let platforms = Platform::dedup(fields.platforms);
        check_renders(&body, &platforms)?;
        Ok(Self {
            id,
            user_id,
            name,
            body,
            platforms,
            tone: fields.tone,
            created_at: now,
            updated_at: now,
        })
    }

    /// Changes what `patch` names, checked as [`create`](Self::create) checks.
    ///
    /// # Errors
    /// The first problem; nothing changes then.
    pub fn edit(
        &mut self,
        patch: TemplatePatch,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        let name = patch.name.as_deref().map(parse_name).transpose()?;
        let body = patch.body.as_deref().map(TemplateBody::parse).transpose()?;
        let platforms = patch.platforms.map(Platform::dedup);
        // A rename or a new tone leaves the stored body as it was checked when written.
        if body.is_some() || platforms.is_some() {
            check_renders(
                body.as_ref().unwrap_or(&self.body),
                platforms.as_deref().unwrap_or(&self.platforms),
            )?;
        }
        if let Some(name) = name {
            self.name = name;
        }
        if let Some(body) = body {
            self.body = body;
        }
        if let Some(platforms) = platforms {
            self.platforms = platforms;
        }
        if let Some(tone) = patch.tone {
            self.tone = tone;
        }
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn product(price: u64, was: Option<u64>) -> ProductData {
        ProductData::parse(ProductDataWire {
            title: "Lamp".into(),
            price: Price::from_cents(price).ok(),
            compare_at_price: was.and_then(|w| Price::from_cents(w).ok()),
            url: Some("https://shop.example/l".into()),
            store_name: Some("Aurora Home".into()),
            ..ProductDataWire::default()
        })
        .unwrap()
    }

    #[test]
    fn placeholders_are_filled_and_double_braces_stay_braces() {
        let body = TemplateBody::parse(
            "{title} at {store_name}: {price} (was {compare_at_price}, {discount} off) {{sale}} {hashtags}\n{url}",
        )
        .unwrap();
        let tags = Hashtags::parse(["lamp", "deal"]).unwrap();
        assert_eq!(
            body.render(&product(3_000, Some(4_000)), &tags),
            "Lamp at Aurora Home: 30.00 (was 40.00, 25% off) {sale} #lamp #deal\nhttps://shop.example/l"
        );
        let without_discount = body.render(&product(3_000, None), &tags);
        assert!(
            without_discount.contains("(was , ") && !without_discount.contains('%'),
            "{without_discount}"
        );
    }

    #[test]
    fn the_discount_is_rounded_like_the_built_in_captions_and_absent_when_it_rounds_to_zero() {
        let body = TemplateBody::parse("{discount}").unwrap();
        let tags = Hashtags::default();
        assert_eq!(body.render(&product(1_000, Some(3_000)), &tags), "67%");
        assert_eq!(body.render(&product(9_999, Some(10_000)), &tags), "");
    }

    #[test]
    fn an_unknown_placeholder_or_a_stray_brace_is_refused_by_name() {
        let e = TemplateBody::parse("Buy {title} now {sku}").unwrap_err();
        assert_eq!(e.field(), "body");
        assert!(
            e.reason()
                .starts_with("unknown placeholder {sku}; use {title}"),
            "{}",
            e.reason()
        );
        assert!(
            TemplateBody::parse("Open {title")
                .unwrap_err()
                .reason()
                .contains("not closed")
        );
        assert!(
            TemplateBody::parse("Close title}")
                .unwrap_err()
                .reason()
                .contains("without its {")
        );
    }

    #[test]
    fn a_body_too_long_for_a_target_platform_is_refused_when_saved() {
        let fields = |body: String, platforms: Vec<Platform>| TemplateFields {
            name: "Long".into(),
            body,
            platforms,
            tone: None,
        };
        let id = TemplateId::from(uuid::Uuid::nil());
        let user = UserId::from(uuid::Uuid::nil());
        let long = format!("{} {{title}}", "x".repeat(2_150));
        let e = CaptionTemplate::create(
            id,
            user,
            fields(long.clone(), vec![Platform::Instagram]),
            Utc::now(),
        )
        .unwrap_err();
        assert!(
            e.reason()
                .starts_with("rendered with a sample product, the caption is"),
            "{}",
            e.reason()
        );
        assert!(
            CaptionTemplate::create(id, user, fields(long, vec![Platform::Facebook]), Utc::now())
                .is_ok()
        );
    }
}
