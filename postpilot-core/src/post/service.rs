//! Post use cases.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::ValidationError;
use crate::account::publishable_account;
use crate::clock::day_start;
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::{AccountId, PostId, UserId};
use crate::page::{Page, PageRequest};
use crate::plan::{post_quota, posts_quota_error};
use crate::post::duplicate::same_caption;
use crate::post::room::{
    SLOT_RACE_RETRIES, ensure_not_duplicate, ensure_within_cap, next_free_slot,
};
use crate::post::{
    Caption, DELETED_REASON, Duplicates, Hashtags, NewPost, PauseOn, Post, PostStatus,
    ProductState, parse_media_urls, pause_reason, updated_snapshot,
};
use crate::publish::PublicationAttempt;
use crate::store::{Conflict, PostListFilter, StoreError};

/// What a resumed post says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResumeCaption {
    /// Its caption as it is (the default).
    #[default]
    Keep,
    /// A caption written anew by the caption generator from its queue item's product data as
    /// the product is now (the post's snapshot, which took the change that paused it).
    Regenerate,
}

impl ResumeCaption {
    /// `Regenerate` when `regenerate`, as an API field `regenerate_caption` reads.
    pub const fn regenerated(regenerate: bool) -> Self {
        if regenerate {
            Self::Regenerate
        } else {
            Self::Keep
        }
    }
}

/// Longest reason a post is paused for, in characters after trimming.
pub const MAX_PAUSE_REASON_CHARS: usize = 500;

/// Longest calendar range, in days.
pub const MAX_CALENDAR_DAYS: u64 = 366;

/// A new post, as a client sends it.
#[derive(Clone, Debug)]
pub struct CreatePost {
    /// The target account (its platform becomes the post's).
    pub account_id: AccountId,
    /// The caption.
    pub content: String,
    /// Media URLs.
    pub media_urls: Vec<String>,
    /// Hashtags (with or without `#`).
    pub hashtags: Vec<String>,
    /// When to publish; the post is created `scheduled` when given, `draft` otherwise.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Whether a scheduled post may repeat the caption of another post of the account within
    /// 24 hours (see [`Duplicates`]).
    pub duplicates: Duplicates,
}

/// A partial update: `None` leaves a field alone; `scheduled_for: Some(None)` clears the time,
/// taking a scheduled post back to draft.
#[derive(Clone, Debug, Default)]
pub struct PostPatch {
    /// New caption.
    pub content: Option<String>,
    /// New media.
    pub media_urls: Option<Vec<String>>,
    /// New hashtags.
    pub hashtags: Option<Vec<String>>,
    /// New time (`Some(None)`: unschedule).
    pub scheduled_for: Option<Option<DateTime<Utc>>>,
    /// Whether the post, scheduled after the patch, may repeat the caption of another post of
    /// the account within 24 hours (see [`Duplicates`]).
    pub duplicates: Duplicates,
}

/// Filters of the post list.
pub type PostFilter = PostListFilter;

/// Creating, editing, scheduling and listing posts.
#[derive(Clone, Debug)]
pub struct PostService {
    deps: Arc<Deps>,
}

