//! Commerce-aware posts: the platform's product events hold back the scheduled posts a change
//! makes wrong, and leave the rest.

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::caption::{ProductData, ProductDataWire, Tone};
use postpilot_core::platform::Platform;
use postpilot_core::post::{Post, PostStatus};
use postpilot_core::queue::{ApproveItem, Placement};
use postpilot_core::user::User;
use postpilot_core::webhook::{EventOutcome, PlatformEvent};
use serde_json::{Value, json};

use crate::test_engine::TestEngine;

/// A scheduled post made from a queue item for product `id` at 34.00 with 5 in stock.
async fn post_of(e: &TestEngine, user: &User, id: &str) -> Post {
    let account = match e
        .accounts()
        .list(user.id(), Default::default())
        .await
        .unwrap()
        .items
        .first()
    {
        Some(account) => account.clone(),
        None => e.connect(user, Platform::Facebook, "shop").await,
    };
    let product = ProductData::parse(ProductDataWire {
        id: Some(id.into()),
        title: format!("Product {id}"),
        price: serde_json::from_value(json!(34.0)).unwrap(),
        stock: Some(5),
        url: Some(format!("https://shop.example.com/{id}")),
        ..ProductDataWire::default()
    })
    .unwrap();
    let item = e
        .queue()
        .generate(user.id(), product, vec![Platform::Facebook], Tone::Casual)
        .await
        .unwrap();
    let approval = ApproveItem {
        account_ids: vec![account.id()],
        placement: Placement::At(e.now() + Duration::days(1)),
    };
    let approved = e
        .queue()
        .approve(user.id(), item.id(), approval)
        .await
        .unwrap();
    approved.posts.into_iter().next().unwrap()
}

/// Sends a signed platform event through the webhook service; what it came to.
async fn product_event(e: &TestEngine, id: &str, kind: &str, data: Value) -> EventOutcome {
    e.webhooks()
        .platform_event(event(id, kind, data))
        .await
        .unwrap()
}

fn event(id: &str, kind: &str, data: Value) -> PlatformEvent {
    PlatformEvent {
        id: id.into(),
        event_type: kind.into(),
        data,
    }
}

async fn status(e: &TestEngine, user: &User, post: &Post) -> (PostStatus, Option<String>) {
    let stored = e.posts().get(user.id(), post.id()).await.unwrap();
    (stored.status(), stored.error_message().map(str::to_owned))
}

#[tokio::test]
async fn a_price_change_holds_back_that_products_scheduled_posts_only() {
    let e = TestEngine::new();
    let user = e.pro_user("shop@example.com").await;
    let lamp = post_of(&e, &user, "lamp").await;
    let mug = post_of(&e, &user, "mug").await;

    let outcome = product_event(
        &e,
        "pe_1",
        "product.updated",
        json!({"user_id": user.id(), "product": {"id": "lamp", "price": 29.0, "stock": 5}}),
    )
    .await;

    assert_eq!(outcome, EventOutcome::ProductChanged(vec![lamp.id()]));
    assert_eq!(
        status(&e, &user, &lamp).await,
        (
            PostStatus::Paused,
            Some("the product's price changed from 34.00 to 29.00".into())
        )
    );
    assert_eq!(status(&e, &user, &mug).await, (PostStatus::Scheduled, None));
}

#[tokio::test]
async fn selling_out_or_deletion_holds_back_posts_and_an_unchanged_product_does_not() {
    let e = TestEngine::new();
    let user = e.pro_user("shop@example.com").await;
    let lamp = post_of(&e, &user, "lamp").await;
    let mug = post_of(&e, &user, "mug").await;
    let vase = post_of(&e, &user, "vase").await;

    let same = product_event(&e, "pe_1", "product.updated", json!({"user_id": user.id(), "product": {"id": "vase", "price": 34.0, "title": "New photos"}})).await;
    product_event(
        &e,
        "pe_2",
        "product.updated",
        json!({"user_id": user.id(), "product": {"id": "lamp", "stock": 0}}),
    )
    .await;
    product_event(
        &e,
        "pe_3",
        "product.deleted",
        json!({"user_id": user.id(), "product": {"id": "mug"}}),
    )
    .await;

    assert_eq!(same, EventOutcome::ProductChanged(Vec::new()));
    assert_eq!(status(&e, &user, &vase).await.0, PostStatus::Scheduled);
    assert_eq!(
        status(&e, &user, &lamp).await,
        (PostStatus::Paused, Some("the product sold out".into()))
    );
    assert_eq!(
        status(&e, &user, &mug).await,
        (
            PostStatus::Paused,
            Some("the product was deleted from the shop".into())
        )
    );
}

#[tokio::test]
async fn a_product_event_names_its_merchant_and_never_reaches_another_ones_posts() {
    let e = TestEngine::new();
    let owner = e.pro_user("shop@example.com").await;
    let other = e.pro_user("other@example.com").await;
    let theirs = post_of(&e, &other, "lamp").await;
    let hooks = e.webhooks();

    let mine = product_event(
        &e,
        "pe_1",
        "product.deleted",
        json!({"user_id": owner.id(), "product": {"id": "lamp"}}),
    )
    .await;
    let nobody = hooks
        .platform_event(event(
            "pe_2",
            "product.deleted",
            json!({"product": {"id": "lamp"}}),
        ))
        .await;
    let unknown = hooks
        .platform_event(event(
            "pe_3",
            "product.deleted",
            json!({"external_platform_id": uuid::Uuid::new_v4(), "product": {"id": "lamp"}}),
        ))
        .await;

    assert_eq!(mine, EventOutcome::ProductChanged(Vec::new()));
    assert!(matches!(nobody, Err(Error::Validation(_))), "{nobody:?}");
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
    assert_eq!(status(&e, &other, &theirs).await.0, PostStatus::Scheduled);
}

