//! Billing: plans, mock checkout and portal, the subscription overview, Stripe-shaped provider
//! events, platform events, and how a subscription's status decides the plan.

use chrono::{DateTime, Duration, Utc};
use postpilot_core::Error;
use postpilot_core::billing::{
    BillingEventKind, DowngradeImpact, Subscription, SubscriptionRecord, SubscriptionStatus,
    effective_plan,
};
use postpilot_core::page::PageRequest;
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::store::{SubscriptionStore, UserStore};
use postpilot_core::user::{Email, Provision, User, UserRecord};
use postpilot_core::webhook::{EventOutcome, PlatformEvent};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::test_engine::{TestEngine, t0};

// ---------------------------------------------------------------------------------------------
// Arrangement
// ---------------------------------------------------------------------------------------------

/// A Stripe event envelope around `object`.
fn stripe_event(id: &str, event_type: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id,
        "type": event_type,
        "data": { "object": object },
    }))
    .unwrap()
}

/// `checkout.session.completed` for `user` buying `plan`, creating subscription `sub_id`.
fn checkout_completed(event_id: &str, user: &User, plan: &str, sub_id: &str) -> Vec<u8> {
    stripe_event(
        event_id,
        "checkout.session.completed",
        json!({
            "id": format!("cs_{event_id}"),
            "client_reference_id": user.id().to_string(),
            "customer": "cus_123",
            "subscription": sub_id,
            "metadata": { "plan": plan },
        }),
    )
}

/// `customer.subscription.<change>` for subscription `sub_id`, with `fields` merged in.
fn subscription_event(event_id: &str, change: &str, sub_id: &str, fields: Value) -> Vec<u8> {
    let mut object = json!({ "id": sub_id, "object": "subscription", "customer": "cus_123" });
    for (key, value) in fields.as_object().unwrap() {
        object[key] = value.clone();
    }
    stripe_event(event_id, &format!("customer.subscription.{change}"), object)
}

/// A user subscribed to pro through a Stripe checkout event (subscription `sub_123`).
async fn stripe_pro_user(e: &TestEngine, email: &str) -> User {
    let user = e.user(email).await;
    e.billing()
        .handle_event(&checkout_completed("evt_checkout", &user, "pro", "sub_123"))
        .await
        .unwrap()
        .unwrap();
    user
}

async fn plan_of(e: &TestEngine, user: &User) -> PlanTier {
    e.billing().subscription(user.id()).await.unwrap().plan
}

fn is_absolute_http_url(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| rest.split('/').next().is_some_and(|host| !host.is_empty()))
    })
}

fn platform_event(id: &str, event_type: &str, data: Value) -> PlatformEvent {
    PlatformEvent {
        id: id.into(),
        event_type: event_type.into(),
        data,
    }
}

async fn provisioned_user(e: &TestEngine, platform_id: Uuid, plan: PlanTier) -> User {
    e.auth()
        .provision(Provision {
            email: "shop@example.com".into(),
            external_platform_id: platform_id,
            external_store_id: None,
            plan: Some(plan),
        })
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_plans_are_free_pro_and_enterprise_with_the_seed_limits() {
    let e = TestEngine::new();

    let plans = e.billing().plans();

    let summary: Vec<_> = plans
        .iter()
        .map(|p| {
            (
                p.tier,
                p.max_items.max(),
                p.max_secondary.max(),
                p.api_access,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (PlanTier::Free, Some(10), Some(1), false),
            (PlanTier::Pro, Some(200), Some(10), true),
            (PlanTier::Enterprise, None, None, true),
        ]
    );
}

#[tokio::test]
async fn unlimited_plan_limits_serialise_as_minus_one() {
    let e = TestEngine::new();
    let [free, pro, enterprise] = e.billing().plans();

    assert_eq!(
        serde_json::to_value(enterprise.max_items).unwrap(),
        json!(-1)
    );
    assert_eq!(
        serde_json::to_value(enterprise.max_secondary).unwrap(),
        json!(-1)
    );
    assert_eq!(serde_json::to_value(free.max_items).unwrap(), json!(10));
    assert_eq!(serde_json::to_value(pro.max_secondary).unwrap(), json!(10));
}

#[tokio::test]
async fn a_plan_serialises_with_the_seed_field_names() {
    let e = TestEngine::new();
    let [_, pro, _] = e.billing().plans();

    let value = serde_json::to_value(pro).unwrap();

    assert_eq!(value["tier"], json!("pro"));
    assert_eq!(value["max_items"], json!(200));
    assert_eq!(value["max_secondary"], json!(10));
    assert_eq!(value["api_access"], json!(true));
    assert!(value["name"].is_string());
    assert!(value["price_monthly"].is_u64());
}

// ---------------------------------------------------------------------------------------------
// Checkout, portal, subscription overview (mock mode)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn mock_checkout_returns_an_absolute_url_and_a_session_id() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    let session = e
        .billing()
        .checkout(user.id(), PlanTier::Pro)
        .await
        .unwrap();

    assert!(
        is_absolute_http_url(&session.checkout_url),
        "{}",
        session.checkout_url
    );
    assert!(!session.session_id.is_empty());
}

#[tokio::test]
async fn mock_checkout_activates_the_plan_at_once() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    e.billing()
        .checkout(user.id(), PlanTier::Pro)
        .await
        .unwrap();

    let usage = e.usage().usage(user.id()).await.unwrap();
    assert_eq!(usage.plan, PlanTier::Pro);
    assert!(usage.api_access);
    assert_eq!(plan_of(&e, &user).await, PlanTier::Pro);
}

