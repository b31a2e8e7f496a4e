//! API keys: pro and enterprise only, shown once, stored hashed, revocable, suspended while the
//! owner is on the free plan.

use chrono::Duration;
use postpilot_core::api_key::{KEY_PREFIX, Scope};
use postpilot_core::billing::SubscriptionStatus;
use postpilot_core::page::PageRequest;
use postpilot_core::plan::PlanTier;
use postpilot_core::user::{Provision, User};
use postpilot_core::webhook::{EventOutcome, PlatformEvent};
use postpilot_core::{Error, LimitedResource};
use serde_json::json;
use uuid::Uuid;

use crate::test_engine::TestEngine;

async fn pro_user(e: &TestEngine, email: &str) -> User {
    let user = e.user(email).await;
    e.on_plan(&user, PlanTier::Pro).await;
    user
}

fn all_scopes() -> Vec<Scope> {
    let mut all = Scope::ALL.to_vec();
    all.sort();
    all
}

// ---------------------------------------------------------------------------------------------
// Creating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_free_user_cannot_create_api_keys() {
    let e = TestEngine::new();
    let user = e.user("free@example.com").await;

    let err = e.api_keys().create(user.id(), "CI", &[]).await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::ApiAccess,
                ..
            }
        ),
        "{err:?}"
    );
    let listed = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 0);
}

#[tokio::test]
async fn a_pro_user_gets_a_po_live_key_whose_visible_prefix_is_its_first_twelve_characters() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;

    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();

    let secret = created.secret.expose();
    assert!(secret.starts_with("po_live_"), "{secret}");
    assert_eq!(KEY_PREFIX, "po_live_");
    assert_eq!(secret.len(), 8 + 43);
    assert_eq!(created.key.prefix(), &secret[..12]);
    assert_eq!(created.key.user_id(), user.id());
    assert_eq!(created.key.name().as_ref(), "CI");
    assert!(created.key.is_active());
    assert_eq!(created.key.last_used_at(), None);
    assert_eq!(created.key.created_at(), e.now());
}

#[tokio::test]
async fn an_enterprise_user_can_create_api_keys() {
    let e = TestEngine::new();
    let user = e.user("big@example.com").await;
    e.on_plan(&user, PlanTier::Enterprise).await;

    let created = e.api_keys().create(user.id(), "ERP sync", &[]).await;

    assert!(created.is_ok(), "{created:?}");
}

#[tokio::test]
async fn two_keys_never_share_a_secret() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;

    let first = e.api_keys().create(user.id(), "one", &[]).await.unwrap();
    let second = e.api_keys().create(user.id(), "two", &[]).await.unwrap();

    assert_ne!(first.secret.expose(), second.secret.expose());
    assert_ne!(first.key.key_hash(), second.key.key_hash());
}

#[tokio::test]
async fn listing_keys_never_reveals_the_secret_or_its_hash() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();

    let page = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();

    assert_eq!(page.items.len(), 1);
    let listed = &page.items[0];
    assert_eq!(listed.id(), created.key.id());
    let value = serde_json::to_value(listed).unwrap();
    let text = value.to_string();
    assert!(!text.contains(created.secret.expose()), "{text}");
    assert!(!text.contains(created.key.key_hash()), "{text}");
    let object = value.as_object().unwrap();
    assert!(!object.contains_key("key_hash"), "{text}");
    assert!(!object.contains_key("key"), "{text}");
    assert_eq!(object["prefix"], json!(created.key.prefix()));
    assert_eq!(object["name"], json!("CI"));
}

#[tokio::test]
async fn a_key_created_without_scopes_gets_every_scope() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;

    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();

    assert_eq!(created.key.scopes(), all_scopes());
    let json = serde_json::to_value(&created.key).unwrap();
    assert_eq!(
        json["scopes"],
        json!([
            "posts:read",
            "posts:write",
            "queue:read",
            "queue:write",
            "accounts:read",
            "accounts:write",
            "analytics:read",
            "webhooks:read",
            "webhooks:write"
        ])
    );
}

#[tokio::test]
async fn explicit_scopes_are_kept_without_duplicates() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let scopes = ["queue:write", "posts:read", "posts:read"].map(String::from);

    let created = e.api_keys().create(user.id(), "CI", &scopes).await.unwrap();

    assert_eq!(
        created.key.scopes(),
        vec![Scope::PostsRead, Scope::QueueWrite]
    );
    let listed = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        listed.items[0].scopes(),
        vec![Scope::PostsRead, Scope::QueueWrite]
    );
}

