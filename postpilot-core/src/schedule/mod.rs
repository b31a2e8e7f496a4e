//! Posting schedules: an account's weekly time slots (Mon–Fri 09:00, 12:30, 18:00) in an IANA
//! time zone, kept as local times — a 09:00 slot stays 09:00 across daylight-saving changes. On
//! a day the clocks skip a slot's time (spring forward) the slot moves to the first minute that
//! exists after it; on a day its time happens twice (fall back) it is used once, at its first
//! occurrence. Two slots that land on the same instant that way are one.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::ValidationError;
use crate::aggregate::aggregate;
use crate::id::{AccountId, UserId};

mod service;

pub use service::{MAX_SLOT_RANGE_DAYS, ScheduleService, SlotListing, SlotView};

/// Most slots a week may hold (48 a day, every half hour, for a week).
pub const MAX_SLOTS: usize = 336;

/// One weekly slot: a weekday and a local time, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    /// Monday is 0.
    day: u8,
    /// Minutes after local midnight.
    minute: u16,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Slot {
    /// A slot on `weekday` at `hour:minute`.
    ///
    /// # Errors
    /// An hour past 23 or a minute past 59.
    pub fn new(weekday: Weekday, hour: u32, minute: u32) -> Result<Self, ValidationError> {
        if hour > 23 || minute > 59 {
            return Err(ValidationError::new(
                "slots",
                "times run from 00:00 to 23:59",
            ));
        }
        Ok(Self {
            // Both fit: weekday < 7, hour * 60 + minute < 1440.
            day: u8::try_from(weekday.num_days_from_monday()).unwrap_or(0),
            minute: u16::try_from(hour * 60 + minute).unwrap_or(0),
        })
    }

    /// Its weekday.
    pub fn weekday(self) -> Weekday {
        Weekday::try_from(self.day).unwrap_or(Weekday::Mon)
    }

    /// Its local time.
    pub fn time(self) -> NaiveTime {
        NaiveTime::from_hms_opt(u32::from(self.minute / 60), u32::from(self.minute % 60), 0)
            .unwrap_or(NaiveTime::MIN)
    }
}

impl fmt::Display for Slot {
    /// `mon 09:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}",
            DAYS[usize::from(self.day)],
            self.minute / 60,
            self.minute % 60
        )
    }
}

impl FromStr for Slot {
    type Err = ValidationError;

    /// `mon 09:00` (a three-letter weekday, any case, and `HH:MM`).
    fn from_str(text: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "slots",
                format!("{text:?} is not a slot like \"mon 09:00\" (mon…sun, HH:MM)"),
            )
        };
        let (day, time) = text.trim().split_once(' ').ok_or_else(invalid)?;
        let day = DAYS
            .iter()
            .position(|d| d.eq_ignore_ascii_case(day.trim()))
            .ok_or_else(invalid)?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| invalid())?;
        let weekday =
            Weekday::try_from(u8::try_from(day).map_err(|_| invalid())?).map_err(|_| invalid())?;
        Self::new(weekday, time.hour(), time.minute())
    }
}

/// An account's weekly slots in a time zone: sorted, each once, at most [`MAX_SLOTS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeeklySlots {
    zone: Tz,
    slots: Vec<Slot>,
}

impl WeeklySlots {
    /// Slots in `zone`; duplicates are dropped, the order does not matter.
    ///
    /// # Errors
    /// More than [`MAX_SLOTS`] slots.
    pub fn new(zone: Tz, mut slots: Vec<Slot>) -> Result<Self, ValidationError> {
        slots.sort_unstable();
        slots.dedup();
        if slots.len() > MAX_SLOTS {
            return Err(ValidationError::new(
                "slots",
                format!("at most {MAX_SLOTS} slots a week"),
            ));
        }
        Ok(Self { zone, slots })
    }

    /// Its time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Its slots, Monday first, each day's in time order.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The instants of the slots at or after `from`, in order, each once, without end (empty
    /// when there are no slots). Take what you need: `.take_while(|t| *t < until)`.
    pub fn occurrences(&self, from: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let first_day = from.with_timezone(&self.zone).date_naive();
        let mut last = None;
        // A day's slots can land on the previous day's instants only through a skipped day
        // (Samoa, 2011); starting a day early covers a slot pushed into `from`'s day.
        let start = first_day.pred_opt().unwrap_or(first_day);
        start
            .iter_days()
            .take_while(move |_| !self.slots.is_empty())
            .flat_map(move |day| {
                let weekday = u8::try_from(day.weekday().num_days_from_monday()).unwrap_or(0);
                self.slots
                    .iter()
                    .filter(move |s| s.day == weekday)
                    .map(move |s| resolve(self.zone, day, s.time()))
            })
            .filter(move |t| *t >= from)
            .filter(move |t| {
                let fresh = last.is_none_or(|l| *t > l);
                if fresh {
                    last = Some(*t);
                }
                fresh
            })
    }

