//! Plans and their limits (the seed's `PlanLimits`), and the monthly window a quota counts in.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::names::named_enum;

/// A subscription tier.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PlanTier {
    /// No subscription.
    #[default]
    Free,
    /// Paid.
    Pro,
    /// Paid, unlimited.
    Enterprise,
}

named_enum!(PlanTier, field = "plan", lenient {
    Free => "free",
    Pro => "pro",
    Enterprise => "enterprise",
});

impl PlanTier {
    /// This tier's limits.
    pub const fn limits(self) -> &'static PlanLimits {
        match self {
            Self::Free => &FREE,
            Self::Pro => &PRO,
            Self::Enterprise => &ENTERPRISE,
        }
    }
}

/// A cap on a countable resource: a maximum, or unlimited (`-1` on the wire, as in the seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// At most this many.
    AtMost(u32),
    /// No cap.
    Unlimited,
}

impl Limit {
    /// Whether `used` leaves room for one more.
    pub const fn allows_one_more(self, used: u64) -> bool {
        match self {
            Self::AtMost(max) => used < max as u64,
            Self::Unlimited => true,
        }
    }

    /// The maximum, if any.
    pub const fn max(self) -> Option<u32> {
        match self {
            Self::AtMost(max) => Some(max),
            Self::Unlimited => None,
        }
    }

    /// The seed's encoding: the maximum, or -1 for unlimited.
    pub fn as_i64(self) -> i64 {
        self.max().map_or(-1, i64::from)
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.as_i64())
    }
}

/// What a plan allows (the seed's `PlanLimits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PlanLimits {
    /// The tier.
    pub tier: PlanTier,
    /// Display name.
    pub name: &'static str,
    /// Monthly price in US dollars.
    pub price_monthly: u32,
    /// Posts per calendar month (UTC).
    pub max_items: Limit,
    /// Connected social accounts.
    pub max_secondary: Limit,
    /// Whether API keys work.
    pub api_access: bool,
}

const FREE: PlanLimits = PlanLimits {
    tier: PlanTier::Free,
    name: "Free",
    price_monthly: 0,
    max_items: Limit::AtMost(10),
    max_secondary: Limit::AtMost(1),
    api_access: false,
};

const PRO: PlanLimits = PlanLimits {
    tier: PlanTier::Pro,
    name: "Pro",
    price_monthly: 29,
    max_items: Limit::AtMost(200),
    max_secondary: Limit::AtMost(10),
    api_access: true,
};

const ENTERPRISE: PlanLimits = PlanLimits {
    tier: PlanTier::Enterprise,
    name: "Enterprise",
    price_monthly: 99,
    max_items: Limit::Unlimited,
    max_secondary: Limit::Unlimited,
    api_access: true,
};

/// Every plan, cheapest first.
pub fn plans() -> [&'static PlanLimits; 3] {
    PlanTier::ALL.map(PlanTier::limits)
}

/// The window a monthly quota counts in: the calendar month (UTC) containing `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthWindow {
    /// First instant of the month.
    pub start: DateTime<Utc>,
    /// First instant of the next month (exclusive end).
    pub end: DateTime<Utc>,
}

impl MonthWindow {
    /// The UTC calendar month containing `now`.
    pub fn containing(now: DateTime<Utc>) -> Self {
        let (year, month) = (now.year(), now.month());
        let (next_year, next_month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let at = |y, m| {
            Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
                .single()
                .unwrap_or(now)
        };
        Self {
            start: at(year, month),
            end: at(next_year, next_month),
        }
    }

    /// Whether `t` falls in the window.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// A monthly post quota as the store must enforce it: count the owner's posts created in
/// `window`, and insert only if fewer than `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostQuota {
    /// The counting window.
    pub window: MonthWindow,
    /// The cap.
    pub limit: Limit,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_seed_plan_limits_hold() {
        let [free, pro, enterprise] = plans();
        assert_eq!(
            (free.max_items, free.max_secondary, free.api_access),
            (Limit::AtMost(10), Limit::AtMost(1), false)
        );
        assert_eq!(
            (pro.max_items, pro.max_secondary, pro.api_access),
            (Limit::AtMost(200), Limit::AtMost(10), true)
        );
        assert_eq!(
            (enterprise.max_items, enterprise.max_secondary),
            (Limit::Unlimited, Limit::Unlimited)
        );
        assert!(enterprise.api_access);
    }

    #[test]
    fn unlimited_is_minus_one_on_the_wire() {
        assert_eq!(
            serde_json::to_value(Limit::Unlimited).unwrap(),
            serde_json::json!(-1)
        );
        assert_eq!(
            serde_json::to_value(Limit::AtMost(10)).unwrap(),
            serde_json::json!(10)
        );
    }

    #[test]
    fn a_limit_allows_one_more_only_below_its_maximum() {
        assert!(Limit::AtMost(10).allows_one_more(9));
        assert!(!Limit::AtMost(10).allows_one_more(10));
        assert!(!Limit::AtMost(0).allows_one_more(0));
        assert!(Limit::Unlimited.allows_one_more(u64::MAX));
    }

    #[test]
    fn the_month_window_is_the_utc_calendar_month() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let w = MonthWindow::containing(at("2026-12-31T23:59:59Z"));
        assert_eq!(
            (w.start, w.end),
            (at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
        );
        assert!(w.contains(at("2026-12-01T00:00:00Z")));
        assert!(!w.contains(at("2027-01-01T00:00:00Z")));
        let feb = MonthWindow::containing(at("2028-02-29T12:00:00Z"));
        assert_eq!(feb.end, at("2028-03-01T00:00:00Z"));
    }

    #[test]
    fn plan_names_parse_and_refuse_unknowns() {
        assert_eq!("Pro".parse::<PlanTier>().unwrap(), PlanTier::Pro);
        assert!("gold".parse::<PlanTier>().is_err());
    }
}
