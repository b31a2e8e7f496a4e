//! Counts: every total a store gives — a list's total for each filter, the monthly quota's count,
//! the analytics overview — equals a recount of the rows it stands for, after every kind of
//! write, after refused writes, and after writes made at once. (PostgreSQL keeps these totals as
//! counters; the memory store counts its rows: both must give the recount's figures.)

use super::*;
use crate::analytics::{AnalyticsOverview, MetricCounts, PostMetrics};
use crate::page::{MAX_PER_PAGE, PageRequest};
use crate::post::Published;
use crate::store::PostListFilter;

fn page(page: u32, per_page: u32) -> PageRequest {
    PageRequest::new(Some(page), Some(per_page)).unwrap_or_else(|e| panic!("{e}"))
}

/// Panics unless every total the store gives for `owner` equals a recount of the rows it lists:
/// the total of each status × platform filter (and of none), the posts created in each month
/// from two before t0's to two after, and the analytics overview.
pub async fn assert_totals_agree_with_a_recount(store: &dyn Store, owner: UserId) {
    let mut posts = Vec::new();
    for n in 1.. {
        let found = ok!(store.list_posts(owner, PostListFilter::default(), page(n, MAX_PER_PAGE)));
        let last = found.items.len() < MAX_PER_PAGE as usize;
        posts.extend(found.items);
        if last {
            break;
        }
    }
    for status in PostStatus::ALL.map(Some).into_iter().chain([None]) {
        for platform in Platform::ALL.map(Some).into_iter().chain([None]) {
            let filter = PostListFilter { status, platform };
            let total = ok!(store.list_posts(owner, filter, page(1, 1))).total;
            let recount = posts
                .iter()
                .filter(|p| status.is_none_or(|s| p.status() == s))
                .filter(|p| platform.is_none_or(|f| p.platform() == f))
                .count() as u64;
            assert_eq!(total, recount, "the total of {status:?} × {platform:?}");
        }
    }
    for shift in -2..=2 {
        let window = MonthWindow::containing(t0() + Duration::days(31 * shift));
        let recount = posts
            .iter()
            .filter(|p| window.contains(p.created_at()))
            .count() as u64;
        assert_eq!(
            ok!(store.count_posts_created(owner, window)),
            recount,
            "posts created in {window:?}"
        );
    }
    let (mut totals, mut rows, mut rate_nanos) = (MetricCounts::default(), 0, 0);
    for post in &posts {
        if let Some(m) = ok!(store.post_metrics(owner, post.id())) {
            totals += m.counts;
            rows += 1;
            rate_nanos += m.counts.engagement_nanos();
        }
    }
    let published = posts
        .iter()
        .filter(|p| p.status() == PostStatus::Posted)
        .count() as u64;
    assert_eq!(
        ok!(store.analytics_overview(owner)),
        AnalyticsOverview::from_totals(totals, rows, rate_nanos, published),
        "the analytics overview"
    );
}

/// A connected Instagram account of `owner`, stored.
async fn instagram(store: &Arc<dyn Store>, owner: UserId) -> SocialAccount {
    let external = format!("ig-{}", owner.as_uuid().simple());
    ok!(store.connect_account(
        &account_on(Platform::Instagram, owner, &external, id()),
        Limit::Unlimited
    ))
}

fn metrics(post: &Post, impressions: u64, interactions: u64) -> PostMetrics {
    let counts = MetricCounts {
        impressions,
        reach: impressions / 2,
        likes: interactions / 2,
        comments: interactions / 3,
        shares: interactions % 5,
        clicks: interactions % 7,
    };
    PostMetrics::new(post.id(), post.user_id(), counts, t0())
}

