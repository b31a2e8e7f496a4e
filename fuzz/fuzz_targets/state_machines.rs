//! Random operation sequences on a post and a queue item: a refused operation changes nothing,
//! posted is final, and every state keeps its invariants.
#![no_main]

use chrono::{Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use postpilot_core::caption::{GeneratedCaption, Generator, ProductData, ProductDataWire, Tone};
use postpilot_core::id::{AccountId, PostId, QueueItemId, UserId};
use postpilot_core::platform::Platform;
use postpilot_core::post::{Caption, Hashtags, NewPost, Post, PostStatus, Published};
use postpilot_core::queue::{NewQueueItem, QueueItem, QueueStatus};

fuzz_target!(|data: &[u8]| {
    let Some(mut now) = Utc.timestamp_opt(1_800_000_000, 0).single() else {
        return;
    };
    let Ok(content) = Caption::parse("hello") else {
        return;
    };
    let Ok(mut post) = Post::create(
        NewPost {
            id: PostId::from_uuid(Default::default()),
            user_id: UserId::from_uuid(Default::default()),
            account_id: AccountId::from_uuid(Default::default()),
            queue_item_id: None,
            platform: Platform::Facebook,
            content,
            media_urls: vec![],
            hashtags: Hashtags::default(),
            product: None,
        },
        None,
        now,
    ) else {
        return;
    };
    for pair in data.chunks(2) {
        let (op, arg) = (pair[0] % 11, i64::from(*pair.get(1).unwrap_or(&1)));
        let before = post.clone();
        let ok = match op {
            0 => post
                .schedule(now + Duration::seconds(arg * 60 - 600), now)
                .is_ok(),
            1 => post.unschedule(now).is_ok(),
            2 => post
                .edit(Caption::parse("edited").ok(), None, None, now)
                .is_ok(),
            3 => {
                now += Duration::seconds(arg * 10);
                continue;
            }
            4 => post.claim("w", Duration::seconds(60), now).is_ok(),
            5 => post
                .mark_posted(
                    Published {
                        remote_id: "r".into(),
                        url: None,
                    },
                    now,
                )
                .is_ok(),
            6 => post
                .retry_at(now + Duration::seconds(arg), "e", now)
                .is_ok(),
            7 => post.snooze(now + Duration::seconds(arg), now).is_ok(),
            8 => post.fail("e", now).is_ok(),
            9 => post.pause("the price changed", now).is_ok(),
            _ => post.release(now).is_ok(),
        };
        if !ok {
            assert_eq!(post, before, "a refused operation changed the post");
        }
        if before.status() == PostStatus::Posted {
            assert_eq!(post, before, "posted is final");
        }
        assert_eq!(
            post.lease().is_some(),
            post.status() == PostStatus::Publishing
        );
        assert!(post.lease_token() >= before.lease_token());
        if post.status() == PostStatus::Paused {
            assert!(post.error_message().is_some() && post.due_at().is_none());
        }
    }

    let Ok(product) = ProductData::parse(ProductDataWire {
        title: "Lamp".into(),
        ..ProductDataWire::default()
    }) else {
        return;
    };
    let Ok(mut item) = QueueItem::create(
        NewQueueItem {
            id: QueueItemId::from_uuid(Default::default()),
            user_id: UserId::from_uuid(Default::default()),
            product_data: product,
            platforms: vec![Platform::Instagram],
            caption: None,
            hashtags: Hashtags::default(),
            platform_captions: Default::default(),
            tone: None,
            generator: None,
        },
        now,
    ) else {
        return;
    };
    for byte in data {
        let before = item.clone();
        let result = match byte % 4 {
            0 => item.approve(now),
            1 => item.reject(None, now),
            2 => match Caption::parse("again") {
                Ok(caption) => {
                    let generated =
                        GeneratedCaption::shared(caption, Hashtags::default(), Generator::template());
                    item.regenerate(generated, Tone::Casual, now)
                }
                Err(_) => return,
            },
            _ => item.mark_posted(now),
        };
        if result.is_err() {
            assert_eq!(item, before);
        }
        if before.status() == QueueStatus::Posted {
            assert_eq!(item, before, "posted is final");
        }
    }
});
