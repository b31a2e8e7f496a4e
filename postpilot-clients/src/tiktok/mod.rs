//! TikTok, through the Content Posting API (`open.tiktokapis.com/v2`): publishing videos and
//! photo posts by `PULL_FROM_URL`, or videos by `FILE_UPLOAD` ([`TikTokPublisher`]) — and Login Kit: connecting accounts and
//! refreshing their rotating tokens ([`TikTokOAuth`]).

mod oauth;
mod publisher;

pub use oauth::{TikTokOAuth, TikTokOAuthConfig};
pub use publisher::{TikTokConfig, TikTokPublisher, VideoSource};
