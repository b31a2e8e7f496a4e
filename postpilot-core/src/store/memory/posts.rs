//! Posts and the claim queue, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::*;

#[async_trait]
impl PostStore for MemoryStore {
    async fn insert_post(&self, post: &Post, quota: PostQuota) -> StoreResult<()> {
        let mut t = self.tables();
        ensure_absent(&t.posts, &post.id, Conflict::DuplicateId)?;
        t.check_slots_free([post])?;
        let used = t.posts_created(post.user_id, quota.window);
        if !quota.limit.allows_one_more(used) {
            return Err(StoreError::LimitReached);
        }
        t.posts.insert(post.id, post.clone());
        t.record(crate::event::post_event(None, post));
        t.record(crate::event::post_quota_events(
            post.user_id,
            &quota,
            used,
            1,
            post.created_at,
        ));
        drop(t);
        self.scheduled(post.status);
        Ok(())
    }

    async fn post(&self, owner: UserId, id: PostId) -> StoreResult<Option<Post>> {
        Ok(owned(&self.tables().posts, owner, &id).cloned())
    }

    async fn list_posts(
        &self,
        owner: UserId,
        filter: PostListFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Post>> {
        let all: Vec<_> = self
            .tables()
            .posts
            .values()
            .filter(|p| {
                p.user_id == owner
                    && filter.status.is_none_or(|s| p.status == s)
                    && filter.platform.is_none_or(|pl| p.platform == pl)
            })
            .cloned()
            .collect();
        Ok(page_of(page, all, Order::NewestFirst, |p| {
            Cursor::new(p.created_at, p.id.as_uuid())
        }))
    }

    async fn posts_between(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Post>> {
        let mut posts: Vec<_> = self
            .tables()
            .posts
            .values()
            .filter(|p| p.user_id == owner)
            .filter(|p| p.scheduled_for.is_some_and(|at| from <= at && at < to))
            .cloned()
            .collect();
        posts.sort_by_key(|p| (p.scheduled_for, p.id));
        Ok(posts)
    }

    async fn account_slots(
        &self,
        owner: UserId,
        account: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PostSlot>> {
        let mut slots: Vec<PostSlot> = self
            .tables()
            .posts
            .values()
            .filter(|p| p.user_id == owner && p.account_id == account)
            .filter_map(|p| {
                let at = match p.status {
                    PostStatus::Posted => p.posted_at,
                    PostStatus::Scheduled | PostStatus::Publishing => {
                        p.next_attempt_at.or(p.scheduled_for)
                    }
                    PostStatus::Draft | PostStatus::Failed | PostStatus::Paused => None,
                }?;
                (from < at && at <= to).then_some(PostSlot {
                    post: p.id,
                    at,
                    started: p.status == PostStatus::Posted || p.checkpoint.is_some(),
                })
            })
            .collect();
        slots.sort_by_key(|s| (s.at, s.post));
        slots.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(slots)
    }

    async fn posts_of_account(
        &self,
        owner: UserId,
        account: AccountId,
        status: PostStatus,
    ) -> StoreResult<Vec<Post>> {
        let mut posts: Vec<_> = self
            .tables()
            .posts
            .values()
            .filter(|p| p.user_id == owner && p.account_id == account && p.status == status)
            .cloned()
            .collect();
        posts.sort_by_key(|p| (p.created_at, p.id));
        Ok(posts)
    }

    async fn scheduled_posts_of_product(
        &self,
        owner: UserId,
        product: &str,
    ) -> StoreResult<Vec<Post>> {
        let mut posts: Vec<_> = self
            .tables()
            .posts
            .values()
            .filter(|p| {
                p.user_id == owner
                    && p.status == PostStatus::Scheduled
                    && p.product.as_ref().and_then(|s| s.id.as_deref()) == Some(product)
            })
            .cloned()
            .collect();
        posts.sort_by_key(|p| (p.created_at, p.id));
        Ok(posts)
    }

    async fn post_statuses_of_item(
        &self,
        owner: UserId,
        item: QueueItemId,
    ) -> StoreResult<Vec<PostStatus>> {
        Ok(self
            .tables()
            .posts
            .values()
            .filter(|p| p.user_id == owner && p.queue_item_id == Some(item))
            .map(|p| p.status)
            .collect())
    }

    async fn update_post(&self, post: &Post, expected: &[PostStatus]) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = expecting(&mut t.posts, post.user_id, &post.id, expected)?;
        if stored.lease_token != post.lease_token {
            return Err(StoreError::Stale);
        }
        t.check_slots_free([post])?;
        let stored = expecting(&mut t.posts, post.user_id, &post.id, expected)?;
        let was = stored.status;
        *stored = post.clone();
        t.record(crate::event::post_event(Some(was), post));
        drop(t);
        self.scheduled(post.status);
        Ok(())
    }

    async fn pause_post(&self, post: &Post) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = expecting(
            &mut t.posts,
            post.user_id,
            &post.id,
            &[PostStatus::Scheduled],
        )?;
        if stored.lease_token != post.lease_token {
            return Err(StoreError::Stale);
        }
        stored.status = post.status;
        stored.error_message = post.error_message.clone();
        stored.on_slot = post.on_slot;
        stored.next_attempt_at = post.next_attempt_at;
        stored.held_for_reconnect = post.held_for_reconnect;
        stored.product = post.product.clone();
        stored.updated_at = post.updated_at;
        let written = stored.clone();
        t.record(crate::event::post_event(
            Some(PostStatus::Scheduled),
            &written,
        ));
        Ok(())
    }

    async fn delete_post(
        &self,
        owner: UserId,
        id: PostId,
        expected: &[PostStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        expecting(&mut t.posts, owner, &id, expected)?;
        t.posts.remove(&id);
        t.metrics.remove(&id);
        Ok(())
    }

    async fn count_posts_created(&self, owner: UserId, window: MonthWindow) -> StoreResult<u64> {
        Ok(self
            .tables()
            .posts
            .values()
            .filter(|p| p.user_id == owner && window.contains(p.created_at))
            .count() as u64)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
        worker: &str,
    ) -> StoreResult<Vec<ClaimedPost>> {
        Ok(self.claim(now, limit, lease_for, worker, None))
    }

    async fn claim_due_per_account(
        &self,
        now: DateTime<Utc>,
        accounts: u32,
        per_account: u32,
        lease_for: Duration,
        worker: &str,
        busy: &[AccountId],
    ) -> StoreResult<Vec<ClaimedPost>> {
        let spread = Spread {
            accounts,
            per_account,
            busy,
        };
        Ok(self.claim(
            now,
            accounts.saturating_mul(per_account),
            lease_for,
            worker,
            Some(spread),
        ))
    }

    async fn commit_claims(&self, posts: &[Post]) -> StoreResult<Vec<bool>> {
        let mut t = self.tables();
        let mut written = Vec::with_capacity(posts.len());
        let mut seen = std::collections::HashSet::with_capacity(posts.len());
        for post in posts {
            // A post given twice is written once, by its first occurrence.
            let first = seen.insert(post.id);
            let Some(stored) = t.posts.get_mut(&post.id).filter(|s| {
                first && s.status == PostStatus::Publishing && s.lease_token == post.lease_token
            }) else {
                written.push(false);
                continue;
            };
            *stored = post.clone();
            t.record(crate::event::post_event(Some(PostStatus::Publishing), post));
            written.push(true);
        }
        drop(t);
        if posts.iter().any(|p| p.status == PostStatus::Scheduled) {
            self.due_changed.notify_waiters();
        }
        Ok(written)
    }

    async fn wait_for_due_change(&self, max: std::time::Duration) -> bool {
        tokio::time::timeout(max, self.due_changed.notified())
            .await
            .is_ok()
    }

    async fn extend_lease(
        &self,
        id: PostId,
        lease_token: i64,
        until: DateTime<Utc>,
        checkpoint: Option<Checkpoint>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t.posts.get_mut(&id).ok_or(StoreError::NotFound)?;
        match stored.lease.as_mut() {
            Some(lease)
                if stored.status == PostStatus::Publishing && lease.token == lease_token =>
            {
                lease.expires_at = until;
                if let Some(checkpoint) = checkpoint {
                    stored.checkpoint = Some(checkpoint);
                }
                Ok(())
            }
            _ => Err(StoreError::Stale),
        }
    }

    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self
            .tables()
            .posts
            .values()
            .filter_map(|p| match p.status {
                PostStatus::Scheduled => p.due_at(),
                PostStatus::Publishing => p.lease.as_ref().map(|l| l.expires_at),
                _ => None,
            })
            .min())
    }

