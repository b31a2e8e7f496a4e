//! Engine values as Python dicts with `uuid.UUID`, `datetime` and plain values.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use postpilot_core::account::SocialAccount;
use postpilot_core::analytics::{AnalyticsOverview, PostMetrics};
use postpilot_core::api_key::{ApiKey, CreatedApiKey};
use postpilot_core::billing::{CheckoutSession, SubscriptionOverview};
use postpilot_core::caption::{Generator, PlatformCaptions, ProductData};
use postpilot_core::event::{CreatedEndpoint, Delivery, WebhookEndpoint};
use postpilot_core::import::{Import, RowError};
use postpilot_core::page::Page;
use postpilot_core::plan::{PlanLimits, PlanTier};
use postpilot_core::post::Post;
use postpilot_core::publish::{PublicationAttempt, TickReport, WorkerTotals};
use postpilot_core::queue::{Approval, QueueItem};
use postpilot_core::schedule::{PostingSchedule, SlotListing, SlotView};
use postpilot_core::usage::Usage;
use postpilot_core::user::{Profile, User};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A value the module hands to Python.
pub(crate) trait Out {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

macro_rules! dict {
    ($py:expr, { $($key:literal => $value:expr),* $(,)? }) => {{
        let d = PyDict::new($py);
        $( d.set_item($key, $value)?; )*
        Ok(d.into_any().unbind())
    }};
}

fn generator(py: Python<'_>, g: &Generator) -> PyResult<Py<PyAny>> {
    dict!(py, {
        "name" => g.name.as_str(),
        "input_tokens" => g.usage.input,
        "output_tokens" => g.usage.output,
        "fell_back" => g.fell_back.as_deref(),
    })
}

fn user(py: Python<'_>, u: &User, plan: Option<PlanTier>) -> PyResult<Py<PyAny>> {
    dict!(py, {
        "id" => u.id().as_uuid(),
        "email" => u.email().as_ref(),
        "plan" => plan.map(|p| p.as_str()),
        "external_platform_id" => u.external_platform_id(),
        "external_store_id" => u.external_store_id(),
        "time_zone" => u.time_zone().name(),
        "pause_on" => u.pause_on().as_str(),
        "created_at" => u.created_at(),
    })
}

impl Out for User {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        user(py, self, None)
    }
}

impl Out for Profile {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        user(py, &self.user, Some(self.plan))
    }
}

impl<T: Out + ?Sized> Out for &T {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        (**self).out(py)
    }
}

/// A list of values.
impl<T: Out> Out for [T] {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let list = PyList::empty(py);
        for item in self {
            list.append(item.out(py)?)?;
        }
        Ok(list.into_any().unbind())
    }
}

impl<T: Out> Out for Page<T> {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "items" => self.items.out(py)?,
            "total" => self.total,
            "page" => self.page,
            "per_page" => self.per_page,
            "next" => self.next.map(|cursor| cursor.to_string()),
        })
    }
}

/// The calendar: posts by local date (`"YYYY-MM-DD"`).
impl Out for BTreeMap<NaiveDate, Vec<Post>> {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let days = PyDict::new(py);
        for (day, posts) in self {
            days.set_item(day.to_string(), posts.out(py)?)?;
        }
        Ok(days.into_any().unbind())
    }
}

/// A value as the Python objects of its JSON form (dicts, lists, strings, numbers).
pub(crate) fn to_python<'py>(
    py: Python<'py>,
    value: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    py.import("json")?.call_method1("loads", (json,))
}

/// Product data from a Python dict (validated like the HTTP body: unknown keys refused).
pub(crate) fn product(value: &Bound<'_, PyAny>) -> PyResult<ProductData> {
    from_python(value, "product_data")
}

/// Platforms' own captions from a dict keyed by platform name, each `{"caption": str,
/// "hashtags": [str]}` (validated like the HTTP body); a refusal names
/// `platform_captions.<platform>`.
pub(crate) fn platform_captions(value: &Bound<'_, PyAny>) -> PyResult<PlatformCaptions> {
    let entries: std::collections::BTreeMap<String, serde_json::Value> =
        from_python(value, "platform_captions")?;
    let mut captions = PlatformCaptions::default();
    for (name, entry) in entries {
        let field = format!("platform_captions.{name}");
        // Exactly as the HTTP body spells it (`instagram`, `facebook`, `tiktok`).
        let platform: postpilot_core::platform::Platform =
            serde_json::from_value(serde_json::Value::String(name))
                .map_err(|e| crate::invalid_owned(field.clone(), e.to_string()))?;
        let own = serde_json::from_value(entry).map_err(|e| {
            let reason = e.to_string();
            crate::invalid_owned(field, reason)
        })?;
        captions.insert(platform, own);
    }
    Ok(captions)
}

