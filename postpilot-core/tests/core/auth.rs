//! Authentication: registration, login (with legacy bcrypt rehashing), the profile, rotating
//! refresh tokens, and provisioning from the dropshipping platform.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use postpilot_core::clock::ManualClock;
use postpilot_core::crypto::Argon2Hasher;
use postpilot_core::id::IdGenerator;
use postpilot_core::plan::PlanTier;
use postpilot_core::store::UserStore;
use postpilot_core::user::{Email, ProfilePatch, Provision};
use postpilot_core::{Engine, Error};
use uuid::Uuid;

use crate::test_engine::{self, TestEngine};

const PASSWORD: &str = "correct horse battery";

fn validation_field(err: &Error) -> &str {
    match err {
        Error::Validation(v) => v.field(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn provision(email: &str, external_platform_id: Uuid) -> Provision {
    Provision {
        email: email.into(),
        external_platform_id,
        external_store_id: None,
        plan: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn registering_normalises_the_email_to_trimmed_lower_case() {
    let e = TestEngine::new();

    let user = e
        .auth()
        .register("  Merchant@Example.COM \t", PASSWORD)
        .await
        .unwrap();

    assert_eq!(user.email().as_ref(), "merchant@example.com");
    let stored = e
        .store
        .user_by_email(&Email::parse("merchant@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id(), user.id());
}

#[tokio::test]
async fn registering_an_email_already_taken_in_another_case_is_a_conflict() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;

    let err = e
        .auth()
        .register("MERCHANT@example.com", PASSWORD)
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn a_password_of_seven_characters_is_rejected() {
    let e = TestEngine::new();

    let err = e
        .auth()
        .register("a@example.com", "1234567")
        .await
        .unwrap_err();

    assert_eq!(validation_field(&err), "password");
}

#[tokio::test]
async fn passwords_of_eight_and_of_128_characters_are_accepted() {
    let e = TestEngine::new();

    let eight = e.auth().register("eight@example.com", "12345678").await;
    let max = e.auth().register("max@example.com", &"p".repeat(128)).await;

    assert!(eight.is_ok(), "{eight:?}");
    assert!(max.is_ok(), "{max:?}");
}

#[tokio::test]
async fn a_password_of_129_characters_is_rejected() {
    let e = TestEngine::new();

    let err = e
        .auth()
        .register("a@example.com", &"p".repeat(129))
        .await
        .unwrap_err();

    assert_eq!(validation_field(&err), "password");
}

#[tokio::test]
async fn implausible_email_addresses_are_rejected() {
    let e = TestEngine::new();
    let too_long = format!("{}@example.com", "a".repeat(250));
    let invalid = [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "merchant@",
        "merchant@localhost",
        "merchant@exa mple.com",
        "mer chant@example.com",
        "merchant@@example.com",
        "merchant@example..com",
        "merchant@-example.com",
        ".merchant@example.com",
        "merchant<x>@example.com",
        too_long.as_str(),
    ];

    for email in invalid {
        let err = e.auth().register(email, PASSWORD).await.unwrap_err();

        assert_eq!(validation_field(&err), "email", "{email:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_the_right_password_returns_the_user() {
    let e = TestEngine::new();
    let registered = e.user("merchant@example.com").await;

    let user = e
        .auth()
        .login("Merchant@Example.com", PASSWORD)
        .await
        .unwrap();

    assert_eq!(user.id(), registered.id());
}

#[tokio::test]
async fn login_with_a_wrong_password_is_unauthorized() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;

    let err = e
        .auth()
        .login("merchant@example.com", "correct horse battery!")
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

#[tokio::test]
async fn login_with_an_unknown_email_is_unauthorized_like_a_wrong_password() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;

    let unknown = e
        .auth()
        .login("nobody@example.com", PASSWORD)
        .await
        .unwrap_err();
    let wrong = e
        .auth()
        .login("merchant@example.com", "not the password")
        .await
        .unwrap_err();

    assert!(matches!(unknown, Error::Unauthorized), "{unknown:?}");
    assert_eq!(unknown.to_string(), wrong.to_string());
}

#[tokio::test]
async fn login_with_a_malformed_password_or_email_is_unauthorized_not_a_validation_error() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;

    let short = e
        .auth()
        .login("merchant@example.com", "short")
        .await
        .unwrap_err();
    let bad_email = e.auth().login("not an email", PASSWORD).await.unwrap_err();

    assert!(matches!(short, Error::Unauthorized), "{short:?}");
    assert!(matches!(bad_email, Error::Unauthorized), "{bad_email:?}");
}

#[tokio::test]
async fn login_with_a_legacy_bcrypt_hash_succeeds_and_rehashes_it_to_argon2id() {
    let e = TestEngine::new();
    let user = e.user("legacy@example.com").await;
    set_hash(&e, &user, bcrypt::hash("legacy password", 4).unwrap()).await;

    let logged_in = e
        .auth()
        .login("legacy@example.com", "legacy password")
        .await
        .unwrap();

    assert_eq!(logged_in.id(), user.id());
    let rehashed = e
        .store
        .user(user.id())
        .await
        .unwrap()
        .unwrap()
        .password_hash()
        .to_owned();
    assert!(rehashed.starts_with("$argon2id$"), "{rehashed}");
    let again = e
        .auth()
        .login("legacy@example.com", "legacy password")
        .await
        .unwrap();
    assert_eq!(again.id(), user.id());
}

#[tokio::test]
async fn login_with_a_legacy_bcrypt_hash_and_a_wrong_password_keeps_the_legacy_hash() {
    let e = TestEngine::new();
    let user = e.user("legacy@example.com").await;
    let legacy = bcrypt::hash("legacy password", 4).unwrap();
    set_hash(&e, &user, legacy.clone()).await;

    let err = e
        .auth()
        .login("legacy@example.com", "legacy passworD")
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Unauthorized), "{err:?}");
    let kept = e
        .store
        .user(user.id())
        .await
        .unwrap()
        .unwrap()
        .password_hash()
        .to_owned();
    assert_eq!(kept, legacy);
}

// ---------------------------------------------------------------------------------------------
// Profile
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn me_reports_the_free_plan_by_default() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    let profile = e.auth().me(user.id()).await.unwrap();

    assert_eq!(profile.user.id(), user.id());
    assert_eq!(profile.user.email().as_ref(), "merchant@example.com");
    assert_eq!(profile.plan, PlanTier::Free);
}

#[tokio::test]
async fn me_reports_the_pro_plan_after_checkout() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;

    let profile = e.auth().me(user.id()).await.unwrap();

    assert_eq!(profile.plan, PlanTier::Pro);
}

#[tokio::test]
async fn changing_only_the_time_zone_needs_no_password_and_ends_no_session() {
    let e = TestEngine::new();
    let user = e.user("zone@example.com").await;
    assert_eq!(
        user.time_zone(),
        chrono_tz::Tz::UTC,
        "a new user starts in UTC"
    );

    let profile = e
        .auth()
        .update_me(
            user.id(),
            ProfilePatch {
                time_zone: Some("Europe/Paris".into()),
                ..ProfilePatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(profile.user.time_zone(), chrono_tz::Tz::Europe__Paris);
    assert_eq!(profile.user.session_epoch(), user.session_epoch());
    let err = e
        .auth()
        .update_me(
            user.id(),
            ProfilePatch {
                time_zone: Some("Mars/Olympus".into()),
                ..ProfilePatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "time_zone"),
        "{err:?}"
    );
    assert_eq!(
        e.auth().me(user.id()).await.unwrap().user.time_zone(),
        chrono_tz::Tz::Europe__Paris,
        "a refused zone keeps the stored one"
    );
}

#[tokio::test]
async fn updating_the_email_moves_the_login_to_the_new_address() {
    let e = TestEngine::new();
    let user = e.user("old@example.com").await;

    let profile = e
        .auth()
        .update_me(
            user.id(),
            ProfilePatch {
                email: Some(" New@Example.com ".into()),
                password: None,
                current_password: Some(PASSWORD.into()),
                time_zone: None,
                pause_on: None,
            },
        )
        .await
        .unwrap();

    assert_eq!(profile.user.email().as_ref(), "new@example.com");
    assert_eq!(
        e.auth()
            .login("new@example.com", PASSWORD)
            .await
            .unwrap()
            .id(),
        user.id()
    );
    let old = e
        .auth()
        .login("old@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(old, Error::Unauthorized), "{old:?}");
}

#[tokio::test]
async fn updating_the_email_to_one_already_taken_is_a_conflict() {
    let e = TestEngine::new();
    e.user("taken@example.com").await;
    let user = e.user("merchant@example.com").await;

    let err = e
        .auth()
        .update_me(
            user.id(),
            ProfilePatch {
                email: Some("Taken@Example.com".into()),
                password: None,
                current_password: Some(PASSWORD.into()),
                time_zone: None,
                pause_on: None,
            },
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let unchanged = e.auth().me(user.id()).await.unwrap();
    assert_eq!(unchanged.user.email().as_ref(), "merchant@example.com");
}

#[tokio::test]
async fn updating_the_password_makes_the_old_one_fail() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    e.auth()
        .update_me(
            user.id(),
            ProfilePatch {
                email: None,
                password: Some("a brand new password".into()),
                current_password: Some(PASSWORD.into()),
                time_zone: None,
                pause_on: None,
            },
        )
        .await
        .unwrap();

    let old = e
        .auth()
        .login("merchant@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(old, Error::Unauthorized), "{old:?}");
    let new = e
        .auth()
        .login("merchant@example.com", "a brand new password")
        .await
        .unwrap();
    assert_eq!(new.id(), user.id());
}

#[tokio::test]
async fn updating_to_a_too_short_password_is_rejected_and_keeps_the_old_one() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    let err = e
        .auth()
        .update_me(
            user.id(),
            ProfilePatch {
                email: None,
                password: Some("short".into()),
                current_password: Some(PASSWORD.into()),
                time_zone: None,
                pause_on: None,
            },
        )
        .await
        .unwrap_err();

    assert_eq!(validation_field(&err), "password");
    assert!(
        e.auth()
            .login("merchant@example.com", PASSWORD)
            .await
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_browser_session_lasts_until_signed_out_expired_or_rotated_and_reads_without_rotating() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let auth = e.auth();
    let session = auth.issue_refresh_token(&user).await.unwrap();

    assert_eq!(auth.session_of(&session.raw).await.unwrap(), user.id());
    assert_eq!(
        auth.session_of(&session.raw).await.unwrap(),
        user.id(),
        "reading does not use it up"
    );
    for bad in ["", "not-a-session", &"x".repeat(300)] {
        assert!(matches!(
            auth.session_of(bad).await,
            Err(Error::Unauthorized)
        ));
    }
    auth.logout(user.id(), Some(&session.raw), false)
        .await
        .unwrap();
    assert!(matches!(
        auth.session_of(&session.raw).await,
        Err(Error::Unauthorized)
    ));

    let rotated = auth.issue_refresh_token(&user).await.unwrap();
    auth.refresh(&rotated.raw).await.unwrap();
    assert!(matches!(
        auth.session_of(&rotated.raw).await,
        Err(Error::Unauthorized)
    ));

    let expiring = auth.issue_refresh_token(&user).await.unwrap();
    e.advance(Duration::days(400));
    assert!(matches!(
        auth.session_of(&expiring.raw).await,
        Err(Error::Unauthorized)
    ));
}

#[tokio::test]
async fn refreshing_returns_a_new_token_in_the_same_family() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let issued = e.auth().issue_refresh_token(&user).await.unwrap();

    let next = e.auth().refresh(&issued.raw).await.unwrap();

    assert_ne!(next.raw, issued.raw);
    assert_eq!(next.token.user_id(), user.id());
    assert_eq!(next.token.family_id(), issued.token.family_id());
}

#[tokio::test]
async fn a_refreshed_token_can_itself_be_refreshed() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let issued = e.auth().issue_refresh_token(&user).await.unwrap();
    let second = e.auth().refresh(&issued.raw).await.unwrap();

    let third = e.auth().refresh(&second.raw).await.unwrap();

    assert_eq!(third.token.user_id(), user.id());
}

#[tokio::test]
async fn reusing_a_refresh_token_fails_and_revokes_its_whole_family() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let issued = e.auth().issue_refresh_token(&user).await.unwrap();
    let successor = e.auth().refresh(&issued.raw).await.unwrap();

    let reuse = e.auth().refresh(&issued.raw).await.unwrap_err();

    assert!(matches!(reuse, Error::Unauthorized), "{reuse:?}");
    let after = e.auth().refresh(&successor.raw).await.unwrap_err();
    assert!(matches!(after, Error::Unauthorized), "{after:?}");
}

#[tokio::test]
async fn revoking_one_family_leaves_other_sessions_working() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let stolen = e.auth().issue_refresh_token(&user).await.unwrap();
    let other_session = e.auth().issue_refresh_token(&user).await.unwrap();
    e.auth().refresh(&stolen.raw).await.unwrap();
    e.auth().refresh(&stolen.raw).await.unwrap_err();

    let refreshed = e.auth().refresh(&other_session.raw).await;

    assert!(refreshed.is_ok(), "{refreshed:?}");
}

#[tokio::test]
async fn a_refresh_token_expires_after_seven_days() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let issued = e.auth().issue_refresh_token(&user).await.unwrap();
    e.advance(Duration::days(8));

    let err = e.auth().refresh(&issued.raw).await.unwrap_err();

    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

#[tokio::test]
async fn a_refresh_token_still_works_within_seven_days() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let issued = e.auth().issue_refresh_token(&user).await.unwrap();
    e.advance(Duration::days(6));

    let refreshed = e.auth().refresh(&issued.raw).await;

    assert!(refreshed.is_ok(), "{refreshed:?}");
}

#[tokio::test]
async fn an_unknown_or_empty_refresh_token_is_unauthorized() {
    let e = TestEngine::new();
    e.user("merchant@example.com").await;

    for raw in ["", "not-a-token", &"x".repeat(300)] {
        let err = e.auth().refresh(raw).await.unwrap_err();

        assert!(matches!(err, Error::Unauthorized), "{raw:.20}: {err:?}");
    }
}

/// Random ids that, once armed, run a one-off hook when the next id is drawn: a seam that puts
/// another request exactly between two steps of a service call.
#[derive(Default)]
struct HookedIds {
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl fmt::Debug for HookedIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookedIds")
    }
}

impl IdGenerator for HookedIds {
    fn new_uuid(&self) -> Uuid {
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        Uuid::new_v4()
    }
}

// A replay of a refresh token interleaved with its rotation (at the id seam, the one point the
// service yields control to a port between reading and writing): one of the two presentations
// is a reuse, which revokes the family — so no successor either of them got may work.
#[tokio::test]
async fn a_replay_racing_a_rotation_leaves_no_working_successor() {
    let ids = Arc::new(HookedIds::default());
    let engine = Engine::builder()
        .simulated()
        .clock(Arc::new(ManualClock::new(test_engine::t0())))
        .hasher(Arc::new(Argon2Hasher::with_params(64, 1, 1).unwrap()))
        .ids(ids.clone())
        .build()
        .unwrap();
    let user = engine
        .auth()
        .register("merchant@example.com", PASSWORD)
        .await
        .unwrap();
    let issued = engine.auth().issue_refresh_token(&user).await.unwrap();
    let replayed = Arc::new(Mutex::new(None));
    {
        let engine = engine.clone();
        let raw = issued.raw.clone();
        let replayed = replayed.clone();
        *ids.hook.lock().unwrap() = Some(Box::new(move || {
            *replayed.lock().unwrap() = Some(test_engine::run_now(engine.auth().refresh(&raw)));
        }));
    }

    let rotation = engine.auth().refresh(&issued.raw).await;

    let replay = replayed
        .lock()
        .unwrap()
        .take()
        .expect("the replay ran during the rotation");
    assert!(
        rotation.is_err() || replay.is_err(),
        "one of the two presentations is a reuse and must be refused"
    );
    for successor in [rotation, replay].into_iter().flatten() {
        let err = engine.auth().refresh(&successor.raw).await.unwrap_err();
        assert!(matches!(err, Error::Unauthorized), "{err:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn provisioning_creates_a_user_with_the_platform_ids_and_plan() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let store_id = Uuid::new_v4();

    let user = e
        .auth()
        .provision(Provision {
            email: "Shop@Example.com".into(),
            external_platform_id: platform_id,
            external_store_id: Some(store_id),
            plan: Some(PlanTier::Pro),
        })
        .await
        .unwrap();

    assert_eq!(user.email().as_ref(), "shop@example.com");
    assert_eq!(user.external_platform_id(), Some(platform_id));
    assert_eq!(user.external_store_id(), Some(store_id));
    let profile = e.auth().me(user.id()).await.unwrap();
    assert_eq!(profile.plan, PlanTier::Pro);
    assert_eq!(profile.user.external_platform_id(), Some(platform_id));
}

#[tokio::test]
async fn provisioning_the_same_platform_id_twice_returns_the_same_user() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let first = e
        .auth()
        .provision(provision("shop@example.com", platform_id))
        .await
        .unwrap();

    let second = e
        .auth()
        .provision(provision("shop@example.com", platform_id))
        .await
        .unwrap();

    assert_eq!(second.id(), first.id());
}

#[tokio::test]
async fn provisioning_an_email_a_self_registered_account_holds_links_nothing_and_grants_nothing() {
    // Pre-hijacking: an attacker registers the merchant's address before the platform
    // provisions it. The e-mail match must not hand the attacker's account the platform's
    // identity or plan.
    let e = TestEngine::new();
    let registered = e.user("merchant@example.com").await;
    let platform_id = Uuid::new_v4();

    let err = e
        .auth()
        .provision(Provision {
            email: "MERCHANT@example.com".into(),
            external_platform_id: platform_id,
            external_store_id: Some(Uuid::new_v4()),
            plan: Some(PlanTier::Enterprise),
        })
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::PlatformLinkRequired(holder) if holder == registered.id()),
        "{err:?}"
    );
    let profile = e.auth().me(registered.id()).await.unwrap();
    assert_eq!(profile.user.external_platform_id(), None);
    assert_eq!(profile.user.external_store_id(), None);
    assert_eq!(profile.plan, PlanTier::Free);
    assert!(
        e.store
            .user_by_external_id(platform_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_owner_of_a_self_registered_account_links_it_signed_in_and_keeps_their_password() {
    let e = TestEngine::new();
    let registered = e.user("merchant@example.com").await;
    let platform_id = Uuid::new_v4();
    let mut request = provision("merchant@example.com", platform_id);
    request.plan = Some(PlanTier::Pro);
    assert!(e.auth().provision(request.clone()).await.is_err());

    let linked = e
        .auth()
        .link_platform(registered.id(), request.clone())
        .await
        .unwrap();

    assert_eq!(linked.external_platform_id(), Some(platform_id));
    assert_eq!(
        e.auth().me(registered.id()).await.unwrap().plan,
        PlanTier::Pro
    );
    let user = e
        .auth()
        .login("merchant@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(user.id(), registered.id());
    // The platform's retry of the provision now finds the linked account.
    let again = e.auth().provision(request).await.unwrap();
    assert_eq!(again.id(), registered.id());
}

#[tokio::test]
async fn a_link_is_refused_for_an_account_whose_email_is_not_the_provisioned_one() {
    let e = TestEngine::new();
    let other = e.user("someone-else@example.com").await;

    let err = e
        .auth()
        .link_platform(
            other.id(),
            provision("merchant@example.com", Uuid::new_v4()),
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(
        e.auth()
            .me(other.id())
            .await
            .unwrap()
            .user
            .external_platform_id(),
        None
    );
}

#[tokio::test]
async fn registering_an_email_the_platform_provisioned_is_a_conflict_and_changes_nothing() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let mut request = provision("merchant@example.com", platform_id);
    request.plan = Some(PlanTier::Pro);
    let provisioned = e.auth().provision(request).await.unwrap();

    let err = e
        .auth()
        .register("merchant@example.com", PASSWORD)
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert!(
        e.auth()
            .login("merchant@example.com", PASSWORD)
            .await
            .is_err()
    );
    let profile = e.auth().me(provisioned.id()).await.unwrap();
    assert_eq!(profile.user.external_platform_id(), Some(platform_id));
    assert_eq!(profile.plan, PlanTier::Pro);
}

#[tokio::test]
async fn provisioning_an_email_linked_to_another_platform_id_is_a_conflict() {
    let e = TestEngine::new();
    let first_platform_id = Uuid::new_v4();
    let original = e
        .auth()
        .provision(provision("shop@example.com", first_platform_id))
        .await
        .unwrap();

    let err = e
        .auth()
        .provision(provision("shop@example.com", Uuid::new_v4()))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let unchanged = e.auth().me(original.id()).await.unwrap();
    assert_eq!(
        unchanged.user.external_platform_id(),
        Some(first_platform_id)
    );
}

#[tokio::test]
async fn provisioning_with_an_invalid_email_is_rejected() {
    let e = TestEngine::new();

    let err = e
        .auth()
        .provision(provision("not an email", Uuid::new_v4()))
        .await
        .unwrap_err();

    assert_eq!(validation_field(&err), "email");
}

#[tokio::test]
async fn a_provisioned_user_cannot_log_in_with_any_password() {
    let e = TestEngine::new();
    e.auth()
        .provision(provision("shop@example.com", Uuid::new_v4()))
        .await
        .unwrap();

    for password in [PASSWORD, "!provisioned", "12345678", "password"] {
        let err = e
            .auth()
            .login("shop@example.com", password)
            .await
            .unwrap_err();

        assert!(matches!(err, Error::Unauthorized), "{password}: {err:?}");
    }
}

#[tokio::test]
async fn an_address_accepted_under_an_earlier_rule_still_logs_in() {
    use postpilot_core::store::{UserChange, UserStore};
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    // Non-ASCII local parts were accepted before addresses became ASCII (DECISIONS 30).
    let change = UserChange {
        email: Some(Email::normalized("josé@example.com")),
        updated_at: e.now(),
        ..UserChange::default()
    };
    e.store.change_user(user.id(), &change).await.unwrap();

    let logged_in = e.auth().login(" José@Example.com", PASSWORD).await.unwrap();

    assert_eq!(logged_in.id(), user.id());
    assert!(
        e.auth()
            .register("josé@example.com", PASSWORD)
            .await
            .is_err()
    );
}

/// Overwrites a user's stored password hash (as a legacy system would have left it).
async fn set_hash(e: &TestEngine, user: &postpilot_core::user::User, hash: String) {
    use postpilot_core::store::{UserChange, UserStore};
    let change = UserChange {
        password_hash: Some(hash),
        updated_at: e.now(),
        ..UserChange::default()
    };
    e.store.change_user(user.id(), &change).await.unwrap();
}

#[tokio::test]
async fn changing_credentials_without_the_current_password_is_unauthorized() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    for current in [None, Some("not my password".to_owned())] {
        let err = e
            .auth()
            .update_me(
                user.id(),
                ProfilePatch {
                    email: Some("b@example.com".into()),
                    password: None,
                    current_password: current,
                    time_zone: None,
                    pause_on: None,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthorized), "{err:?}");
    }
    let me = e.auth().me(user.id()).await.unwrap();
    assert_eq!(me.user.email().as_ref(), "a@example.com");
}

#[tokio::test]
async fn changing_the_email_ends_every_session() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let session = e.auth().issue_refresh_token(&user).await.unwrap();

    e.auth()
        .update_me(
            user.id(),
            ProfilePatch {
                email: Some("b@example.com".into()),
                password: None,
                current_password: Some(PASSWORD.into()),
                time_zone: None,
                pause_on: None,
            },
        )
        .await
        .unwrap();

    let err = e.auth().refresh(&session.raw).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

#[tokio::test]
async fn a_provisioned_user_sets_a_first_password_without_a_current_one_and_can_then_log_in() {
    let e = TestEngine::new();
    let user = e
        .auth()
        .provision(postpilot_core::user::Provision {
            email: "shop@example.com".into(),
            external_platform_id: uuid::Uuid::new_v4(),
            external_store_id: None,
            plan: None,
        })
        .await
        .unwrap();

    e.auth()
        .update_me(
            user.id(),
            ProfilePatch {
                email: None,
                password: Some("my first password".into()),
                current_password: None,
                time_zone: None,
                pause_on: None,
            },
        )
        .await
        .unwrap();

    let logged_in = e
        .auth()
        .login("shop@example.com", "my first password")
        .await
        .unwrap();
    assert_eq!(logged_in.id(), user.id());
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let patch = ProfilePatch {
        email: None,
        password: Some("hunter2hunter2".into()),
        current_password: Some("old-secret-pass".into()),
        time_zone: None,
        pause_on: None,
    };
    let shown = format!("{patch:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("old-secret"),
        "{shown}"
    );
}
