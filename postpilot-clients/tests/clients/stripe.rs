//! Stripe billing against a local fake speaking Stripe's documented shapes, through the engine's
//! billing service: checkout, the events Stripe sends (re-read, deduplicated, in any order), the
//! portal.

use std::sync::Arc;

use postpilot_clients::http::Timeouts;
use postpilot_clients::stripe::{StripeBilling, StripeConfig, StripePrices};
use postpilot_clients::testing::{
    FAKE_PRICE_ENTERPRISE, FAKE_PRICE_PRO, FAKE_STRIPE_KEY, FakeStripe,
};
use postpilot_core::Engine;
use postpilot_core::billing::SubscriptionStatus;
use postpilot_core::crypto::SecretString;
use postpilot_core::plan::PlanTier;
use postpilot_core::user::User;
use serde_json::json;

struct Store {
    engine: Engine,
    fake: FakeStripe,
    user: User,
}

async fn open_with_key(key: &str) -> Store {
    open_with(key, FAKE_PRICE_ENTERPRISE).await
}

async fn open_with(key: &str, enterprise_price: &str) -> Store {
    let fake = FakeStripe::start().await;
    let billing = StripeBilling::new(StripeConfig {
        api_url: fake.base_url.clone(),
        secret_key: SecretString::new(key),
        prices: StripePrices {
            pro: FAKE_PRICE_PRO.into(),
            enterprise: enterprise_price.into(),
        },
        return_url: "https://app.example.com/billing".into(),
        timeouts: Timeouts::default(),
    })
    .unwrap();
    let engine = Engine::builder()
        .simulated()
        .billing(Arc::new(billing))
        .build()
        .unwrap();
    let user = engine
        .auth()
        .register("buyer@example.com", "correct horse battery")
        .await
        .unwrap();
    Store { engine, fake, user }
}

async fn open() -> Store {
    open_with_key(FAKE_STRIPE_KEY).await
}

impl Store {
    async fn deliver(&self, event: &[u8]) -> bool {
        self.engine
            .billing()
            .handle_event(event)
            .await
            .unwrap()
            .is_some()
    }

    async fn plan(&self) -> (PlanTier, Option<SubscriptionStatus>) {
        let s = self
            .engine
            .billing()
            .subscription(self.user.id())
            .await
            .unwrap();
        (s.plan, s.status)
    }

    /// Checks out `plan` and pays: the subscription's id and the two events Stripe sends.
    async fn subscribe(&self, plan: PlanTier) -> (String, Vec<Vec<u8>>) {
        let session = self
            .engine
            .billing()
            .checkout(self.user.id(), plan)
            .await
            .unwrap();
        self.fake.complete_checkout(&session.session_id)
    }
}

#[tokio::test]
async fn a_paid_checkout_activates_the_plan_once_stripe_says_so() {
    let shop = open().await;
    let session = shop
        .engine
        .billing()
        .checkout(shop.user.id(), PlanTier::Pro)
        .await
        .unwrap();

    assert!(
        session
            .checkout_url
            .starts_with(&format!("{}/pay/cs_test_", shop.fake.base_url))
    );
    assert_eq!(
        shop.plan().await,
        (PlanTier::Free, None),
        "nothing is granted before payment"
    );
    let posted = shop.fake.calls();
    let checkout = posted
        .iter()
        .find(|c| c.path == "/v1/checkout/sessions")
        .unwrap();
    let field = |k: &str| {
        checkout
            .form
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("mode"), Some("subscription"));
    assert_eq!(field("line_items[0][price]"), Some(FAKE_PRICE_PRO));
    assert_eq!(
        field("client_reference_id"),
        Some(shop.user.id().to_string().as_str())
    );
    assert_eq!(
        field("success_url"),
        Some("https://app.example.com/billing?checkout=success")
    );
    assert!(
        posted.iter().all(|c| c.idempotency_key.is_some()),
        "every POST has an idempotency key"
    );

    let (_, events) = shop.fake.complete_checkout(&session.session_id);
    for event in &events {
        assert!(shop.deliver(event).await);
    }
    assert_eq!(
        shop.plan().await,
        (PlanTier::Pro, Some(SubscriptionStatus::Active))
    );
    let overview = shop
        .engine
        .billing()
        .subscription(shop.user.id())
        .await
        .unwrap();
    assert!(
        overview.current_period_end.is_some(),
        "the period is read from the subscription item"
    );
}

