//! The Instagram publisher against the fake Graph API, through the engine's dispatcher: every
//! media type in the documented container flow, reconciliation of a publication whose answer
//! was lost, and Meta's error codes mapped to what the scheduler does.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::http::HeaderMap;
use chrono::Duration;
use postpilot_clients::http::Timeouts;
use postpilot_clients::instagram::{InstagramConfig, InstagramPublisher};
use postpilot_core::crypto::SecretString;
use postpilot_core::id::{AccountId, PostId, UserId};
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus};
use postpilot_core::publish::{
    AttemptOutcome, DispatcherConfig, Progress, PublishError, PublishRequest, Publisher,
};
use serde_json::json;

use postpilot_clients::testing::{Call, FakeInstagram, graph_error};

const TOKEN: &str = "IGQVJ-test-token-never-logged";
const IG_USER: &str = "17841400000000001";

fn publisher(fake: &FakeInstagram) -> InstagramPublisher {
    InstagramPublisher::new(InstagramConfig {
        graph_url: fake.base_url.clone(),
        timeouts: Timeouts {
            connect: StdDuration::from_secs(2),
            total: StdDuration::from_millis(800),
        },
        ..InstagramConfig::default()
    })
    .unwrap()
}

type Shop = crate::shop::Shop<FakeInstagram>;

/// A shop whose Instagram publisher talks to a fake finishing containers at the
/// `polls_to_finish`-th check.
async fn open(polls_to_finish: u32) -> Shop {
    let fake = FakeInstagram::start(TOKEN, polls_to_finish).await;
    let instagram = Arc::new(publisher(&fake));
    open_with(fake, instagram).await
}

/// A shop whose Instagram publisher is `instagram` (over `fake`).
async fn open_with(fake: FakeInstagram, instagram: Arc<dyn Publisher>) -> Shop {
    let account = crate::shop::Account {
        platform: Platform::Instagram,
        name: "@aurora.shop",
        external_id: IG_USER,
        token: TOKEN,
    };
    crate::shop::Shop::open(fake, instagram, account, false).await
}

/// Publishes `post`, a minute between ticks.
async fn publish(shop: &Shop, post: &Post) -> Post {
    shop.publish_stepping(post, Duration::minutes(1)).await
}

const TEXT: &str = "The Aurora Desk Lamp is back\n\n#lamp #homeoffice";

#[tokio::test]
async fn an_image_is_published_through_container_polls_and_media_publish() {
    let shop = open(3).await;
    let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;

    let first = shop.tick().await;
    assert_eq!(first.processing, 1, "{first:?}");
    let posted = publish(&shop, &post).await;

    assert_eq!(posted.status(), PostStatus::Posted);
    let media = shop.fake.media();
    assert_eq!(media.len(), 1);
    assert_eq!(posted.external_id(), Some(media[0].id.as_str()));
    assert_eq!(
        posted.external_url(),
        Some(format!("https://www.instagram.com/p/{}/", media[0].id).as_str())
    );
    assert_eq!(media[0].caption, TEXT);
    let seen = shop.fake.seen();
    assert_eq!(
        seen[0].path, "17841400000000001/content_publishing_limit",
        "the account's cap is read before its first post"
    );
    let created = &seen[1];
    assert_eq!(
        (created.call, created.path.as_str()),
        (Call::Create, "17841400000000001/media")
    );
    assert_eq!(
        created.form["image_url"],
        "https://cdn.example.com/aurora.jpg"
    );
    assert_eq!(created.form["caption"], TEXT);
    assert_eq!(
        shop.outcomes(&post).await,
        vec![
            AttemptOutcome::Processing,
            AttemptOutcome::Processing,
            AttemptOutcome::Posted
        ]
    );
}

#[tokio::test]
async fn the_token_travels_only_in_the_authorization_header() {
    let shop = open(1).await;
    let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;

    publish(&shop, &post).await;

    let seen = shop.fake.seen();
    assert!(seen.len() >= 4, "{seen:?}");
    for request in seen {
        assert_eq!(
            request.authorization.as_deref(),
            Some(&*format!("Bearer {TOKEN}"))
        );
        assert!(!request.query.contains_key("access_token"), "{request:?}");
        assert!(request.query.values().all(|v| !v.contains(TOKEN)));
        assert!(request.form.values().all(|v| !v.contains(TOKEN)));
    }
}

#[tokio::test]
async fn a_video_is_published_as_a_reel() {
    let shop = open(2).await;
    let post = shop.due(&["https://cdn.example.com/aurora.mp4?v=2"]).await;

    let posted = publish(&shop, &post).await;

    assert_eq!(posted.status(), PostStatus::Posted);
    let container = shop.fake.containers().into_values().next().unwrap();
    assert_eq!(container.form["media_type"], "REELS");
    assert_eq!(
        container.form["video_url"],
        "https://cdn.example.com/aurora.mp4?v=2"
    );
    assert!(!container.form.contains_key("image_url"));
}

