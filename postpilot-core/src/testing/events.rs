//! The outbox: storage contracts every store must keep.

use super::*;
use crate::event::delivery::{DeliveryAttempt, DeliveryOutcome};
use crate::event::{
    DeliveryStatus, EndpointHealth, EndpointUrl, EventType, NewEndpoint, WebhookEndpoint,
};
use crate::id::EndpointId;

/// An enabled endpoint of `owner` receiving `types` (empty: every type).
pub(super) async fn endpoint(
    store: &Arc<dyn Store>,
    owner: UserId,
    types: &[EventType],
) -> WebhookEndpoint {
    let endpoint = WebhookEndpoint::create(
        NewEndpoint {
            id: id(),
            user_id: owner,
            url: EndpointUrl::parse("https://hooks.example.com/in")
                .unwrap_or_else(|e| panic!("{e}")),
            description: String::new(),
            event_types: types.to_vec(),
            sealed_secret: "sealed".into(),
        },
        t0(),
    );
    ok!(store.insert_endpoint(&endpoint, 10));
    endpoint
}

async fn deliveries(
    store: &Arc<dyn Store>,
    owner: UserId,
    to: EndpointId,
) -> Vec<(EventType, DeliveryStatus)> {
    let page = PageRequest::new(Some(1), Some(100)).unwrap_or_else(|e| panic!("{e}"));
    let mut all: Vec<_> = ok!(store.list_deliveries(owner, to, None, page))
        .items
        .iter()
        .map(|d| (d.event_type(), d.status()))
        .collect();
    all.sort();
    all
}

/// `count` posts of `owner` on `account`, scheduled an hour before `t0` a second apart (each a
/// `post.scheduled` event written then, so due at `t0`).
async fn scheduled_an_hour_ago(
    store: &Arc<dyn Store>,
    owner: UserId,
    account: AccountId,
    count: i64,
) {
    for n in 0..count {
        let at = t0() - Duration::hours(1) + Duration::seconds(n);
        ok!(store.insert_post(&post(owner, account, t0(), Some(at)), quota(1_000)));
    }
}

fn failed() -> DeliveryAttempt {
    DeliveryAttempt {
        outcome: DeliveryOutcome::Failed {
            status: Some(503),
            error: "the endpoint answered 503".into(),
            retry_after: None,
        },
        response: "busy".into(),
    }
}

/// Post writes write the event of each status they enter, with one delivery per endpoint of the
/// owner that receives it, and nothing for a write that keeps the status, does not land, or
/// that no endpoint receives.
pub async fn post_writes_write_their_events_with_a_delivery_per_receiving_endpoint(
    store: Arc<dyn Store>,
) {
    let (u, acc) = seeded(&store).await;
    let every = endpoint(&store, u.id, &[]).await;
    let failures = endpoint(&store, u.id, &[EventType::PostFailed]).await;
    let mut off = endpoint(&store, u.id, &[]).await;
    let read_at = off.updated_at();
    off.disable("the owner turned it off", t0() + Duration::seconds(1));
    ok!(store.update_endpoint(&off, read_at));
    let (stranger, stranger_acc) = seeded(&store).await;

    let mut p = post(u.id, acc.id, t0(), Some(t0() + Duration::hours(1)));
    ok!(store.insert_post(&p, quota(1_000)));
    let theirs = post(
        stranger.id,
        stranger_acc.id,
        t0(),
        Some(t0() + Duration::hours(1)),
    );
    ok!(store.insert_post(&theirs, quota(1_000)));
    assert_eq!(
        deliveries(&store, u.id, every.id).await,
        vec![(EventType::PostScheduled, DeliveryStatus::Pending)]
    );
    assert!(deliveries(&store, u.id, failures.id).await.is_empty());
    assert!(deliveries(&store, u.id, off.id).await.is_empty());

    // An edit keeps the status: no event. A stale write lands nowhere: no event.
    p.edit(
        Some(Caption::parse("Edited").unwrap_or_else(|e| panic!("{e}"))),
        None,
        None,
        t0() + Duration::seconds(2),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.update_post(&p, &[PostStatus::Scheduled]));
    let mut stale = p.clone();
    stale
        .unschedule(t0() + Duration::seconds(3))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        store
            .update_post(&stale, &[PostStatus::Draft])
            .await
            .is_err()
    );
    assert_eq!(deliveries(&store, u.id, every.id).await.len(), 1);

    // Claimed, then failed for good: `post.failed` to both.
    let claimed = ok!(store.claim_due(t0() + Duration::hours(2), 10, Duration::seconds(30), "w"));
    let mut gone = claimed
        .into_iter()
        .map(|c| c.post)
        .find(|c| c.id() == p.id())
        .unwrap_or_else(|| panic!("claimed"));
    gone.fail_attempt("the platform refused the video", t0() + Duration::hours(2))
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.commit_claim(&gone));
    assert_eq!(
        deliveries(&store, u.id, every.id).await,
        vec![
            (EventType::PostScheduled, DeliveryStatus::Pending),
            (EventType::PostFailed, DeliveryStatus::Pending)
        ]
    );
    assert_eq!(
        deliveries(&store, u.id, failures.id).await,
        vec![(EventType::PostFailed, DeliveryStatus::Pending)]
    );
    // The stranger's endpoints (none) and the stranger's deliveries list of ours: nothing.
    assert!(deliveries(&store, stranger.id, every.id).await.is_empty());
}

