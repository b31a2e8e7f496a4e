//! TikTok, through the Content Posting API (`open.tiktokapis.com/v2`): publishing videos and
//! photo posts by `PULL_FROM_URL` ([`TikTokPublisher`]).

mod publisher;

pub use publisher::{TikTokConfig, TikTokPublisher};