    /// Whether `at` is one of the slots' instants.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        self.occurrences(at - Duration::minutes(1))
            .take_while(|t| *t <= at)
            .any(|t| t == at)
    }
}

aggregate! {
    /// An account's posting schedule (one per account). Read through its methods; replaced whole
    /// by [`ScheduleService::set`]; [`PostingScheduleRecord`] loads one from storage.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PostingSchedule / PostingScheduleRecord {
        /// The account it schedules.
        id: copy AccountId,
        /// The account's owner.
        user_id: copy UserId,
        /// Its slots and their time zone.
        slots: by_ref WeeklySlots,
        /// Last change.
        updated_at: copy DateTime<Utc>,
    }
}

impl WeeklySlots {
    /// Slots written as `["mon 09:00", "fri 18:30"]`, in the IANA zone `zone`.
    ///
    /// # Errors
    /// A slot that does not read (named), an unknown zone, or too many slots.
    pub fn parse<S: AsRef<str>>(zone: &str, slots: &[S]) -> Result<Self, ValidationError> {
        let zone = crate::user::parse_time_zone("time_zone", zone)?;
        let slots = slots
            .iter()
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<Slot>, _>>()?;
        Self::new(zone, slots)
    }

    /// The slots as written (`mon 09:00`), Monday first.
    pub fn to_strings(&self) -> Vec<String> {
        self.slots.iter().map(ToString::to_string).collect()
    }
}

