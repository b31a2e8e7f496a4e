//! Posting schedules, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl ScheduleStore for MemoryStore {
    async fn put_schedule(&self, schedule: &PostingSchedule) -> StoreResult<()> {
        let mut t = self.tables();
        owned(&t.accounts, schedule.user_id, &schedule.id).ok_or(StoreError::NotFound)?;
        t.schedules.insert(schedule.id, schedule.clone());
        Ok(())
    }

    async fn schedule(
        &self,
        owner: UserId,
        account: AccountId,
    ) -> StoreResult<Option<PostingSchedule>> {
        Ok(owned(&self.tables().schedules, owner, &account).cloned())
    }
}
