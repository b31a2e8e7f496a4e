//! Bulk import of posts from a CSV or JSON file: each row an account, a caption, hashtags,
//! media, and a time (a draft without one, or `next` for the account's next free slot), checked
//! row by row against the same rules as `POST /posts`, then created together within the plan's
//! quota — all or none, or every valid row — or only checked (a dry run). A row is created once:
//! by its `external_id`, or, without one, by the file and its place in it, so re-sending a file
//! creates nothing twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::aggregate::aggregate;
use crate::id::{ImportId, UserId};
use crate::names::named_enum;

mod products;
mod service;

pub use service::{ImportJob, ImportRequest, ImportService};

/// Most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Largest file one import takes, in bytes.
pub const MAX_IMPORT_BYTES: usize = 5 << 20;
/// Longest row of a CSV file, in bytes (a caption is at most 2,200 characters).
pub const MAX_ROW_BYTES: usize = 64 << 10;
/// Longest `external_id`, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;

/// A file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// A header row naming the columns, then a row per post.
    Csv,
    /// `{"posts": [{…}, …]}`.
    Json,
}

named_enum!(ImportFormat, field = "format", exact { Csv => "csv", Json => "json" });

/// What a file's rows become.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// Posts ([`ImportRow`]).
    Posts,
    /// Products, each a pending queue item to review ([`ProductRow`]).
    Products,
}

named_enum!(ImportKind, field = "kind", exact { Posts => "posts", Products => "products" });

/// What an import does with rows that pass and rows that do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Checks every row and creates nothing.
    DryRun,
    /// Creates every row, or — when one is refused — none.
    AllOrNothing,
    /// Creates the rows that pass and reports the others.
    Partial,
}

named_enum!(ImportMode, field = "mode", exact {
    DryRun => "dry_run",
    AllOrNothing => "all_or_nothing",
    Partial => "partial",
});

/// One row as the file gives it, before any check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRow {
    /// The account: its id, or its name (`@shop`) among the merchant's accounts.
    pub account: String,
    /// The caption.
    pub caption: String,
    /// Hashtags, without or with `#`.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// Media URLs.
    #[serde(default)]
    pub media: Vec<String>,
    /// An RFC 3339 time, `next` (the account's next free slot), or none (a draft).
    #[serde(default)]
    pub time: Option<String>,
    /// The client's id for the row: a row with an id already imported is not created again.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// One product as the file gives it, before any check: it becomes a pending queue item with the
/// product's data, its platforms, and its caption — or none yet, to generate in the queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRow {
    /// The product's title.
    pub title: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its price, a decimal number (a number or a string in JSON).
    #[serde(default, deserialize_with = "number_or_text")]
    pub price: Option<String>,
    /// An ISO 4217 code.
    #[serde(default)]
    pub currency: Option<String>,
    /// The price before a discount.
    #[serde(default, deserialize_with = "number_or_text")]
    pub compare_at_price: Option<String>,
    /// The product page.
    #[serde(default)]
    pub url: Option<String>,
    /// Product images (in CSV: separated by white space).
    #[serde(default)]
    pub image_urls: Vec<String>,
    /// Selling points (in CSV: separated by `|`).
    #[serde(default)]
    pub features: Vec<String>,
    /// Keywords (in CSV: separated by white space or commas).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The shop's name.
    #[serde(default)]
    pub store_name: Option<String>,
    /// Target platforms (in CSV: separated by white space or commas).
    #[serde(default)]
    pub platforms: Vec<String>,
    /// A caption written for it; none leaves the item's caption to generate.
    #[serde(default)]
    pub caption: Option<String>,
    /// Hashtags, without or with `#`.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// The client's id for the row (a SKU): a row with an id already imported is not created
    /// again.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A JSON number or string, as text.
fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Number(serde_json::Number),
        Text(String),
    }
    Ok(Option::<Amount>::deserialize(d)?.map(|a| match a {
        Amount::Number(n) => n.to_string(),
        Amount::Text(t) => t,
    }))
}

/// A file's rows, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportRows {
    /// Posts.
    Posts(Vec<ImportRow>),
    /// Products.
    Products(Vec<ProductRow>),
}