#[tokio::test]
async fn checkout_for_the_free_plan_is_rejected() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    let err = e
        .billing()
        .checkout(user.id(), PlanTier::Free)
        .await
        .unwrap_err();

    match err {
        Error::Validation(v) => assert_eq!(v.field(), "plan"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn checkout_for_an_unknown_user_is_not_found() {
    let e = TestEngine::new();

    let err = e
        .billing()
        .checkout(Uuid::new_v4().into(), PlanTier::Pro)
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn the_portal_link_after_checkout_is_an_absolute_url_for_the_customer() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    let customer = e
        .store
        .user(user.id())
        .await
        .unwrap()
        .unwrap()
        .stripe_customer_id()
        .unwrap()
        .to_owned();

    let url = e.billing().portal(user.id()).await.unwrap();

    assert!(is_absolute_http_url(&url), "{url}");
    assert!(url.contains(&customer), "{url} should name {customer}");
}

#[tokio::test]
async fn a_new_user_has_the_free_plan_and_no_subscription_status() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    let overview = e.billing().subscription(user.id()).await.unwrap();

    assert_eq!(overview.plan, PlanTier::Free);
    assert_eq!(overview.status, None);
    assert_eq!(overview.current_period_end, None);
    assert!(!overview.cancel_at_period_end);
}

#[tokio::test]
async fn after_checkout_the_subscription_is_active_for_a_thirty_day_period() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    e.billing()
        .checkout(user.id(), PlanTier::Enterprise)
        .await
        .unwrap();

    let overview = e.billing().subscription(user.id()).await.unwrap();
    assert_eq!(overview.plan, PlanTier::Enterprise);
    assert_eq!(overview.status, Some(SubscriptionStatus::Active));
    assert_eq!(overview.current_period_end, Some(t0() + Duration::days(30)));
    assert!(!overview.cancel_at_period_end);
}

// ---------------------------------------------------------------------------------------------
// Stripe-shaped provider events
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_completed_checkout_event_upgrades_the_referenced_user() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;

    let event = e
        .billing()
        .handle_event(&checkout_completed("evt_1", &user, "pro", "sub_123"))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(event.id, "evt_1");
    assert!(matches!(
        event.kind,
        BillingEventKind::CheckoutCompleted {
            plan: PlanTier::Pro,
            ..
        }
    ));
    let overview = e.billing().subscription(user.id()).await.unwrap();
    assert_eq!(overview.plan, PlanTier::Pro);
    assert_eq!(overview.status, Some(SubscriptionStatus::Active));
    let stored = e.store.user(user.id()).await.unwrap().unwrap();
    assert_eq!(stored.stripe_customer_id(), Some("cus_123"));
}

#[tokio::test]
async fn a_completed_checkout_event_may_name_the_user_in_its_metadata() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let payload = stripe_event(
        "evt_1",
        "checkout.session.completed",
        json!({
            "id": "cs_1",
            "subscription": "sub_123",
            "metadata": { "plan": "enterprise", "user_id": user.id().to_string() },
        }),
    );

    e.billing().handle_event(&payload).await.unwrap().unwrap();

    assert_eq!(plan_of(&e, &user).await, PlanTier::Enterprise);
}

