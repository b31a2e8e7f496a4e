//! The store conformance suite: every storage contract, as a public async function over any
//! [`Store`]. The in-memory store runs it in this crate's tests; the Postgres store runs the same
//! functions on a fresh database each. Generate one test per contract with
//! [`store_conformance_tests!`](crate::store_conformance_tests).

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::account::{AccountName, ExternalAccountId, SocialAccount};
use crate::analytics::{MetricCounts, PostMetrics};
use crate::api_key::{ApiKey, ApiKeyName, Scope};
use crate::billing::{Subscription, SubscriptionStatus};
use crate::caption::{ProductData, ProductDataWire};
use crate::id::{AccountId, AttemptId, PostId, QueueItemId, UserId};
use crate::page::PageRequest;
use crate::plan::{Limit, MonthWindow, PlanTier, PostQuota};
use crate::platform::Platform;
use crate::post::{Caption, Hashtags, MediaUrl, NewPost, Post, PostStatus, Published};
use crate::publish::{AttemptOutcome, PublicationAttempt};
use crate::queue::{QueueItem, QueueStatus};
use crate::store::{PlatformLink, PostListFilter, Store, StoreError, UserChange};
use crate::user::{Email, RefreshToken, RefreshUse, Successor, User};

/// The instant every contract starts at: 2026-03-15 12:00:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn id<T: From<Uuid>>() -> T {
    T::from(Uuid::new_v4())
}

