//! The schemas of what requests carry, built from the core's own rules — its patterns, limits and
//! names — so that the OpenAPI document tells a client exactly what the server accepts: a request
//! valid by the schema is refused only for a reason the schema cannot state (a time in the past, a
//! caption too long for the account's platform, an end date before the start date), and one
//! invalid by it is always refused. schemathesis holds the server to both (`.ci/schemathesis`).

use std::borrow::Cow;

use postpilot_core::api_key::Scope;
use postpilot_core::caption::{Tone, product_limits};
use postpilot_core::crypto::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::{
    Caption, Hashtag, MAX_CAPTION_CHARS, MAX_URL_LEN, MediaUrl, PostStatus,
};
use postpilot_core::publish::AttemptOutcome;
use postpilot_core::queue::QueueStatus;
use postpilot_core::text;
use postpilot_core::user::{Email, MAX_EMAIL_CHARS};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Declares a named schema component built by `$schema`.
macro_rules! component {
    ($($(#[$doc:meta])* $name:ident => $schema:expr;)*) => {$(
        $(#[$doc])*
        pub(crate) struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                Schema::Object($schema.build()).into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )*};
}

fn text(description: &str, pattern: String, max_chars: Option<usize>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .max_length(max_chars)
}

fn one_of<'a>(description: &str, names: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(names))
}

fn free_text(description: &str, max_chars: usize) -> ObjectBuilder {
    text(
        description,
        text::free_text_pattern(text::CONTROL_BUT_LINE_BREAKS),
        Some(max_chars),
    )
}

component! {
    /// A post caption.
    CaptionText => text(
        "Non-blank text without control characters other than line breaks and tabs. The \
         account's platform may allow less (Instagram and TikTok 2,200 characters).",
        Caption::pattern(),
        Some(MAX_CAPTION_CHARS),
    );
    /// One hashtag.
    HashtagText => text(
        "Letters, digits and `_`, with or without a leading `#`, at most 100 characters.",
        Hashtag::pattern(),
        None,
    );
    /// A media URL.
    MediaUrlText => text(
        "An absolute https URL without credentials, spaces or control characters.",
        MediaUrl::pattern(),
        Some(MAX_URL_LEN),
    );
    /// A one-line label.
    LabelText => text(
        "1 to 255 characters after trimming, no control characters.",
        text::label_pattern(),
        None,
    );
    /// An e-mail address.
    EmailText => text(
        "An ASCII address `local@domain.tld`: a local part of 1 to 64 characters, an \
         internationalised domain in its `xn--` form; normalised to lower case.",
        Email::pattern(),
        Some(MAX_EMAIL_CHARS),
    );
    /// A new password.
    PasswordText => ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("8 to 128 characters."))
        .min_length(Some(MIN_PASSWORD_CHARS))
        .max_length(Some(MAX_PASSWORD_CHARS));
    /// A caption template's name.
    TemplateNameText => text(
        "1 to 100 characters after trimming, no control characters.",
        text::trimmed_pattern(text::CONTROL, postpilot_core::template::MAX_NAME_CHARS, true),
        None,
    );
    /// A caption template's body.
    TemplateBodyText => text(
        "Non-blank, at most 5,000 characters after trimming, no control characters other than \
         line breaks and tabs; placeholders in braces (unknown ones are refused), `{{` and `}}` \
         for braces. Filled from a sample product, it must fit each of the template's platforms.",
        text::trimmed_pattern(
            text::CONTROL_BUT_LINE_BREAKS,
            postpilot_core::template::MAX_BODY_CHARS,
            true,
        ),
        None,
    );
    /// A product's title.
    ProductTitleText => text(
        "Non-blank, at most 500 characters after trimming, no control characters other than \
         line breaks and tabs.",
        postpilot_core::caption::ProductData::title_pattern(),
        None,
    );
    /// A product's description.
    ProductDescriptionText => free_text("At most 10,000 characters.", product_limits::DESCRIPTION_CHARS);
    /// A product page or image URL.
    ProductUrlText => free_text("At most 2,048 characters.", product_limits::URL_CHARS);
    /// A product's selling point.
    ProductFeatureText => free_text("At most 500 characters.", product_limits::FEATURE_CHARS);
    /// A product's keyword.
    ProductTagText => free_text("At most 100 characters.", product_limits::TAG_CHARS);
    /// An ISO 4217 code.
    CurrencyCode => text(
        "Three letters (ISO 4217), any case.",
        postpilot_core::caption::ProductData::currency_pattern(),
        None,
    );
    /// Why a queue item is rejected.
    RejectionReasonText => text(
        "At most 1,000 characters after trimming, no control characters other than line breaks \
         and tabs; blank means none.",
        postpilot_core::queue::reason_pattern(),
        None,
    );
    /// A weekly posting slot.
    SlotText => text(
        "A weekday and a local time, `mon 09:00` (mon, tue, wed, thu, fri, sat, sun; HH:MM).",
        "^(mon|tue|wed|thu|fri|sat|sun) ([01][0-9]|2[0-3]):[0-5][0-9]$".to_owned(),
        None,
    );
    /// An IANA time zone.
    TimeZoneName => one_of(
        "An IANA time zone name, e.g. `Europe/Paris`.",
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()),
    );
    /// A platform.
    PlatformName => one_of("A social platform.", Platform::ALL.map(Platform::as_str));
    /// A post status.
    PostStatusName => one_of("A post status.", PostStatus::ALL.map(PostStatus::as_str));
    /// How a publication attempt ended.
    AttemptOutcomeName => one_of(
        "How a publication attempt ended.",
        AttemptOutcome::ALL.map(AttemptOutcome::as_str)
    );
    /// A queue item status.
    QueueStatusName => one_of("A queue item status.", QueueStatus::ALL.map(QueueStatus::as_str));
    /// A caption tone.
    ToneName => one_of("A caption tone.", Tone::ALL.map(Tone::as_str));
    /// A plan.
    PlanName => one_of("A plan.", PlanTier::ALL.map(PlanTier::as_str));
    /// A paid plan.
    PaidPlanName => one_of(
        "A paid plan.",
        PlanTier::ALL.into_iter().filter(|p| *p != PlanTier::Free).map(PlanTier::as_str),
    );
    /// An API key scope.
    ScopeName => one_of("An API key scope.", Scope::ALL.map(Scope::as_str));
    /// What product changes pause posts.
    PauseOnName => one_of(
        "Which product changes pause posts.",
        postpilot_core::post::PauseOn::ALL.map(postpilot_core::post::PauseOn::as_str),
    );
    /// An event type.
    EventTypeName => one_of(
        "An event type.",
        postpilot_core::event::EventType::ALL.map(postpilot_core::event::EventType::as_str),
    );
    /// Where a webhook delivery stands.
    DeliveryStatusName => one_of(
        "Where a webhook delivery stands.",
        postpilot_core::event::DeliveryStatus::ALL.map(postpilot_core::event::DeliveryStatus::as_str),
    );
    /// A webhook endpoint's URL.
    EndpointUrlText => text(
        "An absolute https:// URL without credentials or fragment, at most 2,048 bytes; it must \
         resolve only to public addresses.",
        "^https?://[^@#\\s/?]+([/?][^#\\s]*)?$".to_owned(),
        Some(postpilot_core::event::MAX_URL_LEN),
    );
    /// Why a post is paused.
    PauseReasonText => text(
        "1 to 500 characters after trimming, no control characters other than line breaks and \
         tabs.",
        postpilot_core::text::trimmed_pattern(
            postpilot_core::text::CONTROL_BUT_LINE_BREAKS,
            postpilot_core::post::MAX_PAUSE_REASON_CHARS,
            true,
        ),
        None,
    );
    /// A webhook endpoint's description.
    DescriptionText => text(
        "At most 500 characters after trimming, no control characters other than line breaks \
         and tabs.",
        postpilot_core::text::trimmed_pattern(
            postpilot_core::text::CONTROL_BUT_LINE_BREAKS,
            postpilot_core::event::MAX_DESCRIPTION_CHARS,
            false,
        ),
        None,
    );
}
