//! The outbox end to end: a merchant's change writes an event, the delivery worker signs it and
//! sends it through the real `HttpDeliverer` to a local receiver, and what the receiver answers
//! decides what becomes of the delivery and of the endpoint.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{Duration, Utc};
use postpilot_clients::webhook::HttpDeliverer;
use postpilot_core::Engine;
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::clock::{Clock, ManualClock};
use postpilot_core::crypto::SecretString;
use postpilot_core::event::address::AddressPolicy;
use postpilot_core::event::signature::{EndpointSecret, SignedHeaders, verify};
use postpilot_core::event::{
    DELIVERY_LEASE, DeliveryStatus, DeliveryWorker, DeliveryWorkerConfig, NewEndpointRequest,
};
use postpilot_core::id::{EndpointId, UserId};
use postpilot_core::page::PageRequest;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, Duplicates};

const LOOPBACK: AddressPolicy = AddressPolicy {
    allow_loopback: true,
};

/// A receiver that answers with the status it is set to, and keeps what it was sent.
struct Receiver {
    url: String,
    answer: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<(SignedHeaders, Bytes)>>>,
}

async fn receiver() -> Receiver {
    let answer = Arc::new(AtomicU16::new(204));
    let received = Arc::new(Mutex::new(Vec::new()));
    let (status, kept) = (answer.clone(), received.clone());
    let app = Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let (status, kept) = (status.clone(), kept.clone());
            async move {
                let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
                let signed = SignedHeaders {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                };
                kept.lock().unwrap().push((signed, body));
                StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url,
        answer,
        received,
    }
}

struct Merchant {
    engine: Engine,
    clock: Arc<ManualClock>,
    user: UserId,
    account: postpilot_core::id::AccountId,
    endpoint: EndpointId,
    secret: EndpointSecret,
    worker: DeliveryWorker,
}

async fn merchant(receiver: &Receiver) -> Merchant {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::builder()
        .simulated()
        .clock(clock.clone())
        .webhook_addresses(LOOPBACK)
        .build()
        .unwrap();
    let user = engine
        .auth()
        .register("hooks@example.com", "correct horse battery")
        .await
        .unwrap()
        .id();
    let account = engine
        .accounts()
        .connect(
            user,
            ConnectAccount {
                platform: Platform::Facebook,
                account_name: AccountName::parse("Aurora Lamps").unwrap(),
                account_id_external: ExternalAccountId::parse("1001").unwrap(),
                access_token: Some(SecretString::new("token")),
                refresh_token: None,
            },
        )
        .await
        .unwrap()
        .id();
    let created = engine
        .endpoints()
        .create(
            user,
            NewEndpointRequest {
                url: receiver.url.clone(),
                event_types: vec!["post.scheduled".into()],
                description: "the shop".into(),
            },
        )
        .await
        .unwrap();
    let worker = engine.delivery_worker(
        Arc::new(HttpDeliverer::new(LOOPBACK).unwrap()),
        DeliveryWorkerConfig::default(),
    );
    Merchant {
        clock,
        user,
        account,
        endpoint: created.endpoint.id(),
        secret: created.secret,
        worker,
        engine,
    }
}

impl Merchant {
    /// Schedules a post an hour ahead: one `post.scheduled` event.
    async fn schedule(&self, caption: &str) {
        self.engine
            .posts()
            .create(
                self.user,
                CreatePost {
                    account_id: self.account,
                    content: caption.into(),
                    media_urls: vec!["https://cdn.example.com/lamp.jpg".into()],
                    hashtags: Vec::new(),
                    scheduled_for: Some(self.clock.now() + Duration::hours(1)),
                    duplicates: Duplicates::Refuse,
                },
            )
            .await
            .unwrap();
    }

    async fn deliveries(&self) -> Vec<postpilot_core::event::Delivery> {
        self.engine
            .endpoints()
            .deliveries(
                self.user,
                self.endpoint,
                None,
                PageRequest::new(None, None).unwrap(),
            )
            .await
            .unwrap()
            .items
    }
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_leaves_the_event_to_the_next_one_under_the_same_id() {
    let receiver = receiver().await;
    let shop = merchant(&receiver).await;
    shop.schedule("The Aurora Desk Lamp is back").await;

    // A worker claims the delivery and dies before sending it.
    let store = shop.engine.store().clone();
    let lost = store
        .claim_deliveries(shop.clock.now(), 10, DELIVERY_LEASE)
        .await
        .unwrap();
    assert_eq!(lost.len(), 1);
    let (nothing, _) = shop.worker.deliver_due().await.unwrap();
    assert_eq!(nothing.delivered, 0, "still claimed by the dead worker");

    // Its lease runs out: the next worker sends it, once.
    shop.clock.advance(DELIVERY_LEASE);
    let (totals, _) = shop.worker.deliver_due().await.unwrap();
    assert_eq!(totals.delivered, 1);
    assert_eq!(shop.worker.deliver_due().await.unwrap().1, 0, "settled");

    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    assert_eq!(headers.id, lost[0].event.webhook_id(), "the event's one id");
    verify(headers, body, &shop.secret, shop.clock.now()).unwrap();
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["type"], "post.scheduled");
    assert_eq!(body["version"], 1);
    assert_eq!(body["data"]["account_id"], shop.account.to_string());
    let log = shop.deliveries().await;
    assert_eq!(
        (log[0].status(), log[0].attempts(), log[0].response_status()),
        (DeliveryStatus::Delivered, 1, Some(204))
    );