impl ImportRows {
    /// How many.
    pub fn len(&self) -> usize {
        match self {
            Self::Posts(rows) => rows.len(),
            Self::Products(rows) => rows.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One refused row: its number (the first row of posts is 1), the field, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1 for the first post of the file (in a CSV file, the line after the header).
    pub row: u32,
    /// The field, as the API names it (`caption`, `account`, `time`, …).
    pub field: String,
    /// Why.
    pub reason: String,
}

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Its rows are being checked and placed (`processed` of `rows` so far); nothing is created
    /// until every row is, in one write.
    Running,
    /// It stopped before creating anything: the month's quota, or the server stopped
    /// (`error` says which). Nothing was created.
    Failed,
    /// Its rows are created (those that passed, in `partial`).
    Done,
    /// Checked only (`dry_run`).
    Checked,
    /// Nothing was created: a row was refused (`all_or_nothing`).
    Refused,
}

named_enum!(ImportStatus, field = "status", exact {
    Running => "running",
    Failed => "failed",
    Done => "done",
    Checked => "checked",
    Refused => "refused",
});

aggregate! {
    /// One import: what was asked, and what came of each row.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub struct Import / ImportRecord {
        /// See [`Import::id`].
        id: copy ImportId,
        /// See [`Import::user_id`].
        user_id: copy UserId,
        /// What its rows become.
        kind: copy ImportKind,
        /// See [`Import::format`].
        format: copy ImportFormat,
        /// See [`Import::mode`].
        mode: copy ImportMode,
        /// See [`Import::status`].
        status: copy ImportStatus,
        /// Rows in the file.
        rows: copy u32,
        /// Rows checked and placed so far (all of them once it has ended).
        processed: copy u32,
        /// Posts (queue items, for products) created (in a dry run: that would be).
        created: copy u32,
        /// Rows already imported before (by `external_id`, or the same file's same row).
        duplicates: copy u32,
        /// Refused rows, each with its reasons in `errors`.
        failed: copy u32,
        /// Why rows were refused, in row order.
        errors: list RowError,
        /// Why a `failed` import stopped.
        error: option_string,
        /// See [`Import::created_at`].
        created_at: copy DateTime<Utc>,
        /// Its last progress (or its end).
        updated_at: copy DateTime<Utc>,
    }
}

/// Most rows an adapter imports while its caller waits: a larger file runs in the background
/// and its progress is read with [`ImportService::get`].
pub const BACKGROUND_ABOVE_ROWS: u32 = 1_000;

/// Rows that one import checks between two writes of its progress.
pub const PROGRESS_EVERY: usize = 1_000;

/// How long a running import may go without progress before it counts as stopped: the server
/// that ran it stopped (a deploy, a crash), and nothing of it was created.
pub const STALLED_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What an import that outlived its server (or its request) reports.
const STALLED: &str = "the import stopped before anything was created (its server stopped, or \
     its request was cut off): send the file again";