/// A value from the JSON form of a Python object; a refusal names the field serde names, else
/// `whole`.
fn from_python<T: serde::de::DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    whole: &'static str,
) -> PyResult<T> {
    let json: String = value
        .py()
        .import("json")?
        .call_method1("dumps", (value,))?
        .extract()?;
    serde_json::from_str(&json).map_err(|e| {
        let text = e.to_string();
        let (field, reason) = text.split_once(": ").unwrap_or((whole, text.as_str()));
        let field = if field.contains(' ') {
            whole.to_owned()
        } else {
            field.to_owned()
        };
        let reason = reason
            .rsplit_once(" at line ")
            .map_or(reason, |(r, _)| r)
            .to_owned();
        crate::invalid_owned(field, reason)
    })
}

/// An account as Python sees it, with the publishing cap the engine holds it to.
pub(crate) struct AccountOut {
    account: SocialAccount,
    publishing_cap: Option<u32>,
}

impl AccountOut {
    pub(crate) fn of(account: SocialAccount, engine: &postpilot_core::Engine) -> Self {
        let publishing_cap = engine.publishing_cap(&account).map(|cap| cap.posts);
        Self {
            account,
            publishing_cap,
        }
    }
}

impl Out for AccountOut {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let a = &self.account;
        dict!(py, {
            "id" => a.id().as_uuid(),
            "platform" => a.platform().as_str(),
            "account_name" => a.account_name().as_ref(),
            "account_id_external" => a.account_id_external().as_ref(),
            "is_connected" => a.is_connected(),
            "needs_reconnect" => a.needs_reconnect(),
            "publishing_cap" => self.publishing_cap,
            "connected_at" => a.connected_at(),
            "created_at" => a.created_at(),
        })
    }
}

impl Out for Post {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let product = self.product().map(|p| to_python(py, p)).transpose()?;
        dict!(py, {
            "id" => self.id().as_uuid(),
            "account_id" => self.account_id().as_uuid(),
            "queue_item_id" => self.queue_item_id().map(|q| q.as_uuid()),
            "platform" => self.platform().as_str(),
            "content" => self.content().as_ref(),
            "media_urls" => self.media_urls().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "hashtags" => self.hashtags().to_strings(),
            "status" => self.status().as_str(),
            "scheduled_for" => self.scheduled_for(),
            "next_attempt_at" => self.next_attempt_at(),
            "attempts" => self.attempts(),
            "posted_at" => self.posted_at(),
            "external_id" => self.external_id(),
            "external_url" => self.external_url(),
            "error_message" => self.error_message(),
            "on_slot" => self.on_slot(),
            "product" => product,
            "created_at" => self.created_at(),
            "updated_at" => self.updated_at(),
        })
    }
}

impl Out for Import {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let row = |e: &RowError| -> PyResult<Py<PyAny>> {
            dict!(py, {
                "row" => e.row,
                "field" => e.field.as_str(),
                "reason" => e.reason.as_str(),
            })
        };
        let errors = PyList::empty(py);
        for e in self.errors() {
            errors.append(row(e)?)?;
        }
        dict!(py, {
            "id" => self.id().as_uuid(),
            "kind" => self.kind().as_str(),
            "format" => self.format().as_str(),
            "mode" => self.mode().as_str(),
            "status" => self.status().as_str(),
            "rows" => self.rows(),
            "processed" => self.processed(),
            "created" => self.created(),
            "duplicates" => self.duplicates(),
            "failed" => self.failed(),
            "errors" => errors,
            "error" => self.error(),
            "created_at" => self.created_at(),
            "updated_at" => self.updated_at(),
        })
    }
}

impl Out for PostingSchedule {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "account_id" => self.id().as_uuid(),
            "time_zone" => self.slots().zone().name(),
            "slots" => self.slots().to_strings(),
            "updated_at" => self.updated_at(),
        })
    }
}

impl Out for SlotListing {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "slots" => self.slots.out(py)?,
            "off_slot" => self.off_slot.iter().map(|p| p.as_uuid()).collect::<Vec<_>>(),
        })
    }
}

impl Out for SlotView {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "at" => self.at,
            "posts" => self.posts.iter().map(|p| p.as_uuid()).collect::<Vec<_>>(),
        })
    }
}

impl Out for QueueItem {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let product = to_python(py, self.product_data())?;
        let generator = self
            .caption_generator()
            .map(|g| generator(py, g))
            .transpose()?;
        dict!(py, {
            "id" => self.id().as_uuid(),
            "product_data" => product,
            "ai_generated_content" => self.ai_generated_content().map(|c| c.as_ref().to_owned()),
            "caption_generator" => generator,
            "hashtags" => self.hashtags().to_strings(),
            "platform_captions" => to_python(py, self.platform_captions())?,
            "platforms" => self.platforms().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            "tone" => self.tone().map(|t| t.as_str()),
            "status" => self.status().as_str(),
            "rejection_reason" => self.rejection_reason(),
            "created_at" => self.created_at(),
            "updated_at" => self.updated_at(),
        })
    }
}

impl Out for postpilot_core::template::CaptionTemplate {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "id" => self.id().as_uuid(),
            "name" => self.name(),
            "body" => self.body().as_ref(),
            "platforms" => self.platforms().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            "tone" => self.tone().map(|t| t.as_str()),
            "created_at" => self.created_at(),
            "updated_at" => self.updated_at(),
        })
    }
}

impl Out for Approval {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, { "item" => self.item.out(py)?, "posts" => self.posts.out(py)? })
    }
}