/// A delivery is claimed by one worker at a time, comes back when its claim lapses (the same
/// event, a new token), is settled only under the claim that holds it, and settling applies
/// what the attempt says about its endpoint; a disabled endpoint's deliveries wait.
pub async fn deliveries_are_claimed_once_fenced_and_claimed_again_after_their_lease(
    store: Arc<dyn Store>,
) {
    let (u, acc) = seeded(&store).await;
    let to = endpoint(&store, u.id, &[EventType::PostScheduled]).await;
    let p = post(u.id, acc.id, t0(), Some(t0() + Duration::seconds(5)));
    ok!(store.insert_post(&p, quota(1_000)));
    let lease = Duration::seconds(60);
    let now = t0() + Duration::seconds(10);
    let first = ok!(store.claim_deliveries(now, 10, lease));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].endpoint.id(), to.id);
    assert_eq!(first[0].event.kind, EventType::PostScheduled);
    assert!(first[0].event.body.contains(&p.id().to_string()));
    assert!(
        ok!(store.claim_deliveries(now, 10, lease)).is_empty(),
        "claimed"
    );

    let second = ok!(store.claim_deliveries(now + lease, 10, lease));
    assert_eq!(second.len(), 1, "the claim lapsed");
    assert_eq!(second[0].event.id, first[0].event.id, "the same event id");
    assert_eq!(second[0].delivery.id(), first[0].delivery.id());

    let at = now + lease + Duration::seconds(1);
    let mut late = first[0].delivery.clone();
    late.record(&failed(), at, 0.0);
    let health = EndpointHealth::of(&failed().outcome, at);
    assert!(matches!(
        store.settle_delivery(&late, health, at).await,
        Err(StoreError::Stale)
    ));
    let mut settled = second[0].delivery.clone();
    settled.record(&failed(), at, 0.0);
    assert!(!ok!(store.settle_delivery(&settled, health, at)));
    assert!(
        matches!(
            store.settle_delivery(&settled, health, at).await,
            Err(StoreError::Stale)
        ),
        "settled once"
    );
    let stored = ok!(store.delivery(u.id, settled.id())).unwrap_or_else(|| panic!("delivery"));
    assert_eq!(
        (
            stored.status(),
            stored.attempts(),
            stored.response_status(),
            stored.response()
        ),
        (DeliveryStatus::Pending, 1, Some(503), Some("busy"))
    );
    assert_eq!(stored.next_attempt_at(), Some(at + Duration::seconds(5)));
    assert_eq!(stored.error(), Some("the endpoint answered 503"));
    let failing = ok!(store.endpoint(u.id, to.id)).unwrap_or_else(|| panic!("endpoint"));
    assert_eq!(
        (failing.failing_since(), failing.updated_at()),
        (Some(at), at)
    );

    // Not due before its retry time; due at it, unless its endpoint is disabled.
    assert!(ok!(store.claim_deliveries(at + Duration::seconds(4), 10, lease)).is_empty());
    let mut off = failing.clone();
    off.disable("paused", at + Duration::seconds(1));
    ok!(store.update_endpoint(&off, at));
    assert!(ok!(store.claim_deliveries(at + Duration::seconds(6), 10, lease)).is_empty());
    let read_at = off.updated_at();
    off.enable(at + Duration::seconds(2));
    ok!(store.update_endpoint(&off, read_at));
    let back = ok!(store.claim_deliveries(at + Duration::seconds(6), 10, lease));
    assert_eq!(back.len(), 1);

    // Enabling cleared the failure: the next failure starts it again, and only a failure five
    // days after the stored start disables — judged on the endpoint as stored, not as claimed.
    let day1 = at + Duration::days(1);
    let mut next = back[0].delivery.clone();
    next.record(&failed(), day1, 0.0);
    let failing = EndpointHealth::of(&failed().outcome, day1);
    assert!(!ok!(store.settle_delivery(&next, failing, day1)));
    let again = ok!(store.claim_deliveries(day1 + Duration::days(5), 10, lease));
    let mut last = again[0].delivery.clone();
    let day6 = day1 + Duration::days(5);
    last.record(&failed(), day6, 0.0);
    let disabled =
        ok!(store.settle_delivery(&last, EndpointHealth::of(&failed().outcome, day6), day6));
    assert!(disabled);
    let off = ok!(store.endpoint(u.id, to.id)).unwrap_or_else(|| panic!("endpoint"));
    assert_eq!(
        (
            off.disabled_at(),
            off.disabled_reason(),
            off.failing_since()
        ),
        (Some(day6), Some(crate::event::FAILING_REASON), Some(day1))
    );
}

