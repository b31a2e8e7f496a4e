//! The SQL mirrors of core's enumerations stored in `text` columns (statuses, platforms, plans,
//! tones, attempt outcomes). Queries bind and read these, never a status written as a literal;
//! core derives no sqlx trait. Each mirror converts both ways, and the PostgreSQL suite checks
//! that every mirror's name is core's `as_str` (`every_mirror_stores_cores_own_name`).

use postpilot_core::billing::SubscriptionStatus;
use postpilot_core::caption::Tone;
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::PostStatus;
use postpilot_core::publish::AttemptOutcome;
use postpilot_core::queue::QueueStatus;

/// Declares `$mirror`, a `text`-column `sqlx::Type` with the variants of core's `$core`, and the
/// conversions between them (a variant core adds fails to compile here until mirrored).
macro_rules! mirror {
    ($(#[$doc:meta])* $core:ident => $mirror:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        pub(crate) enum $mirror {
            $($variant,)+
        }

        impl From<$core> for $mirror {
            fn from(value: $core) -> Self {
                match value {
                    $($core::$variant => Self::$variant,)+
                }
            }
        }

        impl From<$mirror> for $core {
            fn from(value: $mirror) -> Self {
                match value {
                    $($mirror::$variant => Self::$variant,)+
                }
            }
        }
    };
}

mirror!(
    /// `posts.status`.
    PostStatus => PostStatusSql { Draft, Scheduled, Publishing, Posted, Failed, Paused }
);
mirror!(
    /// `content_queue.status`.
    QueueStatus => QueueStatusSql { Pending, Approved, Rejected, Posted }
);
mirror!(
    /// `subscriptions.status`.
    SubscriptionStatus => SubscriptionStatusSql {
        Active, Trialing, PastDue, Canceled, Unpaid, Incomplete,
    }
);
mirror!(
    /// `subscriptions.plan`.
    PlanTier => PlanTierSql { Free, Pro, Enterprise }
);
mirror!(
    /// `platform` columns and `content_queue.platforms`.
    Platform => PlatformSql { Instagram, Facebook, Tiktok }
);
mirror!(
    /// `content_queue.tone`.
    Tone => ToneSql { Professional, Casual, Playful, Luxury, Urgent }
);
mirror!(
    /// `publication_attempts.outcome`.
    AttemptOutcome => AttemptOutcomeSql {
        Posted, Reconciled, Retry, RateLimited, AuthExpired, Rejected, TimedOut, GaveUp, LeaseLost,
        Processing,
    }
);

/// Mirrors of every value of `values`, for binding as an array (`status = ANY($n)`).
pub(crate) fn mirrors<C: Copy, M: From<C>>(values: &[C]) -> Vec<M> {
    values.iter().copied().map(M::from).collect()
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Binds every value of core's `$core` through its mirror, reads back the text PostgreSQL
    /// stored, and reads that text back into the mirror.
    macro_rules! round_trip {
        ($pool:expr, $core:ident => $mirror:ident) => {
            for value in $core::ALL {
                let text: String = sqlx::query_scalar("SELECT $1::text")
                    .bind($mirror::from(value))
                    .fetch_one($pool)
                    .await
                    .unwrap();
                assert_eq!(text, value.as_str(), "{}", stringify!($mirror));
                let back: $mirror = sqlx::query_scalar("SELECT $1::text")
                    .bind(&text)
                    .fetch_one($pool)
                    .await
                    .unwrap();
                assert_eq!($core::from(back), value, "{}", stringify!($mirror));
            }
        };
    }

    #[tokio::test]
    async fn every_mirror_stores_cores_own_name_and_reads_it_back() {
        let store = crate::testing::fresh_store().await;
        let pool = &store.pool;
        round_trip!(pool, PostStatus => PostStatusSql);
        round_trip!(pool, QueueStatus => QueueStatusSql);
        round_trip!(pool, SubscriptionStatus => SubscriptionStatusSql);
        round_trip!(pool, PlanTier => PlanTierSql);
        round_trip!(pool, Platform => PlatformSql);
        round_trip!(pool, Tone => ToneSql);
        round_trip!(pool, AttemptOutcome => AttemptOutcomeSql);
    }
}