impl PostService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Creates a post on one of the user's connected accounts, within the monthly quota.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an account that is not the user's; [`Error::Validation`] for
    /// content the platform would refuse, a past time, or a disconnected account;
    /// [`Error::PlanLimit`] when the month's quota is used up;
    /// [`Error::PublishingCapFull`] when the account's platform cap has no room at its time;
    /// [`Error::DuplicatePost`] when another post of the account has its caption within 24 hours.
    pub async fn create(&self, user: UserId, request: CreatePost) -> Result<Post> {
        let content = Caption::parse(request.content)?;
        let media_urls = parse_media_urls(request.media_urls)?;
        let hashtags = Hashtags::parse(&request.hashtags)?;
        let account = publishable_account(&self.deps, user, request.account_id).await?;
        let post = Post::create(
            NewPost {
                id: self.deps.new_id(),
                user_id: user,
                account_id: account.id,
                queue_item_id: None,
                platform: account.platform,
                content,
                media_urls,
                hashtags,
                product: None,
            },
            request.scheduled_for,
            self.deps.now(),
        )?;
        if let Some(at) = post.scheduled_for() {
            ensure_within_cap(&self.deps, &account, at, None).await?;
            ensure_not_duplicate(&self.deps, &post, at, request.duplicates).await?;
        }
        let quota = post_quota(&self.deps, user, post.created_at()).await?;
        match self.deps.store.insert_post(&post, quota).await {
            Ok(()) => Ok(post),
            Err(StoreError::LimitReached) => Err(posts_quota_error(quota.limit)),
            Err(e) => Err(e.into()),
        }
    }

    /// One of the user's posts.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn get(&self, user: UserId, id: PostId) -> Result<Post> {
        self.deps
            .store
            .post(user, id)
            .await?
            .ok_or(Error::NotFound("post"))
    }

    /// The publication ledger of one of the user's posts, oldest attempt first: every attempt's
    /// time, outcome and platform error, so a merchant sees why a post failed or is waiting.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn attempts(&self, user: UserId, id: PostId) -> Result<Vec<PublicationAttempt>> {
        self.get(user, id).await?;
        Ok(self.deps.store.attempts(user, id).await?)
    }

    /// The user's posts, newest first, optionally filtered by status and platform.
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(
        &self,
        user: UserId,
        filter: PostFilter,
        page: PageRequest,
    ) -> Result<Page<Post>> {
        Ok(self.deps.store.list_posts(user, filter, page).await?)
    }

    async fn save(&self, post: &Post, was: PostStatus) -> Result<()> {
        let saved = self.deps.store.update_post(post, &[was]).await;
        saved.map_err(|e| e.of("post"))
    }

    /// Edits a draft, scheduled or paused post. `scheduled_for: Some(None)` unschedules it;
    /// `Some(Some(t))` (re)schedules it.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] once the post is publishing, posted or failed;
    /// [`Error::Validation`] for content the platform would refuse or a past time;
    /// [`Error::PublishingCapFull`] when the account's platform cap has no room at the new time;
    /// [`Error::DuplicatePost`] when the scheduled post's new caption or time meets another post
    /// of the account with its caption within 24 hours.
    pub async fn update(&self, user: UserId, id: PostId, patch: PostPatch) -> Result<Post> {
        let content = patch.content.map(Caption::parse).transpose()?;
        let media_urls = patch.media_urls.map(parse_media_urls).transpose()?;
        let hashtags = patch.hashtags.as_deref().map(Hashtags::parse).transpose()?;
        let mut post = self.get(user, id).await?;
        let (caption_before, time_before) = (post.content().clone(), post.scheduled_for());
        let was = post.status();
        let now = self.deps.now();
        let edits = content.is_some() || media_urls.is_some() || hashtags.is_some();
        match patch.scheduled_for {
            // Schedule first, so a failed post can be rescheduled (and then edited) in one patch.
            Some(Some(at)) => {
                self.schedule_within_cap(user, &mut post, at, now).await?;
                if edits {
                    post.edit(content, media_urls, hashtags, now)?;
                }
            }
            Some(None) => {
                if edits {
                    post.edit(content, media_urls, hashtags, now)?;
                }
                post.unschedule(now)?;
            }
            None => post.edit(content, media_urls, hashtags, now)?,
        }
        let recaptioned = !same_caption(post.content().as_ref(), caption_before.as_ref());
        if let Some(at) = post.scheduled_for()
            && post.status() == PostStatus::Scheduled
            && (recaptioned || time_before != Some(at) || was != PostStatus::Scheduled)
        {
            ensure_not_duplicate(&self.deps, &post, at, patch.duplicates).await?;
        }
        self.save(&post, was).await?;
        Ok(post)
    }

    /// Schedules a draft (or reschedules a scheduled or failed post) for `at`.
    ///
    /// # Errors
    /// [`Error::Validation`] for a time not in the future (or more than a year ahead);
    /// [`Error::InvalidTransition`] from publishing or posted; [`Error::PublishingCapFull`] when
    /// the account's platform cap has no room at `at`; [`Error::DuplicatePost`] when another
    /// post of the account has its caption within 24 hours of `at` and `duplicates` refuses it.
    pub async fn schedule(
        &self,
        user: UserId,
        id: PostId,
        at: DateTime<Utc>,
        duplicates: Duplicates,
    ) -> Result<Post> {
        let mut post = self.get(user, id).await?;
        let was = post.status();
        let moves = was != PostStatus::Scheduled || post.scheduled_for() != Some(at);
        self.schedule_within_cap(user, &mut post, at, self.deps.now())
            .await?;
        // A post sent back its own time is not checked again, as for the cap: a duplicate
        // allowed once stays allowed.
        if moves {
            ensure_not_duplicate(&self.deps, &post, at, duplicates).await?;
        }
        self.save(&post, was).await?;
        Ok(post)
    }

    /// Puts the post on its account's next free slot: the first instant of the account's
    /// posting schedule after now that no other post of the account is at and its publishing
    /// cap has room for. Requests racing for one account each get their own slot.
    ///
    /// # Errors
    /// [`Error::Validation`] naming `slot` when the account has no schedule or no free slot
    /// within a year; [`Error::InvalidTransition`] from publishing or posted;
    /// [`Error::DuplicatePost`] when another post of the account has its caption within 24 hours
    /// of the slot and `duplicates` refuses it.
    pub async fn queue(&self, user: UserId, id: PostId, duplicates: Duplicates) -> Result<Post> {
        for _ in 0..=SLOT_RACE_RETRIES {
            let mut post = self.get(user, id).await?;
            let was = post.status();
            post.ensure_schedulable()?;
            let account = publishable_account(&self.deps, user, post.account_id()).await?;
            // One instant for the search and the check: a slot found just after it is valid.
            let now = self.deps.now();
            let at = next_free_slot(&self.deps, &account, Some(id), now).await?;
            post.schedule_on_slot(at, now)?;
            ensure_not_duplicate(&self.deps, &post, at, duplicates).await?;
            match self.deps.store.update_post(&post, &[was]).await {
                Ok(()) => return Ok(post),
                Err(StoreError::Conflict(Conflict::SlotTaken)) => {}
                Err(e) => return Err(e.of("post")),
            }
        }
        Err(Error::Conflict(
            "other requests kept taking the account's free slots; try again".into(),
        ))
    }

    /// (Re)schedules `post` at `at` on its account, if the account takes posts and its
    /// publishing cap has room there. A post sent back its own time does not move: it keeps its
    /// place even in a window a lowered cap has over-filled.
    async fn schedule_within_cap(
        &self,
        user: UserId,
        post: &mut Post,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let account = publishable_account(&self.deps, user, post.account_id()).await?;
        let moves = post.status() != PostStatus::Scheduled || post.scheduled_for() != Some(at);
        post.schedule(at, now)?;
        if moves {
            ensure_within_cap(&self.deps, &account, at, Some(post.id())).await?;
        }
        Ok(())
    }

    /// Holds a scheduled post back before its time, saying why; no worker claims it until it is
    /// resumed (or scheduled at another time). A post a worker has already claimed cannot be
    /// held back: the write is fenced by the claim, and the answer says it is being published.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] unless the post is scheduled; [`Error::Conflict`] when a
    /// worker claimed it meanwhile; [`Error::Validation`] for a reason that is blank or too
    /// long.
    pub async fn pause(&self, user: UserId, id: PostId, reason: &str) -> Result<Post> {
        let reason = crate::text::parse_required(
            "reason",
            reason,
            crate::text::CONTROL_BUT_LINE_BREAKS,
            MAX_PAUSE_REASON_CHARS,
        )?;
        let mut post = self.get(user, id).await?;
        post.pause(reason, self.deps.now())?;
        match self.deps.store.pause_post(&post).await {
            // What is stored: a merchant's edit since the read is kept under the pause.
            Ok(()) => self.get(user, id).await,
            Err(StoreError::Stale) => Err(Error::Conflict(
                "the post changed meanwhile (a worker may be publishing it); read it again".into(),
            )),
            Err(e) => Err(e.of("post")),
        }
    }

    /// Holds back the user's scheduled posts advertising the shop's product `product` that its
    /// change makes wrong under the user's `pause_on` (see [`pause_reason`]; `None`: the product
    /// was deleted, which holds back every one unless `pause_on` is `off`). Each pause is fenced like [`pause`](Self::pause): a post a worker claimed
    /// meanwhile is being published and is left to it. The posts held back.
    ///
    /// # Errors
    /// The store failed.
    pub async fn pause_for_product(
        &self,
        user: UserId,
        product: &str,
        now_state: Option<&ProductState>,
    ) -> Result<Vec<Post>> {
        let mut paused = Vec::new();
        let rule = self.deps.user(user).await?.pause_on();
        if rule == PauseOn::Off {
            return Ok(paused);
        }
        for mut post in self
            .deps
            .store
            .scheduled_posts_of_product(user, product)
            .await?
        {
            let now = self.deps.now();
            match (now_state, post.product().cloned()) {
                (None, _) => post.pause(DELETED_REASON, now)?,
                (Some(state), Some(before)) => match pause_reason(&before, state, rule) {
                    // The snapshot takes the change: once the merchant resumes, the same
                    // change does not pause the post again.
                    Some(reason) => {
                        post.pause_for_product(reason, updated_snapshot(&before, state), now)?;
                    }
                    None => continue,
                },
                (Some(_), None) => continue,
            }
            match self.deps.store.pause_post(&post).await {
                Ok(()) => paused.push(post),
                // Claimed, edited or deleted since it was read: a worker is publishing it, or
                // its merchant has acted; either way it is no longer this change's to hold.
                Err(StoreError::Stale | StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(paused)
    }

    /// Resumes a paused post at its own time, which must still be ahead (otherwise schedule it
    /// at a new one), checked against the publishing cap and the duplicate guard again.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] unless the post is paused; [`Error::Validation`] naming
    /// `scheduled_for` when its time has passed; as [`schedule`](Self::schedule) otherwise.
    pub async fn resume(
        &self,
        user: UserId,
        id: PostId,
        duplicates: Duplicates,
        caption: ResumeCaption,
    ) -> Result<Post> {
        let mut post = self.get(user, id).await?;
        if post.status() != PostStatus::Paused {
            return Err(crate::InvalidTransition {
                entity: "post",
                from: post.status().as_str(),
                to: "resumed",
            }
            .into());
        }
        let now = self.deps.now();
        let at = post.scheduled_for().filter(|at| *at > now).ok_or_else(|| {
            ValidationError::new(
                "scheduled_for",
                "the paused post's time has passed; schedule it at a new time",
            )
        })?;
        // One read, checked and written against: a post unscheduled or moved meanwhile is not
        // put back where it was paused. The account and the cap are checked before a caption
        // is written: a model is not paid for a resume that cannot happen.
        self.schedule_within_cap(user, &mut post, at, now).await?;
        let counted = match caption {
            ResumeCaption::Keep => None,
            ResumeCaption::Regenerate => Some(self.rewrite_caption(user, &mut post, now).await?),
        };
        let resumed = async {
            ensure_not_duplicate(&self.deps, &post, at, duplicates).await?;
            self.save(&post, PostStatus::Paused).await?;
            Ok(post)
        }
        .await;
        match counted {
            Some(counted) => counted.settle(resumed).await,
            None => resumed,
        }
    }

    /// Writes `post`'s caption and hashtags anew from its queue item's product data, updated by
    /// its snapshot; the generation it counted is settled by the caller.
    async fn rewrite_caption(
        &self,
        user: UserId,
        post: &mut Post,
        now: DateTime<Utc>,
    ) -> Result<crate::plan::CountedGeneration> {
        let no_product = || {
            ValidationError::new(
                "regenerate_caption",
                "the post was not made from a queue item that still exists: there is no product \
                 to write a caption from",
            )
        };
        let item_id = post.queue_item_id().ok_or_else(no_product)?;
        let item = self
            .deps
            .store
            .queue_item(user, item_id)
            .await?
            .ok_or_else(no_product)?;
        let product = match post.product() {
            Some(now) => now.laid_over(item.product_data()).map_err(|e| {
                ValidationError::new(
                    "regenerate_caption",
                    format!("the product as the shop last described it is incomplete: {e}"),
                )
            })?,
            None => item.product_data().clone(),
        };
        let platform = post.platform();
        let (generated, counted) = crate::queue::QueueService::new(self.deps.clone())
            .generate_caption(
                user,
                &product,
                &[platform],
                item.tone().unwrap_or_default(),
                item.generation().saturating_add(1),
            )
            .await?;
        let (caption, hashtags) = match generated.per_platform.get(platform) {
            Some(own) => (own.caption.clone(), own.hashtags.clone()),
            None => (generated.caption, generated.hashtags),
        };
        match post.edit(Some(caption), None, Some(hashtags), now) {
            Ok(()) => Ok(counted),
            Err(e) => counted.settle(Err(e)).await,
        }
    }

    /// Deletes a draft, scheduled or paused post.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] once it is publishing, posted or failed.
    pub async fn delete(&self, user: UserId, id: PostId) -> Result<()> {
        let post = self.get(user, id).await?;
        post.ensure_deletable()?;
        let deletable = [PostStatus::Draft, PostStatus::Scheduled, PostStatus::Paused];
        let deleted = self.deps.store.delete_post(user, id, &deletable).await;
        deleted.map_err(|e| e.of("post"))
    }

    /// The user's posts with a time between `start` and `end` (inclusive local dates in `tz`),
    /// grouped by local date; days without posts are absent.
    ///
    /// # Errors
    /// [`Error::Validation`] when `end` is before `start` or the range exceeds 366 days.
    pub async fn calendar(
        &self,
        user: UserId,
        start: NaiveDate,
        end: NaiveDate,
        tz: Tz,
    ) -> Result<BTreeMap<NaiveDate, Vec<Post>>> {
        if end < start {
            return Err(ValidationError::new("end_date", "must not be before start_date").into());
        }
        if (end - start).num_days() >= i64::try_from(MAX_CALENDAR_DAYS).unwrap_or(i64::MAX) {
            return Err(
                ValidationError::new("end_date", "the range must be at most 366 days").into(),
            );
        }
        let day_after_end = end
            .checked_add_days(Days::new(1))
            .ok_or_else(|| ValidationError::new("end_date", "is out of range"))?;
        let local_midnight = |date: NaiveDate, field: &'static str| -> Result<DateTime<Utc>> {
            day_start(date, tz)
                .ok_or_else(|| ValidationError::new(field, "is not a valid local date").into())
        };
        let from = local_midnight(start, "start_date")?;
        let to = local_midnight(day_after_end, "end_date")?;
        let mut days: BTreeMap<NaiveDate, Vec<Post>> = BTreeMap::new();
        for post in self.deps.store.posts_between(user, from, to).await? {
            if let Some(at) = post.scheduled_for() {
                days.entry(at.with_timezone(&tz).date_naive())
                    .or_default()
                    .push(post);
            }
        }
        Ok(days)
    }
}
