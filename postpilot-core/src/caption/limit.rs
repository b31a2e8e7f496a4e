//! How many captions one user may have written per minute: a language model costs money and
//! seconds per call, and one merchant's script must not spend them for everyone. Counted in this
//! process's memory, per calendar minute of the engine's clock.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::id::UserId;

/// Beyond this many users in the table, those of past minutes are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Generations per user per minute; `None`: unlimited (the templates cost nothing).
#[derive(Debug, Default)]
pub(crate) struct GenerationLimit {
    per_minute: Option<u32>,
    minutes: Mutex<HashMap<UserId, (i64, u32)>>,
}

impl GenerationLimit {
    pub(crate) fn new(per_minute: Option<u32>) -> Self {
        Self {
            per_minute,
            minutes: Mutex::default(),
        }
    }

    /// Takes one generation for `user` at `now`.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`] with the seconds left in the minute, once its generations are
    /// spent.
    pub(crate) fn take(&self, user: UserId, now: DateTime<Utc>) -> Result<()> {
        let Some(max) = self.per_minute else {
            return Ok(());
        };
        let minute = now.timestamp().div_euclid(60);
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        if minutes.len() > PRUNE_ABOVE {
            minutes.retain(|_, (m, _)| *m == minute);
        }
        let (at, used) = minutes.entry(user).or_insert((minute, 0));
        if *at != minute {
            (*at, *used) = (minute, 0);
        }
        if *used >= max {
            let left = 60 - now.timestamp().rem_euclid(60);
            return Err(Error::TooManyAttempts {
                retry_after: std::time::Duration::from_secs(left.unsigned_abs().max(1)),
            });
        }
        *used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap()
            + chrono::Duration::seconds(second.into())
    }

    #[test]
    fn a_users_generations_stop_at_the_limit_until_the_next_minute() {
        let limit = GenerationLimit::new(Some(2));
        let (a, b) = (
            UserId::from(uuid::Uuid::from_u128(1)),
            UserId::from(uuid::Uuid::from_u128(2)),
        );
        limit.take(a, at(0)).unwrap();
        limit.take(a, at(10)).unwrap();
        match limit.take(a, at(45)) {
            Err(Error::TooManyAttempts { retry_after }) => assert_eq!(retry_after.as_secs(), 15),
            other => panic!("{other:?}"),
        }
        limit.take(b, at(45)).unwrap();
        limit.take(a, at(60)).unwrap();
    }

    #[test]
    fn without_a_limit_every_generation_is_taken() {
        let limit = GenerationLimit::new(None);
        let a = UserId::from(uuid::Uuid::from_u128(1));
        for s in 0..100 {
            limit.take(a, at(s % 60)).unwrap();
        }
    }
}
