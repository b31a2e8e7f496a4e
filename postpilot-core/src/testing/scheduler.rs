//! The scheduler: claims, leases, fencing, and outcomes through the dispatcher: storage contracts every store must keep.

use super::*;

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

/// Scheduler: a claim by account takes the accounts whose oldest due post is oldest, up to the
/// given number of posts of each, none of a busy account's; the rest wait for later claims.
pub async fn per_account_claims_take_each_idle_accounts_oldest_post(store: Arc<dyn Store>) {
    let (u, a) = seeded(&store).await;
    let mut others = Vec::new();
    for name in ["b", "c"] {
        let external = format!("ext-{name}-{}", u.id.as_uuid().simple());
        others.push(ok!(
            store.connect_account(&account(u.id, &external), Limit::Unlimited)
        ));
    }
    let (b, c) = (&others[0], &others[1]);
    let due = |account: AccountId, minutes: i64| {
        post(u.id, account, t0(), Some(t0() - Duration::minutes(minutes)))
    };
    let (a1, a2, b1, b2, c1) = (
        due(a.id, 5),
        due(a.id, 4),
        due(b.id, 3),
        due(b.id, 2),
        due(c.id, 6),
    );
    for p in [&a1, &a2, &b1, &b2, &c1] {
        ok!(store.insert_post(p, quota(100)));
    }
    let ids = |claimed: Vec<crate::store::ClaimedPost>| {
        claimed.iter().map(|c| c.post.id()).collect::<Vec<_>>()
    };
    let lease = Duration::seconds(60);

    let first = ok!(store.claim_due_per_account(t0(), 1, 1, lease, "w", &[c.id]));
    assert_eq!(
        ids(first),
        vec![a1.id()],
        "the oldest due post of an idle account"
    );
    let second = ok!(store.claim_due_per_account(t0(), 10, 1, lease, "w", &[a.id, c.id]));
    assert_eq!(
        ids(second),
        vec![b1.id()],
        "one post per account, b's oldest"
    );
    let third = ok!(store.claim_due_per_account(t0(), 10, 1, lease, "w", &[]));
    assert_eq!(
        ids(third),
        vec![c1.id(), a2.id(), b2.id()],
        "every account's next post, oldest first"
    );
    assert!(ok!(store.claim_due_per_account(t0(), 10, 1, lease, "w", &[])).is_empty());

    // An account whose due posts outnumber any candidate window does not hide the others once
    // it is busy.
    for minutes in 0..40 {
        let crowd = post(
            u.id,
            a.id,
            t0(),
            Some(t0() - Duration::minutes(100 + minutes)),
        );
        ok!(store.insert_post(&crowd, quota(1000)));
    }
    let behind = due(b.id, 1);
    ok!(store.insert_post(&behind, quota(1000)));
    let later = t0() + Duration::minutes(2);
    let crowded = ok!(store.claim_due_per_account(later, 1, 1, lease, "w", &[]));
    assert_eq!(crowded.len(), 1);
    assert_eq!(crowded[0].post.account_id(), a.id);
    let next = ok!(store.claim_due_per_account(later, 1, 1, lease, "w", &[a.id]));
    assert_eq!(
        ids(next),
        vec![behind.id()],
        "the crowded account is skipped, not scanned"
    );

    // Up to two posts of up to two accounts: the crowded account's two oldest first.
    let much_later = later + Duration::minutes(5);
    let lanes = ok!(store.claim_due_per_account(much_later, 2, 2, lease, "w", &[b.id]));
    let mut per_account: std::collections::HashMap<AccountId, usize> = Default::default();
    for claim in &lanes {
        *per_account.entry(claim.post.account_id()).or_default() += 1;
    }
    assert!(per_account.len() <= 2, "{per_account:?}");
    assert!(per_account.values().all(|n| *n <= 2), "{per_account:?}");
    assert_eq!(
        per_account.get(&a.id),
        Some(&2),
        "the crowded account's two oldest"
    );
    assert!(!per_account.contains_key(&b.id), "busy");
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
            .extend_lease(p.id(), a.post.lease_token() + 1, t0(), None)
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
    ok!(store.extend_lease(
        p.id(),
        done.lease_token(),
        t0() + Duration::minutes(5),
        None
    ));
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
        t0() + Duration::minutes(5),
        None
    ));
    ok!(store.extend_lease(
        claimed[2].id(),
        claimed[2].lease_token(),
        t0() + Duration::minutes(5),
        None
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
                after: Duration::minutes(15),
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
            PostStatus::Scheduled,
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

/// Scheduler: a multi-step publication parks while the platform processes (the post stays
/// `publishing`, due again at the poll time), keeps its checkpoint across claims, and an answer
/// lost after the publishing step is reconciled from the checkpoint: one container, one
/// publication.
pub async fn a_multi_step_publication_resumes_from_its_checkpoint(store: Arc<dyn Store>) {
    use crate::publish::{AttemptOutcome, DispatcherConfig, SIMULATED_POLL_INTERVAL};
    let (engine, clock, publisher, u, acc) = scheduler_fixture(store.clone()).await;
    publisher.set_processing(2);
    let p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1)));
    ok!(store.insert_post(&p, quota(100)));
    let worker = engine
        .dispatcher("w", DispatcherConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let tick = || async { worker.run_once().await.unwrap_or_else(|e| panic!("{e}")) };

    let created = tick().await;
    assert_eq!((created.claimed, created.processing), (1, 1));
    let parked = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(parked.status(), PostStatus::Publishing);
    assert!(parked.checkpoint().is_some());
    assert_eq!(
        ok!(store.next_due_at()),
        Some(t0() + SIMULATED_POLL_INTERVAL)
    );
    assert_eq!(tick().await.claimed, 0, "not polled before its time");

    clock.advance(SIMULATED_POLL_INTERVAL);
    assert_eq!(
        tick().await.processing,
        1,
        "still processing at the first poll"
    );
    clock.advance(SIMULATED_POLL_INTERVAL);
    publisher.lose_next_publish_answers(1);
    assert_eq!(
        tick().await.retried,
        1,
        "published, but the answer was lost"
    );
    let lost = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(
        lost.status(),
        PostStatus::Publishing,
        "kept out of the merchant's edits"
    );
    assert_eq!(
        lost.checkpoint().map(|c| c.state()["publishing"].clone()),
        Some(serde_json::Value::Bool(true)),
        "the step before publishing was stored"
    );

    clock.advance(Duration::minutes(10));
    assert_eq!(tick().await.posted, 1);
    assert_eq!(publisher.containers(), 1);
    assert_eq!(publisher.published_count(&p.idempotency_key()), 1);
    let done = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(done.status(), PostStatus::Posted);
    let outcomes: Vec<_> = ok!(store.attempts(u.id, p.id()))
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec![
            AttemptOutcome::Processing,
            AttemptOutcome::Processing,
            AttemptOutcome::Retry,
            AttemptOutcome::Posted
        ]
    );
}

