//! One delivery of an event to an endpoint: the port that makes the HTTP call, what an attempt
//! can end in, and when a failed one is tried again (the Standard Webhooks retry schedule,
//! with jitter, never sooner than the receiver's `Retry-After`).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::event::EndpointUrl;
use crate::event::signature::SignedHeaders;

/// How long a delivery may take, connection included; a slower receiver has failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// How much of a receiver's answer is kept, in bytes (for the delivery log).
pub const MAX_RESPONSE_BYTES: usize = 1_024;

/// The waits before each retry after a failed attempt, per the Standard Webhooks
/// recommendation: 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours, 10 hours
/// (about 28 hours in all). After the last, the event is a dead letter for that endpoint.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The longest `Retry-After` honoured; a longer one is read as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How an endpoint that has failed every delivery this long is disabled, its owner told.
pub const DISABLE_AFTER_FAILING: TimeDelta = TimeDelta::days(5);

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// The receiver answered `410 Gone`: it wants no more events; the endpoint is disabled.
    Gone,
    /// Anything else: another status (a redirect included: redirects are not followed), a
    /// timeout, a refused connection, or an address the guard refused. Tried again on the
    /// schedule.
    Failed {
        /// The status, when the receiver answered.
        status: Option<u16>,
        /// What went wrong, in words for the delivery log.
        error: String,
        /// The receiver's `Retry-After` (429, 503), at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
}

/// One attempt's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// What it came to.
    pub outcome: DeliveryOutcome,
    /// The start of the receiver's answer (at most [`MAX_RESPONSE_BYTES`], cut on a character
    /// boundary), for the delivery log.
    pub response: String,
}

/// Sends one signed event to an endpoint (the HTTP adapter's job): `POST` of `body` as
/// `application/json` with the three Standard Webhooks headers, within [`DELIVERY_TIMEOUT`],
/// redirects not followed, connecting only to addresses the SSRF guard allows.
#[async_trait]
pub trait EventDeliverer: Send + Sync + fmt::Debug {
    /// Delivers, and says how it went (never an error: a failure is an outcome).
    async fn deliver(
        &self,
        url: &EndpointUrl,
        headers: &SignedHeaders,
        body: &[u8],
    ) -> DeliveryAttempt;
}

/// When to try again after the `failed_attempts`-th failed attempt (1 for the first) that
/// failed at `now`: the schedule's wait stretched by `jitter` (0 to 1: up to a fifth longer,
/// so endpoints that failed together do not all retry in the same second), and never before
/// the receiver's `retry_after`. `None` once the schedule is spent: a dead letter.
pub fn next_attempt_at(
    failed_attempts: u32,
    now: DateTime<Utc>,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    let index = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
    let wait = RETRY_SCHEDULE.get(index)?;
    let stretched = wait.mul_f64(1.0 + jitter.clamp(0.0, 1.0) / 5.0);
    let wait = retry_after.map_or(stretched, |asked| stretched.max(asked.min(MAX_RETRY_AFTER)));
    Some(now + TimeDelta::from_std(wait).ok()?)
}

/// Reads a `Retry-After` value: delay seconds, or an HTTP date (RFC 9110), as a wait from
/// `now` (a date in the past is no wait).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some(
        (at - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// The first [`MAX_RESPONSE_BYTES`] of a receiver's answer, as text (invalid UTF-8 replaced,
/// cut on a character boundary).
pub fn response_excerpt(bytes: &[u8]) -> String {
    let kept = &bytes[..bytes.len().min(MAX_RESPONSE_BYTES)];
    let text = String::from_utf8_lossy(kept);
    let mut end = text.len().min(MAX_RESPONSE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    #[test]
    fn retries_follow_the_standard_webhooks_schedule_then_stop() {
        let waits: Vec<i64> = (1..=7)
            .map(|n| (next_attempt_at(n, t0(), None, 0.0).unwrap() - t0()).num_seconds())
            .collect();
        assert_eq!(waits, [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]);
        assert_eq!(next_attempt_at(8, t0(), None, 0.0), None, "a dead letter");
        assert_eq!(next_attempt_at(0, t0(), None, 0.0), None);
    }

    #[test]
    fn jitter_stretches_a_wait_by_at_most_a_fifth_and_retry_after_is_a_floor() {
        let most = next_attempt_at(2, t0(), None, 1.0).unwrap();
        assert_eq!((most - t0()).num_seconds(), 360);
        let asked = next_attempt_at(1, t0(), Some(Duration::from_secs(120)), 0.5).unwrap();
        assert_eq!((asked - t0()).num_seconds(), 120);
        let capped = next_attempt_at(1, t0(), Some(Duration::from_secs(9 * 86_400)), 0.0);
        assert_eq!((capped.unwrap() - t0()).num_hours(), 24);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(
            parse_retry_after(" 120 ", t0()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 12:01:30 GMT", t0()),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 11:00:00 GMT", t0()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", t0()), None);
    }

    #[test]
    fn a_response_excerpt_keeps_at_most_a_kilobyte_on_a_character_boundary() {
        // 1,024 bytes end inside an `é`: its first byte becomes U+FFFD, which does not fit.
        let long = "éa".repeat(1_000);
        let excerpt = response_excerpt(long.as_bytes());
        assert!(excerpt.len() <= MAX_RESPONSE_BYTES);
        assert!(long.starts_with(&excerpt), "{excerpt}");
        assert_eq!(excerpt.len(), 1_023);
        assert_eq!(response_excerpt(b"ok"), "ok");
    }
}
