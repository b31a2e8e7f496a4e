//! PostPilot's outbound HTTP clients — adapters like `postpilot-sqlx`: core holds the ports
//! (`Publisher`, `LanguageModel`), the state and the rules; this crate speaks the platforms' documented APIs, on
//! one HTTP stack (`reqwest` over rustls, timeouts on every call, tokens only in the
//! `Authorization` header), each platform behind a feature. Every base URL is configuration, so
//! the tests point the clients at local fakes that speak the same shapes.

#[cfg(feature = "facebook")]
pub mod facebook;
#[cfg(feature = "tiktok")]
pub mod fetch;
#[cfg(any(feature = "tiktok", feature = "webhooks"))]
mod guard;
pub mod http;
#[cfg(feature = "instagram")]
pub mod instagram;
#[cfg(feature = "llm")]
pub mod llm;
mod media;
pub mod meta;
#[cfg(feature = "stripe")]
pub mod stripe;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tiktok")]
pub mod tiktok;
#[cfg(feature = "webhooks")]
pub mod webhook;
