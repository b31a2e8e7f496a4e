//! `/app/calendar`: a month of the merchant's posts in their time zone (DST-correct: each post on
//! the local date and time of its instant), by status colour; a scheduled or draft-with-time post
//! moves to another day by drag and drop, or — the keyboard's way, and what the drag submits — by
//! its `Move` form (date and time).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use postpilot_core::Error;
use postpilot_core::ValidationError;
use postpilot_core::id::PostId;
use postpilot_core::post::{PostPatch, PostStatus};
use serde::Deserialize;

use super::flash::{self, Flash};
use super::form::{Fields, local_time};
use super::pages::{Layout, Notice, PageId, PageResult, page};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::state::AppState;

/// A post as its day shows it.
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
    /// Local date, `YYYY-MM-DD`.
    pub(crate) date: String,
}

/// A day of the grid.
#[derive(Debug)]
pub(crate) struct Day {
    pub(crate) date: String,
    pub(crate) number: u32,
    pub(crate) in_month: bool,
    pub(crate) today: bool,
    pub(crate) posts: Vec<Chip>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    notice: Option<Notice>,
    title: String,
    tz: String,
    weeks: Vec<Vec<Day>>,
    previous: String,
    next: String,
}

/// `?month=2026-12&tz=Europe/Paris`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MonthQuery {
    month: Option<String>,
    tz: Option<String>,
}

/// `GET /app/calendar`.
pub(crate) async fn month(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
    Query(query): Query<MonthQuery>,
) -> PageResult<Response> {
    let tz_name = query.tz.unwrap_or_else(|| "UTC".to_owned());
    let tz: chrono_tz::Tz = tz_name.parse().map_err(|_| {
        Error::from(ValidationError::new(
            "tz",
            format!("{tz_name} is not a time zone"),
        ))
    })?;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let first = match query.month.as_deref() {
        Some(month) => NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|_| Error::from(ValidationError::new("month", "is not a month (YYYY-MM)")))?,
        None => today.with_day(1).unwrap_or(today),
    };
    let invalid = || Error::from(ValidationError::new("month", "is out of range"));
    let next_first = first
        .checked_add_months(Months::new(1))
        .ok_or_else(invalid)?;
    let last = next_first.pred_opt().ok_or_else(invalid)?;
    // Whole weeks, Monday first.
    let grid_start = first
        .checked_sub_days(Days::new(u64::from(first.weekday().num_days_from_monday())))
        .ok_or_else(invalid)?;
    let grid_end = last
        .checked_add_days(Days::new(u64::from(
            6 - last.weekday().num_days_from_monday(),
        )))
        .ok_or_else(invalid)?;
    let mut days = state
        .engine()
        .posts()
        .calendar(session.user, grid_start, grid_end, tz)
        .await?;
    let mut weeks = Vec::new();
    let mut date = grid_start;
    while date <= grid_end {
        let mut week = Vec::with_capacity(7);
        for _ in 0..7 {
            let posts = days
                .remove(&date)
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    let at = p.scheduled_for().map(|t| t.with_timezone(&tz));
                    let text: String = p.content().as_ref().chars().take(60).collect();
                    Chip {
                        id: p.id().as_uuid(),
                        time: at
                            .map(|t| t.format("%H:%M").to_string())
                            .unwrap_or_default(),
                        platform: p.platform().display_name(),
                        status: p.status().as_str(),
                        text,
                        movable: p.status() == PostStatus::Scheduled,
                        date: date.format("%Y-%m-%d").to_string(),
                    }
                })
                .collect();
            week.push(Day {
                date: date.format("%Y-%m-%d").to_string(),
                number: date.day(),
                in_month: date.month() == first.month(),
                today: date == today,
                posts,
            });
            date = date.succ_opt().ok_or_else(invalid)?;
        }
        weeks.push(week);
    }
    let link = |month: NaiveDate| {
        format!(
            "/app/calendar?month={}&tz={}",
            month.format("%Y-%m"),
            flash::encode(&tz_name)
        )
    };
    let template = CalendarPage {
        layout: Layout::new("Calendar", "calendar", true, &csrf),
        notice: flash.notice.take(),
        title: first.format("%B %Y").to_string(),
        tz: tz_name.clone(),
        weeks,
        previous: link(
            first
                .checked_sub_months(Months::new(1))
                .ok_or_else(invalid)?,
        ),
        next: link(next_first),
    };
    Ok(flash.shown(page(&template, &csrf)))
}

/// `POST /app/posts/{id}/move`: a new local date and time (in `tz`) for a scheduled post.
pub(crate) async fn move_post(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let tz = form.get("tz").unwrap_or("UTC").to_owned();
    let back = format!(
        "/app/calendar?month={}&tz={}",
        form.get("date")
            .and_then(|d| d.get(..7))
            .unwrap_or_default(),
        flash::encode(&tz)
    );
    let moved = async {
        let date = form
            .get("date")
            .ok_or_else(|| ValidationError::new("date", "is required"))?;
        let time = form.get("time").unwrap_or("09:00");
        let at = local_time(&format!("{date}T{time}"), &tz)?;
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
