//! The publication worker: claiming due posts, publishing them, retrying with backoff, snoozing
//! on rate limits, failing for good, rescuing lapsed claims without double posting, and the
//! metrics job.

use postpilot_core::post::Duplicates;
use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use postpilot_core::account::SocialAccount;
use postpilot_core::analytics::round2;
use postpilot_core::page::PageRequest;
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus};
use postpilot_core::publish::{
    AttemptOutcome, DispatcherConfig, PublishError, RetryPolicy, SimulatedPublisher,
};
use postpilot_core::store::{AttemptStore, PostStore, StoreError};
use postpilot_core::user::User;

use crate::test_engine::{self, TestEngine};

/// A user with a connected Facebook account.
async fn merchant(e: &TestEngine) -> (User, SocialAccount) {
    let u = e.user("merchant@example.com").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    (u, facebook)
}

/// A post scheduled a minute from now; the clock is then moved to its time.
async fn due_post(e: &TestEngine, u: &User, account: &SocialAccount) -> Post {
    let post = e
        .post(u, account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(1));
    post
}

async fn reload(e: &TestEngine, u: &User, post: &Post) -> Post {
    e.posts().get(u.id(), post.id()).await.unwrap()
}

fn temporary() -> PublishError {
    PublishError::Retryable {
        reason: "502 Bad Gateway".into(),
        after: None,
    }
}

fn delay_until(e: &TestEngine, at: Option<DateTime<Utc>>) -> Duration {
    at.unwrap() - e.now()
}

// ---------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_due_post_is_published_once_and_recorded_in_the_ledger() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;

    let report = e
        .dispatcher("worker-1", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    assert_eq!((report.claimed, report.posted), (1, 1));
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Posted);
    assert_eq!(stored.posted_at(), Some(e.now()));
    assert!(stored.external_id().is_some());
    assert!(stored.external_url().is_some());
    assert_eq!(stored.lease(), None);
    let calls = e.facebook.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].idempotency_key, post.idempotency_key());
    assert_eq!(calls[0].caption, post.content().to_string());
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].outcome, AttemptOutcome::Posted);
    assert_eq!(ledger[0].worker, "worker-1");
    assert_eq!(ledger[0].lease_token, 1);
    assert_eq!(ledger[0].attempt, 1);
    assert_eq!(ledger[0].remote_id.as_deref(), stored.external_id());
    assert_eq!(ledger[0].error, None);
}

#[tokio::test]
async fn a_post_not_yet_due_is_not_claimed() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = e
        .post(&u, &facebook, Some(e.now() + Duration::minutes(5)))
        .await;
    e.advance(Duration::minutes(5) - Duration::seconds(1));

    let report = e.tick().await;

    assert_eq!(report.claimed, 0);
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Scheduled);
    assert!(e.facebook.calls().is_empty());
}

#[tokio::test]
async fn a_draft_is_never_published() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let draft = e.post(&u, &facebook, None).await;
    e.advance(Duration::days(30));

    let report = e.tick().await;

    assert_eq!(report.claimed, 0);
    assert_eq!(reload(&e, &u, &draft).await.status(), PostStatus::Draft);
}

#[tokio::test]
async fn the_worker_reports_when_the_next_post_falls_due() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let soon = e.now() + Duration::minutes(10);
    e.post(&u, &facebook, Some(e.now() + Duration::hours(3)))
        .await;
    e.post(&u, &facebook, Some(soon)).await;

    let next = e
        .dispatcher("w", DispatcherConfig::default())
        .unwrap()
        .next_due_at()
        .await
        .unwrap();

    assert_eq!(next, Some(soon));
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_temporary_failure_reschedules_the_post_about_thirty_seconds_later() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(temporary());

    let report = e.tick().await;

    assert_eq!(report.retried, 1);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Scheduled);
    assert_eq!(stored.attempts(), 1);
    let delay = delay_until(&e, stored.next_attempt_at());
    assert!(
        Duration::seconds(24) <= delay && delay <= Duration::seconds(36),
        "{delay}"
    );
    assert!(stored.error_message().unwrap().contains("502 Bad Gateway"));
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].outcome, AttemptOutcome::Retry);
}

#[tokio::test]
async fn a_retried_post_is_looked_up_first_and_then_published_on_the_next_tick() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(temporary());
    e.tick().await;
    let retry_at = reload(&e, &u, &post).await.next_attempt_at().unwrap();
    e.clock.set(retry_at);

    let report = e.tick().await;

    assert_eq!(report.posted, 1);
    assert_eq!(e.facebook.lookups(), 1);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Posted);
    assert_eq!(stored.posted_at(), Some(retry_at));
    assert_eq!(stored.error_message(), None);
    assert_eq!(e.facebook.calls().len(), 2);
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
}

#[tokio::test]
async fn a_retry_is_not_attempted_before_its_backoff_has_elapsed() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(temporary());
    e.tick().await;
    e.advance(Duration::seconds(23));

    let report = e.tick().await;

    assert_eq!(report.claimed, 0);
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Scheduled);
}

