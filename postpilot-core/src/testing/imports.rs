//! Contracts of bulk imports: a row is created once, the posts of one import fit the quota
//! together or none is written, and reports are their owner's.

use super::*;
use crate::id::ImportId;
use crate::import::{
    Import, ImportFormat, ImportKind, ImportMode, ImportRecord, ImportStatus, RowError,
};

fn limit(max: u32) -> PostQuota {
    PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::AtMost(max),
    }
}

/// The report of a finished posts import of `owner` that created `created` rows.
pub fn posts_import_report(owner: UserId, created: u32) -> Import {
    Import::from(ImportRecord {
        id: id(),
        user_id: owner,
        kind: ImportKind::Posts,
        format: ImportFormat::Csv,
        mode: ImportMode::Partial,
        status: ImportStatus::Done,
        rows: created,
        processed: created,
        created,
        duplicates: 0,
        failed: 0,
        errors: Vec::new(),
        error: None,
        created_at: t0(),
        updated_at: t0(),
    })
}

/// An import's posts, their rows' references and its report are written together or not at
/// all: a reference imported before (or twice in one call), posts over the quota, or a slot
/// another post holds refuse the whole write.
pub async fn imported_posts_are_written_together_once_and_within_the_quota(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let row = |reference: &str| (reference.to_owned(), post(u.id, acc.id, t0(), None));
    let refs = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let w = MonthWindow::containing(t0());
    let first = posts_import_report(u.id, 2);

    ok!(store.insert_imported_posts(u.id, &[row("a"), row("b")], limit(10), &first));
    assert_eq!(
        ok!(store.imported_refs(u.id, &refs(&["a", "b", "c"]))),
        refs(&["a", "b"])
    );
    assert!(
        ok!(store.imported_refs(other.id, &refs(&["a"]))).is_empty(),
        "per owner"
    );
    assert_eq!(ok!(store.import(u.id, first.id())), Some(first));
    assert_eq!(ok!(store.count_posts_created(u.id, w)), 2);

    let refusals = [
        (
            vec![row("c"), row("a")],
            limit(10),
            "a reference imported before",
        ),
        (vec![row("c"), row("c")], limit(10), "a reference twice"),
        (
            vec![row("c"), row("d"), row("e")],
            limit(4),
            "over the quota",
        ),
    ];
    for (posts, quota, why) in refusals {
        let refused = posts_import_report(u.id, 9);
        let written = store
            .insert_imported_posts(u.id, &posts, quota, &refused)
            .await;
        assert!(
            matches!(
                written,
                Err(StoreError::Conflict(Conflict::AlreadyImported) | StoreError::LimitReached)
            ),
            "{why}: {written:?}"
        );
        assert!(
            ok!(store.import(u.id, refused.id())).is_none(),
            "{why}: no report"
        );
    }
    assert!(
        ok!(store.imported_refs(u.id, &refs(&["c", "d", "e"]))).is_empty(),
        "nothing written"
    );
    assert_eq!(ok!(store.count_posts_created(u.id, w)), 2);

    let at = t0() + Duration::hours(5);
    let on_slot = || {
        let mut p = post(u.id, acc.id, t0(), None);
        p.schedule_on_slot(at, t0())
            .unwrap_or_else(|e| panic!("{e}"));
        p
    };
    let together = [("s1".to_owned(), on_slot()), ("s2".to_owned(), on_slot())];
    assert!(matches!(
        store
            .insert_imported_posts(u.id, &together, limit(100), &posts_import_report(u.id, 2))
            .await,
        Err(StoreError::Conflict(Conflict::SlotTaken))
    ));
    ok!(store.insert_imported_posts(
        u.id,
        &[("s1".to_owned(), on_slot())],
        limit(100),
        &posts_import_report(u.id, 1)
    ));
    assert!(
        matches!(
            store
                .insert_imported_posts(
                    u.id,
                    &[("s3".to_owned(), on_slot())],
                    limit(100),
                    &posts_import_report(u.id, 1)
                )
                .await,
            Err(StoreError::Conflict(Conflict::SlotTaken))
        ),
        "a slot a stored post holds"
    );
    assert!(ok!(store.imported_refs(u.id, &refs(&["s2", "s3"]))).is_empty());
}

/// An import's report reads back whole, for its owner only.
pub async fn import_reports_round_trip_for_their_owner(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let import = Import::from(ImportRecord {
        id: id(),
        user_id: u.id,
        kind: ImportKind::Posts,
        format: ImportFormat::Csv,
        mode: ImportMode::Partial,
        status: ImportStatus::Done,
        rows: 3,
        processed: 3,
        created: 1,
        duplicates: 1,
        failed: 1,
        errors: vec![RowError {
            row: 2,
            field: "caption".into(),
            reason: "must not be blank".into(),
        }],
        error: None,
        created_at: t0(),
        updated_at: t0() + Duration::seconds(2),
    });
    ok!(store.put_import(&import));
    assert_eq!(ok!(store.import(u.id, import.id())), Some(import.clone()));
    assert!(ok!(store.import(other.id, import.id())).is_none());
}