#[tokio::test]
async fn the_same_provider_event_delivered_twice_is_applied_once() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let checkout = checkout_completed("evt_1", &user, "pro", "sub_123");
    e.billing().handle_event(&checkout).await.unwrap().unwrap();
    e.billing()
        .handle_event(&subscription_event(
            "evt_2",
            "updated",
            "sub_123",
            json!({ "status": "past_due" }),
        ))
        .await
        .unwrap()
        .unwrap();

    let replay = e.billing().handle_event(&checkout).await.unwrap();

    assert!(replay.is_none(), "{replay:?}");
    let overview = e.billing().subscription(user.id()).await.unwrap();
    assert_eq!(overview.status, Some(SubscriptionStatus::PastDue));
}

#[tokio::test]
async fn a_subscription_going_past_due_keeps_its_plan() {
    let e = TestEngine::new();
    let user = stripe_pro_user(&e, "merchant@example.com").await;

    e.billing()
        .handle_event(&subscription_event(
            "evt_2",
            "updated",
            "sub_123",
            json!({ "status": "past_due" }),
        ))
        .await
        .unwrap()
        .unwrap();

    let overview = e.billing().subscription(user.id()).await.unwrap();
    assert_eq!(overview.status, Some(SubscriptionStatus::PastDue));
    assert_eq!(overview.plan, PlanTier::Pro);
}

#[tokio::test]
async fn a_subscription_update_naming_another_plan_changes_the_plan() {
    let e = TestEngine::new();
    let user = stripe_pro_user(&e, "merchant@example.com").await;

    e.billing()
        .handle_event(&subscription_event(
            "evt_2",
            "updated",
            "sub_123",
            json!({ "status": "active", "metadata": { "plan": "enterprise" } }),
        ))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(plan_of(&e, &user).await, PlanTier::Enterprise);
}

#[tokio::test]
async fn a_deleted_subscription_falls_back_to_free_and_keeps_only_the_oldest_account() {
    let e = TestEngine::new();
    let user = stripe_pro_user(&e, "merchant@example.com").await;
    let oldest = e.connect(&user, Platform::Instagram, "oldest").await;
    e.advance(Duration::minutes(1));
    let middle = e.connect(&user, Platform::Facebook, "middle").await;
    e.advance(Duration::minutes(1));
    let newest = e.connect(&user, Platform::Tiktok, "newest").await;

    e.billing()
        .handle_event(&subscription_event(
            "evt_2",
            "deleted",
            "sub_123",
            json!({ "status": "canceled" }),
        ))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);
    let accounts = e
        .accounts()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    let connected: Vec<_> = accounts
        .items
        .iter()
        .map(|a| (a.id(), a.is_connected()))
        .collect();
    assert_eq!(
        connected,
        [
            (oldest.id(), true),
            (middle.id(), false),
            (newest.id(), false)
        ]
    );
    assert_eq!(accounts.total, 3);
}

#[tokio::test]
async fn a_subscription_set_to_cancel_at_period_end_keeps_its_plan_until_then() {
    let e = TestEngine::new();
    let user = stripe_pro_user(&e, "merchant@example.com").await;
    let period_end = t0() + Duration::days(10);

    e.billing()
        .handle_event(&subscription_event(
            "evt_2",
            "updated",
            "sub_123",
            json!({
                "status": "active",
                "cancel_at_period_end": true,
                "current_period_end": period_end.timestamp(),
            }),
        ))
        .await
        .unwrap()
        .unwrap();

    let overview = e.billing().subscription(user.id()).await.unwrap();
    assert_eq!(overview.plan, PlanTier::Pro);
    assert!(overview.cancel_at_period_end);
    assert_eq!(overview.current_period_end, Some(period_end));
    e.advance(Duration::days(9));
    assert_eq!(plan_of(&e, &user).await, PlanTier::Pro);
}

#[tokio::test]
async fn a_subscription_set_to_cancel_at_period_end_is_free_once_the_period_is_over() {
    let e = TestEngine::new();
    let user = stripe_pro_user(&e, "merchant@example.com").await;
    let period_end = t0() + Duration::days(10);
    e.billing()
        .handle_event(&subscription_event(
            "evt_2",
            "updated",
            "sub_123",
            json!({
                "status": "active",
                "cancel_at_period_end": true,
                "current_period_end": period_end.timestamp(),
            }),
        ))
        .await
        .unwrap()
        .unwrap();

    e.advance(Duration::days(10) + Duration::seconds(1));

    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);
    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().plan,
        PlanTier::Free
    );
}

