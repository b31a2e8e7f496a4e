//! The content queue: creating and generating items, reviewing them, approving them into posts,
//! and following those posts until the item is posted (the seed's 22 queue tests and more).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use postpilot_core::caption::{PlatformCaptions, ProductData, ProductDataWire, Tone};
use postpilot_core::page::PageRequest;
use postpilot_core::platform::Platform;
use postpilot_core::post::{PostStatus, ProductSnapshot};
use postpilot_core::publish::PublishError;
use postpilot_core::queue::{ApproveItem, CreateQueueItem, Placement, QueueItemPatch, QueueStatus};
use postpilot_core::{Error, LimitedResource};

use crate::test_engine::{TestEngine, product};

fn create_request(title: &str, platforms: &[Platform], content: Option<&str>) -> CreateQueueItem {
    CreateQueueItem {
        platform_captions: Default::default(),
        product_data: product(title),
        platforms: platforms.to_vec(),
        content: content.map(str::to_owned),
        hashtags: if content.is_some() {
            vec!["#DeskLamp".into(), "homeoffice".into()]
        } else {
            Vec::new()
        },
    }
}

fn approve(account_ids: Vec<postpilot_core::id::AccountId>) -> ApproveItem {
    ApproveItem {
        account_ids,
        placement: Placement::Draft,
    }
}

// ---------------------------------------------------------------------------------------------
// Creating and generating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_an_item_without_content_stores_a_pending_item_without_a_caption() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;

    let item = e
        .queue()
        .create(
            u.id(),
            create_request("Aurora Desk Lamp", &[Platform::Instagram], None),
        )
        .await
        .unwrap();

    assert_eq!(item.status(), QueueStatus::Pending);
    assert_eq!(item.ai_generated_content(), None);
    assert!(item.hashtags().is_empty());
    assert_eq!(item.platforms(), vec![Platform::Instagram]);
    assert_eq!(item.product_data().title(), "Aurora Desk Lamp");
    assert_eq!(item.user_id(), u.id());
    assert_eq!(item.created_at(), e.now());
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), item);
}

#[tokio::test]
async fn creating_an_item_with_hand_written_content_keeps_the_content_and_hashtags() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;

    let item = e
        .queue()
        .create(
            u.id(),
            create_request(
                "Aurora Desk Lamp",
                &[Platform::Facebook],
                Some("Our best lamp yet."),
            ),
        )
        .await
        .unwrap();

    assert_eq!(item.status(), QueueStatus::Pending);
    assert_eq!(
        item.ai_generated_content().unwrap().as_ref(),
        "Our best lamp yet."
    );
    assert_eq!(item.hashtags().to_strings(), ["DeskLamp", "homeoffice"]);
    assert_eq!(item.tone(), None);
}

#[tokio::test]
async fn creating_an_item_without_platforms_is_a_validation_error_and_stores_nothing() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;

    let err = e
        .queue()
        .create(u.id(), create_request("Aurora Desk Lamp", &[], None))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "platforms"),
        "{err:?}"
    );
    let page = e
        .queue()
        .list(u.id(), None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

#[tokio::test]
async fn generating_an_item_writes_a_caption_naming_the_product_with_hashtags_and_the_tone() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;

    let item = e
        .queue()
        .generate(
            u.id(),
            product("Aurora Desk Lamp"),
            vec![Platform::Instagram, Platform::Tiktok],
            Tone::Casual,
        )
        .await
        .unwrap();

    assert_eq!(item.status(), QueueStatus::Pending);
    let caption = item.ai_generated_content().unwrap();
    assert!(caption.as_ref().contains("Aurora Desk Lamp"), "{caption}");
    assert!(!item.hashtags().is_empty());
    assert_eq!(item.tone(), Some(Tone::Casual));
    assert_eq!(
        item.platforms(),
        vec![Platform::Instagram, Platform::Tiktok]
    );
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), item);
}

#[tokio::test]
async fn generating_without_platforms_is_a_validation_error() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;

    let err = e
        .queue()
        .generate(u.id(), product("Aurora Desk Lamp"), vec![], Tone::Casual)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "platforms"),
        "{err:?}"
    );
}

#[tokio::test]
async fn generating_twice_from_the_same_input_gives_the_same_caption_and_hashtags() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let platforms = [Platform::Instagram, Platform::Facebook];

    let first = e.queue_item(&u, "Aurora Desk Lamp", &platforms).await;
    let second = e.queue_item(&u, "Aurora Desk Lamp", &platforms).await;

    assert_ne!(first.id(), second.id());
    assert_eq!(first.ai_generated_content(), second.ai_generated_content());
    assert_eq!(first.hashtags(), second.hashtags());
}

#[tokio::test]
async fn every_tone_gives_a_different_caption_for_the_same_product() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;

    let mut captions = HashSet::new();
    for tone in Tone::ALL {
        let item = e
            .queue()
            .generate(
                u.id(),
                product("Aurora Desk Lamp"),
                vec![Platform::Instagram],
                tone,
            )
            .await
            .unwrap();
        captions.insert(item.ai_generated_content().unwrap().to_string());
    }

    assert_eq!(captions.len(), Tone::ALL.len());
}