    async fn posts_needing_metrics(
        &self,
        stale_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let t = self.tables();
        let mut posts: Vec<_> = t
            .posts
            .values()
            .filter(|p| p.status == PostStatus::Posted)
            .filter(|p| {
                t.metrics
                    .get(&p.id)
                    .is_none_or(|m| m.fetched_at < stale_before)
            })
            .cloned()
            .collect();
        posts.sort_by_key(|p| {
            (
                t.metrics.get(&p.id).map(|m| m.fetched_at),
                p.posted_at,
                p.id,
            )
        });
        posts.truncate(limit as usize);
        Ok(posts)
    }
}

impl MemoryStore {
    /// Claims up to `limit` due posts, oldest first; with `spread`, by account (see
    /// [`PostStore::claim_due_per_account`]).
    fn claim(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
        worker: &str,
        spread: Option<Spread<'_>>,
    ) -> Vec<ClaimedPost> {
        let mut t = self.tables();
        let mut due: Vec<(DateTime<Utc>, PostId, AccountId)> = t
            .posts
            .values()
            .filter(|p| p.is_claimable(now))
            .filter_map(|p| {
                let at = match p.status {
                    PostStatus::Publishing => p.lease.as_ref().map(|l| l.expires_at),
                    _ => p.due_at(),
                }?;
                Some((at, p.id, p.account_id))
            })
            .collect();
        due.sort();
        if let Some(spread) = spread {
            let busy: std::collections::HashSet<AccountId> = spread.busy.iter().copied().collect();
            let mut taken: HashMap<AccountId, u32> = HashMap::new();
            due.retain(|(_, _, account)| {
                if busy.contains(account) {
                    return false;
                }
                let chosen = taken.len();
                match taken.get_mut(account) {
                    Some(n) if *n < spread.per_account => {
                        *n += 1;
                        true
                    }
                    Some(_) => false,
                    None if chosen < spread.accounts as usize && spread.per_account > 0 => {
                        taken.insert(*account, 1);
                        true
                    }
                    None => false,
                }
            });
        }
        let mut claimed = Vec::new();
        for (_, id, _) in due.into_iter().take(limit as usize) {
            if let Some(post) = t.posts.get_mut(&id)
                && let Ok(rescued) = post.claim(worker, lease_for, now)
            {
                claimed.push(ClaimedPost {
                    post: post.clone(),
                    rescued,
                });
            }
        }
        claimed
    }
}

/// A claim by account: how many accounts, how many posts of each, and which to leave alone.
#[derive(Clone, Copy)]
struct Spread<'a> {
    accounts: u32,
    per_account: u32,
    busy: &'a [AccountId],
}
