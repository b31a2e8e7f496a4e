//! The dashboard's static files, embedded in the binary and served under content-hashed names
//! (`/assets/app.3f2a9c1d07.css`) with a year-long, immutable cache: a new build changes the name
//! of whatever changed, so a browser never keeps a stale file and never asks twice for a current
//! one.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::brand::{Brand, hashed_name};
use crate::state::AppState;

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    /// The name it is served under: its stem, the first 10 hex digits of its SHA-256, its
    /// extension.
    pub(crate) name: String,
    content_type: &'static str,
    bytes: Bytes,
}

impl Asset {
    fn new(file: &str, content_type: &'static str, bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            name: hashed_name(file, &bytes),
            content_type,
            bytes,
        }
    }

    /// The URL path it is served at.
    pub(crate) fn url(&self) -> String {
        format!("/assets/{}", self.name)
    }
}

/// Every asset a page may link.
#[derive(Debug)]
pub(crate) struct Assets {
    pub(crate) css: Asset,
    pub(crate) js: Asset,
    pub(crate) icon: Asset,
    pub(crate) heading_font: Asset,
    pub(crate) body_font: Asset,
}

impl Assets {
    fn all(&self) -> [&Asset; 5] {
        [
            &self.css,
            &self.js,
            &self.icon,
            &self.heading_font,
            &self.body_font,
        ]
    }
}

/// The assets, hashed once on first use.
pub(crate) static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let heading_font = Asset::new(
        "plus-jakarta-sans.woff2",
        "font/woff2",
        &include_bytes!("../../assets/fonts/plus-jakarta-sans-latin-wght-normal.woff2")[..],
    );
    let body_font = Asset::new(
        "quicksand.woff2",
        "font/woff2",
        &include_bytes!("../../assets/fonts/quicksand-latin-wght-normal.woff2")[..],
    );
    // The stylesheet names the fonts by their hashed URLs; its own hash covers the result.
    let css = include_str!("../../assets/app.css")
        .replace("{{heading_font}}", &heading_font.url())
        .replace("{{body_font}}", &body_font.url());
    let css = Asset::new("app.css", "text/css; charset=utf-8", css);
    let icon = Asset::new(
        "icon.svg",
        "image/svg+xml",
        &include_bytes!("../../assets/icon.svg")[..],
    );
    let js = Asset::new(
        "app.js",
        "text/javascript; charset=utf-8",
        &include_bytes!("../../assets/app.js")[..],
    );
    Assets {
        css,
        js,
        icon,
        heading_font,
        body_font,
    }
});

/// The URL of the brand's stylesheet, if it sets colours (its name is hashed once, by
/// [`Brand::parse`]).
pub(crate) fn brand_stylesheet_url(brand: &Brand) -> Option<String> {
    brand
        .stylesheet_name()
        .map(|name| format!("/assets/{name}"))
}

/// `GET /assets/{name}`: the asset of that exact (hashed) name, cached for a year; any other
/// name is a 404, so an old page asking for an old file learns it is gone.
pub(crate) async fn serve(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let brand = &state.0.config.brand;
    let (content_type, bytes) = match ASSETS.all().into_iter().find(|a| a.name == name) {
        Some(asset) => (asset.content_type, asset.bytes.clone()),
        None => match brand
            .stylesheet()
            .filter(|_| brand.stylesheet_name() == Some(&name))
        {
            Some(css) => ("text/css; charset=utf-8", Bytes::from(css.to_owned())),
            None => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
        },
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        bytes,
    )
        .into_response()
}
