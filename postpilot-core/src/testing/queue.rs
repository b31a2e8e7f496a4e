//! The content queue: storage contracts every store must keep.

use super::*;

/// Queue: an item reads back as written — what wrote its caption and what it cost, and each
/// platform's own caption, included — and an edit that clears the generator (the merchant's own
/// caption) and every platform's own caption is stored too.
pub async fn queue_items_round_trip_with_what_wrote_their_caption(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    let mut item = queue_item(u.id);
    assert!(item.caption_generator().is_some());
    assert!(!item.platform_captions().is_empty());
    ok!(store.insert_queue_item(&item));
    assert_eq!(ok!(store.queue_item(u.id, item.id)).as_ref(), Some(&item));
    let edit = crate::queue::QueueItemEdit {
        caption: Some(
            crate::post::Caption::parse("My own words").unwrap_or_else(|e| panic!("{e}")),
        ),
        platform_captions: Some(crate::caption::PlatformCaptions::default()),
        ..crate::queue::QueueItemEdit::default()
    };
    item.edit(edit, t0()).unwrap_or_else(|e| panic!("{e}"));
    assert!(item.caption_generator().is_none());
    assert!(item.platform_captions().is_empty());
    ok!(store.update_queue_item(&item, &[QueueStatus::Pending]));
    assert_eq!(ok!(store.queue_item(u.id, item.id)).as_ref(), Some(&item));
}

/// Queue: approval inserts every post within the quota and approves the item — all or nothing.
pub async fn approval_is_all_or_nothing(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let mut item = queue_item(u.id);
    ok!(store.insert_queue_item(&item));
    item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
    let posts: Vec<Post> = (0..3)
        .map(|_| {
            let mut p = post(u.id, acc.id, t0(), None);
            p.queue_item_id = Some(item.id);
            p
        })
        .collect();
    assert!(matches!(
        store.approve_queue_item(&item, &posts, quota(2)).await,
        Err(StoreError::LimitReached)
    ));
    assert_eq!(
        ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
        Some(QueueStatus::Pending)
    );
    let w = MonthWindow::containing(t0());
    assert_eq!(ok!(store.count_posts_created(u.id, w)), 0);
    ok!(store.approve_queue_item(&item, &posts, quota(3)));
    assert_eq!(
        ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
        Some(QueueStatus::Approved)
    );
    assert_eq!(ok!(store.count_posts_created(u.id, w)), 3);
    assert!(matches!(
        store.approve_queue_item(&item, &[], quota(10)).await,
        Err(StoreError::Stale)
    ));
}

/// An approved queue item over `store` with `n` posts due on `account`.
async fn approved_item_with_due_posts(
    store: &Arc<dyn Store>,
    owner: UserId,
    account: AccountId,
    n: i64,
) -> QueueItem {
    let mut item = queue_item(owner);
    ok!(store.insert_queue_item(&item));
    item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
    let posts: Vec<Post> = (0..n)
        .map(|i| {
            let mut p = post(owner, account, t0(), Some(t0() - Duration::seconds(10 - i)));
            p.queue_item_id = Some(item.id);
            p
        })
        .collect();
    ok!(store.approve_queue_item(&item, &posts, quota(100)));
    item
}

/// Queue, through the dispatcher: the item becomes posted when its last post is published.
pub async fn queue_item_is_posted_when_all_its_posts_are(store: Arc<dyn Store>) {
    use crate::publish::DispatcherConfig;
    let (engine, _clock, _publisher, u, acc) = scheduler_fixture(store.clone()).await;
    let item = approved_item_with_due_posts(&store, u.id, acc.id, 2).await;
    let one_at_a_time = DispatcherConfig {
        batch_size: 1,
        ..DispatcherConfig::default()
    };
    let worker = engine
        .dispatcher("w", one_at_a_time)
        .unwrap_or_else(|e| panic!("{e}"));
    for expected in [QueueStatus::Approved, QueueStatus::Posted] {
        let tick = worker.run_once().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tick.posted, 1);
        assert_eq!(
            ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
            Some(expected)
        );
    }
}

/// Queue, through the dispatcher: when workers publish the posts of one item at the same time,
/// the item still becomes posted (the last to settle sees every other's post).
pub async fn concurrent_commits_of_an_items_posts_mark_it_posted(store: Arc<dyn Store>) {
    use crate::publish::DispatcherConfig;
    let (engine, _clock, _publisher, u, acc) = scheduler_fixture(store.clone()).await;
    let one_at_a_time = DispatcherConfig {
        batch_size: 1,
        ..DispatcherConfig::default()
    };
    for round in 0..10 {
        let item = approved_item_with_due_posts(&store, u.id, acc.id, 3).await;
        let ticks: Vec<_> = (0..3)
            .map(|w| {
                let worker = engine
                    .dispatcher(format!("w{round}-{w}"), one_at_a_time)
                    .unwrap_or_else(|e| panic!("{e}"));
                tokio::spawn(async move { worker.run_once().await })
            })
            .collect();
        let mut posted = 0;
        for tick in ticks {
            posted += tick
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"))
                .posted;
        }
        assert_eq!(posted, 3, "round {round}");
        assert_eq!(
            ok!(store.queue_item(u.id, item.id)).map(|i| i.status),
            Some(QueueStatus::Posted),
            "round {round}"
        );
    }
}

