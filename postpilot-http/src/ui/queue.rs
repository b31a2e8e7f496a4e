//! `/app/queue`: generate captions from product data, review them (the shared caption and each
//! platform's own, with live per-platform counters in each platform's unit), approve them onto
//! accounts at a time, reject with a reason, regenerate.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use postpilot_core::Error;
use postpilot_core::ValidationError;
use postpilot_core::caption::{
    PlatformCaption, PlatformCaptions, Price, ProductData, ProductDataWire, Tone,
};
use postpilot_core::id::{AccountId, QueueItemId};
use postpilot_core::platform::{LengthUnit, Platform};
use postpilot_core::post::{Caption, Hashtags};
use postpilot_core::queue::{ApproveItem, Placement, QueueItem, QueueItemPatch, QueueStatus};
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::form::{Fields, local_time, time_zone};
use super::pages::{Layout, Notice, PageId, PageResult, first, page, said};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::state::AppState;

/// A platform's caption rules, for the live counters (the server checks them again).
#[derive(Debug)]
pub(crate) struct Counter {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    pub(crate) max: usize,
    /// `chars` or `utf16`.
    pub(crate) unit: &'static str,
    /// Whether hashtags count toward the length (each as ` #tag`).
    pub(crate) tags_count: bool,
}

impl Counter {
    pub(crate) fn of(platform: Platform) -> Self {
        let rules = platform.rules();
        Self {
            key: platform.as_str(),
            name: platform.display_name(),
            max: rules.max_caption,
            unit: match rules.length_unit {
                LengthUnit::Chars => "chars",
                LengthUnit::Utf16Units => "utf16",
            },
            tags_count: rules.hashtags_in_caption,
        }
    }
}

/// One item as the list shows it.
#[derive(Debug)]
pub(crate) struct ItemRow {
    pub(crate) id: Uuid,
    pub(crate) title: String,
    pub(crate) status: &'static str,
    pub(crate) caption: Option<String>,
    pub(crate) platforms: String,
    pub(crate) generator: Option<String>,
}

impl From<&QueueItem> for ItemRow {
    fn from(item: &QueueItem) -> Self {
        Self {
            id: item.id().as_uuid(),
            title: item.product_data().title().to_owned(),
            status: item.status().as_str(),
            caption: item.ai_generated_content().map(ToString::to_string),
            platforms: item
                .platforms()
                .iter()
                .map(|p| p.display_name())
                .collect::<Vec<_>>()
                .join(", "),
            generator: item.caption_generator().map(|g| match &g.fell_back {
                Some(why) => format!("{} ({why})", g.name),
                None => g.name.clone(),
            }),
        }
    }
}

/// A status tab.
#[derive(Debug)]
pub(crate) struct Tab {
    pub(crate) label: &'static str,
    pub(crate) href: String,
    pub(crate) current: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    layout: Layout,
    notice: Option<Notice>,
    tabs: Vec<Tab>,
    items: Vec<ItemRow>,
    total: u64,
    platforms: Vec<Counter>,
    tones: Vec<&'static str>,
    templates: Vec<(Uuid, String)>,
}

/// `?status=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
}

/// `GET /app/queue`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
    Query(query): Query<ListQuery>,
) -> PageResult<Response> {
    let engine = state.engine();
    let status = query
        .status
        .as_deref()
        .and_then(|s| s.parse::<QueueStatus>().ok());
    let page_request = first(50);
    let items = engine
        .queue()
        .list(session.user, status, page_request)
        .await?;
    let templates = engine
        .templates()
        .list(session.user, first(100))
        .await?
        .items
        .iter()
        .map(|t| (t.id().as_uuid(), t.name().to_owned()))
        .collect();
    let tab = |label, href: &str, which: Option<QueueStatus>| Tab {
        label,
        href: String::from(href),
        current: which == status,
    };
    let template = QueuePage {
        layout: Layout::new("Queue", "queue", true, &csrf),
        notice: flash.notice.take(),
        tabs: vec![
            tab("All", "/app/queue", None),
            tab(
                "Pending",
                "/app/queue?status=pending",
                Some(QueueStatus::Pending),
            ),
            tab(
                "Approved",
                "/app/queue?status=approved",
                Some(QueueStatus::Approved),
            ),
            tab(
                "Rejected",
                "/app/queue?status=rejected",
                Some(QueueStatus::Rejected),
            ),
            tab(
                "Posted",
                "/app/queue?status=posted",
                Some(QueueStatus::Posted),
            ),
        ],
        items: items.items.iter().map(ItemRow::from).collect(),
        total: items.total,
        platforms: Platform::ALL.iter().map(|p| Counter::of(*p)).collect(),
        tones: Tone::ALL.iter().map(|t| t.as_str()).collect(),
        templates,
    };
    Ok(flash.shown(page(&template, &csrf)))
}