#[tokio::test]
async fn a_second_checkout_reuses_the_customer() {
    let shop = open().await;
    shop.engine
        .billing()
        .checkout(shop.user.id(), PlanTier::Pro)
        .await
        .unwrap();
    shop.engine
        .billing()
        .checkout(shop.user.id(), PlanTier::Enterprise)
        .await
        .unwrap();

    assert_eq!(shop.fake.customers(), 1);
    let created = shop
        .fake
        .calls()
        .into_iter()
        .find(|c| c.path == "/v1/customers")
        .unwrap();
    assert_eq!(
        created.idempotency_key.as_deref(),
        Some(format!("postpilot-customer-{}", shop.user.id().as_uuid()).as_str()),
        "a retried first checkout cannot create a second customer"
    );
}

#[tokio::test]
async fn an_event_delivered_twice_is_applied_once() {
    let shop = open().await;
    let (_, events) = shop.subscribe(PlanTier::Pro).await;

    assert!(shop.deliver(&events[0]).await);
    assert!(
        !shop.deliver(&events[0]).await,
        "the redelivery is acknowledged, not applied"
    );
    assert_eq!(shop.plan().await.0, PlanTier::Pro);
}

#[tokio::test]
async fn a_cancellation_ends_the_plan() {
    let shop = open().await;
    let (sub, events) = shop.subscribe(PlanTier::Enterprise).await;
    for event in &events {
        shop.deliver(event).await;
    }
    assert_eq!(shop.plan().await.0, PlanTier::Enterprise);

    shop.deliver(&shop.fake.cancel(&sub)).await;

    assert_eq!(
        shop.plan().await,
        (PlanTier::Free, Some(SubscriptionStatus::Canceled))
    );
}

#[tokio::test]
async fn a_failed_renewal_keeps_the_plan_past_due_while_stripe_retries() {
    let shop = open().await;
    let (sub, events) = shop.subscribe(PlanTier::Pro).await;
    for event in &events {
        shop.deliver(event).await;
    }

    let failed = shop.fake.fail_payment(&sub);
    // The invoice event alone moves the subscription: it is re-read.
    shop.deliver(&failed[0]).await;

    assert_eq!(
        shop.plan().await,
        (PlanTier::Pro, Some(SubscriptionStatus::PastDue))
    );
}

#[tokio::test]
async fn a_plan_changed_in_the_portal_is_read_from_the_price() {
    let shop = open().await;
    let (sub, events) = shop.subscribe(PlanTier::Pro).await;
    for event in &events {
        shop.deliver(event).await;
    }

    // The portal swaps the price; the metadata still says pro.
    let upgraded = shop.fake.update(&sub, |s| {
        s["items"]["data"][0]["price"]["id"] = json!(FAKE_PRICE_ENTERPRISE);
    });
    shop.deliver(&upgraded).await;

    assert_eq!(shop.plan().await.0, PlanTier::Enterprise);
}

#[tokio::test]
async fn every_order_of_two_events_ends_in_stripes_latest_state() {
    for reversed in [false, true] {
        let shop = open().await;
        let (sub, events) = shop.subscribe(PlanTier::Pro).await;
        for event in &events {
            shop.deliver(event).await;
        }
        let upgraded = shop.fake.update(&sub, |s| {
            s["items"]["data"][0]["price"]["id"] = json!(FAKE_PRICE_ENTERPRISE);
        });
        let canceled = shop.fake.cancel(&sub);
        let mut order = [upgraded, canceled];
        if reversed {
            order.reverse();
        }
        for event in &order {
            shop.deliver(event).await;
        }
        assert_eq!(
            shop.plan().await,
            (PlanTier::Free, Some(SubscriptionStatus::Canceled)),
            "reversed: {reversed}"
        );
    }
}

