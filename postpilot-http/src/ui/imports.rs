//! `/app/imports`: importing posts or products from a CSV or JSON file (chosen, or pasted), and an import's
//! report — core's `ImportService`, as `POST /api/v1/imports` runs it.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use postpilot_core::Error;
use postpilot_core::id::ImportId;
use postpilot_core::import::{
    BACKGROUND_ABOVE_ROWS, Import, ImportFormat, ImportKind, ImportMode, ImportRequest,
    ImportStatus, RowError,
};

use super::flash::Flash;
use super::form::Fields;
use super::pages::{Kpi, Layout, Notice, PageId, PageResult, page, refused, said};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::routes::imports::in_background;
use crate::state::AppState;

const MODES: [(&str, &str); 3] = [
    ("all_or_nothing", "Import nothing: every row or none"),
    ("partial", "Import the other rows"),
    ("dry_run", "Only check the file"),
];

const KINDS: [(&str, &str); 2] = [
    ("posts", "A post"),
    ("products", "A product, to the content queue"),
];

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    layout: Layout,
    notice: Option<Notice>,
    data: String,
    modes: [(&'static str, &'static str); 3],
    chosen: String,
    kinds: [(&'static str, &'static str); 2],
    kind_chosen: String,
}

/// What the form had chosen: the mode and the kind.
struct Chosen<'a> {
    mode: &'a str,
    kind: &'a str,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    layout: Layout,
    notice: Option<Notice>,
    heading: &'static str,
    summary: String,
    kpis: Vec<Kpi>,
    errors: Vec<RowError>,
    /// While it runs: rows processed, of how many.
    progress: Option<(u32, u32)>,
    /// The page that lists what it created.
    listed: &'static str,
}

/// `GET /app/imports`.
pub(crate) async fn show(
    State(_): State<AppState>,
    _session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
) -> PageResult<Response> {
    let notice = flash.notice.take();
    let chosen = Chosen {
        mode: "all_or_nothing",
        kind: "posts",
    };
    Ok(flash.shown(form_page(&csrf, notice, String::new(), &chosen)))
}

fn form_page(csrf: &CsrfToken, notice: Option<Notice>, data: String, chosen: &Chosen) -> Response {
    page(
        &ImportsPage {
            layout: Layout::new("Import", "posts", true, csrf),
            notice,
            data,
            modes: MODES,
            chosen: chosen.mode.to_owned(),
            kinds: KINDS,
            kind_chosen: chosen.kind.to_owned(),
        },
        csrf,
    )
}

/// `POST /app/imports`: runs the import and shows its report; a file that does not read (or
/// rows over the plan's month) is shown again with the reason.
pub(crate) async fn create(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let data = form.text("data");
    let chosen = Chosen {
        mode: form.get("mode").unwrap_or("all_or_nothing"),
        kind: form.get("kind").unwrap_or("posts"),
    };
    let parsed = chosen
        .mode
        .parse::<ImportMode>()
        .and_then(|mode| Ok((mode, chosen.kind.parse::<ImportKind>()?)));
    let request = parsed.map(|(mode, kind)| ImportRequest {
        kind,
        // A JSON file starts with its object; anything else is read as CSV.
        format: if data
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
        {
            ImportFormat::Json
        } else {
            ImportFormat::Csv
        },
        mode,
        data: data.as_bytes().to_vec(),
    });
    let run = async {
        let job = state
            .engine()
            .imports()
            .start(session.user, request.map_err(Error::from)?)
            .await?;
        if job.import().rows() > BACKGROUND_ABOVE_ROWS {
            // A large file: its report page shows the progress.
            return in_background(&state, job).await;
        }
        job.run().await
    };
    match run.await {
        // The report says what happened: no notice on top of it.
        Ok(import) => Ok(Redirect::to(&format!("/app/imports/{}", import.id())).into_response()),
        Err(e) => {
            let page = form_page(
                &csrf,
                Some(Notice::error(said(&e))),
                data.to_owned(),
                &chosen,
            );
            refused(Ok(page), &e)
        }
    }
}

/// What an import's rows become, and the page that lists them.
fn made(import: &Import) -> (&'static str, &'static str) {
    match import.kind() {
        ImportKind::Posts => ("post(s)", "/app/posts"),
        ImportKind::Products => ("queue item(s)", "/app/queue"),
    }
}

/// What an import did, in a sentence.
fn outcome(import: &Import) -> String {
    let noun = made(import).0;
    match import.status() {
        ImportStatus::Running if import.processed() == import.rows() => format!(
            "All {} rows are checked; creating the {noun}…",
            import.rows()
        ),
        ImportStatus::Running => format!(
            "Checking row {} of {}… Nothing is created until every row is checked.",
            import.processed(),
            import.rows()
        ),
        ImportStatus::Failed => format!(
            "Nothing was imported: {}.",
            import.error().unwrap_or("the import stopped")
        ),
        ImportStatus::Done => format!(
            "Imported: {} {noun} created, {} imported before, {} refused.",
            import.created(),
            import.duplicates(),
            import.failed()
        ),
        ImportStatus::Checked => format!(
            "Checked: {} {noun} would be created, {} refused.",
            import.created(),
            import.failed()
        ),
        ImportStatus::Refused => format!(
            "Nothing was imported: {} row(s) were refused. Fix them, or import the other rows.",
            import.failed()
        ),
    }
}

/// `GET /app/imports/{id}`: an import's report.
pub(crate) async fn report(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    mut flash: Flash,
) -> PageResult<Response> {
    let import = state
        .engine()
        .imports()
        .get(session.user, ImportId::from(id))
        .await?;
    let kpi = |label, value: u32| Kpi {
        label,
        value: value.to_string(),
        detail: String::new(),
    };
    let template = ImportPage {
        layout: Layout::new("Import", "posts", true, &csrf),
        notice: flash.notice.take(),
        heading: match import.status() {
            ImportStatus::Running => "Importing",
            ImportStatus::Failed => "Stopped",
            ImportStatus::Done => "Imported",
            ImportStatus::Checked => "Checked",
            ImportStatus::Refused => "Not imported",
        },
        summary: outcome(&import),
        kpis: vec![
            kpi("Rows", import.rows()),
            kpi(
                if import.status() == ImportStatus::Checked {
                    "Would be created"
                } else {
                    "Created"
                },
                import.created(),
            ),
            kpi("Imported before", import.duplicates()),
            kpi("Refused", import.failed()),
        ],
        errors: import.errors().to_vec(),
        progress: (!import.has_ended()).then(|| (import.processed(), import.rows())),
        listed: made(&import).1,
    };
    Ok(flash.shown(page(&template, &csrf)))
}