#[tokio::test]
async fn a_merchants_setting_decides_what_a_product_change_pauses() {
    let e = TestEngine::new();
    let user = e.pro_user("shop@example.com").await;
    let lamp = post_of(&e, &user, "lamp").await;
    let mug = post_of(&e, &user, "mug").await;
    let only_stock = postpilot_core::user::ProfilePatch {
        pause_on: Some("stock".into()),
        ..Default::default()
    };
    let me = e.auth().update_me(user.id(), only_stock).await.unwrap();
    assert_eq!(me.user.pause_on(), postpilot_core::post::PauseOn::Stock);

    let price = product_event(
        &e,
        "pe_1",
        "product.updated",
        json!({"user_id": user.id(), "product": {"id": "lamp", "price": 29.0}}),
    )
    .await;
    let sold_out = product_event(
        &e,
        "pe_2",
        "product.updated",
        json!({"user_id": user.id(), "product": {"id": "mug", "stock": 0}}),
    )
    .await;
    let off = postpilot_core::user::ProfilePatch {
        pause_on: Some("off".into()),
        ..Default::default()
    };
    e.auth().update_me(user.id(), off).await.unwrap();
    let deleted = product_event(
        &e,
        "pe_3",
        "product.deleted",
        json!({"user_id": user.id(), "product": {"id": "lamp"}}),
    )
    .await;

    assert_eq!(price, EventOutcome::ProductChanged(Vec::new()));
    assert_eq!(sold_out, EventOutcome::ProductChanged(vec![mug.id()]));
    assert_eq!(deleted, EventOutcome::ProductChanged(Vec::new()));
    assert_eq!(status(&e, &user, &lamp).await.0, PostStatus::Scheduled);
}

#[tokio::test]
async fn a_post_resumed_after_a_change_is_not_paused_again_by_the_same_change() {
    let e = TestEngine::new();
    let user = e.pro_user("shop@example.com").await;
    let lamp = post_of(&e, &user, "lamp").await;
    let hooks = e.webhooks();
    let cheaper = |id: &str| {
        event(
            id,
            "product.updated",
            json!({"user_id": user.id(), "product": {"id": "lamp", "price": 29.0, "stock": 5, "description": "new copy"}}),
        )
    };

    hooks.platform_event(cheaper("pe_1")).await.unwrap();
    let paused = e.posts().get(user.id(), lamp.id()).await.unwrap();
    e.posts()
        .resume(
            user.id(),
            lamp.id(),
            postpilot_core::post::Duplicates::Refuse,
            postpilot_core::post::ResumeCaption::Keep,
        )
        .await
        .unwrap();
    let again = hooks.platform_event(cheaper("pe_2")).await.unwrap();
    let cheaper_still = product_event(
        &e,
        "pe_3",
        "product.updated",
        json!({"user_id": user.id(), "product": {"id": "lamp", "price": 25.0}}),
    )
    .await;

    assert_eq!(
        paused
            .product()
            .and_then(|p| p.price)
            .map(|p| p.to_string())
            .as_deref(),
        Some("29.00"),
        "the snapshot took the change"
    );
    assert_eq!(again, EventOutcome::ProductChanged(Vec::new()));
    assert_eq!(cheaper_still, EventOutcome::ProductChanged(vec![lamp.id()]));
    assert_eq!(
        status(&e, &user, &lamp).await.1.as_deref(),
        Some("the product's price changed from 29.00 to 25.00")
    );
}

#[tokio::test]
async fn a_paused_post_resumes_with_a_caption_written_from_the_product_as_it_is_now() {
    let e = TestEngine::new();
    let user = e.pro_user("shop@example.com").await;
    let lamp = post_of(&e, &user, "lamp").await;
    assert!(
        lamp.content().as_ref().contains("34.00"),
        "{}",
        lamp.content().as_ref()
    );
    product_event(
        &e,
        "pe_1",
        "product.updated",
        json!({"user_id": user.id(), "product": {"id": "lamp", "price": 29.0}}),
    )
    .await;

    let resumed = e
        .posts()
        .resume(
            user.id(),
            lamp.id(),
            postpilot_core::post::Duplicates::Refuse,
            postpilot_core::post::ResumeCaption::Regenerate,
        )
        .await
        .unwrap();

    assert_eq!(resumed.status(), PostStatus::Scheduled);
    assert_eq!(resumed.scheduled_for(), lamp.scheduled_for());
    let caption = resumed.content().as_ref();
    assert!(
        caption.contains("29.00") && !caption.contains("34.00"),
        "{caption}"
    );
    let stored = e.posts().get(user.id(), lamp.id()).await.unwrap();
    assert_eq!(stored.content(), resumed.content());
}

#[tokio::test]
async fn a_post_written_directly_cannot_resume_with_a_new_caption_and_stays_paused() {
    let e = TestEngine::new();
    let user = e.pro_user("shop@example.com").await;
    let account = e.connect(&user, Platform::Facebook, "shop").await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::days(1)))
        .await;
    e.posts()
        .pause(user.id(), post.id(), "supplier delay")
        .await
        .unwrap();

    let refused = e
        .posts()
        .resume(
            user.id(),
            post.id(),
            postpilot_core::post::Duplicates::Refuse,
            postpilot_core::post::ResumeCaption::Regenerate,
        )
        .await;

    assert!(
        matches!(&refused, Err(Error::Validation(v)) if v.field() == "regenerate_caption"),
        "{refused:?}"
    );
    assert_eq!(status(&e, &user, &post).await.0, PostStatus::Paused);
}