#[tokio::test]
async fn an_unknown_scope_is_rejected() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let scopes = ["posts:read", "admin:everything"].map(String::from);

    let err = e
        .api_keys()
        .create(user.id(), "CI", &scopes)
        .await
        .unwrap_err();

    match err {
        Error::Validation(v) => assert_eq!(v.field(), "scopes"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_blank_key_name_is_rejected() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;

    let err = e
        .api_keys()
        .create(user.id(), "   ", &[])
        .await
        .unwrap_err();

    match err {
        Error::Validation(v) => assert_eq!(v.field(), "name"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Authenticating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authenticating_a_key_returns_its_owner_scopes_and_plan() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let scopes = ["posts:read".to_owned()];
    let created = e.api_keys().create(user.id(), "CI", &scopes).await.unwrap();

    let authenticated = e
        .api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap();

    assert_eq!(authenticated.user_id, user.id());
    assert_eq!(authenticated.key_id, created.key.id());
    assert_eq!(authenticated.scopes, vec![Scope::PostsRead]);
    assert_eq!(authenticated.plan, PlanTier::Pro);
}

#[tokio::test]
async fn authenticating_writes_nothing_and_recording_the_use_stores_the_clocks_time() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();
    e.advance(Duration::hours(3));

    let authenticated = e
        .api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap();
    let before = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        before.items[0].last_used_at(),
        None,
        "authenticating wrote nothing"
    );
    e.api_keys().record_use(authenticated.key_id).await.unwrap();

    let listed = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items[0].last_used_at(), Some(e.now()));
}

#[tokio::test]
async fn a_user_holds_at_most_the_configured_number_of_active_keys() {
    let e = TestEngine::new();
    let user = pro_user(&e, "cap@example.com").await;
    let mut ids = Vec::new();
    for n in 0..postpilot_core::DEFAULT_MAX_API_KEYS {
        ids.push(
            e.api_keys()
                .create(user.id(), &format!("k{n}"), &[])
                .await
                .unwrap()
                .key
                .id(),
        );
    }

    let err = e
        .api_keys()
        .create(user.id(), "one more", &[])
        .await
        .unwrap_err();

    assert!(matches!(err, postpilot_core::Error::Conflict(_)), "{err:?}");
    e.api_keys().revoke(user.id(), ids[0]).await.unwrap();
    assert!(
        e.api_keys()
            .create(user.id(), "replacement", &[])
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_revoked_key_is_unauthorized() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();

    e.api_keys()
        .revoke(user.id(), created.key.id())
        .await
        .unwrap();

    let err = e
        .api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

#[tokio::test]
async fn a_revoked_key_stays_listed_as_inactive() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();

    e.api_keys()
        .revoke(user.id(), created.key.id())
        .await
        .unwrap();

    let listed = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert!(!listed.items[0].is_active());
}

#[tokio::test]
async fn a_malformed_key_is_unauthorized() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();
    let secret = created.secret.expose();
    let body = &secret[KEY_PREFIX.len()..];
    let malformed = [
        String::new(),
        "po_live_".to_owned(),
        "po_live_short".to_owned(),
        format!("po_test_{body}"),
        format!("PO_LIVE_{body}"),
        body.to_owned(),
        format!("{secret}x"),
        format!("po_live_{}!", &body[1..]),
        format!(" {secret}"),
    ];

    for presented in &malformed {
        let err = e.api_keys().authenticate(presented).await.unwrap_err();

        assert!(matches!(err, Error::Unauthorized), "{presented:?}: {err:?}");
    }
}

#[tokio::test]
async fn a_well_formed_but_unknown_key_is_unauthorized() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    e.api_keys().create(user.id(), "CI", &[]).await.unwrap();
    let unknown = format!("{KEY_PREFIX}{}", "A".repeat(43));

    let err = e.api_keys().authenticate(&unknown).await.unwrap_err();

    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