/// Many workers claiming at once claim each delivery once.
pub async fn concurrent_delivery_claims_take_each_delivery_once(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    endpoint(&store, u.id, &[]).await;
    scheduled_an_hour_ago(&store, u.id, acc.id, 20).await;
    let now = t0() + Duration::seconds(1);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_deliveries(now, 5, Duration::seconds(60)).await })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        for claim in task
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"))
        {
            assert!(seen.insert(claim.delivery.id()), "claimed twice");
        }
    }
    assert_eq!(seen.len(), 20);
}

/// The delivery log lists an endpoint's deliveries newest first, filtered by status, for its
/// owner only; a settled delivery may be re-sent once, a pending one not.
pub async fn the_delivery_log_lists_dead_letters_and_resends_them(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let to = endpoint(&store, u.id, &[]).await;
    for n in 0..3 {
        let p = post(
            u.id,
            acc.id,
            t0() + Duration::seconds(n),
            Some(t0() - Duration::hours(1) + Duration::seconds(n)),
        );
        ok!(store.insert_post(&p, quota(1_000)));
    }
    let now = t0() + Duration::minutes(1);
    let claimed = ok!(store.claim_deliveries(now, 1, Duration::seconds(60)));
    let mut dead = claimed[0].delivery.clone();
    let gone = DeliveryAttempt {
        outcome: DeliveryOutcome::Gone,
        response: String::new(),
    };
    dead.record(&gone, now, 0.0);
    ok!(store.settle_delivery(&dead, EndpointHealth::Answering, now));

    let page = |n| PageRequest::new(Some(1), Some(n)).unwrap_or_else(|e| panic!("{e}"));
    let all = ok!(store.list_deliveries(u.id, to.id, None, page(2)));
    assert_eq!((all.total, all.items.len()), (3, 2));
    assert!(
        all.items[0].created_at() >= all.items[1].created_at(),
        "newest first"
    );
    let letters = ok!(store.list_deliveries(u.id, to.id, Some(DeliveryStatus::Dead), page(10)));
    let ids: Vec<_> = letters.items.iter().map(|d| d.id()).collect();
    assert_eq!((ids, letters.total), (vec![dead.id()], 1));
    let (stranger, _) = seeded(&store).await;
    assert_eq!(
        ok!(store.list_deliveries(stranger.id, to.id, None, page(10))).total,
        0
    );
    assert_eq!(ok!(store.delivery(stranger.id, dead.id())), None);

    let mut again = letters.items[0].clone();
    again.resend(now);
    ok!(store.resend_delivery(&again));
    assert!(
        matches!(store.resend_delivery(&again).await, Err(StoreError::Stale)),
        "pending now"
    );
    let back = ok!(store.delivery(u.id, dead.id())).unwrap_or_else(|| panic!("delivery"));
    assert_eq!(
        (back.status(), back.attempts()),
        (DeliveryStatus::Pending, 0)
    );
    let reclaimed = ok!(store.claim_deliveries(now, 10, Duration::seconds(60)));
    assert!(reclaimed.iter().any(|c| c.delivery.id() == dead.id()));

    // Deleting the endpoint deletes its deliveries.
    assert!(ok!(store.delete_endpoint(u.id, to.id)));
    assert_eq!(ok!(store.delivery(u.id, dead.id())), None);
}

/// Accounts, queue items and plan limits write their events: `account.connected` on every
/// connection, `account.needs_reconnect` once per connection, `queue.item.generated` for each
/// item written, and `plan.limit_near` (80 %) and `plan.limit_reached` once each as a limit's
/// count crosses them — never for a write that is refused.
pub async fn account_queue_and_plan_writes_write_their_events(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let to = endpoint(&store, u.id, &[]).await;
    let accounts = Limit::AtMost(3);
    let second = ok!(store.connect_account(&account(u.id, "second"), accounts));
    ok!(store.connect_account(&account(u.id, "third"), accounts));
    assert!(matches!(
        store
            .connect_account(&account(u.id, "fourth"), accounts)
            .await,
        Err(StoreError::LimitReached)
    ));
    ok!(store.mark_needs_reconnect(u.id, second.id, t0()));
    ok!(store.mark_needs_reconnect(u.id, second.id, t0() + Duration::seconds(1)));
    ok!(store.insert_queue_item(&queue_item(u.id)));
    let month = quota(5);
    for n in 0..6 {
        let p = post(u.id, acc.id, t0() + Duration::seconds(n), None);
        let inserted = store.insert_post(&p, month).await;
        assert_eq!(inserted.is_ok(), n < 5, "{n}: {inserted:?}");
    }
    let mut kinds: Vec<EventType> = deliveries(&store, u.id, to.id)
        .await
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            EventType::AccountConnected,
            EventType::AccountConnected,
            EventType::AccountNeedsReconnect,
            EventType::QueueItemGenerated,
            // Accounts: 2 of 3 is not yet 80 %; 3 of 3 is both. Posts: 4 of 5, then 5 of 5.
            EventType::PlanLimitNear,
            EventType::PlanLimitNear,
            EventType::PlanLimitReached,
            EventType::PlanLimitReached,
        ]
    );
}