    // A re-send sends the same event again, under the same id.
    shop.engine
        .endpoints()
        .resend(shop.user, shop.endpoint, log[0].id())
        .await
        .unwrap();
    shop.worker.deliver_due().await.unwrap();
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].0.id, received[0].0.id);
    assert_eq!(received[1].1, received[0].1, "the same bytes");
}

#[tokio::test]
async fn failures_retry_on_the_schedule_a_410_disables_the_endpoint_and_leaves_a_dead_letter() {
    let receiver = receiver().await;
    let shop = merchant(&receiver).await;
    receiver.answer.store(500, Ordering::SeqCst);
    shop.schedule("The Aurora Desk Lamp is back").await;

    let (failed, _) = shop.worker.deliver_due().await.unwrap();
    assert_eq!(failed.failed, 1);
    let log = shop.deliveries().await;
    assert_eq!(
        (log[0].status(), log[0].response_status()),
        (DeliveryStatus::Pending, Some(500))
    );
    let retry_at = log[0].next_attempt_at().unwrap();
    let wait = retry_at - shop.clock.now();
    assert!(
        wait >= Duration::seconds(5) && wait <= Duration::seconds(6),
        "{wait}"
    );
    let failing = shop
        .engine
        .endpoints()
        .get(shop.user, shop.endpoint)
        .await
        .unwrap();
    assert_eq!(failing.failing_since(), Some(shop.clock.now()));
    assert_eq!(
        shop.worker.deliver_due().await.unwrap().1,
        0,
        "not before its retry"
    );

    receiver.answer.store(410, Ordering::SeqCst);
    shop.clock.advance(wait);
    let (gone, _) = shop.worker.deliver_due().await.unwrap();
    assert_eq!((gone.dead, gone.failed), (1, 1));
    let log = shop.deliveries().await;
    assert_eq!(log[0].status(), DeliveryStatus::Dead);
    let endpoint = shop
        .engine
        .endpoints()
        .get(shop.user, shop.endpoint)
        .await
        .unwrap();
    assert!(endpoint.is_disabled());
    assert_eq!(
        endpoint.disabled_reason(),
        Some("the endpoint answered 410 Gone")
    );

    // A disabled endpoint gets nothing, even a re-send, until its owner enables it again.
    receiver.answer.store(204, Ordering::SeqCst);
    shop.engine
        .endpoints()
        .resend(shop.user, shop.endpoint, log[0].id())
        .await
        .unwrap();
    assert_eq!(shop.worker.deliver_due().await.unwrap().1, 0);
    shop.engine
        .endpoints()
        .update(
            shop.user,
            shop.endpoint,
            postpilot_core::event::EndpointPatch {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(shop.worker.deliver_due().await.unwrap().0.delivered, 1);
    assert_eq!(receiver.received.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn the_operators_endpoint_receives_every_merchants_events_signed_with_the_operators_secret() {
    let merchants_receiver = receiver().await;
    let operators_receiver = receiver().await;
    let shop = merchant(&merchants_receiver).await;
    let secret = EndpointSecret::generate().unwrap();
    let endpoints = shop.engine.endpoints();
    let operator = endpoints
        .configure_operator(operators_receiver.url.clone(), &secret.reveal(), &[])
        .await
        .unwrap();
    assert_eq!(operator.id(), postpilot_core::event::OPERATOR_ENDPOINT);

    shop.schedule("The Aurora Desk Lamp is back").await;
    let (totals, _) = shop.worker.deliver_due().await.unwrap();

    assert_eq!(
        totals.delivered, 2,
        "the merchant's endpoint and the operator's"
    );
    let received = operators_receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    verify(&received[0].0, &received[0].1, &secret, shop.clock.now()).unwrap();
    let log = endpoints
        .deliveries(
            postpilot_core::event::OPERATOR,
            postpilot_core::event::OPERATOR_ENDPOINT,
            None,
            PageRequest::new(None, None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(log.items[0].status(), DeliveryStatus::Delivered);

    // The same settings at the next start change nothing; a new secret rotates (both sign).
    let again = endpoints
        .configure_operator(operators_receiver.url.clone(), &secret.reveal(), &[])
        .await
        .unwrap();
    assert_eq!(
        again.previous_secret_expires_at(),
        None,
        "the same secret kept"
    );
    assert_eq!(again.updated_at(), operator.updated_at(), "nothing written");
    let squatting = endpoints
        .create(
            postpilot_core::event::OPERATOR,
            NewEndpointRequest {
                url: operators_receiver.url.clone(),
                event_types: Vec::new(),
                description: String::new(),
            },
        )
        .await;
    assert!(
        squatting.is_err(),
        "the operator's endpoint is configured, not registered"
    );
    let next = EndpointSecret::generate().unwrap();
    let rotated = endpoints
        .configure_operator(operators_receiver.url.clone(), &next.reveal(), &[])
        .await
        .unwrap();
    assert!(rotated.previous_secret_expires_at().is_some());
    endpoints.remove_operator().await.unwrap();
    assert!(
        endpoints
            .get(
                postpilot_core::event::OPERATOR,
                postpilot_core::event::OPERATOR_ENDPOINT
            )
            .await
            .is_err()
    );
}
