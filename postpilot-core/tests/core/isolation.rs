//! User isolation: another user's object is always "not found" — never forbidden, never
//! changed, never listed — and no sequence of operations lets one user reach the other's objects
//! or exceed the free plan.

use postpilot_core::post::Duplicates;
use std::fmt::Debug;

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::account::SocialAccount;
use postpilot_core::analytics::PostMetrics;
use postpilot_core::api_key::ApiKey;
use postpilot_core::page::PageRequest;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostFilter, PostPatch};
use postpilot_core::publish::DispatcherConfig;
use postpilot_core::queue::{ApproveItem, Placement, QueueItem, QueueItemPatch};
use postpilot_core::store::AttemptStore;
use postpilot_core::user::User;
use proptest::prelude::*;

use crate::test_engine::{self, TestEngine};

/// Two pro merchants, A and B, each with an account, posts (one published, with metrics),
/// queue items and an API key.
struct World {
    e: TestEngine,
    a: User,
    b: User,
    a_account: SocialAccount,
    b_account: SocialAccount,
    a_posted: Post,
    a_draft: Post,
    a_scheduled: Post,
    a_pending: QueueItem,
    a_rejected: QueueItem,
    b_item: QueueItem,
    a_key: ApiKey,
}

/// Everything A owns, as A sees it.
#[derive(Debug, PartialEq)]
struct Holdings {
    accounts: Vec<SocialAccount>,
    posts: Vec<Post>,
    queue: Vec<QueueItem>,
    keys: Vec<ApiKey>,
    metrics: Vec<PostMetrics>,
}

fn all() -> PageRequest {
    PageRequest::new(Some(1), Some(100)).unwrap()
}

async fn holdings(e: &TestEngine, user: &User) -> Holdings {
    Holdings {
        accounts: e.accounts().list(user.id(), all()).await.unwrap().items,
        posts: e
            .posts()
            .list(user.id(), PostFilter::default(), all())
            .await
            .unwrap()
            .items,
        queue: e.queue().list(user.id(), None, all()).await.unwrap().items,
        keys: e.api_keys().list(user.id(), all()).await.unwrap().items,
        metrics: e.analytics().posts(user.id(), all()).await.unwrap().items,
    }
}

async fn world() -> World {
    let e = TestEngine::new();
    let a = e.pro_user("a@example.com").await;
    let b = e.pro_user("b@example.com").await;
    let a_account = e.connect(&a, Platform::Facebook, "a-fb").await;
    let b_account = e.connect(&b, Platform::Facebook, "b-fb").await;
    let at = e.now() + Duration::minutes(1);
    let a_posted = e.post(&a, &a_account, Some(at)).await;
    e.post(&b, &b_account, Some(at)).await;
    e.clock.set(at);
    e.tick().await;
    e.dispatcher("metrics", DispatcherConfig::default())
        .unwrap()
        .refresh_metrics(Duration::hours(1), 100)
        .await
        .unwrap();
    let a_posted = e.posts().get(a.id(), a_posted.id()).await.unwrap();
    let a_draft = e.post(&a, &a_account, None).await;
    let a_scheduled = e
        .post(&a, &a_account, Some(e.now() + Duration::days(1)))
        .await;
    e.post(&b, &b_account, Some(e.now() + Duration::days(1)))
        .await;
    let a_pending = e.queue_item(&a, "A's lamp", &[Platform::Facebook]).await;
    let a_rejected = e.queue_item(&a, "A's chair", &[Platform::Facebook]).await;
    let a_rejected = e
        .queue()
        .reject(a.id(), a_rejected.id(), None)
        .await
        .unwrap();
    let b_item = e.queue_item(&b, "B's lamp", &[Platform::Facebook]).await;
    let a_key = e
        .api_keys()
        .create(a.id(), "A's key", &[])
        .await
        .unwrap()
        .key;
    e.api_keys().create(b.id(), "B's key", &[]).await.unwrap();
    World {
        e,
        a,
        b,
        a_account,
        b_account,
        a_posted,
        a_draft,
        a_scheduled,
        a_pending,
        a_rejected,
        b_item,
        a_key,
    }
}

impl World {
    async fn holdings_of_a(&self) -> Holdings {
        holdings(&self.e, &self.a).await
    }
}