#[tokio::test]
async fn a_generated_caption_fits_every_requested_platform_counting_tiktok_in_utf16_with_hashtags()
{
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let huge = ProductData::parse(ProductDataWire {
        title: format!("Glow {}", "😀".repeat(300)),
        description: Some("🎉".repeat(9_000)),
        features: vec!["🚀".repeat(400); 10],
        tags: (0..50).map(|i| format!("emojilamp{i}")).collect(),
        image_urls: vec!["https://cdn.example.com/product.jpg".into()],
        ..ProductDataWire::default()
    })
    .unwrap();

    let item = e
        .queue()
        .generate(u.id(), huge, Platform::ALL.to_vec(), Tone::Playful)
        .await
        .unwrap();

    let caption = item.ai_generated_content().unwrap();
    for platform in Platform::ALL {
        let rules = platform.rules();
        let length = rules.caption_length(caption.as_ref(), item.hashtags());
        assert!(length <= rules.max_caption, "{platform}: {length}");
        assert!(
            rules
                .max_hashtags
                .is_none_or(|max| item.hashtags().len() <= max),
            "{platform}: {} hashtags",
            item.hashtags().len()
        );
    }
    let tiktok_units = caption.as_ref().encode_utf16().count()
        + item
            .hashtags()
            .iter()
            .map(|t| 2 + t.as_ref().encode_utf16().count())
            .sum::<usize>();
    assert!(tiktok_units <= 2_200, "{tiktok_units} UTF-16 units");
    // The proof that counts: the caption can be approved onto a TikTok account.
    let tiktok = e.connect(&u, Platform::Tiktok, "tt").await;
    let approval = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![tiktok.id()]))
        .await
        .unwrap();
    assert_eq!(approval.posts.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn listing_returns_the_items_newest_first() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let mut ids = Vec::new();
    for title in ["Lamp", "Chair", "Desk"] {
        ids.push(e.queue_item(&u, title, &[Platform::Facebook]).await.id());
        e.advance(Duration::minutes(1));
    }

    let page = e
        .queue()
        .list(u.id(), None, PageRequest::default())
        .await
        .unwrap();

    let listed: Vec<_> = page.items.iter().map(|i| i.id()).collect();
    ids.reverse();
    assert_eq!(listed, ids);
    assert_eq!(page.total, 3);
}

#[tokio::test]
async fn listing_by_status_returns_only_items_in_that_status() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let pending = e.queue_item(&u, "Lamp", &[Platform::Facebook]).await;
    let rejected = e.queue_item(&u, "Chair", &[Platform::Facebook]).await;
    e.queue().reject(u.id(), rejected.id(), None).await.unwrap();

    let only_rejected = e
        .queue()
        .list(u.id(), Some(QueueStatus::Rejected), PageRequest::default())
        .await
        .unwrap();
    let only_pending = e
        .queue()
        .list(u.id(), Some(QueueStatus::Pending), PageRequest::default())
        .await
        .unwrap();

    assert_eq!(only_rejected.total, 1);
    assert_eq!(only_rejected.items[0].id(), rejected.id());
    assert_eq!(only_pending.total, 1);
    assert_eq!(only_pending.items[0].id(), pending.id());
}

#[tokio::test]
async fn listing_paginates_with_the_total_of_all_items() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            e.queue_item(&u, &format!("Lamp {i}"), &[Platform::Facebook])
                .await
                .id(),
        );
        e.advance(Duration::seconds(1));
    }
    ids.reverse();

    let second = e
        .queue()
        .list(u.id(), None, PageRequest::new(Some(2), Some(2)).unwrap())
        .await
        .unwrap();
    let third = e
        .queue()
        .list(u.id(), None, PageRequest::new(Some(3), Some(2)).unwrap())
        .await
        .unwrap();

    assert_eq!(second.total, 5);
    assert_eq!((second.page, second.per_page), (2, 2));
    assert_eq!(
        second.items.iter().map(|i| i.id()).collect::<Vec<_>>(),
        ids[2..4]
    );
    assert_eq!(
        third.items.iter().map(|i| i.id()).collect::<Vec<_>>(),
        ids[4..]
    );
}

// ---------------------------------------------------------------------------------------------
// Editing and deleting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn updating_a_pending_item_changes_the_given_fields_and_keeps_the_others() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;
    e.advance(Duration::minutes(5));

    let updated = e
        .queue()
        .update(
            u.id(),
            item.id(),
            QueueItemPatch {
                ai_generated_content: Some("Hand-tuned caption".into()),
                platforms: Some(vec![Platform::Facebook, Platform::Tiktok]),
                product_data: Some(product("Borealis Floor Lamp")),
                ..QueueItemPatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(
        updated.ai_generated_content().unwrap().as_ref(),
        "Hand-tuned caption"
    );
    assert_eq!(
        updated.platforms(),
        vec![Platform::Facebook, Platform::Tiktok]
    );
    assert_eq!(updated.product_data().title(), "Borealis Floor Lamp");
    assert_eq!(updated.hashtags(), item.hashtags());
    assert_eq!(updated.tone(), item.tone());
    assert_eq!(updated.status(), QueueStatus::Pending);
    assert_eq!(updated.created_at(), item.created_at());
    assert_eq!(updated.updated_at(), e.now());
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), updated);
}

