//! The failed-password throttle: per account, not per address, so that spreading guesses over
//! many addresses (or hiding them behind one proxy) buys nothing.
//!
//! Every checked attempt counts as a failure from the moment it starts, and a success clears the
//! account. From the `free_failures`-th consecutive failure on, the account is locked for a delay
//! that starts at `base_delay` and doubles with each further failure, up to `max_delay`. While it
//! is locked, attempts are refused before any password is hashed: a refusal costs a map lookup,
//! and it does not count (refusals cannot be used to extend someone else's lock further). An
//! unknown e-mail is counted exactly like a known one, so the answers tell nothing about which
//! accounts exist.
//!
//! Counting at the start, not at the end, closes the race of many concurrent guesses all passing
//! the check before the first failure is recorded: at most `free_failures` checks can be in
//! flight for a locked-out account.
//!
//! The state lives in this process's memory: every server process counts on its own, and a
//! restart forgets (see `docs/DECISIONS.md`, "Hardening").

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::id::UserId;
use crate::user::Email;

/// The failed-password throttle's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottlePolicy {
    /// Consecutive failures allowed before the first lock (default 5; at least 1 is used).
    pub free_failures: u32,
    /// The first lock (default 1 s); each further failure doubles it.
    pub base_delay: Duration,
    /// The longest lock (default 15 min).
    pub max_delay: Duration,
    /// An account with no failure for this long starts again from zero (default 24 h).
    pub forget_after: Duration,
}

impl Default for LoginThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            forget_after: Duration::hours(24),
        }
    }
}

impl LoginThrottlePolicy {
    /// How long an account stays locked after its `failures`-th consecutive failure (zero while
    /// under `free_failures`).
    fn lock_after(&self, failures: u32) -> Duration {
        let free = self.free_failures.max(1);
        if failures < free {
            return Duration::zero();
        }
        let max = self.max_delay.max(Duration::zero());
        let base = self.base_delay.max(Duration::zero()).min(max);
        // base · 2^(failures − free), capped (2^30 base delays is past any sensible cap).
        let doublings = (failures - free).min(30);
        base.checked_mul(1 << doublings).map_or(max, |d| d.min(max))
    }
}

/// Whose password is being checked: the normalised e-mail typed at login, or the signed-in user
/// re-entering their current password. Only a SHA-256 of it is kept, so the map holds neither
/// the e-mail addresses an attacker tried nor more than 32 bytes per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AccountKey([u8; 32]);

impl AccountKey {
    pub(crate) fn login(email: &Email) -> Self {
        Self::of("login", email.as_ref().as_bytes())
    }

    pub(crate) fn reauthentication(user: UserId) -> Self {
        Self::of("user", user.as_uuid().as_bytes())
    }

    fn of(kind: &str, id: &[u8]) -> Self {
        let mut digest = Sha256::new();
        digest.update(kind.as_bytes());
        digest.update([0]);
        digest.update(id);
        Self(digest.finalize().into())
    }
}

#[derive(Clone, Copy, Debug)]
struct Record {
    failures: u32,
    last_failure: DateTime<Utc>,
    locked_until: DateTime<Utc>,
}

/// Above this many accounts, forgotten ones are dropped; if that is not enough, the ones that are
/// not locked, then the longest-quiet ones, down to three quarters of it (≈ 80 bytes a record).
const MAX_RECORDS: usize = 100_000;

/// The throttle's state: one record per account with a recent failure.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    policy: LoginThrottlePolicy,
    records: Mutex<HashMap<AccountKey, Record>>,
}

