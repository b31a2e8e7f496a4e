//! What the services do when a port misbehaves: a caption generator that is down, refuses, or
//! returns something the platforms would refuse; a publisher that rejects or cannot look a post
//! up; a billing provider that fails; a store that fails a write.

use std::sync::Arc;

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::billing::{BillingError, MockBillingGateway};
use postpilot_core::caption::{
    CaptionError, GeneratedCaption, Generator, MockCaptionGenerator, Tone,
};
use postpilot_core::crypto::SecretString;
use postpilot_core::page::PageRequest;
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::{Caption, Hashtags, PostStatus, Published};
use postpilot_core::publish::{AttemptOutcome, MockPublisher, PublishError};
use postpilot_core::queue::{CreateQueueItem, QueueStatus};
use postpilot_core::store::{AttemptStore, PostStore};

use crate::test_engine::{self, TestEngine, product};

fn captions(generator: MockCaptionGenerator) -> TestEngine {
    TestEngine::with_ports(|b| b.captions(Arc::new(generator)))
}

fn facebook_publisher(publisher: MockPublisher) -> TestEngine {
    TestEngine::with_ports(|b| b.publisher(Platform::Facebook, Arc::new(publisher)))
}

async fn queue_is_empty(e: &TestEngine, user: &postpilot_core::user::User) -> bool {
    e.queue()
        .list(user.id(), None, PageRequest::default())
        .await
        .unwrap()
        .total
        == 0
}

// ---------------------------------------------------------------------------------------------
// Caption generator
// ---------------------------------------------------------------------------------------------

/// A mock caption generator, not metered (the templates' kind: no plan count).
fn caption_generator() -> MockCaptionGenerator {
    let mut generator = MockCaptionGenerator::new();
    generator.expect_metered().return_const(false);
    generator
}

