//! Posts: creation against each platform's rules, the monthly quota, editing, scheduling,
//! deleting, the state machine's guards, isolation between users, the list and the calendar.
//! Matches (and extends) the seed's `test_posts.py`.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use postpilot_core::Error;
use postpilot_core::LimitedResource;
use postpilot_core::account::SocialAccount;
use postpilot_core::id::PostId;
use postpilot_core::page::PageRequest;
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::{
    CreatePost, Duplicates, Post, PostFilter, PostPatch, PostStatus, ResumeCaption,
};
use postpilot_core::publish::{DispatcherConfig, PublishError};
use postpilot_core::store::AccountStore;
use postpilot_core::store::PostStore;
use postpilot_core::user::User;

use crate::test_engine::{TestEngine, create_post};

// ---------------------------------------------------------------------------------------------
// Arrangement
// ---------------------------------------------------------------------------------------------

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn page(page: u32, per_page: u32) -> PageRequest {
    PageRequest::new(Some(page), Some(per_page)).unwrap()
}

fn urls(urls: &[&str]) -> Vec<String> {
    urls.iter().map(|u| (*u).to_owned()).collect()
}

fn images(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://cdn.example.com/photo_{i}.jpg"))
        .collect()
}

/// A request for `account` with the given caption, media and hashtags.
fn request(
    account: &SocialAccount,
    content: impl Into<String>,
    media_urls: Vec<String>,
    hashtags: &[&str],
) -> CreatePost {
    CreatePost {
        content: content.into(),
        media_urls,
        hashtags: hashtags.iter().map(|t| (*t).to_owned()).collect(),
        ..create_post(account, None)
    }
}

/// A user with one connected account of `platform`.
async fn merchant(e: &TestEngine, platform: Platform) -> (User, SocialAccount) {
    let user = e.user("merchant@example.com").await;
    let account = e.connect(&user, platform, "mybrand").await;
    (user, account)
}

/// A second user with their own account, for isolation tests.
async fn stranger(e: &TestEngine) -> (User, SocialAccount) {
    let user = e.user("stranger@example.com").await;
    let account = e.connect(&user, Platform::Instagram, "stranger").await;
    (user, account)
}

/// Runs one publication tick after the clock passes the post's time.
async fn publish_due(e: &TestEngine) {
    e.dispatcher("w", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
}

/// A post that went through the scheduler and is now `posted`.
async fn posted_post(e: &TestEngine, user: &User, account: &SocialAccount) -> Post {
    let post = e
        .post(user, account, Some(e.now() + Duration::minutes(5)))
        .await;
    e.advance(Duration::minutes(10));
    publish_due(e).await;
    let post = e.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(post.status(), PostStatus::Posted);
    post
}

/// A worker claims every due post and holds it (`publishing`) without settling it.
async fn claim_due_posts(e: &TestEngine) {
    let claimed = e
        .store
        .claim_due(e.now(), 50, Duration::minutes(5), "slow-worker")
        .await
        .unwrap();
    assert!(!claimed.is_empty());
}

/// A Facebook post the platform refused for good: `failed`.
async fn failed_post(e: &TestEngine, user: &User, account: &SocialAccount) -> Post {
    let post = e
        .post(user, account, Some(e.now() + Duration::minutes(5)))
        .await;
    e.facebook
        .fail_next(PublishError::Rejected { reason: "x".into() });
    e.advance(Duration::minutes(10));
    publish_due(e).await;
    let post = e.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(post.status(), PostStatus::Failed);
    post
}

fn is_validation(err: &Error, field: &str) -> bool {
    matches!(err, Error::Validation(v) if v.field() == field)
}

// ---------------------------------------------------------------------------------------------
// Creating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_post_created_without_a_time_is_a_draft() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;

    let post = e
        .posts()
        .create(user.id(), create_post(&account, None))
        .await
        .unwrap();

    assert_eq!(post.status(), PostStatus::Draft);
    assert_eq!(post.scheduled_for(), None);
    assert_eq!(post.user_id(), user.id());
    assert_eq!(post.account_id(), account.id());
    assert!(
        post.content()
            .as_ref()
            .starts_with("New drop: the Aurora Desk Lamp, no. "),
        "{}",
        post.content().as_ref()
    );
    assert_eq!(post.attempts(), 0);
    assert_eq!(post.created_at(), e.now());
    assert_eq!(e.posts().get(user.id(), post.id()).await.unwrap(), post);
}

#[tokio::test]
async fn a_post_takes_its_platform_from_the_account() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Tiktok).await;

    let post = e.post(&user, &account, None).await;

    assert_eq!(post.platform(), Platform::Tiktok);
}

#[tokio::test]
async fn hashtags_are_stored_without_hash_and_deduplicated_ignoring_case() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let req = request(
        &account,
        "Summer sale",
        images(1),
        &["#Summer", "summer", "SUMMER", "#sale", "Sale", "deals"],
    );

    let post = e.posts().create(user.id(), req).await.unwrap();

    assert_eq!(post.hashtags().to_strings(), ["Summer", "sale", "deals"]);
}

#[tokio::test]
async fn an_invalid_hashtag_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let req = request(&account, "Hi", images(1), &["ok", "not-ok"]);

    let err = e.posts().create(user.id(), req).await.unwrap_err();

    assert!(is_validation(&err, "hashtags"), "{err:?}");
}

#[tokio::test]
async fn a_post_created_with_a_future_time_is_scheduled() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let at = e.now() + Duration::hours(2);

    let post = e
        .posts()
        .create(user.id(), create_post(&account, Some(at)))
        .await
        .unwrap();

    assert_eq!(post.status(), PostStatus::Scheduled);
    assert_eq!(post.scheduled_for(), Some(at));
}

#[tokio::test]
async fn a_post_cannot_be_created_for_a_time_in_the_past() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;

    let err = e
        .posts()
        .create(
            user.id(),
            create_post(&account, Some(e.now() - Duration::minutes(1))),
        )
        .await
        .unwrap_err();

    assert!(is_validation(&err, "scheduled_for"), "{err:?}");
}

