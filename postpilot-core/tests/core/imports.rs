//! Bulk imports through the engine: each mode, the per-row report, `next` slots, duplicates and
//! the plan's quota.

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::import::{ImportFormat, ImportMode, ImportRequest, ImportStatus};
use postpilot_core::platform::Platform;
use postpilot_core::post::PostStatus;

use crate::test_engine::TestEngine;

fn csv(mode: ImportMode, text: &str) -> ImportRequest {
    ImportRequest {
        format: ImportFormat::Csv,
        mode,
        data: text.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn a_partial_import_creates_the_valid_rows_and_reports_the_others_by_row_and_field() {
    let e = TestEngine::new();
    let u = e.pro_user("import@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let schedule = e
        .schedules()
        .set(
            u.id(),
            account.id(),
            Some("Europe/Berlin"),
            &["mon 09:00", "thu 18:00"],
        )
        .await
        .unwrap();
    let at = (e.now() + Duration::days(2)).to_rfc3339();
    let file = format!(
        "account,caption,hashtags,time\n\
         @fb,A draft,,\n\
         @fb,   ,sale,\n\
         {id},On a slot,lamp desk,next\n\
         @fb,Timed,,{at}\n\
         @nobody,Lost,,\n\
         @fb,Also on a slot,,NEXT\n",
        id = account.id()
    );

    let import = e
        .imports()
        .run(u.id(), csv(ImportMode::Partial, &file))
        .await
        .unwrap();

    assert_eq!(import.status(), ImportStatus::Done);
    assert_eq!(
        (import.rows(), import.created(), import.failed()),
        (6, 4, 2)
    );
    let fields: Vec<_> = import
        .errors()
        .iter()
        .map(|r| (r.row, r.field.as_str()))
        .collect();
    assert_eq!(fields, [(2, "caption"), (5, "account")]);
    let posts = e.posts_of(&u).await;
    assert_eq!(posts.len(), 4);
    let mut slotted: Vec<_> = posts
        .iter()
        .filter(|p| p.on_slot())
        .map(|p| p.scheduled_for().unwrap())
        .collect();
    slotted.sort_unstable();
    let first_two: Vec<_> = schedule.slots().occurrences(e.now()).take(2).collect();
    assert_eq!(
        slotted, first_two,
        "the next rows take the first two free slots"
    );
    assert!(
        posts
            .iter()
            .any(|p| p.status() == PostStatus::Draft && p.content().as_ref() == "A draft")
    );
    assert_eq!(e.imports().get(u.id(), import.id()).await.unwrap(), import);
}

#[tokio::test]
async fn all_or_nothing_creates_nothing_when_a_row_is_refused_and_a_dry_run_nothing_at_all() {
    let e = TestEngine::new();
    let u = e.pro_user("strict@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    let bad = "account,caption,time\n@fb,Fine,\n@fb,Past,2001-01-01T00:00:00Z\n";
    let good = "account,caption\n@fb,One\n@fb,Two\n";

    let refused = e
        .imports()
        .run(u.id(), csv(ImportMode::AllOrNothing, bad))
        .await
        .unwrap();
    let checked = e
        .imports()
        .run(u.id(), csv(ImportMode::DryRun, good))
        .await
        .unwrap();
    let created_after_checks = e.posts_of(&u).await.len();
    let done = e
        .imports()
        .run(u.id(), csv(ImportMode::AllOrNothing, good))
        .await
        .unwrap();

    assert_eq!(refused.status(), ImportStatus::Refused);
    assert_eq!(refused.created(), 0);
    assert_eq!(refused.errors()[0].row, 2);
    assert_eq!(refused.errors()[0].field, "time");
    assert_eq!(
        (checked.status(), checked.created()),
        (ImportStatus::Checked, 2)
    );
    assert_eq!(created_after_checks, 0);
    assert_eq!((done.status(), done.created()), (ImportStatus::Done, 2));
    assert_eq!(e.posts_of(&u).await.len(), 2);
}

#[tokio::test]
async fn re_sending_a_file_or_its_external_ids_creates_nothing_twice() {
    let e = TestEngine::new();
    let u = e.pro_user("again@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    let file = "account,caption,external_id\n@fb,One,sku-1\n@fb,Two,\n";
    let renamed =
        "account,caption,external_id\n@fb,One again,sku-1\n@fb,Three,sku-3\n@fb,Four,sku-3\n";

    let first = e
        .imports()
        .run(u.id(), csv(ImportMode::Partial, file))
        .await
        .unwrap();
    let again = e
        .imports()
        .run(u.id(), csv(ImportMode::Partial, file))
        .await
        .unwrap();
    let ids = e
        .imports()
        .run(u.id(), csv(ImportMode::Partial, renamed))
        .await
        .unwrap();

    assert_eq!((first.created(), first.duplicates()), (2, 0));
    assert_eq!((again.created(), again.duplicates()), (0, 2));
    assert_eq!((ids.created(), ids.duplicates(), ids.failed()), (1, 1, 1));
    assert_eq!(
        ids.errors()[0].field,
        "external_id",
        "sku-3 twice in one file"
    );
    assert_eq!(e.posts_of(&u).await.len(), 3);
}

#[tokio::test]
async fn an_import_over_the_months_quota_creates_nothing_and_next_needs_a_schedule() {
    let e = TestEngine::new();
    let u = e.user("free@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    let rows: String = (0..31).map(|i| format!("@fb,Post {i}\n")).collect();

    let over = e
        .imports()
        .run(
            u.id(),
            csv(ImportMode::Partial, &format!("account,caption\n{rows}")),
        )
        .await;
    let checked = e
        .imports()
        .run(
            u.id(),
            csv(ImportMode::DryRun, &format!("account,caption\n{rows}")),
        )
        .await;
    let unscheduled = e
        .imports()
        .run(
            u.id(),
            csv(ImportMode::Partial, "account,caption,time\n@fb,Slot,next\n"),
        )
        .await
        .unwrap();

    assert!(matches!(over, Err(Error::PlanLimit { .. })), "{over:?}");
    assert!(
        matches!(checked, Err(Error::PlanLimit { .. })),
        "a dry run says so too"
    );
    assert_eq!(e.posts_of(&u).await.len(), 0);
    assert_eq!(unscheduled.errors()[0].field, "time");
}

#[tokio::test]
async fn a_file_that_does_not_read_is_refused_naming_the_file_and_stores_nothing() {
    let e = TestEngine::new();
    let u = e.pro_user("broken@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;

    let broken = e
        .imports()
        .run(
            u.id(),
            csv(
                ImportMode::Partial,
                "account,caption\n@fb,\"unterminated\n@fb,x\n",
            ),
        )
        .await;

    match broken {
        Err(Error::Validation(v)) => assert_eq!(v.field(), "file"),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.posts_of(&u).await.len(), 0);
}