/// A user with a unique e-mail.
pub fn user() -> User {
    let id: UserId = id();
    User {
        id,
        email: Email::parse(format!("u{}@example.com", id.as_uuid().simple()))
            .unwrap_or_else(|e| panic!("{e}")),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        stripe_customer_id: None,
        external_platform_id: None,
        external_store_id: None,
        session_epoch: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// A connected Facebook account of `owner` with external id `external`.
pub fn account(owner: UserId, external: &str) -> SocialAccount {
    SocialAccount {
        id: id(),
        user_id: owner,
        platform: Platform::Facebook,
        account_name: AccountName::parse(format!("@{external}")).unwrap_or_else(|e| panic!("{e}")),
        account_id_external: ExternalAccountId::parse(external).unwrap_or_else(|e| panic!("{e}")),
        access_token_enc: Some(format!("v1.k.sealed-{external}")),
        refresh_token_enc: None,
        is_connected: true,
        needs_reconnect: false,
        connected_at: Some(t0()),
        created_at: t0(),
    }
}

/// A Facebook post of `owner` on `account`, created at `created_at`, scheduled when `at` is given.
pub fn post(
    owner: UserId,
    account: AccountId,
    created_at: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Post {
    post_with_id(id(), owner, account, created_at, at)
}

/// [`post`] with a chosen id (differential tests give two stores the same posts).
pub fn post_with_id(
    id: PostId,
    owner: UserId,
    account: AccountId,
    created_at: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Post {
    let mut post = Post::create(
        NewPost {
            id,
            user_id: owner,
            account_id: account,
            queue_item_id: None,
            platform: Platform::Facebook,
            content: Caption::parse("Hello from the conformance suite")
                .unwrap_or_else(|e| panic!("{e}")),
            media_urls: vec![
                MediaUrl::parse("https://cdn.example.com/a.jpg").unwrap_or_else(|e| panic!("{e}")),
            ],
            hashtags: Hashtags::parse(["sale"]).unwrap_or_else(|e| panic!("{e}")),
        },
        None,
        created_at,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if let Some(at) = at {
        // Scheduled posts may be due in the past relative to t0: bypass the "future" rule by
        // scheduling from an earlier "now".
        post.schedule(at, at - Duration::seconds(1))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    post
}

/// A pending queue item of `owner`.
pub fn queue_item(owner: UserId) -> QueueItem {
    QueueItem {
        id: id(),
        user_id: owner,
        product_data: product(),
        ai_generated_content: Some(
            Caption::parse("Meet the lamp").unwrap_or_else(|e| panic!("{e}")),
        ),
        hashtags: Hashtags::parse(["lamp"]).unwrap_or_else(|e| panic!("{e}")),
        platforms: vec![Platform::Facebook],
        tone: None,
        generation: 0,
        status: QueueStatus::Pending,
        rejection_reason: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// Valid product data.
pub fn product() -> ProductData {
    ProductData::parse(ProductDataWire {
        title: "Aurora Desk Lamp".into(),
        tags: vec!["lighting".into()],
        ..ProductDataWire::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn quota(max: u32) -> PostQuota {
    PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::AtMost(max),
    }
}

/// A new user with one connected account (no account limit), stored.
pub async fn seeded(store: &Arc<dyn Store>) -> (User, SocialAccount) {
    let u = user();
    store
        .insert_user(&u)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let a = store
        .connect_account(
            &account(u.id, &format!("ext-{}", u.id.as_uuid().simple())),
            Limit::Unlimited,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (u, a)
}

macro_rules! ok {
    ($e:expr) => {
        $e.await
            .unwrap_or_else(|e| panic!("{}: {e:?}", stringify!($e)))
    };
}

/// Users: insert, look up by id, e-mail and platform id; duplicate e-mail is a conflict.
pub async fn users_are_unique_by_email_and_found_every_way(store: Arc<dyn Store>) {
    let mut u = user();
    u.external_platform_id = Some(Uuid::new_v4());
    ok!(store.insert_user(&u));
    assert_eq!(ok!(store.user(u.id)).map(|x| x.id), Some(u.id));
    assert_eq!(ok!(store.user_by_email(&u.email)).map(|x| x.id), Some(u.id));
    assert_eq!(
        ok!(store.user_by_external_id(u.external_platform_id.unwrap_or_default())).map(|x| x.id),
        Some(u.id)
    );
    let mut twin = user();
    twin.email = u.email.clone();
    assert!(matches!(
        store.insert_user(&twin).await,
        Err(StoreError::Conflict("users_email_key"))
    ));
    let other = user();
    ok!(store.insert_user(&other));
    let steal = UserChange {
        email: Some(u.email.clone()),
        updated_at: t0(),
        ..UserChange::default()
    };
    assert!(matches!(
        store.change_user(other.id, &steal).await,
        Err(StoreError::Conflict("users_email_key"))
    ));
    assert!(matches!(
        store
            .change_user(UserId::from(Uuid::new_v4()), &steal)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(ok!(store.user(UserId::from(Uuid::new_v4()))).is_none());
}

/// Users: a change writes only the fields it names, so concurrent changes of different fields
/// both survive; a platform link never relinks a user linked to another platform id.
pub async fn user_changes_are_narrow_and_links_are_not_stolen(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let later = t0() + Duration::minutes(1);
    let new_email = Email::parse(format!("new-{}", u.email)).unwrap_or_else(|e| panic!("{e}"));
    let changed = ok!(store.change_user(
        u.id,
        &UserChange {
            email: Some(new_email.clone()),
            updated_at: later,
            ..UserChange::default()
        }
    ));
    assert_eq!(
        (changed.email.clone(), changed.updated_at),
        (new_email.clone(), later)
    );
    ok!(store.change_user(
        u.id,
        &UserChange {
            stripe_customer_id: Some("cus_1".into()),
            updated_at: later,
            ..UserChange::default()
        }
    ));
    let stored = ok!(store.user(u.id)).unwrap_or_else(|| panic!("user"));
    assert_eq!(
        (stored.email, stored.stripe_customer_id.as_deref()),
        (new_email, Some("cus_1"))
    );
    assert_eq!(stored.password_hash, u.password_hash, "untouched");
    let platform = Uuid::new_v4();
    let link = |external_platform_id, external_store_id| UserChange {
        link_platform: Some(PlatformLink {
            external_platform_id,
            external_store_id,
        }),
        updated_at: later,
        ..UserChange::default()
    };
    let store_id = Uuid::new_v4();
    let linked = ok!(store.change_user(u.id, &link(platform, Some(store_id))));
    assert_eq!(
        (linked.external_platform_id, linked.external_store_id),
        (Some(platform), Some(store_id))
    );
    let relinked = ok!(store.change_user(u.id, &link(platform, None)));
    assert_eq!(
        relinked.external_store_id,
        Some(store_id),
        "a link without a store id keeps it"
    );
    assert!(matches!(
        store.change_user(u.id, &link(Uuid::new_v4(), None)).await,
        Err(StoreError::Stale)
    ));
    let other = user();
    ok!(store.insert_user(&other));
    assert!(matches!(
        store.change_user(other.id, &link(platform, None)).await,
        Err(StoreError::Conflict("users_external_platform_id_key"))
    ));
}

/// Accounts: the limit counts connected accounts only; reconnecting reactivates the same record.
pub async fn connect_respects_the_limit_and_reconnect_reactivates(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let first = ok!(store.connect_account(&account(u.id, "a1"), Limit::AtMost(1)));
    assert!(matches!(
        store
            .connect_account(&account(u.id, "a2"), Limit::AtMost(1))
            .await,
        Err(StoreError::LimitReached)
    ));
    // Connecting the already-connected account again does not count twice.
    let again = ok!(store.connect_account(&account(u.id, "a1"), Limit::AtMost(1)));
    assert_eq!(again.id, first.id);
    let gone =
        ok!(store.disconnect_account(u.id, first.id)).unwrap_or_else(|| panic!("disconnected"));
    assert!(
        matches!(
            store
                .set_account_tokens(u.id, first.id, Some("late".into()), None)
                .await,
            Err(StoreError::Stale)
        ),
        "a disconnect's erasure is never undone"
    );
    assert!(
        !gone.is_connected && gone.access_token_enc.is_none() && gone.refresh_token_enc.is_none()
    );
    assert_eq!(ok!(store.count_connected_accounts(u.id)), 0);
    let second = ok!(store.connect_account(&account(u.id, "a2"), Limit::AtMost(1)));
    assert_ne!(second.id, first.id);
    ok!(store.disconnect_account(u.id, second.id));
    let back = ok!(store.connect_account(&account(u.id, "a1"), Limit::AtMost(1)));
    assert_eq!(back.id, first.id, "reconnect reuses the record");
    assert!(back.is_connected);
    assert_eq!(
        ok!(store.list_accounts(u.id, PageRequest::default())).total,
        2
    );
}

/// Accounts: no call reaches another owner's account.
pub async fn accounts_are_isolated_by_owner(store: Arc<dyn Store>) {
    let (a, acc) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    assert!(ok!(store.account(b.id, acc.id)).is_none());
    assert!(ok!(store.disconnect_account(b.id, acc.id)).is_none());
    assert!(matches!(
        store.set_account_tokens(b.id, acc.id, None, None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.mark_needs_reconnect(b.id, acc.id, "x", t0()).await,
        Err(StoreError::NotFound)
    ));
    let listed = ok!(store.list_accounts(b.id, PageRequest::default()));
    assert!(listed.items.iter().all(|x| x.user_id == b.id));
    assert!(ok!(store.account(a.id, acc.id)).is_some_and(|x| x.is_connected));
}

/// Accounts: 20 concurrent connects at 0/1 → exactly one succeeds.
pub async fn concurrent_connects_never_exceed_the_limit(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let acc = account(u.id, &format!("c{i}"));
            tokio::spawn(async move { store.connect_account(&acc, Limit::AtMost(1)).await })
        })
        .collect();
    let mut ok_count = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(_) => ok_count += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok_count, 1);
    assert_eq!(ok!(store.count_connected_accounts(u.id)), 1);
}

/// Accounts: a downgrade disconnects the most recently connected beyond the limit.
pub async fn disconnect_beyond_keeps_the_oldest(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut acc = account(u.id, &format!("d{i}"));
        acc.connected_at = Some(t0() + Duration::minutes(i));
        ids.push(ok!(store.connect_account(&acc, Limit::Unlimited)).id);
    }
    let dropped = ok!(store.disconnect_accounts_beyond(u.id, 1));
    assert_eq!(dropped.len(), 2);
    assert!(!dropped.contains(&ids[0]));
    assert_eq!(ok!(store.count_connected_accounts(u.id)), 1);
}

/// Accounts: needing reconnection fails the account's scheduled posts, and only those.
pub async fn needs_reconnect_fails_scheduled_posts_of_that_account(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let other = ok!(store.connect_account(&account(u.id, "other"), Limit::Unlimited));
    let scheduled = post(u.id, acc.id, t0(), Some(t0() + Duration::hours(1)));
    let draft = post(u.id, acc.id, t0(), None);
    let elsewhere = post(u.id, other.id, t0(), Some(t0() + Duration::hours(1)));
    for p in [&scheduled, &draft, &elsewhere] {
        ok!(store.insert_post(p, quota(100)));
    }
    assert_eq!(
        ok!(store.mark_needs_reconnect(u.id, acc.id, "reconnect it", t0())),
        1
    );
    let status = |id| {
        let store = store.clone();
        async move { ok!(store.post(u.id, id)).map(|p| p.status()) }
    };
    assert_eq!(status(scheduled.id()).await, Some(PostStatus::Failed));
    assert_eq!(status(draft.id()).await, Some(PostStatus::Draft));
    assert_eq!(status(elsewhere.id()).await, Some(PostStatus::Scheduled));
    assert!(ok!(store.account(u.id, acc.id)).is_some_and(|a| a.needs_reconnect));
}

/// Posts: the monthly quota counts posts created in the window only.
pub async fn post_quota_counts_the_current_month_only(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let last_month = post(u.id, acc.id, t0() - Duration::days(30), None);
    ok!(store.insert_post(&last_month, quota(100)));
    for _ in 0..2 {
        ok!(store.insert_post(&post(u.id, acc.id, t0(), None), quota(2)));
    }
    assert!(matches!(
        store
            .insert_post(&post(u.id, acc.id, t0(), None), quota(2))
            .await,
        Err(StoreError::LimitReached)
    ));
    let w = MonthWindow::containing(t0());
    assert_eq!(ok!(store.count_posts_created(u.id, w.start, w.end)), 2);
}

/// Posts: 50 concurrent creates at 9/10 used → exactly one succeeds.
pub async fn concurrent_creates_at_the_quota_edge_give_exactly_one(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    for _ in 0..9 {
        ok!(store.insert_post(&post(u.id, acc.id, t0(), None), quota(10)));
    }
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let p = post(u.id, acc.id, t0(), None);
            tokio::spawn(async move { store.insert_post(&p, quota(10)).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(()) => created += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(created, 1);
    let w = MonthWindow::containing(t0());
    assert_eq!(ok!(store.count_posts_created(u.id, w.start, w.end)), 10);
}

/// Posts: lists are per owner, newest first, filtered and paginated.
pub async fn post_lists_filter_paginate_and_isolate(store: Arc<dyn Store>) {
    let (a, acc) = seeded(&store).await;
    let (b, bacc) = seeded(&store).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let at = (i % 2 == 0).then(|| t0() + Duration::hours(1));
        let p = post(a.id, acc.id, t0() + Duration::seconds(i), at);
        ids.push(p.id());
        ok!(store.insert_post(&p, quota(100)));
    }
    ok!(store.insert_post(&post(b.id, bacc.id, t0(), None), quota(100)));
    let page = ok!(store.list_posts(
        a.id,
        PostListFilter::default(),
        PageRequest::new(Some(1), Some(2)).unwrap_or_default()
    ));
    assert_eq!(page.total, 5);
    assert_eq!(
        page.items.iter().map(Post::id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let scheduled = ok!(store.list_posts(
        a.id,
        PostListFilter {
            status: Some(PostStatus::Scheduled),
            platform: Some(Platform::Facebook)
        },
        PageRequest::default()
    ));
    assert_eq!(scheduled.total, 3);
    let none = ok!(store.list_posts(
        a.id,
        PostListFilter {
            status: None,
            platform: Some(Platform::Tiktok)
        },
        PageRequest::default()
    ));
    assert_eq!(none.total, 0);
    let third = ok!(store.list_posts(
        a.id,
        PostListFilter::default(),
        PageRequest::new(Some(3), Some(2)).unwrap_or_default()
    ));
    assert_eq!(third.items.len(), 1);
    let beyond = ok!(store.list_posts(
        a.id,
        PostListFilter::default(),
        PageRequest::new(Some(10), Some(2)).unwrap_or_default()
    ));
    assert_eq!(
        (beyond.items.len(), beyond.total),
        (0, 5),
        "a page past the end still counts"
    );
    assert!(ok!(store.post(b.id, ids[0])).is_none());
    let between = ok!(store.posts_between(a.id, t0(), t0() + Duration::days(1)));
    assert_eq!(between.len(), 3);
    assert!(ok!(store.posts_between(b.id, t0(), t0() + Duration::days(1))).is_empty());
}

/// Posts: updates and deletes are compare-and-set on status, and scoped by owner.
pub async fn post_writes_are_compare_and_set(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let mut p = post(u.id, acc.id, t0(), None);
    ok!(store.insert_post(&p, quota(100)));
    p.schedule(t0() + Duration::hours(2), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.update_post(&p, &[PostStatus::Scheduled]).await,
        Err(StoreError::Stale)
    ));
    ok!(store.update_post(&p, &[PostStatus::Draft]));
    assert_eq!(
        ok!(store.post(u.id, p.id())).map(|x| x.status()),
        Some(PostStatus::Scheduled)
    );
    assert!(matches!(
        store
            .delete_post(other.id, p.id(), &[PostStatus::Scheduled])
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_post(u.id, p.id(), &[PostStatus::Draft]).await,
        Err(StoreError::Stale)
    ));
    ok!(store.delete_post(u.id, p.id(), &[PostStatus::Scheduled]));
    assert!(ok!(store.post(u.id, p.id())).is_none());
}

/// Posts: a user's write based on a read from before a worker's claim is stale even when the
/// post is back in the status the user read (no ABA): the claim counter moved.
pub async fn post_writes_after_an_intervening_claim_are_stale(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1)));
    ok!(store.insert_post(&p, quota(100)));
    let read_by_user = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    let mut claimed = ok!(store.claim_due(t0(), 1, Duration::seconds(60), "w"))
        .remove(0)
        .post;
    let token = claimed.lease_token();
    claimed
        .retry_at(t0() + Duration::seconds(30), "boom", t0())
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.commit_claim(&claimed));
    let mut edit = read_by_user;
    edit.edit(
        Some(Caption::parse("edited").unwrap_or_else(|e| panic!("{e}"))),
        None,
        None,
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.update_post(&edit, &[PostStatus::Scheduled]).await,
        Err(StoreError::Stale)
    ));
    let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(
        (stored.attempts(), stored.lease_token()),
        (1, token),
        "the worker's outcome stands"
    );
}

/// Scheduler: only due posts are claimed, oldest first, up to the limit, each with a new token.
pub async fn claim_takes_due_posts_oldest_first(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let late = post(u.id, acc.id, t0(), Some(t0() - Duration::minutes(1)));
    let early = post(u.id, acc.id, t0(), Some(t0() - Duration::minutes(5)));
    let future = post(u.id, acc.id, t0(), Some(t0() + Duration::minutes(5)));
    let draft = post(u.id, acc.id, t0(), None);
    for p in [&late, &early, &future, &draft] {
        ok!(store.insert_post(p, quota(100)));
    }
    assert_eq!(ok!(store.next_due_at()), Some(t0() - Duration::minutes(5)));
    let claimed = ok!(store.claim_due(t0(), 1, Duration::seconds(60), "w1"));
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].post.id(), early.id());
    assert!(!claimed[0].rescued);
    let lease = claimed[0]
        .post
        .lease()
        .cloned()
        .unwrap_or_else(|| panic!("leased"));
    assert_eq!((lease.owner.as_str(), lease.token), ("w1", 1));
    assert_eq!(lease.expires_at, t0() + Duration::seconds(60));
    let rest = ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w2"));
    assert_eq!(
        rest.iter().map(|c| c.post.id()).collect::<Vec<_>>(),
        vec![late.id()]
    );
    assert!(ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w3")).is_empty());
    assert_eq!(
        ok!(store.post(u.id, early.id())).map(|p| p.status()),
        Some(PostStatus::Publishing)
    );
}

/// Scheduler: an expired lease is rescued by another worker with a higher token, and the first
/// worker's late commit changes nothing.
pub async fn expired_leases_are_rescued_and_stale_commits_fenced(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let p = post(u.id, acc.id, t0(), Some(t0() - Duration::minutes(1)));
    ok!(store.insert_post(&p, quota(100)));
    let a = ok!(store.claim_due(t0(), 10, Duration::seconds(30), "a")).remove(0);
    assert!(
        ok!(store.claim_due(t0() + Duration::seconds(29), 10, Duration::seconds(30), "b"))
            .is_empty()
    );
    assert!(matches!(
        store
            .extend_lease(p.id(), a.post.lease_token() + 1, t0())
            .await,
        Err(StoreError::Stale)
    ));
    let b = ok!(store.claim_due(t0() + Duration::seconds(31), 10, Duration::seconds(30), "b"))
        .remove(0);
    assert!(b.rescued);
    assert!(b.post.lease_token() > a.post.lease_token());
    let mut late = a.post.clone();
    late.mark_posted(
        Published {
            remote_id: "late".into(),
            url: None,
        },
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.commit_claim(&late).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(
        ok!(store.post(u.id, p.id())).map(|x| x.status()),
        Some(PostStatus::Publishing)
    );
    let mut done = b.post.clone();
    ok!(store.extend_lease(p.id(), done.lease_token(), t0() + Duration::minutes(5)));
    done.mark_posted(
        Published {
            remote_id: "r1".into(),
            url: None,
        },
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.commit_claim(&done));
    let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(
        (stored.status(), stored.external_id()),
        (PostStatus::Posted, Some("r1"))
    );
}

/// Scheduler: a batch of outcomes commits each under its own fence, in order.
pub async fn batched_commits_are_fenced_one_by_one(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    for i in 0..3 {
        ok!(store.insert_post(
            &post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(10 - i))),
            quota(100)
        ));
    }
    let mut claimed: Vec<Post> = ok!(store.claim_due(t0(), 10, Duration::seconds(30), "a"))
        .into_iter()
        .map(|c| c.post)
        .collect();
    assert_eq!(claimed.len(), 3);
    // The middle post's claim lapses and another worker takes it over.
    ok!(store.extend_lease(
        claimed[0].id(),
        claimed[0].lease_token(),
        t0() + Duration::minutes(5)
    ));
    ok!(store.extend_lease(
        claimed[2].id(),
        claimed[2].lease_token(),
        t0() + Duration::minutes(5)
    ));
    let taken = ok!(store.claim_due(t0() + Duration::seconds(31), 10, Duration::seconds(30), "b"));
    assert_eq!(
        taken.iter().map(|c| c.post.id()).collect::<Vec<_>>(),
        vec![claimed[1].id()]
    );
    for (n, p) in claimed.iter_mut().enumerate() {
        p.mark_posted(
            Published {
                remote_id: format!("r{n}"),
                url: None,
            },
            t0() + Duration::seconds(40),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    assert_eq!(ok!(store.commit_claims(&claimed)), vec![true, false, true]);

    let status = |p: &Post| {
        let store = store.clone();
        let id = p.id();
        async move { ok!(store.post(u.id, id)).map(|x| x.status()) }
    };
    assert_eq!(status(&claimed[0]).await, Some(PostStatus::Posted));
    assert_eq!(
        status(&claimed[1]).await,
        Some(PostStatus::Publishing),
        "b's claim stands"
    );
    assert_eq!(status(&claimed[2]).await, Some(PostStatus::Posted));
    assert!(ok!(store.commit_claims(&[])).is_empty());

    // The same claim twice in one batch: the first occurrence is written, the second fenced.
    ok!(store.insert_post(
        &post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1))),
        quota(100)
    ));
    let twice = ok!(store.claim_due(t0() + Duration::minutes(10), 1, Duration::seconds(30), "c"))
        .remove(0)
        .post;
    let mut retried = twice.clone();
    retried
        .retry_at(
            t0() + Duration::hours(1),
            "503",
            t0() + Duration::minutes(10),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut failed = twice;
    failed
        .fail_attempt("policy", t0() + Duration::minutes(10))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ok!(store.commit_claims(&[retried.clone(), failed])),
        vec![true, false]
    );
    assert_eq!(status(&retried).await, Some(PostStatus::Scheduled));
}

/// Scheduler: a worker waiting for work is woken when a post is scheduled (by anyone sharing the
/// store), and otherwise waits out its bound.
pub async fn waiting_workers_are_woken_by_a_newly_scheduled_post(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let quiet = store
        .wait_for_due_change(std::time::Duration::from_millis(200))
        .await;
    assert!(!quiet, "nothing changed");
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .wait_for_due_change(std::time::Duration::from_secs(10))
                .await
        })
    };
    // Give the waiter time to start waiting (a notification before that is lost by design).
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        ok!(store.insert_post(
            &post(u.id, acc.id, t0(), Some(t0() + Duration::hours(1))),
            quota(1_000)
        ));
        if waiter.is_finished() {
            break;
        }
    }
    let woken = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .unwrap_or_else(|_| panic!("the waiter was never woken"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(woken, "woken by the change, not by the bound");
}

/// Scheduler: concurrent claimers over many due posts claim each exactly once.
pub async fn concurrent_claimers_claim_each_post_once(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let total = 400;
    for i in 0..total {
        let p = post(
            u.id,
            acc.id,
            t0(),
            Some(t0() - Duration::seconds(i64::from(i) + 1)),
        );
        ok!(store.insert_post(
            &p,
            PostQuota {
                window: MonthWindow::containing(t0()),
                limit: Limit::Unlimited
            }
        ));
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_due(t0(), 25, Duration::seconds(60), &format!("w{w}"))
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.post.id()));
                }
            })
        })
        .collect();
    let mut all: Vec<PostId> = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, total as usize, "every post claimed");
    assert_eq!(all.len(), n, "no post claimed twice");
}

