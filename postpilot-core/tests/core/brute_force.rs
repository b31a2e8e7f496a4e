//! Brute force: the per-account failed-password throttle (login and the current-password check of
//! a profile change), on a manual clock; and the cap on concurrent password hashes.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::crypto::{
    Argon2Hasher, HashConcurrency, HashError, Password, PasswordHasher, Verification,
};
use postpilot_core::user::ProfilePatch;
use tokio::sync::Notify;

use crate::test_engine::TestEngine;

const PASSWORD: &str = "correct horse battery";
const WRONG: &str = "not the password";

/// A cheap argon2 hasher that counts its calls and how many ran at once, and can be told to
/// hold every call until released.
#[derive(Debug)]
struct ProbeHasher {
    inner: Argon2Hasher,
    calls: AtomicUsize,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
    hold: Mutex<Option<Arc<Notify>>>,
}

impl ProbeHasher {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: Argon2Hasher::with_params(64, 1, 1).unwrap(),
            calls: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            most_at_once: AtomicUsize::new(0),
            hold: Mutex::new(None),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Holds every call from now on until the returned switch is notified.
    fn hold(&self) -> Arc<Notify> {
        let release = Arc::new(Notify::new());
        *self.hold.lock().unwrap() = Some(release.clone());
        release
    }

    /// Stops holding calls and releases the held ones.
    fn release(&self, switch: &Notify) {
        *self.hold.lock().unwrap() = None;
        switch.notify_waiters();
    }

    /// Returns once a call is running.
    async fn running(&self) {
        while self.running.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
    }

    async fn probe<T>(&self, work: impl Future<Output = T>) -> T {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        let hold = self.hold.lock().unwrap().clone();
        if let Some(release) = hold {
            release.notified().await;
        }
        // Let every other request that can start do so while this one "runs".
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        let out = work.await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

#[async_trait]
impl PasswordHasher for ProbeHasher {
    async fn hash(&self, password: &Password) -> Result<String, HashError> {
        self.probe(self.inner.hash(password)).await
    }

    async fn verify(&self, password: &Password, stored: &str) -> Verification {
        self.probe(self.inner.verify(password, stored)).await
    }
}

fn engine_with(hasher: Arc<ProbeHasher>, slots: usize, max_wait_secs: u64) -> TestEngine {
    TestEngine::with_ports(|builder| {
        builder.hasher(hasher).hash_concurrency(HashConcurrency {
            slots: NonZeroUsize::new(slots).unwrap(),
            max_wait: StdDuration::from_secs(max_wait_secs),
        })
    })
}

fn retry_after(result: Result<impl std::fmt::Debug, Error>) -> u64 {
    match result {
        Err(Error::TooManyAttempts { retry_after }) => retry_after.as_secs(),
        other => panic!("expected TooManyAttempts, got {other:?}"),
    }
}

fn assert_unauthorized(result: Result<impl std::fmt::Debug, Error>) {
    assert!(
        matches!(result, Err(Error::Unauthorized)),
        "expected Unauthorized, got {result:?}"
    );
}

fn change_password(current: &str) -> ProfilePatch {
    ProfilePatch {
        password: Some("a brand new password".into()),
        current_password: Some(current.into()),
        ..ProfilePatch::default()
    }
}

// --- the failed-password throttle ---

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_and_the_lock_refuses_even_the_right_one_unhashed() {
    let hasher = ProbeHasher::new();
    let e = engine_with(hasher.clone(), 2, 2);
    e.user("merchant@example.com").await;
    for _ in 0..5 {
        assert_unauthorized(e.auth().login("merchant@example.com", WRONG).await);
    }
    let hashed = hasher.calls();

    let refused = e.auth().login("merchant@example.com", PASSWORD).await;

    assert_eq!(retry_after(refused), 1);
    assert_eq!(hasher.calls(), hashed, "a refusal must not hash");
}

#[tokio::test]
async fn the_lock_doubles_with_each_further_failure_and_a_success_clears_it() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;
    for _ in 0..5 {
        assert_unauthorized(e.auth().login("merchant@example.com", WRONG).await);
    }
    for lock in [2, 4, 8] {
        e.advance(Duration::seconds(lock / 2));
        assert_unauthorized(e.auth().login("merchant@example.com", WRONG).await);
        let refused = e.auth().login("merchant@example.com", PASSWORD).await;
        assert_eq!(retry_after(refused), u64::try_from(lock).unwrap());
    }
    e.advance(Duration::seconds(8));

    e.auth()
        .login("Merchant@Example.com ", PASSWORD)
        .await
        .unwrap();

    for _ in 0..4 {
        assert_unauthorized(e.auth().login("merchant@example.com", WRONG).await);
    }
    e.auth()
        .login("merchant@example.com", PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_email_is_throttled_exactly_like_a_registered_one() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;
    let mut answers = Vec::new();
    for email in ["merchant@example.com", "nobody@example.com"] {
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(e.auth().login(email, WRONG).await.unwrap_err().to_string());
        }
        answers.push(seen);
    }

    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][5], "too many attempts; retry in 1 s");
}

