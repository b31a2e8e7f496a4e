//! Contracts of idempotency keys: one run per key, its response replayed, another request
//! under the key refused, lapsed runs and expired records let go.

use super::*;
use crate::idempotency::{
    Begun, IDEMPOTENCY_TTL, IN_FLIGHT_LEASE, IdempotencyKey, IdempotencyRecord, RequestFingerprint,
    StoredResponse,
};

fn record(owner: UserId, key: &str, body: &[u8], now: DateTime<Utc>) -> IdempotencyRecord {
    IdempotencyRecord {
        owner,
        key: IdempotencyKey::parse(key).unwrap_or_else(|e| panic!("{e}")),
        fingerprint: RequestFingerprint::of(&[b"POST", b"/api/v1/posts", body]),
        attempt: Uuid::new_v4(),
        held_until: now + IN_FLIGHT_LEASE,
        response: None,
        expires_at: now + IDEMPOTENCY_TTL,
    }
}

fn created() -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("location".into(), "/api/v1/posts/1".into()),
        ],
        body: br#"{"id":"1"}"#.to_vec(),
    }
}

fn runs(begun: &Begun) -> bool {
    matches!(begun, Begun::Run(_))
}

/// A key runs one request at a time, replays its response to the same request, refuses another
/// request, is its owner's alone, and is let go when its run lapses or its day ends.
pub async fn idempotency_keys_run_once_replay_and_expire(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let now = t0();
    let first = record(u.id, "order-1", b"{}", now);
    let Begun::Run(hold) = ok!(store.begin_request(&first, now)) else {
        panic!("a fresh key runs");
    };
    assert_eq!(hold.attempt, first.attempt);

    let again = record(u.id, "order-1", b"{}", now);
    assert_eq!(ok!(store.begin_request(&again, now)), Begun::InFlight);
    let changed = record(u.id, "order-1", b"{\"a\":1}", now);
    assert_eq!(ok!(store.begin_request(&changed, now)), Begun::Mismatch);
    assert!(
        runs(&ok!(store.begin_request(
            &record(other.id, "order-1", b"{}", now),
            now
        ))),
        "another owner's key of the same name is another key"
    );

    assert!(matches!(
        store
            .finish_request(u.id, &first.key, Uuid::new_v4(), &created())
            .await,
        Err(StoreError::Stale)
    ));
    ok!(store.finish_request(u.id, &first.key, first.attempt, &created()));
    let later = now + Duration::hours(23);
    assert_eq!(
        ok!(store.begin_request(&record(u.id, "order-1", b"{}", later), later)),
        Begun::Replay(created())
    );
    assert_eq!(
        ok!(store.begin_request(&record(u.id, "order-1", b"{\"a\":1}", later), later)),
        Begun::Mismatch
    );

    let crashed = record(u.id, "order-2", b"{}", now);
    assert!(runs(&ok!(store.begin_request(&crashed, now))));
    let lapsed = now + IN_FLIGHT_LEASE + Duration::seconds(1);
    let retry = record(u.id, "order-2", b"{}", lapsed);
    assert!(
        runs(&ok!(store.begin_request(&retry, lapsed))),
        "a run that lapsed unfinished lets the key go"
    );
    assert!(matches!(
        store
            .finish_request(u.id, &crashed.key, crashed.attempt, &created())
            .await,
        Err(StoreError::Stale)
    ));

    let failed = record(u.id, "order-3", b"{}", now);
    assert!(runs(&ok!(store.begin_request(&failed, now))));
    ok!(store.release_request(u.id, &failed.key, failed.attempt));
    assert!(
        runs(&ok!(
            store.begin_request(&record(u.id, "order-3", b"{}", now), now)
        )),
        "a released key runs again"
    );

    let day_after = now + IDEMPOTENCY_TTL + Duration::seconds(1);
    assert_eq!(ok!(store.purge_requests(now)), 0, "nothing expired yet");
    assert_eq!(
        ok!(store.purge_requests(day_after)),
        3,
        "both order-1 keys and order-3; order-2's retry began later"
    );
    assert!(
        runs(&ok!(store.begin_request(
            &record(u.id, "order-1", b"{\"a\":1}", day_after),
            day_after
        ))),
        "after its day a key is new"
    );
}

/// Of twenty concurrent requests under one key, exactly one runs.
pub async fn concurrent_requests_under_one_key_run_once(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    let tries: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mine = record(u.id, "burst", b"{}", t0());
                store.begin_request(&mine, t0()).await
            })
        })
        .collect();
    let mut ran = 0;
    for t in tries {
        match t
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"))
        {
            Begun::Run(_) => ran += 1,
            Begun::InFlight => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ran, 1);
}