#[tokio::test]
async fn an_unavailable_caption_generator_makes_generate_unavailable_and_stores_nothing() {
    let mut generator = caption_generator();
    generator
        .expect_generate()
        .times(1)
        .returning(|_| Err(CaptionError::Unavailable("LLM timed out".into())));
    let e = captions(generator);
    let u = e.user("a@example.com").await;

    let err = e
        .queue()
        .generate(
            u.id(),
            product("Lamp"),
            vec![Platform::Instagram],
            Tone::Casual,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::Unavailable {
                what: "caption generator",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(queue_is_empty(&e, &u).await);
}

#[tokio::test]
async fn a_caption_generator_that_refuses_the_product_is_a_validation_error() {
    let mut generator = caption_generator();
    generator.expect_generate().times(1).returning(|_| {
        Err(CaptionError::Refused(
            "the product violates the content policy".into(),
        ))
    });
    let e = captions(generator);
    let u = e.user("a@example.com").await;

    let err = e
        .queue()
        .generate(
            u.id(),
            product("Lamp"),
            vec![Platform::Instagram],
            Tone::Casual,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "product_data"
            && v.reason().contains("content policy")),
        "{err:?}"
    );
    assert!(queue_is_empty(&e, &u).await);
}

#[tokio::test]
async fn a_generated_caption_over_tiktoks_utf16_limit_is_not_trusted() {
    let mut generator = caption_generator();
    // 1,101 emoji: 1,101 characters (fine on Instagram) but 2,202 UTF-16 units on TikTok.
    generator.expect_generate().times(1).returning(|_| {
        Ok(GeneratedCaption {
            per_platform: Default::default(),
            caption: Caption::parse("😀".repeat(1_101)).unwrap(),
            hashtags: Hashtags::default(),
            generator: Generator::template(),
        })
    });
    let e = captions(generator);
    let u = e.user("a@example.com").await;

    let err = e
        .queue()
        .generate(
            u.id(),
            product("Lamp"),
            vec![Platform::Instagram, Platform::Tiktok],
            Tone::Playful,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::Unavailable {
                what: "caption generator",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(queue_is_empty(&e, &u).await);
}

#[tokio::test]
async fn a_generated_caption_whose_hashtags_push_tiktok_over_its_limit_is_not_trusted() {
    let mut generator = caption_generator();
    // 2,190 units of text plus " #summer" (8 units) and " #sale" (6 units) = 2,204.
    generator.expect_generate().times(1).returning(|_| {
        Ok(GeneratedCaption {
            per_platform: Default::default(),
            caption: Caption::parse("a".repeat(2_190)).unwrap(),
            hashtags: Hashtags::parse(["summer", "sale"]).unwrap(),
            generator: Generator::template(),
        })
    });
    let e = captions(generator);
    let u = e.user("a@example.com").await;

    let err = e
        .queue()
        .generate(
            u.id(),
            product("Lamp"),
            vec![Platform::Tiktok],
            Tone::Casual,
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(queue_is_empty(&e, &u).await);
}

#[tokio::test]
async fn a_generated_caption_with_more_than_thirty_hashtags_is_not_trusted_for_instagram() {
    let mut generator = caption_generator();
    generator.expect_generate().times(1).returning(|_| {
        Ok(GeneratedCaption {
            per_platform: Default::default(),
            caption: Caption::parse("A lamp").unwrap(),
            hashtags: Hashtags::parse((0..31).map(|i| format!("tag{i}"))).unwrap(),
            generator: Generator::template(),
        })
    });
    let e = captions(generator);
    let u = e.user("a@example.com").await;

    let err = e
        .queue()
        .generate(
            u.id(),
            product("Lamp"),
            vec![Platform::Instagram],
            Tone::Casual,
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn regenerating_while_the_generator_is_down_leaves_the_item_rejected() {
    let mut generator = caption_generator();
    generator
        .expect_generate()
        .times(1)
        .returning(|_| Err(CaptionError::Unavailable("LLM timed out".into())));
    let e = captions(generator);
    let u = e.user("a@example.com").await;
    let item = e
        .queue()
        .create(
            u.id(),
            CreateQueueItem {
                platform_captions: Default::default(),
                product_data: product("Lamp"),
                platforms: vec![Platform::Facebook],
                content: Some("Hand-written".into()),
                hashtags: Vec::new(),
            },
        )
        .await
        .unwrap();
    let rejected = e
        .queue()
        .reject(u.id(), item.id(), Some("dull".into()))
        .await
        .unwrap();

    let err = e
        .queue()
        .regenerate(u.id(), item.id(), None)
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let stored = e.queue().get(u.id(), item.id()).await.unwrap();
    assert_eq!(stored, rejected);
    assert_eq!(stored.status(), QueueStatus::Rejected);
}

#[tokio::test]
async fn the_caption_generator_is_asked_for_every_target_platform_and_the_tone() {
    let mut generator = caption_generator();
    generator
        .expect_generate()
        .withf(|r| {
            r.platforms == [Platform::Facebook, Platform::Tiktok]
                && r.tone == Tone::Luxury
                && r.product.title() == "Lamp"
        })
        .times(1)
        .returning(|_| {
            Ok(GeneratedCaption {
                per_platform: Default::default(),
                caption: Caption::parse("Lamp, refined.").unwrap(),
                hashtags: Hashtags::parse(["lamp"]).unwrap(),
                generator: Generator::template(),
            })
        });
    let e = captions(generator);
    let u = e.user("a@example.com").await;

    let item = e
        .queue()
        .generate(
            u.id(),
            product("Lamp"),
            vec![Platform::Facebook, Platform::Tiktok],
            Tone::Luxury,
        )
        .await
        .unwrap();

    assert_eq!(
        item.ai_generated_content().unwrap().as_ref(),
        "Lamp, refined."
    );
    assert_eq!(item.hashtags().to_strings(), ["lamp"]);
}

// ---------------------------------------------------------------------------------------------
// Publisher
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_publisher_rejecting_the_post_fails_it_without_looking_it_up_or_retrying() {
    let mut publisher = MockPublisher::new();
    publisher.expect_lookup().never();
    publisher.expect_publish().times(1).returning(|_| {
        Err(PublishError::Rejected {
            reason: "banned word in caption".into(),
        })
    });
    let e = facebook_publisher(publisher);
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let post = e
        .post(&u, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(1));

    let report = e.tick().await;
    e.advance(Duration::hours(1));
    e.tick().await;

    assert_eq!(report.failed, 1);
    let stored = e.posts().get(u.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Failed);
    assert!(
        stored
            .error_message()
            .unwrap()
            .contains("banned word in caption")
    );
}

#[tokio::test]
async fn the_publisher_receives_the_accounts_opened_token_and_the_posts_idempotency_key() {
    let mut publisher = MockPublisher::new();
    publisher
        .expect_publish()
        .withf(|r| {
            r.access_token.as_ref().map(SecretString::expose) == Some("oauth-secret")
                && r.account_external_id == "fb"
                && r.platform == Platform::Facebook
                && r.media_urls == ["https://cdn.example.com/aurora.mp4"]
                && r.hashtags == ["lamp", "HomeOffice"]
        })
        .times(1)
        .returning(|r| {
            Ok(postpilot_core::publish::Progress::Published(Published {
                remote_id: format!("remote-{}", r.idempotency_key),
                url: None,
            }))
        });
    let e = facebook_publisher(publisher);
    let u = e.user("a@example.com").await;
    let mut request = test_engine::connect_request(Platform::Facebook, "fb");
    request.access_token = Some(SecretString::new("oauth-secret"));
    let account = e.accounts().connect(u.id(), request).await.unwrap();
    let post = e
        .post(&u, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(1));

    let report = e.tick().await;

    assert_eq!(report.posted, 1);
    let stored = e.posts().get(u.id(), post.id()).await.unwrap();
    assert_eq!(
        stored.external_id(),
        Some(format!("remote-{}", post.idempotency_key()).as_str())
    );
    assert_eq!(stored.external_url(), None);
}

#[tokio::test]
async fn a_lookup_that_fails_during_a_rescue_retries_the_post_instead_of_publishing_it() {
    let mut publisher = MockPublisher::new();
    publisher.expect_lookup().times(1).returning(|_| {
        Err(PublishError::Retryable {
            reason: "lookup endpoint returned 503".into(),
            after: None,
        })
    });
    publisher.expect_publish().never();
    let e = facebook_publisher(publisher);
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let post = e
        .post(&u, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.advance(Duration::minutes(1));
    e.store
        .claim_due(e.now(), 10, Duration::seconds(30), "dead")
        .await
        .unwrap();
    e.advance(Duration::seconds(31));

    let report = e.tick().await;

    assert_eq!(report.retried, 1);
    let stored = e.posts().get(u.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Scheduled);
    assert_eq!(stored.attempts(), 1);
    assert!(stored.next_attempt_at().unwrap() > e.now());
    let ledger = e.store.attempts(u.id(), post.id()).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].outcome, AttemptOutcome::Retry);
}

// ---------------------------------------------------------------------------------------------
// Billing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_failing_billing_provider_makes_checkout_unavailable_and_leaves_the_plan_unchanged() {
    let mut billing = MockBillingGateway::new();
    billing.expect_is_mock().return_const(true);
    billing
        .expect_create_customer()
        .times(1)
        .returning(|_| Ok("cus_1".into()));
    billing
        .expect_create_checkout()
        .withf(|r| r.plan == PlanTier::Pro && r.email.as_ref() == "a@example.com")
        .times(1)
        .returning(|_| Err(BillingError::Unavailable("stripe is down".into())));
    let e = TestEngine::with_ports(|b| b.billing(Arc::new(billing)));
    let u = e.user("a@example.com").await;

    let err = e
        .billing()
        .checkout(u.id(), PlanTier::Pro)
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::Unavailable {
                what: "billing provider",
                ..
            }
        ),
        "{err:?}"
    );
    let subscription = e.billing().subscription(u.id()).await.unwrap();
    assert_eq!(subscription.plan, PlanTier::Free);
    assert_eq!(subscription.status, None);
    assert_eq!(e.usage().usage(u.id()).await.unwrap().plan, PlanTier::Free);
}

// ---------------------------------------------------------------------------------------------
// Store conflicts
// ---------------------------------------------------------------------------------------------

/// A clock that, once armed, runs a one-off hook the next time it is read: a seam that puts a
/// worker's claim exactly between a service's read and its write.
#[derive(Default)]
struct HookedClock {
    hook: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl std::fmt::Debug for HookedClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookedClock")
    }
}

impl postpilot_core::clock::Clock for HookedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        test_engine::t0()
    }
}

