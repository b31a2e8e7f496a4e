//! `/accounts/{id}/schedule` and `/accounts/{id}/slots`: an account's posting schedule (weekly
//! slots as local times in a time zone) and its slots with the posts that fill them.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use postpilot_core::id::AccountId;
use postpilot_core::schedule::{MAX_SLOTS, PostingSchedule, SlotListing, SlotView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::schema::*;
use crate::state::AppState;

/// An account's posting schedule.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleDto {
    account_id: Uuid,
    /// The zone the slots' times are in.
    #[schema(value_type = TimeZoneName)]
    time_zone: String,
    /// Weekly slots, Monday first (`mon 09:00`).
    #[schema(value_type = Vec<SlotText>)]
    slots: Vec<String>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    updated_at: DateTime<Utc>,
}

impl From<PostingSchedule> for ScheduleDto {
    fn from(s: PostingSchedule) -> Self {
        Self {
            account_id: s.id().as_uuid(),
            time_zone: s.slots().zone().name().to_owned(),
            slots: s.slots().to_strings(),
            updated_at: s.updated_at(),
        }
    }
}

/// A schedule to set: every slot replaces the last ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleBody {
    /// The slots' zone (default: the merchant's).
    #[serde(default)]
    #[schema(value_type = Option<TimeZoneName>)]
    time_zone: Option<String>,
    /// Weekly slots (`mon 09:00`), at most 336 (duplicates count once).
    #[schema(value_type = Vec<SlotText>, max_items = 336)]
    slots: Vec<String>,
}

/// One slot and the account's posts at it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlotDto {
    #[serde(serialize_with = "crate::timestamp::serialize")]
    at: DateTime<Utc>,
    /// The account's posts whose time is this slot's.
    posts: Vec<Uuid>,
}

impl From<SlotView> for SlotDto {
    fn from(v: SlotView) -> Self {
        Self {
            at: v.at,
            posts: v.posts.iter().map(|p| p.as_uuid()).collect(),
        }
    }
}

/// An account's slots in a range.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlotListingDto {
    /// The slots, in order, each with the posts at it.
    slots: Vec<SlotDto>,
    /// Posts in the range the queue put on a slot the schedule no longer has. They keep their
    /// time; queue them again to move them onto a slot.
    off_slot: Vec<Uuid>,
}

impl From<SlotListing> for SlotListingDto {
    fn from(l: SlotListing) -> Self {
        Self {
            slots: l.slots.into_iter().map(SlotDto::from).collect(),
            off_slot: l.off_slot.iter().map(|p| p.as_uuid()).collect(),
        }
    }
}

/// A range of slots: `from` up to, not including, `to` (at most 62 days).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SlotsQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// The account's posting schedule (none set: no slots, in the merchant's time zone).
#[utoipa::path(get, path = "/accounts/{id}/schedule", tag = "accounts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ScheduleDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<ScheduleDto>> {
    let schedule = state.engine().schedules().get(caller.user_id, id).await?;
    Ok(Json(schedule.into()))
}

/// Replaces the account's posting schedule. Slots are local times: a 09:00 slot stays 09:00
/// across daylight-saving changes (a skipped time moves to the first minute after it, a
/// repeated one is used once). Posts keep their times.
#[utoipa::path(put, path = "/accounts/{id}/schedule", tag = "accounts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = ScheduleBody,
    responses((status = 200, body = ScheduleDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn put_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> ApiResult<Json<ScheduleDto>> {
    let schedule = state
        .engine()
        .schedules()
        .set(caller.user_id, id, body.time_zone.as_deref(), &body.slots)
        .await?;
    Ok(Json(schedule.into()))
}

/// The account's slots in a range, each with the posts at it.
#[utoipa::path(get, path = "/accounts/{id}/slots", tag = "accounts", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), SlotsQuery),
    responses((status = 200, body = SlotListingDto), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn slots(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
    ApiQuery(query): ApiQuery<SlotsQuery>,
) -> ApiResult<Json<SlotListingDto>> {
    let listing = state
        .engine()
        .schedules()
        .slots(caller.user_id, id, query.from, query.to)
        .await?;
    Ok(Json(listing.into()))
}

const _: () = assert!(MAX_SLOTS == 336, "ScheduleBody's max_items says 336");

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_schedule, put_schedule))
        .routes(routes!(slots))
}