impl Import {
    /// A new import of `rows` rows, running.
    pub(crate) fn begin(
        id: ImportId,
        user: UserId,
        request: (ImportKind, ImportFormat, ImportMode),
        rows: u32,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            user_id: user,
            kind: request.0,
            format: request.1,
            mode: request.2,
            status: ImportStatus::Running,
            rows,
            processed: 0,
            created: 0,
            duplicates: 0,
            failed: 0,
            errors: Vec::new(),
            error: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether it has ended (anything but `running`).
    pub fn has_ended(&self) -> bool {
        self.status != ImportStatus::Running
    }

    /// Records `processed` rows done.
    pub(crate) fn advance(&mut self, processed: u32, now: DateTime<Utc>) {
        self.processed = processed.min(self.rows);
        self.updated_at = now;
    }

    /// Ends it as its mode has it, given the rows it would create (`created`), those imported
    /// before (`duplicates`) and the refused rows' `errors`: `refused` (all or nothing, with a
    /// row refused: none created), `checked` (a dry run), or `done` — whose rows the caller
    /// then writes with it. Returns the status.
    pub(crate) fn conclude(
        &mut self,
        (created, duplicates): (usize, usize),
        errors: Vec<RowError>,
        now: DateTime<Utc>,
    ) -> ImportStatus {
        let (status, created) = match self.mode {
            ImportMode::AllOrNothing if !errors.is_empty() => (ImportStatus::Refused, 0),
            ImportMode::DryRun => (ImportStatus::Checked, created),
            _ => (ImportStatus::Done, created),
        };
        self.end(status, (created, duplicates), errors, now);
        status
    }

    /// Ends it with the rows' outcome: `status`, `created` posts (in a dry run: that would be),
    /// `duplicates` rows imported before, and the refused rows' `errors`.
    fn end(
        &mut self,
        status: ImportStatus,
        (created, duplicates): (usize, usize),
        errors: Vec<RowError>,
        now: DateTime<Utc>,
    ) {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.status = status;
        self.processed = self.rows;
        self.created = count(created);
        self.duplicates = count(duplicates);
        self.failed = count(
            errors
                .iter()
                .map(|e| e.row)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
        );
        self.errors = errors;
        self.updated_at = now;
    }

    /// Ends it with nothing created, for `reason`.
    pub(crate) fn fail(&mut self, reason: String, now: DateTime<Utc>) {
        self.status = ImportStatus::Failed;
        self.error = Some(reason);
        self.updated_at = now;
    }

    /// It as it stands at `now`: a running import with no progress for [`STALLED_AFTER`] has
    /// lost its server, and reads as failed.
    #[must_use]
    pub(crate) fn seen_at(mut self, now: DateTime<Utc>) -> Self {
        if self.status == ImportStatus::Running && now - self.updated_at > STALLED_AFTER {
            self.fail(STALLED.to_owned(), self.updated_at);
        }
        self
    }
}

/// The rows of a file.
///
/// # Errors
/// A [`ValidationError`] naming `file` (with the row where it can) for a file that does not
/// read: not UTF-8, bad CSV quoting, a row longer than [`MAX_ROW_BYTES`], a missing or unknown
/// column, JSON that is not `{"posts": […]}` (`{"products": […]}`) of rows — or more than
/// [`MAX_IMPORT_ROWS`] rows.
pub fn parse_rows(
    kind: ImportKind,
    format: ImportFormat,
    data: &[u8],
) -> Result<ImportRows, ValidationError> {
    if data.len() > MAX_IMPORT_BYTES {
        return Err(file_error(format!(
            "is larger than {} MiB",
            MAX_IMPORT_BYTES >> 20
        )));
    }
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let rows = match (kind, format) {
        (ImportKind::Posts, ImportFormat::Csv) => {
            let rows = read_csv(data, &POST_COLUMNS, 2)?;
            ImportRows::Posts(rows.into_iter().map(post_row).collect())
        }
        (ImportKind::Products, ImportFormat::Csv) => {
            let rows = read_csv(data, &PRODUCT_COLUMNS, 1)?;
            ImportRows::Products(rows.into_iter().map(product_row).collect())
        }
        (ImportKind::Posts, ImportFormat::Json) => {
            ImportRows::Posts(parse_json::<PostsFile>(data, "posts")?.posts)
        }
        (ImportKind::Products, ImportFormat::Json) => {
            ImportRows::Products(parse_json::<ProductsFile>(data, "products")?.products)
        }
    };
    if rows.len() > MAX_IMPORT_ROWS {
        return Err(file_error(format!(
            "has {} rows; an import takes at most {MAX_IMPORT_ROWS}",
            rows.len()
        )));
    }
    Ok(rows)
}

fn file_error(reason: String) -> ValidationError {
    ValidationError::new("file", reason)
}

/// A header column with no name, whose cells are not read.
const IGNORED: usize = usize::MAX;

/// A post file's columns; the first two are required.
const POST_COLUMNS: [&str; 6] = [
    "account",
    "caption",
    "hashtags",
    "media",
    "time",
    "external_id",
];

/// A product file's columns; the first is required.
const PRODUCT_COLUMNS: [&str; 14] = [
    "title",
    "description",
    "price",
    "currency",
    "compare_at_price",
    "url",
    "image_urls",
    "features",
    "tags",
    "store_name",
    "platforms",
    "caption",
    "hashtags",
    "external_id",
];

/// A CSV row's cells, one per known column in its order (empty where the file has none).
type Cells = Vec<String>;

fn post_row(mut cells: Cells) -> ImportRow {
    let mut take = |i: usize| std::mem::take(&mut cells[i]);
    ImportRow {
        account: take(0),
        caption: take(1),
        hashtags: words(&take(2), true),
        media: words(&take(3), false),
        time: Some(take(4)).filter(|t| !t.is_empty()),
        external_id: Some(take(5)).filter(|t| !t.is_empty()),
    }
}

fn product_row(mut cells: Cells) -> ProductRow {
    let mut take = |i: usize| std::mem::take(&mut cells[i]);
    let mut optional = |i: usize| Some(take(i)).filter(|t| !t.is_empty());
    ProductRow {
        title: optional(0).unwrap_or_default(),
        description: optional(1),
        price: optional(2),
        currency: optional(3),
        compare_at_price: optional(4),
        url: optional(5),
        image_urls: words(&optional(6).unwrap_or_default(), false),
        features: optional(7)
            .unwrap_or_default()
            .split('|')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect(),
        tags: words(&optional(8).unwrap_or_default(), true),
        store_name: optional(9),
        platforms: words(&optional(10).unwrap_or_default(), true),
        caption: optional(11),
        hashtags: words(&optional(12).unwrap_or_default(), true),
        external_id: optional(13),
    }
}

/// A CSV file's rows as cells of `columns`, of which the first `required` must be in its
/// header.
fn read_csv(data: &[u8], columns: &[&str], required: usize) -> Result<Vec<Cells>, ValidationError> {
    check_quotes(data)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => return Err(csv_error(&e, 0)),
        None => {
            return Err(file_error(
                "is empty: the first line names the columns".into(),
            ));
        }
    };
    let mut places = Vec::with_capacity(header.len());
    for name in &header {
        let name = std::str::from_utf8(name)
            .map_err(|_| file_error("line 1 (the header) is not UTF-8".into()))?
            .trim()
            .to_ascii_lowercase();
        if name.is_empty() {
            // A spreadsheet's trailing empty column: nothing to read there.
            places.push(IGNORED);
            continue;
        }
        let Some(known) = columns.iter().position(|c| *c == name) else {
            return Err(file_error(format!(
                "column \"{name}\" is not one of {}",
                columns.join(", ")
            )));
        };
        if places.contains(&known) {
            return Err(file_error(format!("column \"{name}\" is given twice")));
        }
        places.push(known);
    }
    if let Some(missing) = columns[..required]
        .iter()
        .enumerate()
        .find(|(i, _)| !places.contains(i))
    {
        return Err(file_error(format!("has no \"{}\" column", missing.1)));
    }
    let mut rows = Vec::new();
    for record in records {
        let row = rows.len() + 1;
        let record = record.map_err(|e| csv_error(&e, row))?;
        if blank(record.iter()) {
            // An empty line, or a spreadsheet's row of empty cells: not a row.
            continue;
        }
        if record.len() != places.len() && !blank(record.iter().skip(places.len())) {
            return Err(file_error(format!(
                "row {row} has {} fields where the header has {} (check its quotes)",
                record.len(),
                places.len()
            )));
        }
        if record.as_slice().len() > MAX_ROW_BYTES {
            return Err(file_error(format!(
                "row {row} is longer than {} KiB",
                MAX_ROW_BYTES >> 10
            )));
        }
        if rows.len() == MAX_IMPORT_ROWS {
            return Err(file_error(format!(
                "has more than {MAX_IMPORT_ROWS} rows; an import takes at most {MAX_IMPORT_ROWS}"
            )));
        }
        let mut cells = vec![String::new(); columns.len()];
        for (value, &place) in record.iter().zip(&places) {
            let value = std::str::from_utf8(value)
                .map_err(|_| file_error(format!("row {row} is not UTF-8")))?;
            if let Some(cell) = cells.get_mut(place) {
                value.trim().clone_into(cell);
            }
        }
        rows.push(cells);
    }
    Ok(rows)
}

