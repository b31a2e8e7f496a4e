//! postpilot-clients' integration tests, one binary: each platform client against a local fake
//! that speaks the platform's documented shapes, driven through the engine's real dispatcher.
#![allow(clippy::unwrap_used)]

mod facebook;
mod facebook_oauth;
mod instagram;
mod instagram_oauth;
mod llm;
mod outbox;
mod shop;
mod stripe;
mod tiktok;
mod tiktok_oauth;
mod tiktok_upload;
mod webhook;
