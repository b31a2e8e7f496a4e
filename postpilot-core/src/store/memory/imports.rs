//! Bulk imports, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl ImportStore for MemoryStore {
    async fn imported_refs(
        &self,
        owner: UserId,
        references: &[String],
    ) -> StoreResult<Vec<String>> {
        let t = self.tables();
        Ok(references
            .iter()
            .filter(|r| t.import_refs.contains_key(&(owner, (*r).clone())))
            .cloned()
            .collect())
    }

    async fn insert_imported_posts(
        &self,
        owner: UserId,
        posts: &[(String, Post)],
        quota: PostQuota,
    ) -> StoreResult<Vec<bool>> {
        let mut t = self.tables();
        let mut seen = std::collections::HashSet::new();
        let created: Vec<bool> = posts
            .iter()
            .map(|(reference, _)| {
                !t.import_refs.contains_key(&(owner, reference.clone()))
                    && seen.insert(reference.clone())
            })
            .collect();
        let new = created.iter().filter(|c| **c).count() as u64;
        if let Some(max) = quota.limit.max()
            && t.posts_created(owner, quota.window) + new > u64::from(max)
        {
            return Err(StoreError::LimitReached);
        }
        for ((_, post), new) in posts.iter().zip(&created) {
            if !new {
                continue;
            }
            if t.posts.contains_key(&post.id) {
                return Err(StoreError::Conflict(Conflict::DuplicateId));
            }
            t.check_slot_free(post)?;
            let slot = post
                .holds_slot()
                .then_some((post.account_id, post.scheduled_for));
            let twice = slot.is_some()
                && posts.iter().zip(&created).any(|((_, other), c)| {
                    *c && other.id != post.id
                        && other.holds_slot()
                        && Some((other.account_id, other.scheduled_for)) == slot
                });
            if twice {
                return Err(StoreError::Conflict(Conflict::SlotTaken));
            }
        }
        for ((reference, post), created) in posts.iter().zip(&created) {
            if *created {
                t.import_refs.insert((owner, reference.clone()), post.id);
                t.posts.insert(post.id, post.clone());
            }
        }
        drop(t);
        if created.iter().any(|c| *c) {
            self.scheduled(PostStatus::Scheduled);
        }
        Ok(created)
    }

    async fn put_import(&self, import: &Import) -> StoreResult<()> {
        self.tables().imports.insert(import.id, import.clone());
        Ok(())
    }

    async fn import(&self, owner: UserId, id: ImportId) -> StoreResult<Option<Import>> {
        Ok(owned(&self.tables().imports, owner, &id).cloned())
    }
}
