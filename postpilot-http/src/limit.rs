//! Rate limiting: a token bucket per key (user, API key, or client address), refilled
//! continuously. No extra dependency, no background task: stale buckets are pruned as the map
//! grows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets of `capacity` requests, refilled at `capacity` per minute.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    pub(crate) fn per_minute(capacity: u32) -> Self {
        let capacity = f64::from(capacity.max(1));
        Self {
            capacity,
            per_second: capacity / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key`; `Err(seconds)` to wait when the bucket is empty.
    pub(crate) fn check(&self, key: &str) -> Result<(), u64> {
        self.take_at(key, Instant::now(), true)
    }

    /// Whether `key` has a request left, without taking it (for budgets spent only on failure).
    pub(crate) fn peek(&self, key: &str) -> Result<(), u64> {
        self.take_at(key, Instant::now(), false)
    }

    #[cfg(test)]
    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        self.take_at(key, now, true)
    }

    fn take_at(&self, key: &str, now: Instant, take: bool) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            let full_after = self.capacity / self.per_second;
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < full_after);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            if take {
                bucket.tokens -= 1.0;
            }
            Ok(())
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wait = ((1.0 - bucket.tokens) / self.per_second).ceil() as u64;
            Err(wait.max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_key_gets_its_capacity_then_waits_for_the_refill() {
        let limiter = RateLimiter::per_minute(3);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", t).is_ok());
        }
        assert_eq!(limiter.check_at("a", t), Err(20));
        assert!(limiter.check_at("b", t).is_ok(), "keys are independent");
        assert!(limiter.check_at("a", t + Duration::from_secs(20)).is_ok());
        assert!(limiter.check_at("a", t + Duration::from_secs(20)).is_err());
    }
}