#[tokio::test]
async fn the_backoff_doubles_after_each_failure() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(temporary());
    e.facebook.fail_next(temporary());
    e.tick().await;
    let first = reload(&e, &u, &post).await.next_attempt_at().unwrap();
    e.clock.set(first);

    e.tick().await;

    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.attempts(), 2);
    let second = delay_until(&e, stored.next_attempt_at());
    assert!(
        Duration::seconds(48) <= second && second <= Duration::seconds(72),
        "{second}"
    );
}

#[tokio::test]
async fn a_platform_retry_hint_longer_than_the_backoff_is_respected() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(PublishError::Retryable {
        reason: "maintenance".into(),
        after: Some(Duration::minutes(10)),
    });

    e.tick().await;

    let stored = reload(&e, &u, &post).await;
    assert_eq!(
        stored.next_attempt_at(),
        Some(e.now() + Duration::minutes(10))
    );
}

#[tokio::test]
async fn five_consecutive_temporary_failures_fail_the_post_saying_how_often_it_was_tried() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    for _ in 0..5 {
        e.facebook.fail_next(temporary());
    }

    let mut statuses = Vec::new();
    for _ in 0..5 {
        e.tick().await;
        statuses.push(reload(&e, &u, &post).await.status());
        e.advance(Duration::hours(1));
    }
    let after = e.tick().await;

    assert_eq!(
        statuses,
        [
            PostStatus::Scheduled,
            PostStatus::Scheduled,
            PostStatus::Scheduled,
            PostStatus::Scheduled,
            PostStatus::Failed
        ]
    );
    let stored = reload(&e, &u, &post).await;
    let message = stored.error_message().unwrap();
    assert!(message.contains("5 times"), "{message}");
    assert!(message.contains("502 Bad Gateway"), "{message}");
    assert_eq!(stored.next_attempt_at(), None);
    assert_eq!(after.claimed, 0);
    assert_eq!(e.facebook.calls().len(), 5);
    assert_eq!(e.facebook.total_published(), 0);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger.last().unwrap().outcome, AttemptOutcome::GaveUp);
}

#[tokio::test]
async fn a_post_that_gave_up_counts_all_five_failed_attempts() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    for _ in 0..5 {
        e.facebook.fail_next(temporary());
    }

    for _ in 0..5 {
        e.tick().await;
        e.advance(Duration::hours(1));
    }

    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Failed);
    assert_eq!(stored.attempts(), 5);
}

#[tokio::test]
async fn the_ledger_numbers_every_attempt_in_order() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(temporary());
    e.facebook.fail_next(temporary());

    for _ in 0..3 {
        e.tick().await;
        e.advance(Duration::hours(1));
    }

    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Posted);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    let numbers: Vec<_> = ledger.iter().map(|a| a.attempt).collect();
    let outcomes: Vec<_> = ledger.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Posted
        ]
    );
    assert_eq!(numbers, [1, 2, 3]);
}

#[test]
fn the_retry_delay_is_thirty_seconds_doubled_per_failure_within_twenty_percent_jitter() {
    let policy = RetryPolicy::default();

    for failed in 1..=5_u32 {
        let base = Duration::seconds(30 * 2_i64.pow(failed - 1));
        assert_eq!(policy.base_delay_after(failed), base);
        assert_eq!(policy.delay_after(failed, 0.0), base * 8 / 10, "{failed}");
        assert_eq!(policy.delay_after(failed, 0.5), base, "{failed}");
        assert_eq!(policy.delay_after(failed, 1.0), base * 12 / 10, "{failed}");
        for unit in [0.1, 0.37, 0.99] {
            let delay = policy.delay_after(failed, unit);
            assert!(
                base * 8 / 10 <= delay && delay <= base * 12 / 10,
                "{failed} {unit}: {delay}"
            );
        }
    }
    assert_eq!(policy.delay_after(1, -3.0), Duration::seconds(24));
    assert_eq!(policy.delay_after(1, 7.0), Duration::seconds(36));
}

// ---------------------------------------------------------------------------------------------
// Rate limits and permanent failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_rate_limit_snoozes_the_post_until_the_given_time_without_counting_an_attempt() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    let until = e.now() + Duration::minutes(15);
    e.facebook.fail_next(PublishError::RateLimited {
        after: Duration::minutes(15),
    });

    let report = e.tick().await;

    assert_eq!(report.snoozed, 1);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Scheduled);
    assert_eq!(stored.next_attempt_at(), Some(until));
    assert_eq!(stored.attempts(), 0);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger[0].outcome, AttemptOutcome::RateLimited);
}

#[tokio::test]
async fn a_snoozed_post_is_published_once_the_rate_limit_has_passed() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    let until = e.now() + Duration::minutes(15);
    e.facebook.fail_next(PublishError::RateLimited {
        after: Duration::minutes(15),
    });
    e.tick().await;
    e.clock.set(until);

    let report = e.tick().await;

    assert_eq!(report.posted, 1);
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Posted);
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
}

