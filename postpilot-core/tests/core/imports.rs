//! Bulk imports through the engine: each mode, the per-row report, `next` slots, duplicates and
//! the plan's quota.

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::import::{
    Import, ImportFormat, ImportKind, ImportMode, ImportRequest, ImportStatus,
};
use postpilot_core::page::PageRequest;
use postpilot_core::platform::Platform;
use postpilot_core::post::PostStatus;
use postpilot_core::queue::{QueueItem, QueueStatus};
use postpilot_core::user::User;

use crate::test_engine::TestEngine;

fn csv(mode: ImportMode, text: &str) -> ImportRequest {
    ImportRequest {
        kind: ImportKind::Posts,
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
    assert!(
        unscheduled.errors()[0]
            .reason
            .contains("no posting schedule")
    );
}

#[tokio::test]
async fn a_started_import_reads_as_running_until_its_job_ends_it_with_its_report() {
    let e = TestEngine::new();
    let u = e.pro_user("progress@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    let rows: String = (0..2_499).map(|i| format!("@fb,Post {i}\n")).collect();
    let file = format!("account,caption\n{rows}@nobody,Lost\n");

    let job = e
        .imports()
        .start(u.id(), csv(ImportMode::AllOrNothing, &file))
        .await
        .unwrap();
    let id = job.import().id();
    let running = e.imports().get(u.id(), id).await.unwrap();
    let ended = job.run().await.unwrap();

    assert_eq!(
        (running.status(), running.rows(), running.processed()),
        (ImportStatus::Running, 2_500, 0)
    );
    assert!(!running.has_ended());
    assert_eq!(e.imports().get(u.id(), id).await.unwrap(), ended);
    assert_eq!(
        (ended.status(), ended.processed(), ended.failed()),
        (ImportStatus::Refused, 2_500, 1)
    );
    assert_eq!(ended.errors()[0].row, 2_500);
}

#[tokio::test]
async fn an_import_that_stops_on_the_quota_is_kept_as_failed_with_the_reason() {
    let e = TestEngine::new();
    let u = e.user("stopped@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    let rows: String = (0..31).map(|i| format!("@fb,Post {i}\n")).collect();

    let job = e
        .imports()
        .start(
            u.id(),
            csv(ImportMode::Partial, &format!("account,caption\n{rows}")),
        )
        .await
        .unwrap();
    let id = job.import().id();
    let over = job.run().await;

    assert!(matches!(over, Err(Error::PlanLimit { .. })), "{over:?}");
    let kept = e.imports().get(u.id(), id).await.unwrap();
    assert_eq!((kept.status(), kept.created()), (ImportStatus::Failed, 0));
    assert!(
        kept.error().unwrap().contains("plan limit"),
        "{:?}",
        kept.error()
    );
    assert_eq!(e.posts_of(&u).await.len(), 0);
}

#[tokio::test]
async fn a_running_import_without_progress_for_ten_minutes_reads_as_failed() {
    let e = TestEngine::new();
    let u = e.pro_user("stalled@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    // Started, and its server stopped before the job ran.
    let id = e
        .imports()
        .start(
            u.id(),
            csv(ImportMode::Partial, "account,caption\n@fb,Hello\n"),
        )
        .await
        .unwrap()
        .import()
        .id();

    e.advance(Duration::minutes(9));
    let live = e.imports().get(u.id(), id).await.unwrap();
    e.advance(Duration::minutes(2));
    let stalled = e.imports().get(u.id(), id).await.unwrap();

    let abandoned = e
        .imports()
        .start(
            u.id(),
            csv(ImportMode::Partial, "account,caption\n@fb,Hi\n"),
        )
        .await
        .unwrap()
        .abandon("another import of yours is still running")
        .await
        .unwrap();
    assert_eq!(
        (abandoned.status(), abandoned.error()),
        (
            ImportStatus::Failed,
            Some("another import of yours is still running")
        )
    );
    assert_eq!(live.status(), ImportStatus::Running);
    assert_eq!(stalled.status(), ImportStatus::Failed);
    assert!(stalled.error().unwrap().contains("send the file again"));
    assert_eq!(e.posts_of(&u).await.len(), 0);
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

#[tokio::test]
async fn re_sending_a_corrected_file_creates_only_the_rows_that_were_refused() {
    let e = TestEngine::new();
    let u = e.pro_user("fixed@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    let first = "account,caption\n@fb,One\n@fb,\n@fb,Three\n";
    // The refused row fixed, the file saved again with other line endings and a BOM.
    let fixed = "\u{feff}account,caption\r\n@fb,One\r\n@fb,Two\r\n@fb,Three\r\n";

    let before = e
        .imports()
        .run(u.id(), csv(ImportMode::Partial, first))
        .await
        .unwrap();
    let after = e
        .imports()
        .run(u.id(), csv(ImportMode::Partial, fixed))
        .await
        .unwrap();

    assert_eq!((before.created(), before.failed()), (2, 1));
    assert_eq!((after.created(), after.duplicates()), (1, 2));
    assert_eq!(e.posts_of(&u).await.len(), 3);
}

#[tokio::test]
async fn next_rows_beyond_a_years_slots_are_refused_one_by_one_in_partial() {
    let e = TestEngine::new();
    let u = e.pro_user("full@example.com").await;
    let account = e.connect(&u, Platform::Facebook, "fb").await;
    let schedule = e
        .schedules()
        .set(u.id(), account.id(), Some("UTC"), &["wed 10:00"])
        .await
        .unwrap();
    let rows: String = (0..60).map(|i| format!("@fb,Week {i},next\n")).collect();

    let import = e
        .imports()
        .run(
            u.id(),
            csv(
                ImportMode::Partial,
                &format!("account,caption,time\n{rows}"),
            ),
        )
        .await
        .unwrap();

    let a_year = schedule
        .slots()
        .occurrences(e.now())
        .take_while(|at| *at <= e.now() + postpilot_core::post::MAX_SCHEDULE_AHEAD)
        .count() as u32;
    assert_eq!(import.created(), a_year);
    assert_eq!(import.failed(), 60 - a_year);
    assert!(
        import
            .errors()
            .iter()
            .all(|r| r.field == "time" && r.row > a_year)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_imports_of_one_file_at_once_create_its_rows_once_and_both_reports_add_up() {
    let e = TestEngine::new();
    let u = e.pro_user("race@example.com").await;
    e.connect(&u, Platform::Facebook, "fb").await;
    let rows: String = (0..200).map(|i| format!("@fb,Post {i}\n")).collect();
    let file = format!("account,caption\n{rows}");
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let imports = e.imports();
            let request = csv(ImportMode::Partial, &file);
            let user = u.id();
            tokio::spawn(async move { imports.run(user, request).await })
        })
        .collect();
    let mut reports = Vec::new();
    for run in runs {
        reports.push(run.await.unwrap().unwrap());
    }

    let stored = postpilot_core::store::PostStore::count_posts_created(
        e.store.as_ref(),
        u.id(),
        postpilot_core::plan::MonthWindow::containing(e.now()),
    )
    .await
    .unwrap();
    assert_eq!(stored, 200);
    let created: u32 = reports.iter().map(|r| r.created()).sum();
    assert_eq!(created, 200, "each row once");
    for report in &reports {
        assert_eq!(report.created() + report.duplicates(), 200, "{report:?}");
    }
}

/// Imports `text` as products.
async fn import_products(
    e: &TestEngine,
    u: &User,
    (format, mode): (ImportFormat, ImportMode),
    text: &str,
) -> Import {
    let request = ImportRequest {
        kind: ImportKind::Products,
        format,
        mode,
        data: text.as_bytes().to_vec(),
    };
    e.imports().run(u.id(), request).await.unwrap()
}

/// The user's queue items.
async fn queue_of(e: &TestEngine, u: &User) -> Vec<QueueItem> {
    let page = PageRequest::new(None, None).unwrap();
    e.queue().list(u.id(), None, page).await.unwrap().items
}

#[tokio::test]
async fn products_import_as_pending_queue_items_with_their_captions_and_never_twice() {
    let e = TestEngine::new();
    let u = e.user("catalogue@example.com").await;
    let file = "title,price,currency,features,tags,platforms,caption,external_id\n\
                Aurora lamp,49.90,usd,Warm light | Dimmable,lamp desk,instagram facebook,Light up late nights,sku-1\n\
                Plain mug,4,,,,tiktok,,\n\
                Broken price,abc,,,,tiktok,,\n\
                No platform,1,,,,,,\n\
                Odd platform,1,,,,myspace,,\n";

    let import = import_products(&e, &u, (ImportFormat::Csv, ImportMode::Partial), file).await;
    let again = import_products(&e, &u, (ImportFormat::Csv, ImportMode::Partial), file).await;
    let items = queue_of(&e, &u).await;

    assert_eq!(import.kind(), ImportKind::Products);
    assert_eq!(
        (import.status(), import.created(), import.failed()),
        (ImportStatus::Done, 2, 3)
    );
    let fields: Vec<(u32, &str)> = import
        .errors()
        .iter()
        .map(|e| (e.row, e.field.as_str()))
        .collect();
    assert_eq!(fields, [(3, "price"), (4, "platforms"), (5, "platforms")]);
    assert_eq!((again.created(), again.duplicates()), (0, 2));
    assert_eq!(
        items.len(),
        2,
        "the free plan's posts quota does not hold queue items back"
    );
    let lamp = items
        .iter()
        .find(|i| i.product_data().title() == "Aurora lamp")
        .unwrap();
    assert_eq!(lamp.status(), QueueStatus::Pending);
    assert_eq!(
        lamp.ai_generated_content().map(AsRef::as_ref),
        Some("Light up late nights")
    );
    assert_eq!(lamp.platforms(), [Platform::Instagram, Platform::Facebook]);
    assert_eq!(lamp.product_data().features(), ["Warm light", "Dimmable"]);
    let mug = items
        .iter()
        .find(|i| i.product_data().title() == "Plain mug")
        .unwrap();
    assert!(
        mug.ai_generated_content().is_none(),
        "its caption is left to generate"
    );
}

#[tokio::test]
async fn a_json_product_file_dry_runs_and_all_or_nothing_creates_no_item_when_one_is_refused() {
    let e = TestEngine::new();
    let u = e.user("json-catalogue@example.com").await;
    let good = r#"{"products": [{"title": "Lamp", "price": 19.5, "platforms": ["instagram"]}]}"#;
    let bad = r#"{"products": [{"title": "Lamp", "platforms": ["instagram"]}, {"title": " ", "platforms": ["tiktok"]}]}"#;

    let checked = import_products(&e, &u, (ImportFormat::Json, ImportMode::DryRun), good).await;
    let refused =
        import_products(&e, &u, (ImportFormat::Json, ImportMode::AllOrNothing), bad).await;
    let listed = queue_of(&e, &u).await;

    assert_eq!(
        (checked.status(), checked.created()),
        (ImportStatus::Checked, 1)
    );
    assert_eq!(refused.status(), ImportStatus::Refused);
    assert_eq!(
        (refused.errors()[0].row, refused.errors()[0].field.as_str()),
        (2, "title")
    );
    assert!(listed.is_empty());
}