#[tokio::test]
async fn updating_only_the_caption_leaves_platforms_and_product_untouched() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;

    let updated = e
        .queue()
        .update(
            u.id(),
            item.id(),
            QueueItemPatch {
                ai_generated_content: Some("Shorter caption".into()),
                ..QueueItemPatch::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(updated.platforms(), item.platforms());
    assert_eq!(updated.product_data(), item.product_data());
    assert_eq!(updated.hashtags(), item.hashtags());
}

#[tokio::test]
async fn updating_an_approved_item_is_an_invalid_transition() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Instagram, "ig").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;
    e.queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap();

    let err = e
        .queue()
        .update(
            u.id(),
            item.id(),
            QueueItemPatch {
                ai_generated_content: Some("Too late".into()),
                ..QueueItemPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "approved"),
        "{err:?}"
    );
    let stored = e.queue().get(u.id(), item.id()).await.unwrap();
    assert_eq!(stored.ai_generated_content(), item.ai_generated_content());
}

#[tokio::test]
async fn updating_a_rejected_item_is_an_invalid_transition() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;
    e.queue().reject(u.id(), item.id(), None).await.unwrap();

    let err = e
        .queue()
        .update(
            u.id(),
            item.id(),
            QueueItemPatch {
                platforms: Some(vec![Platform::Facebook]),
                ..QueueItemPatch::default()
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "rejected"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().platforms(),
        vec![Platform::Instagram]
    );
}

#[tokio::test]
async fn deleting_a_pending_item_removes_it() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;

    e.queue().delete(u.id(), item.id()).await.unwrap();

    let err = e.queue().get(u.id(), item.id()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let page = e
        .queue()
        .list(u.id(), None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

#[tokio::test]
async fn deleting_an_approved_item_is_an_invalid_transition_and_keeps_it_and_its_posts() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Instagram, "ig").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;
    e.queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap();

    let err = e.queue().delete(u.id(), item.id()).await.unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "approved"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Approved
    );
    assert_eq!(e.posts_of(&u).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Approving
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn approving_with_a_time_creates_one_scheduled_post_per_account_from_the_item() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(
            &u,
            "Aurora Desk Lamp",
            &[Platform::Instagram, Platform::Facebook],
        )
        .await;
    let at = e.now() + Duration::hours(2);

    let approval = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![instagram.id(), facebook.id()],
                placement: Placement::At(at),
            },
        )
        .await
        .unwrap();

    assert_eq!(approval.item.status(), QueueStatus::Approved);
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Approved
    );
    assert_eq!(approval.posts.len(), 2);
    let accounts: HashSet<_> = approval.posts.iter().map(|p| p.account_id()).collect();
    assert_eq!(accounts, HashSet::from([instagram.id(), facebook.id()]));
    for post in &approval.posts {
        assert_eq!(post.status(), PostStatus::Scheduled);
        assert_eq!(post.scheduled_for(), Some(at));
        assert_eq!(post.queue_item_id(), Some(item.id()));
        assert_eq!(Some(post.content()), item.ai_generated_content());
        assert_eq!(post.hashtags(), item.hashtags());
        let media: Vec<_> = post.media_urls().iter().map(ToString::to_string).collect();
        assert_eq!(media, item.product_data().image_urls());
        let platform = if post.account_id() == instagram.id() {
            Platform::Instagram
        } else {
            Platform::Facebook
        };
        assert_eq!(post.platform(), platform);
        assert_eq!(&e.posts().get(u.id(), post.id()).await.unwrap(), post);
    }
}

#[tokio::test]
async fn a_post_made_from_an_item_keeps_the_product_as_it_was_when_approved() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let lamp = ProductData::parse(ProductDataWire {
        id: Some(" gid://shopify/Product/42 ".into()),
        title: "Aurora Desk Lamp".into(),
        price: serde_json::from_value(serde_json::json!(34.0)).unwrap(),
        compare_at_price: serde_json::from_value(serde_json::json!(49.5)).unwrap(),
        currency: Some("eur".into()),
        url: Some("https://shop.example.com/aurora".into()),
        stock: Some(7),
        ..ProductDataWire::default()
    })
    .unwrap();
    let item = e
        .queue()
        .generate(u.id(), lamp.clone(), vec![Platform::Facebook], Tone::Casual)
        .await
        .unwrap();

    let approval = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![facebook.id()],
                placement: Placement::Draft,
            },
        )
        .await
        .unwrap();

    let product = approval.posts[0].product().unwrap();
    assert_eq!(product, &ProductSnapshot::of(&lamp));
    assert_eq!(product.id.as_deref(), Some("gid://shopify/Product/42"));
    assert_eq!(
        (product.stock, product.currency.as_deref()),
        (Some(7), Some("EUR"))
    );
    assert_eq!(
        product.price.map(|p| p.to_string()).as_deref(),
        Some("34.00")
    );
    let stored = e.posts().get(u.id(), approval.posts[0].id()).await.unwrap();
    assert_eq!(stored.product(), Some(product));
    let written = e.post(&u, &facebook, None).await;
    assert_eq!(
        written.product(),
        None,
        "a post written directly advertises no product"
    );
}

