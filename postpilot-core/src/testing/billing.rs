//! Post metrics and subscriptions: storage contracts every store must keep.

use super::*;

/// Metrics by day: published posts grouped by their local day in the zone asked for (a post
/// at 23:30 UTC is the next day in Paris), posts without metrics counting zero, the range
/// half-open, other owners apart; top posts by interactions, then impressions.
pub async fn metrics_by_local_day_and_top_posts(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, other_acc) = seeded(&store).await;
    // Published at: 10:00 UTC, 23:30 UTC (00:30 the next day in Paris), next day 12:00 UTC,
    // and an hour past the range's end.
    let times = [
        t0() - Duration::hours(2),
        t0() + Duration::minutes(690),
        t0() + Duration::hours(24),
        t0() + Duration::hours(49),
    ];
    let mut ids = Vec::new();
    for (n, at) in times.iter().enumerate() {
        let p = post(
            u.id,
            acc.id,
            t0(),
            Some(t0() - Duration::seconds(5 + n as i64)),
        );
        ok!(store.insert_post(&p, quota(100)));
        ids.push((p.id(), *at));
    }
    let foreign = post(
        other.id,
        other_acc.id,
        t0(),
        Some(t0() - Duration::seconds(1)),
    );
    ok!(store.insert_post(&foreign, quota(100)));
    for claim in ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w")) {
        let mut p = claim.post;
        let at = ids
            .iter()
            .find(|(id, _)| *id == p.id())
            .map_or(t0(), |(_, at)| *at);
        p.mark_posted(
            Published {
                remote_id: p.id().to_string(),
                url: None,
            },
            at,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        ok!(store.commit_claim(&p));
    }
    let counts = |impressions, likes, clicks| MetricCounts {
        impressions,
        likes,
        clicks,
        ..MetricCounts::default()
    };
    ok!(store.upsert_metrics(&PostMetrics::new(ids[0].0, u.id, counts(100, 4, 1), t0())));
    ok!(store.upsert_metrics(&PostMetrics::new(ids[1].0, u.id, counts(50, 9, 1), t0())));
    ok!(store.upsert_metrics(&PostMetrics::new(ids[3].0, u.id, counts(900, 5, 0), t0())));
    ok!(store.upsert_metrics(&PostMetrics::new(
        foreign.id(),
        other.id,
        counts(7, 7, 7),
        t0()
    )));
    let from = t0() - Duration::hours(12);
    let to = t0() + Duration::hours(48);

    let paris = ok!(store.metrics_by_day(u.id, from, to, chrono_tz::Tz::Europe__Paris));
    let utc = ok!(store.metrics_by_day(u.id, from, to, chrono_tz::Tz::UTC));
    let top = ok!(store.top_post_metrics(u.id, 2));

    let day = |d: u32| {
        t0().date_naive()
            .with_day(d)
            .unwrap_or_else(|| panic!("day"))
    };
    let summary = |days: Vec<DayMetrics>| {
        days.into_iter()
            .map(|d| {
                (
                    d.day,
                    d.posts,
                    d.counts.impressions,
                    d.counts.interactions(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(paris),
        [(day(15), 1, 100, 5), (day(16), 2, 50, 10)],
        "23:30 UTC is the 16th in Paris; a post without metrics counts zero"
    );
    assert_eq!(summary(utc), [(day(15), 2, 150, 15), (day(16), 1, 0, 0)]);
    assert_eq!(
        top.iter().map(|m| m.post_id).collect::<Vec<_>>(),
        [ids[1].0, ids[3].0],
        "10 interactions first; of two with 5, the one with more impressions"
    );
    assert!(
        ok!(store.top_post_metrics(u.id, 10))
            .iter()
            .all(|m| m.user_id == u.id)
    );
}

/// Metrics: upsert replaces, only for a published post; reads are per owner, the overview
/// sums and averages.
pub async fn metrics_upsert_and_overview(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let p = post(u.id, acc.id, t0(), Some(t0() - Duration::seconds(5)));
        ok!(store.insert_post(&p, quota(100)));
        ids.push(p.id());
    }
    for claim in ok!(store.claim_due(t0(), 10, Duration::seconds(60), "w")) {
        let mut p = claim.post;
        p.mark_posted(
            Published {
                remote_id: p.id().to_string(),
                url: None,
            },
            t0(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        ok!(store.commit_claim(&p));
    }
    let counts = |impressions, likes| MetricCounts {
        impressions,
        reach: impressions / 2,
        likes,
        ..MetricCounts::default()
    };
    let draft = post(u.id, acc.id, t0(), None);
    ok!(store.insert_post(&draft, quota(100)));
    assert!(
        matches!(
            store
                .upsert_metrics(&PostMetrics::new(draft.id(), u.id, counts(100, 1), t0()))
                .await,
            Err(StoreError::NotFound)
        ),
        "a post not published has no metrics"
    );
    ok!(store.upsert_metrics(&PostMetrics::new(ids[0], u.id, counts(100, 1), t0())));
    ok!(store.upsert_metrics(&PostMetrics::new(ids[0], u.id, counts(100, 10), t0())));
    ok!(store.upsert_metrics(&PostMetrics::new(ids[1], u.id, counts(200, 10), t0())));
    assert!(matches!(
        store
            .upsert_metrics(&PostMetrics::new(ids[1], other.id, counts(1, 1), t0()))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        ok!(store.post_metrics(u.id, ids[0])).map(|m| m.counts.likes),
        Some(10)
    );
    assert!(ok!(store.post_metrics(other.id, ids[0])).is_none());
    let overview = ok!(store.analytics_overview(u.id));
    assert_eq!(
        (
            overview.totals.impressions,
            overview.totals.likes,
            overview.posts_published
        ),
        (300, 20, 2)
    );
    assert!(
        (overview.engagement_rate - 7.5).abs() < 1e-9,
        "mean of 10% and 5%"
    );
    assert_eq!(
        ok!(store.list_post_metrics(u.id, PageRequest::default())).total,
        2
    );
    assert_eq!(ok!(store.analytics_overview(other.id)).posts_published, 0);
    let stale = ok!(store.posts_needing_metrics(t0() + Duration::seconds(1), 10));
    assert_eq!(stale.len(), 2);
    assert!(ok!(store.posts_needing_metrics(t0(), 10)).is_empty());
}

/// Subscriptions: one per user, replaced by upsert, found by provider id.
pub async fn subscriptions_upsert_per_user(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let mut s = Subscription {
        id: id(),
        user_id: u.id,
        stripe_subscription_id: Some(format!("sub_{}", u.id.as_uuid().simple())),
        status: SubscriptionStatus::Active,
        plan: PlanTier::Pro,
        current_period_start: Some(t0()),
        current_period_end: Some(t0() + Duration::days(30)),
        cancel_at_period_end: false,
        last_event_rank: None,
        created_at: t0(),
        updated_at: t0(),
    };
    ok!(store.upsert_subscription(&s));
    s.status = SubscriptionStatus::PastDue;
    ok!(store.upsert_subscription(&s));
    assert_eq!(ok!(store.subscription(u.id)), Some(s.clone()));
    let provider_id = s.stripe_subscription_id.clone().unwrap_or_default();
    assert_eq!(
        ok!(store.subscription_by_provider_id(&provider_id)).map(|x| x.user_id),
        Some(u.id)
    );
    assert!(ok!(store.subscription_by_provider_id("sub_nope")).is_none());
}

/// A subscription write ranked below the stored rank (an older billing event) writes nothing;
/// an unranked write keeps the stored rank.
pub async fn subscription_writes_ranked_below_the_last_event_are_refused(store: Arc<dyn Store>) {
    let u = user();
    ok!(store.insert_user(&u));
    let mut s = Subscription {
        id: id(),
        user_id: u.id,
        stripe_subscription_id: Some(format!("sub_r{}", u.id.as_uuid().simple())),
        status: SubscriptionStatus::Canceled,
        plan: PlanTier::Pro,
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        last_event_rank: Some(100),
        created_at: t0(),
        updated_at: t0(),
    };
    assert!(ok!(store.upsert_subscription(&s)));
    let mut older = s.clone();
    older.status = SubscriptionStatus::Active;
    older.last_event_rank = Some(99);
    assert!(!ok!(store.upsert_subscription(&older)));
    assert_eq!(ok!(store.subscription(u.id)), Some(s.clone()));
    s.last_event_rank = None;
    s.cancel_at_period_end = true;
    assert!(ok!(store.upsert_subscription(&s)));
    let stored = ok!(store.subscription(u.id)).unwrap_or_else(|| panic!("missing"));
    assert_eq!(stored.last_event_rank, Some(100));
    assert!(stored.cancel_at_period_end);
    let mut newer = stored.clone();
    newer.status = SubscriptionStatus::Active;
    newer.last_event_rank = Some(100);
    assert!(
        ok!(store.upsert_subscription(&newer)),
        "an equal rank applies"
    );
}