/// Counts: inserts on two platforms in two months, refused inserts (over the quota, one by one,
/// by approval and by import), an approval and an import, claims and every outcome of one,
/// edits, a pause, metric refreshes and deletions each leave every total equal to a recount;
/// another owner's writes move none of them.
pub async fn totals_equal_a_recount_after_every_kind_of_write(store: Arc<dyn Store>) {
    let (u, facebook) = seeded(&store).await;
    let instagram = instagram(&store, u.id).await;
    let (other, other_account) = seeded(&store).await;
    let check = || async {
        assert_totals_agree_with_a_recount(store.as_ref(), u.id).await;
        assert_totals_agree_with_a_recount(store.as_ref(), other.id).await;
    };
    let on = |i: i64, created: DateTime<Utc>, due: Option<DateTime<Utc>>| {
        let (platform, account) = if i % 2 == 0 {
            (Platform::Facebook, facebook.id)
        } else {
            (Platform::Instagram, instagram.id)
        };
        post_on(platform, id(), u.id, account, created, due)
    };

    // Inserts: last month's and this month's, drafts and scheduled, on both platforms.
    for i in 0..8 {
        let created = if i < 2 {
            t0() - Duration::days(30)
        } else {
            t0() + Duration::seconds(i)
        };
        let due = (i % 3 != 0).then(|| t0() + Duration::minutes(i));
        ok!(store.insert_post(&on(i, created, due), quota(100)));
    }
    ok!(store.insert_post(&post(other.id, other_account.id, t0(), None), quota(100)));
    check().await;

    // Refused writes count nothing: this month holds 6 posts.
    let refused = store.insert_post(&on(0, t0(), None), quota(6)).await;
    assert!(
        matches!(refused, Err(StoreError::LimitReached)),
        "{refused:?}"
    );
    let mut item = queue_item(u.id);
    ok!(store.insert_queue_item(&item));
    item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
    let approved: Vec<Post> = (0..2)
        .map(|i| {
            let mut p = on(i, t0(), Some(t0() + Duration::minutes(30)));
            p.queue_item_id = Some(item.id);
            p
        })
        .collect();
    let refused = store.approve_queue_item(&item, &approved, quota(7)).await;
    assert!(
        matches!(refused, Err(StoreError::LimitReached)),
        "{refused:?}"
    );
    let imported: Vec<(String, Post)> = (0..3)
        .map(|i| (format!("row-{i}"), on(i, t0(), None)))
        .collect();
    let report = posts_import_report(u.id, 3);
    let refused = store
        .insert_imported_posts(u.id, &imported, quota(8), &report)
        .await;
    assert!(
        matches!(refused, Err(StoreError::LimitReached)),
        "{refused:?}"
    );
    check().await;

    // An approval and an import.
    ok!(store.approve_queue_item(&item, &approved, quota(100)));
    ok!(store.insert_imported_posts(u.id, &imported, quota(100), &report));
    check().await;

    // Claims, then every outcome of one.
    let claimed = ok!(store.claim_due(
        t0() + Duration::hours(2),
        20,
        Duration::minutes(5),
        "counts"
    ));
    assert!(claimed.len() >= 5, "{} claimed", claimed.len());
    check().await;
    let when = t0() + Duration::hours(2);
    let mut outcomes = Vec::new();
    for (n, c) in claimed.into_iter().enumerate() {
        let mut p = c.post;
        let moved = match n % 4 {
            0 => p.mark_posted(
                Published {
                    remote_id: format!("remote-{n}"),
                    url: None,
                },
                when,
            ),
            1 => p.retry_at(when + Duration::minutes(1), "503", when),
            2 => p.fail_attempt("refused by the platform", when),
            _ => p.release(when),
        };
        moved.unwrap_or_else(|e| panic!("{e}"));
        outcomes.push(p);
    }
    ok!(store.commit_claims(&outcomes));
    check().await;

    // Edits that move a post between statuses, and ones that do not.
    let scheduled = ok!(store.list_posts(
        u.id,
        PostListFilter {
            status: Some(PostStatus::Scheduled),
            platform: None
        },
        page(1, 100)
    ))
    .items;
    assert!(scheduled.len() >= 2, "{} scheduled", scheduled.len());
    let mut unscheduled = scheduled[0].clone();
    unscheduled
        .unschedule(when)
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.update_post(&unscheduled, &[PostStatus::Scheduled]));
    let mut paused = scheduled[1].clone();
    paused
        .pause("the product changed", when)
        .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.pause_post(&paused));
    check().await;

    // Metrics: added, refreshed, and gone with their post.
    let published = ok!(store.list_posts(
        u.id,
        PostListFilter {
            status: Some(PostStatus::Posted),
            platform: None
        },
        page(1, 100)
    ))
    .items;
    assert!(!published.is_empty());
    for (n, p) in published.iter().enumerate() {
        ok!(store.upsert_metrics(&metrics(p, 1_000 + n as u64 * 7, 37 + n as u64)));
    }
    ok!(store.upsert_metrics(&metrics(&published[0], 3, 1)));
    check().await;
    ok!(store.delete_post(u.id, published[0].id(), &[PostStatus::Posted]));
    ok!(store.delete_post(u.id, unscheduled.id(), &[PostStatus::Draft]));
    check().await;
}

