//! Pagination: `?page=1&per_page=20` (at most 100), `?after=<cursor>&per_page=20`, or both
//! (pages counted from the cursor) → `{items, total, page, per_page, next}`.
//!
//! A page by number skips the items before it (`OFFSET`): its cost grows with the page number,
//! and an item inserted meanwhile shifts every later page by one. A page after a [`Cursor`] —
//! the position of the previous page's last item in the list's order, as `next` gave it — starts
//! right after that item (keyset pagination): it costs the same at any depth and is stable under
//! inserts, which is how a client should walk a long list.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::ValidationError;

/// Largest page size.
pub const MAX_PER_PAGE: u32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PER_PAGE: u32 = 20;

/// Where a page ends in its list's order: the sort time and the id of its last item, given to
/// clients as an opaque token (URL-safe base64 of a version byte, the time in nanoseconds and
/// the id). Every list is ordered by a time, then by id, so this is all a store needs to start
/// the next page right after the item, wherever it now is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    at: DateTime<Utc>,
    id: Uuid,
}

/// The token format's version, its first byte.
const CURSOR_VERSION: u8 = 1;

/// `at` without its part finer than a microsecond.
fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.timestamp_nanos_opt().unwrap_or_default();
    DateTime::from_timestamp_nanos(nanos - nanos.rem_euclid(1_000))
}

impl Cursor {
    /// The position of an item sorted at `at` with id `id`. Times are positions to the
    /// microsecond, PostgreSQL's precision (the clock gives no finer): a finer part is dropped,
    /// so both stores start a page at the same place.
    pub fn new(at: DateTime<Utc>, id: Uuid) -> Self {
        Self {
            at: to_micros(at),
            id,
        }
    }

    /// The sort time of the item the page ended on.
    pub const fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The id of the item the page ended on.
    pub const fn id(&self) -> Uuid {
        self.id
    }

    /// Reads a token [`Cursor`]'s `Display` wrote.
    ///
    /// # Errors
    /// Anything else, named as the `after` field.
    pub fn parse(token: &str) -> Result<Self, ValidationError> {
        let refused =
            || ValidationError::new("after", "must be a cursor a list returned as `next`");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused())?;
        let [CURSOR_VERSION, rest @ ..] = bytes.as_slice() else {
            return Err(refused());
        };
        let (nanos, id) = rest.split_at_checked(8).ok_or_else(refused)?;
        let nanos = i64::from_be_bytes(nanos.try_into().map_err(|_| refused())?);
        let id = Uuid::from_slice(id).map_err(|_| refused())?;
        Ok(Self::new(DateTime::from_timestamp_nanos(nanos), id))
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Nanoseconds cover 1677 to 2262: every time a list sorts by is within.
        let nanos = self.at.timestamp_nanos_opt().unwrap_or_default();
        let mut bytes = Vec::with_capacity(25);
        bytes.push(CURSOR_VERSION);
        bytes.extend_from_slice(&nanos.to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        f.write_str(&URL_SAFE_NO_PAD.encode(bytes))
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Which way a list runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Latest time first (then greatest id).
    NewestFirst,
    /// Earliest time first (then least id).
    OldestFirst,
}

/// A validated page request: a 1-based page number, counted from the start of the list or from
/// right after a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
    after: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            after: None,
        }
    }
}

