//! Content-queue use cases.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ValidationError;
use crate::account::publishable_account;
use crate::caption::{
    CaptionError, CaptionRequest, GeneratedCaption, PlatformCaptions, ProductData, Tone,
    fits_platforms,
};
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::{AccountId, QueueItemId, TemplateId, UserId};
use crate::page::{Page, PageRequest};
use crate::plan::{CountedGeneration, post_quota, posts_quota_error, take_generation};
use crate::platform::Platform;
use crate::post::room::{SLOT_RACE_RETRIES, ensure_within_cap, next_free_slot};
use crate::post::{Caption, Hashtags, NewPost, Post, ProductSnapshot, parse_media_urls};
use crate::queue::model::require_platforms;
use crate::queue::{NewQueueItem, QueueItem, QueueItemEdit, QueueStatus};
use crate::store::{Conflict, StoreError};
use crate::template::TemplateService;
use crate::text;

/// Settles queue item `item` after a post made from it was published: the item is posted once
/// all its posts are ([`QueueItem::follow_posts`]), written by compare-and-set from `approved`
/// (two workers settling it at once write it once).
pub(crate) async fn follow_posts(deps: &Deps, user: UserId, item: QueueItemId) -> Result<()> {
    let Some(mut stored) = deps.store.queue_item(user, item).await? else {
        return Ok(());
    };
    if stored.status != QueueStatus::Approved {
        return Ok(());
    }
    let posts = deps.store.post_statuses_of_item(user, item).await?;
    if stored.follow_posts(&posts, deps.now()) {
        let written = deps
            .store
            .update_queue_item(&stored, &[QueueStatus::Approved])
            .await;
        StoreError::unless_overtaken(written)?;
    }
    Ok(())
}

/// A new queue item.
#[derive(Clone, Debug)]
pub struct CreateQueueItem {
    /// The product.
    pub product_data: ProductData,
    /// Target platforms (validated: at least one).
    pub platforms: Vec<Platform>,
    /// A caption written by hand, if any.
    pub content: Option<String>,
    /// Hashtags written by hand.
    pub hashtags: Vec<String>,
    /// Captions written by hand for one target platform each.
    pub platform_captions: PlatformCaptions,
}

/// A partial update of a pending item.
#[derive(Clone, Debug, Default)]
pub struct QueueItemPatch {
    /// New caption.
    pub ai_generated_content: Option<String>,
    /// New hashtags.
    pub hashtags: Option<Vec<String>>,
    /// New captions for single platforms, replacing all of them.
    pub platform_captions: Option<PlatformCaptions>,
    /// New platforms.
    pub platforms: Option<Vec<Platform>>,
    /// New product data.
    pub product_data: Option<ProductData>,
}

/// Approval of an item into posts.
#[derive(Clone, Debug)]
pub struct ApproveItem {
    /// One post is created per account (duplicates ignored); each must be the user's, connected,
    /// and on one of the item's platforms.
    pub account_ids: Vec<AccountId>,
    /// When the posts go out.
    pub placement: Placement,
}

/// When approved posts go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Not yet: the posts are drafts.
    Draft,
    /// Scheduled at this time.
    At(DateTime<Utc>),
    /// Each on its account's next free slot (see [`crate::post::PostService::queue`]).
    NextSlot,
}

/// The approved item and the posts made from it.
#[derive(Clone, Debug)]
pub struct Approval {
    /// The item, now approved.
    pub item: QueueItem,
    /// One post per target account.
    pub posts: Vec<Post>,
}

/// The content queue: create, generate, review, approve.
#[derive(Clone, Debug)]
pub struct QueueService {
    deps: Arc<Deps>,
}