#[tokio::test]
async fn a_post_cannot_be_created_for_the_current_instant() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;

    let err = e
        .posts()
        .create(user.id(), create_post(&account, Some(e.now())))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "scheduled_for"), "{err:?}");
}

#[tokio::test]
async fn a_post_cannot_be_scheduled_more_than_365_days_ahead() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let too_far = e.now() + Duration::days(365) + Duration::seconds(1);

    let err = e
        .posts()
        .create(user.id(), create_post(&account, Some(too_far)))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "scheduled_for"), "{err:?}");
}

#[tokio::test]
async fn a_post_can_be_scheduled_exactly_365_days_ahead() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let at = e.now() + Duration::days(365);

    let post = e
        .posts()
        .create(user.id(), create_post(&account, Some(at)))
        .await
        .unwrap();

    assert_eq!(post.scheduled_for(), Some(at));
}

#[tokio::test]
async fn blank_content_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;

    let err = e
        .posts()
        .create(user.id(), request(&account, "  \n\t ", vec![], &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "content"), "{err:?}");
}

#[tokio::test]
async fn a_rejected_create_stores_nothing_and_uses_no_quota() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;

    e.posts()
        .create(user.id(), request(&account, " ", vec![], &[]))
        .await
        .unwrap_err();

    let list = e
        .posts()
        .list(user.id(), PostFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(list.total, 0);
    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().posts_this_month,
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Platform rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_instagram_caption_of_2201_characters_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;

    let err = e
        .posts()
        .create(
            user.id(),
            request(&account, "a".repeat(2_201), images(1), &[]),
        )
        .await
        .unwrap_err();

    assert!(is_validation(&err, "content"), "{err:?}");
}

#[tokio::test]
async fn an_instagram_caption_of_2200_characters_is_accepted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;

    let post = e
        .posts()
        .create(
            user.id(),
            request(&account, "é".repeat(2_200), images(1), &["tag"]),
        )
        .await
        .unwrap();

    assert_eq!(post.content().as_ref().chars().count(), 2_200);
}

#[tokio::test]
async fn an_instagram_post_with_31_hashtags_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let tags: Vec<String> = (0..31).map(|i| format!("tag{i}")).collect();
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", images(1), &tags))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "hashtags"), "{err:?}");
}

#[tokio::test]
async fn an_instagram_post_with_30_hashtags_is_accepted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let tags: Vec<String> = (0..30).map(|i| format!("tag{i}")).collect();
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();

    let post = e
        .posts()
        .create(user.id(), request(&account, "Hi", images(1), &tags))
        .await
        .unwrap();

    assert_eq!(post.hashtags().len(), 30);
}

#[tokio::test]
async fn an_instagram_post_without_media_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", vec![], &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

#[tokio::test]
async fn an_instagram_post_with_a_png_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let media = urls(&["https://cdn.example.com/lamp.png"]);

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", media, &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

#[tokio::test]
async fn an_instagram_carousel_of_jpegs_and_an_mp4_is_accepted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let media = urls(&[
        "https://cdn.example.com/a.jpg",
        "https://cdn.example.com/b.JPEG?w=1080",
        "https://cdn.example.com/c.mp4",
    ]);

    let post = e
        .posts()
        .create(user.id(), request(&account, "Hi", media, &[]))
        .await
        .unwrap();

    assert_eq!(post.media_urls().len(), 3);
}

#[tokio::test]
async fn a_tiktok_caption_of_1100_emoji_fills_the_2200_utf16_units_exactly() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Tiktok).await;
    let video = urls(&["https://cdn.example.com/clip.mp4"]);

    let post = e
        .posts()
        .create(user.id(), request(&account, "😀".repeat(1_100), video, &[]))
        .await
        .unwrap();

    assert_eq!(post.content().as_ref().encode_utf16().count(), 2_200);
}

#[tokio::test]
async fn a_tiktok_caption_counts_an_emoji_as_two_units() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Tiktok).await;
    let video = urls(&["https://cdn.example.com/clip.mp4"]);

    // 1,101 characters (well under 2,200) but 2,202 UTF-16 units.
    let err = e
        .posts()
        .create(user.id(), request(&account, "😀".repeat(1_101), video, &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "content"), "{err:?}");
}

#[tokio::test]
async fn a_tiktok_hashtag_counts_toward_the_caption_length() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Tiktok).await;
    let video = urls(&["https://cdn.example.com/clip.mp4"]);

    let err = e
        .posts()
        .create(
            user.id(),
            request(&account, "😀".repeat(1_100), video, &["a"]),
        )
        .await
        .unwrap_err();

    assert!(is_validation(&err, "content"), "{err:?}");
}

#[tokio::test]
async fn a_tiktok_post_with_two_videos_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Tiktok).await;
    let media = urls(&[
        "https://cdn.example.com/a.mp4",
        "https://cdn.example.com/b.mp4",
    ]);

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", media, &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

#[tokio::test]
async fn a_tiktok_post_without_media_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Tiktok).await;

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", vec![], &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

#[tokio::test]
async fn a_facebook_post_without_media_is_accepted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;

    let post = e
        .posts()
        .create(user.id(), request(&account, "Text only", vec![], &[]))
        .await
        .unwrap();

    assert!(post.media_urls().is_empty());
}

#[tokio::test]
async fn a_facebook_post_with_eleven_images_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", images(11), &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

#[tokio::test]
async fn a_facebook_post_with_ten_images_is_accepted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;

    let post = e
        .posts()
        .create(user.id(), request(&account, "Hi", images(10), &[]))
        .await
        .unwrap();

    assert_eq!(post.media_urls().len(), 10);
}

#[tokio::test]
async fn a_facebook_post_mixing_a_video_and_an_image_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let media = urls(&[
        "https://cdn.example.com/clip.mp4",
        "https://cdn.example.com/photo.jpg",
    ]);

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", media, &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

#[tokio::test]
async fn a_plain_http_media_url_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let media = urls(&["http://cdn.example.com/photo.jpg"]);

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", media, &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