#[tokio::test]
async fn a_carousel_is_made_of_item_containers_then_its_own() {
    let shop = open(1).await;
    let media = [
        "https://cdn.example.com/a.jpg",
        "https://cdn.example.com/b.mp4",
        "https://cdn.example.com/c.jpg",
    ];
    let post = shop.due(&media).await;

    let posted = publish(&shop, &post).await;

    assert_eq!(posted.status(), PostStatus::Posted);
    let creates: Vec<_> = shop
        .fake
        .seen()
        .into_iter()
        .filter(|s| s.call == Call::Create)
        .collect();
    assert_eq!(creates.len(), 4, "three items, then the carousel");
    assert_eq!(creates[0].form["image_url"], media[0]);
    assert_eq!(creates[1].form["media_type"], "VIDEO");
    assert_eq!(creates[1].form["video_url"], media[1]);
    for item in &creates[..3] {
        assert_eq!(item.form["is_carousel_item"], "true");
        assert!(!item.form.contains_key("caption"));
    }
    let carousel = &creates[3].form;
    assert_eq!(carousel["media_type"], "CAROUSEL");
    assert_eq!(carousel["children"].split(',').count(), 3);
    assert_eq!(carousel["caption"], TEXT);
    assert_eq!(shop.fake.media().len(), 1);
}

#[tokio::test]
async fn a_publication_whose_answer_was_lost_is_reconciled_not_published_again() {
    let shop = open(1).await;
    let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    shop.fake.publish_then_hang();

    let lost = shop.tick().await;
    assert_eq!(
        lost.retried, 1,
        "the call timed out after Instagram published: {lost:?}"
    );
    assert_eq!(shop.reload(&post).await.status(), PostStatus::Publishing);
    let posted = publish(&shop, &post).await;

    assert_eq!(posted.status(), PostStatus::Posted);
    let media = shop.fake.media();
    assert_eq!(media.len(), 1, "published once");
    assert_eq!(posted.external_id(), Some(media[0].id.as_str()));
    let publishes = shop
        .fake
        .seen()
        .iter()
        .filter(|s| s.call == Call::Publish)
        .count();
    assert_eq!(
        publishes, 1,
        "media_publish is never called again for the container"
    );
}

#[tokio::test]
async fn an_expired_container_is_made_again_and_published() {
    let shop = open(1).await;
    let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    shop.fake.next_container_ends_as("EXPIRED");

    let posted = publish(&shop, &post).await;

    assert_eq!(posted.status(), PostStatus::Posted);
    assert_eq!(shop.fake.containers().len(), 2);
    assert_eq!(shop.fake.media().len(), 1);
}

#[tokio::test]
async fn a_container_instagram_cannot_process_fails_the_post_with_its_reason() {
    let shop = open(1).await;
    let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    shop.fake.next_container_ends_as("ERROR");

    let failed = publish(&shop, &post).await;

    assert_eq!(failed.status(), PostStatus::Failed);
    let reason = failed.error_message().unwrap();
    assert!(reason.contains("could not process the media"), "{reason}");
    assert!(reason.contains("2207001"), "{reason}");
    assert!(shop.fake.media().is_empty());
}

#[tokio::test]
async fn a_rejected_token_holds_the_post_and_flags_the_account_for_reconnection() {
    let shop = open(1).await;
    let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    shop.fake.fail_next(
        Call::Create,
        400,
        HeaderMap::new(),
        graph_error(
            190,
            Some(460),
            "Error validating access token: password changed",
        ),
    );

    shop.tick().await;
    let held = shop.reload(&post).await;

    assert_eq!(held.status(), PostStatus::Scheduled, "held, not failed");
    assert!(held.error_message().unwrap().contains("Reconnect"));
    assert!(shop.needs_reconnect().await);
}

#[tokio::test]
async fn a_published_posts_insights_become_its_metrics() {
    let shop = open(1).await;
    let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    publish(&shop, &post).await;

    let (refreshed, c) = shop.refresh_metrics(&post).await;

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
        (1_000, 700, 50, 5, 2, 0)
    );
    let read = shop
        .fake
        .seen()
        .into_iter()
        .find(|s| s.call == Call::Insights)
        .unwrap();
    assert_eq!(
        read.authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(read.query["metric"], "views,reach,likes,comments,shares");
}