#[tokio::test]
async fn approving_gives_each_platforms_post_its_own_caption_and_the_others_the_shared_one() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue()
        .create(
            u.id(),
            create_request(
                "Aurora Desk Lamp",
                &[Platform::Instagram, Platform::Facebook],
                None,
            ),
        )
        .await
        .unwrap();
    let own: PlatformCaptions = serde_json::from_value(serde_json::json!({
        "instagram": {"caption": "Glow up your desk. Link in bio.", "hashtags": ["desksetup"]},
    }))
    .unwrap();
    e.queue()
        .update(
            u.id(),
            item.id(),
            QueueItemPatch {
                platform_captions: Some(own),
                ..QueueItemPatch::default()
            },
        )
        .await
        .unwrap();

    // Facebook has neither its own caption nor a shared one yet.
    let err = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            approve(vec![instagram.id(), facebook.id()]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "ai_generated_content"),
        "{err:?}"
    );
    let shared = QueueItemPatch {
        ai_generated_content: Some("The Aurora lamp is here: shop.example/aurora".into()),
        hashtags: Some(vec!["lamp".into()]),
        ..QueueItemPatch::default()
    };
    e.queue().update(u.id(), item.id(), shared).await.unwrap();
    let approval = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            approve(vec![instagram.id(), facebook.id()]),
        )
        .await
        .unwrap();

    let said: HashSet<_> = approval
        .posts
        .iter()
        .map(|p| {
            (
                p.platform(),
                p.content().to_string(),
                p.hashtags().to_strings(),
            )
        })
        .collect();
    assert_eq!(
        said,
        HashSet::from([
            (
                Platform::Instagram,
                "Glow up your desk. Link in bio.".to_owned(),
                vec!["desksetup".to_owned()]
            ),
            (
                Platform::Facebook,
                "The Aurora lamp is here: shop.example/aurora".to_owned(),
                vec!["lamp".to_owned()]
            ),
        ])
    );
}

#[tokio::test]
async fn approving_without_a_time_creates_draft_posts() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    let approval = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap();

    assert_eq!(approval.posts.len(), 1);
    assert_eq!(approval.posts[0].status(), PostStatus::Draft);
    assert_eq!(approval.posts[0].scheduled_for(), None);
}

#[tokio::test]
async fn approving_with_a_duplicated_account_id_creates_one_post_for_it() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(
            &u,
            "Aurora Desk Lamp",
            &[Platform::Instagram, Platform::Facebook],
        )
        .await;

    let approval = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            approve(vec![
                instagram.id(),
                facebook.id(),
                instagram.id(),
                facebook.id(),
            ]),
        )
        .await
        .unwrap();

    assert_eq!(approval.posts.len(), 2);
    assert_eq!(e.posts_of(&u).await.len(), 2);
}

#[tokio::test]
async fn approving_without_accounts_is_a_validation_error() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    let err = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![]))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "account_ids"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
}

#[tokio::test]
async fn approving_onto_an_account_of_a_platform_the_item_does_not_target_creates_nothing() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let tiktok = e.connect(&u, Platform::Tiktok, "tt").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;

    let err = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            approve(vec![instagram.id(), tiktok.id()]),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "account_ids"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
    assert!(e.posts_of(&u).await.is_empty());
}

#[tokio::test]
async fn approving_onto_another_users_account_is_not_found_and_creates_nothing() {
    let e = TestEngine::new();
    let a = e.user("a@example.com").await;
    let b = e.user("b@example.com").await;
    let bs_account = e.connect(&b, Platform::Instagram, "b-ig").await;
    let item = e
        .queue_item(&a, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;

    let err = e
        .queue()
        .approve(a.id(), item.id(), approve(vec![bs_account.id()]))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(
        e.queue().get(a.id(), item.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
    assert!(e.posts_of(&a).await.is_empty());
    assert!(e.posts_of(&b).await.is_empty());
}

#[tokio::test]
async fn approving_onto_a_disconnected_account_is_a_validation_error_and_creates_nothing() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Instagram, "ig").await;
    e.accounts().disconnect(u.id(), account.id()).await.unwrap();
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Instagram])
        .await;

    let err = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "account_ids"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
    assert!(e.posts_of(&u).await.is_empty());
}

#[tokio::test]
async fn approving_onto_an_account_whose_authorization_expired_is_a_validation_error() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    e.post(&u, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.facebook.fail_next(PublishError::AuthExpired);
    e.advance(Duration::minutes(1));
    e.tick().await;
    assert!(
        e.accounts()
            .get(u.id(), account.id())
            .await
            .unwrap()
            .needs_reconnect()
    );
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    let err = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "account_ids"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
    assert_eq!(e.posts_of(&u).await.len(), 1);
}

