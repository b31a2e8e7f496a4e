//! Publishing caps: scheduling refuses a post that would break an account's cap in its 24 hours,
//! naming the window and the next free time, and the worker never sends a post past a cap.

use postpilot_core::post::Duplicates;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use postpilot_core::Error;
use postpilot_core::account::SocialAccount;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CapFull, PostPatch, PostStatus, PublishingCaps};
use postpilot_core::publish::DispatcherConfig;
use postpilot_core::queue::{ApproveItem, CreateQueueItem, Placement};
use postpilot_core::store::{AttemptStore, MemoryStore, PostStore};
use postpilot_core::user::User;

use crate::test_engine::{self, TestEngine, t0};

/// An engine whose TikTok cap is `per_day` posts in 24 hours, on `store` when given.
fn engine(per_day: u32, store: Option<Arc<MemoryStore>>) -> TestEngine {
    let mut e = TestEngine::with_ports(|builder| {
        let builder = builder.publishing_caps(PublishingCaps {
            tiktok_daily: per_day,
        });
        match &store {
            Some(store) => builder.store(store.clone()),
            None => builder,
        }
    });
    if let Some(store) = store {
        e.store = store;
    }
    e
}

async fn tiktok_merchant(e: &TestEngine) -> (User, SocialAccount) {
    let u = e.pro_user("merchant@example.com").await;
    let tiktok = e.connect(&u, Platform::Tiktok, "tt").await;
    (u, tiktok)
}

fn cap_full(result: Result<impl std::fmt::Debug, Error>) -> CapFull {
    match result {
        Err(Error::PublishingCapFull(full)) => *full,
        other => panic!("expected a full publishing cap, got {other:?}"),
    }
}

/// A slot at each of `times` on every day of the week.
fn every_day_at(times: &[&str]) -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .flat_map(|day| times.iter().map(move |t| format!("{day} {t}")))
        .collect()
}

fn hours(n: i64) -> DateTime<Utc> {
    t0() + Duration::hours(n)
}

#[tokio::test]
async fn scheduling_past_the_cap_is_refused_with_the_window_and_the_next_free_time() {
    let e = engine(2, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.post(&u, &tiktok, Some(hours(1))).await;
    e.post(&u, &tiktok, Some(hours(2))).await;

    let refused = e
        .posts()
        .create(u.id(), test_engine::create_post(&tiktok, Some(hours(3))))
        .await;

    assert_eq!(
        cap_full(refused),
        CapFull {
            platform: Platform::Tiktok,
            cap: 2,
            window_start: hours(3) - Duration::hours(24),
            window_end: hours(3),
            // The post at 1 h leaves the window a day later.
            next_free_at: Some(hours(25)),
        }
    );
    let stored = e
        .store
        .posts_between(u.id(), t0(), hours(48))
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "nothing is stored for a refused post");
}

