//! Contracts of posting-schedule slots: a slot holds one post of an account, and concurrent
//! requests for an account's next free slot each get their own.

use super::*;

fn quota() -> PostQuota {
    PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::Unlimited,
    }
}

/// A draft of `owner` on `account` put on the slot at `at` (scheduled from `t0`).
fn on_slot(owner: UserId, account: AccountId, at: DateTime<Utc>) -> Post {
    let mut p = post(owner, account, t0(), None);
    p.schedule_on_slot(at, t0())
        .unwrap_or_else(|e| panic!("{e}"));
    p
}

/// Two posts of an account put on a slot never hold the same instant — by insert, by update
/// or by approval — while a post given that time by the merchant, a post of another account,
/// and a post whose holder has left the slot may take it.
pub async fn a_slot_holds_one_post_of_an_account(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let other_acc = ok!(store.connect_account(
        &account(u.id, &format!("second-{}", u.id.as_uuid().simple())),
        Limit::Unlimited
    ));
    let at = t0() + Duration::hours(3);
    let holder = on_slot(u.id, acc.id, at);
    ok!(store.insert_post(&holder, quota()));

    let second = on_slot(u.id, acc.id, at);
    assert!(
        matches!(
            store.insert_post(&second, quota()).await,
            Err(StoreError::Conflict(Conflict::SlotTaken))
        ),
        "a second post on the slot is refused"
    );
    assert!(ok!(store.post(u.id, second.id)).is_none(), "and not stored");

    let by_hand = post(u.id, acc.id, t0(), Some(at));
    ok!(store.insert_post(&by_hand, quota()));
    let elsewhere = on_slot(u.id, other_acc.id, at);
    ok!(store.insert_post(&elsewhere, quota()));

    let mut moved = by_hand.clone();
    moved
        .schedule_on_slot(at, t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(
            store.update_post(&moved, &[PostStatus::Scheduled]).await,
            Err(StoreError::Conflict(Conflict::SlotTaken))
        ),
        "an update onto a held slot is refused"
    );
    assert!(
        !ok!(store.post(u.id, by_hand.id))
            .unwrap_or_else(|| panic!("kept"))
            .on_slot(),
        "and changes nothing"
    );

    let mut item = queue_item(u.id);
    ok!(store.insert_queue_item(&item));
    item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
    let mut from_item = on_slot(u.id, acc.id, at);
    from_item.queue_item_id = Some(item.id);
    assert!(
        matches!(
            store.approve_queue_item(&item, &[from_item], quota()).await,
            Err(StoreError::Conflict(Conflict::SlotTaken))
        ),
        "an approval onto a held slot is refused"
    );
    assert_eq!(
        ok!(store.queue_item(u.id, item.id))
            .unwrap_or_else(|| panic!("kept"))
            .status,
        QueueStatus::Pending,
        "and stores nothing"
    );

    let mut left = holder.clone();
    left.unschedule(t0()).unwrap_or_else(|e| panic!("{e}"));
    ok!(store.update_post(&left, &[PostStatus::Scheduled]));
    ok!(store.update_post(&moved, &[PostStatus::Scheduled]));
    assert!(
        ok!(store.post(u.id, moved.id))
            .unwrap_or_else(|| panic!("kept"))
            .on_slot(),
        "a slot its holder left is free"
    );
}

/// Fifty concurrent "next free slot" requests for one account get fifty different slots: the
/// first fifty of the schedule after now, each on a slot and in the future.
pub async fn concurrent_next_slot_requests_get_distinct_slots(store: Arc<dyn Store>) {
    let (engine, _clock, _publisher, u, acc) = scheduler_fixture(store.clone()).await;
    let schedule = engine
        .schedules()
        .set(
            u.id,
            acc.id,
            Some("Europe/Berlin"),
            &[
                "mon 09:00",
                "tue 12:30",
                "wed 18:00",
                "thu 09:00",
                "sat 02:30",
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut drafts = Vec::new();
    for _ in 0..50 {
        let draft = post(u.id, acc.id, t0(), None);
        ok!(store.insert_post(&draft, quota()));
        drafts.push(draft.id);
    }
    let requests: Vec<_> = drafts
        .iter()
        .map(|&draft| {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .posts()
                    // The drafts share a caption: the guard would keep all but one in 24 hours.
                    .queue(u.id, draft, crate::post::Duplicates::Allow)
                    .await
            })
        })
        .collect();
    let mut times = Vec::new();
    for request in requests {
        let placed = request
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(placed.on_slot());
        times.push(
            placed
                .scheduled_for()
                .unwrap_or_else(|| panic!("scheduled")),
        );
    }
    times.sort_unstable();
    let expected: Vec<_> = schedule.slots().occurrences(t0()).take(50).collect();
    assert_eq!(times, expected, "the first fifty slots, each once");
    assert!(
        times
            .iter()
            .all(|at| *at > t0() && schedule.slots().holds(*at))
    );
}
