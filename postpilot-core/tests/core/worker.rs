//! The long-running worker (`Dispatcher::run_until`): it keeps a bounded number of posts in
//! flight, one per account, and claims more as they settle — so one account's slow or hanging
//! platform never holds the others back, an account's posts go out one at a time and in order,
//! and an account whose platform just failed is left alone until its retry time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use postpilot_core::account::SocialAccount;
use postpilot_core::analytics::MetricCounts;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, Post, PostStatus, Published};
use postpilot_core::publish::{
    DispatcherConfig, MetricsRequest, Progress, PublishError, PublishRequest, Publisher,
    WorkerConfig, WorkerTotals,
};
use postpilot_core::user::User;

use crate::test_engine::{TestEngine, create_post};

#[derive(Debug, Default)]
struct GateState {
    /// Accounts (external ids) whose calls wait until they are released.
    blocked: HashSet<String>,
    /// Accounts whose next call fails temporarily.
    fail_next: HashSet<String>,
    in_flight: HashMap<String, usize>,
    max_in_flight: HashMap<String, usize>,
    in_flight_total: usize,
    max_in_flight_total: usize,
    /// Every call: account and caption, in the order they started.
    calls: Vec<(String, String)>,
}

/// A platform that takes 20 ms per call, can hang one account's calls until released or fail
/// one call, and records how many calls ran at once, per account and in all.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
}

impl Gate {
    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap()
    }

    fn block(&self, account: &str) {
        self.state().blocked.insert(account.into());
    }

    fn release(&self, account: &str) {
        self.state().blocked.remove(account);
    }

    fn calls_of(&self, account: &str) -> Vec<String> {
        let state = self.state();
        let calls = state.calls.iter().filter(|(a, _)| a == account);
        calls.map(|(_, caption)| caption.clone()).collect()
    }
}