#[tokio::test]
async fn a_malformed_provider_event_is_rejected_and_not_recorded() {
    let e = TestEngine::new();
    let user = e.user("merchant@example.com").await;
    let without_user = stripe_event(
        "evt_1",
        "checkout.session.completed",
        json!({ "id": "cs_1", "metadata": { "plan": "pro" } }),
    );

    let err = e.billing().handle_event(&without_user).await.unwrap_err();

    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);
    let corrected = e
        .billing()
        .handle_event(&checkout_completed("evt_1", &user, "pro", "sub_123"))
        .await
        .unwrap();
    assert!(
        corrected.is_some(),
        "the event id must not have been recorded"
    );
    assert_eq!(plan_of(&e, &user).await, PlanTier::Pro);
}

#[tokio::test]
async fn payloads_that_are_not_provider_events_are_validation_errors() {
    let e = TestEngine::new();
    let payloads: [&[u8]; 5] = [
        b"",
        b"not json",
        b"{}",
        br#"{"id":"evt_1","type":"checkout.session.completed"}"#,
        br#"{"id":"evt_1","type":"customer.subscription.updated","data":{"object":{"id":"sub_1","status":"sleeping"}}}"#,
    ];

    for payload in payloads {
        let err = e.billing().handle_event(payload).await.unwrap_err();

        assert!(
            matches!(err, Error::Validation(_)),
            "{}: {err:?}",
            String::from_utf8_lossy(payload)
        );
    }
}

#[tokio::test]
async fn an_event_that_fails_to_apply_is_not_recorded_so_its_retry_is_processed() {
    let e = TestEngine::new();
    let user_id = Uuid::new_v4();
    let payload = stripe_event(
        "evt_1",
        "checkout.session.completed",
        json!({
            "id": "cs_1",
            "client_reference_id": user_id.to_string(),
            "subscription": "sub_123",
            "metadata": { "plan": "pro" },
        }),
    );
    let err = e.billing().handle_event(&payload).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let user: User = UserRecord {
        id: user_id.into(),
        email: Email::parse("late@example.com").unwrap(),
        password_hash: "!".into(),
        stripe_customer_id: None,
        external_platform_id: None,
        external_store_id: None,
        time_zone: chrono_tz::Tz::UTC,
        pause_on: postpilot_core::post::PauseOn::Both,
        session_epoch: 0,
        created_at: e.now(),
        updated_at: e.now(),
    }
    .into();
    e.store.insert_user(&user).await.unwrap();

    let retry = e.billing().handle_event(&payload).await.unwrap();

    assert!(retry.is_some(), "{retry:?}");
    assert_eq!(plan_of(&e, &user).await, PlanTier::Pro);
}

#[tokio::test]
async fn a_subscription_event_for_an_unknown_subscription_is_acknowledged_without_effect() {
    let e = TestEngine::new();
    let user = stripe_pro_user(&e, "merchant@example.com").await;

    let event = e
        .billing()
        .handle_event(&subscription_event(
            "evt_2",
            "deleted",
            "sub_someone_else",
            json!({ "status": "canceled" }),
        ))
        .await
        .unwrap();

    assert!(event.is_some());
    assert_eq!(plan_of(&e, &user).await, PlanTier::Pro);
}

#[tokio::test]
async fn provider_events_of_other_types_are_acknowledged_and_ignored() {
    let e = TestEngine::new();

    let event = e
        .billing()
        .handle_event(&stripe_event(
            "evt_1",
            "invoice.paid",
            json!({ "id": "in_1" }),
        ))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        event.kind,
        BillingEventKind::Ignored {
            event_type: "invoice.paid".into()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Platform events
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_provisioned_event_creates_the_user() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let store_id = Uuid::new_v4();

    let outcome = e
        .webhooks()
        .platform_event(platform_event(
            "pe_1",
            "user.provisioned",
            json!({
                "email": "Shop@Example.com",
                "external_platform_id": platform_id,
                "external_store_id": store_id,
                "plan": "pro",
            }),
        ))
        .await
        .unwrap();

    let EventOutcome::UserProvisioned(user_id) = outcome else {
        panic!("expected a provisioned user, got {outcome:?}");
    };
    let profile = e.auth().me(user_id).await.unwrap();
    assert_eq!(profile.user.email().as_ref(), "shop@example.com");
    assert_eq!(profile.user.external_platform_id(), Some(platform_id));
    assert_eq!(profile.user.external_store_id(), Some(store_id));
    assert_eq!(profile.plan, PlanTier::Pro);
}

#[tokio::test]
async fn a_replayed_platform_event_is_a_duplicate() {
    let e = TestEngine::new();
    let event = platform_event(
        "pe_1",
        "user.provisioned",
        json!({ "email": "shop@example.com", "external_platform_id": Uuid::new_v4() }),
    );
    e.webhooks().platform_event(event.clone()).await.unwrap();

    let replay = e.webhooks().platform_event(event).await.unwrap();

    assert_eq!(replay, EventOutcome::Duplicate);
}

#[tokio::test]
async fn a_subscription_updated_event_from_pro_to_free_reports_suspended_api_keys() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let user = provisioned_user(&e, platform_id, PlanTier::Pro).await;

    let outcome = e
        .webhooks()
        .platform_event(platform_event(
            "pe_2",
            "subscription.updated",
            json!({ "external_platform_id": platform_id, "plan": "free", "status": "active" }),
        ))
        .await
        .unwrap();

    assert_eq!(
        outcome,
        EventOutcome::PlanChanged(DowngradeImpact {
            from: PlanTier::Pro,
            to: PlanTier::Free,
            disconnected_accounts: vec![],
            api_keys_suspended: true,
        })
    );
    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);
}