/// The instant of local `time` on `day` in `zone`: the first of two (clocks going back), or the
/// first minute that exists after it (clocks going forward).
pub fn resolve(zone: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = NaiveDateTime::new(day, time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps are an hour in most zones, up to a whole day (Samoa skipped 30 December
            // 2011): search minute by minute, two days at most.
            let mut at = local;
            for _ in 0..(2 * 24 * 60) {
                at += Duration::minutes(1);
                if let Some(t) = zone.from_local_datetime(&at).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            // No zone skips two days: the naive time as UTC is the last resort.
            local.and_utc()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn slots(zone: Tz, text: &[&str]) -> WeeklySlots {
        WeeklySlots::new(zone, text.iter().map(|s| s.parse().unwrap()).collect()).unwrap()
    }

    #[test]
    fn a_slot_reads_and_writes_as_a_weekday_and_a_time() {
        let slot: Slot = " Fri 18:05 ".parse().unwrap();
        assert_eq!(slot.to_string(), "fri 18:05");
        assert_eq!(slot.weekday(), Weekday::Fri);
        for bad in [
            "friday 18:00",
            "fri 24:00",
            "fri 9",
            "fri",
            "",
            "fri 18:00:00",
        ] {
            assert!(bad.parse::<Slot>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_nine_oclock_slot_stays_at_nine_local_across_the_spring_change_in_berlin() {
        let week = slots(
            chrono_tz::Europe::Berlin,
            &["sat 09:00", "sun 09:00", "mon 09:00"],
        );
        // Berlin moves from UTC+1 to UTC+2 on Sunday 28 March 2027 at 02:00.
        let got: Vec<_> = week
            .occurrences(utc("2027-03-27T00:00:00Z"))
            .take(3)
            .collect();
        assert_eq!(
            got,
            [
                utc("2027-03-27T08:00:00Z"),
                utc("2027-03-28T07:00:00Z"),
                utc("2027-03-29T07:00:00Z")
            ]
        );
    }

    #[test]
    fn a_skipped_slot_moves_to_the_first_minute_after_and_a_repeated_one_is_used_once() {
        // New York: 14 March 2027 02:00 → 03:00; 7 November 2027 02:00 → 01:00.
        let week = slots(
            chrono_tz::America::New_York,
            &["sun 02:30", "sun 03:00", "sun 01:30"],
        );
        let spring: Vec<_> = week
            .occurrences(utc("2027-03-14T00:00:00Z"))
            .take_while(|t| *t < utc("2027-03-15T00:00:00Z"))
            .collect();
        // 01:30 EST; 02:30 does not exist and becomes 03:00 EDT, which the 03:00 slot also is.
        assert_eq!(
            spring,
            [utc("2027-03-14T06:30:00Z"), utc("2027-03-14T07:00:00Z")]
        );
        let autumn: Vec<_> = week
            .occurrences(utc("2027-11-07T00:00:00Z"))
            .take_while(|t| *t < utc("2027-11-08T00:00:00Z"))
            .collect();
        // 01:30 happens twice (EDT, then EST): the first only.
        assert_eq!(
            autumn,
            [
                utc("2027-11-07T05:30:00Z"),
                utc("2027-11-07T07:30:00Z"),
                utc("2027-11-07T08:00:00Z")
            ]
        );
    }

    #[test]
    fn sydney_and_kolkata_keep_local_times_too() {
        // Sydney: 4 April 2027 03:00 AEDT → 02:00 AEST; Kolkata has no DST at UTC+5:30.
        let sydney = slots(chrono_tz::Australia::Sydney, &["sun 02:30", "mon 09:00"]);
        let got: Vec<_> = sydney
            .occurrences(utc("2027-04-03T12:00:00Z"))
            .take(2)
            .collect();
        assert_eq!(
            got,
            [utc("2027-04-03T15:30:00Z"), utc("2027-04-04T23:00:00Z")]
        );
        let kolkata = slots(chrono_tz::Asia::Kolkata, &["wed 09:00"]);
        assert_eq!(
            kolkata.occurrences(utc("2027-01-01T00:00:00Z")).next(),
            Some(utc("2027-01-06T03:30:00Z"))
        );
    }

    #[test]
    fn no_slots_have_no_occurrences_and_too_many_are_refused() {
        assert_eq!(
            slots(Tz::UTC, &[])
                .occurrences(utc("2027-01-01T00:00:00Z"))
                .next(),
            None
        );
        let many: Vec<Slot> = (0..7u8)
            .flat_map(|d| {
                (0..49u32).map(move |m| {
                    Slot::new(Weekday::try_from(d).unwrap(), m * 29 / 60, m * 29 % 60).unwrap()
                })
            })
            .collect();
        assert!(WeeklySlots::new(Tz::UTC, many).is_err());
    }

    fn any_slot() -> impl Strategy<Value = Slot> {
        (0u8..7, 0u32..24, 0u32..60)
            .prop_map(|(d, h, m)| Slot::new(Weekday::try_from(d).unwrap(), h, m).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every occurrence is at or after `from`, strictly later than the one before, and
        /// on a slot: its local weekday and time are the slot's, or the slot's time did not
        /// exist that day and it is the first minute that does.
        #[test]
        fn occurrences_are_valid_ordered_unique_instants_on_slots(
            zone in 0..chrono_tz::TZ_VARIANTS.len(),
            from in 1_577_836_800i64..2_082_758_400,
            set in proptest::collection::vec(any_slot(), 1..12),
        ) {
            let zone = chrono_tz::TZ_VARIANTS[zone];
            let from = DateTime::from_timestamp(from, 0).unwrap();
            let week = WeeklySlots::new(zone, set).unwrap();
            let got: Vec<_> = week.occurrences(from).take(40).collect();
            prop_assert_eq!(got.len(), 40);
            prop_assert!(got[0] >= from);
            prop_assert!(got.windows(2).all(|w| w[0] < w[1]));
            for t in &got {
                let local = t.with_timezone(&zone).naive_local();
                let exact = week.slots().iter().any(|s| {
                    s.weekday() == local.weekday() && s.time() == local.time()
                });
                let moved = week.slots().iter().any(|s| {
                    // Its time did not exist on this or the day before, and a minute earlier
                    // is before the clocks changed.
                    [local.date(), local.date().pred_opt().unwrap_or(local.date())]
                        .iter()
                        .any(|day| {
                            day.weekday() == s.weekday()
                                && zone.from_local_datetime(&day.and_time(s.time())).earliest().is_none()
                                && resolve(zone, *day, s.time()) == *t
                        })
                });
                prop_assert!(exact || moved, "{} ({}) is on no slot", t, local);
                prop_assert!(week.holds(*t));
            }
        }
    }
}
