//! The Facebook Pages publisher against the fake Graph API, through the engine's dispatcher:
//! text, photo, video and multi-photo posts with the Page's own token, a post whose answer was
//! lost found on the Page instead of posted twice (and the documented window where it cannot
//! be), refusals and Meta's error codes, and the post's counters as metrics.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::http::HeaderMap;
use chrono::Duration;
use postpilot_clients::facebook::{FacebookConfig, FacebookPublisher};
use postpilot_clients::http::Timeouts;
use postpilot_clients::testing::{
    FAKE_PAGE, FAKE_PAGE_NAME, FAKE_PAGE_TOKEN, FakeFacebook, FbCall, graph_error,
};
use postpilot_core::clock::Clock;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus};
use postpilot_core::publish::AttemptOutcome;

use crate::shop::{Account, CAPTION, Shop};

/// The text Facebook receives for the `n`-th post of a test (caption and hashtags).
fn text(n: usize) -> String {
    format!("{CAPTION} ({n})\n\n#lamp #homeoffice")
}

/// An engine whose Facebook publisher talks to the fake, and a merchant whose connected Page
/// holds the Page token the fake accepts; each post's caption is numbered.
type Page = Shop<FakeFacebook>;

async fn open() -> Page {
    let fake = FakeFacebook::start().await;
    let publisher = FacebookPublisher::new(FacebookConfig {
        graph_url: fake.base_url.clone(),
        timeouts: Timeouts {
            connect: StdDuration::from_secs(2),
            total: StdDuration::from_millis(800),
        },
        ..FacebookConfig::default()
    })
    .unwrap();
    let account = Account {
        platform: Platform::Facebook,
        name: FAKE_PAGE_NAME,
        external_id: FAKE_PAGE,
        token: FAKE_PAGE_TOKEN,
    };
    Shop::open(fake, Arc::new(publisher), account, true).await
}

/// Publishes `post`, five minutes between ticks.
async fn publish(page: &Page, post: &Post) -> Post {
    page.publish_stepping(post, Duration::minutes(5)).await
}

#[tokio::test]
async fn a_text_post_goes_to_the_pages_feed_with_the_pages_own_token() {
    let page = open().await;
    let post = page.due(&[]).await;

    let published = publish(&page, &post).await;

    assert_eq!(published.status(), PostStatus::Posted);
    let made = page.fake.posts();
    assert_eq!(made.len(), 1);
    assert_eq!(
        (made[0].kind, made[0].message.as_str()),
        ("feed", text(0).as_str())
    );
    assert_eq!(published.external_id(), Some(made[0].id.as_str()));
    assert_eq!(
        published.external_url(),
        Some(format!("https://www.facebook.com/{}", made[0].id).as_str())
    );
    let calls = page.fake.seen(FbCall::Post);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1.as_deref(), Some(FAKE_PAGE_TOKEN));
}

#[tokio::test]
async fn a_photo_and_a_video_are_posted_through_their_own_edges() {
    let page = open().await;
    let photo = page.due(&["https://cdn.example.com/aurora.jpg"]).await;
    let photo = publish(&page, &photo).await;
    let video = page.due(&["https://cdn.example.com/aurora.mp4"]).await;
    let video = publish(&page, &video).await;

    let made = page.fake.posts();
    assert_eq!(made.len(), 2);
    assert_eq!(made[0].kind, "photo");
    assert_eq!(made[0].media, vec!["https://cdn.example.com/aurora.jpg"]);
    assert_eq!(
        photo.external_id(),
        Some(made[0].id.as_str()),
        "the post's id, not the photo's"
    );
    assert_eq!(
        (made[1].kind, made[1].message.as_str()),
        ("video", text(1).as_str())
    );
    assert_eq!(made[1].media, vec!["https://cdn.example.com/aurora.mp4"]);
    assert_eq!(video.status(), PostStatus::Posted);
}