#[tokio::test]
async fn a_subscription_updated_event_to_free_disconnects_the_newest_accounts() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let user = provisioned_user(&e, platform_id, PlanTier::Pro).await;
    let oldest = e.connect(&user, Platform::Instagram, "oldest").await;
    e.advance(Duration::minutes(1));
    let newest = e.connect(&user, Platform::Facebook, "newest").await;

    let outcome = e
        .webhooks()
        .platform_event(platform_event(
            "pe_2",
            "subscription.updated",
            json!({ "external_platform_id": platform_id, "plan": "free", "status": "active" }),
        ))
        .await
        .unwrap();

    let EventOutcome::PlanChanged(impact) = outcome else {
        panic!("expected a plan change, got {outcome:?}");
    };
    assert_eq!(impact.disconnected_accounts, vec![newest.id()]);
    assert!(
        e.accounts()
            .get(user.id(), oldest.id())
            .await
            .unwrap()
            .is_connected()
    );
}

#[tokio::test]
async fn a_subscription_updated_event_upgrading_reports_no_suspension() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();
    let user = provisioned_user(&e, platform_id, PlanTier::Free).await;

    let outcome = e
        .webhooks()
        .platform_event(platform_event(
            "pe_2",
            "subscription.updated",
            json!({ "external_platform_id": platform_id, "plan": "enterprise", "status": "trialing" }),
        ))
        .await
        .unwrap();

    let EventOutcome::PlanChanged(impact) = outcome else {
        panic!("expected a plan change, got {outcome:?}");
    };
    assert_eq!(
        (impact.from, impact.to),
        (PlanTier::Free, PlanTier::Enterprise)
    );
    assert!(!impact.api_keys_suspended);
    assert_eq!(plan_of(&e, &user).await, PlanTier::Enterprise);
}

#[tokio::test]
async fn a_platform_event_of_an_unknown_type_is_ignored() {
    let e = TestEngine::new();

    let outcome = e
        .webhooks()
        .platform_event(platform_event("pe_1", "store.renamed", json!({ "x": 1 })))
        .await
        .unwrap();

    assert_eq!(outcome, EventOutcome::Ignored);
}