impl Out for ApiKey {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "id" => self.id().as_uuid(),
            "name" => self.name().as_ref(),
            "prefix" => self.prefix(),
            "scopes" => self.scopes().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "is_active" => self.is_active(),
            "last_used_at" => self.last_used_at(),
            "created_at" => self.created_at(),
        })
    }
}

/// A new key, with the key itself (shown this once).
impl Out for CreatedApiKey {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let out = self.key.out(py)?;
        out.bind(py).set_item("key", self.secret.expose())?;
        Ok(out)
    }
}

/// A webhook endpoint (never its secret), as the API's `EndpointDto`.
impl Out for WebhookEndpoint {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "id" => self.id().as_uuid(),
            "url" => self.url().as_str(),
            "description" => self.description(),
            "event_types" => self.event_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "enabled" => !self.is_disabled(),
            "disabled_at" => self.disabled_at(),
            "disabled_reason" => self.disabled_reason(),
            "failing_since" => self.failing_since(),
            "previous_secret_expires_at" => self.previous_secret_expires_at(),
            "created_at" => self.created_at(),
            "updated_at" => self.updated_at(),
        })
    }
}

/// A delivery of an event to an endpoint, as the API's `DeliveryDto`.
impl Out for Delivery {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "id" => self.id().as_uuid(),
            "event_id" => self.event_id().as_uuid(),
            "event_type" => self.event_type().as_str(),
            "endpoint_id" => self.endpoint_id().as_uuid(),
            "status" => self.status().as_str(),
            "attempts" => self.attempts(),
            "next_attempt_at" => self.next_attempt_at(),
            "last_attempt_at" => self.last_attempt_at(),
            "response_status" => self.response_status(),
            "response" => self.response(),
            "error" => self.error(),
            "created_at" => self.created_at(),
        })
    }
}

/// An endpoint with its signing secret (shown when it is registered or rotated).
impl Out for CreatedEndpoint {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let out = self.endpoint.out(py)?;
        out.bind(py).set_item("secret", self.secret.reveal())?;
        Ok(out)
    }
}

impl Out for PostMetrics {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "post_id" => self.post_id.as_uuid(),
            "impressions" => self.counts.impressions,
            "reach" => self.counts.reach,
            "likes" => self.counts.likes,
            "comments" => self.counts.comments,
            "shares" => self.counts.shares,
            "clicks" => self.counts.clicks,
            "engagement_rate" => self.engagement_rate,
            "fetched_at" => self.fetched_at,
        })
    }
}

impl Out for AnalyticsOverview {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "impressions" => self.totals.impressions,
            "reach" => self.totals.reach,
            "likes" => self.totals.likes,
            "comments" => self.totals.comments,
            "shares" => self.totals.shares,
            "clicks" => self.totals.clicks,
            "posts_published" => self.posts_published,
            "engagement_rate" => self.engagement_rate,
        })
    }
}

impl Out for PlanLimits {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "tier" => self.tier.as_str(),
            "name" => self.name.as_str(),
            "price_monthly" => self.price_monthly,
            "currency" => self.currency.as_str(),
            "max_items" => self.max_items.as_i64(),
            "max_secondary" => self.max_secondary.as_i64(),
            "api_access" => self.api_access,
            "generations_per_month" => self.max_generations.as_i64(),
        })
    }
}

impl Out for SubscriptionOverview {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "plan" => self.plan.as_str(),
            "status" => self.status.map(|st| st.as_str()),
            "current_period_end" => self.current_period_end,
            "cancel_at_period_end" => self.cancel_at_period_end,
        })
    }
}

impl Out for CheckoutSession {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, { "checkout_url" => &self.checkout_url, "session_id" => &self.session_id })
    }
}

impl Out for Usage {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "plan" => self.plan.as_str(),
            "posts_this_month" => self.posts_this_month,
            "posts_limit" => self.posts_limit.as_i64(),
            "connected_accounts" => self.connected_accounts,
            "accounts_limit" => self.accounts_limit.as_i64(),
            "api_access" => self.api_access,
            "generations_this_month" => self.generations_this_month,
            "generations_limit" => self.generations_limit.as_i64(),
        })
    }
}

impl Out for PublicationAttempt {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "attempt" => self.attempt,
            "started_at" => self.started_at,
            "finished_at" => self.finished_at,
            "outcome" => self.outcome.as_str(),
            "remote_id" => self.remote_id.as_deref(),
            "error" => self.error.as_deref(),
        })
    }
}

impl Out for TickReport {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "claimed" => self.claimed,
            "posted" => self.posted,
            "reconciled" => self.reconciled,
            "retried" => self.retried,
            "snoozed" => self.snoozed,
            "processing" => self.processing,
            "failed" => self.failed,
            "lease_lost" => self.lease_lost,
            "errors" => self.errors,
        })
    }
}

impl Out for WorkerTotals {
    fn out(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict!(py, {
            "ticks" => self.ticks,
            "posted" => self.posted,
            "reconciled" => self.reconciled,
            "retried" => self.retried,
            "failed" => self.failed,
            "errors" => self.errors,
        })
    }
}