/// Queue: approval inserts every post within the quota and approves the item — all or nothing.
pub async fn approval_is_all_or_nothing(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let mut item = queue_item(u.id);
    ok!(store.insert_queue_item(&item));
    item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
    let posts: Vec<Post> = (0..3)
        .map(|_| {
            let mut p = post(u.id, acc.id, t0(), None);
            p.queue_item_id = Some(item.id);
            p
        })
        .collect();
    assert!(matches!(
        store.approve_queue_item(&item, &posts, quota(2)).await,
        Err(StoreError::LimitReached)
    ));
    assert_eq!(
        ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
        Some(QueueStatus::Pending)
    );
    let w = MonthWindow::containing(t0());
    assert_eq!(ok!(store.count_posts_created(u.id, w.start, w.end)), 0);
    ok!(store.approve_queue_item(&item, &posts, quota(3)));
    assert_eq!(
        ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
        Some(QueueStatus::Approved)
    );
    assert_eq!(ok!(store.count_posts_created(u.id, w.start, w.end)), 3);
    assert!(matches!(
        store.approve_queue_item(&item, &[], quota(10)).await,
        Err(StoreError::Stale)
    ));
}

/// Queue: the item becomes posted when its last post is committed as posted.
pub async fn queue_item_is_posted_when_all_its_posts_are(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let mut item = queue_item(u.id);
    ok!(store.insert_queue_item(&item));
    item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
    let posts: Vec<Post> = (0..2)
        .map(|i| {
            let mut p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(10 - i)));
            p.queue_item_id = Some(item.id);
            p
        })
        .collect();
    ok!(store.approve_queue_item(&item, &posts, quota(10)));
    for (n, claim) in ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w"))
        .into_iter()
        .enumerate()
    {
        let mut p = claim.post;
        p.mark_posted(
            Published {
                remote_id: format!("r{n}"),
                url: None,
            },
            t0(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        ok!(store.commit_claim(&p));
        let expected = if n == 0 {
            QueueStatus::Approved
        } else {
            QueueStatus::Posted
        };
        assert_eq!(
            ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
            Some(expected)
        );
    }
}

/// Queue: when the posts of one item are committed concurrently, the item still becomes posted
/// (each commit must see the other's post, not a snapshot from before it).
pub async fn concurrent_commits_of_an_items_posts_mark_it_posted(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    for round in 0..10 {
        let mut item = queue_item(u.id);
        ok!(store.insert_queue_item(&item));
        item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
        let posts: Vec<Post> = (0..3)
            .map(|_| {
                let mut p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1)));
                p.queue_item_id = Some(item.id);
                p
            })
            .collect();
        ok!(store.approve_queue_item(
            &item,
            &posts,
            PostQuota {
                window: MonthWindow::containing(t0()),
                limit: Limit::Unlimited
            }
        ));
        let claimed = ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w"));
        assert_eq!(claimed.len(), 3, "round {round}");
        let commits: Vec<_> = claimed
            .into_iter()
            .map(|claim| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut p = claim.post;
                    p.mark_posted(
                        Published {
                            remote_id: p.id().to_string(),
                            url: None,
                        },
                        t0(),
                    )
                    .unwrap_or_else(|e| panic!("{e}"));
                    store.commit_claim(&p).await
                })
            })
            .collect();
        for c in commits {
            c.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
            Some(QueueStatus::Posted),
            "round {round}"
        );
    }
}

