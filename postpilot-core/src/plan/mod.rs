//! Plans, their limits, and the quota rules every service applies through them.

mod limits;
mod quota;

pub use limits::{Limit, MonthWindow, PlanFile, PlanLimits, PlanTier, Plans, PlansFile, PostQuota};
pub(crate) use quota::{
    CountedGeneration, plan_of, post_quota, posts_quota_error, take_generation,
};
