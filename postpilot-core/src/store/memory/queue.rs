//! The content queue, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl QueueStore for MemoryStore {
    async fn insert_queue_item(&self, item: &QueueItem) -> StoreResult<()> {
        let mut t = self.tables();
        if t.queue.contains_key(&item.id) {
            return Err(StoreError::Conflict(Conflict::DuplicateId));
        }
        t.queue.insert(item.id, item.clone());
        Ok(())
    }

    async fn queue_item(&self, owner: UserId, id: QueueItemId) -> StoreResult<Option<QueueItem>> {
        Ok(self
            .tables()
            .queue
            .get(&id)
            .filter(|i| i.user_id == owner)
            .cloned())
    }

    async fn list_queue_items(
        &self,
        owner: UserId,
        status: Option<QueueStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<QueueItem>> {
        let all: Vec<_> = self
            .tables()
            .queue
            .values()
            .filter(|i| i.user_id == owner && status.is_none_or(|s| i.status == s))
            .cloned()
            .collect();
        Ok(page.slice(newest_first(all, |i| (i.created_at, i.id.as_uuid()))))
    }

    async fn update_queue_item(
        &self,
        item: &QueueItem,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .queue
            .get_mut(&item.id)
            .filter(|i| i.user_id == item.user_id)
            .ok_or(StoreError::NotFound)?;
        if !expected.contains(&stored.status) {
            return Err(StoreError::Stale);
        }
        *stored = item.clone();
        Ok(())
    }

    async fn delete_queue_item(
        &self,
        owner: UserId,
        id: QueueItemId,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .queue
            .get(&id)
            .filter(|i| i.user_id == owner)
            .ok_or(StoreError::NotFound)?;
        if !expected.contains(&stored.status) {
            return Err(StoreError::Stale);
        }
        t.queue.remove(&id);
        Ok(())
    }

    async fn approve_queue_item(
        &self,
        item: &QueueItem,
        posts: &[Post],
        quota: PostQuota,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .queue
            .get(&item.id)
            .filter(|i| i.user_id == item.user_id)
            .ok_or(StoreError::NotFound)?;
        if stored.status != QueueStatus::Pending {
            return Err(StoreError::Stale);
        }
        let used = t.posts_created(item.user_id, quota.window);
        if let Some(max) = quota.limit.max()
            && used + posts.len() as u64 > u64::from(max)
        {
            return Err(StoreError::LimitReached);
        }
        if posts.iter().any(|p| t.posts.contains_key(&p.id)) {
            return Err(StoreError::Conflict(Conflict::DuplicateId));
        }
        t.queue.insert(item.id, item.clone());
        for post in posts {
            t.posts.insert(post.id, post.clone());
        }
        drop(t);
        if let Some(post) = posts.first() {
            self.scheduled(post.status);
        }
        Ok(())
    }
}
