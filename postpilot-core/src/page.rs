//! Pagination: `?page=1&per_page=20` (at most 100) → `{items, total, page, per_page}`.

use serde::Serialize;

use crate::ValidationError;

/// Largest page size.
pub const MAX_PER_PAGE: u32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PER_PAGE: u32 = 20;

/// A validated page request (1-based page number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
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
        Ok(Self { page, per_page })
    }

    /// The 1-based page number.
    pub const fn page(self) -> u32 {
        self.page
    }

    /// Items per page.
    pub const fn per_page(self) -> u32 {
        self.per_page
    }

    /// How many items to skip.
    pub const fn offset(self) -> u64 {
        (self.page as u64 - 1) * self.per_page as u64
    }

    /// Cuts this page out of a full, ordered list (for in-memory stores).
    pub fn slice<T>(self, all: Vec<T>) -> Page<T> {
        let total = all.len() as u64;
        let offset = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        let items = all
            .into_iter()
            .skip(offset)
            .take(self.per_page as usize)
            .collect();
        Page {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
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
}

impl<T> Page<T> {
    /// The same page with every item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
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

    #[test]
    fn slicing_reports_the_total_and_the_requested_page() {
        let page = PageRequest::new(Some(2), Some(3))
            .unwrap()
            .slice((1..=7).collect());
        assert_eq!(
            (page.items, page.total, page.page, page.per_page),
            (vec![4, 5, 6], 7, 2, 3)
        );
        let beyond = PageRequest::new(Some(5), Some(3))
            .unwrap()
            .slice((1..=7).collect::<Vec<_>>());
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.total, 7);
    }
}