/// A request as the dispatcher would build it, for calling the publisher directly.
fn request(checkpoint: Option<postpilot_core::publish::Checkpoint>) -> PublishRequest {
    PublishRequest {
        post_id: PostId::from(uuid_of(1)),
        user_id: UserId::from(uuid_of(2)),
        account_id: AccountId::from(uuid_of(3)),
        account_external_id: IG_USER.into(),
        platform: Platform::Instagram,
        idempotency_key: "postpilot-1".into(),
        caption: "Hello".into(),
        hashtags: vec![],
        media_urls: vec!["https://cdn.example.com/a.jpg".into()],
        access_token: Some(SecretString::new(TOKEN)),
        resumed: checkpoint.is_some(),
        checkpoint,
    }
}

fn uuid_of(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

#[tokio::test]
async fn metas_error_codes_map_to_what_the_scheduler_does() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let ig = publisher(&fake);
    let mut usage = HeaderMap::new();
    usage.insert(
        "x-app-usage",
        r#"{"call_count":100,"total_time":20,"total_cputime":20,"estimated_time_to_regain_access":7}"#
            .parse()
            .unwrap(),
    );
    let cases: Vec<(u16, HeaderMap, serde_json::Value, &str)> = vec![
        (
            400,
            usage,
            graph_error(4, None, "Application request limit reached"),
            "rate 7 min",
        ),
        (
            400,
            HeaderMap::new(),
            graph_error(32, None, "Page request limit reached"),
            "rate 15 min",
        ),
        (
            400,
            HeaderMap::new(),
            graph_error(9, Some(2_207_042), "Daily publishing limit"),
            "rate 60 min",
        ),
        (
            400,
            HeaderMap::new(),
            graph_error(190, None, "Invalid OAuth access token"),
            "reconnect",
        ),
        (
            403,
            HeaderMap::new(),
            graph_error(10, None, "Permission denied"),
            "reconnect",
        ),
        (
            400,
            HeaderMap::new(),
            graph_error(9004, Some(2_207_052), "Media download has failed"),
            "rejected",
        ),
        (
            400,
            HeaderMap::new(),
            graph_error(100, None, "Invalid parameter"),
            "rejected",
        ),
        (
            500,
            HeaderMap::new(),
            graph_error(2, None, "Service temporarily unavailable"),
            "retry",
        ),
        (
            400,
            HeaderMap::new(),
            graph_error(1, None, "An unknown error occurred"),
            "retry",
        ),
        (502, HeaderMap::new(), json!({}), "retry"),
    ];
    for (status, headers, body, expected) in cases {
        fake.fail_next(Call::Create, status, headers, body.clone());
        let error = ig.publish(&request(None)).await.unwrap_err();
        let got = match &error {
            PublishError::RateLimited { after } => format!("rate {} min", after.num_minutes()),
            PublishError::AuthExpired => "reconnect".into(),
            PublishError::Rejected { .. } => "rejected".into(),
            PublishError::Retryable { .. } => "retry".into(),
        };
        assert_eq!(got, expected, "{body}");
        assert!(!error.to_string().contains(TOKEN));
    }
}

#[tokio::test]
async fn an_unreachable_instagram_is_a_retry_that_names_neither_url_nor_token() {
    let ig = InstagramPublisher::new(InstagramConfig {
        graph_url: "http://127.0.0.1:9".into(),
        ..InstagramConfig::default()
    })
    .unwrap();

    let error = ig.publish(&request(None)).await.unwrap_err();

    let PublishError::Retryable { reason, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("Instagram"), "{reason}");
    assert!(
        !reason.contains("127.0.0.1") && !reason.contains(TOKEN),
        "{reason}"
    );
}

#[tokio::test]
async fn a_checkpoint_at_the_publish_step_of_a_published_container_reconciles() {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    let ig = publisher(&fake);
    let Progress::Continue(made) = ig.publish(&request(None)).await.unwrap() else {
        panic!("a container first");
    };
    let Progress::Continue(ready) = ig.publish(&request(Some(made))).await.unwrap() else {
        panic!("then the publish step");
    };
    let Progress::Published(first) = ig.publish(&request(Some(ready.clone()))).await.unwrap()
    else {
        panic!("published");
    };

    // The same step again, as after a crash between publishing and storing the outcome.
    let again = ig.publish(&request(Some(ready))).await.unwrap();

    assert_eq!(again, Progress::Published(first));
    assert_eq!(fake.media().len(), 1);
}

/// The Instagram publisher, with its worker "killed" at one call: before the call reaches
/// Instagram, or after Instagram acted but before the answer is used. The call then never
/// returns and the test drops the tick — all a killed worker leaves behind is its claim and
/// what it had stored.
#[derive(Debug)]
struct DiesAt {
    inner: InstagramPublisher,
    call: usize,
    after_effect: bool,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Publisher for DiesAt {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == self.call {
            if self.after_effect {
                let _effect = self.inner.publish(request).await;
            }
            std::future::pending::<()>().await;
        }
        self.inner.publish(request).await
    }