impl QueueService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// A caption for the product, and the generation it counted (settle it with what is stored).
    pub(crate) async fn generate_caption(
        &self,
        user: UserId,
        product: &ProductData,
        platforms: &[Platform],
        tone: Tone,
        variant: u32,
    ) -> Result<(GeneratedCaption, CountedGeneration)> {
        self.deps.generation_limit.take(user, self.deps.now())?;
        let mut counted = take_generation(&self.deps, user).await?;
        let request = CaptionRequest {
            product: product.clone(),
            platforms: Platform::dedup(platforms.to_vec()),
            tone,
            variant,
        };
        let failed = match self.deps.captions.generate(&request).await {
            // A generator is an outside service: hold its output to the platforms' rules too.
            Ok(generated) => match generated.fits(platforms) {
                Ok(()) => {
                    let usage = generated.generator.usage;
                    if generated.generator.fell_back.is_some() && usage.input + usage.output == 0 {
                        // The model never answered (down, the key refused): the template's
                        // caption cost nothing.
                        counted.give_back().await;
                    }
                    return Ok((generated, counted));
                }
                Err(why) => Error::unavailable("caption generator", why),
            },
            Err(CaptionError::Unavailable(source)) => Error::Unavailable {
                what: "caption generator",
                source,
            },
            Err(CaptionError::Refused(reason)) => {
                ValidationError::new("product_data", reason).into()
            }
        };
        counted.settle(Err(failed)).await
    }

    async fn insert(&self, item: QueueItem) -> Result<QueueItem> {
        self.deps.store.insert_queue_item(&item).await?;
        Ok(item)
    }

    /// Adds a pending item, with a hand-written caption or none yet.
    ///
    /// # Errors
    /// [`Error::Validation`] for an empty platform list or a bad caption.
    pub async fn create(&self, user: UserId, request: CreateQueueItem) -> Result<QueueItem> {
        let item = self.build(user, request)?;
        self.insert(item).await
    }

    /// The pending item [`create`](Self::create) stores, checked and not stored.
    pub(crate) fn build(&self, user: UserId, request: CreateQueueItem) -> Result<QueueItem> {
        require_platforms(&request.platforms)?;
        let caption = request
            .content
            .map(|c| Caption::parse(c).map_err(|e| e.for_field("ai_generated_content")))
            .transpose()?;
        let item = QueueItem::create(
            NewQueueItem {
                id: self.deps.new_id(),
                user_id: user,
                product_data: request.product_data,
                platforms: request.platforms,
                caption,
                hashtags: Hashtags::parse(&request.hashtags)?,
                platform_captions: request.platform_captions,
                tone: None,
                generator: None,
            },
            self.deps.now(),
        )?;
        Ok(item)
    }

    /// Adds a pending item whose caption and hashtags are written by the caption generator.
    ///
    /// # Errors
    /// [`Error::Validation`] for an empty platform list; [`Error::Unavailable`] when the
    /// generator is down (nothing is stored).
    pub async fn generate(
        &self,
        user: UserId,
        product_data: ProductData,
        platforms: Vec<Platform>,
        tone: Tone,
    ) -> Result<QueueItem> {
        require_platforms(&platforms)?;
        let (generated, counted) = self
            .generate_caption(user, &product_data, &platforms, tone, 0)
            .await?;
        let stored = self
            .insert_generated(user, product_data, platforms, tone, generated)
            .await;
        counted.settle(stored).await
    }

    /// What the API's generate does: [`generate_from_template`](Self::generate_from_template) with
    /// a template, else [`generate`](Self::generate) in `tone` (default professional).
    ///
    /// # Errors
    /// Those of the one it calls.
    pub async fn generate_with(
        &self,
        user: UserId,
        product_data: ProductData,
        platforms: Vec<Platform>,
        tone: Option<Tone>,
        template: Option<TemplateId>,
    ) -> Result<QueueItem> {
        match template {
            Some(template) => {
                self.generate_from_template(user, product_data, platforms, template, tone)
                    .await
            }
            None => {
                let tone = tone.unwrap_or_default();
                self.generate(user, product_data, platforms, tone).await
            }
        }
    }

    /// Adds a pending item whose caption is one of the user's templates filled from the product
    /// (`{hashtags}` writes the template generator's hashtags for the target platforms into the
    /// text; the item itself carries none). Its tone: `tone`, else the template's.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a template that is not the user's; [`Error::Validation`] for an
    /// empty platform list, or (naming `template_id`) a caption that, filled from this product,
    /// is not valid or too long for a target platform.
    pub async fn generate_from_template(
        &self,
        user: UserId,
        product_data: ProductData,
        platforms: Vec<Platform>,
        template: TemplateId,
        tone: Option<Tone>,
    ) -> Result<QueueItem> {
        require_platforms(&platforms)?;
        let template = TemplateService::new(self.deps.clone())
            .get(user, template)
            .await?;
        let tone = tone.or(template.tone()).unwrap_or_default();
        let hashtags = crate::caption::template::suggest_hashtags(&product_data, &platforms);
        let refused = |why: String| ValidationError::new("template_id", why);
        let caption = Caption::parse(template.body().render(&product_data, &hashtags))
            .map_err(|e| refused(format!("filled from this product: {}", e.reason())))?;
        fits_platforms(&caption, &Hashtags::default(), &platforms)
            .map_err(|why| refused(format!("filled from this product, {why}")))?;
        let generator = crate::caption::Generator {
            name: format!("template:{}", template.name()),
            ..crate::caption::Generator::template()
        };
        let generated = GeneratedCaption::shared(caption, Hashtags::default(), generator);
        self.insert_generated(user, product_data, platforms, tone, generated)
            .await
    }

    async fn insert_generated(
        &self,
        user: UserId,
        product_data: ProductData,
        platforms: Vec<Platform>,
        tone: Tone,
        generated: GeneratedCaption,
    ) -> Result<QueueItem> {
        let item = QueueItem::create(
            NewQueueItem {
                id: self.deps.new_id(),
                user_id: user,
                product_data,
                platforms,
                caption: Some(generated.caption),
                hashtags: generated.hashtags,
                platform_captions: generated.per_platform,
                tone: Some(tone),
                generator: Some(generated.generator),
            },
            self.deps.now(),
        )?;
        self.insert(item).await
    }

    /// One of the user's items.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn get(&self, user: UserId, id: QueueItemId) -> Result<QueueItem> {
        self.deps
            .store
            .queue_item(user, id)
            .await?
            .ok_or(Error::NotFound("queue item"))
    }

    /// The user's items, newest first, optionally by status.
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(
        &self,
        user: UserId,
        status: Option<QueueStatus>,
        page: PageRequest,
    ) -> Result<Page<QueueItem>> {
        Ok(self.deps.store.list_queue_items(user, status, page).await?)
    }

    async fn save(&self, item: &QueueItem, was: QueueStatus) -> Result<()> {
        let saved = self.deps.store.update_queue_item(item, &[was]).await;
        saved.map_err(|e| e.of("queue item"))
    }

    /// Edits a pending item.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] unless pending; [`Error::Validation`].
    pub async fn update(
        &self,
        user: UserId,
        id: QueueItemId,
        patch: QueueItemPatch,
    ) -> Result<QueueItem> {
        let content = patch
            .ai_generated_content
            .map(|c| Caption::parse(c).map_err(|e| e.for_field("ai_generated_content")))
            .transpose()?;
        let hashtags = patch.hashtags.as_deref().map(Hashtags::parse).transpose()?;
        if let Some(platforms) = &patch.platforms {
            require_platforms(platforms)?;
        }
        let mut item = self.get(user, id).await?;
        item.edit(
            QueueItemEdit {
                caption: content,
                hashtags,
                platform_captions: patch.platform_captions,
                platforms: patch.platforms,
                product_data: patch.product_data,
            },
            self.deps.now(),
        )?;
        self.save(&item, QueueStatus::Pending).await?;
        Ok(item)
    }

    /// Deletes a pending or rejected item (approved items have posts and stay).
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] for approved or posted items.
    pub async fn delete(&self, user: UserId, id: QueueItemId) -> Result<()> {
        let item = self.get(user, id).await?;
        if !matches!(item.status, QueueStatus::Pending | QueueStatus::Rejected) {
            return Err(crate::InvalidTransition {
                entity: "queue item",
                from: item.status.as_str(),
                to: "deleted",
            }
            .into());
        }
        let deletable = [QueueStatus::Pending, QueueStatus::Rejected];
        let deleted = self
            .deps
            .store
            .delete_queue_item(user, id, &deletable)
            .await;
        deleted.map_err(|e| e.of("queue item"))
    }

    /// Approves a pending item into one post per target account — all created, within the
    /// monthly quota, or none.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an account that is not the user's; [`Error::Validation`] for no
    /// accounts, a disconnected account, an account on a platform the item does not target, a
    /// missing caption, content a platform would refuse, or a past time;
    /// [`Error::InvalidTransition`] unless pending; [`Error::PlanLimit`] when the posts do not
    /// fit in the month's quota; [`Error::PublishingCapFull`] when an account's platform cap
    /// has no room at the time.
    pub async fn approve(
        &self,
        user: UserId,
        id: QueueItemId,
        request: ApproveItem,
    ) -> Result<Approval> {
        let mut account_ids = request.account_ids;
        let mut seen = std::collections::HashSet::new();
        account_ids.retain(|a| seen.insert(*a));
        if account_ids.is_empty() {
            return Err(
                ValidationError::new("account_ids", "must name at least one account").into(),
            );
        }
        for _ in 0..=SLOT_RACE_RETRIES {
            match self
                .approve_once(user, id, &account_ids, request.placement)
                .await
            {
                Err(StoreError::Conflict(Conflict::SlotTaken)) => {}
                Err(e) => return Err(e.into()),
                Ok(approval) => return approval,
            }
        }
        Err(Error::Conflict(
            "other requests kept taking the accounts' free slots; try again".into(),
        ))
    }

    /// One try of [`QueueService::approve`]: `Err` is a slot another request took between
    /// finding it free and storing the posts (nothing was stored; a new try finds another).
    async fn approve_once(
        &self,
        user: UserId,
        id: QueueItemId,
        account_ids: &[AccountId],
        placement: Placement,
    ) -> std::result::Result<Result<Approval>, StoreError> {
        let attempt = async {
            let mut item = self.get(user, id).await?;
            let now = self.deps.now();
            item.approve(now)?;
            let media_urls = parse_media_urls(item.product_data.image_urls().iter().cloned())
                .map_err(|e| e.for_field("product_data.image_urls"))?;
            let mut posts = Vec::with_capacity(account_ids.len());
            for &account_id in account_ids {
                let account = publishable_account(&self.deps, user, account_id)
                    .await
                    .map_err(|e| match e {
                        Error::Validation(v) => Error::Validation(v.for_field("account_ids")),
                        other => other,
                    })?;
                if !item.platforms.contains(&account.platform) {
                    return Err(ValidationError::new(
                        "account_ids",
                        format!(
                            "account {account_id} is on {}, which this item does not target",
                            account.platform
                        ),
                    )
                    .into());
                }
                let (content, hashtags) = item.caption_for(account.platform).ok_or_else(|| {
                    ValidationError::new("ai_generated_content", "the item has no caption yet")
                })?;
                let new = NewPost {
                    id: self.deps.new_id(),
                    user_id: user,
                    account_id,
                    queue_item_id: Some(item.id),
                    platform: account.platform,
                    content: content.clone(),
                    media_urls: media_urls.clone(),
                    hashtags: hashtags.clone(),
                    product: Some(ProductSnapshot::of(&item.product_data)),
                };
                let post = match placement {
                    Placement::Draft => Post::create(new, None, now)?,
                    Placement::At(at) => {
                        let post = Post::create(new, Some(at), now)?;
                        ensure_within_cap(&self.deps, &account, at, None).await?;
                        post
                    }
                    Placement::NextSlot => {
                        let mut post = Post::create(new, None, now)?;
                        let at = next_free_slot(&self.deps, &account, None, now).await?;
                        post.schedule_on_slot(at, now)?;
                        post
                    }
                };
                posts.push(post);
            }
            let quota = post_quota(&self.deps, user, now).await?;
            Ok((item, posts, quota))
        };
        let (item, posts, quota) = match attempt.await {
            Ok(ready) => ready,
            Err(e) => return Ok(Err(e)),
        };
        match self
            .deps
            .store
            .approve_queue_item(&item, &posts, quota)
            .await
        {
            Ok(()) => Ok(Ok(Approval { item, posts })),
            Err(StoreError::LimitReached) => Ok(Err(posts_quota_error(quota.limit))),
            Err(e @ StoreError::Conflict(Conflict::SlotTaken)) => Err(e),
            Err(e) => Ok(Err(e.of("queue item"))),
        }
    }

    /// Rejects a pending item.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] unless pending.
    pub async fn reject(
        &self,
        user: UserId,
        id: QueueItemId,
        reason: Option<String>,
    ) -> Result<QueueItem> {
        let reason = match reason {
            Some(r) => text::parse_trimmed(
                "reason",
                &r,
                text::CONTROL_BUT_LINE_BREAKS,
                super::MAX_REASON_CHARS,
            )?,
            None => None,
        };
        let mut item = self.get(user, id).await?;
        item.reject(reason, self.deps.now())?;
        self.save(&item, QueueStatus::Pending).await?;
        Ok(item)
    }

    /// Writes a new caption for a rejected item and puts it back to pending.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] unless rejected; [`Error::Unavailable`] when the generator is
    /// down.
    pub async fn regenerate(
        &self,
        user: UserId,
        id: QueueItemId,
        tone: Option<Tone>,
    ) -> Result<QueueItem> {
        let mut item = self.get(user, id).await?;
        if item.status != QueueStatus::Rejected {
            return Err(crate::InvalidTransition {
                entity: "queue item",
                from: item.status.as_str(),
                to: QueueStatus::Pending.as_str(),
            }
            .into());
        }
        let tone = tone.or(item.tone).unwrap_or_default();
        let (generated, counted) = self
            .generate_caption(
                user,
                &item.product_data,
                &item.platforms,
                tone,
                item.generation + 1,
            )
            .await?;
        let saved = async {
            item.regenerate(generated, tone, self.deps.now())?;
            self.save(&item, QueueStatus::Rejected).await?;
            Ok(item)
        };
        counted.settle(saved.await).await
    }
}
