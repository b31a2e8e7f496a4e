//! Multi-step publications (an Instagram container, a TikTok upload): parked while the platform
//! processes, resumed from their checkpoint after a wait, a retry or a crash, and published
//! exactly once whichever step a worker dies at.

use postpilot_core::post::Duplicates;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::analytics::MetricCounts;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus, Published};
use postpilot_core::publish::{
    Checkpoint, DispatcherConfig, MetricsRequest, Progress, PublishError, PublishRequest,
    Publisher, SIMULATED_POLL_INTERVAL, SimulatedPublisher,
};

use crate::test_engine::TestEngine;

/// A post of a merchant's Facebook account, due now.
async fn due_post(e: &TestEngine) -> (postpilot_core::user::User, Post) {
    let u = e.user("merchant@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let post = e
        .post(&u, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(1));
    (u, post)
}

async fn reload(e: &TestEngine, u: &postpilot_core::user::User, post: &Post) -> Post {
    e.posts().get(u.id(), post.id()).await.unwrap()
}

#[tokio::test]
async fn a_processing_post_frees_the_worker_and_is_published_once_when_ready() {
    let e = TestEngine::new();
    e.facebook.set_processing(3);
    let (u, post) = due_post(&e).await;

    let first = e.tick().await;
    assert_eq!((first.claimed, first.processing, first.posted), (1, 1, 0));
    assert_eq!(
        e.tick().await.claimed,
        0,
        "nothing to do until the poll time"
    );
    let mut polls = 0;
    while reload(&e, &u, &post).await.status() == PostStatus::Publishing {
        e.advance(SIMULATED_POLL_INTERVAL);
        e.tick().await;
        polls += 1;
        assert!(polls <= 3, "published at the third poll");
    }

    assert_eq!(polls, 3);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(stored.status(), PostStatus::Posted);
    assert_eq!(
        stored.attempts(),
        0,
        "waiting on the platform is not a failed attempt"
    );
    assert_eq!(e.facebook.containers(), 1);
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
}

#[tokio::test]
async fn a_post_part_way_onto_the_platform_can_be_neither_edited_nor_deleted() {
    let e = TestEngine::new();
    e.facebook.set_processing(2);
    let (u, post) = due_post(&e).await;
    e.tick().await;

    let edit = e
        .posts()
        .update(
            u.id(),
            post.id(),
            postpilot_core::post::PostPatch {
                content: Some("changed after the container was made".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let delete = e.posts().delete(u.id(), post.id()).await.unwrap_err();

    for err in [edit, delete] {
        assert!(
            matches!(err, Error::InvalidTransition(ref t) if t.from == "publishing"),
            "{err:?}"
        );
    }
    assert_eq!(
        reload(&e, &u, &post).await.content().as_ref(),
        post.content().as_ref()
    );
}

#[tokio::test]
async fn a_transient_failure_while_processing_resumes_the_same_container() {
    let e = TestEngine::new();
    e.facebook.set_processing(1);
    let (u, post) = due_post(&e).await;
    e.tick().await;
    e.advance(SIMULATED_POLL_INTERVAL);
    e.facebook.fail_next(PublishError::Retryable {
        reason: "502 Bad Gateway".into(),
        after: None,
    });

    assert_eq!(e.tick().await.retried, 1);
    let retrying = reload(&e, &u, &post).await;
    assert_eq!(retrying.status(), PostStatus::Publishing);
    assert_eq!(retrying.attempts(), 1);
    e.advance(Duration::minutes(5));
    assert_eq!(e.tick().await.posted, 1);

    assert_eq!(e.facebook.containers(), 1, "no second container");
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
}

#[tokio::test]
async fn a_failed_post_rescheduled_by_the_merchant_starts_a_fresh_publication() {
    let e = TestEngine::new();
    e.facebook.set_processing(1);
    let (u, post) = due_post(&e).await;
    e.tick().await;
    e.advance(SIMULATED_POLL_INTERVAL);
    e.facebook.fail_next(PublishError::Rejected {
        reason: "the media could not be processed (2207026)".into(),
    });
    assert_eq!(e.tick().await.failed, 1);
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Failed);

    let at = e.now() + Duration::minutes(1);
    e.posts()
        .schedule(u.id(), post.id(), at, Duplicates::Refuse)
        .await
        .unwrap();
    e.advance(Duration::minutes(1));
    e.tick().await;
    e.advance(SIMULATED_POLL_INTERVAL);
    assert_eq!(e.tick().await.posted, 1);

    assert_eq!(
        e.facebook.containers(),
        2,
        "the failed container is not reused"
    );
    assert_eq!(e.facebook.published_count(&post.idempotency_key()), 1);
}

/// A publisher that never finishes: every call asks to store a new checkpoint and go on.
#[derive(Debug, Default)]
struct Endless {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Publisher for Endless {
    async fn publish(&self, _: &PublishRequest) -> Result<Progress, PublishError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Progress::Continue(Checkpoint::new(
            serde_json::json!({ "step": n }),
        )))
    }

    async fn lookup(&self, _: &str) -> Result<Option<Published>, PublishError> {
        Ok(None)
    }

    async fn fetch_metrics(&self, _: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        Ok(MetricCounts::default())
    }
}

#[tokio::test]
async fn a_publisher_that_never_finishes_is_retried_later_not_looped() {
    let endless = Arc::new(Endless::default());
    let e = TestEngine::with_ports(|b| b.publisher(Platform::Facebook, endless.clone()));
    let (u, post) = due_post(&e).await;

    let report = e.tick().await;

    assert_eq!(report.retried, 1);
    assert_eq!(endless.calls.load(Ordering::SeqCst), 8);
    let stored = reload(&e, &u, &post).await;
    assert_eq!(
        stored.status(),
        PostStatus::Publishing,
        "kept with its checkpoint"
    );
    assert!(stored.error_message().unwrap().contains("no progress"));
}

/// A simulated container flow whose worker "dies" at one call: before the call reaches the
/// platform, or after the platform acted but before the answer is seen. The call then never
/// returns, and the test drops the tick — all a killed worker leaves behind is its claim.
#[derive(Debug)]
struct DiesAt {
    inner: Arc<SimulatedPublisher>,
    call: usize,
    after_effect: bool,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Publisher for DiesAt {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == self.call {
            if self.after_effect {
                let _effect = self.inner.publish(request).await;
            }
            std::future::pending::<()>().await;
        }
        self.inner.publish(request).await
    }

    async fn lookup(&self, key: &str) -> Result<Option<Published>, PublishError> {
        self.inner.lookup(key).await
    }

    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        self.inner.fetch_metrics(request).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_worker_killed_at_any_step_leaves_the_post_published_exactly_once() {
    // The flow: create the container (waits), poll it (store the checkpoint), publish it.
    for call in 0..3 {
        for after_effect in [false, true] {
            let simulated = Arc::new(SimulatedPublisher::new(Platform::Facebook));
            simulated.set_processing(1);
            let dies = Arc::new(DiesAt {
                inner: simulated.clone(),
                call,
                after_effect,
                calls: AtomicUsize::new(0),
            });
            let e = TestEngine::with_ports(|b| b.publisher(Platform::Facebook, dies.clone()));
            let (u, post) = due_post(&e).await;
            let case = format!("killed at call {call}, after its effect: {after_effect}");

            for round in 0..20 {
                let worker = e
                    .dispatcher(format!("worker-{round}"), DispatcherConfig::default())
                    .unwrap();
                // A killed worker: its tick is dropped mid-call (the test clock runs ahead to
                // the timeout at once, as nothing else is pending).
                let _killed =
                    tokio::time::timeout(std::time::Duration::from_secs(1), worker.run_once())
                        .await;
                if reload(&e, &u, &post).await.status() == PostStatus::Posted {
                    break;
                }
                // Past any lease, poll time or retry delay of the rounds so far.
                e.advance(Duration::minutes(3));
            }

            let stored = reload(&e, &u, &post).await;
            assert_eq!(stored.status(), PostStatus::Posted, "{case}");
            assert_eq!(
                simulated.published_count(&post.idempotency_key()),
                1,
                "{case}"
            );
            assert_eq!(simulated.total_published(), 1, "{case}");
            assert!(
                simulated.containers() <= 2,
                "{case}: at most one orphan container"
            );
        }
    }
}

/// A two-step publisher that, when called to publish, reads what the store holds of the post:
/// the checkpoint it asked to store must be there already.
#[derive(Debug)]
struct ChecksTheStore {
    store: Arc<postpilot_core::store::MemoryStore>,
    seen: std::sync::Mutex<Option<Option<Checkpoint>>>,
}

#[async_trait::async_trait]
impl Publisher for ChecksTheStore {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        let Some(checkpoint) = &request.checkpoint else {
            return Ok(Progress::Continue(Checkpoint::new(
                serde_json::json!({ "upload": "u-1" }),
            )));
        };
        let stored = postpilot_core::store::PostStore::post(
            self.store.as_ref(),
            request.user_id,
            request.post_id,
        )
        .await
        .unwrap()
        .unwrap();
        *self.seen.lock().unwrap() = Some(stored.checkpoint().cloned());
        Ok(Progress::Published(Published {
            remote_id: checkpoint.state()["upload"].as_str().unwrap().to_owned(),
            url: None,
        }))
    }

    async fn lookup(&self, _: &str) -> Result<Option<Published>, PublishError> {
        Ok(None)
    }

    async fn fetch_metrics(&self, _: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        Ok(MetricCounts::default())
    }
}

#[tokio::test]
async fn a_checkpoint_is_stored_before_the_step_that_makes_the_post_public() {
    let store = Arc::new(postpilot_core::store::MemoryStore::new());
    let checks = Arc::new(ChecksTheStore {
        store: store.clone(),
        seen: std::sync::Mutex::new(None),
    });
    let e = TestEngine::with_ports(|b| {
        b.store(store.clone())
            .publisher(Platform::Facebook, checks.clone())
    });
    let (u, post) = due_post(&e).await;

    assert_eq!(e.tick().await.posted, 1);

    let seen = checks.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        Some(Some(Checkpoint::new(
            serde_json::json!({ "upload": "u-1" })
        ))),
        "the store held the checkpoint when the publishing call was made"
    );
    assert_eq!(reload(&e, &u, &post).await.external_id(), Some("u-1"));
}

/// A publisher that publishes at once and records every metrics request it receives.
#[derive(Debug, Default)]
struct RecordsMetrics {
    requests: std::sync::Mutex<Vec<MetricsRequest>>,
}

#[async_trait::async_trait]
impl Publisher for RecordsMetrics {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        Ok(Progress::Published(Published {
            remote_id: format!("remote-{}", request.post_id),
            url: None,
        }))
    }

    async fn lookup(&self, _: &str) -> Result<Option<Published>, PublishError> {
        Ok(None)
    }

    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        self.requests.lock().unwrap().push(request.clone());
        Ok(MetricCounts {
            impressions: 10,
            ..MetricCounts::default()
        })
    }
}

