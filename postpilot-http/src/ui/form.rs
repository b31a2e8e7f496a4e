//! A form as the list of its fields, in order: what checkboxes and repeated names need (the
//! `serde_urlencoded` structs of axum's `Form` cannot take a field twice).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use postpilot_core::id::UserId;
use postpilot_core::{Error, ValidationError};
use serde::Deserialize;

use super::session::WithCsrf;
use crate::state::AppState;

/// A form's fields, as sent, line breaks as `\n` (browsers send a textarea's as `\r\n`, which
/// would count twice against a caption's length and disagree with the page's counters).
#[derive(Debug)]
pub(crate) struct Fields(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs = Vec::<(String, String)>::deserialize(d)?;
        Ok(Self(
            pairs
                .into_iter()
                .map(|(key, value)| (key, value.replace("\r\n", "\n")))
                .collect(),
        ))
    }
}

impl Fields {
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The value of `name` as sent (untrimmed), empty when absent.
    pub(crate) fn text(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The words of `name`, split at commas, spaces and line breaks (hashtags, tags).
    pub(crate) fn words(&self, name: &str) -> Vec<String> {
        self.text(name)
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The non-blank lines of `name` (image URLs).
    pub(crate) fn lines(&self, name: &str) -> Vec<String> {
        self.text(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl WithCsrf for Fields {
    fn csrf(&self) -> &str {
        self.text("csrf")
    }
}

/// The merchant's time zone (Settings): the pages show times in it and read typed ones in it.
pub(crate) async fn time_zone(state: &AppState, user: UserId) -> Result<Tz, Error> {
    state.engine().auth().time_zone(user).await
}

/// A time as the pages show it, in the merchant's zone (empty for none).
pub(crate) fn when(t: Option<DateTime<Utc>>, zone: Tz) -> String {
    t.map_or_else(String::new, |t| {
        t.with_timezone(&zone).format("%-d %b %Y %H:%M").to_string()
    })
}

/// A `datetime-local` value (`2026-12-04T10:30`) in `zone`, as an instant.
pub(crate) fn local_time(value: &str, zone: Tz) -> Result<DateTime<Utc>, Error> {
    let invalid = |why: &str| Error::from(ValidationError::new("scheduled_for", why.to_owned()));
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| invalid("is not a date and time"))?;
    zone.from_local_datetime(&naive)
        // An hour that happens twice (clocks going back): its first occurrence.
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| invalid("does not exist in your time zone (the clocks change then)"))
}

/// Every IANA zone this build knows, sorted: a zone picker's options.
pub(crate) fn zone_names() -> Vec<&'static str> {
    let mut zones: Vec<_> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
    zones.sort_unstable();
    zones
}