#[tokio::test]
async fn several_photos_are_uploaded_unpublished_then_attached_to_one_post() {
    let page = open().await;
    let urls = [
        "https://cdn.example.com/a.jpg",
        "https://cdn.example.com/b.jpg",
        "https://cdn.example.com/c.jpg",
    ];
    let post = page.due(&urls).await;

    let published = publish(&page, &post).await;

    assert_eq!(published.status(), PostStatus::Posted);
    assert_eq!(page.fake.seen(FbCall::Upload).len(), 3);
    let made = page.fake.posts();
    assert_eq!(made.len(), 1, "one post, the photos attached to it");
    assert_eq!(
        (made[0].kind, made[0].message.as_str()),
        ("feed", text(0).as_str())
    );
    assert_eq!(made[0].media.len(), 3);
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_found_on_the_page_not_posted_twice() {
    let page = open().await;
    let post = page.due(&["https://cdn.example.com/aurora.jpg"]).await;
    page.fake.post_then_hang();

    let first = page.tick().await;
    let published = publish(&page, &post).await;

    assert_eq!(first.retried, 1, "the lost answer timed out: {first:?}");
    let made = page.fake.posts();
    assert_eq!(made.len(), 1, "posted once");
    assert_eq!(published.status(), PostStatus::Posted);
    assert_eq!(published.external_id(), Some(made[0].id.as_str()));
    assert_eq!(page.fake.seen(FbCall::Post).len(), 1);
}

#[tokio::test]
async fn two_posts_with_the_same_text_one_after_the_other_are_both_posted() {
    let page = open().await;
    let first = page
        .due_with("Same words", &["https://cdn.example.com/a.jpg"])
        .await;
    let second = page
        .due_with("Same words", &["https://cdn.example.com/b.jpg"])
        .await;

    let first = publish(&page, &first).await;
    let second = publish(&page, &second).await;

    let made = page.fake.posts();
    assert_eq!(made.len(), 2, "the second is not taken for the first");
    assert_ne!(first.external_id(), second.external_id());
    assert_eq!(made[1].media, vec!["https://cdn.example.com/b.jpg"]);
}

#[tokio::test]
async fn a_lost_answer_for_a_post_facebook_does_not_list_yet_is_the_documented_duplicate_window() {
    let page = open().await;
    let post = page.due(&["https://cdn.example.com/aurora.mp4"]).await;
    page.fake.list_next_post_late();
    page.fake.post_then_hang();

    page.tick().await;
    let published = publish(&page, &post).await;

    assert_eq!(published.status(), PostStatus::Posted);
    assert_eq!(
        page.fake.posts().len(),
        2,
        "a video still processing is not listed, so it is posted again (PLATFORMS.md)"
    );
}

#[tokio::test]
async fn meta_error_codes_decide_between_waiting_holding_and_refusing() {
    let page = open().await;
    let mut usage = HeaderMap::new();
    usage.insert(
        "x-business-use-case-usage",
        r#"{"104000000000001":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":12}]}"#
            .parse()
            .unwrap(),
    );
    page.fake.fail_next(
        FbCall::Post,
        400,
        usage,
        graph_error(32, None, "Page request limit reached"),
    );
    let limited = page.due(&[]).await;
    let report = page.tick().await;
    let limited = page.reload(&limited).await;
    assert_eq!(report.snoozed, 1, "{report:?}");
    assert_eq!(
        limited.next_attempt_at(),
        Some(page.clock.now() + Duration::minutes(12))
    );
    publish(&page, &limited).await;

    page.fake.fail_next(
        FbCall::Post,
        400,
        HeaderMap::new(),
        graph_error(100, None, "(#100) Invalid parameter"),
    );
    let refused = page.due(&[]).await;
    let refused = publish(&page, &refused).await;
    assert_eq!(refused.status(), PostStatus::Failed);
    assert!(refused.error_message().unwrap().contains("Meta error 100"));

    page.fake.fail_next(
        FbCall::Post,
        400,
        HeaderMap::new(),
        graph_error(
            190,
            Some(460),
            "Error validating access token: password changed",
        ),
    );
    let held = page.due(&[]).await;
    page.tick().await;
    let held = page.reload(&held).await;
    // Held, not failed: parked under its checkpoint (it had reached the platform), looked at
    // again in an hour.
    assert_eq!(held.status(), PostStatus::Publishing);
    assert!(
        held.error_message().unwrap().contains("Reconnect"),
        "{held:?}"
    );
    assert!(page.needs_reconnect().await);
    let ledger = page
        .engine
        .posts()
        .attempts(page.user.id(), held.id())
        .await
        .unwrap();
    assert_eq!(ledger.last().unwrap().outcome, AttemptOutcome::AuthExpired);
}

#[tokio::test]
async fn a_published_posts_counters_and_insights_become_its_metrics() {
    let page = open().await;
    let post = page.due(&[]).await;
    publish(&page, &post).await;

    let (refreshed, c) = page.refresh_metrics(&post).await;

    assert_eq!(refreshed, 1);
    assert_eq!(
        (
            c.impressions,
            c.reach,
            c.likes,
            c.comments,
            c.shares,
            c.clicks
        ),
        (900, 600, 40, 4, 3, 25)
    );
    assert!(
        page.fake
            .seen(FbCall::Read)
            .iter()
            .all(|(_, token)| token.as_deref() == Some(FAKE_PAGE_TOKEN))
    );
}