#[tokio::test]
async fn approving_an_item_without_a_caption_is_a_validation_error() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue()
        .create(
            u.id(),
            create_request("Aurora Desk Lamp", &[Platform::Facebook], None),
        )
        .await
        .unwrap();

    let err = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "ai_generated_content"),
        "{err:?}"
    );
    assert!(e.posts_of(&u).await.is_empty());
}

#[tokio::test]
async fn approving_for_a_time_in_the_past_is_a_validation_error_and_creates_nothing() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    let err = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![account.id()],
                placement: Placement::At(e.now() - Duration::minutes(1)),
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "scheduled_for"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
    assert!(e.posts_of(&u).await.is_empty());
}

#[tokio::test]
async fn approving_a_rejected_item_is_an_invalid_transition() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;
    e.queue().reject(u.id(), item.id(), None).await.unwrap();

    let err = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "rejected" && t.to == "approved"),
        "{err:?}"
    );
    assert!(e.posts_of(&u).await.is_empty());
}

#[tokio::test]
async fn approving_an_item_twice_is_an_invalid_transition_and_creates_no_more_posts() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;
    e.queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap();

    let err = e
        .queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "approved"),
        "{err:?}"
    );
    assert_eq!(e.posts_of(&u).await.len(), 1);
}

#[tokio::test]
async fn a_free_user_can_approve_up_to_the_tenth_post_of_the_month_but_not_the_eleventh() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    for _ in 0..9 {
        e.post(&u, &account, None).await;
    }
    let tenth = e.queue_item(&u, "Lamp", &[Platform::Facebook]).await;
    let eleventh = e.queue_item(&u, "Chair", &[Platform::Facebook]).await;

    e.queue()
        .approve(u.id(), tenth.id(), approve(vec![account.id()]))
        .await
        .unwrap();
    let err = e
        .queue()
        .approve(u.id(), eleventh.id(), approve(vec![account.id()]))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::PostsPerMonth,
                limit: 10
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), eleventh.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
    assert_eq!(e.posts_of(&u).await.len(), 10);
}

#[tokio::test]
async fn an_approval_whose_posts_do_not_all_fit_the_quota_creates_none_of_them() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    for _ in 0..199 {
        e.post(&u, &facebook, None).await;
    }
    let item = e
        .queue_item(
            &u,
            "Aurora Desk Lamp",
            &[Platform::Instagram, Platform::Facebook],
        )
        .await;

    let err = e
        .queue()
        .approve(
            u.id(),
            item.id(),
            approve(vec![instagram.id(), facebook.id()]),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::PostsPerMonth,
                limit: 200
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Pending
    );
    assert_eq!(e.usage().usage(u.id()).await.unwrap().posts_this_month, 199);
}

// ---------------------------------------------------------------------------------------------
// Rejecting and regenerating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rejecting_with_a_reason_marks_the_item_rejected_and_keeps_the_reason() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    let rejected = e
        .queue()
        .reject(u.id(), item.id(), Some("Too salesy".into()))
        .await
        .unwrap();

    assert_eq!(rejected.status(), QueueStatus::Rejected);
    assert_eq!(rejected.rejection_reason(), Some("Too salesy"));
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), rejected);
}

#[tokio::test]
async fn rejecting_an_approved_item_is_an_invalid_transition() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;
    e.queue()
        .approve(u.id(), item.id(), approve(vec![account.id()]))
        .await
        .unwrap();

    let err = e.queue().reject(u.id(), item.id(), None).await.unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "approved" && t.to == "rejected"),
        "{err:?}"
    );
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Approved
    );
}

#[tokio::test]
async fn regenerating_a_rejected_item_puts_it_back_to_pending_with_new_content_and_no_reason() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;
    e.queue()
        .reject(u.id(), item.id(), Some("Too formal".into()))
        .await
        .unwrap();
    e.advance(Duration::minutes(1));

    let regenerated = e
        .queue()
        .regenerate(u.id(), item.id(), Some(Tone::Casual))
        .await
        .unwrap();

    assert_eq!(regenerated.status(), QueueStatus::Pending);
    assert_eq!(regenerated.rejection_reason(), None);
    assert_eq!(regenerated.tone(), Some(Tone::Casual));
    assert_ne!(
        regenerated.ai_generated_content(),
        item.ai_generated_content()
    );
    assert!(
        regenerated
            .ai_generated_content()
            .unwrap()
            .as_ref()
            .contains("Aurora Desk Lamp")
    );
    assert_eq!(regenerated.updated_at(), e.now());
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), regenerated);
}

#[tokio::test]
async fn regenerating_a_hand_written_rejected_item_replaces_the_caption_with_a_generated_one() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue()
        .create(
            u.id(),
            create_request("Aurora Desk Lamp", &[Platform::Facebook], Some("meh")),
        )
        .await
        .unwrap();
    e.queue().reject(u.id(), item.id(), None).await.unwrap();

    let regenerated = e.queue().regenerate(u.id(), item.id(), None).await.unwrap();

    let caption = regenerated.ai_generated_content().unwrap();
    assert_ne!(caption.as_ref(), "meh");
    assert!(caption.as_ref().contains("Aurora Desk Lamp"), "{caption}");
    assert_eq!(regenerated.tone(), Some(Tone::default()));
}