#[tokio::test]
async fn metrics_are_read_with_the_accounts_token_and_not_for_a_disconnected_account() {
    let records = Arc::new(RecordsMetrics::default());
    let e = TestEngine::with_ports(|b| b.publisher(Platform::Facebook, records.clone()));
    let u = e.pro_user("merchant@example.com").await;
    let mut connect = crate::test_engine::connect_request(Platform::Facebook, "page-1");
    connect.access_token = Some(postpilot_core::crypto::SecretString::new("page-token-1"));
    let kept = e.accounts().connect(u.id(), connect).await.unwrap();
    let gone = e.connect(&u, Platform::Facebook, "page-2").await;
    for account in [&kept, &gone] {
        e.post(&u, account, Some(e.now() + Duration::minutes(1)))
            .await;
    }
    e.advance(Duration::minutes(1));
    assert_eq!(e.tick().await.posted, 2);
    e.accounts().disconnect(u.id(), gone.id()).await.unwrap();

    let refreshed = e
        .dispatcher("metrics", DispatcherConfig::default())
        .unwrap()
        .refresh_metrics(Duration::hours(1), 100)
        .await
        .unwrap();

    assert_eq!(refreshed, 1);
    let requests = records.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].account_external_id, "page-1");
    assert_eq!(
        requests[0].access_token.as_ref().map(|t| t.expose()),
        Some("page-token-1")
    );
}

