//! Refresh tokens: storage contracts every store must keep.

use super::*;

fn refresh_token(user: UserId, family: crate::id::TokenFamilyId, hash: &str) -> RefreshToken {
    RefreshToken {
        id: id(),
        user_id: user,
        family_id: family,
        token_hash: hash.to_owned(),
        created_at: t0(),
        expires_at: t0() + Duration::days(7),
        used_at: None,
        revoked_at: None,
    }
}

fn successor(hash: &str) -> Successor {
    Successor {
        id: id(),
        token_hash: hash.to_owned(),
        expires_at: t0() + Duration::days(7),
    }
}

/// Refresh tokens: rotation stores the successor in the family; a reused token revokes the whole
/// family, successors included; expiry and logout are enforced.
pub async fn refresh_tokens_rotate_with_reuse_detection(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let family = id();
    let salt = u.id.as_uuid().simple().to_string();
    let first = refresh_token(u.id, family, &format!("h1{salt}"));
    ok!(store.insert_refresh_token(&first));
    assert_eq!(
        ok!(store.refresh_token(&first.token_hash)),
        Some(first.clone())
    );
    assert_eq!(ok!(store.refresh_token(&format!("nope{salt}"))), None);
    let second = match ok!(store.rotate_refresh_token(
        &first.token_hash,
        &successor(&format!("h2{salt}")),
        t0()
    )) {
        RefreshUse::Fresh(next) => next,
        other => panic!("expected a fresh rotation, got {other:?}"),
    };
    assert_eq!((second.user_id, second.family_id), (u.id, family));
    let read = ok!(store.refresh_token(&first.token_hash)).unwrap_or_else(|| panic!("gone"));
    assert!(read.used_at.is_some(), "a rotated token reads back used");
    assert_eq!(
        ok!(store.rotate_refresh_token(&first.token_hash, &successor(&format!("h3{salt}")), t0())),
        RefreshUse::Reused { family_id: family }
    );
    assert_eq!(
        ok!(store.rotate_refresh_token(&second.token_hash, &successor(&format!("h4{salt}")), t0())),
        RefreshUse::Invalid,
        "the successor died with its family"
    );
    let lone = refresh_token(u.id, id(), &format!("h5{salt}"));
    ok!(store.insert_refresh_token(&lone));
    assert_eq!(
        ok!(store.rotate_refresh_token(
            &lone.token_hash,
            &successor(&format!("h6{salt}")),
            t0() + Duration::days(8)
        )),
        RefreshUse::Invalid
    );
    assert_eq!(
        ok!(store.rotate_refresh_token("unknown", &successor(&format!("h7{salt}")), t0())),
        RefreshUse::Invalid
    );
    let logout = refresh_token(u.id, id(), &format!("h8{salt}"));
    ok!(store.insert_refresh_token(&logout));
    ok!(store.revoke_token_family(logout.family_id, t0()));
    assert_eq!(
        ok!(store.rotate_refresh_token(&logout.token_hash, &successor(&format!("h9{salt}")), t0())),
        RefreshUse::Invalid
    );
    let everywhere = refresh_token(u.id, id(), &format!("ha{salt}"));
    ok!(store.insert_refresh_token(&everywhere));
    ok!(store.revoke_user_refresh_tokens(u.id, t0()));
    assert_eq!(
        ok!(store.rotate_refresh_token(
            &everywhere.token_hash,
            &successor(&format!("hb{salt}")),
            t0()
        )),
        RefreshUse::Invalid
    );
}

/// Refresh tokens: ten concurrent rotations of one token → exactly one is fresh.
pub async fn concurrent_refreshes_succeed_once(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let token = refresh_token(u.id, id(), &format!("c{}", u.id.as_uuid().simple()));
    ok!(store.insert_refresh_token(&token));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let hash = token.token_hash.clone();
            let next = successor(&format!("{hash}-{i}"));
            tokio::spawn(async move { store.rotate_refresh_token(&hash, &next, t0()).await })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        if matches!(
            t.await.unwrap_or_else(|e| panic!("{e}")),
            Ok(RefreshUse::Fresh(_))
        ) {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

/// Logout revokes the family of one of the owner's tokens, and nobody else's.
pub async fn logout_revokes_the_family_of_the_owners_token_only(store: Arc<dyn Store>) {
    let a = user();
    let b = user();
    ok!(store.insert_user(&a));
    ok!(store.insert_user(&b));
    let family = id();
    let first = refresh_token(a.id, family, &format!("l1{}", a.id.as_uuid().simple()));
    let other_session = refresh_token(a.id, id(), &format!("l2{}", a.id.as_uuid().simple()));
    ok!(store.insert_refresh_token(&first));
    ok!(store.insert_refresh_token(&other_session));
    assert!(
        !ok!(store.revoke_family_of(b.id, &first.token_hash, t0())),
        "not b's token"
    );
    let next = successor(&format!("l3{}", a.id.as_uuid().simple()));
    assert!(matches!(
        ok!(store.rotate_refresh_token(&first.token_hash, &next, t0())),
        RefreshUse::Fresh(_)
    ));
    assert!(ok!(store.revoke_family_of(a.id, &first.token_hash, t0())));
    let after = successor(&format!("l4{}", a.id.as_uuid().simple()));
    assert!(
        matches!(
            ok!(store.rotate_refresh_token(&next.token_hash, &after, t0())),
            RefreshUse::Invalid | RefreshUse::Reused { .. }
        ),
        "the successor died with its family"
    );
    let kept = successor(&format!("l5{}", a.id.as_uuid().simple()));
    assert!(
        matches!(
            ok!(store.rotate_refresh_token(&other_session.token_hash, &kept, t0())),
            RefreshUse::Fresh(_)
        ),
        "the other session lives"
    );
}
