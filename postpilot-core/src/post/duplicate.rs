//! The duplicate guard: the same caption on the same account within 24 hours of another post is
//! refused unless the request allows it. Platforms reject such a post (TikTok, X) or quietly
//! show it to fewer people (Instagram, Facebook); a merchant who schedules it twice almost
//! always did so by mistake (a double click, an import sent twice, a template without a
//! variable).

use chrono::{DateTime, TimeDelta, Utc};

use crate::id::PostId;

/// How far either side of a post's time another post with its caption counts as a duplicate.
pub const DUPLICATE_WINDOW: TimeDelta = TimeDelta::hours(24);

/// Whether a request lets a post share its caption with another post of its account within
/// [`DUPLICATE_WINDOW`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Duplicates {
    /// Refuse it with [`Error::DuplicatePost`](crate::Error::DuplicatePost) (the default).
    #[default]
    Refuse,
    /// The merchant means it (a repost on purpose).
    Allow,
}

impl Duplicates {
    /// `Allow` when `allowed`, as an API field `allow_duplicate` reads.
    pub const fn allowed(allowed: bool) -> Self {
        if allowed { Self::Allow } else { Self::Refuse }
    }
}

/// The other post a refused post would duplicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateOf {
    /// The post that already has the caption on the account.
    pub post_id: PostId,
    /// Its time.
    pub scheduled_for: DateTime<Utc>,
}

/// Two captions are the same when they are equal after white space is collapsed and case is
/// ignored: what a platform's duplicate check (and a follower) sees as the same text.
pub(crate) fn same_caption(a: &str, b: &str) -> bool {
    let words = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
    };
    words(a) == words(b)
}

#[cfg(test)]
mod tests {
    use super::same_caption;

    #[test]
    fn captions_differing_only_in_spacing_or_case_are_the_same() {
        assert!(same_caption("New  drop:\nRed Mug", "new drop: red mug "));
        assert!(!same_caption("New drop: red mug", "New drop: blue mug"));
        assert!(!same_caption("New drop", "New drop!"));
    }
}