/// Queue: reads and writes are scoped by owner and compare-and-set on status.
pub async fn queue_items_are_isolated_and_compare_and_set(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    let mut item = queue_item(a.id);
    ok!(store.insert_queue_item(&item));
    ok!(store.insert_queue_item(&queue_item(b.id)));
    assert!(ok!(store.queue_item(b.id, item.id)).is_none());
    assert_eq!(
        ok!(store.list_queue_items(a.id, None, PageRequest::default())).total,
        1
    );
    assert_eq!(
        ok!(store.list_queue_items(a.id, Some(QueueStatus::Rejected), PageRequest::default()))
            .total,
        0
    );
    assert!(matches!(
        store
            .delete_queue_item(b.id, item.id, &[QueueStatus::Pending])
            .await,
        Err(StoreError::NotFound)
    ));
    item.reject(Some("off-brand".into()), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store
            .update_queue_item(&item, &[QueueStatus::Approved])
            .await,
        Err(StoreError::Stale)
    ));
    ok!(store.update_queue_item(&item, &[QueueStatus::Pending]));
    let stored = ok!(store.queue_item(a.id, item.id)).unwrap_or_else(|| panic!("item"));
    assert_eq!(
        (stored.status, stored.rejection_reason.as_deref()),
        (QueueStatus::Rejected, Some("off-brand"))
    );
    assert_eq!(stored.product_data, item.product_data);
    ok!(store.delete_queue_item(a.id, item.id, &[QueueStatus::Rejected]));
    assert!(ok!(store.queue_item(a.id, item.id)).is_none());
}

