//! API keys: storage contracts every store must keep.

use super::*;

/// API keys: found by hash only while active; revocation and listing are per owner.
pub async fn api_keys_lookup_revoke_and_isolate(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    let key = ApiKey {
        id: id(),
        user_id: a.id,
        name: ApiKeyName::parse("ci").unwrap_or_else(|e| panic!("{e}")),
        prefix: "po_live_abcd".into(),
        key_hash: format!("{:064x}", a.id.as_uuid().as_u128()),
        scopes: vec![Scope::PostsRead],
        is_active: true,
        last_used_at: None,
        created_at: t0(),
    };
    ok!(store.insert_api_key(&key, 25));
    let mut twin = key.clone();
    twin.id = id();
    assert!(matches!(
        store.insert_api_key(&twin, 25).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        ok!(store.api_key_by_hash(&key.key_hash)).map(|k| k.id),
        Some(key.id)
    );
    ok!(store.touch_api_key(key.id, t0() + Duration::minutes(1)));
    let listed = ok!(store.list_api_keys(a.id, PageRequest::default()));
    assert_eq!(
        listed.items[0].last_used_at,
        Some(t0() + Duration::minutes(1))
    );
    assert_eq!(listed.items[0].scopes, vec![Scope::PostsRead]);
    assert_eq!(
        ok!(store.list_api_keys(b.id, PageRequest::default())).total,
        0
    );
    assert!(!ok!(store.revoke_api_key(b.id, key.id)));
    assert!(ok!(store.api_key_by_hash(&key.key_hash)).is_some());
    assert!(ok!(store.revoke_api_key(a.id, key.id)));
    assert!(ok!(store.api_key_by_hash(&key.key_hash)).is_none());
}

/// An active key of `owner`, its hash made from `n`.
pub(super) fn api_key(owner: UserId, n: u32) -> ApiKey {
    ApiKey {
        id: id(),
        user_id: owner,
        name: ApiKeyName::parse("ci").unwrap_or_else(|e| panic!("{e}")),
        prefix: "po_live_abcd".into(),
        key_hash: format!("{:056x}{n:08x}", owner.as_uuid().as_u128()),
        scopes: vec![Scope::PostsRead],
        is_active: true,
        last_used_at: None,
        created_at: t0(),
    }
}

/// API keys: at most `max_active` active keys per owner, even under concurrent creates; a
/// revoked key frees its place; other owners are not counted.
pub async fn api_keys_are_capped_per_owner_even_concurrently(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    for n in 0..4 {
        ok!(store.insert_api_key(&api_key(a.id, n), 5));
    }
    let created = racing_inserts(10..30, |n| {
        let store = store.clone();
        let key = api_key(a.id, n);
        async move { store.insert_api_key(&key, 5).await }
    })
    .await;
    assert_eq!(created, 1, "one place was left");
    assert!(matches!(
        store.insert_api_key(&api_key(a.id, 99), 5).await,
        Err(StoreError::LimitReached)
    ));
    ok!(store.insert_api_key(&api_key(b.id, 0), 5));
    let first = ok!(store.list_api_keys(a.id, PageRequest::default())).items[0].id;
    assert!(ok!(store.revoke_api_key(a.id, first)));
    ok!(store.insert_api_key(&api_key(a.id, 98), 5));
}
