//! Webhook endpoints: storage contracts every store must keep.

use super::*;
use crate::event::{EndpointUrl, EventType, NewEndpoint, WebhookEndpoint};
use crate::id::EndpointId;

/// An endpoint of `owner`, created at `t0` plus `n` seconds.
fn endpoint(owner: UserId, n: u32) -> WebhookEndpoint {
    let url = EndpointUrl::parse(format!("https://hooks.example.com/in/{n}"));
    WebhookEndpoint::create(
        NewEndpoint {
            id: id(),
            user_id: owner,
            url: url.unwrap_or_else(|e| panic!("{e}")),
            description: format!("endpoint {n}"),
            event_types: vec![EventType::PostPublished, EventType::PostFailed],
            sealed_secret: format!("sealed-{n}"),
        },
        t0() + Duration::seconds(i64::from(n)),
    )
}

/// Endpoints: every field round-trips, lists are the owner's oldest first, a change is written
/// only over the state it was made from, changes and deletes reach only the owner's rows.
pub async fn endpoints_round_trip_and_are_isolated_by_owner(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    let first = endpoint(a.id, 1);
    let second = endpoint(a.id, 2);
    let theirs = endpoint(b.id, 3);
    for e in [&second, &first, &theirs] {
        ok!(store.insert_endpoint(e, 10));
    }
    assert!(matches!(
        store.insert_endpoint(&first, 10).await,
        Err(StoreError::Conflict(Conflict::DuplicateId))
    ));
    assert_eq!(ok!(store.endpoint(a.id, first.id)), Some(first.clone()));
    assert_eq!(ok!(store.endpoint(b.id, first.id)), None);
    assert_eq!(
        ok!(store.list_endpoints(a.id)),
        vec![first.clone(), second.clone()]
    );

    let mut changed = first.clone();
    let later = t0() + Duration::hours(1);
    changed.edit(
        Some(
            EndpointUrl::parse("https://other.example.com/hook").unwrap_or_else(|e| panic!("{e}")),
        ),
        Some(String::new()),
        Some(Vec::new()),
        later,
    );
    changed.rotate("sealed-new".into(), later);
    changed.disable("answered 410 Gone", later);
    ok!(store.update_endpoint(&changed, first.updated_at));
    assert_eq!(ok!(store.endpoint(a.id, first.id)), Some(changed.clone()));
    // A write from the state before that change is refused: it would undo it.
    let mut late = first.clone();
    late.enable(later + Duration::seconds(1));
    assert!(matches!(
        store.update_endpoint(&late, first.updated_at).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(ok!(store.endpoint(a.id, first.id)), Some(changed.clone()));
    let mut hijack = theirs.clone();
    hijack.user_id = a.id;
    assert!(matches!(
        store.update_endpoint(&hijack, theirs.updated_at).await,
        Err(StoreError::NotFound)
    ));

    assert!(!ok!(store.delete_endpoint(a.id, theirs.id)));
    assert!(ok!(store.delete_endpoint(a.id, first.id)));
    assert!(!ok!(store.delete_endpoint(a.id, first.id)));
    assert_eq!(ok!(store.list_endpoints(a.id)), vec![second]);
    assert_eq!(ok!(store.list_endpoints(b.id)), vec![theirs]);
    let gone: EndpointId = first.id;
    assert!(matches!(
        store.update_endpoint(&changed, changed.updated_at).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(ok!(store.endpoint(a.id, gone)), None);
}

/// Endpoints: an owner holds at most the limit, even when requests race for the last place.
pub async fn endpoints_are_capped_per_owner_even_concurrently(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    for n in 0..4 {
        ok!(store.insert_endpoint(&endpoint(a.id, n), 5));
    }
    let created = racing_inserts(10..30, |n| {
        let store = store.clone();
        let e = endpoint(a.id, n);
        async move { store.insert_endpoint(&e, 5).await }
    })
    .await;
    assert_eq!(created, 1, "one place was left");
    ok!(store.insert_endpoint(&endpoint(b.id, 0), 5));
    let oldest = ok!(store.list_endpoints(a.id))[0].id;
    assert!(ok!(store.delete_endpoint(a.id, oldest)));
    ok!(store.insert_endpoint(&endpoint(a.id, 99), 5));
}
