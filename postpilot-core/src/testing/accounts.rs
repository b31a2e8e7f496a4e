//! Social accounts: storage contracts every store must keep.

use super::*;

/// Accounts: the limit counts connected accounts only; reconnecting reactivates the same record.
pub async fn connect_respects_the_limit_and_reconnect_reactivates(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let first = ok!(store.connect_account(&account(u.id, "a1"), Limit::AtMost(1)));
    assert!(matches!(
        store
            .connect_account(&account(u.id, "a2"), Limit::AtMost(1))
            .await,
        Err(StoreError::LimitReached)
    ));
    // Connecting the already-connected account again does not count twice.
    let again = ok!(store.connect_account(&account(u.id, "a1"), Limit::AtMost(1)));
    assert_eq!(again.id, first.id);
    let gone =
        ok!(store.disconnect_account(u.id, first.id)).unwrap_or_else(|| panic!("disconnected"));
    assert!(
        matches!(
            store
                .set_account_tokens(u.id, first.id, sealed("late", None), None)
                .await,
            Err(StoreError::Stale)
        ),
        "a disconnect's erasure is never undone"
    );
    assert!(
        !gone.is_connected && gone.access_token_enc.is_none() && gone.refresh_token_enc.is_none()
    );
    assert_eq!(ok!(store.count_connected_accounts(u.id)), 0);
    let second = ok!(store.connect_account(&account(u.id, "a2"), Limit::AtMost(1)));
    assert_ne!(second.id, first.id);
    ok!(store.disconnect_account(u.id, second.id));
    let back = ok!(store.connect_account(&account(u.id, "a1"), Limit::AtMost(1)));
    assert_eq!(back.id, first.id, "reconnect reuses the record");
    assert!(back.is_connected);
    assert_eq!(
        ok!(store.list_accounts(u.id, PageRequest::default())).total,
        2
    );
}

/// Accounts: no call reaches another owner's account.
pub async fn accounts_are_isolated_by_owner(store: Arc<dyn Store>) {
    let (a, acc) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    assert!(ok!(store.account(b.id, acc.id)).is_none());
    assert!(ok!(store.disconnect_account(b.id, acc.id)).is_none());
    assert!(matches!(
        store
            .set_account_tokens(b.id, acc.id, SealedTokens::default(), None)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.mark_needs_reconnect(b.id, acc.id, t0()).await,
        Err(StoreError::NotFound)
    ));
    let listed = ok!(store.list_accounts(b.id, PageRequest::default()));
    assert!(listed.items.iter().all(|x| x.user_id == b.id));
    assert!(ok!(store.account(a.id, acc.id)).is_some_and(|x| x.is_connected));
}

/// Accounts: 20 concurrent connects at 0/1 → exactly one succeeds.
pub async fn concurrent_connects_never_exceed_the_limit(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let acc = account(u.id, &format!("c{i}"));
            tokio::spawn(async move { store.connect_account(&acc, Limit::AtMost(1)).await })
        })
        .collect();
    let mut ok_count = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(_) => ok_count += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok_count, 1);
    assert_eq!(ok!(store.count_connected_accounts(u.id)), 1);
}

/// Accounts: a downgrade disconnects the most recently connected beyond the limit.
pub async fn disconnect_beyond_keeps_the_oldest(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut acc = account(u.id, &format!("d{i}"));
        acc.connected_at = Some(t0() + Duration::minutes(i));
        ids.push(ok!(store.connect_account(&acc, Limit::Unlimited)).id);
    }
    let dropped = ok!(store.disconnect_accounts_beyond(u.id, 1));
    assert_eq!(dropped.len(), 2);
    assert!(!dropped.contains(&ids[0]));
    assert_eq!(ok!(store.count_connected_accounts(u.id)), 1);
}

