//! `/app/posts`: the merchant's posts by status and platform, and one post with its publication
//! history (every attempt: when, the outcome, the platform's answer; which worker is the
//! operator's business, as in the API); a draft or scheduled post is edited on its page (caption,
//! hashtags, time — the calendar's keyboard way to move a post). Times are in the merchant's
//! zone.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use postpilot_core::Error;
use postpilot_core::id::PostId;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Duplicates, Post, PostPatch, PostStatus, ResumeCaption};
use postpilot_core::store::PostListFilter;
use serde::Deserialize;

use super::flash::{self, Flash};
use super::form::{Fields, local_time, time_zone, when};
use super::pages::{Layout, Notice, PageId, PageResult, first, page, page_with, refusal, said};
use super::queue::{Counter, Tab};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::state::AppState;

/// A post as the list shows it.
#[derive(Debug)]
pub(crate) struct PostRow {
    pub(crate) id: uuid::Uuid,
    pub(crate) platform: &'static str,
    pub(crate) status: &'static str,
    pub(crate) when: String,
    pub(crate) text: String,
}

impl PostRow {
    fn of(p: &Post, zone: Tz) -> Self {
        Self {
            id: p.id().as_uuid(),
            platform: p.platform().display_name(),
            status: p.status().as_str(),
            when: when(p.posted_at().or(p.scheduled_for()), zone),
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
    tz: String,
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
    let zone = time_zone(&state, session.user).await?;
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
        posts: posts.items.iter().map(|p| PostRow::of(p, zone)).collect(),
        total: posts.total,
        tz: zone.name().to_owned(),
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
    notice: Option<Notice>,
    /// Drafts and scheduled posts are edited here.
    editable: bool,
    /// Its caption's rules, for the live counter.
    counters: Vec<Counter>,
    /// Local `YYYY-MM-DDTHH:MM`, empty without a time (as typed after a refusal).
    at: String,
    /// The stored time as the form showed it: an unchanged field is not sent again.
    was_at: String,
    tz: String,
    /// The hashtags as the form edits them (no `#`).
    tags: String,
    /// The stored hashtags as the form showed them.
    was_tags: String,
    /// After a duplicate-caption refusal: the other post, linked, and a box to schedule both.
    duplicate_of: Option<String>,
    /// Paused: the page offers to resume it at its own time.
    paused: bool,
    /// Made from a queue item: a paused post can be resumed with a caption written anew from
    /// the product as it is now.
    rewritable: bool,
}

/// What a refused edit form held, shown again with the reason.
#[derive(Debug)]
struct Typed {
    content: String,
    tags: String,
    at: String,
    /// The post the edit would have duplicated, when that was the refusal.
    duplicate_of: Option<String>,
}

/// `GET /app/posts/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    mut flash: Flash,
) -> PageResult<Response> {
    let notice = flash.notice.take();
    let page = post_page(&state, &session, &csrf, PostId::from(id), notice, None).await?;
    Ok(flash.shown(page))
}

/// A post's page; `typed` refills its form after a refusal.
async fn post_page(
    state: &AppState,
    session: &SignedIn,
    csrf: &CsrfToken,
    id: PostId,
    notice: Option<Notice>,
    typed: Option<Typed>,
) -> PageResult<Response> {
    let zone = time_zone(state, session.user).await?;
    let posts = state.engine().posts();
    let post = posts.get(session.user, id).await?;
    let attempts = posts
        .attempts(session.user, id)
        .await?
        .iter()
        .map(|a| AttemptRow {
            number: a.attempt,
            started: when(Some(a.started_at), zone),
            outcome: a.outcome.as_str(),
            detail: a
                .error
                .clone()
                .or_else(|| a.remote_id.clone().map(|r| format!("platform id {r}")))
                .unwrap_or_default(),
        })
        .collect();
    let stored_at = post
        .scheduled_for()
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default();
    let stored_tags = post
        .hashtags()
        .iter()
        .map(|t| t.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let refused = typed.is_some();
    let typed = typed.unwrap_or_else(|| Typed {
        content: post.content().to_string(),
        tags: stored_tags.clone(),
        at: stored_at.clone(),
        duplicate_of: None,
    });
    let template = PostPage {
        layout: Layout::new("Post", "posts", true, csrf),
        notice,
        editable: post.status().is_editable(),
        counters: vec![Counter::of(post.platform())],
        at: typed.at,
        was_at: stored_at,
        tz: zone.name().to_owned(),
        tags: typed.tags,
        was_tags: stored_tags,
        duplicate_of: typed.duplicate_of,
        hashtags: post
            .hashtags()
            .iter()
            .map(|t| format!("#{}", t.as_ref()))
            .collect::<Vec<_>>()
            .join(" "),
        content: typed.content,
        media: post.media_urls().iter().map(ToString::to_string).collect(),
        external_url: post.external_url().map(str::to_owned),
        error: post.error_message().map(|why| match post.status() {
            PostStatus::Paused => format!("Paused: {why}"),
            _ => why.to_owned(),
        }),
        // Resuming at its own time needs that time still ahead; otherwise the form picks another.
        rewritable: post.queue_item_id().is_some(),
        paused: post.status() == PostStatus::Paused
            && post.scheduled_for().is_some_and(|at| at > state.now()),
        attempts,
        post: PostRow::of(&post, zone),
    };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page_with(status, &template, csrf))
}

/// `POST /app/posts/{id}`: a draft or scheduled post's caption, and its hashtags and time when
/// they changed (local; an emptied time makes it a draft). A time or hashtags left as the page
/// showed them are not sent again: saving a caption never moves a post (a time shown to the
/// minute, or the second of two repeated local hours, would otherwise be rewritten). A refused
/// edit shows the form again as typed, with the reason.
pub(crate) async fn edit(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let id = PostId::from(id);
    let edited = async {
        let time = form.get("scheduled_for");
        let scheduled_for = if time == form.get("was_scheduled_for") {
            None
        } else {
            let zone = time_zone(&state, session.user).await?;
            Some(time.map(|t| local_time(t, zone)).transpose()?)
        };
        let hashtags =
            (form.text("hashtags") != form.text("was_hashtags")).then(|| form.words("hashtags"));
        state
            .engine()
            .posts()
            .update(
                session.user,
                id,
                PostPatch {
                    content: Some(form.text("content").to_owned()),
                    hashtags,
                    scheduled_for,
                    duplicates: Duplicates::allowed(form.get("allow_duplicate").is_some()),
                    ..PostPatch::default()
                },
            )
            .await
    };
    match edited.await {
        Ok(post) => {
            let done = match (post.status(), post.scheduled_for()) {
                (PostStatus::Paused, _) => "Saved: the post is still paused.",
                (_, Some(_)) => "Saved: the post is scheduled.",
                (_, None) => "Saved as a draft.",
            };
            Ok(flash::redirect(
                &post_path(id),
                &Notice::success(done.to_owned()),
            ))
        }
        Err(e) => {
            let (status, _) = refusal(&e);
            let typed = Typed {
                content: form.text("content").to_owned(),
                tags: form.text("hashtags").to_owned(),
                at: form.text("scheduled_for").to_owned(),
                duplicate_of: match &e {
                    Error::DuplicatePost(other) => Some(other.post_id.as_uuid().to_string()),
                    _ => None,
                },
            };
            let notice = Some(Notice::error(said(&e)));
            let mut page = post_page(&state, &session, &csrf, id, notice, Some(typed)).await?;
            *page.status_mut() = status;
            Ok(page)
        }
    }
}

/// A post's page.
fn post_path(id: PostId) -> String {
    format!("/app/posts/{}", id.as_uuid())
}

/// `POST /app/posts/{id}/resume`: a paused post back to its own time (the reason it was paused
/// no longer stands), its caption kept or, with `caption=regenerate`, written anew; or the reason
/// it cannot be.
pub(crate) async fn resume(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let id = PostId::from(id);
    let caption = ResumeCaption::regenerated(form.get("caption") == Some("regenerate"));
    let resumed = state
        .engine()
        .posts()
        .resume(session.user, id, Duplicates::Refuse, caption)
        .await
        .map(|_| match caption {
            ResumeCaption::Keep => "Resumed: the post is scheduled again.".to_owned(),
            ResumeCaption::Regenerate => {
                "Resumed with a new caption written from the product as it is now.".to_owned()
            }
        });
    Ok(flash::redirect(&post_path(id), &Notice::of(resumed)))
}

/// `POST /app/posts/{id}/delete`: a draft, scheduled or paused post deleted (a paused one
/// discarded), back to the list; or the reason it cannot be.
pub(crate) async fn delete(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(_form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let id = PostId::from(id);
    match state.engine().posts().delete(session.user, id).await {
        Ok(()) => Ok(flash::redirect(
            "/app/posts",
            &Notice::success("Deleted the post.".to_owned()),
        )),
        Err(e) => Ok(flash::redirect(&post_path(id), &Notice::error(said(&e)))),
    }
}
