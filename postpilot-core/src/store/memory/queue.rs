//! The content queue, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl QueueStore for MemoryStore {
    async fn insert_queue_item(&self, item: &QueueItem) -> StoreResult<()> {
        let mut t = self.tables();
        ensure_absent(&t.queue, &item.id, Conflict::DuplicateId)?;
        t.queue.insert(item.id, item.clone());
        t.record([crate::event::queue_item_generated(item)]);
        Ok(())
    }

    async fn queue_item(&self, owner: UserId, id: QueueItemId) -> StoreResult<Option<QueueItem>> {
        Ok(owned(&self.tables().queue, owner, &id).cloned())
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
        Ok(page_of(page, all, Order::NewestFirst, |i| {
            Cursor::new(i.created_at, i.id.as_uuid())
        }))
    }

    async fn update_queue_item(
        &self,
        item: &QueueItem,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        *expecting(&mut t.queue, item.user_id, &item.id, expected)? = item.clone();
        Ok(())
    }

    async fn delete_queue_item(
        &self,
        owner: UserId,
        id: QueueItemId,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        expecting(&mut t.queue, owner, &id, expected)?;
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
        expecting(
            &mut t.queue,
            item.user_id,
            &item.id,
            &[QueueStatus::Pending],
        )?;
        let used = t.posts_created(item.user_id, quota.window);
        if let Some(max) = quota.limit.max()
            && used + posts.len() as u64 > u64::from(max)
        {
            return Err(StoreError::LimitReached);
        }
        if posts.iter().any(|p| t.posts.contains_key(&p.id)) {
            return Err(StoreError::Conflict(Conflict::DuplicateId));
        }
        t.check_slots_free(posts)?;
        t.queue.insert(item.id, item.clone());
        for post in posts {
            t.posts.insert(post.id, post.clone());
            t.record(crate::event::post_event(None, post));
        }
        t.record(crate::event::post_quota_events(
            item.user_id,
            &quota,
            used,
            posts.len() as u64,
            item.updated_at,
        ));
        drop(t);
        if let Some(post) = posts.first() {
            self.scheduled(post.status);
        }
        Ok(())
    }

    async fn take_generation(
        &self,
        owner: UserId,
        month: DateTime<Utc>,
        limit: Option<u32>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let used = t.generations.entry((owner, month)).or_default();
        if limit.is_some_and(|max| *used >= u64::from(max)) {
            return Err(StoreError::LimitReached);
        }
        *used += 1;
        Ok(())
    }

    async fn return_generation(&self, owner: UserId, month: DateTime<Utc>) -> StoreResult<()> {
        if let Some(used) = self.tables().generations.get_mut(&(owner, month)) {
            *used = used.saturating_sub(1);
        }
        Ok(())
    }

    async fn count_generations(&self, owner: UserId, month: DateTime<Utc>) -> StoreResult<u64> {
        Ok(self
            .tables()
            .generations
            .get(&(owner, month))
            .copied()
            .unwrap_or(0))
    }
}
