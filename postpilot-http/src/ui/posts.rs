//! `/app/posts`: the merchant's posts by status and platform, and one post with its publication
//! history (every attempt: when, the outcome, the platform's answer; which worker is the
//! operator's business, as in the API).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use postpilot_core::id::PostId;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus};
use postpilot_core::store::PostListFilter;
use serde::Deserialize;

use super::pages::{Layout, PageId, PageResult, first, page};
use super::queue::Tab;
use super::session::{CsrfToken, SignedIn};
use crate::state::AppState;

/// A time as the pages show it (UTC, said so).
fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(String::new, |t| t.format("%-d %b %Y %H:%M UTC").to_string())
}

/// A post as the list shows it.
#[derive(Debug)]
pub(crate) struct PostRow {
    pub(crate) id: uuid::Uuid,
    pub(crate) platform: &'static str,
    pub(crate) status: &'static str,
    pub(crate) when: String,
    pub(crate) text: String,
}

impl From<&Post> for PostRow {
    fn from(p: &Post) -> Self {
        Self {
            id: p.id().as_uuid(),
            platform: p.platform().display_name(),
            status: p.status().as_str(),
            when: when(p.posted_at().or(p.scheduled_for())),
            text: p.content().as_ref().chars().take(100).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "posts.html")]
struct PostsPage {
    layout: Layout,
    status_tabs: Vec<Tab>,
    platform_tabs: Vec<Tab>,
    posts: Vec<PostRow>,
    total: u64,
}

/// `?status=` and `?platform=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PostsQuery {
    status: Option<String>,
    platform: Option<String>,
}

/// `GET /app/posts`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    Query(query): Query<PostsQuery>,
) -> PageResult<Response> {
    let status = query
        .status
        .as_deref()
        .and_then(|s| s.parse::<PostStatus>().ok());
    let platform = query
        .platform
        .as_deref()
        .and_then(|p| p.parse::<Platform>().ok());
    let posts = state
        .engine()
        .posts()
        .list(session.user, PostListFilter { status, platform }, first(50))
        .await?;
    let href = |s: Option<&str>, p: Option<&str>| {
        let mut query: Vec<String> = Vec::new();
        if let Some(s) = s {
            query.push(format!("status={s}"));
        }
        if let Some(p) = p {
            query.push(format!("platform={p}"));
        }
        if query.is_empty() {
            "/app/posts".to_owned()
        } else {
            format!("/app/posts?{}", query.join("&"))
        }
    };
    let current_platform = platform.map(|p| p.as_str());
    let current_status = status.map(|s| s.as_str());
    let status_tabs = std::iter::once(None)
        .chain(PostStatus::ALL.iter().map(|s| Some(*s)))
        .map(|s| Tab {
            label: s.map_or("All", |s| s.as_str()),
            href: href(s.map(|s| s.as_str()), current_platform),
            current: s == status,
        })
        .collect();
    let platform_tabs = std::iter::once(None)
        .chain(Platform::ALL.iter().map(|p| Some(*p)))
        .map(|p| Tab {
            label: p.map_or("All platforms", |p| p.display_name()),
            href: href(current_status, p.map(|p| p.as_str())),
            current: p == platform,
        })
        .collect();
    let template = PostsPage {
        layout: Layout::new("Posts", "posts", true, &csrf),
        status_tabs,
        platform_tabs,
        posts: posts.items.iter().map(PostRow::from).collect(),
        total: posts.total,
    };
    Ok(page(&template, &csrf))
}

/// One publication attempt as the history shows it.
#[derive(Debug)]
pub(crate) struct AttemptRow {
    pub(crate) number: u32,
    pub(crate) started: String,
    pub(crate) outcome: &'static str,
    pub(crate) detail: String,
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    layout: Layout,
    post: PostRow,
    hashtags: String,
    content: String,
    media: Vec<String>,
    external_url: Option<String>,
    error: Option<String>,
    attempts: Vec<AttemptRow>,
}

/// `GET /app/posts/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
) -> PageResult<Response> {
    let id = PostId::from(id);
    let posts = state.engine().posts();
    let post = posts.get(session.user, id).await?;
    let attempts = posts
        .attempts(session.user, id)
        .await?
        .iter()
        .map(|a| AttemptRow {
            number: a.attempt,
            started: when(Some(a.started_at)),
            outcome: a.outcome.as_str(),
            detail: a
                .error
                .clone()
                .or_else(|| a.remote_id.clone().map(|r| format!("platform id {r}")))
                .unwrap_or_default(),
        })
        .collect();
    let template = PostPage {
        layout: Layout::new("Post", "posts", true, &csrf),
        hashtags: post
            .hashtags()
            .iter()
            .map(|t| format!("#{}", t.as_ref()))
            .collect::<Vec<_>>()
            .join(" "),
        content: post.content().to_string(),
        media: post.media_urls().iter().map(ToString::to_string).collect(),
        external_url: post.external_url().map(str::to_owned),
        error: post.error_message().map(str::to_owned),
        attempts,
        post: PostRow::from(&post),
    };
    Ok(page(&template, &csrf))
}