#[tokio::test]
async fn a_relative_media_url_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let media = urls(&["/uploads/photo.jpg"]);

    let err = e
        .posts()
        .create(user.id(), request(&account, "Hi", media, &[]))
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Monthly quota
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn free_user_cannot_create_an_eleventh_post_this_month() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    for _ in 0..10 {
        e.post(&user, &account, None).await;
    }

    let err = e
        .posts()
        .create(user.id(), create_post(&account, None))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::PostsPerMonth,
                limit: 10
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn posts_of_the_previous_month_do_not_count_toward_the_quota() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    e.clock.set(utc(2026, 3, 31, 23, 59));
    for _ in 0..10 {
        e.post(&user, &account, None).await;
    }
    e.clock.set(utc(2026, 4, 1, 0, 0));

    let post = e
        .posts()
        .create(user.id(), create_post(&account, None))
        .await
        .unwrap();

    assert_eq!(post.created_at(), utc(2026, 4, 1, 0, 0));
    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().posts_this_month,
        1
    );
}

#[tokio::test]
async fn pro_user_can_create_200_posts_this_month_but_not_201() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    e.on_plan(&user, PlanTier::Pro).await;
    for _ in 0..200 {
        e.post(&user, &account, None).await;
    }

    let err = e
        .posts()
        .create(user.id(), create_post(&account, None))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::PostsPerMonth,
                limit: 200
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn enterprise_user_can_create_more_than_200_posts_a_month() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    e.on_plan(&user, PlanTier::Enterprise).await;

    for _ in 0..201 {
        e.post(&user, &account, None).await;
    }

    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().posts_this_month,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_at_nine_of_ten_give_exactly_one_success() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    for _ in 0..9 {
        e.post(&user, &account, None).await;
    }
    let posts = e.posts();

    let attempts = (0..50).map(|_| {
        let posts = posts.clone();
        let req = create_post(&account, None);
        let user_id = user.id();
        tokio::spawn(async move { posts.create(user_id, req).await })
    });
    let results = futures::future::join_all(attempts).await;

    let created = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(created, 1);
    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().posts_this_month,
        10
    );
}

#[tokio::test]
async fn usage_counts_the_posts_created_this_month() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    e.post(&user, &account, None).await;
    e.post(&user, &account, Some(e.now() + Duration::days(40)))
        .await;

    let usage = e.usage().usage(user.id()).await.unwrap();

    // Counted by creation month, whatever month the post is scheduled for.
    assert_eq!(usage.posts_this_month, 2);
    assert_eq!(usage.posts_limit.max(), Some(10));
}

#[tokio::test]
async fn deleting_a_post_gives_its_place_in_the_monthly_quota_back() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let mut posts = Vec::new();
    for _ in 0..10 {
        posts.push(e.post(&user, &account, None).await);
    }

    e.posts().delete(user.id(), posts[0].id()).await.unwrap();

    // The quota (and usage) counts the posts that exist in the store and were created this
    // month, as the seed's `SELECT count(*) FROM posts` did: deleting a draft or scheduled post
    // frees its place. Posted posts cannot be deleted, so published posts always count.
    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().posts_this_month,
        9
    );
    e.posts()
        .create(user.id(), create_post(&account, None))
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Updating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn updating_the_content_keeps_the_other_fields() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let at = e.now() + Duration::days(1);
    let before = e.post(&user, &account, Some(at)).await;
    e.advance(Duration::minutes(1));

    let after = e
        .posts()
        .update(
            user.id(),
            before.id(),
            PostPatch {
                content: Some("Back in stock!".into()),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(after.content().as_ref(), "Back in stock!");
    assert_eq!(after.media_urls(), before.media_urls());
    assert_eq!(after.hashtags(), before.hashtags());
    assert_eq!(after.status(), PostStatus::Scheduled);
    assert_eq!(after.scheduled_for(), Some(at));
    assert_eq!(after.updated_at(), e.now());
    assert_eq!(e.posts().get(user.id(), before.id()).await.unwrap(), after);
}

#[tokio::test]
async fn updating_the_media_keeps_the_other_fields() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let before = e.post(&user, &account, None).await;

    let after = e
        .posts()
        .update(
            user.id(),
            before.id(),
            PostPatch {
                media_urls: Some(images(3)),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap();

    let media: Vec<&str> = after.media_urls().iter().map(AsRef::as_ref).collect();
    assert_eq!(media, images(3));
    assert_eq!(after.content(), before.content());
    assert_eq!(after.hashtags(), before.hashtags());
    assert_eq!(after.status(), PostStatus::Draft);
}

#[tokio::test]
async fn updating_the_hashtags_keeps_the_other_fields() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let before = e.post(&user, &account, None).await;

    let after = e
        .posts()
        .update(
            user.id(),
            before.id(),
            PostPatch {
                hashtags: Some(vec!["#Deal".into(), "deal".into(), "gift".into()]),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(after.hashtags().to_strings(), ["Deal", "gift"]);
    assert_eq!(after.content(), before.content());
    assert_eq!(after.media_urls(), before.media_urls());
}

#[tokio::test]
async fn an_update_that_breaks_the_platform_rules_is_rejected_and_changes_nothing() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let before = e.post(&user, &account, None).await;

    let err = e
        .posts()
        .update(
            user.id(),
            before.id(),
            PostPatch {
                content: Some("Still valid".into()),
                media_urls: Some(vec![]),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(is_validation(&err, "media_urls"), "{err:?}");
    assert_eq!(e.posts().get(user.id(), before.id()).await.unwrap(), before);
}

#[tokio::test]
async fn clearing_the_time_takes_a_scheduled_post_back_to_draft() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::hours(3)))
        .await;

    let after = e
        .posts()
        .update(
            user.id(),
            post.id(),
            PostPatch {
                scheduled_for: Some(None),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(after.status(), PostStatus::Draft);
    assert_eq!(after.scheduled_for(), None);
    assert_eq!(
        e.posts().get(user.id(), post.id()).await.unwrap().status(),
        PostStatus::Draft
    );
}

#[tokio::test]
async fn setting_a_time_on_a_draft_schedules_it() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e.post(&user, &account, None).await;
    let at = e.now() + Duration::hours(3);

    let after = e
        .posts()
        .update(
            user.id(),
            post.id(),
            PostPatch {
                scheduled_for: Some(Some(at)),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(after.status(), PostStatus::Scheduled);
    assert_eq!(after.scheduled_for(), Some(at));
}

#[tokio::test]
async fn an_update_to_a_past_time_is_rejected_and_changes_nothing() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e.post(&user, &account, None).await;

    let err = e
        .posts()
        .update(
            user.id(),
            post.id(),
            PostPatch {
                content: Some("Edited".into()),
                scheduled_for: Some(Some(e.now() - Duration::hours(1))),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(is_validation(&err, "scheduled_for"), "{err:?}");
    assert_eq!(e.posts().get(user.id(), post.id()).await.unwrap(), post);
}

#[tokio::test]
async fn a_posted_post_cannot_be_edited() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let posted = posted_post(&e, &user, &account).await;

    let err = e
        .posts()
        .update(
            user.id(),
            posted.id(),
            PostPatch {
                content: Some("Too late".into()),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::InvalidTransition(ref t) if t.from == "posted"),
        "{err:?}"
    );
    assert_eq!(e.posts().get(user.id(), posted.id()).await.unwrap(), posted);
}

#[tokio::test]
async fn a_posted_post_cannot_be_unscheduled() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let posted = posted_post(&e, &user, &account).await;

    let err = e
        .posts()
        .update(
            user.id(),
            posted.id(),
            PostPatch {
                scheduled_for: Some(None),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::InvalidTransition(ref t) if t.from == "posted"),
        "{err:?}"
    );
    assert_eq!(
        e.posts()
            .get(user.id(), posted.id())
            .await
            .unwrap()
            .status(),
        PostStatus::Posted
    );
}

#[tokio::test]
async fn a_post_being_published_cannot_be_edited() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(2));
    claim_due_posts(&e).await;

    let err = e
        .posts()
        .update(
            user.id(),
            post.id(),
            PostPatch {
                content: Some("Mid-flight edit".into()),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::InvalidTransition(ref t) if t.from == "publishing"),
        "{err:?}"
    );
    let stored = e.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(stored.content(), post.content());
}

// ---------------------------------------------------------------------------------------------
// Deleting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_draft_can_be_deleted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e.post(&user, &account, None).await;

    e.posts().delete(user.id(), post.id()).await.unwrap();

    let err = e.posts().get(user.id(), post.id()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_scheduled_post_can_be_deleted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::hours(1)))
        .await;

    e.posts().delete(user.id(), post.id()).await.unwrap();

    let err = e.posts().get(user.id(), post.id()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_posted_post_cannot_be_deleted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let posted = posted_post(&e, &user, &account).await;

    let err = e.posts().delete(user.id(), posted.id()).await.unwrap_err();

    assert!(
        matches!(err, Error::InvalidTransition(ref t) if t.from == "posted"),
        "{err:?}"
    );
    assert_eq!(e.posts().get(user.id(), posted.id()).await.unwrap(), posted);
}

