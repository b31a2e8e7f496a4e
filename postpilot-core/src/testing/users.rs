//! Users and sessions: storage contracts every store must keep.

use super::*;

/// Users: insert, look up by id, e-mail and platform id; duplicate e-mail is a conflict.
pub async fn users_are_unique_by_email_and_found_every_way(store: Arc<dyn Store>) {
    let mut u = user();
    u.external_platform_id = Some(Uuid::new_v4());
    ok!(store.insert_user(&u));
    assert_eq!(ok!(store.user(u.id)).map(|x| x.id), Some(u.id));
    assert_eq!(ok!(store.user_by_email(&u.email)).map(|x| x.id), Some(u.id));
    assert_eq!(
        ok!(store.user_by_external_id(u.external_platform_id.unwrap_or_default())).map(|x| x.id),
        Some(u.id)
    );
    let mut twin = user();
    twin.email = u.email.clone();
    assert!(matches!(
        store.insert_user(&twin).await,
        Err(StoreError::Conflict(Conflict::Email))
    ));
    let other = user();
    ok!(store.insert_user(&other));
    let steal = UserChange {
        email: Some(u.email.clone()),
        updated_at: t0(),
        ..UserChange::default()
    };
    assert!(matches!(
        store.change_user(other.id, &steal).await,
        Err(StoreError::Conflict(Conflict::Email))
    ));
    assert!(matches!(
        store
            .change_user(UserId::from(Uuid::new_v4()), &steal)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(ok!(store.user(UserId::from(Uuid::new_v4()))).is_none());
}

/// Users: a change writes only the fields it names, so concurrent changes of different fields
/// both survive; a platform link never relinks a user linked to another platform id.
pub async fn user_changes_are_narrow_and_links_are_not_stolen(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let later = t0() + Duration::minutes(1);
    let new_email = Email::parse(format!("new-{}", u.email)).unwrap_or_else(|e| panic!("{e}"));
    let changed = ok!(store.change_user(
        u.id,
        &UserChange {
            email: Some(new_email.clone()),
            updated_at: later,
            ..UserChange::default()
        }
    ));
    assert_eq!(
        (changed.email.clone(), changed.updated_at),
        (new_email.clone(), later)
    );
    ok!(store.change_user(
        u.id,
        &UserChange {
            stripe_customer_id: Some("cus_1".into()),
            updated_at: later,
            ..UserChange::default()
        }
    ));
    ok!(store.change_user(
        u.id,
        &UserChange {
            time_zone: Some(chrono_tz::Tz::America__New_York),
            updated_at: later,
            ..UserChange::default()
        }
    ));
    let stored = ok!(store.user(u.id)).unwrap_or_else(|| panic!("user"));
    assert_eq!(
        (
            stored.email,
            stored.stripe_customer_id.as_deref(),
            stored.time_zone
        ),
        (new_email, Some("cus_1"), chrono_tz::Tz::America__New_York)
    );
    assert_eq!(stored.password_hash, u.password_hash, "untouched");
    let platform = Uuid::new_v4();
    let link = |external_platform_id, external_store_id| UserChange {
        link_platform: Some(PlatformLink {
            external_platform_id,
            external_store_id,
        }),
        updated_at: later,
        ..UserChange::default()
    };
    let store_id = Uuid::new_v4();
    let linked = ok!(store.change_user(u.id, &link(platform, Some(store_id))));
    assert_eq!(
        (linked.external_platform_id, linked.external_store_id),
        (Some(platform), Some(store_id))
    );
    let relinked = ok!(store.change_user(u.id, &link(platform, None)));
    assert_eq!(
        relinked.external_store_id,
        Some(store_id),
        "a link without a store id keeps it"
    );
    assert!(matches!(
        store.change_user(u.id, &link(Uuid::new_v4(), None)).await,
        Err(StoreError::Stale)
    ));
    let other = user();
    ok!(store.insert_user(&other));
    assert!(matches!(
        store.change_user(other.id, &link(platform, None)).await,
        Err(StoreError::Conflict(Conflict::ExternalPlatformId))
    ));
}

/// Ending sessions moves the epoch on by one per change; other fields stay.
pub async fn ending_sessions_moves_the_epoch_on(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let end = UserChange {
        end_sessions: true,
        updated_at: t0(),
        ..UserChange::default()
    };
    assert_eq!(ok!(store.change_user(u.id, &end)).session_epoch, 1);
    assert_eq!(ok!(store.change_user(u.id, &end)).session_epoch, 2);
    let narrow = UserChange {
        stripe_customer_id: Some("cus_1".into()),
        updated_at: t0(),
        ..UserChange::default()
    };
    let after = ok!(store.change_user(u.id, &narrow));
    assert_eq!(after.session_epoch, 2);
    assert_eq!(ok!(store.user(u.id)).map(|x| x.session_epoch), Some(2));
}
