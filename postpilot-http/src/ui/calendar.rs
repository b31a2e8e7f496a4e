//! `/app/calendar`: the merchant's posts by status colour, a month (`?month=2026-12`) or a week
//! (`?week=2026-12-07`, any day of it) at a time, in their time zone (Settings): each post sits on
//! the local date and hour of its instant, so the days around a clock change are right. A
//! scheduled post moves by drag and drop — onto a day (the month; its time kept) or an hour (the
//! week; its minutes kept) — and every post opens its page, where the keyboard's way to move it
//! is its form.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, Days, Months, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use postpilot_core::Error;
use postpilot_core::ValidationError;
use postpilot_core::id::PostId;
use postpilot_core::post::{Post, PostPatch, PostStatus};
use serde::Deserialize;

use super::flash::{self, Flash};
use super::form::{Fields, local_time, time_zone};
use super::pages::{Layout, Notice, PageId, PageResult, page};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::state::AppState;

/// A post as the calendar shows it: a link to its page.
#[derive(Debug)]
pub(crate) struct Chip {
    pub(crate) id: uuid::Uuid,
    /// Local `HH:MM`.
    pub(crate) time: String,
    pub(crate) platform: &'static str,
    pub(crate) status: &'static str,
    pub(crate) text: String,
    /// Scheduled posts move; published, publishing and failed ones stay.
    pub(crate) movable: bool,
}

impl Chip {
    fn of(post: &Post, zone: Tz) -> Self {
        Self {
            id: post.id().as_uuid(),
            time: post
                .scheduled_for()
                .map(|t| t.with_timezone(&zone).format("%H:%M").to_string())
                .unwrap_or_default(),
            platform: post.platform().display_name(),
            status: post.status().as_str(),
            text: post.content().as_ref().chars().take(60).collect(),
            movable: post.status() == PostStatus::Scheduled,
        }
    }
}

/// A day of the month grid, or an hour of a day in the week grid.
#[derive(Debug)]
pub(crate) struct Cell {
    /// Local date, `YYYY-MM-DD`.
    pub(crate) date: String,
    /// The week grid's hour (`HH`), empty in the month grid.
    pub(crate) hour: String,
    pub(crate) number: u32,
    pub(crate) in_range: bool,
    pub(crate) today: bool,
    pub(crate) posts: Vec<Chip>,
}

/// A day's column head in the week grid.
#[derive(Debug)]
pub(crate) struct DayHead {
    pub(crate) label: String,
    pub(crate) today: bool,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    notice: Option<Notice>,
    grid: Grid,
}

/// A month or a week of posts.
#[derive(Debug)]
pub(crate) struct Grid {
    /// `month` or `week`.
    pub(crate) view: &'static str,
    pub(crate) title: String,
    pub(crate) tz: String,
    /// Month: the weeks' rows of days. Week: the hours' rows of (hour, days).
    pub(crate) rows: Vec<(String, Vec<Cell>)>,
    pub(crate) heads: Vec<DayHead>,
    pub(crate) previous: String,
    pub(crate) next: String,
    /// The other view of the same time.
    pub(crate) other: String,
    /// This page, where a move comes back to.
    pub(crate) here: String,
}

/// `?month=2026-12` or `?week=2026-12-07`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CalendarQuery {
    month: Option<String>,
    week: Option<String>,
}

fn out_of_range() -> Error {
    Error::from(ValidationError::new("month", "is out of range"))
}

fn monday_of(date: NaiveDate) -> Result<NaiveDate, Error> {
    date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
        .ok_or_else(out_of_range)
}

fn add_days(date: NaiveDate, days: u64) -> Result<NaiveDate, Error> {
    date.checked_add_days(Days::new(days))
        .ok_or_else(out_of_range)
}

fn month_link(first: NaiveDate) -> String {
    format!("/app/calendar?month={}", first.format("%Y-%m"))
}

fn week_link(monday: NaiveDate) -> String {
    format!("/app/calendar?week={}", monday.format("%Y-%m-%d"))
}

/// `GET /app/calendar`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
    Query(query): Query<CalendarQuery>,
) -> PageResult<Response> {
    let zone = time_zone(&state, session.user).await?;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let week = query
        .week
        .as_deref()
        .map(|w| {
            NaiveDate::parse_from_str(w, "%Y-%m-%d").map_err(|_| {
                Error::from(ValidationError::new("week", "is not a date (YYYY-MM-DD)"))
            })
        })
        .transpose()?;
    let month = query
        .month
        .as_deref()
        .map(|m| {
            NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                .map_err(|_| Error::from(ValidationError::new("month", "is not a month (YYYY-MM)")))
        })
        .transpose()?;
    let grid = match week {
        Some(day) => week_page(&state, &session, zone, today, monday_of(day)?).await?,
        None => {
            let first = month.unwrap_or_else(|| today.with_day(1).unwrap_or(today));
            month_page(&state, &session, zone, today, first).await?
        }
    };
    let template = CalendarPage {
        layout: Layout::new("Calendar", "calendar", true, &csrf),
        notice: flash.notice.take(),
        grid,
    };
    Ok(flash.shown(page(&template, &csrf)))
}

