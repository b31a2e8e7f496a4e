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
        report: &Import,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let mut references = std::collections::HashSet::with_capacity(posts.len());
        for (reference, post) in posts {
            if t.import_refs.contains_key(&(owner, reference.clone()))
                || !references.insert(reference.as_str())
            {
                return Err(StoreError::Conflict(Conflict::AlreadyImported));
            }
            if t.posts.contains_key(&post.id) {
                return Err(StoreError::Conflict(Conflict::DuplicateId));
            }
        }
        t.check_slots_free(posts.iter().map(|(_, post)| post))?;
        if let Some(max) = quota.limit.max()
            && t.posts_created(owner, quota.window) + posts.len() as u64 > u64::from(max)
        {
            return Err(StoreError::LimitReached);
        }
        for (reference, post) in posts {
            t.import_refs.insert((owner, reference.clone()), post.id);
            t.posts.insert(post.id, post.clone());
        }
        t.imports.insert(report.id, report.clone());
        drop(t);
        if !posts.is_empty() {
            self.scheduled(PostStatus::Scheduled);
        }
        Ok(())
    }

    async fn put_import(&self, import: &Import) -> StoreResult<()> {
        self.tables().imports.insert(import.id, import.clone());
        Ok(())
    }

    async fn import(&self, owner: UserId, id: ImportId) -> StoreResult<Option<Import>> {
        Ok(owned(&self.tables().imports, owner, &id).cloned())
    }
}