fn assert_not_found<T: Debug>(result: Result<T, Error>) {
    assert!(matches!(result, Err(Error::NotFound(_))), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_cannot_read_another_users_account() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    assert_not_found(w.e.accounts().get(w.b.id(), w.a_account.id()).await);

    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_disconnect_another_users_account() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    assert_not_found(w.e.accounts().disconnect(w.b.id(), w.a_account.id()).await);

    assert_eq!(w.holdings_of_a().await, before);
    assert!(
        w.e.accounts()
            .get(w.a.id(), w.a_account.id())
            .await
            .unwrap()
            .is_connected()
    );
}

#[tokio::test]
async fn a_user_cannot_open_another_users_access_token() {
    let w = world().await;

    assert_not_found(
        w.e.accounts()
            .access_token(w.b.id(), w.a_account.id())
            .await,
    );
}

#[tokio::test]
async fn connecting_the_same_external_account_as_another_user_does_not_take_over_their_record() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    let bs = w.e.connect(&w.b, Platform::Facebook, "a-fb").await;

    assert_ne!(bs.id(), w.a_account.id());
    assert_eq!(bs.user_id(), w.b.id());
    assert_eq!(w.holdings_of_a().await, before);
}

// ---------------------------------------------------------------------------------------------
// Posts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_cannot_read_another_users_post() {
    let w = world().await;

    assert_not_found(w.e.posts().get(w.b.id(), w.a_scheduled.id()).await);
}

#[tokio::test]
async fn a_user_cannot_update_another_users_post() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    let result =
        w.e.posts()
            .update(
                w.b.id(),
                w.a_scheduled.id(),
                PostPatch {
                    content: Some("hijacked".into()),
                    scheduled_for: Some(None),
                    ..PostPatch::default()
                },
            )
            .await;

    assert_not_found(result);
    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_delete_another_users_post() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    assert_not_found(w.e.posts().delete(w.b.id(), w.a_draft.id()).await);

    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_schedule_another_users_post() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    let result =
        w.e.posts()
            .schedule(
                w.b.id(),
                w.a_draft.id(),
                w.e.now() + Duration::hours(3),
                Duplicates::Refuse,
            )
            .await;

    assert_not_found(result);
    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_create_a_post_on_another_users_account() {
    let w = world().await;
    let before = w.holdings_of_a().await;
    let b_before = holdings(&w.e, &w.b).await;

    let result =
        w.e.posts()
            .create(w.b.id(), test_engine::create_post(&w.a_account, None))
            .await;

    assert_not_found(result);
    assert_eq!(w.holdings_of_a().await, before);
    assert_eq!(holdings(&w.e, &w.b).await, b_before);
}

// ---------------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_cannot_read_another_users_queue_item() {
    let w = world().await;

    assert_not_found(w.e.queue().get(w.b.id(), w.a_pending.id()).await);
}

#[tokio::test]
async fn a_user_cannot_update_another_users_queue_item() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    let result =
        w.e.queue()
            .update(
                w.b.id(),
                w.a_pending.id(),
                QueueItemPatch {
                    ai_generated_content: Some("hijacked".into()),
                    ..QueueItemPatch::default()
                },
            )
            .await;

    assert_not_found(result);
    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_delete_another_users_queue_item() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    assert_not_found(w.e.queue().delete(w.b.id(), w.a_pending.id()).await);

    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_approve_another_users_queue_item() {
    let w = world().await;
    let before = w.holdings_of_a().await;
    let b_before = holdings(&w.e, &w.b).await;

    let result =
        w.e.queue()
            .approve(
                w.b.id(),
                w.a_pending.id(),
                ApproveItem {
                    account_ids: vec![w.b_account.id()],
                    placement: Placement::Draft,
                },
            )
            .await;

    assert_not_found(result);
    assert_eq!(w.holdings_of_a().await, before);
    assert_eq!(holdings(&w.e, &w.b).await, b_before);
}

#[tokio::test]
async fn a_user_cannot_reject_another_users_queue_item() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    assert_not_found(w.e.queue().reject(w.b.id(), w.a_pending.id(), None).await);

    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_regenerate_another_users_rejected_queue_item() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    assert_not_found(
        w.e.queue()
            .regenerate(w.b.id(), w.a_rejected.id(), None)
            .await,
    );

    assert_eq!(w.holdings_of_a().await, before);
}

