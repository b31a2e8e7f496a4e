//! Subscriptions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::billing::{Subscription, SubscriptionRecord};
use postpilot_core::id::{SubscriptionId, UserId};
use postpilot_core::store::{StoreError, StoreResult, SubscriptionStore};
use uuid::Uuid;

use crate::PgStore;
use crate::error::store_error;
use crate::fetch::fetch_optional;
use crate::status::{PlanTierSql, SubscriptionStatusSql};

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: Uuid,
    user_id: Uuid,
    stripe_subscription_id: Option<String>,
    status: SubscriptionStatusSql,
    plan: PlanTierSql,
    current_period_start: Option<DateTime<Utc>>,
    current_period_end: Option<DateTime<Utc>>,
    cancel_at_period_end: bool,
    last_event_rank: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = StoreError;
    fn try_from(r: SubscriptionRow) -> Result<Self, StoreError> {
        Ok(SubscriptionRecord {
            id: SubscriptionId::from(r.id),
            user_id: UserId::from(r.user_id),
            stripe_subscription_id: r.stripe_subscription_id,
            status: r.status.into(),
            plan: r.plan.into(),
            current_period_start: r.current_period_start,
            current_period_end: r.current_period_end,
            cancel_at_period_end: r.cancel_at_period_end,
            last_event_rank: r.last_event_rank,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
        .into())
    }
}

macro_rules! select_subscription {
    ($where:literal) => {
        concat!(
            "SELECT id, user_id, stripe_subscription_id, status, plan, current_period_start, \
             current_period_end, cancel_at_period_end, last_event_rank, created_at, updated_at \
             FROM subscriptions WHERE ",
            $where
        )
    };
}

#[async_trait]
impl SubscriptionStore for PgStore {
    async fn upsert_subscription(&self, s: &Subscription) -> StoreResult<bool> {
        // The rank was decided in core; this only refuses a write that a later event overtook
        // between core's read and this statement.
        let written = sqlx::query(
            "INSERT INTO subscriptions (id, user_id, stripe_subscription_id, status, plan, \
             current_period_start, current_period_end, cancel_at_period_end, created_at, updated_at, \
             last_event_rank) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (user_id) DO UPDATE SET id = EXCLUDED.id, \
             stripe_subscription_id = EXCLUDED.stripe_subscription_id, status = EXCLUDED.status, \
             plan = EXCLUDED.plan, current_period_start = EXCLUDED.current_period_start, \
             current_period_end = EXCLUDED.current_period_end, \
             cancel_at_period_end = EXCLUDED.cancel_at_period_end, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             last_event_rank = coalesce(EXCLUDED.last_event_rank, subscriptions.last_event_rank) \
             WHERE EXCLUDED.last_event_rank IS NULL OR subscriptions.last_event_rank IS NULL \
                OR subscriptions.last_event_rank <= EXCLUDED.last_event_rank",
        )
        .bind(s.id().as_uuid())
        .bind(s.user_id().as_uuid())
        .bind(s.stripe_subscription_id())
        .bind(SubscriptionStatusSql::from(s.status()))
        .bind(PlanTierSql::from(s.plan()))
        .bind(s.current_period_start())
        .bind(s.current_period_end())
        .bind(s.cancel_at_period_end())
        .bind(s.created_at())
        .bind(s.updated_at())
        .bind(s.last_event_rank())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(written.rows_affected() == 1)
    }

    async fn subscription(&self, owner: UserId) -> StoreResult<Option<Subscription>> {
        fetch_optional(
            &self.pool,
            sqlx::query_as::<_, SubscriptionRow>(select_subscription!("user_id = $1"))
                .bind(owner.as_uuid()),
        )
        .await
    }

    async fn subscription_by_provider_id(
        &self,
        stripe_subscription_id: &str,
    ) -> StoreResult<Option<Subscription>> {
        fetch_optional(
            &self.pool,
            sqlx::query_as::<_, SubscriptionRow>(select_subscription!(
                "stripe_subscription_id = $1"
            ))
            .bind(stripe_subscription_id),
        )
        .await
    }
}
