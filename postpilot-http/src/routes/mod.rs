//! The `/api/v1` resources, one module each, each exposing `router()`.

pub(crate) mod accounts;
pub(crate) mod analytics;
pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod billing;
pub(crate) mod health;
pub(crate) mod posts;
pub(crate) mod queue;
pub(crate) mod usage;
pub(crate) mod webhooks;

use postpilot_core::page::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;

/// `?page=1&per_page=20` (at most 100).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Paging {
    /// 1-based page (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub(crate) page: Option<u32>,
    /// Items per page (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub(crate) per_page: Option<u32>,
}

impl Paging {
    pub(crate) fn request(&self) -> ApiResult<PageRequest> {
        Ok(PageRequest::new(self.page, self.per_page).map_err(postpilot_core::Error::from)?)
    }
}

/// A page of a list: `{items, total, page, per_page}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Paged<T> {
    /// The items on this page.
    pub(crate) items: Vec<T>,
    /// Items in the whole list.
    pub(crate) total: u64,
    /// This page (1-based).
    pub(crate) page: u32,
    /// Page size.
    pub(crate) per_page: u32,
}

impl<T> Paged<T> {
    pub(crate) fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self {
            items: page.items,
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
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