#[tokio::test]
async fn an_expired_authorization_holds_the_accounts_posts_without_failing_or_resending_them() {
    let e = TestEngine::new();
    let u = e.pro_user("merchant@example.com").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let later = e
        .post(&u, &facebook, Some(e.now() + Duration::days(2)))
        .await;
    let elsewhere = e
        .post(&u, &instagram, Some(e.now() + Duration::days(2)))
        .await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(PublishError::AuthExpired);

    let report = e.tick().await;

    assert_eq!((report.failed, report.snoozed), (0, 1));
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Scheduled, "held, not failed");
    assert_eq!(stored.attempts(), 0, "a hold is not an attempt");
    let message = stored.error_message().unwrap();
    assert!(message.contains("Reconnect the account"), "{message}");
    assert!(
        e.accounts()
            .get(u.id(), facebook.id())
            .await
            .unwrap()
            .needs_reconnect()
    );
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger[0].outcome, AttemptOutcome::AuthExpired);

    // The account's next post is held too when it falls due, without a call to the platform;
    // the post held first is looked at again an hour later, and held again.
    e.advance(Duration::days(2));
    let report = e.tick().await;

    assert_eq!((report.claimed, report.snoozed, report.posted), (3, 2, 1));
    assert_eq!(
        e.facebook.calls().len(),
        1,
        "nothing more sent with a dead token"
    );
    for held in [&post, &later] {
        let held = reload(&e, &u, held).await;
        assert_eq!(held.status(), PostStatus::Scheduled);
        assert!(held.error_message().unwrap().contains("Reconnect"));
    }
    assert!(
        e.store
            .attempts(u.id(), later.id())
            .await
            .unwrap()
            .is_empty()
    );
    let other = reload(&e, &u, &elsewhere).await;
    assert_eq!(
        (other.status(), other.error_message()),
        (PostStatus::Posted, None),
        "another account is not affected"
    );
}

#[tokio::test]
async fn reconnecting_the_account_publishes_the_posts_it_held_at_once() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(PublishError::AuthExpired);
    e.tick().await;
    assert_eq!(e.tick().await.claimed, 0, "held for a while");

    let reconnected = e.connect(&u, Platform::Facebook, "fb").await;
    let report = e.tick().await;

    assert_eq!(reconnected.id(), facebook.id());
    assert!(!reconnected.needs_reconnect());
    assert_eq!(report.posted, 1);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(
        (stored.status(), stored.error_message()),
        (PostStatus::Posted, None)
    );
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
}

#[tokio::test]
async fn a_post_the_platform_rejects_fails_with_the_reason_and_is_not_retried() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(PublishError::Rejected {
        reason: "image violates community standards".into(),
    });

    let report = e.tick().await;
    e.advance(Duration::hours(6));
    let later = e.tick().await;

    assert_eq!(report.failed, 1);
    assert_eq!(later.claimed, 0);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Failed);
    assert!(
        stored
            .error_message()
            .unwrap()
            .contains("image violates community standards")
    );
    assert_eq!(e.facebook.calls().len(), 1);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger[0].outcome, AttemptOutcome::Rejected);
}

#[tokio::test]
async fn a_post_of_a_disconnected_account_fails_telling_the_merchant_to_reconnect() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.accounts()
        .disconnect(u.id(), facebook.id())
        .await
        .unwrap();

    let report = e.tick().await;

    assert_eq!(report.failed, 1);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Failed);
    let message = stored.error_message().unwrap();
    assert!(message.contains("facebook"), "{message}");
    assert!(message.contains("Reconnect"), "{message}");
    assert!(e.facebook.calls().is_empty());
}

#[tokio::test]
async fn a_failed_post_can_be_rescheduled_and_then_published() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.fail_next(PublishError::Rejected {
        reason: "temporary policy hold".into(),
    });
    e.tick().await;

    let at = e.now() + Duration::minutes(30);
    let rescheduled = e
        .posts()
        .schedule(u.id(), post.id(), at, Duplicates::Refuse)
        .await
        .unwrap();
    e.clock.set(at);
    let report = e.tick().await;

    assert_eq!(rescheduled.attempts(), 0);
    assert_eq!(rescheduled.error_message(), None);
    assert_eq!(report.posted, 1);
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Posted);
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_publisher_slower_than_the_timeout_is_abandoned_and_retried() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.facebook.set_latency(std::time::Duration::from_secs(5));
    let config = DispatcherConfig {
        publish_timeout: Duration::seconds(1),
        ..DispatcherConfig::default()
    };

    let report = e.dispatcher("w", config).unwrap().run_once().await.unwrap();

    assert_eq!(report.retried, 1);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Scheduled);
    assert_eq!(stored.attempts(), 1);
    assert!(stored.next_attempt_at().unwrap() > e.now());
    assert!(stored.error_message().unwrap().contains("did not answer"));
    assert_eq!(e.facebook.total_published(), 0);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger[0].outcome, AttemptOutcome::TimedOut);
}

