//! Posts: their content, their publication state machine, and the post use cases.

pub(crate) mod cap;
mod content;
pub(crate) mod duplicate;
mod model;
mod product;
mod product_change;
pub(crate) mod room;
pub(crate) mod service;

pub use cap::{
    CapFull, DEFAULT_TIKTOK_DAILY_CAP, NEXT_FREE_LOOKAHEAD_DAYS, PublishingCap, PublishingCaps,
    cap_window,
};
pub use content::{
    Caption, Hashtag, Hashtags, MAX_CAPTION_CHARS, MAX_HASHTAG_CHARS, MAX_HASHTAGS, MAX_URL_LEN,
    MediaKind, MediaUrl, parse_media_urls,
};
pub use duplicate::{DUPLICATE_WINDOW, DuplicateOf, Duplicates};
pub use model::{
    Checkpoint, Lease, MAX_SCHEDULE_AHEAD, NewPost, Post, PostRecord, PostStatus, Published,
    check_schedule_time,
};
pub use product::ProductSnapshot;
pub use product_change::{DELETED_REASON, PauseOn, ProductState, pause_reason, updated_snapshot};
pub use service::{
    CreatePost, MAX_CALENDAR_DAYS, MAX_PAUSE_REASON_CHARS, PostFilter, PostPatch, PostService,
    ResumeCaption,
};
