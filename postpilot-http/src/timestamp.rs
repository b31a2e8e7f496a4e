//! Times in answers, written as chrono's serde writes them — RFC 3339 in UTC with `Z`, and as
//! many fraction digits as the value needs (none, 3, 6 or 9) — without going through `Display`.
//! chrono writes each part through the formatter and serde_json escapes every fragment: a page of
//! 20 posts carries about 70 times, and that cost about 11 µs of the page's 140 µs of server CPU
//! (DECISIONS 101). Years outside 0–9999 and leap seconds, which the format spells differently,
//! are left to chrono. Fields opt in with
//! `#[serde(serialize_with = "crate::timestamp::serialize")]` (or `option::serialize`).

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// `at` as chrono's serde writes it.
pub(crate) fn serialize<S: Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut text = Text::default();
    if !text.rfc3339(at) {
        return serde::Serialize::serialize(at, serializer);
    }
    let text = std::str::from_utf8(&text.bytes[..text.len]).map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(text)
}

/// The same for an optional time (`null` when absent).
pub(crate) mod option {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    /// `at` as chrono's serde writes it, or `null`.
    pub(crate) fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`: at most 30 bytes.
#[derive(Debug, Default)]
struct Text {
    bytes: [u8; 30],
    len: usize,
}

impl Text {
    /// Writes `at`; false (nothing to use) for a time this writer leaves to chrono.
    fn rfc3339(&mut self, at: &DateTime<Utc>) -> bool {
        let year = at.year();
        let nanos = at.nanosecond();
        let Ok(year) = u32::try_from(year) else {
            return false;
        };
        if year > 9999 || nanos >= 1_000_000_000 {
            return false;
        }
        self.digits(year, 4);
        self.byte(b'-');
        self.digits(at.month(), 2);
        self.byte(b'-');
        self.digits(at.day(), 2);
        self.byte(b'T');
        self.digits(at.hour(), 2);
        self.byte(b':');
        self.digits(at.minute(), 2);
        self.byte(b':');
        self.digits(at.second(), 2);
        if nanos != 0 {
            self.byte(b'.');
            if nanos.is_multiple_of(1_000_000) {
                self.digits(nanos / 1_000_000, 3);
            } else if nanos.is_multiple_of(1_000) {
                self.digits(nanos / 1_000, 6);
            } else {
                self.digits(nanos, 9);
            }
        }
        self.byte(b'Z');
        true
    }

    fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value`'s last `width` decimal digits, zero-padded.
    fn digits(&mut self, mut value: u32, width: usize) {
        for place in self.bytes[self.len..self.len + width].iter_mut().rev() {
            *place = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use proptest::prelude::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "super::serialize")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "super::option::serialize")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize)]
    struct Chronos {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    fn both(at: DateTime<Utc>, maybe: Option<DateTime<Utc>>) -> (String, String) {
        (
            serde_json::to_string(&Ours { at, maybe }).unwrap_or_default(),
            serde_json::to_string(&Chronos { at, maybe }).unwrap_or_default(),
        )
    }

    fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, nanos)
            .single()
            .unwrap_or_default()
    }

    proptest! {
        #[test]
        fn a_time_is_written_exactly_as_chrono_writes_it(
            // Years 1 to 9999 in seconds since 1970, and every kind of fraction.
            seconds in -62_135_596_800_i64..253_402_300_800,
            nanos in prop_oneof![
                Just(0_u32),
                (0_u32..1_000).prop_map(|ms| ms * 1_000_000),
                (0_u32..1_000_000).prop_map(|us| us * 1_000),
                0_u32..1_000_000_000,
            ],
            absent in any::<bool>(),
        ) {
            let time = at(seconds, nanos);
            let (ours, chronos) = both(time, (!absent).then_some(time));
            prop_assert_eq!(ours, chronos);
        }
    }

    #[test]
    fn the_edges_of_the_format_are_written_as_chrono_writes_them() {
        let leap_second = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|day| day.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|leap| leap.and_utc());
        for time in [
            Some(at(0, 0)),
            Some(at(-62_135_596_800, 0)),           // 0001-01-01
            Some(at(-62_167_219_200, 0)),           // 0000-01-01
            Some(at(-62_167_219_201, 999_999_999)), // year −1: left to chrono
            Some(at(253_402_300_799, 999_999_999)), // 9999-12-31T23:59:59.999999999
            Some(at(253_402_300_800, 0)),           // year 10000: left to chrono
            leap_second,                            // a leap second: left to chrono
        ]
        .into_iter()
        .flatten()
        {
            let (ours, chronos) = both(time, None);
            assert_eq!(ours, chronos, "{time:?}");
        }
        assert!(leap_second.is_some());
    }
}
