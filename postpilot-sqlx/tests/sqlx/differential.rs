//! Differential test: random sequences of store operations give identical results on the
//! in-memory store and on PostgreSQL.
//!
//! The conformance suite pins each contract with hand-written scenarios; this test explores the
//! space between them — interleavings of inserts under a quota, edits, deletes, claims, fenced
//! commits, disconnects, metric refreshes and reads — and fails on the first operation whose
//! outcome differs. At the end of each case every list total (each status × platform filter), the
//! quota's monthly counts and the analytics overview are checked against a recount of the rows,
//! and PostgreSQL's counter repair must find nothing to repair: the counters its triggers keep are
//! exact. Each case runs on a fresh, migrated database. `PROPTEST_CASES` sets the number of cases (default
//! 64); a failing case is shrunk to a minimal sequence by proptest.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use postpilot_core::analytics::{AnalyticsOverview, MetricCounts, PostMetrics};
use postpilot_core::id::{AccountId, PostId, UserId};
use postpilot_core::page::PageRequest;
use postpilot_core::plan::{Limit, MonthWindow, PostQuota};
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus, Published};
use postpilot_core::store::{MemoryStore, PostListFilter, Store, StoreError};
use postpilot_core::testing::{
    account_on, assert_totals_agree_with_a_recount, post_on, t0, user_with,
};
use proptest::prelude::*;

const USERS: usize = 2;
const ACCOUNTS_PER_USER: usize = 2;

/// One operation, its choices drawn by proptest; indices wrap around what exists.
#[derive(Clone, Debug)]
enum Op {
    Insert {
        user: usize,
        account: usize,
        created_minutes: i64,
        due_seconds: Option<i64>,
        quota: u32,
    },
    Get {
        post: usize,
        as_owner: bool,
    },
    List {
        user: usize,
        status: Option<usize>,
        platform: Option<usize>,
        page: u32,
        per_page: u32,
    },
    Between {
        user: usize,
        from_seconds: i64,
        span_seconds: i64,
    },
    Reschedule {
        post: usize,
        at_seconds: i64,
    },
    Unschedule {
        post: usize,
    },
    Pause {
        post: usize,
    },
    Delete {
        post: usize,
    },
    Claim {
        now_seconds: i64,
        limit: u32,
        lease_seconds: i64,
    },
    Commit {
        claims: Vec<(usize, u8)>,
    },
    Extend {
        claim: usize,
    },
    Disconnect {
        user: usize,
        account: usize,
    },
    NeedsReconnect {
        user: usize,
        account: usize,
    },
    Count {
        user: usize,
        month: i64,
    },
    Metrics {
        post: usize,
        impressions: u64,
        interactions: u64,
    },
    Overview {
        user: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Posts are created over three months (t0 is mid-March), so the monthly counts differ.
        4 => (0..USERS, 0..ACCOUNTS_PER_USER, -50_000i64..50_000, proptest::option::of(-120i64..120), 1u32..8)
            .prop_map(|(user, account, created_minutes, due_seconds, quota)| Op::Insert {
                user, account, created_minutes, due_seconds, quota,
            }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(post, as_owner)| Op::Get { post, as_owner }),
        2 => (0..USERS, proptest::option::of(0usize..6), proptest::option::of(0usize..2), 1u32..4, 1u32..6)
            .prop_map(|(user, status, platform, page, per_page)| Op::List { user, status, platform, page, per_page }),
        1 => (0..USERS, -150i64..150, 0i64..200)
            .prop_map(|(user, from_seconds, span_seconds)| Op::Between { user, from_seconds, span_seconds }),
        2 => (any::<usize>(), -60i64..120).prop_map(|(post, at_seconds)| Op::Reschedule { post, at_seconds }),
        1 => any::<usize>().prop_map(|post| Op::Unschedule { post }),
        1 => any::<usize>().prop_map(|post| Op::Pause { post }),
        1 => any::<usize>().prop_map(|post| Op::Delete { post }),
        3 => (-30i64..200, 1u32..5, 1i64..90)
            .prop_map(|(now_seconds, limit, lease_seconds)| Op::Claim { now_seconds, limit, lease_seconds }),
        3 => proptest::collection::vec((any::<usize>(), 0u8..5), 1..4).prop_map(|claims| Op::Commit { claims }),
        1 => any::<usize>().prop_map(|claim| Op::Extend { claim }),
        1 => (0..USERS, 0..ACCOUNTS_PER_USER).prop_map(|(user, account)| Op::Disconnect { user, account }),
        1 => (0..USERS, 0..ACCOUNTS_PER_USER).prop_map(|(user, account)| Op::NeedsReconnect { user, account }),
        1 => (0..USERS, -1i64..=1).prop_map(|(user, month)| Op::Count { user, month }),
        2 => (any::<usize>(), 0u64..1_000, 0u64..100)
            .prop_map(|(post, impressions, interactions)| Op::Metrics { post, impressions, interactions }),
        1 => (0..USERS).prop_map(|user| Op::Overview { user }),
    ]
}