// ---------------------------------------------------------------------------------------------
// Rescue and fencing
// ---------------------------------------------------------------------------------------------

/// Worker `dead` claims the due post with a 30 s lease and never commits; the clock then moves
/// past the lease.
async fn claimed_by_a_dead_worker(e: &TestEngine, post: &Post) -> Post {
    let claimed = e
        .store
        .claim_due(e.now(), 10, Duration::seconds(30), "dead")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].post.id(), post.id());
    e.advance(Duration::seconds(31));
    claimed[0].post.clone()
}

#[tokio::test]
async fn a_lapsed_claim_whose_post_reached_the_platform_is_reconciled_without_publishing_again() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    claimed_by_a_dead_worker(&e, &post).await;
    let remote = e.facebook.preexisting(&post.idempotency_key());

    let report = e
        .dispatcher("rescuer", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    assert_eq!(report.reconciled, 1);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Posted);
    assert_eq!(stored.external_id(), Some(remote.remote_id.as_str()));
    assert!(e.facebook.calls().is_empty());
    assert_eq!(e.facebook.lookups(), 1);
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].outcome, AttemptOutcome::Reconciled);
    assert_eq!(ledger[0].worker, "rescuer");
    assert_eq!(ledger[0].lease_token, 2);
}

#[tokio::test]
async fn a_lapsed_claim_whose_post_never_reached_the_platform_is_published_once() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    claimed_by_a_dead_worker(&e, &post).await;

    let report = e
        .dispatcher("rescuer", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    assert_eq!(report.posted, 1);
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Posted);
    assert_eq!(e.facebook.lookups(), 1);
    assert_eq!(e.facebook.calls().len(), 1);
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger[0].outcome, AttemptOutcome::Posted);
    assert_eq!(ledger[0].lease_token, 2);
}

#[tokio::test]
async fn a_live_claim_is_not_taken_over_before_its_lease_expires() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    e.store
        .claim_due(e.now(), 10, Duration::seconds(30), "busy")
        .await
        .unwrap();
    e.advance(Duration::seconds(29));

    let report = e.tick().await;

    assert_eq!(report.claimed, 0);
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Publishing);
    assert!(e.facebook.calls().is_empty());
}

#[tokio::test]
async fn a_stale_workers_late_commit_is_refused_and_leaves_the_post_as_the_rescuer_left_it() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    let mut stale = claimed_by_a_dead_worker(&e, &post).await;
    e.dispatcher("rescuer", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    let rescued = reload(&e, &u, &post).await;
    stale
        .fail("the dead worker thinks it failed", e.now())
        .unwrap();

    let err = e.store.commit_claim(&stale).await.unwrap_err();

    assert!(matches!(err, StoreError::Stale), "{err:?}");
    assert_eq!(reload(&e, &u, &post).await, rescued);
    assert_eq!(rescued.status(), PostStatus::Posted);
}