/// Metrics: upsert replaces, reads are per owner, the overview sums and averages.
pub async fn metrics_upsert_and_overview(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(5)));
        ok!(store.insert_post(&p, quota(100)));
        ids.push(p.id());
    }
    for claim in ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w")) {
        let mut p = claim.post;
        p.mark_posted(
            Published {
                remote_id: p.id().to_string(),
                url: None,
            },
            t0(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        ok!(store.commit_claim(&p));
    }
    let counts = |impressions, likes| MetricCounts {
        impressions,
        reach: impressions / 2,
        likes,
        ..MetricCounts::default()
    };
    ok!(store.upsert_metrics(&PostMetrics::new(ids[0], u.id, counts(100, 1), t0())));
    ok!(store.upsert_metrics(&PostMetrics::new(ids[0], u.id, counts(100, 10), t0())));
    ok!(store.upsert_metrics(&PostMetrics::new(ids[1], u.id, counts(200, 10), t0())));
    assert!(matches!(
        store
            .upsert_metrics(&PostMetrics::new(ids[1], other.id, counts(1, 1), t0()))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        ok!(store.post_metrics(u.id, ids[0])).map(|m| m.counts.likes),
        Some(10)
    );
    assert!(ok!(store.post_metrics(other.id, ids[0])).is_none());
    let overview = ok!(store.analytics_overview(u.id));
    assert_eq!(
        (
            overview.totals.impressions,
            overview.totals.likes,
            overview.posts_published
        ),
        (300, 20, 2)
    );
    assert!(
        (overview.engagement_rate - 7.5).abs() < 1e-9,
        "mean of 10% and 5%"
    );
    assert_eq!(
        ok!(store.list_post_metrics(u.id, PageRequest::default())).total,
        2
    );
    assert_eq!(ok!(store.analytics_overview(other.id)).posts_published, 0);
    let stale = ok!(store.posts_needing_metrics(t0() + Duration::seconds(1), 10));
    assert_eq!(stale.len(), 2);
    assert!(ok!(store.posts_needing_metrics(t0(), 10)).is_empty());
}

/// Subscriptions: one per user, replaced by upsert, found by provider id.
pub async fn subscriptions_upsert_per_user(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let mut s = Subscription {
        id: id(),
        user_id: u.id,
        stripe_subscription_id: Some(format!("sub_{}", u.id.as_uuid().simple())),
        status: SubscriptionStatus::Active,
        plan: PlanTier::Pro,
        current_period_start: Some(t0()),
        current_period_end: Some(t0() + Duration::days(30)),
        cancel_at_period_end: false,
        last_event_rank: None,
        created_at: t0(),
        updated_at: t0(),
    };
    ok!(store.upsert_subscription(&s));
    s.status = SubscriptionStatus::PastDue;
    ok!(store.upsert_subscription(&s));
    assert_eq!(ok!(store.subscription(u.id)), Some(s.clone()));
    let provider_id = s.stripe_subscription_id.clone().unwrap_or_default();
    assert_eq!(
        ok!(store.subscription_by_provider_id(&provider_id)).map(|x| x.user_id),
        Some(u.id)
    );
    assert!(ok!(store.subscription_by_provider_id("sub_nope")).is_none());
}

/// API keys: found by hash only while active; revocation and listing are per owner.
pub async fn api_keys_lookup_revoke_and_isolate(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    let key = ApiKey {
        id: id(),
        user_id: a.id,
        name: ApiKeyName::parse("ci").unwrap_or_else(|e| panic!("{e}")),
        prefix: "po_live_abcd".into(),
        key_hash: format!("{:064x}", a.id.as_uuid().as_u128()),
        scopes: vec![Scope::PostsRead],
        is_active: true,
        last_used_at: None,
        created_at: t0(),
    };
    ok!(store.insert_api_key(&key, 25));
    let mut twin = key.clone();
    twin.id = id();
    assert!(matches!(
        store.insert_api_key(&twin, 25).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        ok!(store.api_key_by_hash(&key.key_hash)).map(|k| k.id),
        Some(key.id)
    );
    ok!(store.touch_api_key(key.id, t0() + Duration::minutes(1)));
    let listed = ok!(store.list_api_keys(a.id, PageRequest::default()));
    assert_eq!(
        listed.items[0].last_used_at,
        Some(t0() + Duration::minutes(1))
    );
    assert_eq!(listed.items[0].scopes, vec![Scope::PostsRead]);
    assert_eq!(
        ok!(store.list_api_keys(b.id, PageRequest::default())).total,
        0
    );
    assert!(!ok!(store.revoke_api_key(b.id, key.id)));
    assert!(ok!(store.api_key_by_hash(&key.key_hash)).is_some());
    assert!(ok!(store.revoke_api_key(a.id, key.id)));
    assert!(ok!(store.api_key_by_hash(&key.key_hash)).is_none());
}

fn refresh_token(user: UserId, family: crate::id::TokenFamilyId, hash: &str) -> RefreshToken {
    RefreshToken {
        id: id(),
        user_id: user,
        family_id: family,
        token_hash: hash.to_owned(),
        created_at: t0(),
        expires_at: t0() + Duration::days(7),
        used_at: None,
        revoked_at: None,
    }
}

fn successor(hash: &str) -> Successor {
    Successor {
        id: id(),
        token_hash: hash.to_owned(),
        expires_at: t0() + Duration::days(7),
    }
}

fn api_key(owner: UserId, n: u32) -> ApiKey {
    ApiKey {
        id: id(),
        user_id: owner,
        name: ApiKeyName::parse("ci").unwrap_or_else(|e| panic!("{e}")),
        prefix: "po_live_abcd".into(),
        key_hash: format!("{:056x}{n:08x}", owner.as_uuid().as_u128()),
        scopes: vec![Scope::PostsRead],
        is_active: true,
        last_used_at: None,
        created_at: t0(),
    }
}

/// API keys: at most `max_active` active keys per owner, even under concurrent creates; a
/// revoked key frees its place; other owners are not counted.
pub async fn api_keys_are_capped_per_owner_even_concurrently(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    for n in 0..4 {
        ok!(store.insert_api_key(&api_key(a.id, n), 5));
    }
    let tasks: Vec<_> = (10..30)
        .map(|n| {
            let store = store.clone();
            let key = api_key(a.id, n);
            tokio::spawn(async move { store.insert_api_key(&key, 5).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(()) => created += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(created, 1, "one place was left");
    assert!(matches!(
        store.insert_api_key(&api_key(a.id, 99), 5).await,
        Err(StoreError::LimitReached)
    ));
    ok!(store.insert_api_key(&api_key(b.id, 0), 5));
    let first = ok!(store.list_api_keys(a.id, PageRequest::default())).items[0].id;
    assert!(ok!(store.revoke_api_key(a.id, first)));
    ok!(store.insert_api_key(&api_key(a.id, 98), 5));
}

/// Refresh tokens: rotation stores the successor in the family; a reused token revokes the whole
/// family, successors included; expiry and logout are enforced.
pub async fn refresh_tokens_rotate_with_reuse_detection(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let family = id();
    let salt = u.id.as_uuid().simple().to_string();
    let first = refresh_token(u.id, family, &format!("h1{salt}"));
    ok!(store.insert_refresh_token(&first));
    let second = match ok!(store.rotate_refresh_token(
        &first.token_hash,
        &successor(&format!("h2{salt}")),
        t0()
    )) {
        RefreshUse::Fresh(next) => next,
        other => panic!("expected a fresh rotation, got {other:?}"),
    };
    assert_eq!((second.user_id, second.family_id), (u.id, family));
    assert_eq!(
        ok!(store.rotate_refresh_token(&first.token_hash, &successor(&format!("h3{salt}")), t0())),
        RefreshUse::Reused { family_id: family }
    );
    assert_eq!(
        ok!(store.rotate_refresh_token(&second.token_hash, &successor(&format!("h4{salt}")), t0())),
        RefreshUse::Invalid,
        "the successor died with its family"
    );
    let lone = refresh_token(u.id, id(), &format!("h5{salt}"));
    ok!(store.insert_refresh_token(&lone));
    assert_eq!(
        ok!(store.rotate_refresh_token(
            &lone.token_hash,
            &successor(&format!("h6{salt}")),
            t0() + Duration::days(8)
        )),
        RefreshUse::Invalid
    );
    assert_eq!(
        ok!(store.rotate_refresh_token("unknown", &successor(&format!("h7{salt}")), t0())),
        RefreshUse::Invalid
    );
    let logout = refresh_token(u.id, id(), &format!("h8{salt}"));
    ok!(store.insert_refresh_token(&logout));
    ok!(store.revoke_token_family(logout.family_id, t0()));
    assert_eq!(
        ok!(store.rotate_refresh_token(&logout.token_hash, &successor(&format!("h9{salt}")), t0())),
        RefreshUse::Invalid
    );
    let everywhere = refresh_token(u.id, id(), &format!("ha{salt}"));
    ok!(store.insert_refresh_token(&everywhere));
    ok!(store.revoke_user_refresh_tokens(u.id, t0()));
    assert_eq!(
        ok!(store.rotate_refresh_token(
            &everywhere.token_hash,
            &successor(&format!("hb{salt}")),
            t0()
        )),
        RefreshUse::Invalid
    );
}

/// Refresh tokens: ten concurrent rotations of one token → exactly one is fresh.
pub async fn concurrent_refreshes_succeed_once(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let token = refresh_token(u.id, id(), &format!("c{}", u.id.as_uuid().simple()));
    ok!(store.insert_refresh_token(&token));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let hash = token.token_hash.clone();
            let next = successor(&format!("{hash}-{i}"));
            tokio::spawn(async move { store.rotate_refresh_token(&hash, &next, t0()).await })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        if matches!(
            t.await.unwrap_or_else(|e| panic!("{e}")),
            Ok(RefreshUse::Fresh(_))
        ) {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

/// Webhook events: claimed once, in progress while the claim lives, done once finished; a
/// released or lapsed claim is claimable again; sources are separate.
pub async fn webhook_events_are_claimed_once_and_finished(store: Arc<dyn Store>) {
    use crate::store::WebhookClaim::{Claimed, Done, InProgress};
    let event = format!("evt_{}", Uuid::new_v4().simple());
    let lease = t0() + Duration::seconds(60);
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, t0(), lease)),
        Claimed
    );
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, t0(), lease)),
        InProgress
    );
    assert_eq!(
        ok!(store.claim_webhook_event("platform", &event, t0(), lease)),
        Claimed
    );
    // A failed application gives the claim up: the retry claims it at once.
    ok!(store.release_webhook_event("platform", &event));
    assert_eq!(
        ok!(store.claim_webhook_event("platform", &event, t0(), lease)),
        Claimed
    );
    // A holder that died: the claim lapses, and the next delivery takes it over.
    let later = lease + Duration::seconds(1);
    let second_lease = later + Duration::seconds(60);
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, later, second_lease)),
        Claimed
    );
    ok!(store.finish_webhook_event("stripe", &event, later));
    ok!(store.release_webhook_event("stripe", &event));
    let much_later = later + Duration::days(30);
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, much_later, much_later)),
        Done
    );
}