impl PageRequest {
    /// Validates a page request; missing values take the defaults (page 1, 20 per page).
    ///
    /// # Errors
    /// `page` is 0 or beyond 1,000,000, or `per_page` is 0 or above 100.
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Result<Self, ValidationError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 || page > 1_000_000 {
            return Err(ValidationError::new(
                "page",
                "must be between 1 and 1000000",
            ));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ValidationError::new(
                "per_page",
                "must be between 1 and 100",
            ));
        }
        Ok(Self {
            page,
            per_page,
            after: None,
        })
    }

    /// A page by number, counted from the start of the list or, with `after` (a token a list
    /// gave as `next`), from right after that cursor: `page` 1 after a cursor is the page that
    /// follows it.
    ///
    /// # Errors
    /// As [`PageRequest::new`]; `after` that is not a cursor.
    pub fn with_cursor(
        page: Option<u32>,
        per_page: Option<u32>,
        after: Option<&str>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            after: after.map(Cursor::parse).transpose()?,
            ..Self::new(page, per_page)?
        })
    }

    /// The cursor this page starts after, if it is asked for that way.
    pub const fn after(self) -> Option<Cursor> {
        self.after
    }

    /// The 1-based page number.
    pub const fn page(self) -> u32 {
        self.page
    }

    /// Items per page.
    pub const fn per_page(self) -> u32 {
        self.per_page
    }

    /// How many items to skip (after the cursor, if there is one).
    pub const fn offset(self) -> u64 {
        (self.page as u64 - 1) * self.per_page as u64
    }

    /// Cuts this page out of a full list sorted in `order` by `position` (for in-memory stores):
    /// the items after the cursor, or past the offset, and the cursor of the last one when more
    /// follow.
    pub fn slice<T>(self, all: Vec<T>, order: Order, position: impl Fn(&T) -> Cursor) -> Page<T> {
        let total = all.len() as u64;
        let key = |c: Cursor| (c.at, c.id);
        let cursor = self.after.map_or(0, |after| {
            all.partition_point(|item| {
                let (item, after) = (key(position(item)), key(after));
                match order {
                    Order::NewestFirst => item >= after,
                    Order::OldestFirst => item <= after,
                }
            })
        });
        let start = cursor.saturating_add(usize::try_from(self.offset()).unwrap_or(usize::MAX));
        let more = all.len() > start.saturating_add(self.per_page as usize);
        let items: Vec<T> = all
            .into_iter()
            .skip(start)
            .take(self.per_page as usize)
            .collect();
        let next = if more {
            items.last().map(&position)
        } else {
            None
        };
        Page {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
            next,
        }
    }
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Items in the whole list.
    pub total: u64,
    /// This page's number (1-based).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Where the next page starts (`?after=`), when items follow this page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// The same page with every item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pages_default_to_the_first_twenty() {
        let p = PageRequest::new(None, None).unwrap();
        assert_eq!((p.page(), p.per_page(), p.offset()), (1, 20, 0));
    }

    #[test]
    fn page_zero_and_oversized_pages_are_refused() {
        assert_eq!(PageRequest::new(Some(0), None).unwrap_err().field(), "page");
        assert_eq!(
            PageRequest::new(None, Some(0)).unwrap_err().field(),
            "per_page"
        );
        assert_eq!(
            PageRequest::new(None, Some(101)).unwrap_err().field(),
            "per_page"
        );
        assert!(PageRequest::new(None, Some(100)).is_ok());
    }

    /// Item `n` of a list, sorted at second `n / 2` (pairs tie, broken by id).
    fn position(n: &u32) -> Cursor {
        let at = DateTime::from_timestamp(1_800_000_000 + i64::from(n / 2), 0).unwrap();
        Cursor::new(at, Uuid::from_u128(u128::from(*n)))
    }

    #[test]
    fn slicing_reports_the_total_the_requested_page_and_where_the_next_starts() {
        let page = PageRequest::new(Some(2), Some(3)).unwrap().slice(
            (1..=7).collect(),
            Order::OldestFirst,
            position,
        );
        assert_eq!(
            (page.items, page.total, page.page, page.per_page, page.next),
            (vec![4, 5, 6], 7, 2, 3, Some(position(&6)))
        );
        let last = PageRequest::new(Some(3), Some(3)).unwrap().slice(
            (1..=7).collect(),
            Order::OldestFirst,
            position,
        );
        assert_eq!((last.items, last.next), (vec![7], None));
        let beyond = PageRequest::new(Some(5), Some(3)).unwrap().slice(
            (1..=7).collect::<Vec<_>>(),
            Order::OldestFirst,
            position,
        );
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.total, 7);
    }

    #[test]
    fn a_page_after_a_cursor_starts_right_after_its_item_either_way_ties_included() {
        let after = |token: Cursor| {
            PageRequest::with_cursor(None, Some(3), Some(&token.to_string())).unwrap()
        };
        let oldest = after(position(&4)).slice((1..=9).collect(), Order::OldestFirst, position);
        assert_eq!(
            (oldest.items, oldest.next),
            (vec![5, 6, 7], Some(position(&7)))
        );
        let newest =
            after(position(&5)).slice((1..=9).rev().collect(), Order::NewestFirst, position);
        assert_eq!(
            (newest.items, newest.next),
            (vec![4, 3, 2], Some(position(&2)))
        );
        // The cursor's item itself is gone: the page starts where it was.
        let gone: Vec<u32> = (1..=9).filter(|n| *n != 4).collect();
        let page = after(position(&4)).slice(gone, Order::OldestFirst, position);
        assert_eq!(page.items, vec![5, 6, 7]);
    }

    #[test]
    fn cursors_read_back_what_they_wrote_and_nothing_else() {
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap();
        let cursor = Cursor::new(at, Uuid::from_u128(0xabc));
        assert_eq!(
            cursor.at().timestamp_subsec_nanos(),
            123_456_000,
            "to the microsecond"
        );
        let token = cursor.to_string();
        assert_eq!(token.len(), 34);
        assert_eq!(Cursor::parse(&token).unwrap(), cursor);
        for bad in ["", "x", "!!!!", &token[..20], &format!("{token}AA")] {
            assert_eq!(Cursor::parse(bad).unwrap_err().field(), "after", "{bad}");
        }
        let other_version = URL_SAFE_NO_PAD.encode([2u8; 25]);
        assert!(Cursor::parse(&other_version).is_err());
    }

    #[test]
    fn every_token_of_the_documented_shape_is_a_cursor() {
        // The OpenAPI pattern of `after`: `^A[Q-Za-f][A-Za-z0-9_-]{31}[AQgw]$`.
        let alphabet: Vec<char> = ('A'..='Z')
            .chain('a'..='z')
            .chain('0'..='9')
            .chain(['-', '_'])
            .collect();
        let mut seed = 7_u64;
        for n in 0..500 {
            let mut pick = |from: &[char]| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                from[(seed >> 33) as usize % from.len()]
            };
            let second: Vec<char> = ('Q'..='Z').chain('a'..='f').collect();
            let mut token = String::from("A");
            token.push(pick(&second));
            for _ in 0..31 {
                token.push(pick(&alphabet));
            }
            token.push(pick(&['A', 'Q', 'g', 'w']));
            let cursor = Cursor::parse(&token).unwrap_or_else(|e| panic!("{n}: {token}: {e}"));
            assert_eq!(Cursor::parse(&cursor.to_string()).unwrap(), cursor);
        }
        // And every token the lists write has that shape.
        for _ in 0..100 {
            let real = Cursor::new(Utc::now(), Uuid::new_v4()).to_string();
            let chars: Vec<char> = real.chars().collect();
            assert_eq!(chars.len(), 34, "{real}");
            assert_eq!(chars[0], 'A', "{real}");
            assert!(
                ('Q'..='Z').chain('a'..='f').any(|c| c == chars[1]),
                "{real}"
            );
            assert!(chars[2..33].iter().all(|c| alphabet.contains(c)), "{real}");
            assert!(['A', 'Q', 'g', 'w'].contains(&chars[33]), "{real}");
        }
    }

    #[test]
    fn pages_after_a_cursor_are_counted_from_it() {
        let token = position(&4).to_string();
        let second = PageRequest::with_cursor(Some(2), Some(2), Some(&token)).unwrap();
        assert_eq!((second.offset(), second.after()), (2, Some(position(&4))));
        let page = second.slice((1..=9).collect(), Order::OldestFirst, position);
        assert_eq!((page.items, page.next), (vec![7, 8], Some(position(&8))));
        let numbered = PageRequest::with_cursor(Some(3), Some(5), None).unwrap();
        assert_eq!((numbered.offset(), numbered.after()), (10, None));
        assert_eq!(
            PageRequest::with_cursor(None, None, Some("nope"))
                .unwrap_err()
                .field(),
            "after"
        );
    }
}