#[tokio::test]
async fn a_stale_commit_cannot_overwrite_a_newer_claim_still_in_progress() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    let mut stale = claimed_by_a_dead_worker(&e, &post).await;
    let newer = e
        .store
        .claim_due(e.now(), 10, Duration::seconds(30), "rescuer")
        .await
        .unwrap();
    stale.fail("late", e.now()).unwrap();

    let err = e.store.commit_claim(&stale).await.unwrap_err();

    assert!(matches!(err, StoreError::Stale), "{err:?}");
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Publishing);
    assert_eq!(stored.lease_token(), 2);
    assert_eq!(stored.lease().unwrap().owner, "rescuer");
    assert_eq!(newer[0].post.lease_token(), 2);
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_concurrent_workers_publish_two_hundred_posts_exactly_once_each() {
    // 25 posts per account at one instant: more than TikTok's default daily cap.
    let e = TestEngine::with_ports(|builder| {
        builder.publishing_caps(postpilot_core::post::PublishingCaps { tiktok_daily: 100 })
    });
    let u = e.user("merchant@example.com").await;
    e.on_plan(&u, PlanTier::Enterprise).await;
    let mut accounts = Vec::new();
    for (i, platform) in [
        Platform::Instagram,
        Platform::Facebook,
        Platform::Tiktok,
        Platform::Facebook,
        Platform::Instagram,
        Platform::Tiktok,
        Platform::Facebook,
        Platform::Instagram,
    ]
    .into_iter()
    .enumerate()
    {
        accounts.push(e.connect(&u, platform, &format!("acct{i}")).await);
    }
    let at = e.now() + Duration::minutes(1);
    let mut posts = Vec::new();
    for i in 0..200 {
        posts.push(e.post(&u, &accounts[i % accounts.len()], Some(at)).await);
    }
    for publisher in [&e.instagram, &e.facebook, &e.tiktok] {
        publisher.set_latency(std::time::Duration::from_millis(1));
    }
    e.advance(Duration::minutes(2));

    let workers: Vec<_> = (0..4)
        .map(|i| {
            let dispatcher = e
                .dispatcher(
                    format!("worker-{i}"),
                    DispatcherConfig {
                        batch_size: 10,
                        ..DispatcherConfig::default()
                    },
                )
                .unwrap();
            tokio::spawn(async move {
                let mut posted = 0;
                loop {
                    let report = dispatcher.run_once().await.unwrap();
                    posted += report.posted;
                    if report.claimed == 0 {
                        return posted;
                    }
                }
            })
        })
        .collect();
    let mut posted = 0;
    for worker in workers {
        posted += worker.await.unwrap();
    }

    assert_eq!(posted, 200);
    let publisher_of = |p: &Post| -> &Arc<SimulatedPublisher> {
        match p.platform() {
            Platform::Instagram => &e.instagram,
            Platform::Facebook => &e.facebook,
            Platform::Tiktok => &e.tiktok,
        }
    };
    for post in &posts {
        assert_eq!(reload(&e, &u, post).await.status(), PostStatus::Posted);
        assert_eq!(
            publisher_of(post).published_count(&post.idempotency_key()),
            1
        );
        assert_eq!(e.store.attempts(u.id(), post.id()).await.unwrap().len(), 1);
    }
    let total: usize = [&e.instagram, &e.facebook, &e.tiktok]
        .iter()
        .map(|p| p.total_published())
        .sum();
    assert_eq!(total, 200);
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refreshing_metrics_fills_them_for_posted_posts_and_the_overview_sums_them() {
    let e = TestEngine::new();
    let u = e.pro_user("merchant@example.com").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let at = e.now() + Duration::minutes(1);
    let first = e.post(&u, &facebook, Some(at)).await;
    let second = e.post(&u, &instagram, Some(at)).await;
    e.post(&u, &facebook, None).await;
    e.clock.set(at);
    e.tick().await;
    e.advance(Duration::hours(1));

    let refreshed = e
        .dispatcher("metrics", DispatcherConfig::default())
        .unwrap()
        .refresh_metrics(Duration::hours(1), 100)
        .await
        .unwrap();

    assert_eq!(refreshed, 2);
    let a = e.analytics().post(u.id(), first.id()).await.unwrap();
    let b = e.analytics().post(u.id(), second.id()).await.unwrap();
    for m in [&a, &b] {
        assert!(m.counts.impressions > 0);
        assert_eq!(m.fetched_at, e.now());
        assert_eq!(m.engagement_rate, round2(m.counts.engagement_rate()));
    }
    let overview = e.analytics().overview(u.id()).await.unwrap();
    assert_eq!(overview.posts_published, 2);
    assert_eq!(
        overview.totals.impressions,
        a.counts.impressions + b.counts.impressions
    );
    assert_eq!(overview.totals.reach, a.counts.reach + b.counts.reach);
    assert_eq!(overview.totals.likes, a.counts.likes + b.counts.likes);
    assert_eq!(
        overview.totals.comments,
        a.counts.comments + b.counts.comments
    );
    assert_eq!(overview.totals.shares, a.counts.shares + b.counts.shares);
    assert_eq!(overview.totals.clicks, a.counts.clicks + b.counts.clicks);
    let mean = (a.counts.engagement_rate() + b.counts.engagement_rate()) / 2.0;
    assert!((overview.engagement_rate - round2(mean)).abs() < 1e-9);
    let listed = e
        .analytics()
        .posts(u.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 2);
}

#[tokio::test]
async fn engagement_by_day_has_every_local_day_of_the_window_zeros_included_oldest_first() {
    let e = TestEngine::new();
    let u = e.pro_user("days@example.com").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let at = e.now() + Duration::minutes(1);
    let post = e.post(&u, &facebook, Some(at)).await;
    e.clock.set(at);
    e.tick().await;
    e.dispatcher("metrics", DispatcherConfig::default())
        .unwrap()
        .refresh_metrics(Duration::hours(1), 100)
        .await
        .unwrap();
    e.advance(Duration::days(2));

    let week = e
        .analytics()
        .by_day(u.id(), 7, chrono_tz::Tz::UTC)
        .await
        .unwrap();
    let two = e
        .analytics()
        .by_day(u.id(), 2, chrono_tz::Tz::UTC)
        .await
        .unwrap();

    assert_eq!(week.len(), 7);
    assert_eq!(week.last().map(|d| d.day), Some(e.now().date_naive()));
    assert!(
        week.windows(2)
            .all(|w| w[0].day.succ_opt() == Some(w[1].day))
    );
    let metrics = e.analytics().post(u.id(), post.id()).await.unwrap();
    let busy: Vec<_> = week.iter().filter(|d| d.posts > 0).collect();
    assert_eq!(busy.len(), 1);
    assert_eq!(
        (busy[0].day, busy[0].counts),
        (at.date_naive(), metrics.counts)
    );
    assert_eq!(two.len(), 2);
    assert!(
        two.iter().all(|d| d.posts == 0),
        "published before the window"
    );
}

#[tokio::test]
async fn fresh_metrics_are_not_fetched_again_before_they_are_stale() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    due_post(&e, &u, &facebook).await;
    e.tick().await;
    let metrics = e
        .dispatcher("metrics", DispatcherConfig::default())
        .unwrap();
    metrics
        .refresh_metrics(Duration::hours(1), 100)
        .await
        .unwrap();
    e.advance(Duration::minutes(59));

    let again = metrics
        .refresh_metrics(Duration::hours(1), 100)
        .await
        .unwrap();
    e.advance(Duration::minutes(2));
    let stale = metrics
        .refresh_metrics(Duration::hours(1), 100)
        .await
        .unwrap();

    assert_eq!(again, 0);
    assert_eq!(stale, 1);
}

