//! The dashboard's static files, embedded in the binary and served under content-hashed names
//! (`/assets/app.3f2a9c1d07.css`) with a year-long, immutable cache: a new build changes the name
//! of whatever changed, so a browser never keeps a stale file and never asks twice for a current
//! one.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::brand::Brand;
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
        let hash = postpilot_core::crypto::hex_sha256(&bytes);
        let (stem, extension) = file.rsplit_once('.').unwrap_or((file, ""));
        Self {
            name: format!("{stem}.{}.{extension}", &hash[..10]),
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

/// The brand's stylesheet (its colours), named by its hash like the others.
fn brand_stylesheet(brand: &Brand) -> Option<Asset> {
    brand
        .stylesheet()
        .map(|css| Asset::new("brand.css", "text/css; charset=utf-8", css.to_owned()))
}

/// The URL of the brand's stylesheet (empty when it sets no colour).
pub(crate) fn brand_stylesheet_url(brand: &Brand) -> String {
    brand_stylesheet(brand).map(|a| a.url()).unwrap_or_default()
}

/// `GET /assets/{name}`: the asset of that exact (hashed) name, cached for a year; any other
/// name is a 404, so an old page asking for an old file learns it is gone.
pub(crate) async fn serve(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let brand = brand_stylesheet(&state.0.config.brand).filter(|a| a.name == name);
    let found = ASSETS.all().into_iter().find(|a| a.name == name);
    match found.or(brand.as_ref()) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
