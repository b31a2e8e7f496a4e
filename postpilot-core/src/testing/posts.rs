//! Posts: quota, lists and compare-and-set writes: storage contracts every store must keep.

use super::*;

/// Posts: the monthly quota counts posts created in the window only.
pub async fn post_quota_counts_the_current_month_only(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let last_month = post(u.id, acc.id, t0() - Duration::days(30), None);
    ok!(store.insert_post(&last_month, quota(100)));
    for _ in 0..2 {
        ok!(store.insert_post(&post(u.id, acc.id, t0(), None), quota(2)));
    }
    assert!(matches!(
        store
            .insert_post(&post(u.id, acc.id, t0(), None), quota(2))
            .await,
        Err(StoreError::LimitReached)
    ));
    let w = MonthWindow::containing(t0());
    assert_eq!(ok!(store.count_posts_created(u.id, w)), 2);
}

/// Posts: 50 concurrent creates at 9/10 used → exactly one succeeds.
pub async fn concurrent_creates_at_the_quota_edge_give_exactly_one(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    for _ in 0..9 {
        ok!(store.insert_post(&post(u.id, acc.id, t0(), None), quota(10)));
    }
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let p = post(u.id, acc.id, t0(), None);
            tokio::spawn(async move { store.insert_post(&p, quota(10)).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(()) => created += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(created, 1);
    let w = MonthWindow::containing(t0());
    assert_eq!(ok!(store.count_posts_created(u.id, w)), 10);
}

/// Posts: lists are per owner, newest first, filtered and paginated.
pub async fn post_lists_filter_paginate_and_isolate(store: Arc<dyn Store>) {
    let (a, acc) = seeded(&store).await;
    let (b, bacc) = seeded(&store).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let at = (i % 2 == 0).then(|| t0() + Duration::hours(1));
        let p = post(a.id, acc.id, t0() + Duration::seconds(i), at);
        ids.push(p.id());
        ok!(store.insert_post(&p, quota(100)));
    }
    ok!(store.insert_post(&post(b.id, bacc.id, t0(), None), quota(100)));
    let page = ok!(store.list_posts(
        a.id,
        PostListFilter::default(),
        PageRequest::new(Some(1), Some(2)).unwrap_or_default()
    ));
    assert_eq!(page.total, 5);
    assert_eq!(
        page.items.iter().map(Post::id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let scheduled = ok!(store.list_posts(
        a.id,
        PostListFilter {
            status: Some(PostStatus::Scheduled),
            platform: Some(Platform::Facebook)
        },
        PageRequest::default()
    ));
    assert_eq!(scheduled.total, 3);
    let none = ok!(store.list_posts(
        a.id,
        PostListFilter {
            status: None,
            platform: Some(Platform::Tiktok)
        },
        PageRequest::default()
    ));
    assert_eq!(none.total, 0);
    let third = ok!(store.list_posts(
        a.id,
        PostListFilter::default(),
        PageRequest::new(Some(3), Some(2)).unwrap_or_default()
    ));
    assert_eq!(third.items.len(), 1);
    let beyond = ok!(store.list_posts(
        a.id,
        PostListFilter::default(),
        PageRequest::new(Some(10), Some(2)).unwrap_or_default()
    ));
    assert_eq!(
        (beyond.items.len(), beyond.total),
        (0, 5),
        "a page past the end still counts"
    );
    assert!(ok!(store.post(b.id, ids[0])).is_none());
    let between = ok!(store.posts_between(a.id, t0(), t0() + Duration::days(1)));
    assert_eq!(between.len(), 3);
    assert!(ok!(store.posts_between(b.id, t0(), t0() + Duration::days(1))).is_empty());
}

/// Posts: updates and deletes are compare-and-set on status, and scoped by owner.
pub async fn post_writes_are_compare_and_set(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let mut p = post(u.id, acc.id, t0(), None);
    ok!(store.insert_post(&p, quota(100)));
    p.schedule(t0() + Duration::hours(2), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.update_post(&p, &[PostStatus::Scheduled]).await,
        Err(StoreError::Stale)
    ));
    ok!(store.update_post(&p, &[PostStatus::Draft]));
    assert_eq!(
        ok!(store.post(u.id, p.id())).map(|x| x.status()),
        Some(PostStatus::Scheduled)
    );
    assert!(matches!(
        store
            .delete_post(other.id, p.id(), &[PostStatus::Scheduled])
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_post(u.id, p.id(), &[PostStatus::Draft]).await,
        Err(StoreError::Stale)
    ));
    ok!(store.delete_post(u.id, p.id(), &[PostStatus::Scheduled]));
    assert!(ok!(store.post(u.id, p.id())).is_none());
}

/// Posts: the product a post was made from round-trips, and later writes keep it.
pub async fn a_posts_product_snapshot_round_trips_and_survives_writes(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let snapshot = crate::post::ProductSnapshot {
        id: Some("sku-42".into()),
        title: "Aurora Desk Lamp".into(),
        price: crate::caption::Price::from_cents(3_400).ok(),
        compare_at_price: crate::caption::Price::from_cents(4_950).ok(),
        currency: Some("EUR".into()),
        stock: Some(0),
        url: Some("https://shop.example.com/aurora".into()),
    };
    let mut p = Post::create(
        NewPost {
            id: id(),
            user_id: u.id,
            account_id: acc.id,
            queue_item_id: None,
            platform: Platform::Facebook,
            content: Caption::parse("The lamp").unwrap_or_else(|e| panic!("{e}")),
            media_urls: Vec::new(),
            hashtags: Hashtags::default(),
            product: Some(snapshot.clone()),
        },
        None,
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.insert_post(&p, quota(100)));
    assert_eq!(ok!(store.post(u.id, p.id())).as_ref(), Some(&p));
    p.schedule(t0() + Duration::hours(2), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.update_post(&p, &[PostStatus::Draft]));
    let stored = ok!(store.post(u.id, p.id()));
    assert_eq!(stored.as_ref().and_then(Post::product), Some(&snapshot));
}

/// Posts: the scheduled posts of a product are found by its shop id, the owner's only, oldest
/// first; drafts, paused posts and other products' are not.
pub async fn scheduled_posts_are_found_by_their_products_id(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, other_acc) = seeded(&store).await;
    let of = |owner: UserId, account: AccountId, product: &str, minutes: i64, at: bool| {
        let mut p = post(owner, account, t0() + Duration::minutes(minutes), None);
        p.product = Some(crate::post::ProductSnapshot {
            id: Some(product.into()),
            title: product.into(),
            price: None,
            compare_at_price: None,
            currency: None,
            stock: None,
            url: None,
        });
        if at {
            p.schedule(t0() + Duration::days(1), t0())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        p
    };
    let second = of(u.id, acc.id, "lamp", 2, true);
    let first = of(u.id, acc.id, "lamp", 1, true);
    let draft = of(u.id, acc.id, "lamp", 3, false);
    let mut paused = of(u.id, acc.id, "lamp", 4, true);
    paused
        .pause("sold out", t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let mug = of(u.id, acc.id, "mug", 5, true);
    let theirs = of(other.id, other_acc.id, "lamp", 6, true);
    for p in [&second, &first, &draft, &paused, &mug, &theirs] {
        ok!(store.insert_post(p, quota(100)));
    }

    let found = ok!(store.scheduled_posts_of_product(u.id, "lamp"));

    let ids: Vec<_> = found.iter().map(Post::id).collect();
    assert_eq!(ids, [first.id(), second.id()]);
    assert_eq!(found[0], first);
    assert!(ok!(store.scheduled_posts_of_product(u.id, "vase")).is_empty());
}

/// Posts: a pause writes only what a pause changes (and the product as it is now): a merchant's
/// edit that landed after the pausing read is kept under it; a pause of a post claimed since is
/// stale.
pub async fn a_pause_keeps_an_edit_made_since_it_read_the_post(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let p = post(u.id, acc.id, t0(), Some(t0() + Duration::hours(2)));
    ok!(store.insert_post(&p, quota(100)));
    let mut pausing = p.clone();
    let now_product = crate::post::ProductSnapshot {
        id: Some("sku-1".into()),
        title: "Lamp".into(),
        price: crate::caption::Price::from_cents(2_900).ok(),
        compare_at_price: None,
        currency: None,
        stock: Some(3),
        url: None,
    };
    pausing
        .pause_for_product("the price changed", now_product.clone(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut edited = p.clone();
    let caption = Caption::parse("Edited meanwhile").unwrap_or_else(|e| panic!("{e}"));
    edited
        .edit(Some(caption.clone()), None, None, t0())
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.update_post(&edited, &[PostStatus::Scheduled]));

    ok!(store.pause_post(&pausing));

    let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(stored.status(), PostStatus::Paused);
    assert_eq!(stored.error_message(), Some("the price changed"));
    assert_eq!(stored.content(), &caption, "the edit was kept");
    assert_eq!(
        stored.product(),
        Some(&now_product),
        "the pause wrote the product as it is now"
    );
    let due = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1)));
    ok!(store.insert_post(&due, quota(100)));
    let mut late = due.clone();
    late.pause("too late", t0())
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w"));
    assert!(matches!(
        store.pause_post(&late).await,
        Err(StoreError::Stale)
    ));
}

/// Posts: a pause racing a worker's claim is fenced — either the post is paused and no worker
/// holds it, or a worker holds it and the pause is refused as stale; never both.
pub async fn a_pause_racing_a_claim_never_leaves_a_claimed_post_paused(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (mut paused, mut claimed) = (0, 0);
    for round in 0..30 {
        let due = t0() + Duration::minutes(round);
        let p = post(u.id, acc.id, t0(), Some(due));
        ok!(store.insert_post(&p, quota(1_000)));
        let mut pausing = p.clone();
        pausing
            .pause("the price changed", due)
            .unwrap_or_else(|e| panic!("{e}"));
        let (claimer, pauser) = (store.clone(), store.clone());
        let claim =
            tokio::spawn(
                async move { claimer.claim_due(due, 10, Duration::seconds(60), "w").await },
            );
        let pause = tokio::spawn(async move { pauser.pause_post(&pausing).await });
        let claim = claim.await.unwrap_or_else(|e| panic!("{e}"));
        let pause = pause.await.unwrap_or_else(|e| panic!("{e}"));
        let took = claim
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .any(|c| c.post.id() == p.id());
        let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
        match pause {
            Ok(()) => {
                assert!(!took, "round {round}: a paused post was claimed");
                assert_eq!(stored.status(), PostStatus::Paused);
                paused += 1;
            }
            Err(StoreError::Stale) => {
                assert!(
                    took,
                    "round {round}: the pause was refused but nothing claimed it"
                );
                assert_eq!(stored.status(), PostStatus::Publishing);
                claimed += 1;
            }
            Err(e) => panic!("round {round}: {e:?}"),
        }
    }
    // Both orders happened, or the contract raced nothing.
    assert!(
        paused + claimed == 30 && claimed > 0,
        "paused {paused}, claimed {claimed}"
    );
}

/// Posts: a user's write based on a read from before a worker's claim is stale even when the
/// post is back in the status the user read (no ABA): the claim counter moved.
pub async fn post_writes_after_an_intervening_claim_are_stale(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(1)));
    ok!(store.insert_post(&p, quota(100)));
    let read_by_user = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    let mut claimed = ok!(store.claim_due(t0(), 1, Duration::seconds(60), "w"))
        .remove(0)
        .post;
    let token = claimed.lease_token();
    claimed
        .retry_at(t0() + Duration::seconds(30), "boom", t0())
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.commit_claim(&claimed));
    let mut edit = read_by_user;
    edit.edit(
        Some(Caption::parse("edited").unwrap_or_else(|e| panic!("{e}"))),
        None,
        None,
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.update_post(&edit, &[PostStatus::Scheduled]).await,
        Err(StoreError::Stale)
    ));
    let stored = ok!(store.post(u.id, p.id())).unwrap_or_else(|| panic!("post"));
    assert_eq!(
        (stored.attempts(), stored.lease_token()),
        (1, token),
        "the worker's outcome stands"
    );
}