#[tokio::test]
async fn the_metrics_of_a_post_without_any_are_zeros() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = e.post(&u, &facebook, None).await;

    let metrics = e.analytics().post(u.id(), post.id()).await.unwrap();

    assert_eq!(metrics.post_id, post.id());
    assert_eq!(metrics.counts, Default::default());
    assert_eq!(metrics.engagement_rate, 0.0);
    let overview = e.analytics().overview(u.id()).await.unwrap();
    assert_eq!(overview.posts_published, 0);
    assert_eq!(overview.engagement_rate, 0.0);
}

#[tokio::test]
async fn every_post_is_claimed_by_exactly_one_of_two_workers_in_the_same_instant() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let at = e.now() + Duration::minutes(1);
    for _ in 0..6 {
        e.post(&u, &facebook, Some(at)).await;
    }
    e.clock.set(at);
    let small = DispatcherConfig {
        batch_size: 4,
        ..DispatcherConfig::default()
    };
    let (a, b) = (
        e.dispatcher("a", small).unwrap(),
        e.dispatcher("b", small).unwrap(),
    );

    let (first, second) = tokio::join!(a.run_once(), b.run_once());

    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.claimed + second.claimed, 6);
    assert_eq!(first.posted + second.posted, 6);
    let keys: HashSet<_> = e
        .facebook
        .calls()
        .into_iter()
        .map(|c| c.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 6);
    assert_eq!(e.facebook.total_published(), 6);
}

// ---------------------------------------------------------------------------------------------
// Claims lost mid-attempt, failures that are not the merchant's, configuration
// ---------------------------------------------------------------------------------------------

/// A Facebook publisher over a simulated one whose first `lookup` answers "not there" and then
/// hangs until released — a slow platform call during which the claim lapses.
#[derive(Debug)]
struct StallingLookup {
    inner: Arc<SimulatedPublisher>,
    stall_first: std::sync::atomic::AtomicBool,
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl postpilot_core::publish::Publisher for StallingLookup {
    async fn publish(
        &self,
        request: &postpilot_core::publish::PublishRequest,
    ) -> Result<postpilot_core::publish::Progress, PublishError> {
        self.inner.publish(request).await
    }

    async fn lookup(
        &self,
        key: &str,
    ) -> Result<Option<postpilot_core::post::Published>, PublishError> {
        let answer = self.inner.lookup(key).await;
        if self
            .stall_first
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            self.entered.notify_one();
            self.release.notified().await;
        }
        answer
    }