#[tokio::test]
async fn a_post_being_published_cannot_be_deleted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(2));
    claim_due_posts(&e).await;

    let err = e.posts().delete(user.id(), post.id()).await.unwrap_err();

    assert!(
        matches!(err, Error::InvalidTransition(ref t) if t.from == "publishing"),
        "{err:?}"
    );
    assert_eq!(
        e.posts().get(user.id(), post.id()).await.unwrap().status(),
        PostStatus::Publishing
    );
}

#[tokio::test]
async fn deleting_an_unknown_post_is_not_found() {
    let e = TestEngine::new();
    let (user, _) = merchant(&e, Platform::Instagram).await;

    let err = e
        .posts()
        .delete(user.id(), PostId::from_uuid(uuid::Uuid::new_v4()))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// The duplicate guard
// ---------------------------------------------------------------------------------------------

/// Creates a post of `caption` on `account` at `at` (a draft without), refusing duplicates.
async fn create_captioned(
    e: &TestEngine,
    user: &User,
    account: &SocialAccount,
    caption: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Post, Error> {
    let request = CreatePost {
        content: caption.into(),
        ..create_post(account, at)
    };
    e.posts().create(user.id(), request).await
}

fn duplicate_of(err: &Error) -> PostId {
    match err {
        Error::DuplicatePost(other) => other.post_id,
        other => panic!("expected a duplicate-post refusal, got {other:?}"),
    }
}

const SALE: &str = "Flash sale: 20% off mugs";

/// A merchant with a post of [`SALE`] scheduled in two days, and its time.
async fn a_sale_scheduled() -> (TestEngine, User, SocialAccount, DateTime<Utc>, Post) {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let at = e.now() + Duration::days(2);
    let first = create_captioned(&e, &user, &account, SALE, Some(at))
        .await
        .unwrap();
    (e, user, account, at, first)
}

#[tokio::test]
async fn the_same_caption_on_an_account_within_24_hours_is_refused_naming_the_other_post() {
    let (e, user, account, at, first) = a_sale_scheduled().await;

    // Within the day after, and within the day before, with other spacing and case.
    for other_time in [at + Duration::hours(23), at - Duration::hours(24)] {
        let again = "flash sale:  20% OFF mugs";
        let err = create_captioned(&e, &user, &account, again, Some(other_time)).await;
        assert_eq!(duplicate_of(&err.unwrap_err()), first.id());
    }
    let all = e
        .posts()
        .list(user.id(), PostFilter::default(), page(1, 50))
        .await
        .unwrap();
    assert_eq!(all.total, 1, "a refused post is not stored");
}

#[tokio::test]
async fn a_duplicate_the_request_allows_is_scheduled_and_keeps_its_time_when_sent_it_again() {
    let (e, user, account, at, _) = a_sale_scheduled().await;

    let request = CreatePost {
        content: SALE.into(),
        duplicates: Duplicates::Allow,
        ..create_post(&account, Some(at + Duration::hours(1)))
    };
    let again = e.posts().create(user.id(), request).await.unwrap();

    assert_eq!(again.status(), PostStatus::Scheduled);
    // Sent its own time again (a retried request), it is not refused after the fact.
    let at_again = again.scheduled_for().unwrap();
    let resent = e
        .posts()
        .schedule(user.id(), again.id(), at_again, Duplicates::Refuse)
        .await;
    assert_eq!(resent.unwrap().scheduled_for(), Some(at_again));
}

#[tokio::test]
async fn the_same_caption_is_accepted_on_another_account_after_24_hours_or_as_a_draft() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    e.on_plan(&user, PlanTier::Pro).await;
    let other_account = e.connect(&user, Platform::Facebook, "shop_page").await;
    let at = e.now() + Duration::days(2);
    create_captioned(&e, &user, &account, SALE, Some(at))
        .await
        .unwrap();

    // Half a second past the window: not a duplicate (times may carry fractions of a second).
    let a_day_later = at + Duration::hours(24) + Duration::milliseconds(500);
    for (on, time) in [
        (&other_account, Some(at)),
        (&account, Some(a_day_later)),
        (&account, None),
    ] {
        create_captioned(&e, &user, on, SALE, time).await.unwrap();
    }
}

#[tokio::test]
async fn scheduling_editing_or_queueing_into_a_duplicate_is_refused_and_changes_nothing() {
    let (e, user, account, at, first) = a_sale_scheduled().await;
    let draft = create_captioned(&e, &user, &account, SALE, None)
        .await
        .unwrap();
    let other = e.post(&user, &account, Some(at + Duration::hours(2))).await;
    let posts = e.posts();

    let later = at + Duration::hours(3);
    let scheduled = posts.schedule(user.id(), draft.id(), later, Duplicates::Refuse);
    let recaption = PostPatch {
        content: Some(SALE.to_uppercase()),
        ..PostPatch::default()
    };
    let edited = posts.update(user.id(), other.id(), recaption);
    let refusals = [scheduled.await.unwrap_err(), edited.await.unwrap_err()];
    let every_day: Vec<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|day| format!("{day} 09:00"))
        .collect();
    e.schedules()
        .set(user.id(), account.id(), Some("UTC"), &every_day)
        .await
        .unwrap();
    // `first` takes the next free daily slot; the draft would take the one 24 hours later.
    let first = posts
        .queue(user.id(), first.id(), Duplicates::Refuse)
        .await
        .unwrap();
    let queued = posts.queue(user.id(), draft.id(), Duplicates::Refuse).await;

    for err in refusals.iter().chain([&queued.unwrap_err()]) {
        assert_eq!(duplicate_of(err), first.id());
    }
    assert_eq!(posts.get(user.id(), draft.id()).await.unwrap(), draft);
    assert_eq!(posts.get(user.id(), other.id()).await.unwrap(), other);
    let allowed = posts.queue(user.id(), draft.id(), Duplicates::Allow).await;
    assert!(allowed.unwrap().on_slot());
}