#[tokio::test]
async fn a_key_stops_authenticating_when_the_platform_downgrades_its_owner_to_free() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let user = e
        .auth()
        .provision(Provision {
            email: "shop@example.com".into(),
            external_platform_id: platform_id,
            external_store_id: None,
            plan: Some(PlanTier::Pro),
        })
        .await
        .unwrap();
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();

    let outcome = e
        .webhooks()
        .platform_event(PlatformEvent {
            id: "evt_downgrade".into(),
            event_type: "subscription.updated".into(),
            data: json!({
                "external_platform_id": platform_id,
                "plan": "free",
                "status": "active",
            }),
        })
        .await
        .unwrap();

    assert!(
        matches!(outcome, EventOutcome::PlanChanged(ref impact) if impact.api_keys_suspended),
        "{outcome:?}"
    );
    let err = e
        .api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn a_suspended_key_works_again_after_the_owner_upgrades() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();
    e.billing()
        .grant_plan(user.id(), PlanTier::Free, SubscriptionStatus::Active)
        .await
        .unwrap();
    let suspended = e
        .api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap_err();
    assert!(matches!(suspended, Error::Forbidden(_)), "{suspended:?}");

    e.billing()
        .grant_plan(user.id(), PlanTier::Pro, SubscriptionStatus::Active)
        .await
        .unwrap();

    let authenticated = e
        .api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap();
    assert_eq!(authenticated.user_id, user.id());
    assert_eq!(authenticated.plan, PlanTier::Pro);
}

#[tokio::test]
async fn a_failed_authentication_of_a_suspended_key_does_not_record_a_use() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();
    e.billing()
        .grant_plan(user.id(), PlanTier::Free, SubscriptionStatus::Active)
        .await
        .unwrap();

    e.api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap_err();

    let listed = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items[0].last_used_at(), None);
}

// ---------------------------------------------------------------------------------------------
// Revoking and listing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn revoking_another_users_key_is_not_found_and_the_key_keeps_working() {
    let e = TestEngine::new();
    let owner = pro_user(&e, "owner@example.com").await;
    let intruder = pro_user(&e, "intruder@example.com").await;
    let created = e.api_keys().create(owner.id(), "CI", &[]).await.unwrap();

    let err = e
        .api_keys()
        .revoke(intruder.id(), created.key.id())
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let still = e
        .api_keys()
        .authenticate(created.secret.expose())
        .await
        .unwrap();
    assert_eq!(still.user_id, owner.id());
}

#[tokio::test]
async fn revoking_an_unknown_key_is_not_found() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;

    let err = e
        .api_keys()
        .revoke(user.id(), Uuid::new_v4().into())
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_user_lists_only_their_own_keys() {
    let e = TestEngine::new();
    let owner = pro_user(&e, "owner@example.com").await;
    let other = pro_user(&e, "other@example.com").await;
    e.api_keys().create(owner.id(), "mine", &[]).await.unwrap();

    let listed = e
        .api_keys()
        .list(other.id(), PageRequest::default())
        .await
        .unwrap();

    assert_eq!(listed.total, 0);
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn keys_are_listed_newest_first_in_pages_with_a_total() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    for name in ["first", "second", "third"] {
        e.api_keys().create(user.id(), name, &[]).await.unwrap();
        e.advance(Duration::minutes(1));
    }

    let page_one = e
        .api_keys()
        .list(user.id(), PageRequest::new(Some(1), Some(2)).unwrap())
        .await
        .unwrap();
    let page_two = e
        .api_keys()
        .list(user.id(), PageRequest::new(Some(2), Some(2)).unwrap())
        .await
        .unwrap();

    assert_eq!(page_one.total, 3);
    assert_eq!((page_one.page, page_one.per_page), (1, 2));
    let first_names: Vec<&str> = page_one.items.iter().map(|k| k.name().as_ref()).collect();
    assert_eq!(first_names, ["third", "second"]);
    assert_eq!(page_two.total, 3);
    let second_names: Vec<&str> = page_two.items.iter().map(|k| k.name().as_ref()).collect();
    assert_eq!(second_names, ["first"]);
}

#[tokio::test]
async fn a_user_downgraded_to_free_can_still_list_and_revoke_their_keys() {
    let e = TestEngine::new();
    let user = pro_user(&e, "pro@example.com").await;
    let created = e.api_keys().create(user.id(), "CI", &[]).await.unwrap();
    e.billing()
        .grant_plan(user.id(), PlanTier::Free, SubscriptionStatus::Active)
        .await
        .unwrap();

    e.api_keys()
        .revoke(user.id(), created.key.id())
        .await
        .unwrap();

    let listed = e
        .api_keys()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert!(!listed.items[0].is_active());
}