// The template generator is deterministic, so regeneration asks for the next variant: the
// merchant never gets back the very caption they rejected.
#[tokio::test]
async fn regenerating_without_a_new_tone_does_not_return_the_caption_that_was_rejected() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;
    e.queue()
        .reject(u.id(), item.id(), Some("Try again".into()))
        .await
        .unwrap();

    let regenerated = e.queue().regenerate(u.id(), item.id(), None).await.unwrap();

    assert_eq!(regenerated.status(), QueueStatus::Pending);
    assert_ne!(
        regenerated.ai_generated_content(),
        item.ai_generated_content()
    );
}

#[tokio::test]
async fn a_rejection_reason_over_1000_characters_is_a_validation_error() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    let err = e
        .queue()
        .reject(u.id(), item.id(), Some("x".repeat(1_001)))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "reason"),
        "{err:?}"
    );
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), item);
}

// Regression (found in review): a NUL in a reason reached PostgreSQL, which refuses it in text,
// and the request failed with a 500 — the memory store accepted it.
#[tokio::test]
async fn a_rejection_reason_with_a_control_character_is_a_validation_error_and_changes_nothing() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    for reason in ["a\u{0}b", "line\u{1b}[31m"] {
        let err = e
            .queue()
            .reject(u.id(), item.id(), Some(reason.to_owned()))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Validation(v) if v.field() == "reason"),
            "{reason:?}: {err:?}"
        );
    }
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), item);
    let kept = e
        .queue()
        .reject(u.id(), item.id(), Some(" too blurry\n\tretake ".to_owned()))
        .await
        .unwrap();
    assert_eq!(kept.rejection_reason(), Some("too blurry\n\tretake"));
}

#[tokio::test]
async fn regenerating_a_pending_item_is_an_invalid_transition() {
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    let item = e
        .queue_item(&u, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;

    let err = e
        .queue()
        .regenerate(u.id(), item.id(), Some(Tone::Urgent))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::InvalidTransition(t) if t.from == "pending"),
        "{err:?}"
    );
    assert_eq!(e.queue().get(u.id(), item.id()).await.unwrap(), item);
}

// ---------------------------------------------------------------------------------------------
// Publication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_approved_item_becomes_posted_once_the_dispatcher_published_all_its_posts() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(
            &u,
            "Aurora Desk Lamp",
            &[Platform::Instagram, Platform::Facebook],
        )
        .await;
    e.queue()
        .approve(
            u.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![instagram.id(), facebook.id()],
                placement: Placement::At(e.now() + Duration::hours(1)),
            },
        )
        .await
        .unwrap();
    e.advance(Duration::hours(1) + Duration::seconds(1));

    let report = e.tick().await;

    assert_eq!(report.posted, 2);
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Posted
    );
    assert!(
        e.posts_of(&u)
            .await
            .iter()
            .all(|p| p.status() == PostStatus::Posted)
    );
}

#[tokio::test]
async fn an_approved_item_stays_approved_while_one_of_its_posts_is_not_published() {
    let e = TestEngine::new();
    let u = e.pro_user("a@example.com").await;
    let instagram = e.connect(&u, Platform::Instagram, "ig").await;
    let facebook = e.connect(&u, Platform::Facebook, "fb").await;
    let item = e
        .queue_item(
            &u,
            "Aurora Desk Lamp",
            &[Platform::Instagram, Platform::Facebook],
        )
        .await;
    e.queue()
        .approve(
            u.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![instagram.id(), facebook.id()],
                placement: Placement::At(e.now() + Duration::hours(1)),
            },
        )
        .await
        .unwrap();
    e.facebook.fail_next(PublishError::Retryable {
        reason: "502 Bad Gateway".into(),
        after: None,
    });
    e.advance(Duration::hours(2));

    let report = e.tick().await;

    assert_eq!((report.posted, report.retried), (1, 1));
    assert_eq!(
        e.queue().get(u.id(), item.id()).await.unwrap().status(),
        QueueStatus::Approved
    );
}

// ---------------------------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_users_item_is_not_found_for_every_queue_operation_and_stays_unchanged() {
    let e = TestEngine::new();
    let a = e.user("a@example.com").await;
    let b = e.user("b@example.com").await;
    let bs_account = e.connect(&b, Platform::Facebook, "b-fb").await;
    let item = e
        .queue_item(&a, "Aurora Desk Lamp", &[Platform::Facebook])
        .await;
    let q = e.queue();

    let results = [
        ("get", q.get(b.id(), item.id()).await.map(|_| ())),
        (
            "update",
            q.update(
                b.id(),
                item.id(),
                QueueItemPatch {
                    ai_generated_content: Some("hijacked".into()),
                    ..QueueItemPatch::default()
                },
            )
            .await
            .map(|_| ()),
        ),
        (
            "approve",
            q.approve(b.id(), item.id(), approve(vec![bs_account.id()]))
                .await
                .map(|_| ()),
        ),
        (
            "reject",
            q.reject(b.id(), item.id(), None).await.map(|_| ()),
        ),
        (
            "regenerate",
            q.regenerate(b.id(), item.id(), None).await.map(|_| ()),
        ),
        ("delete", q.delete(b.id(), item.id()).await),
    ];

    for (operation, result) in results {
        assert!(
            matches!(result, Err(Error::NotFound(_))),
            "{operation}: {result:?}"
        );
    }
    assert_eq!(q.get(a.id(), item.id()).await.unwrap(), item);
    assert!(e.posts_of(&b).await.is_empty());
}