/// Queue: reads and writes are scoped by owner and compare-and-set on status.
pub async fn queue_items_are_isolated_and_compare_and_set(store: Arc<dyn Store>) {
    let (a, _) = seeded(&store).await;
    let (b, _) = seeded(&store).await;
    let mut item = queue_item(a.id);
    ok!(store.insert_queue_item(&item));
    ok!(store.insert_queue_item(&queue_item(b.id)));
    assert!(ok!(store.queue_item(b.id, item.id)).is_none());
    assert_eq!(
        ok!(store.list_queue_items(a.id, None, PageRequest::default())).total,
        1
    );
    assert_eq!(
        ok!(store.list_queue_items(a.id, Some(QueueStatus::Rejected), PageRequest::default()))
            .total,
        0
    );
    assert!(matches!(
        store
            .delete_queue_item(b.id, item.id, &[QueueStatus::Pending])
            .await,
        Err(StoreError::NotFound)
    ));
    item.reject(Some("off-brand".into()), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store
            .update_queue_item(&item, &[QueueStatus::Approved])
            .await,
        Err(StoreError::Stale)
    ));
    ok!(store.update_queue_item(&item, &[QueueStatus::Pending]));
    let stored = ok!(store.queue_item(a.id, item.id)).unwrap_or_else(|| panic!("item"));
    assert_eq!(
        (stored.status, stored.rejection_reason.as_deref()),
        (QueueStatus::Rejected, Some("off-brand"))
    );
    assert_eq!(stored.product_data, item.product_data);
    ok!(store.delete_queue_item(a.id, item.id, &[QueueStatus::Rejected]));
    assert!(ok!(store.queue_item(a.id, item.id)).is_none());
}

/// Templates: a template reads back as written, is its owner's only, changes and goes.
pub async fn templates_round_trip_isolate_change_and_go(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let fields = crate::template::TemplateFields {
        name: "Weekly drop".into(),
        body: "{title} at {store_name}: {price} {currency}\n{url}".into(),
        platforms: vec![Platform::Instagram, Platform::Tiktok],
        tone: Some(crate::caption::Tone::Luxury),
    };
    let mut template = crate::template::CaptionTemplate::create(
        TemplateId::from(Uuid::new_v4()),
        u.id,
        fields,
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.insert_template(&template));

    assert_eq!(
        ok!(store.template(u.id, template.id)).as_ref(),
        Some(&template)
    );
    assert!(ok!(store.template(other.id, template.id)).is_none());
    assert_eq!(
        ok!(store.list_templates(u.id, PageRequest::default())).items,
        [template.clone()]
    );
    assert!(
        ok!(store.list_templates(other.id, PageRequest::default()))
            .items
            .is_empty()
    );

    let patch = crate::template::TemplatePatch {
        name: Some("Sunday drop".into()),
        platforms: Some(Vec::new()),
        ..crate::template::TemplatePatch::default()
    };
    template.edit(patch, t0()).unwrap_or_else(|e| panic!("{e}"));
    ok!(store.update_template(&template));
    assert_eq!(
        ok!(store.template(u.id, template.id)).as_ref(),
        Some(&template)
    );
    let mut theirs = template.clone();
    theirs.user_id = other.id;
    assert!(matches!(
        store.update_template(&theirs).await,
        Err(StoreError::NotFound)
    ));

    assert!(!ok!(store.delete_template(other.id, template.id)));
    assert!(ok!(store.delete_template(u.id, template.id)));
    assert!(ok!(store.template(u.id, template.id)).is_none());
}

/// Queue: model generations are counted per owner and month up to the cap — 12 concurrent takes
/// at a cap of 5 count exactly 5 — a given-back one frees its place, never below zero, and other
/// months and owners are untouched; no cap counts on.
pub async fn generations_are_counted_per_owner_and_month_up_to_the_cap(store: Arc<dyn Store>) {
    let (a, b) = (user(), user());
    ok!(store.insert_user(&a));
    ok!(store.insert_user(&b));
    let month = t0();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_generation(a.id, month, Some(5)).await })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(()) => taken += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(taken, 5);
    assert_eq!(ok!(store.count_generations(a.id, month)), 5);
    ok!(store.return_generation(a.id, month));
    assert_eq!(ok!(store.count_generations(a.id, month)), 4);
    ok!(store.take_generation(a.id, month, Some(5)));
    assert!(matches!(
        store.take_generation(a.id, month, Some(5)).await,
        Err(StoreError::LimitReached)
    ));
    let next_month = month + Duration::days(31);
    assert_eq!(ok!(store.count_generations(a.id, next_month)), 0);
    assert!(matches!(
        store.take_generation(b.id, month, Some(0)).await,
        Err(StoreError::LimitReached)
    ));
    ok!(store.return_generation(b.id, month));
    assert_eq!(ok!(store.count_generations(b.id, month)), 0);
    for _ in 0..7 {
        ok!(store.take_generation(b.id, next_month, None));
    }
    assert_eq!(ok!(store.count_generations(b.id, next_month)), 7);
}
