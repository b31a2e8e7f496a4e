//! The content queue: product data turned into captions, reviewed, and approved into posts.

mod model;
mod service;

pub use model::{QueueItem, QueueStatus, parse_platforms};
pub use service::{Approval, ApproveItem, CreateQueueItem, QueueItemPatch, QueueService};