// ---------------------------------------------------------------------------------------------
// Pausing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_paused_post_is_never_published_and_goes_out_once_scheduled_again() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::minutes(1)))
        .await;

    let paused = e
        .posts()
        .pause(
            user.id(),
            post.id(),
            " the price changed from 34.00 to 29.00 ",
        )
        .await
        .unwrap();
    e.advance(Duration::minutes(2));
    publish_due(&e).await;

    assert_eq!(paused.status(), PostStatus::Paused);
    assert_eq!(
        paused.error_message(),
        Some("the price changed from 34.00 to 29.00")
    );
    assert!(e.facebook.calls().is_empty(), "a paused post is never sent");
    let stored = e.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(stored, paused);
    let late = e
        .posts()
        .resume(
            user.id(),
            post.id(),
            Duplicates::Refuse,
            ResumeCaption::Keep,
        )
        .await;
    assert!(
        matches!(&late, Err(Error::Validation(v)) if v.field() == "scheduled_for"),
        "its time has passed: {late:?}"
    );
    let at = e.now() + Duration::minutes(1);
    let resumed = e
        .posts()
        .schedule(user.id(), post.id(), at, Duplicates::Refuse)
        .await
        .unwrap();
    assert_eq!(
        (resumed.status(), resumed.error_message()),
        (PostStatus::Scheduled, None)
    );
    e.advance(Duration::minutes(2));
    publish_due(&e).await;
    let published = e.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(published.status(), PostStatus::Posted);
    assert_eq!(e.facebook.calls().len(), 1);
}

#[tokio::test]
async fn a_paused_post_is_resumed_at_its_own_time_edited_or_discarded() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let at = e.now() + Duration::hours(3);
    let kept = e.post(&user, &account, Some(at)).await;
    let dropped = e.post(&user, &account, Some(at + Duration::hours(1))).await;
    let posts = e.posts();
    for post in [&kept, &dropped] {
        posts.pause(user.id(), post.id(), "sold out").await.unwrap();
    }

    let recaption = PostPatch {
        content: Some("Back in stock soon".into()),
        ..PostPatch::default()
    };
    let edited = posts.update(user.id(), kept.id(), recaption).await.unwrap();
    let resumed = posts
        .resume(
            user.id(),
            kept.id(),
            Duplicates::Refuse,
            ResumeCaption::Keep,
        )
        .await
        .unwrap();
    posts.delete(user.id(), dropped.id()).await.unwrap();

    assert_eq!(edited.status(), PostStatus::Paused);
    assert_eq!(resumed.status(), PostStatus::Scheduled);
    assert_eq!(resumed.scheduled_for(), Some(at));
    assert_eq!(resumed.content().as_ref(), "Back in stock soon");
    assert!(matches!(
        posts.get(user.id(), dropped.id()).await,
        Err(Error::NotFound(_))
    ));
    let again = posts
        .resume(
            user.id(),
            kept.id(),
            Duplicates::Refuse,
            ResumeCaption::Keep,
        )
        .await;
    assert!(
        matches!(again, Err(Error::InvalidTransition(_))),
        "{again:?}"
    );
}

#[tokio::test]
async fn only_a_scheduled_post_is_paused_and_one_a_worker_claimed_is_refused() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let draft = e.post(&user, &account, None).await;
    let due = e
        .post(&user, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(2));
    let claimed = e
        .store
        .claim_due(e.now(), 10, Duration::seconds(60), "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    let of_draft = e.posts().pause(user.id(), draft.id(), "why").await;
    let of_claimed = e
        .posts()
        .pause(user.id(), due.id(), "the price changed")
        .await;
    let blank = e.posts().pause(user.id(), draft.id(), "  ").await;

    assert!(
        matches!(of_draft, Err(Error::InvalidTransition(_))),
        "{of_draft:?}"
    );
    assert!(
        matches!(of_claimed, Err(Error::InvalidTransition(_))),
        "{of_claimed:?}"
    );
    assert!(matches!(blank, Err(Error::Validation(_))), "{blank:?}");
    let stored = e.posts().get(user.id(), due.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Publishing);
}