#[tokio::test]
async fn a_platform_event_with_bad_data_is_a_validation_error_and_not_recorded() {
    let e = TestEngine::new();
    let platform_id = Uuid::new_v4();

    let err = e
        .webhooks()
        .platform_event(platform_event(
            "pe_1",
            "user.provisioned",
            json!({ "email": "shop@example.com", "external_platform_id": "not-a-uuid" }),
        ))
        .await
        .unwrap_err();

    match &err {
        Error::Validation(v) => assert_eq!(v.field(), "data"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let retry = e
        .webhooks()
        .platform_event(platform_event(
            "pe_1",
            "user.provisioned",
            json!({ "email": "shop@example.com", "external_platform_id": platform_id }),
        ))
        .await
        .unwrap();
    assert!(
        matches!(retry, EventOutcome::UserProvisioned(_)),
        "{retry:?}"
    );
}

#[tokio::test]
async fn platform_event_data_with_unknown_fields_is_rejected() {
    let e = TestEngine::new();

    let err = e
        .webhooks()
        .platform_event(platform_event(
            "pe_1",
            "subscription.updated",
            json!({
                "external_platform_id": Uuid::new_v4(),
                "plan": "pro",
                "status": "active",
                "seats": 3,
            }),
        ))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn a_subscription_updated_event_for_an_unknown_platform_user_is_not_found() {
    let e = TestEngine::new();

    let err = e
        .webhooks()
        .platform_event(platform_event(
            "pe_1",
            "subscription.updated",
            json!({ "external_platform_id": Uuid::new_v4(), "plan": "pro", "status": "active" }),
        ))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// How a subscription's status decides the plan
// ---------------------------------------------------------------------------------------------

fn pro_subscription(
    status: SubscriptionStatus,
    cancel_at_period_end: bool,
    current_period_end: Option<DateTime<Utc>>,
) -> Subscription {
    SubscriptionRecord {
        id: Uuid::new_v4().into(),
        user_id: Uuid::new_v4().into(),
        stripe_subscription_id: Some("sub_123".into()),
        status,
        plan: PlanTier::Pro,
        current_period_start: Some(t0() - Duration::days(20)),
        current_period_end,
        cancel_at_period_end,
        last_event_rank: None,
        created_at: t0() - Duration::days(20),
        updated_at: t0() - Duration::days(20),
    }
    .into()
}

#[test]
fn no_subscription_means_the_free_plan() {
    assert_eq!(effective_plan(None, t0()), PlanTier::Free);
}

#[test]
fn active_trialing_and_past_due_subscriptions_grant_their_plan() {
    for status in [
        SubscriptionStatus::Active,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::PastDue,
    ] {
        for period_end in [
            None,
            Some(t0() + Duration::days(10)),
            Some(t0() - Duration::days(1)),
        ] {
            let subscription = pro_subscription(status, false, period_end);

            assert_eq!(
                subscription.effective_plan(t0()),
                PlanTier::Pro,
                "{status} ending {period_end:?}"
            );
        }
    }
}

#[test]
fn an_active_subscription_set_to_cancel_keeps_its_plan_until_the_period_ends() {
    for status in [
        SubscriptionStatus::Active,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::PastDue,
    ] {
        let end = t0() + Duration::days(10);
        let subscription = pro_subscription(status, true, Some(end));

        assert_eq!(subscription.effective_plan(t0()), PlanTier::Pro, "{status}");
        assert_eq!(
            subscription.effective_plan(end - Duration::seconds(1)),
            PlanTier::Pro,
            "{status}"
        );
        assert_eq!(subscription.effective_plan(end), PlanTier::Free, "{status}");
    }
}

#[test]
fn canceled_and_unpaid_subscriptions_fall_back_to_free() {
    for status in [SubscriptionStatus::Canceled, SubscriptionStatus::Unpaid] {
        for period_end in [
            None,
            Some(t0() + Duration::days(10)),
            Some(t0() - Duration::days(1)),
        ] {
            let subscription = pro_subscription(status, false, period_end);

            assert_eq!(
                subscription.effective_plan(t0()),
                PlanTier::Free,
                "{status} ending {period_end:?}"
            );
        }
    }
}

#[test]
fn a_canceled_or_unpaid_subscription_ending_at_period_end_keeps_its_plan_until_then() {
    for status in [SubscriptionStatus::Canceled, SubscriptionStatus::Unpaid] {
        let end = t0() + Duration::days(10);
        let subscription = pro_subscription(status, true, Some(end));

        assert_eq!(subscription.effective_plan(t0()), PlanTier::Pro, "{status}");
        assert_eq!(subscription.effective_plan(end), PlanTier::Free, "{status}");
        assert_eq!(
            subscription.effective_plan(end + Duration::days(1)),
            PlanTier::Free,
            "{status}"
        );
    }
}

#[test]
fn a_canceled_subscription_ending_at_an_unknown_period_end_is_free() {
    let subscription = pro_subscription(SubscriptionStatus::Canceled, true, None);

    assert_eq!(subscription.effective_plan(t0()), PlanTier::Free);
}

#[test]
fn an_incomplete_subscription_is_free_whatever_its_period() {
    for (cancel, period_end) in [
        (false, None),
        (false, Some(t0() + Duration::days(10))),
        (true, Some(t0() + Duration::days(10))),
    ] {
        let subscription = pro_subscription(SubscriptionStatus::Incomplete, cancel, period_end);

        assert_eq!(
            subscription.effective_plan(t0()),
            PlanTier::Free,
            "cancel {cancel}, ending {period_end:?}"
        );
    }
}

#[tokio::test]
async fn the_deletion_that_follows_a_lapsed_cancellation_disconnects_accounts_beyond_the_free_limit()
 {
    let e = TestEngine::new();
    let user = stripe_pro_user(&e, "merchant@example.com").await;
    let oldest = e.connect(&user, Platform::Instagram, "oldest").await;
    e.advance(Duration::minutes(1));
    let newest = e.connect(&user, Platform::Facebook, "newest").await;
    let period_end = e.now() + Duration::days(10);
    let ending = json!({
        "status": "active",
        "cancel_at_period_end": true,
        "current_period_end": period_end.timestamp(),
    });
    e.billing()
        .handle_event(&subscription_event("evt_2", "updated", "sub_123", ending))
        .await
        .unwrap()
        .unwrap();
    e.clock.set(period_end);

    e.billing()
        .handle_event(&subscription_event(
            "evt_3",
            "deleted",
            "sub_123",
            json!({
                "status": "canceled",
                "cancel_at_period_end": true,
                "current_period_end": period_end.timestamp(),
            }),
        ))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);
    assert!(
        e.accounts()
            .get(user.id(), oldest.id())
            .await
            .unwrap()
            .is_connected()
    );
    assert!(
        !e.accounts()
            .get(user.id(), newest.id())
            .await
            .unwrap()
            .is_connected()
    );
}

// ---------------------------------------------------------------------------------------------
// Events out of order and delivered concurrently
// ---------------------------------------------------------------------------------------------

/// A Stripe event created at `created` (Unix seconds).
fn created_at(mut payload: Vec<u8>, created: i64) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(&payload).unwrap();
    event["created"] = json!(created);
    payload = serde_json::to_vec(&event).unwrap();
    payload
}

/// The subscription events of one subscription a test orders: (name, event, resulting status).
fn lifecycle(user: &User, base: i64) -> Vec<(&'static str, Vec<u8>, SubscriptionStatus)> {
    vec![
        (
            "checkout",
            created_at(checkout_completed("evt_o1", user, "pro", "sub_o"), base),
            SubscriptionStatus::Active,
        ),
        (
            "updated: past_due",
            created_at(
                subscription_event(
                    "evt_o2",
                    "updated",
                    "sub_o",
                    json!({"status": "past_due", "metadata": {"plan": "pro"}}),
                ),
                base + 10,
            ),
            SubscriptionStatus::PastDue,
        ),
        (
            "updated: active",
            created_at(
                subscription_event(
                    "evt_o3",
                    "updated",
                    "sub_o",
                    json!({"status": "active", "metadata": {"plan": "pro"}}),
                ),
                base + 20,
            ),
            SubscriptionStatus::Active,
        ),
        (
            "deleted",
            created_at(
                subscription_event("evt_o4", "deleted", "sub_o", json!({"status": "canceled"})),
                base + 30,
            ),
            SubscriptionStatus::Canceled,
        ),
    ]
}

#[tokio::test]
async fn every_pair_of_subscription_events_ends_in_the_later_events_state_in_either_order() {
    let base = 1_800_000_000;
    for a in 1..4 {
        for b in 1..4 {
            if a == b {
                continue;
            }
            let e = TestEngine::new();
            let user = e.user("order@example.com").await;
            let events = lifecycle(&user, base);
            e.billing().handle_event(&events[0].1).await.unwrap();

            e.billing().handle_event(&events[a].1).await.unwrap();
            e.billing().handle_event(&events[b].1).await.unwrap();

            let stored = e.store.subscription(user.id()).await.unwrap().unwrap();
            let later = &events[a.max(b)];
            assert_eq!(
                stored.status(),
                later.2,
                "{} then {}: the later-created {} wins",
                events[a].0,
                events[b].0,
                later.0
            );
        }
    }
}

#[tokio::test]
async fn an_older_checkout_arriving_after_the_deletion_does_not_reactivate_the_plan() {
    let e = TestEngine::new();
    let user = e.user("late-checkout@example.com").await;
    let events = lifecycle(&user, 1_800_000_000);
    e.billing().handle_event(&events[0].1).await.unwrap();
    e.billing().handle_event(&events[3].1).await.unwrap();
    // Another completed checkout of the same subscription, stamped before the deletion.
    let stale = created_at(
        checkout_completed("evt_o1_again", &user, "pro", "sub_o"),
        1_800_000_005,
    );

    e.billing().handle_event(&stale).await.unwrap();

    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);
}

#[tokio::test]
async fn an_older_update_arriving_after_the_deletion_does_not_reactivate_the_plan() {
    let e = TestEngine::new();
    let user = e.user("late@example.com").await;
    let events = lifecycle(&user, 1_800_000_000);
    e.billing().handle_event(&events[0].1).await.unwrap();
    e.billing().handle_event(&events[3].1).await.unwrap();
    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);

    let late = e.billing().handle_event(&events[2].1).await.unwrap();

    assert!(
        late.is_some(),
        "acknowledged and recorded, not retried forever"
    );
    assert_eq!(plan_of(&e, &user).await, PlanTier::Free);
    let stored = e.store.subscription(user.id()).await.unwrap().unwrap();
    assert_eq!(stored.status(), SubscriptionStatus::Canceled);
}