#[tokio::test]
async fn a_user_cannot_approve_their_own_item_onto_another_users_account() {
    let w = world().await;
    let before = w.holdings_of_a().await;
    let b_before = holdings(&w.e, &w.b).await;

    let result =
        w.e.queue()
            .approve(
                w.b.id(),
                w.b_item.id(),
                ApproveItem {
                    account_ids: vec![w.a_account.id()],
                    placement: Placement::At(w.e.now() + Duration::hours(1)),
                },
            )
            .await;

    assert_not_found(result);
    assert_eq!(w.holdings_of_a().await, before);
    assert_eq!(holdings(&w.e, &w.b).await, b_before);
}

// ---------------------------------------------------------------------------------------------
// Analytics and API keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_cannot_read_the_metrics_of_another_users_post() {
    let w = world().await;

    assert_not_found(w.e.analytics().post(w.b.id(), w.a_posted.id()).await);
}

#[tokio::test]
async fn the_publication_ledger_of_another_users_post_reads_empty() {
    let w = world().await;

    let attempts = w.e.store.attempts(w.b.id(), w.a_posted.id()).await.unwrap();

    assert!(attempts.is_empty());
    assert_eq!(
        w.e.store
            .attempts(w.a.id(), w.a_posted.id())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_user_cannot_revoke_another_users_api_key() {
    let w = world().await;
    let before = w.holdings_of_a().await;

    assert_not_found(w.e.api_keys().revoke(w.b.id(), w.a_key.id()).await);

    assert_eq!(w.holdings_of_a().await, before);
    assert!(before.keys.iter().all(|k| k.is_active()));
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_account_list_shows_only_the_users_own_accounts() {
    let w = world().await;

    let listed = w.e.accounts().list(w.b.id(), all()).await.unwrap();

    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].id(), w.b_account.id());
}

#[tokio::test]
async fn the_post_list_shows_only_the_users_own_posts() {
    let w = world().await;

    let listed =
        w.e.posts()
            .list(w.b.id(), PostFilter::default(), all())
            .await
            .unwrap();

    assert_eq!(listed.total, 2);
    assert!(listed.items.iter().all(|p| p.user_id() == w.b.id()));
}

#[tokio::test]
async fn the_queue_shows_only_the_users_own_items() {
    let w = world().await;

    let listed = w.e.queue().list(w.b.id(), None, all()).await.unwrap();

    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].id(), w.b_item.id());
}

#[tokio::test]
async fn the_api_key_list_shows_only_the_users_own_keys() {
    let w = world().await;

    let listed = w.e.api_keys().list(w.b.id(), all()).await.unwrap();

    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].user_id(), w.b.id());
    assert_ne!(listed.items[0].id(), w.a_key.id());
}

#[tokio::test]
async fn the_post_metrics_list_and_overview_cover_only_the_users_own_posts() {
    let w = world().await;

    let listed = w.e.analytics().posts(w.b.id(), all()).await.unwrap();
    let overview = w.e.analytics().overview(w.b.id()).await.unwrap();

    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].user_id, w.b.id());
    assert_eq!(overview.posts_published, 1);
    assert_eq!(overview.totals, listed.items[0].counts);
}

#[tokio::test]
async fn the_calendar_shows_only_the_users_own_posts() {
    let w = world().await;
    let today = w.e.now().date_naive();

    let calendar =
        w.e.posts()
            .calendar(
                w.b.id(),
                today,
                today + Duration::days(7),
                chrono_tz::Tz::UTC,
            )
            .await
            .unwrap();

    let posts: Vec<_> = calendar.values().flatten().collect();
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().all(|p| p.user_id() == w.b.id()));
    let a_calendar =
        w.e.posts()
            .calendar(
                w.a.id(),
                today,
                today + Duration::days(7),
                chrono_tz::Tz::UTC,
            )
            .await
            .unwrap();
    assert_eq!(a_calendar.values().flatten().count(), 2);
}

#[tokio::test]
async fn usage_counts_only_the_users_own_posts_and_accounts() {
    let w = world().await;

    let usage = w.e.usage().usage(w.b.id()).await.unwrap();

    assert_eq!(usage.posts_this_month, 2);
    assert_eq!(usage.connected_accounts, 1);
}

