//! `/app/accounts/{id}/schedule`: an account's posting schedule — weekly slots as local times in
//! a time zone — with its next two weeks of slots and the posts on them, and the posts the queue
//! put on a slot the schedule no longer has.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::Duration;
use chrono_tz::Tz;
use postpilot_core::id::{AccountId, PostId};
use postpilot_core::post::Post;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::form::Fields;
use super::pages::{Layout, Notice, PageId, PageResult, page, refused, said};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::state::AppState;

/// How far ahead the page lists slots.
const AHEAD_DAYS: i64 = 14;

/// A post on (or off) a slot, as a link.
#[derive(Debug)]
pub(crate) struct PostLink {
    pub(crate) id: Uuid,
    /// The start of its caption.
    pub(crate) caption: String,
    /// Its time, local, for posts off a slot.
    pub(crate) when: String,
}

/// One upcoming slot.
#[derive(Debug)]
pub(crate) struct SlotLine {
    /// Local, "Mon 7 Dec, 09:00".
    pub(crate) when: String,
    /// RFC 3339, for `<time datetime>`.
    pub(crate) datetime: String,
    pub(crate) posts: Vec<PostLink>,
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    layout: Layout,
    notice: Option<Notice>,
    id: Uuid,
    account: String,
    zone: String,
    zones: Vec<&'static str>,
    /// The slots, one per line, as shown in the form (or as typed, when refused).
    slots: String,
    upcoming: Vec<SlotLine>,
    off_slot: Vec<PostLink>,
}

/// `GET /app/accounts/{id}/schedule`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    mut flash: Flash,
) -> PageResult<Response> {
    let notice = flash.notice.take();
    let page = schedule_page(&state, &session, &csrf, id, notice, None).await?;
    Ok(flash.shown(page))
}

/// The page; `typed`: the zone and slots as a refused form sent them.
async fn schedule_page(
    state: &AppState,
    session: &SignedIn,
    csrf: &CsrfToken,
    id: Uuid,
    notice: Option<Notice>,
    typed: Option<(String, String)>,
) -> PageResult<Response> {
    let engine = state.engine();
    let account_id = AccountId::from(id);
    let account = engine.accounts().get(session.user, account_id).await?;
    let schedule = engine.schedules().get(session.user, account_id).await?;
    let zone: Tz = schedule.slots().zone();
    let now = engine.clock().now();
    let until = now + Duration::days(AHEAD_DAYS);
    let listing = engine
        .schedules()
        .slots(session.user, account_id, now, until)
        .await?;
    let link = |id: PostId| {
        let post = listing.posts.iter().find(|p| p.id() == id);
        PostLink {
            id: id.as_uuid(),
            caption: post.map_or_else(String::new, |p| {
                p.content().as_ref().chars().take(60).collect()
            }),
            when: post
                .and_then(Post::scheduled_for)
                .map(|at| {
                    at.with_timezone(&zone)
                        .format("%a %-d %b, %H:%M")
                        .to_string()
                })
                .unwrap_or_default(),
        }
    };
    let upcoming = listing
        .slots
        .iter()
        .map(|slot| SlotLine {
            when: slot
                .at
                .with_timezone(&zone)
                .format("%a %-d %b, %H:%M")
                .to_string(),
            datetime: slot.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            posts: slot.posts.iter().map(|p| link(*p)).collect(),
        })
        .collect();
    let (zone_name, slots) = typed.unwrap_or_else(|| {
        (
            zone.name().to_owned(),
            schedule.slots().to_strings().join("\n"),
        )
    });
    let template = SchedulePage {
        layout: Layout::new("Posting schedule", "accounts", true, csrf),
        notice,
        id,
        account: format!(
            "{} on {}",
            account.account_name(),
            account.platform().display_name()
        ),
        zone: zone_name,
        zones: super::form::zone_names(),
        slots,
        upcoming,
        off_slot: listing.off_slot.iter().map(|p| link(*p)).collect(),
    };
    Ok(page(&template, csrf))
}

/// `POST /app/accounts/{id}/schedule`: the zone and the slots (one per line, or separated by
/// commas) replace the schedule; refused, the form again as typed with the reason.
pub(crate) async fn update(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let slots: Vec<String> = form
        .text("slots")
        .split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let saved = state
        .engine()
        .schedules()
        .set(
            session.user,
            AccountId::from(id),
            form.get("time_zone"),
            &slots,
        )
        .await;
    match saved {
        Ok(schedule) => Ok(flash::redirect(
            &format!("/app/accounts/{id}/schedule"),
            &Notice::success(format!(
                "Schedule saved: {} slot(s) a week, {} time.",
                schedule.slots().slots().len(),
                schedule.slots().zone().name()
            )),
        )),
        Err(e) => {
            let typed = (
                form.text("time_zone").to_owned(),
                form.text("slots").to_owned(),
            );
            let page = schedule_page(
                &state,
                &session,
                &csrf,
                id,
                Some(Notice::error(said(&e))),
                Some(typed),
            )
            .await;
            refused(page, &e)
        }
    }
}
