//! Pages: every list walked by cursor (`after` the previous page's `next`) gives what walking it
//! by page number gives, ties in time broken by id, and holds still while items are added.

use std::future::Future;
use std::pin::Pin;

use super::*;
use crate::analytics::{MetricCounts, PostMetrics};
use crate::page::Page;
use crate::post::Published;

type Ids<'a> = Pin<Box<dyn Future<Output = Page<Uuid>> + Send + 'a>>;

/// One list of one owner: the page asked for, its items' ids.
type List<'a> = Box<dyn Fn(PageRequest) -> Ids<'a> + Send + Sync + 'a>;

fn by_number(page: u32) -> PageRequest {
    PageRequest::new(Some(page), Some(2)).unwrap_or_else(|e| panic!("{e}"))
}

/// Every id of the list, two to a page, by page number.
async fn walk_by_number(list: &List<'_>) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for n in 1.. {
        let page = list(by_number(n)).await;
        if page.items.is_empty() {
            break;
        }
        ids.extend(page.items);
    }
    ids
}

/// Every id of the list, two to a page, each page after the one before; `between` runs after
/// the first page.
async fn walk_by_cursor<'a, F, Fut>(list: &List<'a>, between: F) -> Vec<Uuid>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let first = list(by_number(1)).await;
    let mut ids = first.items;
    between().await;
    let mut next = first.next;
    while let Some(cursor) = next {
        let after = cursor.to_string();
        let request =
            PageRequest::with_cursor(None, Some(2), Some(&after)).unwrap_or_else(|e| panic!("{e}"));
        let page = list(request).await;
        assert!(!page.items.is_empty(), "a page after a `next` is not empty");
        ids.extend(page.items);
        next = page.next;
    }
    ids
}