// ---------------------------------------------------------------------------------------------
// Any sequence of operations by two free users
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Connect {
        actor: usize,
        platform: Platform,
        external: u8,
    },
    Disconnect {
        actor: usize,
        pick: usize,
    },
    /// A post on an account picked among all accounts, or (`own`) among the actor's connected
    /// ones, so the quota edge is reached often.
    CreatePost {
        actor: usize,
        pick: usize,
        own: bool,
        scheduled: bool,
    },
    Schedule {
        actor: usize,
        pick: usize,
    },
    Update {
        actor: usize,
        pick: usize,
    },
    Delete {
        actor: usize,
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let actor = 0..2_usize;
    let pick = 0..64_usize;
    prop_oneof![
        2 => (actor.clone(), proptest::sample::select(Platform::ALL.to_vec()), 0..2_u8)
            .prop_map(|(actor, platform, external)| Op::Connect { actor, platform, external }),
        1 => (actor.clone(), pick.clone()).prop_map(|(actor, pick)| Op::Disconnect { actor, pick }),
        6 => (actor.clone(), pick.clone(), any::<bool>(), any::<bool>()).prop_map(
            |(actor, pick, own, scheduled)| Op::CreatePost { actor, pick, own, scheduled }
        ),
        2 => (actor.clone(), pick.clone()).prop_map(|(actor, pick)| Op::Schedule { actor, pick }),
        2 => (actor.clone(), pick.clone()).prop_map(|(actor, pick)| Op::Update { actor, pick }),
        1 => (actor, pick).prop_map(|(actor, pick)| Op::Delete { actor, pick }),
    ]
}

/// What the test expects the engine to hold.
struct ModelAccount {
    id: postpilot_core::id::AccountId,
    owner: usize,
    platform: Platform,
    external: u8,
    connected: bool,
}

struct ModelPost {
    id: postpilot_core::id::PostId,
    owner: usize,
    /// Index of its account in `Model::accounts`.
    account: usize,
    deleted: bool,
}

#[derive(Default)]
struct Model {
    accounts: Vec<ModelAccount>,
    posts: Vec<ModelPost>,
}

impl Model {
    fn connected(&self, owner: usize) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.owner == owner && a.connected)
            .count()
    }

    fn live_posts(&self, owner: usize) -> usize {
        self.posts
            .iter()
            .filter(|p| p.owner == owner && !p.deleted)
            .count()
    }
}

fn is_not_found<T>(result: &Result<T, Error>) -> bool {
    matches!(result, Err(Error::NotFound(_)))
}

