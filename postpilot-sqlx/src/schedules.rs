//! Accounts' posting schedules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::id::{AccountId, UserId};
use postpilot_core::schedule::{PostingSchedule, PostingScheduleRecord, WeeklySlots};
use postpilot_core::store::{ScheduleStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::PgStore;
use crate::error::{corrupt, store_error};
use crate::fetch::fetch_owned;

#[derive(sqlx::FromRow)]
struct ScheduleRow {
    account_id: Uuid,
    user_id: Uuid,
    time_zone: String,
    slots: Vec<String>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ScheduleRow> for PostingSchedule {
    type Error = StoreError;
    fn try_from(r: ScheduleRow) -> Result<Self, StoreError> {
        // A zone this build's tz database no longer has reads as UTC (as a user's does); a
        // slot that does not read is a corrupt row.
        let zone = r.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC);
        let slots = r
            .slots
            .iter()
            .map(|s| s.parse())
            .collect::<Result<Vec<_>, _>>()
            .and_then(|slots| WeeklySlots::new(zone, slots))
            .map_err(|e| corrupt("posting_schedules", e))?;
        Ok(PostingScheduleRecord {
            id: AccountId::from(r.account_id),
            user_id: UserId::from(r.user_id),
            slots,
            updated_at: r.updated_at,
        }
        .into())
    }
}

#[async_trait]
impl ScheduleStore for PgStore {
    async fn put_schedule(&self, schedule: &PostingSchedule) -> StoreResult<()> {
        // Only for an account of the stated owner: otherwise nothing is written.
        let written = sqlx::query(
            "INSERT INTO posting_schedules (account_id, user_id, time_zone, slots, updated_at) \
             SELECT $1, $2, $3, $4, $5 \
             WHERE EXISTS (SELECT 1 FROM social_accounts WHERE id = $1 AND user_id = $2) \
             ON CONFLICT (account_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, \
             slots = EXCLUDED.slots, updated_at = EXCLUDED.updated_at \
             WHERE posting_schedules.user_id = EXCLUDED.user_id",
        )
        .bind(schedule.id().as_uuid())
        .bind(schedule.user_id().as_uuid())
        .bind(schedule.slots().zone().name())
        .bind(schedule.slots().to_strings())
        .bind(schedule.updated_at())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn schedule(
        &self,
        owner: UserId,
        account: AccountId,
    ) -> StoreResult<Option<PostingSchedule>> {
        fetch_owned::<ScheduleRow, _>(
            &self.pool,
            "SELECT account_id, user_id, time_zone, slots, updated_at FROM posting_schedules \
             WHERE account_id = $1 AND user_id = $2",
            account.as_uuid(),
            owner,
        )
        .await
    }
}
