//! Webhook deliveries against a local receiver that answers as real ones do: 2xx, errors, a
//! timeout, 410 Gone, 429 with Retry-After, a redirect, a long body — and the address guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use postpilot_clients::webhook::HttpDeliverer;
use postpilot_core::event::EndpointUrl;
use postpilot_core::event::address::AddressPolicy;
use postpilot_core::event::delivery::{DeliveryOutcome, EventDeliverer, MAX_RESPONSE_BYTES};
use postpilot_core::event::signature::{EndpointSecret, SignedHeaders, sign, verify};

const LOOPBACK: AddressPolicy = AddressPolicy {
    allow_loopback: true,
};

/// A receiver on a free loopback port; `hits` counts requests to `/ok`.
struct Receiver {
    base: String,
    hits: Arc<AtomicUsize>,
    secret: EndpointSecret,
}

async fn receiver() -> Receiver {
    let hits = Arc::new(AtomicUsize::new(0));
    let secret = EndpointSecret::generate().unwrap();
    let (counted, checked) = (hits.clone(), secret.clone());
    let app = Router::new()
        .route(
            "/ok",
            post(move |headers: HeaderMap, body: Bytes| {
                let (hits, secret) = (counted.clone(), checked.clone());
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let header =
                        |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
                    let signed = SignedHeaders {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                    };
                    match verify(&signed, &body, &secret, Utc::now()) {
                        Ok(()) if header("content-type") == "application/json" => {
                            (StatusCode::NO_CONTENT, String::new())
                        }
                        other => (StatusCode::UNAUTHORIZED, format!("{other:?}")),
                    }
                }
            }),
        )
        .route(
            "/fail",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "database down") }),
        )
        .route("/gone", post(|| async { StatusCode::GONE }))
        .route(
            "/busy",
            post(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "120")],
                    "slow down",
                )
            }),
        )
        .route(
            "/moved",
            post(|| async { (StatusCode::FOUND, [("location", "/ok")]).into_response() }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                StatusCode::OK
            }),
        )
        .route("/chatty", post(|| async { "x".repeat(10_000) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { base, hits, secret }
}

impl Receiver {
    async fn deliver(&self, deliverer: &HttpDeliverer, path: &str) -> (DeliveryOutcome, String) {
        let url = EndpointUrl::parse(format!("{}{path}", self.base)).unwrap();
        let body = br#"{"type":"post.published","data":{}}"#;
        let headers = sign(
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            Utc::now(),
            body,
            &[&self.secret],
        );
        let attempt = deliverer.deliver(&url, &headers, body).await;
        (attempt.outcome, attempt.response)
    }
}

fn failed(outcome: &DeliveryOutcome) -> (Option<u16>, &str, Option<Duration>) {
    match outcome {
        DeliveryOutcome::Failed {
            status,
            error,
            retry_after,
        } => (*status, error.as_str(), *retry_after),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_signed_delivery_is_verified_by_the_receiver_and_delivered() {
    let receiver = receiver().await;
    let deliverer = HttpDeliverer::new(LOOPBACK).unwrap();

    let (outcome, _) = receiver.deliver(&deliverer, "/ok").await;

    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 204 });
    assert_eq!(receiver.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn errors_gone_retry_after_and_redirects_are_told_apart_and_redirects_not_followed() {
    let receiver = receiver().await;
    let deliverer = HttpDeliverer::new(LOOPBACK).unwrap();

    let (error, response) = receiver.deliver(&deliverer, "/fail").await;
    let (gone, _) = receiver.deliver(&deliverer, "/gone").await;
    let (busy, _) = receiver.deliver(&deliverer, "/busy").await;
    let (moved, _) = receiver.deliver(&deliverer, "/moved").await;

    assert_eq!(failed(&error).0, Some(500));
    assert_eq!(response, "database down");
    assert_eq!(gone, DeliveryOutcome::Gone);
    assert_eq!(failed(&busy).0, Some(429));
    assert_eq!(failed(&busy).2, Some(Duration::from_secs(120)));
    assert_eq!(failed(&moved).0, Some(302));
    assert!(failed(&moved).1.contains("redirects are not followed"));
    assert_eq!(
        receiver.hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn a_receiver_slower_than_the_limit_has_failed_and_a_long_answer_is_cut_to_a_kilobyte() {
    let receiver = receiver().await;
    let impatient = HttpDeliverer::with_timeout(LOOPBACK, Duration::from_millis(300)).unwrap();
    let deliverer = HttpDeliverer::new(LOOPBACK).unwrap();

    let (slow, _) = receiver.deliver(&impatient, "/slow").await;
    let (chatty, response) = receiver.deliver(&deliverer, "/chatty").await;

    let (status, error, _) = failed(&slow);
    assert_eq!(status, None);
    assert!(error.contains("no answer within"), "{error}");
    assert_eq!(chatty, DeliveryOutcome::Delivered { status: 200 });
    assert_eq!(response.len(), MAX_RESPONSE_BYTES);
}

#[tokio::test]
async fn without_the_loopback_setting_nothing_reaches_a_loopback_receiver() {
    let receiver = receiver().await;
    let strict = HttpDeliverer::new(AddressPolicy::default()).unwrap();
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();

    let (literal, _) = receiver.deliver(&strict, "/ok").await;
    let by_name = EndpointUrl::parse(format!("http://localhost:{port}/ok")).unwrap();
    let headers = sign("msg_1", Utc::now(), b"{}", &[&receiver.secret]);
    let named = strict.deliver(&by_name, &headers, b"{}").await.outcome;

    for outcome in [&literal, &named] {
        let (status, error, _) = failed(outcome);
        assert_eq!(status, None);
        assert!(error.contains("loopback"), "{error}");
    }
    assert_eq!(receiver.hits.load(Ordering::SeqCst), 0);
}