/// Checks a CSV file's quoting as RFC 4180 has it, which the reader is lenient about: a quote
/// opens a field only at its start (elsewhere it is a literal character, like an inch mark), a
/// quoted field's `""` is one quote, and its closing quote ends the field. An unclosed quote
/// would otherwise take the rest of the file into one field, and text after a closing quote
/// would be glued to it.
fn check_quotes(data: &[u8]) -> Result<(), ValidationError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// A quote inside a quoted field: the end of it, or the first of `""`.
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let (mut line, mut opened) = (1usize, 1usize);
    for &b in data {
        state = match (state, b) {
            (State::FieldStart, b'"') => {
                opened = line;
                State::Quoted
            }
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',' | b'\n' | b'\r') => {
                State::FieldStart
            }
            (State::FieldStart | State::Unquoted, _) => State::Unquoted,
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::QuoteInQuoted, _) => {
                return Err(file_error(format!(
                    "line {line} has text after a quoted field's closing quote (a quote inside quotes is written \"\")"
                )));
            }
        };
        if b == b'\n' {
            line += 1;
        }
    }
    if state == State::Quoted {
        return Err(file_error(format!(
            "has an unclosed quote: the quoted field opened on line {opened} never ends"
        )));
    }
    Ok(())
}

/// Whether every cell is empty or white space.
fn blank<'a>(mut cells: impl Iterator<Item = &'a [u8]>) -> bool {
    cells.all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

/// A cell's words: split at white space, and at commas too for hashtags (URLs may hold commas).
fn words(value: &str, commas: bool) -> Vec<String> {
    value
        .split(|c: char| c.is_whitespace() || (commas && c == ','))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn csv_error(error: &csv::Error, row: usize) -> ValidationError {
    let place = error
        .position()
        .map_or_else(|| format!("row {row}"), |p| format!("line {}", p.line()));
    let what = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8",
        _ => "does not read as CSV",
    };
    file_error(format!("{place} {what}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostsFile {
    posts: Vec<ImportRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductsFile {
    products: Vec<ProductRow>,
}

fn parse_json<T: serde::de::DeserializeOwned>(
    data: &[u8],
    list: &str,
) -> Result<T, ValidationError> {
    serde_json::from_slice::<T>(data).map_err(|e| {
        file_error(format!(
            "is not {{\"{list}\": [rows]}} at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn posts(format: ImportFormat, data: &[u8]) -> Result<Vec<ImportRow>, ValidationError> {
        match parse_rows(ImportKind::Posts, format, data)? {
            ImportRows::Posts(rows) => Ok(rows),
            ImportRows::Products(_) => unreachable!("posts were asked for"),
        }
    }

    fn products(format: ImportFormat, data: &[u8]) -> Vec<ProductRow> {
        match parse_rows(ImportKind::Products, format, data).unwrap() {
            ImportRows::Products(rows) => rows,
            ImportRows::Posts(_) => unreachable!("products were asked for"),
        }
    }

    #[test]
    fn a_product_file_reads_lists_by_their_separators_and_json_prices_as_numbers_or_text() {
        let csv = "title,price,image_urls,features,tags,platforms,external_id\n\
                   Aurora lamp,49.90,https://cdn.example.com/a.jpg https://cdn.example.com/b.jpg,\"Warm light | Dimmable, three steps\",\"lamp, desk\",instagram facebook,sku-1\n\
                   Plain mug,,,,,tiktok,\n";
        let rows = products(ImportFormat::Csv, csv.as_bytes());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].price.as_deref(), Some("49.90"));
        assert_eq!(rows[0].image_urls.len(), 2);
        assert_eq!(rows[0].features, ["Warm light", "Dimmable, three steps"]);
        assert_eq!(rows[0].tags, ["lamp", "desk"]);
        assert_eq!(rows[0].platforms, ["instagram", "facebook"]);
        assert_eq!(
            (rows[1].price.clone(), rows[1].external_id.clone()),
            (None, None)
        );
        let json = br#"{"products": [{"title": "Lamp", "price": 19.5, "platforms": ["tiktok"]}, {"title": "Mug", "price": "4"}]}"#;
        let rows = products(ImportFormat::Json, json);
        assert_eq!(rows[0].price.as_deref(), Some("19.5"));
        assert_eq!(rows[1].price.as_deref(), Some("4"));
        let e = parse_rows(ImportKind::Products, ImportFormat::Csv, b"price\n4\n").unwrap_err();
        assert!(e.reason().contains("\"title\""), "{e}");
        let e = parse_rows(
            ImportKind::Products,
            ImportFormat::Json,
            br#"{"posts": []}"#,
        )
        .unwrap_err();
        assert!(e.reason().contains("{\"products\": [rows]}"), "{e}");
    }

    fn refused(format: ImportFormat, data: &[u8]) -> String {
        let e = posts(format, data).unwrap_err();
        assert_eq!(e.field(), "file");
        e.reason().to_owned()
    }

    #[test]
    fn a_csv_file_reads_by_its_header_in_any_order_with_quoted_captions() {
        let data = "\u{feff}caption,account,Time,hashtags,media,external_id\n\
                    \"Warm light, late nights\",@shop,next,\"lamp, #desk\",https://cdn.example.com/a.jpg https://cdn.example.com/b.jpg,sku-1\n\
                    \"Line one\nline two\",6f1c2a9e-7d3b-4b8e-9a51-0c2d4e6f8a1b,,,,\n";
        let rows = posts(ImportFormat::Csv, data.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].caption, "Warm light, late nights");
        assert_eq!(rows[0].account, "@shop");
        assert_eq!(rows[0].time.as_deref(), Some("next"));
        assert_eq!(rows[0].hashtags, ["lamp", "#desk"]);
        assert_eq!(rows[0].media.len(), 2);
        assert_eq!(rows[0].external_id.as_deref(), Some("sku-1"));
        assert_eq!(rows[1].caption, "Line one\nline two");
        assert_eq!(
            (rows[1].time.clone(), rows[1].external_id.clone()),
            (None, None)
        );
    }

    #[test]
    fn a_literal_quote_in_an_unquoted_field_and_doubled_quotes_in_a_quoted_one_read() {
        let data = b"account,caption\r\n@a,12\" frame lamp\r\n@b,\"The \"\"glow\"\" edition\"\r\n";
        let rows = posts(ImportFormat::Csv, data).unwrap();
        assert_eq!(rows[0].caption, "12\" frame lamp");
        assert_eq!(rows[1].caption, "The \"glow\" edition");
    }

    #[test]
    fn a_malformed_csv_file_is_refused_naming_where() {
        assert!(refused(ImportFormat::Csv, b"").contains("empty"));
        assert!(refused(ImportFormat::Csv, b"account,title\n@a,b\n").contains("\"title\""));
        assert!(refused(ImportFormat::Csv, b"account\n@a\n").contains("\"caption\""));
        let unclosed = b"account,caption\n@a,\"unterminated\n@b,fine\n";
        assert!(refused(ImportFormat::Csv, unclosed).contains("opened on line 2"));
        let glued = b"account,caption\n@a,\"Sale starts\n@b,24\" monitor\n";
        assert!(refused(ImportFormat::Csv, glued).contains("after a quoted field"));
        let wide = b"account,caption\n@a,b\n@c,d,e\n";
        assert!(
            refused(ImportFormat::Csv, wide).contains("row 2 has 3 fields where the header has 2")
        );
        let short = posts(ImportFormat::Csv, b"account,caption\n@c\n").unwrap();
        assert_eq!(
            short[0].caption, "",
            "missing last cells are empty (the row check refuses it)"
        );
        let spreadsheet = b"account,caption,\n@a,b,\n,,\n   \n\n@c,d,\n";
        let rows = posts(ImportFormat::Csv, spreadsheet).unwrap();
        assert_eq!(
            rows.len(),
            2,
            "empty rows and an unnamed last column are skipped"
        );
        assert_eq!(rows[1].account, "@c");
        let latin1 = b"account,caption\n@a,caf\xe9\n";
        assert!(refused(ImportFormat::Csv, latin1).contains("not UTF-8"));
        let long = format!("account,caption\n@a,{}\n", "x".repeat(1 << 20));
        assert!(refused(ImportFormat::Csv, long.as_bytes()).contains("longer than 64 KiB"));
        let many = format!("account,caption\n{}", "@a,b\n".repeat(MAX_IMPORT_ROWS + 1));
        assert!(refused(ImportFormat::Csv, many.as_bytes()).contains("at most 10000"));
    }

    #[test]
    fn a_json_file_is_posts_of_rows_with_no_unknown_field() {
        let rows = posts(
            ImportFormat::Json,
            br#"{"posts": [{"account": "@a", "caption": "Hi", "hashtags": ["x"], "time": "next"}]}"#,
        )
        .unwrap();
        assert_eq!(rows[0].hashtags, ["x"]);
        assert!(
            refused(ImportFormat::Json, br#"{"posts": [{"account": "@a"}]}"#).contains("caption")
        );
        assert!(
            refused(
                ImportFormat::Json,
                br#"{"posts": [{"account": "@a", "caption": "b", "colour": 1}]}"#
            )
            .contains("colour")
        );
        assert!(refused(ImportFormat::Json, b"[1, 2").contains("line 1"));
    }
}