/// Accounts: an account marked as needing reconnection says so, and its posts are listed by
/// status, its own only; the statuses of an item's posts are its own only.
pub async fn needs_reconnect_is_recorded_and_posts_are_listed_by_account_and_item(
    store: Arc<dyn Store>,
) {
    let (u, acc) = seeded(&store).await;
    let other = ok!(store.connect_account(&account(u.id, "other"), Limit::Unlimited));
    let scheduled = post(u.id, acc.id, t0(), Some(t0() + Duration::hours(1)));
    let draft = post(u.id, acc.id, t0(), None);
    let elsewhere = post(u.id, other.id, t0(), Some(t0() + Duration::hours(1)));
    for p in [&scheduled, &draft, &elsewhere] {
        ok!(store.insert_post(p, quota(100)));
    }
    ok!(store.mark_needs_reconnect(u.id, acc.id, t0()));
    assert!(ok!(store.account(u.id, acc.id)).is_some_and(|a| a.needs_reconnect));
    assert!(ok!(store.account(u.id, other.id)).is_some_and(|a| !a.needs_reconnect));
    let ids = |posts: Vec<Post>| posts.iter().map(Post::id).collect::<Vec<_>>();
    assert_eq!(
        ids(ok!(store.posts_of_account(
            u.id,
            acc.id,
            PostStatus::Scheduled
        ))),
        vec![scheduled.id()]
    );
    assert_eq!(
        ids(ok!(store.posts_of_account(u.id, acc.id, PostStatus::Draft))),
        vec![draft.id()]
    );
    let (stranger, _) = seeded(&store).await;
    assert!(ok!(store.posts_of_account(stranger.id, acc.id, PostStatus::Scheduled)).is_empty());

    let mut item = queue_item(u.id);
    ok!(store.insert_queue_item(&item));
    item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
    let made: Vec<Post> = (0..2)
        .map(|_| {
            let mut p = post(u.id, acc.id, t0(), None);
            p.queue_item_id = Some(item.id);
            p
        })
        .collect();
    ok!(store.approve_queue_item(&item, &made, quota(100)));
    assert_eq!(
        ok!(store.post_statuses_of_item(u.id, item.id)),
        vec![PostStatus::Draft, PostStatus::Draft]
    );
    assert!(ok!(store.post_statuses_of_item(stranger.id, item.id)).is_empty());
}

