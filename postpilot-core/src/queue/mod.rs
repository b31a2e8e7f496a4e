//! The content queue: product data turned into captions, reviewed, and approved into posts.

mod model;
mod service;

pub use model::{
    MAX_REASON_CHARS, NewQueueItem, QueueItem, QueueItemEdit, QueueItemRecord, QueueStatus,
    parse_platforms, reason_pattern,
};
pub(crate) use service::follow_posts;
pub use service::{
    Approval, ApproveItem, CreateQueueItem, Placement, QueueItemPatch, QueueService,
};
