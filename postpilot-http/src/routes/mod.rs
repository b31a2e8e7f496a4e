//! The `/api/v1` resources, one module each, each exposing `router()`.

pub(crate) mod accounts;
pub(crate) mod analytics;
pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod billing;
pub(crate) mod endpoints;
pub(crate) mod health;
pub(crate) mod imports;
pub(crate) mod oauth;
pub(crate) mod posts;
pub(crate) mod queue;
pub(crate) mod schedules;
pub(crate) mod templates;
pub(crate) mod usage;
pub(crate) mod webhooks;

use std::str::FromStr;

use postpilot_core::page::Page;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;

/// Declares a list's query string: the list's own filters, then `page`, `per_page` and `after`,
/// in one struct with a `page_request()`. One struct per list rather than a flattened `Paging`: serde
/// cannot combine `flatten` with `deny_unknown_fields`, and a flattened query string reads its
/// numbers as strings.
macro_rules! list_query {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        $vis struct $name {
            $($(#[$field_meta])* $field: $ty,)*
            /// 1-based page (default 1).
            #[param(minimum = 1, maximum = 1_000_000)]
            page: Option<u32>,
            /// Items per page (default 20).
            #[param(minimum = 1, maximum = 100)]
            per_page: Option<u32>,
            /// Start right after this cursor — the `next` of the page before — rather than at the
            /// start of the list (`page` then counts from it). Keyset pagination: the same cost
            /// at any depth, and no item skipped or repeated when items are added meanwhile.
            // What every cursor looks like: 34 URL-safe base64 characters of a version byte (1),
            // a time and an id, the unused low bits of the last character zero.
            #[param(pattern = r"^A[Q-Za-f][A-Za-z0-9_-]{31}[AQgw]$")]
            after: Option<String>,
        }

        impl $name {
            /// The page asked for (422 outside the bounds, or for a token that is not a cursor).
            fn page_request(&self) -> $crate::error::ApiResult<postpilot_core::page::PageRequest> {
                Ok(postpilot_core::page::PageRequest::with_cursor(
                    self.page,
                    self.per_page,
                    self.after.as_deref(),
                )
                .map_err(postpilot_core::Error::from)?)
            }
        }
    };
}
pub(crate) use list_query;

list_query! {
    /// `?page=1&per_page=20` (at most 100).
    pub(crate) struct Paging {}
}

/// A page of a list: `{items, total, page, per_page, next}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Paged<T> {
    /// The items on this page.
    pub(crate) items: Vec<T>,
    /// Items in the whole list.
    pub(crate) total: u64,
    /// This page (1-based, counted from the cursor for a page asked for `after` one).
    pub(crate) page: u32,
    /// Page size.
    pub(crate) per_page: u32,
    /// The cursor of this page's last item when more follow: pass it as `after` for the next
    /// page. Opaque; `null` on the last page.
    #[schema(value_type = Option<String>, example = "ARidAfmmKIAAAZPgsnxKfT6fIVuKbA1OHw")]
    pub(crate) next: Option<String>,
}

impl<T, U: Into<T>> From<Page<U>> for Paged<T> {
    fn from(page: Page<U>) -> Self {
        let page = page.map(U::into);
        Self {
            items: page.items,
            total: page.total,
            page: page.page,
            per_page: page.per_page,
            next: page.next.map(|cursor| cursor.to_string()),
        }
    }
}

/// An optional name from a query or a body (a status, a platform, a tone) as its domain type;
/// an unknown one is the domain's own validation error.
pub(crate) fn parse_name<T>(name: Option<&str>) -> ApiResult<Option<T>>
where
    T: FromStr,
    postpilot_core::Error: From<T::Err>,
{
    Ok(name
        .map(str::parse)
        .transpose()
        .map_err(postpilot_core::Error::from)?)
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Deserialises a field that may be left out (`None`) but is never `null`: an explicit `null`
/// is refused, naming the field, instead of being read as "unchanged". Use with
/// `#[serde(default, deserialize_with = "not_null")]`.
pub(crate) fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)?.map(Some).ok_or_else(|| {
        serde::de::Error::custom("must not be null (leave the field out to keep it)")
    })
}
