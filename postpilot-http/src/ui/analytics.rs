//! `/app/analytics`: totals, engagement over the last 30 days in the merchant's time zone (bar
//! charts drawn as SVG on the server, each with a text equivalent), and the posts with the most
//! interactions.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono_tz::Tz;
use postpilot_core::analytics::DayMetrics;

use super::form::time_zone;
use super::pages::{Kpi, Layout, PageResult, page};
use super::session::{CsrfToken, SignedIn};
use crate::state::AppState;

/// Days the charts cover, today included.
const DAYS: u32 = 30;
/// Posts in the top list.
const TOP: u32 = 5;

/// The plot's box in SVG user units (the chart scales to its container).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 712.0;
const TOP_EDGE: f64 = 16.0;
const BOTTOM: f64 = 188.0;

/// One bar: its box, and what it says to a pointer or a screen reader.
#[derive(Debug)]
pub(crate) struct Bar {
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) width: String,
    pub(crate) height: String,
    pub(crate) label: String,
}

/// A date under the axis.
#[derive(Debug)]
pub(crate) struct Tick {
    pub(crate) x: String,
    pub(crate) label: String,
}

/// A bar chart of one figure per day.
#[derive(Debug)]
pub(crate) struct Chart {
    pub(crate) id: &'static str,
    pub(crate) title: String,
    /// The chart in one sentence (its `<desc>`).
    pub(crate) summary: String,
    pub(crate) bars: Vec<Bar>,
    pub(crate) ticks: Vec<Tick>,
    /// The axis's top value.
    pub(crate) max: String,
    pub(crate) view_box: String,
    pub(crate) top_y: String,
    pub(crate) bottom_y: String,
    pub(crate) left_x: String,
    pub(crate) right_x: String,
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// The axis's top: the smallest of 1, 2 or 5 × 10ⁿ at or above `max` (at least 1).
fn nice_ceiling(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let candidate = step.saturating_mul(m);
            if candidate >= max {
                return candidate;
            }
        }
        step = step.saturating_mul(10);
    }
}

impl Chart {
    /// `value` of each day as bars, `unit` naming it ("interactions").
    fn of(
        id: &'static str,
        title: &str,
        unit: &str,
        days: &[DayMetrics],
        value: impl Fn(&DayMetrics) -> u64,
    ) -> Self {
        let values: Vec<u64> = days.iter().map(&value).collect();
        let total: u64 = values.iter().sum();
        let best = days.iter().zip(&values).max_by_key(|(d, v)| (**v, d.day));
        let max = nice_ceiling(values.iter().copied().max().unwrap_or(0));
        #[allow(clippy::cast_precision_loss)]
        let scale = |v: u64| (BOTTOM - TOP_EDGE) * v as f64 / max as f64;
        #[allow(clippy::cast_precision_loss)]
        let slot = (RIGHT - LEFT) / days.len().max(1) as f64;
        let bars = days
            .iter()
            .zip(&values)
            .enumerate()
            .map(|(n, (day, v))| {
                #[allow(clippy::cast_precision_loss)]
                let x = LEFT + slot * n as f64 + slot * 0.15;
                let height = scale(*v);
                Bar {
                    x: px(x),
                    y: px(BOTTOM - height),
                    width: px(slot * 0.7),
                    height: px(height),
                    label: format!(
                        "{}: {v} {unit}, {} post{}",
                        day.day.format("%a %-d %b"),
                        day.posts,
                        if day.posts == 1 { "" } else { "s" }
                    ),
                }
            })
            .collect();
        let ticks = days
            .iter()
            .enumerate()
            .filter(|(n, _)| n % 7 == (days.len() - 1) % 7)
            .map(|(n, day)| {
                #[allow(clippy::cast_precision_loss)]
                let x = LEFT + slot * n as f64 + slot / 2.0;
                Tick {
                    x: px(x),
                    label: day.day.format("%-d %b").to_string(),
                }
            })
            .collect();
        let summary = match best {
            Some((day, v)) if *v > 0 => format!(
                "{total} {unit} over {} days; the best day was {} with {v}.",
                days.len(),
                day.day.format("%-d %B")
            ),
            _ => format!("No {unit} in the last {} days.", days.len()),
        };
        Self {
            id,
            title: title.to_owned(),
            summary,
            bars,
            ticks,
            max: max.to_string(),
            view_box: format!("0 0 {WIDTH} {HEIGHT}"),
            top_y: px(TOP_EDGE),
            bottom_y: px(BOTTOM),
            left_x: px(LEFT),
            right_x: px(RIGHT),
        }
    }
}