/// Pages: each list — posts (unfiltered, and by status, platform and both), queue items (and
/// the pending ones), accounts, templates, API keys, post metrics and an endpoint's deliveries
/// (and the pending ones) — walked by cursor lists exactly what walking it by page number lists,
/// in the same order, with `next` absent on the last page; items added after the first page are
/// neither repeated nor slipped into the middle (a newest-first list does not show them; an
/// oldest-first one shows them at its end). What is added mid-walk is a scheduled post, a queue
/// item, an account, a key, a template and their deliveries: the published-post and metrics
/// lists get nothing new, so for them the walk is only checked against the numbered one.
pub async fn every_list_walks_by_cursor_as_by_page_and_holds_still_under_inserts(
    store: Arc<dyn Store>,
) {
    let (u, acc) = seeded(&store).await;
    let owner = u.id;
    let hook = super::events::endpoint(&store, owner, &[]).await.id();
    // Seven of everything, created at the same instant but two: ties are broken by id.
    let at = |n: i64| {
        if n < 2 {
            t0() - Duration::minutes(n + 1)
        } else {
            t0()
        }
    };
    for n in 0..7 {
        let p = post(owner, acc.id, at(n), Some(t0() + Duration::minutes(n)));
        ok!(store.insert_post(&p, quota(1_000)));
        let mut item = queue_item(owner);
        item.created_at = at(n);
        ok!(store.insert_queue_item(&item));
        let external = format!("page-{n}-{}", owner.as_uuid().simple());
        let mut account = account(owner, &external);
        account.created_at = at(n);
        ok!(store.connect_account(&account, Limit::Unlimited));
        let mut key = super::api_keys::api_key(owner, u32::try_from(n).unwrap_or_default());
        key.created_at = at(n);
        ok!(store.insert_api_key(&key, 100));
        let template = crate::template::CaptionTemplate::create(
            id(),
            owner,
            crate::template::TemplateFields {
                name: format!("Template {n}"),
                body: "{title}".into(),
                platforms: Vec::new(),
                tone: None,
            },
            at(n),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        ok!(store.insert_template(&template));
    }
    let claimed = ok!(store.claim_due(t0() + Duration::hours(1), 5, Duration::minutes(5), "pages"));
    let published: Vec<Post> = claimed
        .into_iter()
        .map(|c| {
            let mut p = c.post;
            let remote = Published {
                remote_id: format!("remote-{}", p.id()),
                url: None,
            };
            p.mark_posted(remote, t0())
                .unwrap_or_else(|e| panic!("{e}"));
            p
        })
        .collect();
    ok!(store.commit_claims(&published));
    for p in &published {
        let counts = MetricCounts {
            impressions: 100,
            ..MetricCounts::default()
        };
        ok!(store.upsert_metrics(&PostMetrics::new(p.id(), owner, counts, t0())));
    }

    let store = &store;
    let lists: Vec<(&str, List<'_>, bool)> = vec![
        (
            "posts",
            Box::new(move |r| {
                Box::pin(async move {
                    let filter = crate::store::PostListFilter::default();
                    ok!(store.list_posts(owner, filter, r)).map(|p| p.id().as_uuid())
                })
            }),
            true,
        ),
        (
            "published Facebook posts",
            Box::new(move |r| {
                Box::pin(async move {
                    let filter = crate::store::PostListFilter {
                        status: Some(PostStatus::Posted),
                        platform: Some(Platform::Facebook),
                    };
                    ok!(store.list_posts(owner, filter, r)).map(|p| p.id().as_uuid())
                })
            }),
            true,
        ),
        (
            "published posts",
            Box::new(move |r| {
                Box::pin(async move {
                    let filter = crate::store::PostListFilter {
                        status: Some(PostStatus::Posted),
                        platform: None,
                    };
                    ok!(store.list_posts(owner, filter, r)).map(|p| p.id().as_uuid())
                })
            }),
            true,
        ),
        (
            "Facebook posts",
            Box::new(move |r| {
                Box::pin(async move {
                    let filter = crate::store::PostListFilter {
                        status: None,
                        platform: Some(Platform::Facebook),
                    };
                    ok!(store.list_posts(owner, filter, r)).map(|p| p.id().as_uuid())
                })
            }),
            true,
        ),
        (
            "pending queue items",
            Box::new(move |r| {
                Box::pin(async move {
                    let pending = Some(crate::queue::QueueStatus::Pending);
                    ok!(store.list_queue_items(owner, pending, r)).map(|i| i.id.as_uuid())
                })
            }),
            true,
        ),
        (
            "pending deliveries",
            Box::new(move |r| {
                let endpoint = hook;
                Box::pin(async move {
                    let pending = Some(crate::event::DeliveryStatus::Pending);
                    ok!(store.list_deliveries(owner, endpoint, pending, r))
                        .map(|d| d.id().as_uuid())
                })
            }),
            true,
        ),
        (
            "queue items",
            Box::new(move |r| {
                Box::pin(async move {
                    ok!(store.list_queue_items(owner, None, r)).map(|i| i.id.as_uuid())
                })
            }),
            true,
        ),
        (
            "accounts",
            Box::new(move |r| {
                Box::pin(async move { ok!(store.list_accounts(owner, r)).map(|a| a.id.as_uuid()) })
            }),
            false,
        ),
        (
            "templates",
            Box::new(move |r| {
                Box::pin(
                    async move { ok!(store.list_templates(owner, r)).map(|t| t.id().as_uuid()) },
                )
            }),
            false,
        ),
        (
            "api keys",
            Box::new(move |r| {
                Box::pin(async move { ok!(store.list_api_keys(owner, r)).map(|k| k.id.as_uuid()) })
            }),
            true,
        ),
        (
            "post metrics",
            Box::new(move |r| {
                Box::pin(async move {
                    ok!(store.list_post_metrics(owner, r)).map(|m| m.post_id.as_uuid())
                })
            }),
            true,
        ),
        (
            "deliveries",
            Box::new(move |r| {
                let endpoint = hook;
                Box::pin(async move {
                    ok!(store.list_deliveries(owner, endpoint, None, r)).map(|d| d.id().as_uuid())
                })
            }),
            true,
        ),
    ];
    for (n, (name, list, newest_first)) in (1..).zip(&lists) {
        let by_number = walk_by_number(list).await;
        assert!(by_number.len() >= 5, "{name}: {} items", by_number.len());
        let unchanged = walk_by_cursor(list, || async {}).await;
        assert_eq!(unchanged, by_number, "{name}: by cursor as by number");

        // Items added after the first page was read, newer than everything listed.
        let added = walk_by_cursor(list, || async {
            add_one_of_each(store, owner, acc.id, t0() + Duration::hours(n)).await;
        })
        .await;
        let now = walk_by_number(list).await;
        if *newest_first {
            assert_eq!(added, by_number, "{name}: the walk did not move");
        } else {
            let new: Vec<Uuid> = now
                .iter()
                .filter(|id| !by_number.contains(id))
                .copied()
                .collect();
            assert_eq!(
                added,
                [by_number.clone(), new].concat(),
                "{name}: new at the end"
            );
        }
    }
}

/// One more of every listed thing of `owner`, created at `later`.
async fn add_one_of_each(
    store: &Arc<dyn Store>,
    owner: UserId,
    account_id: crate::id::AccountId,
    later: DateTime<Utc>,
) {
    let p = post(owner, account_id, later, Some(later + Duration::hours(1)));
    ok!(store.insert_post(&p, quota(1_000)));
    let mut item = queue_item(owner);
    item.created_at = later;
    ok!(store.insert_queue_item(&item));
    let mut account = account(owner, &format!("late-{}", Uuid::new_v4().simple()));
    account.created_at = later;
    account.connected_at = Some(later);
    ok!(store.connect_account(&account, Limit::Unlimited));
    let mut key = super::api_keys::api_key(owner, Uuid::new_v4().as_u128() as u32);
    key.created_at = later;
    ok!(store.insert_api_key(&key, 100));
    let template = crate::template::CaptionTemplate::create(
        id(),
        owner,
        crate::template::TemplateFields {
            name: "Late".into(),
            body: "{title}".into(),
            platforms: Vec::new(),
            tone: None,
        },
        later,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok!(store.insert_template(&template));
}
