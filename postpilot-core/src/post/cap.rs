//! Publishing caps: how many posts a platform publishes for one account in a rolling 24 hours,
//! and the rule that keeps a schedule inside them — so a post that would break a cap is refused
//! when it is scheduled, with the next free time, instead of failing at its publication.

use chrono::{DateTime, Duration, Utc};

use crate::platform::{CapSource, Platform};

/// TikTok posts per account per rolling 24 hours unless configured: TikTok publishes no number
/// (it answers `spam_risk_too_many_posts` at its cap); integrators report 15 to 25.
pub const DEFAULT_TIKTOK_DAILY_CAP: u32 = 15;

/// How far past a refused time the next free one is looked for.
pub const NEXT_FREE_LOOKAHEAD_DAYS: i64 = 7;

/// Every platform's publishing window: a rolling 24 hours.
pub fn cap_window() -> Duration {
    Duration::hours(24)
}

/// The caps an operator configures: those a platform neither reports nor documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishingCaps {
    /// TikTok posts per account per rolling 24 hours.
    pub tiktok_daily: u32,
}

impl Default for PublishingCaps {
    fn default() -> Self {
        Self {
            tiktok_daily: DEFAULT_TIKTOK_DAILY_CAP,
        }
    }
}

impl PublishingCaps {
    /// The cap an account on `platform` is held to, if the platform has one: `reported`, the
    /// one the platform reported for the account when it has been read, else the configured or
    /// default one.
    pub fn of(&self, platform: Platform, reported: Option<u32>) -> Option<PublishingCap> {
        let posts = match platform.cap_source() {
            CapSource::Uncapped => return None,
            CapSource::Reported { until_read } => reported.unwrap_or(until_read),
            CapSource::Configured => match platform {
                Platform::Tiktok => self.tiktok_daily,
                Platform::Instagram | Platform::Facebook => return None,
            },
        };
        Some(PublishingCap {
            platform,
            posts,
            window: cap_window(),
        })
    }
}

/// At most `posts` posts of one account in any `window` (left-open, right-closed: a post at the
/// window's start has just left it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishingCap {
    /// The platform that imposes it.
    pub platform: Platform,
    /// Posts per window.
    pub posts: u32,
    /// The rolling window.
    pub window: Duration,
}

/// One more post does not fit in an account's publishing cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapFull {
    /// The platform whose cap it is.
    pub platform: Platform,
    /// Posts per window.
    pub cap: u32,
    /// The full window is `(window_start, window_end]`: it already holds `cap` posts.
    pub window_start: DateTime<Utc>,
    /// Its end.
    pub window_end: DateTime<Utc>,
    /// The earliest time from the refused one at which the post fits, when there is one within
    /// [`NEXT_FREE_LOOKAHEAD_DAYS`].
    pub next_free_at: Option<DateTime<Utc>>,
}

impl PublishingCap {
    /// Checks one more post at `at` against the account's other posts' times `slots` (sorted,
    /// oldest first, covering a window before `at` to a window after `until`). Every window
    /// that would hold the new post must hold fewer than `posts` others: the one ending at `at`
    /// (what the platform counts when it publishes it) and those ending at each later post less
    /// than a window after it (what it counts when it publishes them).
    ///
    /// # Errors
    /// [`CapFull`]: the first full window, and the earliest free time up to `until`.
    pub fn check(
        &self,
        slots: &[DateTime<Utc>],
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), CapFull> {
        let Some(end) = self.full_window(slots, at) else {
            return Ok(());
        };
        Err(CapFull {
            platform: self.platform,
            cap: self.posts,
            window_start: end - self.window,
            window_end: end,
            next_free_at: self.next_free(slots, at, until),
        })
    }

    /// The end of the first full window that a post at `at` would join.
    fn full_window(&self, slots: &[DateTime<Utc>], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cap = usize::try_from(self.posts).unwrap_or(usize::MAX);
        std::iter::once(at)
            .chain(
                slots
                    .iter()
                    .copied()
                    .filter(|&slot| slot > at && slot < at + self.window),
            )
            .find(|&end| self.held(slots, end) >= cap)
    }

