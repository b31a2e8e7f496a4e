//! Creating, reading, changing and deleting a merchant's caption templates.

use std::sync::Arc;

use crate::caption::Tone;
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::{TemplateId, UserId};
use crate::page::{Page, PageRequest};
use crate::platform::Platform;
use crate::template::{CaptionTemplate, TemplateFields};

/// A new template.
pub type CreateTemplate = TemplateFields;

/// A template's change: `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct TemplatePatch {
    /// New name.
    pub name: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New platforms (empty: every platform).
    pub platforms: Option<Vec<Platform>>,
    /// New tone (`Some(None)`: none).
    pub tone: Option<Option<Tone>>,
}

/// A merchant's caption templates.
#[derive(Clone, Debug)]
pub struct TemplateService {
    deps: Arc<Deps>,
}

impl TemplateService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Saves a new template, checked ([`CaptionTemplate::create`]).
    ///
    /// # Errors
    /// [`Error::Validation`] naming `name` or `body`.
    pub async fn create(&self, user: UserId, fields: CreateTemplate) -> Result<CaptionTemplate> {
        let template = CaptionTemplate::create(self.deps.new_id(), user, fields, self.deps.now())?;
        self.deps.store.insert_template(&template).await?;
        Ok(template)
    }

    /// One of the user's templates.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn get(&self, user: UserId, id: TemplateId) -> Result<CaptionTemplate> {
        let template = self.deps.store.template(user, id).await?;
        template.ok_or(Error::NotFound("template"))
    }

    /// The user's templates, oldest first.
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(&self, user: UserId, page: PageRequest) -> Result<Page<CaptionTemplate>> {
        Ok(self.deps.store.list_templates(user, page).await?)
    }

    /// Changes one of the user's templates, checked as when created.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Validation`] naming the setting.
    pub async fn update(
        &self,
        user: UserId,
        id: TemplateId,
        patch: TemplatePatch,
    ) -> Result<CaptionTemplate> {
        let mut template = self.get(user, id).await?;
        template.edit(patch, self.deps.now())?;
        let saved = self.deps.store.update_template(&template).await;
        saved.map_err(|e| e.of("template"))?;
        Ok(template)
    }

    /// Deletes one of the user's templates (queue items made with it keep their captions).
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn delete(&self, user: UserId, id: TemplateId) -> Result<()> {
        if self.deps.store.delete_template(user, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("template"))
        }
    }
}