/// Scheduler: a checkpoint is stored with a lease extension only under the claim's own token.
pub async fn checkpoints_are_stored_only_under_the_claim(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let p = post(u.id, acc.id, t0(), Some(t0() - Duration::minutes(1)));
    ok!(store.insert_post(&p, quota(100)));
    let claimed = ok!(store.claim_due(t0(), 10, Duration::seconds(30), "a")).remove(0);
    let checkpoint = |n: u32| crate::publish::Checkpoint::new(serde_json::json!({ "step": n }));
    assert!(matches!(
        store
            .extend_lease(
                p.id(),
                claimed.post.lease_token() + 1,
                t0() + Duration::minutes(1),
                Some(checkpoint(1)),
            )
            .await,
        Err(StoreError::Stale)
    ));
    let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(stored.checkpoint(), None);
    ok!(store.extend_lease(
        p.id(),
        claimed.post.lease_token(),
        t0() + Duration::minutes(1),
        Some(checkpoint(2)),
    ));
    // An extension without a checkpoint keeps the one stored.
    ok!(store.extend_lease(
        p.id(),
        claimed.post.lease_token(),
        t0() + Duration::minutes(2),
        None,
    ));
    let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(stored.checkpoint(), Some(&checkpoint(2)));
    assert_eq!(
        stored.lease().map(|l| l.expires_at),
        Some(t0() + Duration::minutes(2))
    );
}