    async fn lookup(
        &self,
        key: &str,
    ) -> Result<Option<postpilot_core::post::Published>, PublishError> {
        self.inner.lookup(key).await
    }

    async fn fetch_metrics(
        &self,
        request: &postpilot_core::publish::MetricsRequest,
    ) -> Result<postpilot_core::analytics::MetricCounts, PublishError> {
        self.inner.fetch_metrics(request).await
    }
}

#[tokio::test]
async fn a_worker_killed_at_any_step_of_the_container_flow_publishes_exactly_once() {
    // Create the container, find it processed, publish it: three calls.
    for call in 0..3 {
        for after_effect in [false, true] {
            let case = format!("killed at call {call}, after its effect: {after_effect}");
            let fake = FakeInstagram::start(TOKEN, 1).await;
            let dies = Arc::new(DiesAt {
                inner: publisher(&fake),
                call,
                after_effect,
                calls: std::sync::atomic::AtomicUsize::new(0),
            });
            let shop = open_with(fake, dies).await;
            let post = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;

            for round in 0..10 {
                let worker = shop
                    .engine
                    .dispatcher(format!("worker-{round}"), DispatcherConfig::default())
                    .unwrap();
                let _killed =
                    tokio::time::timeout(StdDuration::from_millis(300), worker.run_once()).await;
                if shop.reload(&post).await.status() == PostStatus::Posted {
                    break;
                }
                // Past the dead worker's lease and any retry delay.
                shop.clock.advance(Duration::minutes(3));
            }

            assert_eq!(
                shop.reload(&post).await.status(),
                PostStatus::Posted,
                "{case}"
            );
            assert_eq!(shop.fake.media().len(), 1, "{case}: published exactly once");
        }
    }
}

#[tokio::test]
async fn the_cap_instagram_reports_holds_posts_past_it_without_a_call_and_refuses_schedules() {
    // Two posts scheduled before the account's cap was read; Instagram reports 1 a day.
    let shop = open(1).await;
    shop.fake.set_quota_total(1);
    let first = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    let second = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;

    let posted = publish(&shop, &first).await;
    let held = shop.reload(&second).await;

    assert_eq!(posted.status(), PostStatus::Posted);
    let account = shop
        .engine
        .accounts()
        .get(shop.user.id(), shop.account.id())
        .await
        .unwrap();
    assert_eq!(account.publishing_cap(), Some(1));
    assert_eq!(held.status(), PostStatus::Scheduled);
    assert_eq!(held.attempts(), 0);
    let due_again = held.next_attempt_at().unwrap();
    let first_published = posted.posted_at().unwrap();
    assert!(
        due_again >= first_published + Duration::hours(24) - Duration::minutes(1)
            && due_again <= first_published + Duration::hours(24),
        "due again when the first post leaves Instagram's 24 hours: {due_again}"
    );
    let calls = |call: Call| shop.fake.seen().iter().filter(|s| s.call == call).count();
    assert_eq!(calls(Call::Create), 1, "the held post made no container");
    assert_eq!(
        calls(Call::Limit),
        1,
        "the cap is read once a day, not per post"
    );
    let now = postpilot_core::clock::Clock::now(shop.clock.as_ref());
    let later = shop
        .engine
        .posts()
        .create(
            shop.user.id(),
            postpilot_core::post::CreatePost {
                account_id: shop.account.id(),
                content: "Another lamp".into(),
                media_urls: vec!["https://cdn.example.com/aurora.jpg".into()],
                hashtags: Vec::new(),
                scheduled_for: Some(now + Duration::hours(1)),
                duplicates: postpilot_core::post::Duplicates::Refuse,
            },
        )
        .await;
    assert!(
        matches!(later, Err(postpilot_core::Error::PublishingCapFull(ref full)) if full.cap == 1),
        "scheduling inside the full 24 hours is refused: {later:?}"
    );
}

#[tokio::test]
async fn a_cap_instagram_will_not_report_is_not_asked_for_again_within_the_hour() {
    let shop = open(1).await;
    shop.fake.fail_next(
        Call::Limit,
        400,
        HeaderMap::new(),
        graph_error(
            10,
            None,
            "Application does not have permission for this action",
        ),
    );
    let first = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    let posted = publish(&shop, &first).await;
    let second = shop.due(&["https://cdn.example.com/aurora.jpg"]).await;
    let also_posted = publish(&shop, &second).await;

    assert_eq!(
        (posted.status(), also_posted.status()),
        (PostStatus::Posted, PostStatus::Posted),
        "the default cap applies"
    );
    let limit_reads = shop
        .fake
        .seen()
        .iter()
        .filter(|s| s.call == Call::Limit)
        .count();
    assert_eq!(limit_reads, 1, "one refused read, then none for an hour");
}