#[tokio::test(start_paused = true)]
async fn a_rescued_post_of_an_account_awaiting_reconnection_is_looked_up_before_it_is_held() {
    // One-step publishing; the worker dies after the platform published.
    let simulated = Arc::new(SimulatedPublisher::new(Platform::Facebook));
    let dies = Arc::new(DiesAt {
        inner: simulated.clone(),
        call: 0,
        after_effect: true,
        calls: AtomicUsize::new(0),
    });
    let e = TestEngine::with_ports(|b| b.publisher(Platform::Facebook, dies.clone()));
    let (u, post) = due_post(&e).await;
    let worker = e.dispatcher("dies", DispatcherConfig::default()).unwrap();
    let _killed = tokio::time::timeout(std::time::Duration::from_secs(1), worker.run_once()).await;
    // Meanwhile the platform revoked the account's authorization (another post met it).
    postpilot_core::store::AccountStore::mark_needs_reconnect(
        e.store.as_ref(),
        u.id(),
        post.account_id(),
        e.now(),
    )
    .await
    .unwrap();
    e.advance(Duration::minutes(3));

    let report = e.tick().await;

    assert_eq!(report.reconciled, 1, "{report:?}");
    assert_eq!(reload(&e, &u, &post).await.status(), PostStatus::Posted);
    assert_eq!(simulated.published_count(&post.idempotency_key()), 1);
}