/// The platforms ticked in a form (`platform` repeated).
fn ticked_platforms(form: &Fields) -> Result<Vec<Platform>, Error> {
    Ok(postpilot_core::queue::parse_platforms(
        form.all("platform"),
    )?)
}

/// An amount as merchants type it: digits, then optionally a point or a comma and one or two
/// digits. `1,299` is refused rather than read as 1.299: a thousands separator and a decimal
/// comma look alike, and a caption must not advertise the wrong price.
fn amount(text: &str) -> Option<f64> {
    let (units, cents) = match text.find(['.', ',']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let shaped = !units.is_empty()
        && digits(units)
        && digits(cents)
        && (text.len() == units.len() || (1..=2).contains(&cents.len()));
    if !shaped {
        return None;
    }
    format!("{units}.{}", if cents.is_empty() { "0" } else { cents })
        .parse()
        .ok()
}

/// Product data from the generate form.
fn product(form: &Fields) -> Result<ProductData, Error> {
    let price = |name: &str| -> Result<Option<Price>, Error> {
        form.get(name)
            .map(|p| {
                let amount = amount(p).ok_or_else(|| {
                    ValidationError::new(
                        format!("product_data.{name}"),
                        "must be an amount like 1299.99 (a comma may stand for the point, \
                         no thousands separator)",
                    )
                })?;
                Price::from_decimal(amount).map_err(|e| e.for_field(format!("product_data.{name}")))
            })
            .transpose()
            .map_err(Error::from)
    };
    // The shop's id and stock come from the platform's API, not from a merchant's form.
    Ok(ProductData::parse(ProductDataWire {
        id: None,
        title: form.text("title").to_owned(),
        description: form.get("description").map(str::to_owned),
        price: price("price")?,
        currency: form.get("currency").map(str::to_owned),
        compare_at_price: price("compare_at_price")?,
        url: form.get("url").map(str::to_owned),
        image_urls: form.lines("image_urls"),
        features: form.lines("features"),
        tags: form.words("tags"),
        store_name: form.get("store_name").map(str::to_owned),
        stock: None,
    })?)
}

/// Back to the queue with an error, or on to the item.
fn after(result: Result<QueueItem, Error>, failed: &str) -> Response {
    match result {
        Ok(item) => Redirect::to(&format!("/app/queue/{}", item.id().as_uuid())).into_response(),
        Err(e) => flash::redirect(failed, &Notice::error(said(&e))),
    }
}

/// `POST /app/queue/generate`.
pub(crate) async fn generate(
    State(state): State<AppState>,
    session: SignedIn,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let request = (|| -> Result<_, Error> {
        let tone = form.get("tone").map(str::parse::<Tone>).transpose()?;
        let template = form
            .get("template_id")
            .map(|t| {
                Uuid::parse_str(t).map_err(|_| {
                    Error::from(ValidationError::new("template_id", "is not a template"))
                })
            })
            .transpose()?;
        Ok((product(&form)?, ticked_platforms(&form)?, tone, template))
    })();
    let generated = match request {
        Ok((product, platforms, tone, template)) => {
            state
                .engine()
                .queue()
                .generate_with(
                    session.user,
                    product,
                    platforms,
                    tone,
                    template.map(Into::into),
                )
                .await
        }
        Err(e) => Err(e),
    };
    after(generated, "/app/queue")
}

/// A platform's caption editor on the review page.
#[derive(Debug)]
pub(crate) struct OwnCaption {
    pub(crate) counter: Counter,
    pub(crate) caption: String,
    pub(crate) hashtags: String,
}

/// An account the item can be approved onto.
#[derive(Debug)]
pub(crate) struct AccountChoice {
    pub(crate) id: Uuid,
    pub(crate) label: String,
}

#[derive(Template)]
#[template(path = "queue_item.html")]
struct ItemPage {
    layout: Layout,
    notice: Option<Notice>,
    item: ItemRow,
    pending: bool,
    rejected: bool,
    rejection_reason: Option<String>,
    caption: String,
    hashtags: String,
    counters: Vec<Counter>,
    own: Vec<OwnCaption>,
    accounts: Vec<AccountChoice>,
    tones: Vec<&'static str>,
    /// The merchant's time zone, which "Publish at" is in.
    tz: String,
}

/// `GET /app/queue/{id}`: review one item.
pub(crate) async fn item(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    mut flash: Flash,
) -> PageResult<Response> {
    let engine = state.engine();
    let item = engine
        .queue()
        .get(session.user, QueueItemId::from(id))
        .await?;
    let accounts = engine
        .accounts()
        .list(session.user, first(100))
        .await?
        .items
        .into_iter()
        .filter(|a| a.is_connected() && item.platforms().contains(&a.platform()))
        .map(|a| AccountChoice {
            id: a.id().as_uuid(),
            label: format!("{} on {}", a.account_name(), a.platform().display_name()),
        })
        .collect();
    let own = item
        .platforms()
        .iter()
        .map(|p| {
            let written = item.platform_captions().get(*p);
            OwnCaption {
                counter: Counter::of(*p),
                caption: written.map(|w| w.caption.to_string()).unwrap_or_default(),
                hashtags: written
                    .map(|w| w.hashtags.to_strings().join(" "))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let template = ItemPage {
        layout: Layout::new("Review a caption", "queue", true, &csrf),
        notice: flash.notice.take(),
        pending: item.status() == QueueStatus::Pending,
        rejected: item.status() == QueueStatus::Rejected,
        rejection_reason: item.rejection_reason().map(str::to_owned),
        caption: item
            .ai_generated_content()
            .map(ToString::to_string)
            .unwrap_or_default(),
        hashtags: item.hashtags().to_strings().join(" "),
        counters: item.platforms().iter().map(|p| Counter::of(*p)).collect(),
        own,
        accounts,
        tones: Tone::ALL.iter().map(|t| t.as_str()).collect(),
        tz: time_zone(&state, session.user).await?.name().to_owned(),
        item: ItemRow::from(&item),
    };
    Ok(flash.shown(page(&template, &csrf)))
}

fn item_path(id: Uuid) -> String {
    format!("/app/queue/{id}")
}

/// Back to the item, with what happened.
fn back_to(id: Uuid, result: Result<String, Error>) -> Response {
    flash::redirect(&item_path(id), &Notice::of(result))
}

/// `POST /app/queue/{id}/edit`: the shared caption and hashtags, and each platform's own.
pub(crate) async fn edit(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let engine = state.engine();
    let result = async {
        let item = engine
            .queue()
            .get(session.user, QueueItemId::from(id))
            .await?;
        let mut own = PlatformCaptions::default();
        for &platform in item.platforms() {
            let key = platform.as_str();
            if form.get(&format!("caption_{key}")).is_none()
                && form.get(&format!("hashtags_{key}")).is_some()
            {
                return Err(ValidationError::new(
                    format!("platform_captions.{key}"),
                    "hashtags need the caption they go with",
                )
                .into());
            }
            if let Some(text) = form.get(&format!("caption_{key}")) {
                let field = format!("platform_captions.{key}");
                let caption = Caption::parse(text).map_err(|e| e.for_field(field.clone()))?;
                let hashtags = Hashtags::parse(form.words(&format!("hashtags_{key}")))
                    .map_err(|e| e.for_field(field))?;
                own.insert(platform, PlatformCaption { caption, hashtags });
            }
        }
        if form.get("caption").is_none() && item.ai_generated_content().is_some() {
            return Err(ValidationError::new("ai_generated_content", "must not be blank").into());
        }
        let patch = QueueItemPatch {
            ai_generated_content: form.get("caption").map(str::to_owned),
            hashtags: Some(form.words("hashtags")),
            platform_captions: Some(own),
            ..QueueItemPatch::default()
        };
        engine
            .queue()
            .update(session.user, QueueItemId::from(id), patch)
            .await?;
        Ok::<_, Error>("Saved.".to_owned())
    };
    back_to(id, result.await)
}

/// `POST /app/queue/{id}/approve`: one post per ticked account, at the time given (drafts
/// without one).
pub(crate) async fn approve(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let engine = state.engine();
    let result = async {
        let account_ids = form
            .all("account")
            .map(|a| {
                Uuid::parse_str(a)
                    .map(AccountId::from)
                    .map_err(|_| ValidationError::new("account_ids", "names an unknown account"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let placement = match (form.get("slot"), form.get("scheduled_for")) {
            (Some("next"), _) => Placement::NextSlot,
            (_, Some(t)) => Placement::At(local_time(t, time_zone(&state, session.user).await?)?),
            (_, None) => Placement::Draft,
        };
        let approval = engine
            .queue()
            .approve(
                session.user,
                QueueItemId::from(id),
                ApproveItem {
                    account_ids,
                    placement,
                },
            )
            .await?;
        let n = approval.posts.len();
        Ok::<_, Error>(match placement {
            Placement::At(_) => format!("Approved: {n} post(s) scheduled."),
            Placement::NextSlot => format!("Approved: {n} post(s) on their next free slots."),
            Placement::Draft => format!("Approved: {n} draft post(s)."),
        })
    };
    back_to(id, result.await)
}

/// `POST /app/queue/{id}/reject`.
pub(crate) async fn reject(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let rejected = state
        .engine()
        .queue()
        .reject(
            session.user,
            QueueItemId::from(id),
            form.get("reason").map(str::to_owned),
        )
        .await
        .map(|_| "Rejected.".to_owned());
    back_to(id, rejected)
}

/// `POST /app/queue/{id}/regenerate`.
pub(crate) async fn regenerate(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> Response {
    let result = async {
        let tone = form.get("tone").map(str::parse::<Tone>).transpose()?;
        state
            .engine()
            .queue()
            .regenerate(session.user, QueueItemId::from(id), tone)
            .await?;
        Ok::<_, Error>("A new caption was written.".to_owned())
    };
    back_to(id, result.await)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use crate::ui::form::local_time;

    #[test]
    fn a_local_time_is_read_in_its_zone_a_skipped_one_refused_a_repeated_one_taken_first() {
        // Paris, 2027-03-28: 02:00 → 03:00 (02:30 does not exist); 2027-10-31: 03:00 → 02:00
        // (02:30 happens twice: first at 00:30 UTC, then at 01:30 UTC).
        let at = |t: &str| local_time(t, chrono_tz::Tz::Europe__Paris);
        assert_eq!(
            at("2027-07-01T09:30").unwrap().to_rfc3339(),
            "2027-07-01T07:30:00+00:00"
        );
        assert!(at("2027-03-28T02:30").is_err());
        assert_eq!(
            at("2027-10-31T02:30").unwrap().to_rfc3339(),
            "2027-10-31T00:30:00+00:00"
        );
        assert!(local_time("tomorrow", chrono_tz::Tz::UTC).is_err());
    }

    #[test]
    fn amounts_take_a_point_or_a_decimal_comma_but_never_a_thousands_separator() {
        assert_eq!(amount("39"), Some(39.0));
        assert_eq!(amount("39.99"), Some(39.99));
        assert_eq!(amount("39,9"), Some(39.9));
        for refused in ["1,299", "1.299", "1,299.00", "", ".5", "39.", "3 9", "-1"] {
            assert_eq!(amount(refused), None, "{refused}");
        }
    }
}