#[tokio::test]
async fn a_post_claimed_while_being_edited_reports_a_conflict_and_keeps_the_claim() {
    let clock = Arc::new(HookedClock::default());
    let store = Arc::new(postpilot_core::store::MemoryStore::new());
    let engine = postpilot_core::Engine::builder()
        .simulated()
        .clock(clock.clone())
        .store(store.clone())
        .hasher(Arc::new(
            postpilot_core::crypto::Argon2Hasher::with_params(64, 1, 1).unwrap(),
        ))
        .build()
        .unwrap();
    let user = engine
        .auth()
        .register("a@example.com", "correct horse battery")
        .await
        .unwrap();
    let account = engine
        .accounts()
        .connect(
            user.id(),
            test_engine::connect_request(Platform::Facebook, "fb"),
        )
        .await
        .unwrap();
    let post = engine
        .posts()
        .create(
            user.id(),
            test_engine::create_post(&account, Some(test_engine::t0() + Duration::seconds(1))),
        )
        .await
        .unwrap();
    {
        let store = store.clone();
        *clock.hook.lock().unwrap() = Some(Box::new(move || {
            let claimed = test_engine::run_now(store.claim_due(
                test_engine::t0() + Duration::seconds(5),
                10,
                Duration::seconds(60),
                "worker",
            ))
            .unwrap();
            assert_eq!(claimed.len(), 1, "the worker claimed the post mid-edit");
        }));
    }

    let err = engine
        .posts()
        .update(
            user.id(),
            post.id(),
            postpilot_core::post::PostPatch {
                content: Some("edited".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let stored = engine.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(stored.status(), PostStatus::Publishing);
    assert_eq!(stored.content().as_ref(), post.content().as_ref());
}