#[tokio::test]
async fn the_next_free_time_takes_the_post() {
    let e = engine(2, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.post(&u, &tiktok, Some(hours(1))).await;
    e.post(&u, &tiktok, Some(hours(2))).await;
    let refused = e
        .posts()
        .create(u.id(), test_engine::create_post(&tiktok, Some(hours(3))))
        .await;
    let next = cap_full(refused).next_free_at.unwrap();

    let post = e.post(&u, &tiktok, Some(next)).await;

    assert_eq!(post.scheduled_for(), Some(hours(25)));
}

#[tokio::test]
async fn a_post_earlier_than_a_full_window_is_refused_too() {
    // The posts at 10 h and 20 h fill the window ending at 20 h, which a post at 0 h 30 joins:
    // TikTok would count it when it publishes the post at 20 h.
    let e = engine(2, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.post(&u, &tiktok, Some(hours(10))).await;
    e.post(&u, &tiktok, Some(hours(20))).await;

    let full = cap_full(
        e.posts()
            .create(
                u.id(),
                test_engine::create_post(&tiktok, Some(t0() + Duration::minutes(30))),
            )
            .await,
    );

    assert_eq!(full.window_end, hours(20));
    assert_eq!(full.next_free_at, Some(hours(34)));
}

#[tokio::test]
async fn moving_a_post_within_a_full_window_does_not_count_it_twice() {
    let e = engine(2, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.post(&u, &tiktok, Some(hours(1))).await;
    let second = e.post(&u, &tiktok, Some(hours(2))).await;

    let moved = e
        .posts()
        .schedule(u.id(), second.id(), hours(3), Duplicates::Refuse)
        .await;
    let patched = e
        .posts()
        .update(
            u.id(),
            second.id(),
            PostPatch {
                scheduled_for: Some(Some(hours(4))),
                ..PostPatch::default()
            },
        )
        .await;

    assert_eq!(moved.unwrap().scheduled_for(), Some(hours(3)));
    assert_eq!(patched.unwrap().scheduled_for(), Some(hours(4)));
}

#[tokio::test]
async fn scheduling_a_draft_into_a_full_window_is_refused_and_leaves_it_a_draft() {
    let e = engine(1, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.post(&u, &tiktok, Some(hours(1))).await;
    let draft = e.post(&u, &tiktok, None).await;

    let refused = e
        .posts()
        .schedule(u.id(), draft.id(), hours(5), Duplicates::Refuse)
        .await;

    assert_eq!(cap_full(refused).next_free_at, Some(hours(25)));
    let stored = e.posts().get(u.id(), draft.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Draft);
}

#[tokio::test]
async fn approving_into_a_full_window_creates_no_post() {
    let e = engine(1, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.post(&u, &tiktok, Some(hours(1))).await;
    let item = e
        .queue()
        .create(
            u.id(),
            CreateQueueItem {
                platform_captions: Default::default(),
                product_data: test_engine::product("Aurora Desk Lamp"),
                platforms: vec![Platform::Tiktok],
                content: Some("The Aurora Desk Lamp is back".into()),
                hashtags: Vec::new(),
            },
        )
        .await
        .unwrap();

    let refused = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![tiktok.id()],
                placement: Placement::At(hours(2)),
            },
        )
        .await;

    assert_eq!(cap_full(refused).window_end, hours(2));
    let stored = e
        .store
        .posts_between(u.id(), t0(), hours(48))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
}

#[tokio::test]
async fn an_uncapped_platform_takes_any_number_of_posts() {
    let e = engine(1, None);
    let u = e.pro_user("merchant@example.com").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;

    for minute in 1..=5 {
        e.post(&u, &facebook, Some(t0() + Duration::minutes(minute)))
            .await;
    }

    let stored = e.store.posts_between(u.id(), t0(), hours(1)).await.unwrap();
    assert_eq!(stored.len(), 5);
}

#[tokio::test]
async fn the_worker_holds_a_post_past_the_cap_until_the_window_has_room_without_calling_the_platform()
 {
    // Three posts were scheduled while the cap was 3; it is 2 now (an operator lowered it, or
    // two requests raced for the last place): the worker sends two and holds the third.
    let store = Arc::new(MemoryStore::new());
    let before = engine(3, Some(store.clone()));
    let (u, tiktok) = tiktok_merchant(&before).await;
    for minute in 1..=3 {
        before
            .post(&u, &tiktok, Some(t0() + Duration::minutes(minute)))
            .await;
    }
    let e = engine(2, Some(store));
    e.advance(Duration::minutes(5));

    let report = e
        .dispatcher("worker-1", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    assert_eq!((report.claimed, report.posted), (3, 2));
    assert_eq!(e.tiktok.calls().len(), 2, "the held post was not sent");
    let posts = e.store.posts_between(u.id(), t0(), hours(1)).await.unwrap();
    let held = posts
        .iter()
        .find(|p| p.status() == PostStatus::Scheduled)
        .unwrap();
    assert_eq!(
        held.next_attempt_at(),
        Some(e.now() + Duration::hours(24)),
        "due again when the first post of the window leaves it"
    );
    assert_eq!(held.attempts(), 0, "a hold is not a failed attempt");
    let message = held.error_message().unwrap();
    assert!(message.contains("at most 2 posts"), "{message}");
    assert!(
        e.store
            .attempts(u.id(), held.id())
            .await
            .unwrap()
            .is_empty()
    );

    e.advance(Duration::hours(24));
    let report = e
        .dispatcher("worker-1", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.posted, 1);
    assert_eq!(e.tiktok.calls().len(), 3);
}

#[tokio::test]
async fn a_rescued_post_its_lookup_did_not_find_waits_for_a_full_cap_too() {
    let store = Arc::new(MemoryStore::new());
    let before = engine(3, Some(store.clone()));
    let (u, tiktok) = tiktok_merchant(&before).await;
    before
        .post(&u, &tiktok, Some(t0() + Duration::minutes(1)))
        .await;
    let second = before
        .post(&u, &tiktok, Some(t0() + Duration::minutes(2)))
        .await;
    let e = engine(1, Some(store.clone()));
    e.advance(Duration::minutes(1));
    assert_eq!(e.tick().await.posted, 1);
    e.advance(Duration::minutes(1));
    // A worker claims the second post and dies before calling TikTok.
    let claimed = store
        .claim_due(e.now(), 10, Duration::seconds(60), "gone")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    e.advance(Duration::minutes(2));

    e.tick().await;

    let held = e.posts().get(u.id(), second.id()).await.unwrap();
    assert_eq!(held.status(), PostStatus::Scheduled);
    assert!(
        held.error_message().unwrap().contains("at most 1 posts"),
        "{:?}",
        held.error_message()
    );
    assert_eq!(e.tiktok.calls().len(), 1, "only the first post was sent");
}

#[tokio::test]
async fn a_cap_of_zero_holds_a_due_post_a_day_instead_of_sending_it() {
    let store = Arc::new(MemoryStore::new());
    let before = engine(3, Some(store.clone()));
    let (u, tiktok) = tiktok_merchant(&before).await;
    let post = before
        .post(&u, &tiktok, Some(t0() + Duration::minutes(1)))
        .await;
    let e = engine(0, Some(store));
    e.advance(Duration::minutes(1));

    e.tick().await;

    let held = e.posts().get(u.id(), post.id()).await.unwrap();
    assert_eq!(held.status(), PostStatus::Scheduled);
    assert_eq!(held.next_attempt_at(), Some(e.now() + Duration::hours(24)));
    assert!(e.tiktok.calls().is_empty());
}

#[tokio::test]
async fn a_post_sent_back_its_own_time_keeps_its_place_in_a_window_a_lowered_cap_over_fills() {
    let store = Arc::new(MemoryStore::new());
    let before = engine(2, Some(store.clone()));
    let (u, tiktok) = tiktok_merchant(&before).await;
    before.post(&u, &tiktok, Some(hours(1))).await;
    let second = before.post(&u, &tiktok, Some(hours(2))).await;
    let e = engine(1, Some(store));

    let kept = e
        .posts()
        .schedule(u.id(), second.id(), hours(2), Duplicates::Refuse)
        .await;
    let moved = e
        .posts()
        .schedule(u.id(), second.id(), hours(3), Duplicates::Refuse)
        .await;

    assert_eq!(kept.unwrap().scheduled_for(), Some(hours(2)));
    assert_eq!(cap_full(moved).next_free_at, Some(hours(25)));
}

#[tokio::test]
async fn the_next_free_slot_skips_slots_in_a_full_cap_window() {
    let e = engine(2, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.schedules()
        .set(
            u.id(),
            tiktok.id(),
            Some("UTC"),
            &every_day_at(&["03:00", "09:00", "15:00", "21:00"]),
        )
        .await
        .unwrap();
    let mut times = Vec::new();
    for _ in 0..3 {
        let draft = e.post(&u, &tiktok, None).await;
        let placed = e
            .posts()
            .queue(u.id(), draft.id(), Duplicates::Refuse)
            .await
            .unwrap();
        times.push(placed.scheduled_for().unwrap());
    }

    assert_eq!(
        times[1] - times[0],
        Duration::hours(6),
        "the cap has room for two"
    );
    assert_eq!(
        times[2],
        times[0] + Duration::hours(24),
        "the third waits for the first to leave the 24 hours"
    );
}

#[tokio::test]
async fn an_import_keeps_to_the_cap_with_its_own_rows_counted() {
    use postpilot_core::import::{ImportFormat, ImportKind, ImportMode, ImportRequest};
    let e = engine(2, None);
    let (u, tiktok) = tiktok_merchant(&e).await;
    e.schedules()
        .set(
            u.id(),
            tiktok.id(),
            Some("UTC"),
            &every_day_at(&["08:00", "12:00", "16:00"]),
        )
        .await
        .unwrap();
    let at = hours(30).to_rfc3339();
    let file = format!(
        "account,caption,media,time\n\
         @tt,One,https://cdn.example.com/a.mp4,{at}\n\
         @tt,Two,https://cdn.example.com/a.mp4,{at}\n\
         @tt,Three,https://cdn.example.com/a.mp4,{at}\n\
         @tt,Four,https://cdn.example.com/a.mp4,next\n\
         @tt,Five,https://cdn.example.com/a.mp4,next\n\
         @tt,Six,https://cdn.example.com/a.mp4,next\n"
    );

    let import = e
        .imports()
        .run(
            u.id(),
            ImportRequest {
                kind: ImportKind::Posts,
                format: ImportFormat::Csv,
                mode: ImportMode::Partial,
                data: file.into_bytes(),
            },
        )
        .await
        .unwrap();

    assert_eq!(import.errors().len(), 1, "{:?}", import.errors());
    assert_eq!(
        (import.errors()[0].row, import.errors()[0].field.as_str()),
        (3, "time")
    );
    let mut times: Vec<_> = e
        .posts_of(&u)
        .await
        .iter()
        .filter_map(|p| p.scheduled_for())
        .collect();
    times.sort_unstable();
    assert_eq!(times.len(), 5);
    // No 24 hours (left-open, right-closed) hold more than two of them.
    for (i, start) in times.iter().enumerate() {
        let inside = times[i..]
            .iter()
            .filter(|t| **t < *start + Duration::hours(24))
            .count();
        assert!(inside <= 2, "{times:?}");
    }
}