#[tokio::test]
async fn caption_generations_are_limited_per_user_per_minute_and_nothing_is_stored_past_it() {
    let e = TestEngine::with_ports(|builder| builder.caption_generations_per_minute(2));
    let (a, b) = (e.user("a@example.com").await, e.user("b@example.com").await);
    let queue = e.queue();
    let generate = |user| {
        queue.generate(
            user,
            product("Aurora Desk Lamp"),
            vec![Platform::Instagram],
            Tone::Casual,
        )
    };
    generate(a.id()).await.unwrap();
    let rejected = generate(a.id()).await.unwrap();
    e.queue().reject(a.id(), rejected.id(), None).await.unwrap();

    let refused = e
        .queue()
        .regenerate(a.id(), rejected.id(), None)
        .await
        .unwrap_err();

    assert!(
        matches!(refused, Error::TooManyAttempts { retry_after } if (1..=60).contains(&retry_after.as_secs())),
        "{refused:?}"
    );
    let stored = e.queue().get(a.id(), rejected.id()).await.unwrap();
    assert_eq!(
        stored.status(),
        QueueStatus::Rejected,
        "the refused regeneration changed nothing"
    );
    generate(b.id())
        .await
        .expect("another user's minute is their own");
    e.clock.advance(Duration::seconds(60));
    e.queue()
        .regenerate(a.id(), rejected.id(), None)
        .await
        .expect("a new minute");
}

/// A language model that writes a caption for each platform asked (mode `VALID`), is down
/// (`DOWN`), or answers nonsense at a cost (`INVALID`).
#[derive(Debug, Default)]
struct StubModel {
    mode: std::sync::atomic::AtomicU8,
}

impl StubModel {
    const VALID: u8 = 0;
    const DOWN: u8 = 1;
    const INVALID: u8 = 2;
    const SLOW: u8 = 3;