/// A running import's record is replaced as it progresses, and by its report when its posts
/// are written; a refused write leaves it as it was, and an ended import is not changed again.
pub async fn a_running_import_is_replaced_by_its_progress_and_its_report(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let import_id: ImportId = id();
    let record = |status, processed, created, error: Option<&str>| {
        Import::from(ImportRecord {
            id: import_id,
            user_id: u.id,
            kind: ImportKind::Posts,
            format: ImportFormat::Json,
            mode: ImportMode::AllOrNothing,
            status,
            rows: 2_000,
            processed,
            created,
            duplicates: 0,
            failed: 0,
            errors: Vec::new(),
            error: error.map(str::to_owned),
            created_at: t0(),
            updated_at: t0() + Duration::seconds(i64::from(processed)),
        })
    };
    let running = record(ImportStatus::Running, 0, 0, None);
    ok!(store.put_import(&running));
    let progressed = record(ImportStatus::Running, 1_000, 0, None);
    ok!(store.put_import(&progressed));
    assert_eq!(
        ok!(store.import(u.id, running.id())),
        Some(progressed.clone())
    );

    let row = |reference: &str| (reference.to_owned(), post(u.id, acc.id, t0(), None));
    let over = store
        .insert_imported_posts(
            u.id,
            &[row("x"), row("y")],
            limit(1),
            &record(ImportStatus::Done, 2_000, 2, None),
        )
        .await;
    assert!(matches!(over, Err(StoreError::LimitReached)), "{over:?}");
    assert_eq!(
        ok!(store.import(u.id, running.id())),
        Some(progressed),
        "left as it was"
    );

    let done = record(ImportStatus::Done, 2_000, 2, None);
    ok!(store.insert_imported_posts(u.id, &[row("x"), row("y")], limit(10), &done));
    assert_eq!(ok!(store.import(u.id, running.id())), Some(done.clone()));
    let late = record(ImportStatus::Failed, 1_000, 0, Some("plan limit reached"));
    ok!(store.put_import(&late));
    assert_eq!(
        ok!(store.import(u.id, running.id())),
        Some(done),
        "an ended import is not changed"
    );
}

/// An import's queue items (from products), their rows' references and its report are written
/// together or not at all; a reference imported before — by a post import too — refuses the
/// write.
pub async fn imported_queue_items_are_written_together_once(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let mut first = posts_import_report(u.id, 2);
    first.kind = ImportKind::Products;
    let (a, b) = (queue_item(u.id), queue_item(u.id));
    let items = [
        ("product:id:a".to_owned(), a.clone()),
        ("product:id:b".to_owned(), b.clone()),
    ];

    ok!(store.insert_imported_items(u.id, &items, &first));
    ok!(store.insert_imported_posts(
        u.id,
        &[("id:p".to_owned(), post(u.id, acc.id, t0(), None))],
        limit(10),
        &posts_import_report(u.id, 1)
    ));
    let again = posts_import_report(u.id, 1);
    let taken = [
        ("product:id:c".to_owned(), queue_item(u.id)),
        ("id:p".to_owned(), queue_item(u.id)),
    ];
    let refused = store.insert_imported_items(u.id, &taken, &again).await;

    assert_eq!(ok!(store.queue_item(u.id, a.id())), Some(a));
    assert_eq!(ok!(store.queue_item(u.id, b.id())), Some(b));
    assert_eq!(ok!(store.import(u.id, first.id())), Some(first));
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(Conflict::AlreadyImported))
        ),
        "{refused:?}"
    );
    assert!(
        ok!(store.queue_item(u.id, taken[0].1.id())).is_none(),
        "nothing written"
    );
    assert!(ok!(store.import(u.id, again.id())).is_none());
    assert!(ok!(store.imported_refs(u.id, &["product:id:c".to_owned()])).is_empty());
}

/// An import of more posts, or queue items, than one statement of a SQL store writes (a
/// thousand) writes them all, each readable.
pub async fn an_import_of_thousands_of_rows_writes_every_one(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let posts: Vec<(String, Post)> = (0..2_500)
        .map(|i| (format!("id:bulk-{i}"), post(u.id, acc.id, t0(), None)))
        .collect();
    let w = MonthWindow::containing(t0());

    ok!(store.insert_imported_posts(
        u.id,
        &posts,
        limit(10_000),
        &posts_import_report(u.id, 2_500)
    ));

    assert_eq!(ok!(store.count_posts_created(u.id, w)), 2_500);
    for (_, p) in [&posts[0], &posts[999], &posts[1_000], &posts[2_499]] {
        assert_eq!(ok!(store.post(u.id, p.id())).as_ref(), Some(p));
    }

    let items: Vec<(String, QueueItem)> = (0..2_500)
        .map(|i| (format!("product:id:bulk-{i}"), queue_item(u.id)))
        .collect();
    let mut products = posts_import_report(u.id, 2_500);
    products.kind = ImportKind::Products;
    ok!(store.insert_imported_items(u.id, &items, &products));
    for (_, item) in [&items[0], &items[999], &items[1_000], &items[2_499]] {
        assert_eq!(ok!(store.queue_item(u.id, item.id())).as_ref(), Some(item));
    }
}