#[tokio::test]
async fn events_of_the_same_second_are_ordered_by_how_final_their_status_is() {
    for deleted_first in [true, false] {
        let e = TestEngine::new();
        let user = e.user("tie@example.com").await;
        let t = 1_800_000_000;
        let checkout = created_at(checkout_completed("evt_t1", &user, "pro", "sub_t"), t);
        let updated = created_at(
            subscription_event(
                "evt_t2",
                "updated",
                "sub_t",
                json!({"status": "active", "metadata": {"plan": "pro"}}),
            ),
            t + 5,
        );
        let deleted = created_at(
            subscription_event("evt_t3", "deleted", "sub_t", json!({"status": "canceled"})),
            t + 5,
        );
        e.billing().handle_event(&checkout).await.unwrap();
        let (first, second) = if deleted_first {
            (&deleted, &updated)
        } else {
            (&updated, &deleted)
        };
        e.billing().handle_event(first).await.unwrap();
        e.billing().handle_event(second).await.unwrap();
        let stored = e.store.subscription(user.id()).await.unwrap().unwrap();
        assert_eq!(
            stored.status(),
            SubscriptionStatus::Canceled,
            "deleted first: {deleted_first}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_of_one_event_apply_it_once() {
    let e = TestEngine::new();
    let user = e.user("burst@example.com").await;
    let payload = checkout_completed("evt_burst", &user, "pro", "sub_burst");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let billing = e.billing();
            let payload = payload.clone();
            tokio::spawn(async move { billing.handle_event(&payload).await })
        })
        .collect();
    let (mut applied, mut duplicate, mut busy) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(Some(_)) => applied += 1,
            Ok(None) => duplicate += 1,
            Err(Error::Conflict(_)) => busy += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(applied, 1, "duplicates {duplicate}, in progress {busy}");
    assert_eq!(applied + duplicate + busy, 20);
    assert!(e.billing().handle_event(&payload).await.unwrap().is_none());
}