/// The month starting on `first`, in whole weeks (Monday first).
async fn month_page(
    state: &AppState,
    session: &SignedIn,
    zone: Tz,
    today: NaiveDate,
    first: NaiveDate,
) -> PageResult<Grid> {
    let next_first = first
        .checked_add_months(Months::new(1))
        .ok_or_else(out_of_range)?;
    let last = next_first.pred_opt().ok_or_else(out_of_range)?;
    let grid_start = monday_of(first)?;
    let grid_end = add_days(monday_of(last)?, 6)?;
    let mut days = state
        .engine()
        .posts()
        .calendar(session.user, grid_start, grid_end, zone)
        .await?;
    let mut rows = Vec::new();
    let mut date = grid_start;
    while date <= grid_end {
        let mut week = Vec::with_capacity(7);
        for _ in 0..7 {
            let posts = days.remove(&date).unwrap_or_default();
            week.push(Cell {
                date: date.format("%Y-%m-%d").to_string(),
                hour: String::new(),
                number: date.day(),
                in_range: date.month() == first.month(),
                today: date == today,
                posts: posts.iter().map(|p| Chip::of(p, zone)).collect(),
            });
            date = add_days(date, 1)?;
        }
        rows.push((String::new(), week));
    }
    let previous = first
        .checked_sub_months(Months::new(1))
        .ok_or_else(out_of_range)?;
    let in_month = if (first..next_first).contains(&today) {
        today
    } else {
        first
    };
    Ok(Grid {
        view: "month",
        title: first.format("%B %Y").to_string(),
        tz: zone.name().to_owned(),
        rows,
        heads: Vec::new(),
        previous: month_link(previous),
        next: month_link(next_first),
        other: week_link(monday_of(in_month)?),
        here: month_link(first),
    })
}

/// The week starting on Monday `monday`, hour by hour.
async fn week_page(
    state: &AppState,
    session: &SignedIn,
    zone: Tz,
    today: NaiveDate,
    monday: NaiveDate,
) -> PageResult<Grid> {
    let sunday = add_days(monday, 6)?;
    let mut days = state
        .engine()
        .posts()
        .calendar(session.user, monday, sunday, zone)
        .await?;
    let dates = (0..7)
        .map(|d| add_days(monday, d))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows: Vec<(String, Vec<Cell>)> = (0..24)
        .map(|hour| {
            let cells = dates
                .iter()
                .map(|date| Cell {
                    date: date.format("%Y-%m-%d").to_string(),
                    hour: format!("{hour:02}"),
                    number: date.day(),
                    in_range: true,
                    today: *date == today,
                    posts: Vec::new(),
                })
                .collect();
            (format!("{hour:02}:00"), cells)
        })
        .collect();
    for (column, date) in dates.iter().enumerate() {
        for post in days.remove(date).unwrap_or_default() {
            // The calendar places only posts with a time.
            let Some(at) = post.scheduled_for() else {
                continue;
            };
            let hour = at.with_timezone(&zone).hour() as usize;
            if let Some((_, cells)) = rows.get_mut(hour) {
                cells[column].posts.push(Chip::of(&post, zone));
            }
        }
    }
    let heads = dates
        .iter()
        .map(|date| DayHead {
            label: date.format("%a %-d %b").to_string(),
            today: *date == today,
        })
        .collect();
    let previous = monday
        .checked_sub_days(Days::new(7))
        .ok_or_else(out_of_range)?;
    Ok(Grid {
        view: "week",
        title: format!(
            "{} – {}",
            monday.format("%-d %b"),
            sunday.format("%-d %b %Y")
        ),
        tz: zone.name().to_owned(),
        rows,
        heads,
        previous: week_link(previous),
        next: week_link(add_days(monday, 7)?),
        other: month_link(monday.with_day(1).unwrap_or(monday)),
        here: week_link(monday),
    })
}

/// `POST /app/posts/{id}/move`: a new local date and time (the merchant's zone) for a scheduled
/// post; back to the calendar page it came from.
pub(crate) async fn move_post(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    // Only back to a calendar page: never a redirect elsewhere.
    let back = form
        .get("back")
        .filter(|b| b.starts_with("/app/calendar?") || *b == "/app/calendar")
        .unwrap_or("/app/calendar")
        .to_owned();
    let moved = async {
        let date = form
            .get("date")
            .ok_or_else(|| ValidationError::new("date", "is required"))?;
        let time = form
            .get("time")
            .ok_or_else(|| ValidationError::new("time", "is required"))?;
        let zone = time_zone(&state, session.user).await?;
        let at = local_time(&format!("{date}T{time}"), zone)?;
        state
            .engine()
            .posts()
            .update(
                session.user,
                PostId::from(id),
                PostPatch {
                    scheduled_for: Some(Some(at)),
                    ..PostPatch::default()
                },
            )
            .await?;
        Ok::<_, Error>(format!("Moved to {date} at {time}."))
    };
    Ok(flash::redirect(&back, &Notice::of(moved.await)))
}