/// The operator's endpoint receives every merchant's events, in the operator's own log: a
/// merchant never lists or reads those deliveries, and a merchant's endpoint still receives only
/// that merchant's.
pub async fn the_operators_endpoint_receives_every_merchants_events_in_its_own_log(
    store: Arc<dyn Store>,
) {
    use crate::event::{OPERATOR, OPERATOR_ENDPOINT};
    let operator = WebhookEndpoint::create(
        NewEndpoint {
            id: OPERATOR_ENDPOINT,
            user_id: OPERATOR,
            url: EndpointUrl::parse("https://platform.example.com/hooks")
                .unwrap_or_else(|e| panic!("{e}")),
            description: String::new(),
            event_types: vec![EventType::PostScheduled],
            sealed_secret: "sealed".into(),
        },
        t0(),
    );
    ok!(store.insert_endpoint(&operator, 1));
    let (a, a_acc) = seeded(&store).await;
    let (b, b_acc) = seeded(&store).await;
    let own = endpoint(&store, a.id, &[]).await;
    for (owner, account) in [(a.id, a_acc.id), (b.id, b_acc.id)] {
        let p = post(owner, account, t0(), Some(t0() + Duration::hours(1)));
        ok!(store.insert_post(&p, quota(1_000)));
    }

    let page = PageRequest::new(Some(1), Some(10)).unwrap_or_else(|e| panic!("{e}"));
    let log = ok!(store.list_deliveries(OPERATOR, OPERATOR_ENDPOINT, None, page));
    assert_eq!(log.total, 2, "both merchants' events");
    assert!(log.items.iter().all(|d| d.user_id() == OPERATOR));
    assert_eq!(deliveries(&store, a.id, own.id).await.len(), 1);
    assert_eq!(
        ok!(store.list_deliveries(a.id, OPERATOR_ENDPOINT, None, page)).total,
        0
    );
    assert_eq!(ok!(store.delivery(a.id, log.items[0].id())), None);
    assert!(
        ok!(store.list_endpoints(a.id))
            .iter()
            .all(|e| e.id() != OPERATOR_ENDPOINT)
    );
    let claimed = ok!(store.claim_deliveries(t0() + Duration::hours(2), 10, Duration::seconds(60)));
    let to_operator = claimed
        .iter()
        .filter(|c| c.endpoint.id() == OPERATOR_ENDPOINT)
        .count();
    assert_eq!((claimed.len(), to_operator), (3, 2));
}

/// Purging the log deletes the events written before a moment that have nothing pending, with
/// their deliveries, oldest first and at most as many as asked; a pending one stays.
pub async fn old_settled_events_are_purged_with_their_deliveries_and_pending_ones_kept(
    store: Arc<dyn Store>,
) {
    let (u, acc) = seeded(&store).await;
    let to = endpoint(&store, u.id, &[]).await;
    scheduled_an_hour_ago(&store, u.id, acc.id, 3).await;
    // Two of the three settle (delivered); the third stays pending.
    let now = t0() + Duration::minutes(1);
    for claim in ok!(store.claim_deliveries(now, 2, Duration::seconds(60))) {
        let mut done = claim.delivery.clone();
        let answered = DeliveryAttempt {
            outcome: DeliveryOutcome::Delivered { status: 204 },
            response: String::new(),
        };
        done.record(&answered, now, 0.0);
        ok!(store.settle_delivery(&done, EndpointHealth::Answering, now));
    }
    let later = t0() + Duration::days(31);

    assert_eq!(
        ok!(store.purge_events(t0() - Duration::days(1), 10)),
        0,
        "none that old"
    );
    assert_eq!(
        ok!(store.purge_events(later, 1)),
        1,
        "at most as many as asked"
    );
    assert_eq!(ok!(store.purge_events(later, 10)), 1);
    assert_eq!(ok!(store.purge_events(later, 10)), 0);
    assert_eq!(
        deliveries(&store, u.id, to.id).await,
        vec![(EventType::PostScheduled, DeliveryStatus::Pending)]
    );
}