/// What an operation returned, comparable across stores. Errors compare by their message
/// (which names the constraint of a conflict); a backend failure ends the test.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    Skipped,
    Refused(String),
    Post(Option<Box<Post>>),
    Posts(Vec<Post>, u64),
    Claimed(Vec<(Post, bool)>),
    Committed(Vec<bool>),
    Count(u64),
    Accounts(Option<bool>),
    Overview(AnalyticsOverview),
}

fn refused(error: StoreError) -> Outcome {
    match error {
        StoreError::Unavailable(cause) => panic!("backend failure: {cause}"),
        other => Outcome::Refused(other.to_string()),
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

/// The platform of each user's `n`th account (and of its posts): both are seen by the filters.
const PLATFORMS: [Platform; ACCOUNTS_PER_USER] = [Platform::Facebook, Platform::Instagram];

/// The month `shift` months from t0's.
fn month(shift: i64) -> MonthWindow {
    MonthWindow::containing(t0() + Duration::days(31 * shift))
}

/// The fixed world both stores start from: the same users and accounts, with the same ids.
struct World {
    users: Vec<UserId>,
    accounts: Vec<Vec<AccountId>>,
}

/// One store under test and what it handed out so far.
struct Subject {
    store: Arc<dyn Store>,
    claimed: Vec<Post>,
}

async fn seed(store: &Arc<dyn Store>) -> World {
    let mut world = World {
        users: Vec::new(),
        accounts: Vec::new(),
    };
    for u in 0..USERS {
        let owner = user_with(
            UserId::from_uuid(uuid_for(0x10 + u)),
            &format!("user{u}@example.com"),
        );
        store
            .insert_user(&owner)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ids = Vec::new();
        for (a, platform) in PLATFORMS.into_iter().enumerate() {
            let acc = account_on(
                platform,
                owner.id(),
                &format!("ext-{u}-{a}"),
                AccountId::from_uuid(uuid_for(0x100 + u * 16 + a)),
            );
            store
                .connect_account(&acc, Limit::Unlimited)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            ids.push(acc.id());
        }
        world.users.push(owner.id());
        world.accounts.push(ids);
    }
    world
}

fn uuid_for(n: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128(u128::try_from(n).unwrap_or_default() << 64 | 0x4000_8000_0000_0000)
}

fn pick<T: Copy>(items: &[T], index: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[index % items.len()])
}

const STATUSES: [PostStatus; 6] = [
    PostStatus::Draft,
    PostStatus::Scheduled,
    PostStatus::Publishing,
    PostStatus::Posted,
    PostStatus::Failed,
    PostStatus::Paused,
];

/// Applies `op` to one store. `created` is the post an `Insert` inserts (the same value for
/// both stores); `ids` are the posts inserted so far, in order.
async fn apply(
    subject: &mut Subject,
    world: &World,
    ids: &[(UserId, PostId)],
    op: &Op,
    created: Option<&Post>,
) -> Outcome {
    let store = subject.store.clone();
    let now = at(0);
    match op {
        Op::Insert { quota, .. } => {
            let Some(p) = created else {
                return Outcome::Skipped;
            };
            let quota = PostQuota {
                window: MonthWindow::containing(t0()),
                limit: Limit::AtMost(*quota),
            };
            match store.insert_post(p, quota).await {
                Ok(()) => Outcome::Done,
                Err(e) => refused(e),
            }
        }
        Op::Get { post, as_owner } => {
            let Some((owner, id)) = pick(ids, *post) else {
                return Outcome::Skipped;
            };
            let reader = if *as_owner {
                owner
            } else {
                world.users[(world.users.iter().position(|u| *u == owner).unwrap_or(0) + 1)
                    % world.users.len()]
            };
            match store.post(reader, id).await {
                Ok(found) => Outcome::Post(found.map(Box::new)),
                Err(e) => refused(e),
            }
        }
        Op::List {
            user,
            status,
            platform,
            page,
            per_page,
        } => {
            let filter = PostListFilter {
                status: status.map(|s| STATUSES[s % STATUSES.len()]),
                platform: platform.map(|p| PLATFORMS[p % PLATFORMS.len()]),
            };
            let page =
                PageRequest::new(Some(*page), Some(*per_page)).unwrap_or_else(|e| panic!("{e}"));
            match store.list_posts(world.users[*user], filter, page).await {
                Ok(found) => Outcome::Posts(found.items, found.total),
                Err(e) => refused(e),
            }
        }
        Op::Between {
            user,
            from_seconds,
            span_seconds,
        } => match store
            .posts_between(
                world.users[*user],
                at(*from_seconds),
                at(from_seconds + span_seconds),
            )
            .await
        {
            Ok(found) => Outcome::Posts(found, 0),
            Err(e) => refused(e),
        },
        Op::Reschedule { post, at_seconds } => {
            edit(&store, ids, *post, |p| {
                p.schedule(at(*at_seconds), at(*at_seconds) - Duration::seconds(1))
                    .is_ok()
            })
            .await
        }
        Op::Unschedule { post } => edit(&store, ids, *post, |p| p.unschedule(now).is_ok()).await,
        Op::Pause { post } => {
            let Some((owner, id)) = pick(ids, *post) else {
                return Outcome::Skipped;
            };
            let mut p = match store.post(owner, id).await {
                Ok(Some(p)) => p,
                Ok(None) => return Outcome::Post(None),
                Err(e) => return refused(e),
            };
            if p.pause("the product changed", now).is_err() {
                return Outcome::Refused(format!("pause from {:?}", p.status()));
            }
            match store.pause_post(&p).await {
                Ok(()) => Outcome::Done,
                Err(e) => refused(e),
            }
        }
        Op::Delete { post } => {
            let Some((owner, id)) = pick(ids, *post) else {
                return Outcome::Skipped;
            };
            match store
                .delete_post(
                    owner,
                    id,
                    &[PostStatus::Draft, PostStatus::Scheduled, PostStatus::Failed],
                )
                .await
            {
                Ok(()) => Outcome::Done,
                Err(e) => refused(e),
            }
        }
        Op::Claim {
            now_seconds,
            limit,
            lease_seconds,
        } => match store
            .claim_due(
                at(*now_seconds),
                *limit,
                Duration::seconds(*lease_seconds),
                "differential",
            )
            .await
        {
            Ok(claims) => {
                subject.claimed = claims.iter().map(|c| c.post.clone()).collect();
                Outcome::Claimed(claims.into_iter().map(|c| (c.post, c.rescued)).collect())
            }
            Err(e) => refused(e),
        },
        Op::Commit { claims } => {
            if subject.claimed.is_empty() {
                return Outcome::Skipped;
            }
            let mut batch = Vec::new();
            for (index, outcome) in claims {
                let mut p = subject.claimed[index % subject.claimed.len()].clone();
                let when = at(30);
                let moved = match outcome {
                    0 => p.mark_posted(
                        Published {
                            remote_id: format!("remote-{}", p.id()),
                            url: None,
                        },
                        when,
                    ),
                    1 => p.retry_at(when + Duration::seconds(60), "503", when),
                    2 => p.fail_attempt("policy", when),
                    3 => p.hold_for_reconnect(when + Duration::seconds(60), "reconnect", when),
                    _ => p.release(when),
                };
                if moved.is_ok() {
                    batch.push(p);
                }
            }
            match store.commit_claims(&batch).await {
                Ok(written) => Outcome::Committed(written),
                Err(e) => refused(e),
            }
        }
        Op::Extend { claim } => {
            let Some(p) = subject.claimed.get(claim % subject.claimed.len().max(1)) else {
                return Outcome::Skipped;
            };
            match store
                .extend_lease(p.id(), p.lease_token(), at(500), None)
                .await
            {
                Ok(()) => Outcome::Done,
                Err(e) => refused(e),
            }
        }
        Op::Disconnect { user, account } => match store
            .disconnect_account(world.users[*user], world.accounts[*user][*account])
            .await
        {
            Ok(found) => Outcome::Accounts(found.map(|a| a.is_connected())),
            Err(e) => refused(e),
        },
        Op::NeedsReconnect { user, account } => match store
            .mark_needs_reconnect(world.users[*user], world.accounts[*user][*account], t0())
            .await
        {
            Ok(()) => Outcome::Done,
            Err(e) => refused(e),
        },
        Op::Count { user, month: shift } => {
            match store
                .count_posts_created(world.users[*user], month(*shift))
                .await
            {
                Ok(n) => Outcome::Count(n),
                Err(e) => refused(e),
            }
        }
        Op::Metrics {
            post,
            impressions,
            interactions,
        } => {
            let Some((owner, id)) = pick(ids, *post) else {
                return Outcome::Skipped;
            };
            let counts = MetricCounts {
                impressions: *impressions,
                reach: impressions / 2,
                likes: interactions / 2,
                comments: interactions / 4,
                shares: interactions % 3,
                clicks: interactions % 7,
            };
            match store
                .upsert_metrics(&PostMetrics::new(id, owner, counts, now))
                .await
            {
                Ok(()) => Outcome::Done,
                Err(e) => refused(e),
            }
        }
        Op::Overview { user } => match store.analytics_overview(world.users[*user]).await {
            Ok(overview) => Outcome::Overview(overview),
            Err(e) => refused(e),
        },
    }
}

/// Reads the post, applies a domain transition and writes it back compare-and-set.
async fn edit(
    store: &Arc<dyn Store>,
    ids: &[(UserId, PostId)],
    index: usize,
    change: impl FnOnce(&mut Post) -> bool,
) -> Outcome {
    let Some((owner, id)) = pick(ids, index) else {
        return Outcome::Skipped;
    };
    let mut p = match store.post(owner, id).await {
        Ok(Some(p)) => p,
        Ok(None) => return Outcome::Post(None),
        Err(e) => return refused(e),
    };
    let before = p.status();
    if !change(&mut p) {
        return Outcome::Refused(format!("transition from {before:?}"));
    }
    match store.update_post(&p, &[before]).await {
        Ok(()) => Outcome::Done,
        Err(e) => refused(e),
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let pg = postpilot_sqlx::testing::fresh_store().await;
    let postgres: Arc<dyn Store> = Arc::new(pg.clone());
    let world = seed(&memory).await;
    seed(&postgres).await;
    let mut subjects = [
        Subject {
            store: memory,
            claimed: Vec::new(),
        },
        Subject {
            store: postgres,
            claimed: Vec::new(),
        },
    ];
    let mut ids: Vec<(UserId, PostId)> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let created = match op {
            Op::Insert {
                user,
                account,
                created_minutes,
                due_seconds,
                ..
            } => Some(post_on(
                PLATFORMS[*account],
                PostId::from_uuid(uuid_for(0x1000 + step)),
                world.users[*user],
                world.accounts[*user][*account],
                at(created_minutes * 60),
                due_seconds.map(at),
            )),
            _ => None,
        };
        let on_memory = apply(&mut subjects[0], &world, &ids, op, created.as_ref()).await;
        let on_postgres = apply(&mut subjects[1], &world, &ids, op, created.as_ref()).await;
        prop_assert_eq!(
            &on_memory,
            &on_postgres,
            "step {} ({:?}) differs between memory and Postgres",
            step,
            op
        );
        if let Some(p) = created {
            ids.push((p.user_id(), p.id()));
        }
    }
    for subject in &subjects {
        for user in &world.users {
            assert_totals_agree_with_a_recount(subject.store.as_ref(), *user).await;
        }
    }
    let repair = pg.repair_counters().await.unwrap_or_else(|e| panic!("{e}"));
    prop_assert_eq!(
        repair.fixed(),
        0,
        "the triggers left counters to repair: {:?}",
        repair
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operation_sequences_agree_between_memory_and_postgres(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(run(ops))?;
    }
}
