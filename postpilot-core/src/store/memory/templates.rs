//! Caption templates, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl TemplateStore for MemoryStore {
    async fn insert_template(&self, template: &CaptionTemplate) -> StoreResult<()> {
        let mut t = self.tables();
        ensure_absent(&t.templates, &template.id, Conflict::DuplicateId)?;
        t.templates.insert(template.id, template.clone());
        Ok(())
    }

    async fn template(
        &self,
        owner: UserId,
        id: TemplateId,
    ) -> StoreResult<Option<CaptionTemplate>> {
        Ok(owned(&self.tables().templates, owner, &id).cloned())
    }

    async fn list_templates(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<CaptionTemplate>> {
        let all: Vec<_> = self
            .tables()
            .templates
            .values()
            .filter(|t| t.user_id == owner)
            .cloned()
            .collect();
        Ok(page_of(page, all, Order::OldestFirst, |t| {
            Cursor::new(t.created_at, t.id.as_uuid())
        }))
    }

    async fn update_template(&self, template: &CaptionTemplate) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = owned_mut(&mut t.templates, template.user_id, &template.id)
            .ok_or(StoreError::NotFound)?;
        *stored = template.clone();
        Ok(())
    }

    async fn delete_template(&self, owner: UserId, id: TemplateId) -> StoreResult<bool> {
        let mut t = self.tables();
        if owned(&t.templates, owner, &id).is_none() {
            return Ok(false);
        }
        t.templates.remove(&id);
        Ok(true)
    }
}