/// Runs `ops` and checks, after each, that nothing crossed users and the free plan held.
async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let e = TestEngine::new();
    let users = [e.user("a@example.com").await, e.user("b@example.com").await];
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Connect {
                actor,
                platform,
                external,
            } => {
                let user = &users[actor];
                let result = e
                    .accounts()
                    .connect(
                        user.id(),
                        test_engine::connect_request(platform, &format!("acct{external}")),
                    )
                    .await;
                let existing = model.accounts.iter().position(|a| {
                    a.owner == actor && a.platform == platform && a.external == external
                });
                let already_connected = existing.is_some_and(|i| model.accounts[i].connected);
                if !already_connected && model.connected(actor) >= 1 {
                    prop_assert!(matches!(result, Err(Error::PlanLimit { .. })), "{result:?}");
                } else {
                    let account = result.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert_eq!(account.user_id(), user.id());
                    match existing {
                        Some(i) => {
                            prop_assert_eq!(account.id(), model.accounts[i].id);
                            model.accounts[i].connected = true;
                        }
                        None => model.accounts.push(ModelAccount {
                            id: account.id(),
                            owner: actor,
                            platform,
                            external,
                            connected: true,
                        }),
                    }
                }
            }
            Op::Disconnect { actor, pick } => {
                if model.accounts.is_empty() {
                    continue;
                }
                let i = pick % model.accounts.len();
                let (id, owner) = (model.accounts[i].id, model.accounts[i].owner);
                let before = e.accounts().get(users[owner].id(), id).await.unwrap();
                let result = e.accounts().disconnect(users[actor].id(), id).await;
                if owner == actor {
                    prop_assert!(result.is_ok(), "{result:?}");
                    model.accounts[i].connected = false;
                } else {
                    prop_assert!(is_not_found(&result), "{result:?}");
                    let after = e.accounts().get(users[owner].id(), id).await.unwrap();
                    prop_assert_eq!(after, before);
                }
            }
            Op::CreatePost {
                actor,
                pick,
                own,
                scheduled,
            } => {
                let candidates: Vec<usize> = (0..model.accounts.len())
                    .filter(|&i| {
                        !own || (model.accounts[i].owner == actor && model.accounts[i].connected)
                    })
                    .collect();
                if candidates.is_empty() {
                    continue;
                }
                let i = candidates[pick % candidates.len()];
                let account = e
                    .accounts()
                    .get(users[model.accounts[i].owner].id(), model.accounts[i].id)
                    .await
                    .unwrap();
                let at = scheduled.then(|| e.now() + Duration::hours(1));
                let result = e
                    .posts()
                    .create(users[actor].id(), test_engine::create_post(&account, at))
                    .await;
                if model.accounts[i].owner != actor {
                    prop_assert!(is_not_found(&result), "{result:?}");
                } else if !model.accounts[i].connected {
                    prop_assert!(matches!(result, Err(Error::Validation(_))), "{result:?}");
                } else if model.live_posts(actor) >= 10 {
                    prop_assert!(matches!(result, Err(Error::PlanLimit { .. })), "{result:?}");
                } else {
                    let post = result.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert_eq!(post.user_id(), users[actor].id());
                    model.posts.push(ModelPost {
                        id: post.id(),
                        owner: actor,
                        account: i,
                        deleted: false,
                    });
                }
            }
            Op::Schedule { actor, pick }
            | Op::Update { actor, pick }
            | Op::Delete { actor, pick } => {
                if model.posts.is_empty() {
                    continue;
                }
                let i = pick % model.posts.len();
                let (id, owner, deleted) = (
                    model.posts[i].id,
                    model.posts[i].owner,
                    model.posts[i].deleted,
                );
                let before = e.posts().get(users[owner].id(), id).await.ok();
                let acting = users[actor].id();
                // Posts share captions and times here; the duplicate guard is not what this
                // property is about, so every change allows a duplicate.
                let result = match op {
                    Op::Schedule { .. } => e
                        .posts()
                        .schedule(acting, id, e.now() + Duration::hours(2), Duplicates::Allow)
                        .await
                        .map(|_| ()),
                    Op::Update { .. } => e
                        .posts()
                        .update(
                            acting,
                            id,
                            PostPatch {
                                content: Some(format!("edited by user {actor}")),
                                duplicates: Duplicates::Allow,
                                ..PostPatch::default()
                            },
                        )
                        .await
                        .map(|_| ()),
                    _ => e.posts().delete(acting, id).await,
                };
                if owner != actor || deleted {
                    prop_assert!(is_not_found(&result), "{result:?}");
                    let after = e.posts().get(users[owner].id(), id).await.ok();
                    prop_assert_eq!(after, before);
                } else if matches!(op, Op::Schedule { .. })
                    && !model.accounts[model.posts[i].account].connected
                {
                    // Scheduling onto a disconnected account is refused.
                    prop_assert!(matches!(result, Err(Error::Validation(_))), "{result:?}");
                } else {
                    prop_assert!(result.is_ok(), "{result:?}");
                    if matches!(op, Op::Delete { .. }) {
                        model.posts[i].deleted = true;
                    }
                }
            }
        }
        check_invariants(&e, &users, &model).await?;
    }
    Ok(())
}

async fn check_invariants(
    e: &TestEngine,
    users: &[User; 2],
    model: &Model,
) -> Result<(), TestCaseError> {
    for (index, user) in users.iter().enumerate() {
        let other = &users[1 - index];
        let posts = e
            .posts()
            .list(user.id(), PostFilter::default(), all())
            .await
            .unwrap();
        prop_assert!(posts.items.iter().all(|p| p.user_id() == user.id()));
        prop_assert_eq!(posts.total, model.live_posts(index) as u64);
        let accounts = e.accounts().list(user.id(), all()).await.unwrap();
        prop_assert!(accounts.items.iter().all(|a| a.user_id() == user.id()));
        let usage = e.usage().usage(user.id()).await.unwrap();
        prop_assert!(usage.posts_this_month <= 10, "{usage:?}");
        prop_assert!(usage.connected_accounts <= 1, "{usage:?}");
        prop_assert_eq!(usage.connected_accounts, model.connected(index) as u64);
        for post in model.posts.iter().filter(|p| p.owner == index) {
            prop_assert!(is_not_found(&e.posts().get(other.id(), post.id).await));
        }
        for account in model.accounts.iter().filter(|a| a.owner == index) {
            prop_assert!(is_not_found(
                &e.accounts().get(other.id(), account.id).await
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn no_sequence_of_operations_crosses_users_or_exceeds_the_free_plan(
        ops in proptest::collection::vec(op(), 1..120)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run(ops))?;
    }
}