#[tokio::test]
async fn a_delivery_whose_application_failed_is_applied_by_the_next_one() {
    let e = TestEngine::new();
    let user = e.user("retry@example.com").await;
    // A checkout naming a user that does not exist fails to apply (not found) …
    let ghost = postpilot_core::testing::user_with(Uuid::new_v4().into(), "ghost@example.com");
    let failing = checkout_completed("evt_retry", &ghost, "pro", "sub_r");
    assert!(e.billing().handle_event(&failing).await.is_err());
    // … and is not recorded: the provider's retry of the same id is processed.
    let fixed = checkout_completed("evt_retry", &user, "pro", "sub_r");
    assert!(e.billing().handle_event(&fixed).await.unwrap().is_some());
    assert_eq!(plan_of(&e, &user).await, PlanTier::Pro);
}

#[tokio::test]
async fn configured_plans_are_the_limits_the_engine_enforces_and_the_plans_it_lists() {
    use postpilot_core::plan::{PlanFile, Plans, PlansFile};
    let plans = Plans::parse(PlansFile {
        free: Some(PlanFile {
            name: Some("Starter".into()),
            accounts: Some(2),
            ..PlanFile::default()
        }),
        ..PlansFile::default()
    })
    .unwrap();
    let e = TestEngine::with_ports(|builder| builder.plans(plans));
    let u = e.user("starter@example.com").await;

    e.connect(&u, Platform::Instagram, "ig-1").await;
    e.connect(&u, Platform::Facebook, "fb-1").await;
    let third = e
        .accounts()
        .connect(
            u.id(),
            crate::test_engine::connect_request(Platform::Tiktok, "tt-1"),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(third, Error::PlanLimit { limit: 2, .. }),
        "{third:?}"
    );
    let [free, pro, _] = e.billing().plans();
    assert_eq!(
        (free.name.as_str(), free.max_secondary.max()),
        ("Starter", Some(2))
    );
    assert_eq!(
        pro.max_secondary.max(),
        Some(10),
        "what the file leaves out keeps its default"
    );
    assert_eq!(
        e.usage().usage(u.id()).await.unwrap().accounts_limit.max(),
        Some(2)
    );
}
