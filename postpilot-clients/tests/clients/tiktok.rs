//! The TikTok publisher against the fake Content Posting API, through the engine's dispatcher:
//! creator info first, a video and a photo post by `PULL_FROM_URL`, the post parked while
//! TikTok processes it and polled by its stored `publish_id`, a worker killed mid-way resuming
//! without a second publication, and TikTok's error codes.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use postpilot_clients::http::Timeouts;
use postpilot_clients::testing::{FakeTikTok, TtCall, tiktok_answer};
use postpilot_clients::tiktok::{TikTokConfig, TikTokPublisher};
use postpilot_core::clock::Clock;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus};
use postpilot_core::publish::AttemptOutcome;
use serde_json::json;

use crate::shop::{Account, CAPTION, Shop};

const TOKEN: &str = "act.tiktok-test-token";

async fn open(checks_to_finish: u32) -> Shop<FakeTikTok> {
    let fake = FakeTikTok::start(TOKEN, checks_to_finish).await;
    let publisher = TikTokPublisher::new(TikTokConfig {
        api_url: fake.base_url.clone(),
        timeouts: Timeouts {
            connect: StdDuration::from_secs(2),
            total: StdDuration::from_millis(800),
        },
        init_lookup_wait: Duration::seconds(10),
        ..TikTokConfig::default()
    })
    .unwrap();
    let account = Account {
        platform: Platform::Tiktok,
        name: "@aurora.lamps",
        external_id: "open-id-aurora",
        token: TOKEN,
    };
    Shop::open(fake, Arc::new(publisher), account, false).await
}

async fn publish(shop: &Shop<FakeTikTok>, post: &Post) -> Post {
    shop.publish_stepping(post, Duration::seconds(10)).await
}

#[tokio::test]
async fn a_video_is_pulled_from_its_url_processed_and_published_once() {
    let shop = open(3).await;
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;

    let first = shop.tick().await;
    let published = publish(&shop, &post).await;

    assert_eq!(
        first.processing, 1,
        "parked while TikTok pulls the video: {first:?}"
    );
    assert_eq!(published.status(), PostStatus::Posted);
    let made = shop.fake.publications();
    assert_eq!(made.len(), 1);
    assert_eq!(published.external_id(), Some(made[0].post_id.as_str()));
    let body = &made[0].body;
    assert_eq!(body["source_info"]["source"], "PULL_FROM_URL");
    assert_eq!(
        body["source_info"]["video_url"],
        "https://cdn.example.com/aurora.mp4"
    );
    assert_eq!(
        body["post_info"]["title"],
        format!("{CAPTION}\n\n#lamp #homeoffice")
    );
    assert_eq!(body["post_info"]["privacy_level"], "PUBLIC_TO_EVERYONE");
    assert_eq!(
        shop.fake.seen(TtCall::CreatorInfo).len(),
        1,
        "creator info first"
    );
    assert!(shop.fake.seen(TtCall::Status).len() >= 3);
    assert!(
        shop.fake
            .seen(TtCall::Init)
            .iter()
            .all(|t| t.as_deref() == Some(TOKEN))
    );
}

#[tokio::test]
async fn photos_go_to_the_content_endpoint_as_a_photo_post() {
    let shop = open(1).await;
    let post = shop
        .due(&[
            "https://cdn.example.com/a.jpg",
            "https://cdn.example.com/b.jpg",
        ])
        .await;

    let published = publish(&shop, &post).await;

    assert_eq!(published.status(), PostStatus::Posted);
    let body = &shop.fake.publications()[0].body;
    assert_eq!(body["media_type"], "PHOTO");
    assert_eq!(body["post_mode"], "DIRECT_POST");
    assert_eq!(
        body["source_info"]["photo_images"],
        json!([
            "https://cdn.example.com/a.jpg",
            "https://cdn.example.com/b.jpg"
        ])
    );
}

#[tokio::test]
async fn an_unaudited_apps_only_privacy_level_is_the_one_used() {
    let shop = open(1).await;
    shop.fake.allow_privacy(vec!["SELF_ONLY"]);
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;

    publish(&shop, &post).await;

    assert_eq!(
        shop.fake.publications()[0].body["post_info"]["privacy_level"],
        "SELF_ONLY"
    );
}

#[tokio::test]
async fn a_worker_killed_while_tiktok_processes_resumes_polling_the_same_publication() {
    let shop = open(5).await;
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;
    shop.tick().await;
    shop.tick().await;
    let parked = shop.reload(&post).await;
    assert_eq!(parked.status(), PostStatus::Publishing);

    // Another worker, later: the lease the first one held has long expired.
    shop.clock.advance(Duration::minutes(10));
    let published = publish(&shop, &post).await;

    assert_eq!(published.status(), PostStatus::Posted);
    assert_eq!(
        shop.fake.publications().len(),
        1,
        "one publication, polled to the end"
    );
}

