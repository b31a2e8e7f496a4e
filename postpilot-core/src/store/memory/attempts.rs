//! The publication ledger, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn record_attempts(&self, attempts: &[PublicationAttempt]) -> StoreResult<()> {
        self.tables().attempts.extend_from_slice(attempts);
        Ok(())
    }

    async fn attempts(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Vec<PublicationAttempt>> {
        Ok(self
            .tables()
            .attempts
            .iter()
            .filter(|a| a.user_id == owner && a.post_id == post_id)
            .cloned()
            .collect())
    }
}