    async fn fetch_metrics(
        &self,
        request: &postpilot_core::publish::MetricsRequest,
    ) -> Result<postpilot_core::analytics::MetricCounts, PublishError> {
        self.inner.fetch_metrics(request).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_claim_lapsed_during_its_lookup_never_publishes() {
    let simulated = Arc::new(SimulatedPublisher::new(Platform::Facebook));
    let stalling = Arc::new(StallingLookup {
        inner: simulated.clone(),
        stall_first: std::sync::atomic::AtomicBool::new(false),
        entered: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
    });
    let e = TestEngine::with_ports(|b| b.publisher(Platform::Facebook, stalling.clone()));
    let (u, account) = merchant(&e).await;
    let post = due_post(&e, &u, &account).await;
    // One failed attempt, so the next one looks the post up first.
    simulated.fail_next(PublishError::Retryable {
        reason: "503".into(),
        after: None,
    });
    e.tick().await;
    e.advance(Duration::minutes(5));
    stalling
        .stall_first
        .store(true, std::sync::atomic::Ordering::SeqCst);

    let slow = {
        let engine = e.engine.clone();
        tokio::spawn(async move {
            engine
                .dispatcher("slow", DispatcherConfig::default())
                .unwrap()
                .run_once()
                .await
        })
    };
    stalling.entered.notified().await;
    e.advance(Duration::minutes(3)); // past the slow worker's 2-minute lease
    let rescue = e
        .dispatcher("rescuer", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    stalling.release.notify_one();
    let late = slow.await.unwrap().unwrap();

    assert_eq!(rescue.posted, 1);
    assert_eq!(late.lease_lost, 1);
    assert_eq!(
        simulated.published_count(&post.idempotency_key()),
        1,
        "published exactly once"
    );
    let stored = e.posts().get(u.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Posted);
}

#[tokio::test]
async fn a_token_that_cannot_be_opened_is_retried_and_does_not_fail_the_account() {
    use postpilot_core::crypto::{CipherError, MockTokenCipher};
    let mut cipher = MockTokenCipher::new();
    cipher
        .expect_seal()
        .returning(|_, _| Ok("v1.retired.sealed".to_owned()));
    cipher
        .expect_open()
        .returning(|_, _| Err(CipherError::UnknownKey("retired".into())));
    let e = TestEngine::with_ports(|b| b.cipher(Arc::new(cipher)));
    let u = e.user("merchant@example.com").await;
    let mut request = test_engine::connect_request(Platform::Facebook, "fb");
    request.access_token = Some(postpilot_core::crypto::SecretString::new("oauth"));
    let account = e.accounts().connect(u.id(), request).await.unwrap();
    let later = e
        .post(&u, &account, Some(e.now() + Duration::days(3)))
        .await;
    let post = due_post(&e, &u, &account).await;

    let tick = e.tick().await;

    assert_eq!(tick.retried, 1);
    let stored = e.posts().get(u.id(), post.id()).await.unwrap();
    assert_eq!(
        (stored.status(), stored.attempts()),
        (PostStatus::Scheduled, 1)
    );
    assert!(
        stored.error_message().unwrap().contains("token key"),
        "{:?}",
        stored.error_message()
    );
    assert!(
        !e.accounts()
            .get(u.id(), account.id())
            .await
            .unwrap()
            .needs_reconnect()
    );
    let untouched = e.posts().get(u.id(), later.id()).await.unwrap();
    assert_eq!(untouched.status(), PostStatus::Scheduled);
    assert_eq!(
        e.facebook.calls().len(),
        0,
        "nothing was sent without a token"
    );
}

#[tokio::test]
async fn a_lookup_the_platform_refuses_is_retried_not_taken_as_a_verdict() {
    let mut publisher = postpilot_core::publish::MockPublisher::new();
    let mut calls = 0;
    publisher.expect_publish().returning(move |_| {
        calls += 1;
        if calls == 1 {
            Err(PublishError::Retryable {
                reason: "503".into(),
                after: None,
            })
        } else {
            Ok(postpilot_core::publish::Progress::Published(
                postpilot_core::post::Published {
                    remote_id: "r1".into(),
                    url: None,
                },
            ))
        }
    });
    publisher.expect_lookup().returning(|_| {
        Err(PublishError::Rejected {
            reason: "lookup: 404".into(),
        })
    });
    let e = TestEngine::with_ports(|b| b.publisher(Platform::Facebook, Arc::new(publisher)));
    let (u, account) = merchant(&e).await;
    let post = due_post(&e, &u, &account).await;
    e.tick().await;
    e.advance(Duration::minutes(5));

    let tick = e.tick().await;

    assert_eq!((tick.retried, tick.failed), (1, 0));
    let stored = e.posts().get(u.id(), post.id()).await.unwrap();
    assert_eq!(
        (stored.status(), stored.attempts()),
        (PostStatus::Scheduled, 2)
    );
    assert!(
        stored
            .error_message()
            .unwrap()
            .contains("already has the post")
    );
}

#[tokio::test]
async fn a_publish_timeout_not_shorter_than_the_lease_is_refused() {
    let e = TestEngine::new();
    let config = DispatcherConfig {
        publish_timeout: Duration::seconds(120),
        lease: Duration::seconds(120),
        ..DispatcherConfig::default()
    };

    let err = e.dispatcher("w", config).unwrap_err();

    assert_eq!(err.field(), "publish_timeout");
    let zero = DispatcherConfig {
        batch_size: 0,
        ..DispatcherConfig::default()
    };
    assert_eq!(e.dispatcher("w", zero).unwrap_err().field(), "batch_size");
}

#[test]
fn an_engine_without_publishers_or_a_cipher_is_not_built_unless_simulated() {
    let err = postpilot_core::Engine::builder().build().unwrap_err();
    assert!(
        matches!(err, postpilot_core::BuildError::NoPublisher),
        "{err}"
    );
    let mut builder = postpilot_core::Engine::builder();
    for platform in Platform::ALL {
        builder = builder.publisher(platform, Arc::new(SimulatedPublisher::new(platform)));
    }
    let err = builder.build().unwrap_err();
    assert!(
        matches!(err, postpilot_core::BuildError::MissingCipher),
        "{err}"
    );
    assert!(
        postpilot_core::Engine::builder()
            .simulated()
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn a_post_of_a_platform_the_server_stopped_offering_fails_saying_so() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let post = due_post(&e, &u, &facebook).await;
    // The same store, served again with Instagram alone.
    let instagram_only = postpilot_core::Engine::builder()
        .store(e.store.clone())
        .clock(e.clock.clone())
        .publisher(Platform::Instagram, e.instagram.clone())
        .cipher(Arc::new(
            postpilot_core::crypto::XChaChaTokenCipher::generate(
                postpilot_core::crypto::KeyId::parse("k1").unwrap(),
            ),
        ))
        .build()
        .unwrap();

    let report = instagram_only
        .dispatcher("w", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    assert_eq!((report.claimed, report.failed, report.errors), (1, 1, 0));
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Failed);
    assert!(
        stored
            .error_message()
            .unwrap()
            .contains("no longer publishes to facebook"),
        "{stored:?}"
    );
    assert!(e.facebook.calls().is_empty());
}

#[tokio::test]
async fn after_a_transient_failure_the_accounts_other_claimed_posts_are_held_not_tried() {
    let e = TestEngine::new();
    let (u, facebook) = merchant(&e).await;
    let at = e.now() + Duration::minutes(1);
    let mut posts = Vec::new();
    for _ in 0..3 {
        posts.push(e.post(&u, &facebook, Some(at)).await);
    }
    e.advance(Duration::minutes(1));
    e.facebook.fail_next(temporary());

    let report = e.tick().await;

    assert_eq!((report.claimed, report.retried, report.snoozed), (3, 1, 2));
    assert_eq!(e.facebook.calls().len(), 1, "the platform was tried once");
    let stored: Vec<Post> =
        futures::future::join_all(posts.iter().map(|p| reload(&e, &u, p))).await;
    let retry_at = stored
        .iter()
        .find(|p| p.attempts() == 1)
        .and_then(Post::next_attempt_at)
        .unwrap();
    for post in &stored {
        assert_eq!(post.status(), PostStatus::Scheduled);
        assert_eq!(post.next_attempt_at(), Some(retry_at));
    }
    assert_eq!(
        stored.iter().map(Post::attempts).sum::<u32>(),
        1,
        "held posts used no attempt"
    );
    let mut ledger = 0;
    for post in &stored {
        ledger += e.store.attempts(u.id(), post.id()).await.unwrap().len();
    }
    assert_eq!(ledger, 1, "only the tried post is in the ledger");
    e.clock.set(retry_at);
    assert_eq!(e.tick().await.posted, 3);
}

/// A platform that refuses the token, while — meanwhile — the merchant reconnects the account
/// with a fresh one.
#[derive(Debug)]
struct RefusesWhileReconnected {
    store: Arc<postpilot_core::store::MemoryStore>,
    account: std::sync::Mutex<Option<(postpilot_core::id::UserId, postpilot_core::id::AccountId)>>,
}

#[async_trait::async_trait]
impl postpilot_core::publish::Publisher for RefusesWhileReconnected {
    async fn publish(
        &self,
        _: &postpilot_core::publish::PublishRequest,
    ) -> Result<postpilot_core::publish::Progress, PublishError> {
        let (owner, id) = self.account.lock().unwrap().unwrap();
        postpilot_core::store::AccountStore::set_account_tokens(
            self.store.as_ref(),
            owner,
            id,
            postpilot_core::account::SealedTokens {
                access: Some("sealed-fresh-token".into()),
                refresh: None,
                expires_at: None,
            },
            None,
        )
        .await
        .unwrap();
        Err(PublishError::AuthExpired)
    }

    async fn lookup(
        &self,
        _: &str,
    ) -> Result<Option<postpilot_core::post::Published>, PublishError> {
        Ok(None)
    }

    async fn fetch_metrics(
        &self,
        _: &postpilot_core::publish::MetricsRequest,
    ) -> Result<postpilot_core::analytics::MetricCounts, PublishError> {
        Ok(postpilot_core::analytics::MetricCounts::default())
    }
}

#[tokio::test]
async fn a_refusal_of_the_old_token_does_not_flag_an_account_reconnected_meanwhile() {
    let store = Arc::new(postpilot_core::store::MemoryStore::new());
    let platform = Arc::new(RefusesWhileReconnected {
        store: store.clone(),
        account: std::sync::Mutex::new(None),
    });
    let e = TestEngine::with_ports(|b| {
        b.store(store.clone())
            .publisher(Platform::Facebook, platform.clone())
    });
    let (u, facebook) = merchant(&e).await;
    *platform.account.lock().unwrap() = Some((u.id(), facebook.id()));
    let post = due_post(&e, &u, &facebook).await;

    e.tick().await;

    let account = e.accounts().get(u.id(), facebook.id()).await.unwrap();
    assert!(
        !account.needs_reconnect(),
        "the refusal was of the token the account no longer has"
    );
    let held = reload(&e, &u, &post).await;
    assert_eq!(held.status(), PostStatus::Scheduled);
}
