//! Plans and their limits (the seed's `PlanLimits`), and the monthly window a quota counts in.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::ValidationError;
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

/// What a plan allows and costs (the seed's `PlanLimits`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanLimits {
    /// The tier.
    pub tier: PlanTier,
    /// Display name.
    pub name: String,
    /// Monthly price, in whole units of `currency`.
    pub price_monthly: u32,
    /// ISO 4217 code, lower case as Stripe writes it (`usd`).
    pub currency: String,
    /// Posts per calendar month (UTC).
    pub max_items: Limit,
    /// Connected social accounts.
    pub max_secondary: Limit,
    /// Whether API keys work.
    pub api_access: bool,
    /// Captions a language model writes per calendar month (UTC); counted only while one is
    /// configured.
    pub max_generations: Limit,
    /// The Stripe price (`price_…`) a checkout for this plan charges; paid plans need one to be
    /// sold through Stripe.
    #[serde(skip)]
    pub stripe_price: Option<String>,
}

/// Every plan, from configuration ([`PlansFile`]) or today's defaults: the one source of their
/// names, prices and limits for the plan rules, the billing adapter and `GET /billing/plans`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plans([PlanLimits; 3]);

impl Default for Plans {
    fn default() -> Self {
        let plan = |tier, name: &str, price_monthly, max_items, max_secondary, api_access| {
            let max_generations = match tier {
                PlanTier::Free => Limit::AtMost(30),
                PlanTier::Pro => Limit::AtMost(500),
                PlanTier::Enterprise => Limit::Unlimited,
            };
            PlanLimits {
                tier,
                name: name.to_owned(),
                price_monthly,
                currency: "usd".to_owned(),
                max_items,
                max_secondary,
                api_access,
                max_generations,
                stripe_price: None,
            }
        };
        Self([
            plan(
                PlanTier::Free,
                "Free",
                0,
                Limit::AtMost(10),
                Limit::AtMost(1),
                false,
            ),
            plan(
                PlanTier::Pro,
                "Pro",
                29,
                Limit::AtMost(200),
                Limit::AtMost(10),
                true,
            ),
            plan(
                PlanTier::Enterprise,
                "Enterprise",
                99,
                Limit::Unlimited,
                Limit::Unlimited,
                true,
            ),
        ])
    }
}

impl Plans {
    /// The plan of `tier`.
    pub fn get(&self, tier: PlanTier) -> &PlanLimits {
        match tier {
            PlanTier::Free => &self.0[0],
            PlanTier::Pro => &self.0[1],
            PlanTier::Enterprise => &self.0[2],
        }
    }

    /// Every plan, cheapest first.
    pub fn all(&self) -> &[PlanLimits; 3] {
        &self.0
    }

    /// The plans a file describes, each setting it leaves out keeping today's default.
    ///
    /// # Errors
    /// A setting out of range, named `plans.<tier>.<setting>`: a blank or long name, a
    /// currency that is not three letters, a price on the free plan, a limit below -1.
    pub fn parse(file: PlansFile) -> Result<Self, ValidationError> {
        let mut plans = Self::default();
        let currency = match file.currency {
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(c.to_ascii_lowercase())
            }
            Some(_) => {
                return Err(ValidationError::new(
                    "plans.currency",
                    "must be a three-letter ISO 4217 code",
                ));
            }
            None => None,
        };
        for (tier, given) in [
            (PlanTier::Free, file.free),
            (PlanTier::Pro, file.pro),
            (PlanTier::Enterprise, file.enterprise),
        ] {
            let plan = &mut plans.0[tier as usize];
            if let Some(currency) = &currency {
                plan.currency.clone_from(currency);
            }
            let Some(given) = given else { continue };
            let field = |name: &str| format!("plans.{tier}.{name}");
            if let Some(name) = given.name {
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 50 {
                    return Err(ValidationError::new(
                        field("name"),
                        "must be 1 to 50 characters",
                    ));
                }
                plan.name = name.to_owned();
            }
            if let Some(price) = given.price_monthly {
                if tier == PlanTier::Free && price != 0 {
                    return Err(ValidationError::new(
                        field("price_monthly"),
                        "the free plan costs 0",
                    ));
                }
                plan.price_monthly = price;
            }
            let limit = |n: Option<i64>, name: &str| -> Result<Option<Limit>, ValidationError> {
                n.map(|n| match n {
                    -1 => Ok(Limit::Unlimited),
                    n => u32::try_from(n).map(Limit::AtMost).map_err(|_| {
                        ValidationError::new(field(name), "must be -1 (unlimited) or a count")
                    }),
                })
                .transpose()
            };
            if let Some(l) = limit(given.posts_per_month, "posts_per_month")? {
                plan.max_items = l;
            }
            if let Some(l) = limit(given.accounts, "accounts")? {
                plan.max_secondary = l;
            }
            if let Some(l) = limit(given.generations_per_month, "generations_per_month")? {
                plan.max_generations = l;
            }
            if let Some(api) = given.api_access {
                plan.api_access = api;
            }
            if let Some(price) = given.stripe_price {
                if tier == PlanTier::Free {
                    return Err(ValidationError::new(
                        field("stripe_price"),
                        "the free plan is not sold",
                    ));
                }
                if !price.starts_with("price_") {
                    return Err(ValidationError::new(
                        field("stripe_price"),
                        "must be a Stripe price id (price_…)",
                    ));
                }
                plan.stripe_price = Some(price);
            }
        }
        if let (Some(pro), Some(enterprise)) = (&plans.0[1].stripe_price, &plans.0[2].stripe_price)
            && pro == enterprise
        {
            // Stripe tells the plan of a subscription by its price.
            return Err(ValidationError::new(
                "plans.enterprise.stripe_price",
                "must differ from the pro plan's",
            ));
        }
        Ok(plans)
    }
}