#[tokio::test]
async fn a_subscription_event_before_its_checkout_is_applied_to_the_user_it_names() {
    let shop = open().await;
    let (_, events) = shop.subscribe(PlanTier::Pro).await;

    // customer.subscription.created first: the re-read subscription names its user.
    assert!(shop.deliver(&events[1]).await);
    assert_eq!(
        shop.plan().await,
        (PlanTier::Pro, Some(SubscriptionStatus::Active))
    );
    assert!(shop.deliver(&events[0]).await);

    assert_eq!(
        shop.plan().await,
        (PlanTier::Pro, Some(SubscriptionStatus::Active))
    );
}

#[tokio::test]
async fn a_cancellation_delivered_before_the_checkout_is_not_undone_by_it() {
    let shop = open().await;
    let (sub, events) = shop.subscribe(PlanTier::Pro).await;
    let canceled = shop.fake.cancel(&sub);

    shop.deliver(&canceled).await;
    for event in &events {
        shop.deliver(event).await;
    }

    assert_eq!(
        shop.plan().await,
        (PlanTier::Free, Some(SubscriptionStatus::Canceled))
    );
}

#[tokio::test]
async fn a_subscribed_user_is_sent_to_the_portal_instead_of_a_second_checkout() {
    let shop = open().await;
    let (_, events) = shop.subscribe(PlanTier::Pro).await;
    for event in &events {
        shop.deliver(event).await;
    }

    let e = shop
        .engine
        .billing()
        .checkout(shop.user.id(), PlanTier::Enterprise)
        .await
        .unwrap_err();

    assert!(
        matches!(&e, postpilot_core::Error::Conflict(m) if m.contains("billing portal")),
        "{e:?}"
    );
    let sessions = shop
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.path == "/v1/checkout/sessions");
    assert_eq!(sessions.count(), 1, "no second subscription was started");
}

#[tokio::test]
async fn the_portal_opens_for_a_subscribed_customer() {
    let shop = open().await;
    shop.subscribe(PlanTier::Pro).await;

    let url = shop.engine.billing().portal(shop.user.id()).await.unwrap();

    assert!(url.starts_with(&format!("{}/portal/bps_", shop.fake.base_url)));
    let call = shop
        .fake
        .calls()
        .into_iter()
        .find(|c| c.path == "/v1/billing_portal/sessions")
        .unwrap();
    assert!(call.form.contains(&(
        "return_url".into(),
        "https://app.example.com/billing".into()
    )));
}

#[tokio::test]
async fn a_refused_key_is_unavailable_and_never_repeated_in_the_error() {
    let shop = open_with_key("sk_test_wrongKey42").await;

    let e = shop
        .engine
        .billing()
        .checkout(shop.user.id(), PlanTier::Pro)
        .await
        .unwrap_err();

    let message = format!("{e:?}");
    assert!(message.contains("check STRIPE_SECRET_KEY"), "{message}");
    assert!(!message.contains("wrongKey42"));
    assert_eq!(shop.fake.calls().len(), 1, "a refused key is not retried");
}

#[tokio::test]
async fn the_customer_is_kept_when_the_checkout_after_it_fails() {
    // Stripe does not know this price: the session fails after the customer was made.
    let shop = open_with(FAKE_STRIPE_KEY, "price_unknownToStripe").await;

    let failed = shop
        .engine
        .billing()
        .checkout(shop.user.id(), PlanTier::Enterprise)
        .await;
    assert!(failed.is_err());

    // The customer was stored: the portal (which needs one) opens.
    shop.engine.billing().portal(shop.user.id()).await.unwrap();
    shop.engine
        .billing()
        .checkout(shop.user.id(), PlanTier::Pro)
        .await
        .unwrap();
    assert_eq!(shop.fake.customers(), 1);
}
