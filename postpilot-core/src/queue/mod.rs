//! The content queue: product data turned into captions, reviewed, and approved into posts.

mod model;
mod service;

pub use model::{MAX_REASON_CHARS, QueueItem, QueueStatus, parse_platforms, reason_pattern};
pub use service::{Approval, ApproveItem, CreateQueueItem, QueueItemPatch, QueueService};