impl PlanLimits {
    #[cfg(test)]
    fn with_currency(mut self, currency: &str) -> Self {
        self.currency = currency.to_owned();
        self
    }
}

/// A plans file, as it is read (TOML in the bundled server): every setting optional.
///
/// ```toml
/// currency = "usd"
///
/// [pro]
/// name = "Pro"
/// price_monthly = 29
/// posts_per_month = 200   # -1: unlimited
/// accounts = 10
/// generations_per_month = 500   # captions written by a language model
/// api_access = true
/// stripe_price = "price_1Q…"
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlansFile {
    /// The currency of every price.
    pub currency: Option<String>,
    /// The free plan.
    pub free: Option<PlanFile>,
    /// The pro plan.
    pub pro: Option<PlanFile>,
    /// The enterprise plan.
    pub enterprise: Option<PlanFile>,
}

/// One plan in a [`PlansFile`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Display name.
    pub name: Option<String>,
    /// Monthly price in whole units of the currency.
    pub price_monthly: Option<u32>,
    /// Posts per calendar month; -1 for unlimited.
    pub posts_per_month: Option<i64>,
    /// Connected social accounts; -1 for unlimited.
    pub accounts: Option<i64>,
    /// Captions a language model writes per calendar month; -1 for unlimited.
    pub generations_per_month: Option<i64>,
    /// Whether API keys work.
    pub api_access: Option<bool>,
    /// The Stripe price of a paid plan.
    pub stripe_price: Option<String>,
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
        let plans = Plans::default();
        let [free, pro, enterprise] = plans.all();
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
    fn a_plans_file_overrides_what_it_names_and_keeps_the_defaults_of_the_rest() {
        let file = PlansFile {
            currency: Some("EUR".into()),
            pro: Some(PlanFile {
                price_monthly: Some(35),
                posts_per_month: Some(-1),
                generations_per_month: Some(1_000),
                stripe_price: Some("price_123".into()),
                ..PlanFile::default()
            }),
            ..PlansFile::default()
        };
        let plans = Plans::parse(file).unwrap();
        let pro = plans.get(PlanTier::Pro);
        assert_eq!(
            (pro.price_monthly, pro.max_items, pro.max_secondary),
            (35, Limit::Unlimited, Limit::AtMost(10))
        );
        assert_eq!(pro.stripe_price.as_deref(), Some("price_123"));
        assert_eq!(pro.max_generations, Limit::AtMost(1_000));
        assert!(plans.all().iter().all(|p| p.currency == "eur"));
        assert_eq!(
            plans.get(PlanTier::Free),
            &Plans::default().0[0].clone().with_currency("eur")
        );
    }

    #[test]
    fn a_plans_file_out_of_range_is_refused_naming_the_setting() {
        let plan = |p: PlanFile| PlansFile {
            free: Some(p),
            ..PlansFile::default()
        };
        for (file, field) in [
            (
                plan(PlanFile {
                    price_monthly: Some(5),
                    ..PlanFile::default()
                }),
                "plans.free.price_monthly",
            ),
            (
                plan(PlanFile {
                    accounts: Some(-2),
                    ..PlanFile::default()
                }),
                "plans.free.accounts",
            ),
            (
                plan(PlanFile {
                    generations_per_month: Some(-5),
                    ..PlanFile::default()
                }),
                "plans.free.generations_per_month",
            ),
            (
                plan(PlanFile {
                    name: Some(" ".into()),
                    ..PlanFile::default()
                }),
                "plans.free.name",
            ),
            (
                plan(PlanFile {
                    stripe_price: Some("price_1".into()),
                    ..PlanFile::default()
                }),
                "plans.free.stripe_price",
            ),
            (
                PlansFile {
                    pro: Some(PlanFile {
                        stripe_price: Some("price_same".into()),
                        ..PlanFile::default()
                    }),
                    enterprise: Some(PlanFile {
                        stripe_price: Some("price_same".into()),
                        ..PlanFile::default()
                    }),
                    ..PlansFile::default()
                },
                "plans.enterprise.stripe_price",
            ),
            (
                PlansFile {
                    currency: Some("euro".into()),
                    ..PlansFile::default()
                },
                "plans.currency",
            ),
        ] {
            assert_eq!(Plans::parse(file).unwrap_err().field(), field);
        }
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
