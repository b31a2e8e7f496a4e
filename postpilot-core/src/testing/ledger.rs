//! The publication ledger, and absent ids: storage contracts every store must keep.

use super::*;

/// The ledger: attempts are kept in order and read per owner.
pub async fn attempts_are_kept_per_post_and_owner(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let p = post(u.id, acc.id, t0(), None);
    ok!(store.insert_post(&p, quota(100)));
    for (n, outcome) in [AttemptOutcome::Retry, AttemptOutcome::Posted]
        .into_iter()
        .enumerate()
    {
        let n = u32::try_from(n).unwrap_or_default();
        ok!(store.record_attempt(&PublicationAttempt {
            id: AttemptId::from(Uuid::new_v4()),
            post_id: p.id(),
            user_id: u.id,
            attempt: n + 1,
            worker: "w".into(),
            lease_token: i64::from(n) + 1,
            started_at: t0() + Duration::seconds(i64::from(n)),
            finished_at: t0() + Duration::seconds(i64::from(n)),
            outcome,
            remote_id: None,
            error: None,
        }));
    }
    let attempts = ok!(store.attempts(u.id, p.id()));
    assert_eq!(
        attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(),
        vec![AttemptOutcome::Retry, AttemptOutcome::Posted]
    );
    assert!(ok!(store.attempts(other.id, p.id())).is_empty());
    ok!(store.ping());
}

/// Unknown ids are absent, never errors.
pub async fn unknown_ids_read_as_absent(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    assert!(ok!(store.post(u.id, id())).is_none());
    assert!(ok!(store.account(u.id, id())).is_none());
    assert!(ok!(store.queue_item(u.id, QueueItemId::from(Uuid::new_v4()))).is_none());
    assert!(ok!(store.subscription(u.id)).is_none());
    assert!(!ok!(store.revoke_api_key(u.id, id())));
}
