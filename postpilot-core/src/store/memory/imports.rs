//! Bulk imports, in memory.

use async_trait::async_trait;

use super::*;

impl Tables {
    /// Keeps an import, unless one of its id has ended (or is another owner's).
    fn keep_import(&mut self, import: &Import) {
        match self.imports.get(&import.id) {
            Some(kept) if kept.has_ended() || kept.user_id != import.user_id => {}
            _ => {
                self.imports.insert(import.id, import.clone());
            }
        }
    }

    /// Refuses references the owner imported before, or that come twice.
    fn check_new_refs<'a>(
        &self,
        owner: UserId,
        references: impl Iterator<Item = &'a String>,
    ) -> StoreResult<()> {
        let mut seen = std::collections::HashSet::new();
        for reference in references {
            if self.import_refs.contains_key(&(owner, reference.clone()))
                || !seen.insert(reference.as_str())
            {
                return Err(StoreError::Conflict(Conflict::AlreadyImported));
            }
        }
        Ok(())
    }
}

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
        report: &Import,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        t.check_new_refs(owner, posts.iter().map(|(reference, _)| reference))?;
        if posts.iter().any(|(_, post)| t.posts.contains_key(&post.id)) {
            return Err(StoreError::Conflict(Conflict::DuplicateId));
        }
        t.check_slots_free(posts.iter().map(|(_, post)| post))?;
        let used = t.posts_created(owner, quota.window);
        if let Some(max) = quota.limit.max()
            && used + posts.len() as u64 > u64::from(max)
        {
            return Err(StoreError::LimitReached);
        }
        for (reference, post) in posts {
            t.import_refs
                .insert((owner, reference.clone()), post.id.as_uuid());
            t.posts.insert(post.id, post.clone());
            t.record(crate::event::post_event(None, post));
        }
        t.record(crate::event::post_quota_events(
            owner,
            &quota,
            used,
            posts.len() as u64,
            report.updated_at(),
        ));
        t.keep_import(report);
        drop(t);
        if !posts.is_empty() {
            self.scheduled(PostStatus::Scheduled);
        }
        Ok(())
    }

    async fn insert_imported_items(
        &self,
        owner: UserId,
        items: &[(String, QueueItem)],
        report: &Import,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        t.check_new_refs(owner, items.iter().map(|(reference, _)| reference))?;
        if items.iter().any(|(_, item)| t.queue.contains_key(&item.id)) {
            return Err(StoreError::Conflict(Conflict::DuplicateId));
        }
        for (reference, item) in items {
            t.import_refs
                .insert((owner, reference.clone()), item.id.as_uuid());
            t.queue.insert(item.id, item.clone());
            t.record([crate::event::queue_item_generated(item)]);
        }
        t.keep_import(report);
        Ok(())
    }

    async fn put_import(&self, import: &Import) -> StoreResult<()> {
        self.tables().keep_import(import);
        Ok(())
    }

    async fn import(&self, owner: UserId, id: ImportId) -> StoreResult<Option<Import>> {
        Ok(owned(&self.tables().imports, owner, &id).cloned())
    }
}