/// Twenty concurrent deliveries of one event: exactly one claims it.
pub async fn concurrent_deliveries_of_an_event_claim_it_once(store: Arc<dyn Store>) {
    let event = format!("evt_{}", Uuid::new_v4().simple());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let event = event.clone();
            tokio::spawn(async move {
                store
                    .claim_webhook_event("stripe", &event, t0(), t0() + Duration::seconds(60))
                    .await
            })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(crate::store::WebhookClaim::Claimed) => claimed += 1,
            Ok(crate::store::WebhookClaim::InProgress) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}

/// A subscription write ranked below the stored rank (an older billing event) writes nothing;
/// an unranked write keeps the stored rank.
pub async fn subscription_writes_ranked_below_the_last_event_are_refused(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let mut s = Subscription {
        id: id(),
        user_id: u.id,
        stripe_subscription_id: Some(format!("sub_r{}", u.id.as_uuid().simple())),
        status: SubscriptionStatus::Canceled,
        plan: PlanTier::Pro,
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        last_event_rank: Some(100),
        created_at: t0(),
        updated_at: t0(),
    };
    assert!(ok!(store.upsert_subscription(&s)));
    let mut older = s.clone();
    older.status = SubscriptionStatus::Active;
    older.last_event_rank = Some(99);
    assert!(!ok!(store.upsert_subscription(&older)));
    assert_eq!(ok!(store.subscription(u.id)), Some(s.clone()));
    s.last_event_rank = None;
    s.cancel_at_period_end = true;
    assert!(ok!(store.upsert_subscription(&s)));
    let stored = ok!(store.subscription(u.id)).unwrap_or_else(|| panic!("missing"));
    assert_eq!(stored.last_event_rank, Some(100));
    assert!(stored.cancel_at_period_end);
    let mut newer = stored.clone();
    newer.status = SubscriptionStatus::Active;
    newer.last_event_rank = Some(100);
    assert!(
        ok!(store.upsert_subscription(&newer)),
        "an equal rank applies"
    );
}