/// A post among the top ones.
#[derive(Debug)]
pub(crate) struct TopPost {
    pub(crate) id: uuid::Uuid,
    pub(crate) text: String,
    pub(crate) platform: &'static str,
    pub(crate) impressions: u64,
    pub(crate) interactions: u64,
    pub(crate) rate: String,
}

/// A day with posts, for the charts' table.
#[derive(Debug)]
pub(crate) struct DayRow {
    pub(crate) day: String,
    pub(crate) posts: u64,
    pub(crate) impressions: u64,
    pub(crate) interactions: u64,
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    layout: Layout,
    tz: String,
    kpis: Vec<Kpi>,
    charts: Vec<Chart>,
    rows: Vec<DayRow>,
    top: Vec<TopPost>,
}

/// `GET /app/analytics`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
) -> PageResult<Response> {
    let zone: Tz = time_zone(&state, session.user).await?;
    let engine = state.engine();
    let analytics = engine.analytics();
    let overview = analytics.overview(session.user).await?;
    let days = analytics.by_day(session.user, DAYS, zone).await?;
    let mut top = Vec::new();
    for m in analytics.top_posts(session.user, TOP).await? {
        let post = engine.posts().get(session.user, m.post_id).await?;
        top.push(TopPost {
            id: post.id().as_uuid(),
            text: post.content().as_ref().chars().take(80).collect(),
            platform: post.platform().display_name(),
            impressions: m.counts.impressions,
            interactions: m.counts.interactions(),
            rate: format!("{:.2}%", m.engagement_rate),
        });
    }
    let totals = overview.totals;
    let kpis = vec![
        Kpi {
            label: "Published posts",
            value: overview.posts_published.to_string(),
            detail: "all time".to_owned(),
        },
        Kpi {
            label: "Impressions",
            value: totals.impressions.to_string(),
            detail: format!("reach {}", totals.reach),
        },
        Kpi {
            label: "Interactions",
            value: totals.interactions().to_string(),
            detail: format!(
                "{} likes · {} comments · {} shares · {} clicks",
                totals.likes, totals.comments, totals.shares, totals.clicks
            ),
        },
        Kpi {
            label: "Engagement",
            value: format!("{:.2}%", overview.engagement_rate),
            detail: "interactions per impression, the posts' average".to_owned(),
        },
    ];
    let charts = vec![
        Chart::of(
            "interactions",
            "Interactions, by the day posts were published",
            "interactions",
            &days,
            |d| d.counts.interactions(),
        ),
        Chart::of(
            "impressions",
            "Impressions, by the day posts were published",
            "impressions",
            &days,
            |d| d.counts.impressions,
        ),
    ];
    let rows = days
        .iter()
        .rev()
        .filter(|d| d.posts > 0)
        .map(|d| DayRow {
            day: d.day.format("%a %-d %b %Y").to_string(),
            posts: d.posts,
            impressions: d.counts.impressions,
            interactions: d.counts.interactions(),
        })
        .collect();
    let template = AnalyticsPage {
        layout: Layout::new("Analytics", "analytics", true, &csrf),
        tz: zone.name().to_owned(),
        kpis,
        charts,
        rows,
        top,
    };
    Ok(page(&template, &csrf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_top_is_the_next_one_two_or_five_times_a_power_of_ten() {
        let tops: Vec<u64> = [0, 1, 2, 3, 7, 10, 11, 40, 51, 999, 1_001]
            .iter()
            .map(|v| nice_ceiling(*v))
            .collect();
        assert_eq!(tops, [1, 1, 2, 5, 10, 10, 20, 50, 100, 1_000, 2_000]);
    }
}
