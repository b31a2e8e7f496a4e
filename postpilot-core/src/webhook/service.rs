//! Applying the platform's events.

use std::sync::Arc;

use serde::Deserialize;
use uuid::Uuid;

use crate::ValidationError;
use crate::billing::{BillingService, DowngradeImpact, SubscriptionStatus};
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::UserId;
use crate::plan::PlanTier;
use crate::post::{Post, PostService, ProductState};
use crate::user::{AuthService, Provision};
use crate::webhook::once;

/// A platform event: `{id, type, data}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformEvent {
    /// The platform's event id (deduplicated).
    pub id: String,
    /// `user.provisioned` or `subscription.updated`; others are acknowledged and ignored.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's payload.
    pub data: serde_json::Value,
}

/// `user.provisioned` data: the provision body.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionData {
    /// E-mail.
    pub email: String,
    /// The platform's user id.
    pub external_platform_id: Uuid,
    /// The platform's store id.
    #[serde(default)]
    pub external_store_id: Option<Uuid>,
    /// Granted plan.
    #[serde(default)]
    pub plan: Option<PlanTier>,
}

impl From<ProvisionData> for Provision {
    fn from(d: ProvisionData) -> Self {
        Self {
            email: d.email,
            external_platform_id: d.external_platform_id,
            external_store_id: d.external_store_id,
            plan: d.plan,
        }
    }
}

/// `subscription.updated` data.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionUpdatedData {
    /// The platform's user id.
    pub external_platform_id: Uuid,
    /// The plan.
    pub plan: PlanTier,
    /// Its status.
    pub status: SubscriptionStatus,
}

/// `product.updated` and `product.deleted` data: the merchant, by PostPilot's `user_id` or the
/// platform's `external_platform_id`, and the product (for a deletion, its `id` alone).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductEventData {
    /// PostPilot's id of the merchant.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// The platform's id of the merchant.
    #[serde(default)]
    pub external_platform_id: Option<Uuid>,
    /// The product as it is now.
    pub product: ProductState,
}

/// What handling an event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// Seen before: nothing done.
    Duplicate,
    /// A user was created or linked.
    UserProvisioned(crate::id::UserId),
    /// A plan changed.
    PlanChanged(DowngradeImpact),
    /// A product changed or was deleted: the scheduled posts it held back.
    ProductChanged(Vec<crate::id::PostId>),
    /// Not an event type PostPilot acts on.
    Ignored,
}

/// Applies platform events.
#[derive(Clone, Debug)]
pub struct WebhookService {
    deps: Arc<Deps>,
}

fn parse_data<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T> {
    serde_json::from_value(data).map_err(|e| {
        Error::Validation(ValidationError::new(
            "data",
            format!("invalid event data: {e}"),
        ))
    })
}

impl WebhookService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Applies a platform event once per id (see [`once`]); a failed application is not
    /// recorded, so the platform's retry is processed.
    ///
    /// # Errors
    /// [`Error::Validation`] for malformed data; [`Error::NotFound`] for a subscription update of
    /// an unknown user.
    pub async fn platform_event(&self, event: PlatformEvent) -> Result<EventOutcome> {
        let id = event.id.clone();
        Ok(once(&self.deps, "platform", &id, self.apply(event))
            .await?
            .unwrap_or(EventOutcome::Duplicate))
    }

    async fn apply(&self, event: PlatformEvent) -> Result<EventOutcome> {
        match event.event_type.as_str() {
            "user.provisioned" => {
                let data: ProvisionData = parse_data(event.data)?;
                let user = AuthService::new(self.deps.clone())
                    .provision(data.into())
                    .await?;
                Ok(EventOutcome::UserProvisioned(user.id))
            }
            "subscription.updated" => {
                let data: SubscriptionUpdatedData = parse_data(event.data)?;
                let user = self
                    .deps
                    .store
                    .user_by_external_id(data.external_platform_id)
                    .await?
                    .ok_or(Error::NotFound("user"))?;
                let impact = BillingService::new(self.deps.clone())
                    .grant_plan(user.id, data.plan, data.status)
                    .await?;
                Ok(EventOutcome::PlanChanged(impact))
            }
            kind @ ("product.updated" | "product.deleted") => {
                let data: ProductEventData = parse_data(event.data)?;
                let user = self
                    .merchant(data.user_id, data.external_platform_id)
                    .await?;
                let now_state = (kind == "product.updated").then_some(&data.product);
                let paused = PostService::new(self.deps.clone())
                    .pause_for_product(user, &data.product.id, now_state)
                    .await?;
                Ok(EventOutcome::ProductChanged(
                    paused.iter().map(Post::id).collect(),
                ))
            }
            _ => Ok(EventOutcome::Ignored),
        }
    }

    /// The merchant an event names, by PostPilot's id or the platform's.
    async fn merchant(&self, user_id: Option<Uuid>, external: Option<Uuid>) -> Result<UserId> {
        let user = match (user_id, external) {
            // The operator is no merchant.
            (Some(id), _) if UserId::from(id) == crate::event::OPERATOR => None,
            (Some(id), _) => self.deps.store.user(UserId::from(id)).await?,
            (None, Some(external)) => self.deps.store.user_by_external_id(external).await?,
            (None, None) => {
                return Err(ValidationError::new(
                    "data",
                    "name the merchant by user_id or external_platform_id",
                )
                .into());
            }
        };
        Ok(user.ok_or(Error::NotFound("user"))?.id)
    }
}