/// Ending sessions moves the epoch on by one per change; other fields stay.
pub async fn ending_sessions_moves_the_epoch_on(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let end = UserChange {
        end_sessions: true,
        updated_at: t0(),
        ..UserChange::default()
    };
    assert_eq!(ok!(store.change_user(u.id, &end)).session_epoch, 1);
    assert_eq!(ok!(store.change_user(u.id, &end)).session_epoch, 2);
    let narrow = UserChange {
        stripe_customer_id: Some("cus_1".into()),
        updated_at: t0(),
        ..UserChange::default()
    };
    let after = ok!(store.change_user(u.id, &narrow));
    assert_eq!(after.session_epoch, 2);
    assert_eq!(ok!(store.user(u.id)).map(|x| x.session_epoch), Some(2));
}

/// Logout revokes the family of one of the owner's tokens, and nobody else's.
pub async fn logout_revokes_the_family_of_the_owners_token_only(store: Arc<dyn Store>) {
    let a = user();
    let b = user();
    ok!(store.insert_user(&a));
    ok!(store.insert_user(&b));
    let family = id();
    let first = refresh_token(a.id, family, &format!("l1{}", a.id.as_uuid().simple()));
    let other_session = refresh_token(a.id, id(), &format!("l2{}", a.id.as_uuid().simple()));
    ok!(store.insert_refresh_token(&first));
    ok!(store.insert_refresh_token(&other_session));
    assert!(
        !ok!(store.revoke_family_of(b.id, &first.token_hash, t0())),
        "not b's token"
    );
    let next = successor(&format!("l3{}", a.id.as_uuid().simple()));
    assert!(matches!(
        ok!(store.rotate_refresh_token(&first.token_hash, &next, t0())),
        RefreshUse::Fresh(_)
    ));
    assert!(ok!(store.revoke_family_of(a.id, &first.token_hash, t0())));
    let after = successor(&format!("l4{}", a.id.as_uuid().simple()));
    assert!(
        matches!(
            ok!(store.rotate_refresh_token(&next.token_hash, &after, t0())),
            RefreshUse::Invalid | RefreshUse::Reused { .. }
        ),
        "the successor died with its family"
    );
    let kept = successor(&format!("l5{}", a.id.as_uuid().simple()));
    assert!(
        matches!(
            ok!(store.rotate_refresh_token(&other_session.token_hash, &kept, t0())),
            RefreshUse::Fresh(_)
        ),
        "the other session lives"
    );
}

/// The ledger: attempts are kept in order and read per owner.
pub async fn attempts_are_kept_per_post_and_owner(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let p = post(u.id, acc.id, t0(), None);
    ok!(store.insert_post(&p, quota(100)));
    for (n, outcome) in [AttemptOutcome::Retry, AttemptOutcome::Posted]
        .into_iter()
        .enumerate()
    {
        let n = u32::try_from(n).unwrap_or_default();
        ok!(store.record_attempt(&PublicationAttempt {
            id: AttemptId::from(Uuid::new_v4()),
            post_id: p.id(),
            user_id: u.id,
            attempt: n + 1,
            worker: "w".into(),
            lease_token: i64::from(n) + 1,
            started_at: t0() + Duration::seconds(i64::from(n)),
            finished_at: t0() + Duration::seconds(i64::from(n)),
            outcome,
            remote_id: None,
            error: None,
        }));
    }
    let attempts = ok!(store.attempts(u.id, p.id()));
    assert_eq!(
        attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(),
        vec![AttemptOutcome::Retry, AttemptOutcome::Posted]
    );
    assert!(ok!(store.attempts(other.id, p.id())).is_empty());
    ok!(store.ping());
}

/// Unknown ids are absent, never errors.
pub async fn unknown_ids_read_as_absent(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    assert!(ok!(store.post(u.id, id())).is_none());
    assert!(ok!(store.account(u.id, id())).is_none());
    assert!(ok!(store.queue_item(u.id, QueueItemId::from(Uuid::new_v4()))).is_none());
    assert!(ok!(store.subscription(u.id)).is_none());
    assert!(!ok!(store.revoke_api_key(u.id, id())));
}