    fn set(&self, mode: u8) {
        self.mode.store(mode, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl postpilot_core::caption::LanguageModel for StubModel {
    fn name(&self) -> String {
        "stub:model".into()
    }

    async fn complete(
        &self,
        prompt: &postpilot_core::caption::Prompt,
    ) -> Result<postpilot_core::caption::Completion, postpilot_core::caption::CaptionError> {
        let usage = postpilot_core::caption::TokenUsage {
            input: 10,
            output: 5,
        };
        let text = match self.mode.load(std::sync::atomic::Ordering::SeqCst) {
            Self::DOWN => {
                return Err(postpilot_core::caption::CaptionError::Unavailable(
                    "down".into(),
                ));
            }
            Self::INVALID => "not JSON".to_owned(),
            Self::SLOW => {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                "late".to_owned()
            }
            _ => {
                let answer: serde_json::Map<_, _> = prompt.schema["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        let caption = serde_json::json!({"caption": "A lamp for late nights.", "hashtags": ["lamp"]});
                        (p.as_str().unwrap().to_owned(), caption)
                    })
                    .collect();
                serde_json::Value::Object(answer).to_string()
            }
        };
        Ok(postpilot_core::caption::Completion { text, usage })
    }
}

/// An engine whose captions come from a [`StubModel`] with `fallback`, on a free plan of `cap`
/// model generations a month.
fn metered_engine(
    fallback: postpilot_core::caption::Fallback,
    cap: i64,
) -> (TestEngine, Arc<StubModel>) {
    let model = Arc::new(StubModel::default());
    let captions = Arc::new(postpilot_core::caption::ModelCaptions::new(
        model.clone(),
        fallback,
    ));
    let e = TestEngine::with_ports(|builder| builder.plans(capped_plans(cap)).captions(captions));
    (e, model)
}

/// The user's model generations counted this month.
async fn generations(e: &TestEngine, user: postpilot_core::id::UserId) -> u64 {
    e.usage().usage(user).await.unwrap().generations_this_month
}

fn capped_plans(generations: i64) -> postpilot_core::plan::Plans {
    use postpilot_core::plan::{PlanFile, Plans, PlansFile};
    Plans::parse(PlansFile {
        free: Some(PlanFile {
            generations_per_month: Some(generations),
            ..PlanFile::default()
        }),
        ..PlansFile::default()
    })
    .unwrap()
}

#[tokio::test]
async fn model_generations_are_capped_per_month_by_the_plan_and_a_failed_one_is_not_counted() {
    let (e, model) = metered_engine(postpilot_core::caption::Fallback::None, 2);
    let (a, b) = (e.user("a@example.com").await, e.user("b@example.com").await);
    let queue = e.queue();
    let generate = |user| {
        queue.generate(
            user,
            product("Aurora Desk Lamp"),
            vec![Platform::Instagram],
            Tone::Casual,
        )
    };
    generate(a.id()).await.unwrap();
    let rejected = generate(a.id()).await.unwrap();
    e.queue().reject(a.id(), rejected.id(), None).await.unwrap();

    let refused = generate(a.id()).await.unwrap_err();
    let regenerate_refused = e
        .queue()
        .regenerate(a.id(), rejected.id(), None)
        .await
        .unwrap_err();

    for refused in [refused, regenerate_refused] {
        assert!(
            matches!(
                refused,
                Error::PlanLimit {
                    resource: LimitedResource::GenerationsPerMonth,
                    limit: 2
                }
            ),
            "{refused:?}"
        );
    }
    assert_eq!(
        e.queue()
            .list(a.id(), None, PageRequest::default())
            .await
            .unwrap()
            .total,
        2
    );
    let usage = e.usage().usage(a.id()).await.unwrap();
    assert_eq!(
        (usage.generations_this_month, usage.generations_limit.max()),
        (2, Some(2))
    );
    for mode in [StubModel::DOWN, StubModel::INVALID] {
        model.set(mode);
        assert!(matches!(
            generate(b.id()).await,
            Err(Error::Unavailable { .. })
        ));
    }
    assert_eq!(
        generations(&e, b.id()).await,
        0,
        "a generation that stored nothing is given back"
    );
    model.set(StubModel::VALID);
    e.advance(Duration::days(20));
    e.queue()
        .regenerate(a.id(), rejected.id(), None)
        .await
        .expect("a new month");
    assert_eq!(generations(&e, a.id()).await, 1);
}

#[tokio::test]
async fn a_generation_cancelled_before_anything_was_stored_is_given_back() {
    let (e, model) = metered_engine(postpilot_core::caption::Fallback::None, 5);
    model.set(StubModel::SLOW);
    let u = e.user("a@example.com").await;
    let queue = e.queue();
    let generation = queue.generate(
        u.id(),
        product("Aurora Desk Lamp"),
        vec![Platform::Facebook],
        Tone::Casual,
    );

    // What a request timeout or a closed connection does: the future is dropped mid-call.
    let cut = tokio::time::timeout(std::time::Duration::from_millis(50), generation).await;

    assert!(cut.is_err(), "the slow model outlasted the timeout");
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(generations(&e, u.id()).await, 0);
    assert_eq!(
        e.queue()
            .list(u.id(), None, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn a_template_caption_after_a_paid_model_answer_counts_and_after_an_outage_does_not() {
    let (e, model) = metered_engine(postpilot_core::caption::Fallback::Template, 5);
    let u = e.user("a@example.com").await;
    let queue = e.queue();
    let generate = || {
        queue.generate(
            u.id(),
            product("Aurora Desk Lamp"),
            vec![Platform::Facebook],
            Tone::Casual,
        )
    };

    model.set(StubModel::DOWN);
    let free = generate().await.unwrap();
    model.set(StubModel::INVALID);
    let paid = generate().await.unwrap();

    for item in [&free, &paid] {
        assert!(item.caption_generator().unwrap().fell_back.is_some());
    }
    assert_eq!(
        generations(&e, u.id()).await,
        1,
        "only the fallback after two paid answers counts"
    );
}

#[tokio::test]
async fn the_templates_are_not_metered_so_they_never_meet_the_generation_limit() {
    let e = TestEngine::with_ports(|builder| builder.plans(capped_plans(0)));
    let u = e.user("a@example.com").await;

    e.queue()
        .generate(
            u.id(),
            product("Aurora Desk Lamp"),
            vec![Platform::Facebook],
            Tone::Casual,
        )
        .await
        .unwrap();

    assert_eq!(generations(&e, u.id()).await, 0);
}

#[tokio::test]
async fn a_template_too_long_once_filled_from_a_product_is_refused_naming_the_template() {
    use postpilot_core::template::CreateTemplate;
    let e = TestEngine::new();
    let u = e.user("a@example.com").await;
    // Fits with the sample product's description, not with a product whose description is long.
    let body = format!("{} {{description}}", "x".repeat(1_950));
    let template = e
        .templates()
        .create(
            u.id(),
            CreateTemplate {
                name: "Long".into(),
                body,
                platforms: vec![Platform::Instagram],
                tone: None,
            },
        )
        .await
        .unwrap();
    let mut product = postpilot_core::caption::ProductDataWire {
        title: "Lamp".into(),
        description: Some("y".repeat(400)),
        ..Default::default()
    };

    let refused = e
        .queue()
        .generate_from_template(
            u.id(),
            ProductData::parse(product.clone()).unwrap(),
            vec![Platform::Instagram],
            template.id(),
            None,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&refused, Error::Validation(v) if v.field() == "template_id" && v.reason().contains("Instagram")),
        "{refused:?}"
    );
    assert_eq!(
        e.queue()
            .list(u.id(), None, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    product.description = Some("Short.".into());
    let item = e
        .queue()
        .generate_from_template(
            u.id(),
            ProductData::parse(product).unwrap(),
            vec![Platform::Instagram],
            template.id(),
            None,
        )
        .await
        .unwrap();
    assert!(
        item.ai_generated_content()
            .unwrap()
            .as_ref()
            .ends_with(" Short.")
    );
}