#[tokio::test]
async fn a_failed_publication_fails_the_post_with_tiktoks_reason() {
    let shop = open(1).await;
    shop.fake.next_publication_fails("file_format_check_failed");
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;

    let failed = publish(&shop, &post).await;

    assert_eq!(failed.status(), PostStatus::Failed);
    assert!(
        failed
            .error_message()
            .unwrap()
            .contains("file_format_check_failed"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_publication_tiktok_fails_internally_is_started_again_and_published() {
    let shop = open(1).await;
    shop.fake.next_publication_fails("internal");
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;

    let published = publish(&shop, &post).await;

    assert_eq!(published.status(), PostStatus::Posted);
    let made = shop.fake.publications();
    assert_eq!(made.len(), 2, "the failed publication, then a new one");
    assert_eq!(published.external_id(), Some(made[1].post_id.as_str()));
}

#[tokio::test]
async fn a_publication_failed_for_the_daily_cap_waits_hours_then_starts_again() {
    let shop = open(1).await;
    shop.fake.next_publication_fails("spam_risk_too_many_posts");
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;

    shop.tick().await;
    let waiting = shop.reload(&post).await;
    let held_until = shop.clock.now() + Duration::hours(6);
    shop.clock.advance(Duration::hours(6));
    let published = publish(&shop, &post).await;

    assert_eq!(
        waiting.status(),
        PostStatus::Publishing,
        "parked, not failed"
    );
    assert_eq!(waiting.attempts(), 0);
    assert_eq!(waiting.next_attempt_at(), Some(held_until));
    assert_eq!(published.status(), PostStatus::Posted);
    assert_eq!(shop.fake.publications().len(), 2);
}

#[tokio::test]
async fn a_long_photo_caption_is_the_description_and_the_title_stays_within_90_characters() {
    let shop = open(1).await;
    let caption = "A lamp for every desk. ".repeat(8);
    let post = shop
        .due_with(&caption, &["https://cdn.example.com/a.jpg"])
        .await;

    publish(&shop, &post).await;

    let body = &shop.fake.publications()[0].body;
    assert!(body["post_info"]["title"].as_str().unwrap().chars().count() <= 90);
    assert!(
        body["post_info"]["description"]
            .as_str()
            .unwrap()
            .starts_with(caption.trim_end())
    );
}

#[tokio::test]
async fn tiktoks_error_codes_decide_between_waiting_holding_and_refusing() {
    let shop = open(1).await;
    shop.fake.fail_next(
        TtCall::CreatorInfo,
        429,
        tiktok_answer(json!({}), "rate_limit_exceeded", "Too many requests"),
    );
    let limited = shop.due(&["https://cdn.example.com/a.mp4"]).await;
    shop.tick().await;
    assert_eq!(
        shop.reload(&limited).await.next_attempt_at(),
        Some(shop.clock.now() + Duration::minutes(1))
    );

    shop.fake.fail_next(
        TtCall::CreatorInfo,
        200,
        tiktok_answer(
            json!({}),
            "spam_risk_too_many_posts",
            "The user has posted too much",
        ),
    );
    shop.clock.advance(Duration::minutes(2));
    shop.tick().await;
    let capped = shop.reload(&limited).await;
    assert_eq!(
        capped.next_attempt_at(),
        Some(shop.clock.now() + Duration::hours(6)),
        "a daily cap (even answered with HTTP 200) holds the post for hours, no attempt used"
    );
    assert_eq!(capped.attempts(), 0);

    shop.fake.fail_next(
        TtCall::CreatorInfo,
        200,
        tiktok_answer(json!({}), "spam_risk_user_banned_from_posting", "banned"),
    );
    shop.clock.advance(Duration::hours(7));
    let refused = publish(&shop, &limited).await;
    assert_eq!(refused.status(), PostStatus::Failed);
    assert!(refused.error_message().unwrap().contains("banned"));

    let held = shop.due(&["https://cdn.example.com/b.mp4"]).await;
    shop.fake.fail_next(
        TtCall::CreatorInfo,
        401,
        tiktok_answer(
            json!({}),
            "access_token_invalid",
            "The access token is invalid",
        ),
    );
    shop.tick().await;
    assert_eq!(
        shop.outcomes(&held).await,
        vec![AttemptOutcome::AuthExpired]
    );
    assert!(shop.needs_reconnect().await);
}

#[tokio::test]
async fn a_published_videos_counters_become_its_metrics() {
    let shop = open(1).await;
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;
    publish(&shop, &post).await;

    let (refreshed, c) = shop.refresh_metrics(&post).await;

    assert_eq!(refreshed, 1);
    assert_eq!(
        (c.impressions, c.likes, c.comments, c.shares),
        (1_200, 90, 7, 11)
    );
}

#[tokio::test]
async fn a_lost_init_answer_is_found_among_the_public_videos_and_not_published_again() {
    let shop = open(1).await;
    shop.fake.init_then_hang();
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;

    let first = shop.tick().await;
    // TikTok went on with the publication whose publish_id never reached PostPilot.
    shop.fake.finish_all();
    let published = publish(&shop, &post).await;

    assert_eq!(first.retried, 1, "the init's answer timed out: {first:?}");
    assert_eq!(published.status(), PostStatus::Posted);
    let made = shop.fake.publications();
    assert_eq!(made.len(), 1, "found, not started again");
    assert_eq!(published.external_id(), Some(made[0].post_id.as_str()));
    assert_eq!(shop.fake.seen(TtCall::List).len(), 1);
}

#[tokio::test]
async fn a_lost_init_answer_still_in_moderation_after_the_looks_starts_a_second_publication_the_documented_window()
 {
    let shop = open(1).await;
    shop.fake.init_then_hang();
    let post = shop.due(&["https://cdn.example.com/aurora.mp4"]).await;

    let first = shop.tick().await;
    let published = publish(&shop, &post).await;

    assert_eq!(first.retried, 1, "the init's answer timed out: {first:?}");
    assert_eq!(published.status(), PostStatus::Posted);
    assert_eq!(
        shop.fake.seen(TtCall::List).len(),
        3,
        "looked for at once and twice more before starting again"
    );
    assert_eq!(
        shop.fake.publications().len(),
        2,
        "a publication TikTok never makes public while we look is the window left (PLATFORMS.md)"
    );
}