/// An engine over `store` on a manual clock at [`t0`], with a simulated Facebook publisher the
/// scenario controls, and a merchant with a connected Facebook account.
async fn scheduler_fixture(
    store: Arc<dyn Store>,
) -> (
    crate::Engine,
    Arc<crate::clock::ManualClock>,
    Arc<crate::publish::SimulatedPublisher>,
    User,
    SocialAccount,
) {
    let clock = Arc::new(crate::clock::ManualClock::new(t0()));
    let publisher = Arc::new(crate::publish::SimulatedPublisher::new(Platform::Facebook));
    let engine = crate::Engine::builder()
        .simulated()
        .store(store.clone())
        .clock(clock.clone())
        .publisher(Platform::Facebook, publisher.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let (u, acc) = seeded(&store).await;
    // The fixture's sealed token is a stand-in no cipher opens: publish without one.
    ok!(store.set_account_tokens(u.id, acc.id, None, None));
    (engine, clock, publisher, u, acc)
}

/// Scheduler, through the dispatcher: every outcome of a claim leaves the post as the state
/// machine says — posted, retried with backoff, snoozed by a rate limit, failed on rejection or
/// expired authorisation (which also flags the account), retried after a timeout — with one
/// ledger row per attempt.
pub async fn every_claim_outcome_is_committed_as_the_state_machine_says(store: Arc<dyn Store>) {
    use crate::publish::{AttemptOutcome, DispatcherConfig, PublishError};
    let (engine, clock, publisher, u, acc) = scheduler_fixture(store.clone()).await;
    let config = DispatcherConfig {
        publish_timeout: Duration::milliseconds(200),
        ..DispatcherConfig::default()
    };
    let worker = engine
        .dispatcher("w", config)
        .unwrap_or_else(|e| panic!("{e}"));
    let due = |n: i64| post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(n)));
    let cases: Vec<(Option<PublishError>, bool, PostStatus, AttemptOutcome)> = vec![
        (None, false, PostStatus::Posted, AttemptOutcome::Posted),
        (
            Some(PublishError::Retryable {
                reason: "503".into(),
                after: None,
            }),
            false,
            PostStatus::Scheduled,
            AttemptOutcome::Retry,
        ),
        (
            Some(PublishError::RateLimited {
                until: t0() + Duration::minutes(15),
            }),
            false,
            PostStatus::Scheduled,
            AttemptOutcome::RateLimited,
        ),
        (
            Some(PublishError::Rejected {
                reason: "policy".into(),
            }),
            false,
            PostStatus::Failed,
            AttemptOutcome::Rejected,
        ),
        (None, true, PostStatus::Scheduled, AttemptOutcome::TimedOut),
        (
            Some(PublishError::AuthExpired),
            false,
            PostStatus::Failed,
            AttemptOutcome::AuthExpired,
        ),
    ];
    for (n, (fault, slow, status, outcome)) in cases.into_iter().enumerate() {
        let p = due(i64::try_from(n).unwrap_or_default() + 1);
        ok!(store.insert_post(&p, quota(100)));
        if let Some(fault) = fault {
            publisher.fail_next(fault);
        }
        publisher.set_latency(if slow {
            std::time::Duration::from_millis(500)
        } else {
            std::time::Duration::ZERO
        });
        let tick = worker.run_once().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tick.claimed, 1, "case {n}");
        let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
        assert_eq!(
            stored.status(),
            status,
            "case {n}: {:?}",
            stored.error_message()
        );
        let attempts = ok!(store.attempts(u.id, p.id()));
        assert_eq!(
            attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(),
            vec![outcome],
            "case {n}"
        );
        match outcome {
            AttemptOutcome::Posted => {
                assert!(stored.external_id().is_some() && stored.posted_at().is_some())
            }
            AttemptOutcome::Retry | AttemptOutcome::TimedOut => {
                assert_eq!(stored.attempts(), 1);
                assert!(
                    stored
                        .next_attempt_at()
                        .is_some_and(|at| at > clock_now(&clock))
                );
            }
            AttemptOutcome::RateLimited => {
                assert_eq!(
                    (stored.attempts(), stored.next_attempt_at()),
                    (0, Some(t0() + Duration::minutes(15)))
                );
            }
            _ => assert!(stored.error_message().is_some()),
        }
    }
    publisher.set_latency(std::time::Duration::ZERO);
    assert!(
        ok!(store.account(u.id, acc.id)).is_some_and(|a| a.needs_reconnect),
        "auth expiry flags the account"
    );
    let _ = clock;
}

fn clock_now(clock: &crate::clock::ManualClock) -> DateTime<Utc> {
    crate::clock::Clock::now(clock)
}

/// Scheduler, through the dispatcher: a claim that lapsed after the platform published (a
/// crash between the call and the commit) is reconciled by the rescuing worker through
/// `lookup` — posted, and never published a second time; the dead worker's late commit is
/// refused.
pub async fn a_lapsed_claim_is_reconciled_without_publishing_twice(store: Arc<dyn Store>) {
    use crate::publish::{AttemptOutcome, DispatcherConfig};
    let (engine, clock, publisher, u, acc) = scheduler_fixture(store.clone()).await;
    let p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1)));
    ok!(store.insert_post(&p, quota(100)));
    // A worker claims, the platform publishes, and the worker dies before committing.
    let mut dead = ok!(store.claim_due(t0(), 10, Duration::seconds(120), "dead"))
        .remove(0)
        .post;
    publisher.preexisting(&p.idempotency_key());
    clock.advance(Duration::seconds(121));
    let rescuer = engine
        .dispatcher("rescuer", DispatcherConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));

    let tick = rescuer.run_once().await.unwrap_or_else(|e| panic!("{e}"));

    assert_eq!((tick.claimed, tick.reconciled, tick.posted), (1, 1, 0));
    assert_eq!(
        publisher.published_count(&p.idempotency_key()),
        1,
        "never published twice"
    );
    assert!(publisher.calls().is_empty(), "no publish call at all");
    let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(stored.status(), PostStatus::Posted);
    let outcomes: Vec<_> = ok!(store.attempts(u.id, p.id()))
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, vec![AttemptOutcome::Reconciled]);
    dead.fail("the dead worker's late view", clock_now(&clock))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.commit_claim(&dead).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(
        ok!(store.post(u.id, p.id())).map(|x| x.status()),
        Some(PostStatus::Posted)
    );
}

/// Generates one `#[tokio::test]` per storage contract, each on a store made by `$make` (an
/// async function returning `Arc<dyn Store>`; make a fresh store — or database — per call).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:path) => {
        $crate::store_conformance_tests!(@each $make;
            users_are_unique_by_email_and_found_every_way,
            user_changes_are_narrow_and_links_are_not_stolen,
            connect_respects_the_limit_and_reconnect_reactivates,
            accounts_are_isolated_by_owner,
            concurrent_connects_never_exceed_the_limit,
            disconnect_beyond_keeps_the_oldest,
            needs_reconnect_fails_scheduled_posts_of_that_account,
            post_quota_counts_the_current_month_only,
            concurrent_creates_at_the_quota_edge_give_exactly_one,
            post_lists_filter_paginate_and_isolate,
            post_writes_are_compare_and_set,
            post_writes_after_an_intervening_claim_are_stale,
            claim_takes_due_posts_oldest_first,
            expired_leases_are_rescued_and_stale_commits_fenced,
            concurrent_claimers_claim_each_post_once,
            batched_commits_are_fenced_one_by_one,
            waiting_workers_are_woken_by_a_newly_scheduled_post,
            every_claim_outcome_is_committed_as_the_state_machine_says,
            a_lapsed_claim_is_reconciled_without_publishing_twice,
            approval_is_all_or_nothing,
            queue_item_is_posted_when_all_its_posts_are,
            concurrent_commits_of_an_items_posts_mark_it_posted,
            queue_items_are_isolated_and_compare_and_set,
            metrics_upsert_and_overview,
            subscriptions_upsert_per_user,
            api_keys_lookup_revoke_and_isolate,
            api_keys_are_capped_per_owner_even_concurrently,
            refresh_tokens_rotate_with_reuse_detection,
            concurrent_refreshes_succeed_once,
            webhook_events_are_claimed_once_and_finished,
            concurrent_deliveries_of_an_event_claim_it_once,
            subscription_writes_ranked_below_the_last_event_are_refused,
            ending_sessions_moves_the_epoch_on,
            logout_revokes_the_family_of_the_owners_token_only,
            attempts_are_kept_per_post_and_owner,
            unknown_ids_read_as_absent,
        );
    };
    (@each $make:path; $($contract:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $contract() {
                $crate::testing::$contract($make().await).await;
            }
        )+
    };
}