/// Accounts, through the dispatcher: a post refused for expired authorisation flags its account
/// and is held, not failed; the account's other scheduled posts are untouched, and reconnecting
/// the account makes the held post due at once.
pub async fn needs_reconnect_holds_posts_until_the_account_is_reconnected(store: Arc<dyn Store>) {
    use crate::publish::{DispatcherConfig, PublishError};
    let (engine, _clock, publisher, u, acc) = scheduler_fixture(store.clone()).await;
    let due = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1)));
    let scheduled = post(u.id, acc.id, t0(), Some(t0() + Duration::hours(1)));
    for p in [&due, &scheduled] {
        ok!(store.insert_post(p, quota(100)));
    }
    publisher.fail_next(PublishError::AuthExpired);
    let worker = engine
        .dispatcher("w", DispatcherConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));

    let tick = worker.run_once().await.unwrap_or_else(|e| panic!("{e}"));

    assert_eq!((tick.snoozed, tick.failed, tick.errors), (1, 0, 0));
    let stored = |id| {
        let store = store.clone();
        async move { ok!(store.post(u.id, id)).unwrap_or_else(|| panic!("post")) }
    };
    let held = stored(due.id()).await;
    assert_eq!(held.status(), PostStatus::Scheduled);
    assert!(held.held_for_reconnect, "marked, and the mark stored");
    assert!(held.next_attempt_at().is_some_and(|at| at > t0()));
    assert!(
        held.error_message()
            .is_some_and(|m| m.contains("Reconnect"))
    );
    let untouched = stored(scheduled.id()).await;
    assert_eq!(
        (untouched.status(), untouched.error_message()),
        (PostStatus::Scheduled, None)
    );
    assert!(ok!(store.account(u.id, acc.id)).is_some_and(|a| a.needs_reconnect));

    let again = engine
        .accounts()
        .connect(
            u.id,
            crate::account::ConnectAccount {
                platform: acc.platform,
                account_name: acc.account_name.clone(),
                account_id_external: acc.account_id_external.clone(),
                access_token: None,
                refresh_token: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(again.id(), acc.id);
    let resumed = stored(due.id()).await;
    assert_eq!(
        resumed.due_at(),
        due.scheduled_for(),
        "due at its own time again: at once"
    );
    assert_eq!(resumed.error_message(), None);
    assert!(
        !resumed.held_for_reconnect,
        "the mark is cleared with the hold"
    );
    assert!(ok!(store.account(u.id, acc.id)).is_some_and(|a| !a.needs_reconnect));
}

/// Accounts: the token refresh lease is held by one worker at a time until it ends; another
/// owner's id is unknown.
pub async fn token_refresh_leases_are_exclusive_until_they_end(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let until = t0() + Duration::minutes(1);

    assert!(ok!(store.lease_token_refresh(u.id, acc.id, t0(), until)));
    assert!(
        !ok!(store.lease_token_refresh(u.id, acc.id, t0() + Duration::seconds(59), until)),
        "held until it ends"
    );
    assert!(ok!(store.lease_token_refresh(
        u.id,
        acc.id,
        until,
        until + Duration::minutes(1)
    )));
    assert!(matches!(
        store
            .lease_token_refresh(other.id, acc.id, t0(), until)
            .await,
        Err(StoreError::NotFound)
    ));
}

fn sealed(access: &str, expires_at: Option<DateTime<Utc>>) -> SealedTokens {
    SealedTokens {
        access: Some(access.into()),
        refresh: None,
        expires_at,
    }
}

/// Accounts: tokens are replaced only where the sealed access token is still the one a refresh
/// started from, so of two refreshes of one token only the first is kept.
pub async fn token_replacement_is_compare_and_set_on_the_access_token(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let expiry = t0() + Duration::days(60);
    ok!(store.set_account_tokens(u.id, acc.id, sealed("v1", Some(expiry)), None));

    ok!(store.set_account_tokens(
        u.id,
        acc.id,
        sealed("v2", Some(expiry + Duration::days(1))),
        Some("v1".into())
    ));
    let late = store
        .set_account_tokens(u.id, acc.id, sealed("v2-other", None), Some("v1".into()))
        .await;

    assert!(matches!(late, Err(StoreError::Stale)), "{late:?}");
    let stored = ok!(store.account(u.id, acc.id)).unwrap_or_else(|| panic!("account"));
    assert_eq!(
        stored.sealed_tokens(),
        sealed("v2", Some(expiry + Duration::days(1)))
    );
}

/// Accounts: the refresh queue is the connected accounts, awaiting no reconnection, whose token
/// expires before the horizon, soonest first; a disconnect takes an account out of it.
pub async fn accounts_expiring_before_a_horizon_are_listed_soonest_first(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    let mut ids = Vec::new();
    for (name, days) in [("late", 20), ("soon", 2), ("sooner", 1), ("never", -1)] {
        let a = ok!(store.connect_account(&account(u.id, name), Limit::AtMost(100)));
        let expires = (days >= 0).then(|| t0() + Duration::days(days));
        ok!(store.set_account_tokens(u.id, a.id, sealed(name, expires), None));
        ids.push(a.id);
    }
    let flagged = ok!(store.connect_account(&account(u.id, "flagged"), Limit::AtMost(100)));
    ok!(store.set_account_tokens(u.id, flagged.id, sealed("f", Some(t0())), None));
    ok!(store.mark_needs_reconnect(u.id, flagged.id, t0()));

    let due = ok!(store.accounts_expiring_before(t0() + Duration::days(7), 10));
    ok!(store.disconnect_account(u.id, ids[2]));
    let after = ok!(store.accounts_expiring_before(t0() + Duration::days(7), 10));

    assert_eq!(
        due.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    assert_eq!(after.iter().map(|a| a.id).collect::<Vec<_>>(), vec![ids[1]]);
    assert_eq!(
        ok!(store.accounts_expiring_before(t0() + Duration::days(7), 1)).len(),
        1
    );
}

/// Publishing caps: an account's posts take their place in its cap by publication time once
/// posted and by due time (retry time, else scheduled time; a parked publication's next poll)
/// while scheduled or publishing — drafts and failed posts none; posted and parked ones are
/// marked started — within `(from, to]`, oldest first, bounded, scoped by owner and account;
/// the cap a platform reported is kept per account, for its owner only.
pub async fn account_slots_place_posts_by_publication_or_due_time(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (stranger, _) = seeded(&store).await;
    let other = ok!(store.connect_account(&account(u.id, "other"), Limit::Unlimited));
    let h = |n: i64| t0() + Duration::hours(n);
    let published = post(u.id, acc.id, t0(), Some(h(-3)));
    let retried = post(u.id, acc.id, t0(), Some(h(-2)));
    let parked = post(u.id, acc.id, t0(), Some(h(-1)));
    let later = post(u.id, acc.id, t0(), Some(h(5)));
    let draft = post(u.id, acc.id, t0(), None);
    let elsewhere = post(u.id, other.id, t0(), Some(h(4)));
    for p in [&published, &retried, &parked, &later, &draft, &elsewhere] {
        ok!(store.insert_post(p, quota(100)));
    }
    for claim in ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w1")) {
        let mut p = claim.post;
        let outcome = if p.id() == published.id() {
            p.mark_posted(
                Published {
                    remote_id: "r1".into(),
                    url: None,
                },
                h(-1),
            )
        } else if p.id() == parked.id() {
            let container = Checkpoint::new(serde_json::json!({ "container": "c1" }));
            p.park(container, h(2), t0())
        } else {
            p.retry_at(h(3), "502 Bad Gateway", t0())
        };
        outcome.unwrap_or_else(|e| panic!("{e}"));
        ok!(store.commit_claim(&p));
    }
    let slot = |post: &Post, at, started| PostSlot {
        post: post.id(),
        at,
        started,
    };

    assert_eq!(
        ok!(store.account_slots(u.id, acc.id, h(-24), h(24), 100)),
        vec![
            slot(&published, h(-1), true),
            slot(&parked, h(2), true),
            slot(&retried, h(3), false),
            slot(&later, h(5), false),
        ]
    );
    assert_eq!(
        ok!(store.account_slots(u.id, acc.id, h(3), h(5), 100)),
        vec![slot(&later, h(5), false)],
        "the window is open at its start and closed at its end"
    );
    assert_eq!(
        ok!(store.account_slots(u.id, acc.id, h(-24), h(24), 1)),
        vec![slot(&published, h(-1), true)],
        "at most `limit`, oldest first"
    );
    assert!(ok!(store.account_slots(stranger.id, acc.id, h(-24), h(24), 100)).is_empty());

    ok!(store.set_publishing_cap(u.id, acc.id, 50, t0()));
    let stored = ok!(store.account(u.id, acc.id)).unwrap_or_else(|| panic!("stored"));
    assert_eq!(
        (stored.publishing_cap, stored.publishing_cap_read_at),
        (Some(50), Some(t0()))
    );
    assert!(matches!(
        store.set_publishing_cap(stranger.id, acc.id, 1, t0()).await,
        Err(StoreError::NotFound)
    ));
    let reconnected = ok!(store.connect_account(&stored, Limit::Unlimited));
    assert_eq!(
        (
            reconnected.publishing_cap,
            reconnected.publishing_cap_read_at
        ),
        (None, None),
        "a reconnected account's cap is read again"
    );
}

/// Posting schedules: one per account, replaced whole, read back as written (zone and slots),
/// written only for the account's owner and read only by them.
pub async fn schedules_are_per_account_replaced_whole_and_owned(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, other_acc) = seeded(&store).await;
    let schedule = |owner: UserId, account: AccountId, zone: &str, slots: &[&str]| {
        PostingSchedule::from(PostingScheduleRecord {
            id: account,
            user_id: owner,
            slots: WeeklySlots::parse(zone, slots).unwrap_or_else(|e| panic!("{e}")),
            updated_at: t0(),
        })
    };
    assert!(
        ok!(store.schedule(u.id, acc.id)).is_none(),
        "none until set"
    );
    let first = schedule(u.id, acc.id, "Europe/Paris", &["fri 18:00", "mon 09:00"]);
    ok!(store.put_schedule(&first));
    assert_eq!(ok!(store.schedule(u.id, acc.id)), Some(first));
    let second = schedule(u.id, acc.id, "Asia/Kolkata", &["tue 10:30"]);
    ok!(store.put_schedule(&second));
    assert_eq!(ok!(store.schedule(u.id, acc.id)), Some(second.clone()));
    assert!(matches!(
        store
            .put_schedule(&schedule(other.id, acc.id, "UTC", &["sun 12:00"]))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(ok!(store.schedule(other.id, acc.id)).is_none());
    assert!(ok!(store.schedule(u.id, other_acc.id)).is_none());
    assert_eq!(
        ok!(store.schedule(u.id, acc.id)),
        Some(second),
        "another owner's write changed nothing"
    );
}