#[async_trait::async_trait]
impl Publisher for Gate {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        let account = request.account_external_id.clone();
        let fail = {
            let mut s = self.state();
            s.calls.push((account.clone(), request.caption.clone()));
            let n = s.in_flight.entry(account.clone()).or_default();
            *n += 1;
            let n = *n;
            let max = s.max_in_flight.entry(account.clone()).or_default();
            *max = (*max).max(n);
            s.in_flight_total += 1;
            s.max_in_flight_total = s.max_in_flight_total.max(s.in_flight_total);
            s.fail_next.remove(&account)
        };
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        while self.state().blocked.contains(&account) {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        {
            let mut s = self.state();
            *s.in_flight.entry(account.clone()).or_default() -= 1;
            s.in_flight_total -= 1;
        }
        if fail {
            return Err(PublishError::Retryable {
                reason: "503 Service Unavailable".into(),
                after: None,
            });
        }
        Ok(Progress::Published(Published {
            remote_id: request.idempotency_key.clone(),
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

/// A worker over `e` running in the background (4 slots, a 20 ms poll), and its stop switch.
fn start(
    e: &TestEngine,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<WorkerTotals>,
) {
    let worker = e
        .dispatcher(
            "pipelined",
            DispatcherConfig {
                batch_size: 4,
                ..DispatcherConfig::default()
            },
        )
        .unwrap();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        poll_interval: Duration::milliseconds(20),
        ..WorkerConfig::default()
    };
    let handle = tokio::spawn(async move {
        worker
            .run_until(config, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    (stop, handle)
}

/// Waits (up to 10 s) until `done` holds of the user's posts.
async fn until(e: &TestEngine, u: &User, what: &str, done: impl Fn(&[Post]) -> bool) {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        if done(&e.posts_of(u).await) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
}

fn status_of(posts: &[Post], id: &Post) -> Option<PostStatus> {
    posts.iter().find(|p| p.id() == id.id()).map(Post::status)
}

/// A post of `account` (external id `external`), due now, whose platform call will hang.
async fn hanging_post(
    gate: &Gate,
    e: &TestEngine,
    u: &User,
    account: &SocialAccount,
    external: &str,
) -> Post {
    gate.block(external);
    let post = e
        .post(u, account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(1));
    post
}

fn gated() -> (Arc<Gate>, TestEngine) {
    let gate = Arc::new(Gate::default());
    let e = TestEngine::with_ports(|b| b.publisher(Platform::Facebook, gate.clone()));
    (gate, e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_accounts_post_holds_only_its_own_slot_while_other_accounts_keep_publishing() {
    let (gate, e) = gated();
    let u = e.pro_user("shop@example.com").await;
    let stuck = e.connect(&u, Platform::Facebook, "stuck").await;
    let free = e.connect(&u, Platform::Facebook, "free").await;
    let hung = hanging_post(&gate, &e, &u, &stuck, "stuck").await;
    let (stop, worker) = start(&e);
    while gate.calls_of("stuck").is_empty() {
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }

    // Posts falling due while the stuck call is in flight are claimed and published.
    let mut later = Vec::new();
    for _ in 0..3 {
        later.push(
            e.post(&u, &free, Some(e.now() + Duration::minutes(1)))
                .await,
        );
    }
    e.advance(Duration::minutes(1));
    until(&e, &u, "the other account's posts are published", |posts| {
        later
            .iter()
            .all(|p| status_of(posts, p) == Some(PostStatus::Posted))
    })
    .await;
    assert_eq!(
        status_of(&e.posts_of(&u).await, &hung),
        Some(PostStatus::Publishing),
        "the stuck post is still in flight"
    );
    assert_eq!(gate.calls_of("stuck").len(), 1);

    gate.release("stuck");
    until(&e, &u, "the stuck post is published", |posts| {
        status_of(posts, &hung) == Some(PostStatus::Posted)
    })
    .await;
    stop.send(true).unwrap();
    assert_eq!(worker.await.unwrap().posted, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_posts_go_out_one_at_a_time_in_order_while_accounts_run_side_by_side() {
    let (gate, e) = gated();
    let u = e.pro_user("shop@example.com").await;
    let a = e.connect(&u, Platform::Facebook, "a").await;
    let b = e.connect(&u, Platform::Facebook, "b").await;
    let mut expected: HashMap<&str, Vec<String>> = HashMap::new();
    for minute in 1..=3 {
        for (account, name) in [(&a, "a"), (&b, "b")] {
            let caption = format!("{name}'s post due at minute {minute}");
            let request = CreatePost {
                content: caption.clone(),
                ..create_post(account, Some(e.now() + Duration::minutes(minute)))
            };
            e.posts().create(u.id(), request).await.unwrap();
            expected.entry(name).or_default().push(caption);
        }
    }
    e.advance(Duration::minutes(3));
    let (stop, worker) = start(&e);

    until(&e, &u, "every post is published", |posts| {
        posts.iter().all(|p| p.status() == PostStatus::Posted)
    })
    .await;
    stop.send(true).unwrap();
    assert_eq!(worker.await.unwrap().posted, 6);

    let state = gate.state();
    assert_eq!(
        state.max_in_flight.get("a"),
        Some(&1),
        "never two of a's posts at once"
    );
    assert_eq!(
        state.max_in_flight.get("b"),
        Some(&1),
        "never two of b's posts at once"
    );
    assert_eq!(
        state.max_in_flight_total, 2,
        "a and b were published side by side"
    );
    drop(state);
    for name in ["a", "b"] {
        assert_eq!(
            gate.calls_of(name),
            expected[name],
            "{name}'s posts in their order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_whose_platform_just_failed_is_left_alone_until_its_retry_time() {
    let (gate, e) = gated();
    let u = e.pro_user("shop@example.com").await;
    let failing = e.connect(&u, Platform::Facebook, "failing").await;
    let healthy = e.connect(&u, Platform::Facebook, "healthy").await;
    gate.state().fail_next.insert("failing".into());
    let at = e.now() + Duration::minutes(1);
    let first = e.post(&u, &failing, Some(at)).await;
    let second = e.post(&u, &failing, Some(at)).await;
    let others = [
        e.post(&u, &healthy, Some(at)).await,
        e.post(&u, &healthy, Some(at)).await,
    ];
    e.advance(Duration::minutes(1));
    let (stop, worker) = start(&e);

    until(
        &e,
        &u,
        "the healthy account's posts are out and the failure is settled",
        |posts| {
            others
                .iter()
                .all(|p| status_of(posts, p) == Some(PostStatus::Posted))
                && posts
                    .iter()
                    .any(|p| p.account_id() == failing.id() && p.error_message().is_some())
        },
    )
    .await;
    // Several claims go by (a 20 ms poll); none may send the account's other post.
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(
        gate.calls_of("failing").len(),
        1,
        "held until the retry time"
    );

    e.advance(Duration::minutes(5));
    until(
        &e,
        &u,
        "both of the failed account's posts are out",
        |posts| {
            [&first, &second]
                .iter()
                .all(|p| status_of(posts, p) == Some(PostStatus::Posted))
        },
    )
    .await;
    stop.send(true).unwrap();
    let totals = worker.await.unwrap();
    assert_eq!((totals.posted, totals.retried), (4, 1));
    assert_eq!(gate.calls_of("failing").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_first_settles_the_post_it_has_in_flight() {
    let (gate, e) = gated();
    let u = e.pro_user("shop@example.com").await;
    let slow = e.connect(&u, Platform::Facebook, "slow").await;
    let post = hanging_post(&gate, &e, &u, &slow, "slow").await;
    let (stop, worker) = start(&e);
    while gate.calls_of("slow").is_empty() {
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }

    stop.send(true).unwrap();
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    assert!(
        !worker.is_finished(),
        "the worker waits for its post in flight"
    );
    gate.release("slow");

    assert_eq!(worker.await.unwrap().posted, 1);
    assert_eq!(
        status_of(&e.posts_of(&u).await, &post),
        Some(PostStatus::Posted)
    );
}
