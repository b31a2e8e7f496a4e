//! Contracts of bulk imports: a row is created once, the posts of one import fit the quota
//! together or none is written, and reports are their owner's.

use super::*;
use crate::import::{Import, ImportFormat, ImportMode, ImportRecord, ImportStatus, RowError};

fn limit(max: u32) -> PostQuota {
    PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::AtMost(max),
    }
}

/// Imported rows are created once each — again in a later import, or twice in one — and the new
/// posts of one write fit the quota all together or none is written.
pub async fn imported_posts_are_created_once_and_within_the_quota_together(store: Arc<dyn Store>) {
    let (u, acc) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let row = |reference: &str| (reference.to_owned(), post(u.id, acc.id, t0(), None));
    let refs = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();

    assert_eq!(
        ok!(store.insert_imported_posts(u.id, &[row("a"), row("b"), row("a")], limit(10))),
        [true, true, false],
        "the same reference twice in one import is one post"
    );
    assert_eq!(
        ok!(store.imported_refs(u.id, &refs(&["a", "b", "c"]))),
        refs(&["a", "b"])
    );
    assert!(
        ok!(store.imported_refs(other.id, &refs(&["a"]))).is_empty(),
        "per owner"
    );
    assert_eq!(
        ok!(store.insert_imported_posts(u.id, &[row("a"), row("c")], limit(10))),
        [false, true]
    );
    let w = MonthWindow::containing(t0());
    assert_eq!(ok!(store.count_posts_created(u.id, w.start, w.end)), 3);

    assert!(matches!(
        store
            .insert_imported_posts(u.id, &[row("d"), row("e")], limit(4))
            .await,
        Err(StoreError::LimitReached)
    ));
    assert!(
        ok!(store.imported_refs(u.id, &refs(&["d", "e"]))).is_empty(),
        "nothing written"
    );
    assert_eq!(ok!(store.count_posts_created(u.id, w.start, w.end)), 3);
    assert_eq!(
        ok!(store.insert_imported_posts(u.id, &[row("b"), row("d")], limit(4))),
        [false, true],
        "only new posts count against the quota"
    );

    let mut slotted = post(u.id, acc.id, t0(), None);
    slotted
        .schedule_on_slot(t0() + Duration::hours(5), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut same_slot = post(u.id, acc.id, t0(), None);
    same_slot
        .schedule_on_slot(t0() + Duration::hours(5), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store
            .insert_imported_posts(
                u.id,
                &[("s1".to_owned(), slotted), ("s2".to_owned(), same_slot)],
                limit(100)
            )
            .await,
        Err(StoreError::Conflict(Conflict::SlotTaken))
    ));
    assert!(ok!(store.imported_refs(u.id, &refs(&["s1", "s2"]))).is_empty());
}

/// An import's report reads back whole, for its owner only.
pub async fn import_reports_round_trip_for_their_owner(store: Arc<dyn Store>) {
    let (u, _) = seeded(&store).await;
    let (other, _) = seeded(&store).await;
    let import = Import::from(ImportRecord {
        id: id(),
        user_id: u.id,
        format: ImportFormat::Csv,
        mode: ImportMode::Partial,
        status: ImportStatus::Done,
        rows: 3,
        created: 1,
        duplicates: 1,
        failed: 1,
        errors: vec![RowError {
            row: 2,
            field: "caption".into(),
            reason: "must not be blank".into(),
        }],
        created_at: t0(),
    });
    ok!(store.put_import(&import));
    assert_eq!(ok!(store.import(u.id, import.id())), Some(import.clone()));
    assert!(ok!(store.import(other.id, import.id())).is_none());
}