// ---------------------------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn scheduling_a_draft_makes_it_scheduled() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e.post(&user, &account, None).await;
    let at = e.now() + Duration::days(2);

    let scheduled = e
        .posts()
        .schedule(user.id(), post.id(), at, Duplicates::Refuse)
        .await
        .unwrap();

    assert_eq!(scheduled.status(), PostStatus::Scheduled);
    assert_eq!(scheduled.scheduled_for(), Some(at));
    assert_eq!(
        e.posts().get(user.id(), post.id()).await.unwrap(),
        scheduled
    );
}

#[tokio::test]
async fn scheduling_a_draft_on_a_disconnected_account_is_rejected() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e.post(&user, &account, None).await;
    e.accounts()
        .disconnect(user.id(), account.id())
        .await
        .unwrap();

    let result = e
        .posts()
        .schedule(
            user.id(),
            post.id(),
            e.now() + Duration::hours(1),
            Duplicates::Refuse,
        )
        .await;

    assert!(
        matches!(result, Err(Error::Validation(ref v)) if v.field() == "account_id"),
        "{result:?}"
    );
    assert_eq!(
        e.posts().get(user.id(), post.id()).await.unwrap().status(),
        PostStatus::Draft
    );
}

#[tokio::test]
async fn a_scheduled_post_can_be_moved_to_another_time() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::days(2)))
        .await;
    let later = e.now() + Duration::days(5);

    let moved = e
        .posts()
        .schedule(user.id(), post.id(), later, Duplicates::Refuse)
        .await
        .unwrap();

    assert_eq!(moved.status(), PostStatus::Scheduled);
    assert_eq!(moved.scheduled_for(), Some(later));
}

#[tokio::test]
async fn scheduling_in_the_past_is_rejected_and_leaves_the_post_unchanged() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e.post(&user, &account, None).await;

    let err = e
        .posts()
        .schedule(
            user.id(),
            post.id(),
            e.now() - Duration::seconds(1),
            Duplicates::Refuse,
        )
        .await
        .unwrap_err();

    assert!(is_validation(&err, "scheduled_for"), "{err:?}");
    assert_eq!(e.posts().get(user.id(), post.id()).await.unwrap(), post);
}

#[tokio::test]
async fn a_posted_post_cannot_be_rescheduled() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let posted = posted_post(&e, &user, &account).await;

    let err = e
        .posts()
        .schedule(
            user.id(),
            posted.id(),
            e.now() + Duration::days(1),
            Duplicates::Refuse,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::InvalidTransition(ref t) if t.from == "posted" && t.to == "scheduled"),
        "{err:?}"
    );
}

#[tokio::test]
async fn rescheduling_a_failed_post_schedules_it_with_a_clean_slate() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let failed = failed_post(&e, &user, &account).await;
    assert!(failed.error_message().is_some());
    let at = e.now() + Duration::hours(1);

    let rescheduled = e
        .posts()
        .schedule(user.id(), failed.id(), at, Duplicates::Refuse)
        .await
        .unwrap();

    assert_eq!(rescheduled.status(), PostStatus::Scheduled);
    assert_eq!(rescheduled.scheduled_for(), Some(at));
    assert_eq!(rescheduled.attempts(), 0);
    assert_eq!(rescheduled.error_message(), None);
    assert_eq!(rescheduled.next_attempt_at(), None);
}

#[tokio::test]
async fn rescheduling_a_post_that_exhausted_its_retries_resets_its_attempts() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    let mut config = DispatcherConfig::default();
    config.retry.max_attempts = 2;
    for _ in 0..2 {
        e.facebook.fail_next(PublishError::Retryable {
            reason: "503".into(),
            after: None,
        });
        e.advance(Duration::minutes(5));
        e.dispatcher("w", config).unwrap().run_once().await.unwrap();
    }
    let failed = e.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(failed.status(), PostStatus::Failed);
    assert!(failed.attempts() > 0);

    let rescheduled = e
        .posts()
        .schedule(
            user.id(),
            post.id(),
            e.now() + Duration::hours(1),
            Duplicates::Refuse,
        )
        .await
        .unwrap();

    assert_eq!(rescheduled.status(), PostStatus::Scheduled);
    assert_eq!(rescheduled.attempts(), 0);
    assert_eq!(rescheduled.error_message(), None);
}

#[tokio::test]
async fn a_rescheduled_failed_post_is_published_at_its_new_time() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let failed = failed_post(&e, &user, &account).await;
    e.posts()
        .schedule(
            user.id(),
            failed.id(),
            e.now() + Duration::minutes(1),
            Duplicates::Refuse,
        )
        .await
        .unwrap();
    e.advance(Duration::minutes(2));

    publish_due(&e).await;

    let post = e.posts().get(user.id(), failed.id()).await.unwrap();
    assert_eq!(post.status(), PostStatus::Posted);
}

#[tokio::test]
async fn a_failed_post_cannot_be_deleted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let failed = failed_post(&e, &user, &account).await;

    let err = e.posts().delete(user.id(), failed.id()).await.unwrap_err();

    // DESIGN.md §2: only draft and scheduled posts may be edited or deleted.
    assert!(
        matches!(err, Error::InvalidTransition(ref t) if t.from == "failed"),
        "{err:?}"
    );
    assert!(e.posts().get(user.id(), failed.id()).await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn posts_are_listed_newest_first() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(e.post(&user, &account, None).await.id());
        e.advance(Duration::minutes(1));
    }

    let list = e
        .posts()
        .list(user.id(), PostFilter::default(), PageRequest::default())
        .await
        .unwrap();

    let listed: Vec<_> = list.items.iter().map(Post::id).collect();
    created.reverse();
    assert_eq!(listed, created);
}