#[tokio::test]
async fn malformed_passwords_are_not_counted_but_are_refused_while_locked() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;
    for _ in 0..4 {
        assert_unauthorized(e.auth().login("merchant@example.com", WRONG).await);
    }
    for _ in 0..10 {
        assert_unauthorized(e.auth().login("merchant@example.com", "short").await);
    }
    assert_unauthorized(e.auth().login("merchant@example.com", WRONG).await);

    let refused = e.auth().login("merchant@example.com", "short").await;

    assert_eq!(retry_after(refused), 1);
}

#[tokio::test]
async fn wrong_current_passwords_on_a_profile_change_lock_it_like_failed_logins() {
    let hasher = ProbeHasher::new();
    let e = engine_with(hasher.clone(), 2, 2);
    let user = e.user("merchant@example.com").await;
    for _ in 0..5 {
        assert_unauthorized(e.auth().update_me(user.id(), change_password(WRONG)).await);
    }
    let hashed = hasher.calls();

    let refused = e
        .auth()
        .update_me(user.id(), change_password(PASSWORD))
        .await;

    assert_eq!(retry_after(refused), 1);
    assert_eq!(hasher.calls(), hashed, "a refusal must not hash");
    e.advance(Duration::seconds(1));
    e.auth()
        .update_me(user.id(), change_password(PASSWORD))
        .await
        .unwrap();
}

// --- the cap on concurrent hashes ---

#[tokio::test(start_paused = true)]
async fn a_login_that_finds_no_hashing_slot_within_the_wait_is_overloaded_and_not_counted() {
    let hasher = ProbeHasher::new();
    let e = Arc::new(engine_with(hasher.clone(), 1, 2));
    e.user("merchant@example.com").await;
    let release = hasher.hold();
    let first = {
        let e = e.clone();
        tokio::spawn(async move { e.auth().login("merchant@example.com", WRONG).await })
    };
    hasher.running().await;

    let started = tokio::time::Instant::now();
    let second = tokio::time::timeout(
        StdDuration::from_secs(60),
        e.auth().login("merchant@example.com", PASSWORD),
    )
    .await
    .expect("the second login must give up on its own");

    assert!(started.elapsed() >= StdDuration::from_secs(2));
    match second {
        Err(Error::Overloaded { what, retry_after }) => {
            assert_eq!(what, "password hasher");
            assert_eq!(retry_after, StdDuration::from_secs(2));
        }
        other => panic!("expected Overloaded, got {other:?}"),
    }
    hasher.release(&release);
    assert_unauthorized(first.await.unwrap());
    for _ in 0..3 {
        assert_unauthorized(e.auth().login("merchant@example.com", WRONG).await);
    }
    e.auth()
        .login("merchant@example.com", PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_burst_of_registrations_never_runs_more_hashes_at_once_than_there_are_slots() {
    let hasher = ProbeHasher::new();
    let e = Arc::new(engine_with(hasher.clone(), 2, 600));
    let burst: Vec<_> = (0..12)
        .map(|i| {
            let e = e.clone();
            tokio::spawn(async move {
                e.auth()
                    .register(&format!("user{i}@example.com"), PASSWORD)
                    .await
            })
        })
        .collect();

    for registration in burst {
        registration.await.unwrap().unwrap();
    }

    assert_eq!(hasher.calls(), 12);
    assert_eq!(hasher.most_at_once.load(Ordering::SeqCst), 2);
}