/// Counts: inserts, approvals and imports racing the quota (some refused), claims with their
/// outcomes, deletions and metric refreshes, all at once on one merchant, leave every total
/// equal to a recount, and the month's count at what was created less what was deleted, never
/// past the cap.
pub async fn concurrent_writes_leave_totals_equal_to_a_recount(store: Arc<dyn Store>) {
    const CAP: u32 = 50;
    let (u, acc) = seeded(&store).await;
    for i in 0..30 {
        let due = t0() + Duration::seconds(i);
        ok!(store.insert_post(&post(u.id, acc.id, t0(), Some(due)), quota(1_000)));
    }
    // What each task added to (+) or took from (-) the month.
    let mut tasks: Vec<tokio::task::JoinHandle<i64>> = Vec::new();
    let refused_or = |result: Result<(), StoreError>, added: i64| match result {
        Ok(()) => added,
        Err(StoreError::LimitReached) => 0,
        Err(e) => panic!("{e:?}"),
    };
    for i in 0..12 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut added = 0;
            for _ in 0..3 {
                let due = (i % 2 == 0).then(|| t0() + Duration::minutes(5));
                let p = post(u.id, acc.id, t0(), due);
                added += refused_or(store.insert_post(&p, quota(CAP)).await, 1);
            }
            added
        }));
    }
    for _ in 0..3 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut item = queue_item(u.id);
            store
                .insert_queue_item(&item)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            item.approve(t0()).unwrap_or_else(|e| panic!("{e}"));
            let posts: Vec<Post> = (0..2)
                .map(|_| {
                    let mut p = post(u.id, acc.id, t0(), None);
                    p.queue_item_id = Some(item.id);
                    p
                })
                .collect();
            refused_or(store.approve_queue_item(&item, &posts, quota(CAP)).await, 2)
        }));
    }
    for n in 0..2 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let rows: Vec<(String, Post)> = (0..3)
                .map(|r| (format!("race-{n}-{r}"), post(u.id, acc.id, t0(), None)))
                .collect();
            let report = posts_import_report(u.id, 3);
            let result = store
                .insert_imported_posts(u.id, &rows, quota(CAP), &report)
                .await;
            refused_or(result, 3)
        }));
    }
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let when = t0() + Duration::hours(1);
            for _ in 0..3 {
                let worker = format!("worker-{w}");
                let claimed = store
                    .claim_due(when, 4, Duration::minutes(5), &worker)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut outcomes = Vec::new();
                for (n, c) in claimed.into_iter().enumerate() {
                    let mut p = c.post;
                    let moved = if n % 2 == 0 {
                        p.mark_posted(
                            Published {
                                remote_id: format!("{worker}-{n}"),
                                url: None,
                            },
                            when,
                        )
                    } else {
                        p.fail_attempt("refused", when)
                    };
                    moved.unwrap_or_else(|e| panic!("{e}"));
                    outcomes.push(p);
                }
                let published: Vec<Post> = outcomes
                    .iter()
                    .filter(|p| p.status() == PostStatus::Posted)
                    .cloned()
                    .collect();
                store
                    .commit_claims(&outcomes)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                for (n, p) in published.iter().enumerate() {
                    store
                        .upsert_metrics(&metrics(p, 500 + n as u64, 20 + n as u64))
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            }
            0
        }));
    }
    for _ in 0..3 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let listed = store
                .list_posts(u.id, PostListFilter::default(), page(1, 10))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let mut deleted = 0;
            for p in listed.items {
                let expected = [PostStatus::Draft, PostStatus::Scheduled, PostStatus::Failed];
                match store.delete_post(u.id, p.id(), &expected).await {
                    Ok(()) => deleted -= 1,
                    Err(StoreError::Stale | StoreError::NotFound) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            deleted
        }));
    }
    let mut month = 30;
    for t in tasks {
        month += t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let counted = ok!(store.count_posts_created(u.id, MonthWindow::containing(t0())));
    assert_eq!(i64::try_from(counted).unwrap_or(-1), month);
    assert!(
        counted <= u64::from(CAP),
        "{counted} posts this month, past the cap of {CAP}"
    );
    assert_totals_agree_with_a_recount(store.as_ref(), u.id).await;
}