#[tokio::test]
async fn the_post_list_is_paginated() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(e.post(&user, &account, None).await.id());
        e.advance(Duration::minutes(1));
    }
    created.reverse();

    let second = e
        .posts()
        .list(user.id(), PostFilter::default(), page(2, 2))
        .await
        .unwrap();
    let last = e
        .posts()
        .list(user.id(), PostFilter::default(), page(3, 2))
        .await
        .unwrap();

    assert_eq!(second.total, 5);
    assert_eq!((second.page, second.per_page), (2, 2));
    let ids: Vec<_> = second.items.iter().map(Post::id).collect();
    assert_eq!(ids, created[2..4]);
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].id(), created[4]);
}

#[tokio::test]
async fn the_post_list_filters_by_status() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    e.post(&user, &account, None).await;
    let scheduled = e
        .post(&user, &account, Some(e.now() + Duration::days(1)))
        .await;
    e.post(&user, &account, None).await;

    let list = e
        .posts()
        .list(
            user.id(),
            PostFilter {
                status: Some(PostStatus::Scheduled),
                ..PostFilter::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();

    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].id(), scheduled.id());
}

#[tokio::test]
async fn the_post_list_filters_by_platform() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    let instagram = e.connect(&user, Platform::Instagram, "ig").await;
    let tiktok = e.connect(&user, Platform::Tiktok, "tt").await;
    e.post(&user, &instagram, None).await;
    let on_tiktok = e.post(&user, &tiktok, None).await;

    let list = e
        .posts()
        .list(
            user.id(),
            PostFilter {
                platform: Some(Platform::Tiktok),
                ..PostFilter::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();

    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].id(), on_tiktok.id());
}

#[tokio::test]
async fn the_post_list_combines_status_and_platform_filters() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    let instagram = e.connect(&user, Platform::Instagram, "ig").await;
    let facebook = e.connect(&user, Platform::Facebook, "fb").await;
    let later = Some(e.now() + Duration::days(1));
    e.post(&user, &instagram, later).await;
    e.post(&user, &facebook, None).await;
    let wanted = e.post(&user, &facebook, later).await;

    let list = e
        .posts()
        .list(
            user.id(),
            PostFilter {
                status: Some(PostStatus::Scheduled),
                platform: Some(Platform::Facebook),
            },
            PageRequest::default(),
        )
        .await
        .unwrap();

    let ids: Vec<_> = list.items.iter().map(Post::id).collect();
    assert_eq!(ids, [wanted.id()]);
}

// ---------------------------------------------------------------------------------------------
// Isolation between users
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_users_post_is_not_found() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let (other, _) = stranger(&e).await;
    let post = e.post(&user, &account, None).await;

    let err = e.posts().get(other.id(), post.id()).await.unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn another_user_cannot_update_a_post() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let (other, _) = stranger(&e).await;
    let post = e.post(&user, &account, None).await;

    let err = e
        .posts()
        .update(
            other.id(),
            post.id(),
            PostPatch {
                content: Some("hijacked".into()),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(e.posts().get(user.id(), post.id()).await.unwrap(), post);
}

#[tokio::test]
async fn another_user_cannot_delete_a_post() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let (other, _) = stranger(&e).await;
    let post = e.post(&user, &account, None).await;

    let err = e.posts().delete(other.id(), post.id()).await.unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(e.posts().get(user.id(), post.id()).await.unwrap(), post);
}

#[tokio::test]
async fn another_user_cannot_schedule_a_post() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let (other, _) = stranger(&e).await;
    let post = e.post(&user, &account, None).await;

    let err = e
        .posts()
        .schedule(
            other.id(),
            post.id(),
            e.now() + Duration::hours(1),
            Duplicates::Refuse,
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(e.posts().get(user.id(), post.id()).await.unwrap(), post);
}

#[tokio::test]
async fn a_post_cannot_be_created_on_another_users_account() {
    let e = TestEngine::new();
    let (user, _) = merchant(&e, Platform::Instagram).await;
    let (_, others_account) = stranger(&e).await;

    let err = e
        .posts()
        .create(user.id(), create_post(&others_account, None))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn another_users_posts_are_not_listed() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let (other, others_account) = stranger(&e).await;
    e.post(&user, &account, None).await;
    let theirs = e.post(&other, &others_account, None).await;

    let list = e
        .posts()
        .list(other.id(), PostFilter::default(), PageRequest::default())
        .await
        .unwrap();

    let ids: Vec<_> = list.items.iter().map(Post::id).collect();
    assert_eq!(ids, [theirs.id()]);
    assert_eq!(list.total, 1);
}

// ---------------------------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_calendar_groups_scheduled_posts_by_utc_date() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let morning = e.post(&user, &account, Some(utc(2026, 3, 16, 9, 0))).await;
    let evening = e.post(&user, &account, Some(utc(2026, 3, 16, 21, 0))).await;
    let later = e.post(&user, &account, Some(utc(2026, 3, 18, 12, 0))).await;

    let days = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 3, 16),
            date(2026, 3, 20),
            chrono_tz::UTC,
        )
        .await
        .unwrap();

    assert_eq!(days.len(), 2);
    let on_16: Vec<_> = days[&date(2026, 3, 16)].iter().map(Post::id).collect();
    let on_18: Vec<_> = days[&date(2026, 3, 18)].iter().map(Post::id).collect();
    assert_eq!(on_16, [morning.id(), evening.id()]);
    assert_eq!(on_18, [later.id()]);
}

#[tokio::test]
async fn the_calendar_includes_both_ends_of_the_range() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let first_minute = e.post(&user, &account, Some(utc(2026, 3, 16, 0, 0))).await;
    let last_minute = e
        .post(&user, &account, Some(utc(2026, 3, 20, 23, 59)))
        .await;

    let days = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 3, 16),
            date(2026, 3, 20),
            chrono_tz::UTC,
        )
        .await
        .unwrap();

    assert_eq!(days[&date(2026, 3, 16)][0].id(), first_minute.id());
    assert_eq!(days[&date(2026, 3, 20)][0].id(), last_minute.id());
}

