//! Webhook event claims: storage contracts every store must keep.

use super::*;

/// Webhook events: claimed once, in progress while the claim lives, done once finished; a
/// released or lapsed claim is claimable again; sources are separate.
pub async fn webhook_events_are_claimed_once_and_finished(store: Arc<dyn Store>) {
    use crate::store::WebhookClaim::{Claimed, Done, InProgress};
    let event = format!("evt_{}", Uuid::new_v4().simple());
    let lease = t0() + Duration::seconds(60);
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, t0(), lease)),
        Claimed
    );
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, t0(), lease)),
        InProgress
    );
    assert_eq!(
        ok!(store.claim_webhook_event("platform", &event, t0(), lease)),
        Claimed
    );
    // A failed application gives the claim up: the retry claims it at once.
    ok!(store.release_webhook_event("platform", &event));
    assert_eq!(
        ok!(store.claim_webhook_event("platform", &event, t0(), lease)),
        Claimed
    );
    // A holder that died: the claim lapses, and the next delivery takes it over.
    let later = lease + Duration::seconds(1);
    let second_lease = later + Duration::seconds(60);
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, later, second_lease)),
        Claimed
    );
    ok!(store.finish_webhook_event("stripe", &event, later));
    ok!(store.release_webhook_event("stripe", &event));
    let much_later = later + Duration::days(30);
    assert_eq!(
        ok!(store.claim_webhook_event("stripe", &event, much_later, much_later)),
        Done
    );
}

/// Twenty concurrent deliveries of one event: exactly one claims it.
pub async fn concurrent_deliveries_of_an_event_claim_it_once(store: Arc<dyn Store>) {
    let event = format!("evt_{}", Uuid::new_v4().simple());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let event = event.clone();
            tokio::spawn(async move {
                store
                    .claim_webhook_event("stripe", &event, t0(), t0() + Duration::seconds(60))
                    .await
            })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(crate::store::WebhookClaim::Claimed) => claimed += 1,
            Ok(crate::store::WebhookClaim::InProgress) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}
