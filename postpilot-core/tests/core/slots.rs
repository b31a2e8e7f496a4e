//! The next free slot, over random zones, dates and slot sets: every time the queue gives is a
//! valid future instant on a slot, no two are the same, none is a time a post already has, and
//! they are the schedule's first free slots in order.

use postpilot_core::post::Duplicates;
use std::collections::BTreeSet;

use chrono::Duration;
use postpilot_core::platform::Platform;
use proptest::prelude::*;

use crate::test_engine::TestEngine;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn slot() -> impl Strategy<Value = String> {
    (0..7usize, 0..24u32, 0..60u32).prop_map(|(d, h, m)| format!("{} {h:02}:{m:02}", DAYS[d]))
}

async fn run(
    zone: &'static str,
    start_minutes: i64,
    slots: Vec<String>,
    taken: Vec<usize>,
    queued: usize,
) -> Result<(), TestCaseError> {
    let e = TestEngine::new();
    e.advance(Duration::minutes(start_minutes));
    let u = e.pro_user("slots@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let schedule = e
        .schedules()
        .set(u.id(), account.id(), Some(zone), &slots)
        .await
        .unwrap();
    let upcoming: Vec<_> = schedule
        .slots()
        .occurrences(e.now())
        .filter(|at| *at > e.now())
        .take(taken.iter().max().map_or(0, |m| m + 1) + queued)
        .collect();
    let mut by_hand = BTreeSet::new();
    for &i in &taken {
        if by_hand.insert(upcoming[i]) {
            e.post(&u, &account, Some(upcoming[i])).await;
        }
    }
    let mut given = Vec::new();
    for _ in 0..queued {
        let draft = e.post(&u, &account, None).await;
        let placed = e
            .posts()
            .queue(u.id(), draft.id(), Duplicates::Refuse)
            .await;
        let placed = placed.map_err(|err| TestCaseError::fail(err.to_string()))?;
        given.push(placed.scheduled_for().unwrap());
    }

    for at in &given {
        prop_assert!(*at > e.now(), "{at} is not in the future");
        prop_assert!(schedule.slots().holds(*at), "{at} is not on a slot");
        prop_assert!(!by_hand.contains(at), "{at} already had a post");
    }
    let unique: BTreeSet<_> = given.iter().collect();
    prop_assert_eq!(unique.len(), given.len(), "a slot was given twice");
    let free: Vec<_> = upcoming
        .iter()
        .filter(|at| !by_hand.contains(at))
        .take(queued)
        .copied()
        .collect();
    prop_assert_eq!(given, free, "not the first free slots in order");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn queued_posts_get_the_first_free_future_slots_each_once(
        zone in 0..chrono_tz::TZ_VARIANTS.len(),
        start_minutes in 0..(3 * 366 * 24 * 60i64),
        slots in proptest::collection::vec(slot(), 1..8),
        taken in proptest::collection::vec(0..10usize, 0..4),
        queued in 1..10usize,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let zone = chrono_tz::TZ_VARIANTS[zone].name();
        runtime.block_on(run(zone, start_minutes, slots, taken, queued))?;
    }
}

#[tokio::test]
async fn a_failed_posts_slot_is_free_again_and_it_is_not_listed_off_slot() {
    use postpilot_core::post::PostStatus;
    use postpilot_core::store::PostStore;

    let e = TestEngine::new();
    let u = e.pro_user("failed-slot@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let schedule = e
        .schedules()
        .set(
            u.id(),
            account.id(),
            Some("UTC"),
            &["mon 09:00", "thu 09:00"],
        )
        .await
        .unwrap();
    let first_slot = schedule.slots().occurrences(e.now()).next().unwrap();
    let draft = e.post(&u, &account, None).await;
    let mut failed = e
        .posts()
        .queue(u.id(), draft.id(), Duplicates::Refuse)
        .await
        .unwrap();
    assert_eq!(failed.scheduled_for(), Some(first_slot));
    // The account lost its authorization: the post failed before its time.
    failed
        .fail("the account was disconnected", e.now())
        .unwrap();
    e.store
        .update_post(&failed, &[PostStatus::Scheduled])
        .await
        .unwrap();

    let next = e.post(&u, &account, None).await;
    let placed = e
        .posts()
        .queue(u.id(), next.id(), Duplicates::Refuse)
        .await
        .unwrap();
    e.schedules()
        .set(u.id(), account.id(), Some("UTC"), &["tue 10:00"])
        .await
        .unwrap();
    let listing = e
        .schedules()
        .slots(u.id(), account.id(), e.now(), e.now() + Duration::days(14))
        .await
        .unwrap();

    assert_eq!(
        placed.scheduled_for(),
        Some(first_slot),
        "the failed post's slot"
    );
    assert_eq!(
        listing.off_slot,
        vec![placed.id()],
        "the failed post cannot move back"
    );
}
