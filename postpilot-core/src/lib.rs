#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod account;
mod aggregate;
pub mod analytics;
pub mod api_key;
pub mod billing;
pub mod caption;
pub mod clock;
mod context;
pub mod crypto;
mod engine;
mod error;
pub mod event;
pub mod id;
pub mod idempotency;
pub mod import;
mod names;
pub mod page;
pub mod plan;
pub mod platform;
pub mod post;
pub mod publish;
pub mod queue;
pub mod schedule;
pub mod store;
pub mod template;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod usage;
pub mod user;
pub mod webhook;

pub use engine::{BuildError, DEFAULT_MAX_API_KEYS, Engine, EngineBuilder};
pub use error::{Error, InvalidTransition, LimitedResource, Result, ValidationError};