impl LoginThrottle {
    pub(crate) fn new(policy: LoginThrottlePolicy) -> Self {
        Self {
            policy,
            records: Mutex::new(HashMap::new()),
        }
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<AccountKey, Record>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses an attempt for a locked account, without counting it.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`] while `key` is locked.
    pub(crate) fn check(&self, key: AccountKey, now: DateTime<Utc>) -> Result<(), Error> {
        match self.records().get(&key) {
            Some(record) => refuse_if_locked(record, now),
            None => Ok(()),
        }
    }

    /// Starts a checked attempt: refuses it if `key` is locked, otherwise counts it as a failure
    /// (locking the account if that reaches the limit) until [`succeeded`](Self::succeeded)
    /// clears it.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`] while `key` is locked.
    pub(crate) fn begin(&self, key: AccountKey, now: DateTime<Utc>) -> Result<(), Error> {
        let mut records = self.records();
        if records.len() >= MAX_RECORDS && !records.contains_key(&key) {
            self.prune(&mut records, now);
        }
        let record = records.entry(key).or_insert(Record {
            failures: 0,
            last_failure: now,
            locked_until: now,
        });
        refuse_if_locked(record, now)?;
        if now - record.last_failure >= self.policy.forget_after {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        record.locked_until = now + self.policy.lock_after(record.failures);
        Ok(())
    }

    /// The password was right: the account starts again from zero.
    pub(crate) fn succeeded(&self, key: AccountKey) {
        self.records().remove(&key);
    }

    fn prune(&self, records: &mut HashMap<AccountKey, Record>, now: DateTime<Utc>) {
        let forget_after = self.policy.forget_after;
        records.retain(|_, r| now - r.last_failure < forget_after);
        if records.len() >= MAX_RECORDS {
            records.retain(|_, r| r.locked_until > now);
        }
        let keep = MAX_RECORDS / 4 * 3;
        if records.len() > keep {
            let mut quiet: Vec<(DateTime<Utc>, AccountKey)> =
                records.iter().map(|(k, r)| (r.last_failure, *k)).collect();
            let drop = records.len() - keep;
            quiet.select_nth_unstable_by_key(drop - 1, |(last_failure, _)| *last_failure);
            for (_, key) in &quiet[..drop] {
                records.remove(key);
            }
        }
    }
}

fn refuse_if_locked(record: &Record, now: DateTime<Utc>) -> Result<(), Error> {
    if record.locked_until <= now {
        return Ok(());
    }
    let wait = (record.locked_until - now).to_std().unwrap_or_default();
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Err(Error::TooManyAttempts {
        retry_after: std::time::Duration::from_secs(secs.max(1)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
    }

    fn key(email: &str) -> AccountKey {
        AccountKey::login(&Email::normalized(email))
    }

    fn retry_after(result: Result<(), Error>) -> u64 {
        match result {
            Err(Error::TooManyAttempts { retry_after }) => retry_after.as_secs(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Fails `n` attempts at `at`, each allowed.
    fn fail(throttle: &LoginThrottle, key: AccountKey, at: DateTime<Utc>, n: u32) {
        for i in 0..n {
            assert!(throttle.begin(key, at).is_ok(), "attempt {i} refused");
        }
    }

    #[test]
    fn the_lock_doubles_from_the_fifth_failure_up_to_fifteen_minutes() {
        let policy = LoginThrottlePolicy::default();
        let locks: Vec<i64> = (1..=16)
            .map(|n| policy.lock_after(n).num_seconds())
            .collect();
        assert_eq!(
            locks,
            [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
        );
        assert_eq!(policy.lock_after(u32::MAX), Duration::minutes(15));
    }

    #[test]
    fn four_failures_leave_the_account_open_and_the_fifth_locks_it_for_a_second() {
        let throttle = LoginThrottle::new(LoginThrottlePolicy::default());
        let a = key("a@example.com");
        fail(&throttle, a, t0(), 4);
        assert!(throttle.check(a, t0()).is_ok());

        fail(&throttle, a, t0(), 1);

        assert_eq!(retry_after(throttle.check(a, t0())), 1);
        assert_eq!(retry_after(throttle.begin(a, t0())), 1);
        assert!(throttle.check(a, t0() + Duration::seconds(1)).is_ok());
    }

    #[test]
    fn each_failure_after_the_lock_doubles_it_and_refusals_do_not_count() {
        let throttle = LoginThrottle::new(LoginThrottlePolicy::default());
        let a = key("a@example.com");
        let mut now = t0();
        fail(&throttle, a, now, 5);
        for expected in [2, 4, 8, 16] {
            now += Duration::seconds(expected / 2);
            fail(&throttle, a, now, 1);
            for _ in 0..3 {
                assert_eq!(
                    retry_after(throttle.begin(a, now)),
                    u64::try_from(expected).unwrap()
                );
            }
        }
    }

    #[test]
    fn the_wait_is_rounded_up_to_whole_seconds() {
        let throttle = LoginThrottle::new(LoginThrottlePolicy::default());
        let a = key("a@example.com");
        fail(&throttle, a, t0(), 5);
        let sixth = t0() + Duration::seconds(1);
        fail(&throttle, a, sixth, 1);

        assert_eq!(
            retry_after(throttle.check(a, sixth + Duration::milliseconds(500))),
            2
        );
        assert_eq!(
            retry_after(throttle.check(a, sixth + Duration::milliseconds(1_999))),
            1
        );
    }

    #[test]
    fn a_success_clears_the_account() {
        let throttle = LoginThrottle::new(LoginThrottlePolicy::default());
        let a = key("a@example.com");
        fail(&throttle, a, t0(), 4);

        throttle.succeeded(a);

        fail(&throttle, a, t0(), 4);
        assert!(throttle.check(a, t0()).is_ok());
    }

    #[test]
    fn accounts_are_throttled_independently_and_by_normalised_email() {
        let throttle = LoginThrottle::new(LoginThrottlePolicy::default());
        fail(&throttle, key("a@example.com"), t0(), 5);

        assert!(throttle.check(key(" A@Example.COM "), t0()).is_err());
        assert!(throttle.check(key("b@example.com"), t0()).is_ok());
        let user = UserId::from(uuid::Uuid::nil());
        assert!(
            throttle
                .check(AccountKey::reauthentication(user), t0())
                .is_ok()
        );
    }

    #[test]
    fn failures_older_than_the_forget_window_no_longer_count() {
        let throttle = LoginThrottle::new(LoginThrottlePolicy::default());
        let a = key("a@example.com");
        fail(&throttle, a, t0(), 4);

        let later = t0() + Duration::hours(24);
        fail(&throttle, a, later, 4);

        assert!(throttle.check(a, later).is_ok());
    }

    #[test]
    fn a_full_map_drops_forgotten_and_unlocked_accounts_before_locked_ones() {
        let throttle = LoginThrottle::new(LoginThrottlePolicy::default());
        let locked = key("victim@example.com");
        fail(&throttle, locked, t0(), 5);
        {
            let mut records = throttle.records();
            for i in 0..MAX_RECORDS {
                let record = Record {
                    failures: 1,
                    last_failure: t0(),
                    locked_until: t0(),
                };
                records.insert(key(&format!("spray{i}@example.com")), record);
            }
        }

        throttle
            .begin(key("new@example.com"), t0() + Duration::milliseconds(500))
            .unwrap();

        let records = throttle.records();
        assert!(
            records.len() <= MAX_RECORDS / 4 * 3 + 1,
            "{}",
            records.len()
        );
        assert!(records.contains_key(&locked));
    }
}
