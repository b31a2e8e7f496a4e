//! Idempotent requests, by Stripe's rules: a client names a request with a key of its own
//! choosing (`Idempotency-Key`). The same key with the same request within
//! [`IDEMPOTENCY_TTL`] gets the first request's response again, without running it twice; the
//! same key with another request is refused; a request whose key is still in flight is refused
//! until it ends. Keys are the caller's own: two merchants may use the same one.
//!
//! The adapter decides what a request is (its [`RequestFingerprint`]) and what a response is
//! ([`StoredResponse`]); this module keeps the rules and the times.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::ValidationError;
use crate::id::UserId;

mod service;

pub use service::IdempotencyService;

/// How long a finished request's response is replayed for.
pub const IDEMPOTENCY_TTL: Duration = Duration::hours(24);

/// How long a request holds its key before another may take it over: longer than any request
/// runs (the server's timeout is 30 seconds), so only a request whose process died loses it.
pub const IN_FLIGHT_LEASE: Duration = Duration::minutes(5);

/// Longest key, in characters (Stripe's limit).
pub const MAX_KEY_CHARS: usize = 255;

/// A client's name for one request: 1 to 255 visible ASCII characters (a V4 UUID is the usual
/// choice).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key as a client sent it.
    ///
    /// # Errors
    /// Empty, longer than [`MAX_KEY_CHARS`], or with a character outside `!`..=`~`.
    pub fn parse(key: &str) -> Result<Self, ValidationError> {
        if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ValidationError::new(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
            ));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests the same request: a SHA-256 over their method, path and body, as
/// the adapter puts them together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFingerprint(pub [u8; 32]);

impl RequestFingerprint {
    /// The SHA-256 of `parts`, each length-prefixed (so no two lists of parts collide).
    pub fn of(parts: &[&[u8]]) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in parts {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        Self(hash.finalize().into())
    }
}

/// A finished request's response, as it is replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers that describe the body or the created resource (`content-type`,
    /// `location`), by lowercase name.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A request's hold on its key while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    /// Names this run of the request: only it may finish or release the key.
    pub attempt: Uuid,
}

/// What starting a request under a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begun {
    /// The key was free (or its last hold had lapsed): the request runs and then finishes or
    /// releases the key with this hold.
    Run(Hold),
    /// The same request already finished: its response.
    Replay(StoredResponse),
    /// The same key is held by a request still running.
    InFlight,
    /// The key was used with another request.
    Mismatch,
}

/// One key's record, as a store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The caller.
    pub owner: UserId,
    /// The key.
    pub key: IdempotencyKey,
    /// The request the key was first used with.
    pub fingerprint: RequestFingerprint,
    /// The run holding it while in flight.
    pub attempt: Uuid,
    /// When an in-flight hold lapses.
    pub held_until: DateTime<Utc>,
    /// The response, once finished.
    pub response: Option<StoredResponse>,
    /// When the record is forgotten.
    pub expires_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    /// What a request with `fingerprint` meets when this record holds its key at `now`; `None`
    /// when the record no longer counts (expired, or its run lapsed unfinished) and the request
    /// may take the key.
    pub fn meets(&self, fingerprint: &RequestFingerprint, now: DateTime<Utc>) -> Option<Begun> {
        if self.expires_at <= now || (self.response.is_none() && self.held_until <= now) {
            return None;
        }
        Some(if self.fingerprint != *fingerprint {
            Begun::Mismatch
        } else {
            match &self.response {
                Some(response) => Begun::Replay(response.clone()),
                None => Begun::InFlight,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(response: Option<StoredResponse>) -> IdempotencyRecord {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        IdempotencyRecord {
            owner: UserId::from(Uuid::nil()),
            key: IdempotencyKey::parse("k").unwrap(),
            fingerprint: RequestFingerprint::of(&[b"POST", b"/x", b"{}"]),
            attempt: Uuid::nil(),
            held_until: now + IN_FLIGHT_LEASE,
            response,
            expires_at: now + IDEMPOTENCY_TTL,
        }
    }

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("6f1c2a9e-7d3b-4b8e-9a51-0c2d4e6f8a1b").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "a b", "ключ", "tab\t", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad)
                    .err()
                    .map(|e| e.field().to_owned()),
                Some("Idempotency-Key".to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fingerprints_tell_parts_apart_by_their_boundaries() {
        assert_ne!(
            RequestFingerprint::of(&[b"ab", b"c"]),
            RequestFingerprint::of(&[b"a", b"bc"])
        );
        assert_eq!(
            RequestFingerprint::of(&[b"POST", b"{}"]),
            RequestFingerprint::of(&[b"POST", b"{}"])
        );
    }

    #[test]
    fn a_record_replays_refuses_or_lets_go_by_request_time_and_state() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(1);
        let same = RequestFingerprint::of(&[b"POST", b"/x", b"{}"]);
        let other = RequestFingerprint::of(&[b"POST", b"/x", b"{\"a\":1}"]);
        let done = StoredResponse {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
        };
        let running = record(None);
        let finished = record(Some(done.clone()));

        assert_eq!(running.meets(&same, now), Some(Begun::InFlight));
        assert_eq!(running.meets(&other, now), Some(Begun::Mismatch));
        assert_eq!(finished.meets(&same, now), Some(Begun::Replay(done)));
        assert_eq!(finished.meets(&other, now), Some(Begun::Mismatch));
        let lapsed = running.held_until;
        assert_eq!(
            running.meets(&same, lapsed),
            None,
            "a lapsed run frees the key"
        );
        assert!(
            finished.meets(&same, lapsed).is_some(),
            "a response outlives the hold"
        );
        assert_eq!(
            finished.meets(&same, finished.expires_at),
            None,
            "after 24 hours"
        );
    }
}