#[tokio::test]
async fn the_calendar_excludes_posts_outside_the_range() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    e.post(&user, &account, Some(utc(2026, 3, 15, 23, 59)))
        .await;
    let inside = e.post(&user, &account, Some(utc(2026, 3, 17, 8, 0))).await;
    e.post(&user, &account, Some(utc(2026, 3, 21, 0, 0))).await;

    let days = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 3, 16),
            date(2026, 3, 20),
            chrono_tz::UTC,
        )
        .await
        .unwrap();

    let all: Vec<_> = days.values().flatten().map(Post::id).collect();
    assert_eq!(all, [inside.id()]);
}

#[tokio::test]
async fn the_calendar_excludes_drafts() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    e.post(&user, &account, None).await;
    let unscheduled = e.post(&user, &account, Some(utc(2026, 3, 16, 9, 0))).await;
    e.posts()
        .update(
            user.id(),
            unscheduled.id(),
            PostPatch {
                scheduled_for: Some(None),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap();

    let days = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 3, 1),
            date(2026, 3, 31),
            chrono_tz::UTC,
        )
        .await
        .unwrap();

    assert!(days.is_empty(), "{days:?}");
}

#[tokio::test]
async fn the_calendar_keeps_published_posts_on_their_scheduled_date() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let posted = posted_post(&e, &user, &account).await;
    let day = posted.scheduled_for().unwrap().date_naive();

    let days = e
        .posts()
        .calendar(user.id(), day, day, chrono_tz::UTC)
        .await
        .unwrap();

    assert_eq!(days[&day][0].id(), posted.id());
    assert_eq!(days[&day][0].status(), PostStatus::Posted);
}

#[tokio::test]
async fn the_calendar_shows_only_the_callers_posts() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let (other, others_account) = stranger(&e).await;
    e.post(&user, &account, Some(utc(2026, 3, 16, 9, 0))).await;
    let theirs = e
        .post(&other, &others_account, Some(utc(2026, 3, 16, 10, 0)))
        .await;

    let days = e
        .posts()
        .calendar(
            other.id(),
            date(2026, 3, 16),
            date(2026, 3, 16),
            chrono_tz::UTC,
        )
        .await
        .unwrap();

    let all: Vec<_> = days.values().flatten().map(Post::id).collect();
    assert_eq!(all, [theirs.id()]);
}

#[tokio::test]
async fn the_calendar_uses_the_local_date_of_the_time_zone() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    // 02:00 UTC on the 16th is 22:00 EDT on the 15th in New York.
    let post = e.post(&user, &account, Some(utc(2026, 3, 16, 2, 0))).await;

    let days = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 3, 15),
            date(2026, 3, 15),
            chrono_tz::America::New_York,
        )
        .await
        .unwrap();

    let keys: Vec<_> = days.keys().copied().collect();
    assert_eq!(keys, [date(2026, 3, 15)]);
    assert_eq!(days[&date(2026, 3, 15)][0].id(), post.id());
}

#[tokio::test]
async fn the_calendar_in_a_time_zone_excludes_posts_of_the_next_local_day() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    // 05:00 UTC on the 16th is 01:00 EDT on the 16th in New York.
    e.post(&user, &account, Some(utc(2026, 3, 16, 5, 0))).await;

    let days = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 3, 15),
            date(2026, 3, 15),
            chrono_tz::America::New_York,
        )
        .await
        .unwrap();

    assert!(days.is_empty(), "{days:?}");
}

#[tokio::test]
async fn a_calendar_ending_before_it_starts_is_rejected() {
    let e = TestEngine::new();
    let (user, _) = merchant(&e, Platform::Instagram).await;

    let err = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 3, 20),
            date(2026, 3, 19),
            chrono_tz::UTC,
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn a_calendar_of_more_than_366_days_is_rejected() {
    let e = TestEngine::new();
    let (user, _) = merchant(&e, Platform::Instagram).await;

    // 2026-01-01 ..= 2027-01-02 is 367 days.
    let err = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 1, 1),
            date(2027, 1, 2),
            chrono_tz::UTC,
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn a_calendar_of_366_days_is_accepted() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Instagram).await;
    let post = e.post(&user, &account, Some(utc(2027, 1, 1, 12, 0))).await;

    // 2026-01-01 ..= 2027-01-01 is 366 days.
    let days = e
        .posts()
        .calendar(
            user.id(),
            date(2026, 1, 1),
            date(2027, 1, 1),
            chrono_tz::UTC,
        )
        .await
        .unwrap();

    assert_eq!(days[&date(2027, 1, 1)][0].id(), post.id());
}

#[tokio::test]
async fn patching_only_the_time_of_a_failed_post_reschedules_it() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let failed = failed_post(&e, &user, &account).await;
    let at = e.now() + Duration::hours(1);

    let patched = e
        .posts()
        .update(
            user.id(),
            failed.id(),
            PostPatch {
                scheduled_for: Some(Some(at)),
                content: Some("Back with a fix".into()),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(patched.status(), PostStatus::Scheduled);
    assert_eq!(patched.scheduled_for(), Some(at));
    assert_eq!(patched.content().as_ref(), "Back with a fix");
    assert_eq!(patched.error_message(), None);
}

#[tokio::test]
async fn editing_a_failed_post_without_rescheduling_it_is_refused_naming_the_edit() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let failed = failed_post(&e, &user, &account).await;

    let err = e
        .posts()
        .update(
            user.id(),
            failed.id(),
            PostPatch {
                content: Some("edited".into()),
                ..PostPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "failed" && t.to == "edited"),
        "{err:?}"
    );
}

#[tokio::test]
async fn scheduling_on_an_account_awaiting_reconnection_is_refused() {
    let e = TestEngine::new();
    let (user, account) = merchant(&e, Platform::Facebook).await;
    let draft = e.post(&user, &account, None).await;
    e.store
        .mark_needs_reconnect(user.id(), account.id(), e.now())
        .await
        .unwrap();

    let err = e
        .posts()
        .schedule(
            user.id(),
            draft.id(),
            e.now() + Duration::hours(1),
            Duplicates::Refuse,
        )
        .await
        .unwrap_err();

    assert!(is_validation(&err, "account_id"), "{err:?}");
}