    /// Posts in the window ending at `end`.
    fn held(&self, slots: &[DateTime<Utc>], end: DateTime<Utc>) -> usize {
        let start = end - self.window;
        slots.partition_point(|&s| s <= end) - slots.partition_point(|&s| s <= start)
    }

    /// The earliest time in `[at, until]` at which one more post fits. Moving a post later only
    /// makes it fit sooner where a post leaves its window: at `at` itself, or exactly a window
    /// after another post — so those are the only times worth trying.
    fn next_free(
        &self,
        slots: &[DateTime<Utc>],
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self.posts == 0 {
            return None;
        }
        std::iter::once(at)
            .chain(
                slots
                    .iter()
                    .map(|&slot| slot + self.window)
                    .filter(|&time| time > at && time <= until),
            )
            .find(|&time| self.full_window(slots, time).is_none())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn minute(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 15, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::minutes(n)
    }

    fn cap(posts: u32) -> PublishingCap {
        PublishingCap {
            platform: Platform::Instagram,
            posts,
            window: Duration::minutes(1440),
        }
    }

    /// The rule spelled out minute by minute: a post at `at` fits if every window of 1440
    /// minutes that holds it holds at most `posts` posts with it.
    fn fits_by_brute_force(posts: u32, slots: &[i64], at: i64) -> bool {
        (at..at + 1440).all(|end| {
            let others = slots
                .iter()
                .filter(|&&s| s > end - 1440 && s <= end)
                .count();
            others < usize::try_from(posts).unwrap_or(usize::MAX)
        })
    }

    #[test]
    fn a_post_fits_while_its_window_has_room() {
        let slots = [minute(0), minute(60)];
        assert!(cap(3).check(&slots, minute(120), minute(9999)).is_ok());
    }

    #[test]
    fn a_full_window_is_named_with_the_next_free_time() {
        let slots = [minute(0), minute(60)];
        let full = cap(2).check(&slots, minute(120), minute(9999));
        assert_eq!(
            full,
            Err(CapFull {
                platform: Platform::Instagram,
                cap: 2,
                window_start: minute(120 - 1440),
                window_end: minute(120),
                // The post at minute 0 leaves the window 24 hours later.
                next_free_at: Some(minute(1440)),
            })
        );
    }

    #[test]
    fn a_post_that_would_overfill_a_later_window_is_refused() {
        // The window ending at minute 1000 already holds two posts, both after minute 100: a
        // third at minute 100 would be the third the platform counts when it publishes the
        // post at minute 1000.
        let slots = [minute(500), minute(1000)];
        let full = cap(2)
            .check(&slots, minute(100), minute(9999))
            .err()
            .map(|f| (f.window_end, f.next_free_at));
        // Free again only after both: the post at 500 leaves at 1940, and then the window
        // ending at minute 1000 no longer holds a post at 1940.
        assert_eq!(full, Some((minute(1000), Some(minute(1940)))));
    }

    #[test]
    fn a_zero_cap_never_has_room() {
        let full = cap(0).check(&[], minute(0), minute(9999));
        assert_eq!(full.map_err(|f| f.next_free_at), Err(None));
    }

    proptest! {
        #[test]
        fn check_and_next_free_agree_with_the_minute_by_minute_rule(
            posts in 1u32..5,
            mut slots in proptest::collection::vec(0i64..6000, 0..14),
            at in 1440i64..3000,
        ) {
            slots.sort_unstable();
            let times: Vec<_> = slots.iter().map(|&s| minute(s)).collect();
            let until = at + 1500;
            let result = cap(posts).check(&times, minute(at), minute(until));
            prop_assert_eq!(result.is_ok(), fits_by_brute_force(posts, &slots, at));
            if let Err(full) = result {
                let expected = (at..=until)
                    .find(|&t| fits_by_brute_force(posts, &slots, t))
                    .map(minute);
                prop_assert_eq!(full.next_free_at, expected);
                let held = slots
                    .iter()
                    .filter(|&&s| minute(s) > full.window_start && minute(s) <= full.window_end)
                    .count();
                prop_assert!(held >= usize::try_from(posts).unwrap_or(0));
            }
        }
    }
}
