//! Running an import: check every row, leave out rows imported before, place the timed and
//! `next` rows within their accounts' publishing caps and free slots, then create the rows and
//! keep the report in one store write.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ValidationError;
use crate::account::SocialAccount;
use crate::context::Deps;
use crate::crypto::hex_sha256;
use crate::error::{Error, Result};
use crate::id::{AccountId, ImportId, UserId};
use crate::import::{
    Import, ImportFormat, ImportKind, ImportMode, ImportRow, ImportRows, ImportStatus,
    MAX_EXTERNAL_ID_CHARS, PROGRESS_EVERY, ProductRow, RowError, parse_rows,
};
use crate::page::{MAX_PER_PAGE, PageRequest};
use crate::plan::{post_quota, posts_quota_error};
use crate::post::room::{SLOT_RACE_RETRIES, SlotPlanner};
use crate::post::{Caption, Hashtags, NewPost, Post, parse_media_urls};
use crate::queue::QueueService;
use crate::store::{Conflict, StoreError};

/// A file to import.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    /// What its rows become.
    pub kind: ImportKind,
    /// Its format.
    pub format: ImportFormat,
    /// What to do with refused rows.
    pub mode: ImportMode,
    /// The file, as uploaded.
    pub data: Vec<u8>,
}

/// When a checked row goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// A draft.
    Draft,
    /// At its time.
    At(DateTime<Utc>),
    /// On its account's next free slot.
    NextSlot,
}

/// A row that passed its checks.
#[derive(Clone, Debug)]
pub(super) struct Checked<T> {
    pub(super) row: u32,
    /// What makes the row the same row when it comes again.
    pub(super) reference: String,
    /// What it creates.
    pub(super) value: T,
}

/// A checked post row.
#[derive(Clone, Debug)]
struct PostRow {
    /// As a draft; placed later.
    post: Post,
    when: When,
}

/// Bulk imports.
#[derive(Clone, Debug)]
pub struct ImportService {
    deps: Arc<Deps>,
}

impl ImportService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Imports `request`'s rows as the user's posts (see [`crate::import`]): [`start`] and
    /// [`ImportJob::run`] in one.
    ///
    /// [`start`]: ImportService::start
    ///
    /// # Errors
    /// Those of both.
    pub async fn run(&self, user: UserId, request: ImportRequest) -> Result<Import> {
        self.start(user, request).await?.run().await
    }

    /// Reads the file and keeps its import as `running` (read by [`ImportService::get`] while
    /// it runs): the rows are checked and created by the job it returns, here or in the
    /// background.
    ///
    /// # Errors
    /// [`Error::Validation`] naming `file` for a file that does not read (nothing is kept).
    pub async fn start(&self, user: UserId, request: ImportRequest) -> Result<ImportJob> {
        let rows = parse_rows(request.kind, request.format, &request.data)?;
        let import = Import::begin(
            self.deps.new_id(),
            user,
            (request.kind, request.format, request.mode),
            u32::try_from(rows.len()).unwrap_or(u32::MAX),
            self.deps.now(),
        );
        self.deps.store.put_import(&import).await?;
        Ok(ImportJob {
            service: self.clone(),
            import,
            rows,
        })
    }

    /// Checks the rows, writing progress every [`PROGRESS_EVERY`] rows, then creates them with
    /// the report in one write (posts placed on their times first); `import` ends as the
    /// report.
    async fn work(&self, import: &mut Import, rows: &ImportRows) -> Result<()> {
        let user = import.user_id();
        match rows {
            ImportRows::Posts(rows) => {
                let accounts = self.accounts(user).await?;
                let check = |row: &ImportRow| self.check(user, &accounts, row);
                let (checked, errors) = self.check_all(import, rows, check).await?;
                self.create_posts(import, &accounts, &checked, &errors)
                    .await
            }
            ImportRows::Products(rows) => {
                let queue = QueueService::new(self.deps.clone());
                let check = |row: &ProductRow| super::products::check(&queue, user, row);
                let (checked, errors) = self.check_all(import, rows, check).await?;
                super::products::create(&self.deps, import, &checked, errors).await
            }
        }
    }

    /// Checks each row, keeps the first of rows with one reference (refusing the others), and
    /// writes the import's progress every [`PROGRESS_EVERY`] rows.
    async fn check_all<R, T>(
        &self,
        import: &mut Import,
        rows: &[R],
        check: impl Fn(&R) -> Result<(String, T), ValidationError>,
    ) -> Result<(Vec<Checked<T>>, Vec<RowError>)> {
        let mut errors = Vec::new();
        let mut checked = Vec::new();
        let mut seen: HashMap<String, u32> = HashMap::new();
        for (index, row) in rows.iter().enumerate() {
            let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
            match check(row) {
                Ok((reference, value)) => match seen.get(&reference) {
                    Some(first) => errors.push(RowError {
                        row: number,
                        field: "external_id".to_owned(),
                        reason: format!(
                            "row {first} is the same row; give each its own external_id to import it twice"
                        ),
                    }),
                    None => {
                        seen.insert(reference.clone(), number);
                        checked.push(Checked {
                            row: number,
                            reference,
                            value,
                        });
                    }
                },
                Err(e) => errors.push(refused(number, &e)),
            }
            // Every thousand rows, and when a large file's last is checked (what remains,
            // placing and creating, is under a second).
            let last = index + 1 == rows.len() && rows.len() > PROGRESS_EVERY;
            if (index + 1) % PROGRESS_EVERY == 0 || last {
                self.progress(import, number).await;
            }
        }
        Ok((checked, errors))
    }

    /// Keeps `processed` rows done. Best effort: progress that is not kept is only a stale
    /// figure, never a reason to stop the import.
    async fn progress(&self, import: &mut Import, processed: u32) {
        import.advance(processed, self.deps.now());
        if let Err(e) = self.deps.store.put_import(import).await {
            tracing::warn!(import = %import.id(), error = %e, "an import's progress could not be kept");
        }
    }

    /// Places the checked posts and creates them with the report in one write, again when
    /// another request took a row or a slot meanwhile.
    async fn create_posts(
        &self,
        import: &mut Import,
        accounts: &BTreeMap<AccountId, SocialAccount>,
        checked: &[Checked<PostRow>],
        errors: &[RowError],
    ) -> Result<()> {
        let user = import.user_id();
        for _ in 0..=SLOT_RACE_RETRIES {
            let now = self.deps.now();
            let known = known_references(&self.deps, user, checked).await?;
            let (duplicates, fresh): (Vec<_>, Vec<_>) =
                checked.iter().partition(|c| known.contains(&c.reference));
            let (placed, mut row_errors) = self.place(accounts, &fresh, now).await?;
            row_errors.extend(errors.iter().cloned());
            row_errors.sort_by_key(|e| e.row);
            let mut report = import.clone();
            let counts = (placed.len(), duplicates.len());
            let quota = post_quota(&self.deps, user, now).await?;
            match report.conclude(counts, row_errors, now) {
                ImportStatus::Checked => {
                    let used = self
                        .deps
                        .store
                        .count_posts_created(user, quota.window)
                        .await?;
                    if let Some(max) = quota.limit.max()
                        && used + placed.len() as u64 > u64::from(max)
                    {
                        return Err(posts_quota_error(quota.limit));
                    }
                }
                ImportStatus::Done => {
                    match self
                        .deps
                        .store
                        .insert_imported_posts(user, &placed, quota, &report)
                        .await
                    {
                        Ok(()) => {
                            *import = report;
                            return Ok(());
                        }
                        // Rows another import took, or slots another request took, meanwhile:
                        // read them again and place the rest again.
                        Err(StoreError::Conflict(
                            Conflict::AlreadyImported | Conflict::SlotTaken,
                        )) => continue,
                        Err(StoreError::LimitReached) => {
                            return Err(posts_quota_error(quota.limit));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                _ => {}
            }
            self.deps.store.put_import(&report).await?;
            *import = report;
            return Ok(());
        }
        Err(Error::Conflict(
            "other requests kept taking the rows' slots or rows; try again".into(),
        ))
    }

    /// One of the user's imports.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is not the user's.
    pub async fn get(&self, user: UserId, id: ImportId) -> Result<Import> {
        let import = self.deps.store.import(user, id).await?;
        Ok(import
            .ok_or(Error::NotFound("import"))?
            .seen_at(self.deps.now()))
    }

    /// Every account of the user, by id.
    async fn accounts(&self, user: UserId) -> Result<BTreeMap<AccountId, SocialAccount>> {
        let mut all = BTreeMap::new();
        for page in 1.. {
            let request = PageRequest::new(Some(page), Some(MAX_PER_PAGE))?;
            let found = self.deps.store.list_accounts(user, request).await?;
            let full = found.items.len() == MAX_PER_PAGE as usize;
            all.extend(found.items.into_iter().map(|a| (a.id(), a)));
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// Checks one row as `POST /posts` checks a post (its time is placed later).
    fn check(
        &self,
        user: UserId,
        accounts: &BTreeMap<AccountId, SocialAccount>,
        row: &ImportRow,
    ) -> Result<(String, PostRow), ValidationError> {
        let account = find_account(accounts, &row.account)?;
        let time = row.time.as_deref().map(str::trim).unwrap_or_default();
        let when = match time {
            "" => When::Draft,
            t if t.eq_ignore_ascii_case("next") => When::NextSlot,
            t => When::At(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|_| {
                        ValidationError::new(
                            "time",
                            "must be an RFC 3339 time (2027-01-31T09:00:00+01:00), next, or empty",
                        )
                    })?
                    .with_timezone(&Utc),
            ),
        };
        let now = self.deps.now();
        if let When::At(at) = when {
            crate::post::check_schedule_time(at, now)?;
        }
        let content = Caption::parse(row.caption.as_str())?;
        let media_urls = parse_media_urls(row.media.iter().cloned())?;
        let hashtags = Hashtags::parse(row.hashtags.iter().map(|h| h.trim_start_matches('#')))?;
        // Without an id, a row is its content: the same post again is the same row, however the
        // file around it changed (fixed rows, another order, other line endings).
        let media: Vec<String> = media_urls.iter().map(ToString::to_string).collect();
        let reference = reference(
            "",
            row.external_id.as_deref(),
            &[
                account.id().to_string(),
                content.as_ref().to_owned(),
                hashtags.to_strings().join(" "),
                media.join(" "),
                time.to_ascii_lowercase(),
            ],
        )?;
        let post = Post::create(
            NewPost {
                id: self.deps.new_id(),
                user_id: user,
                account_id: account.id(),
                queue_item_id: None,
                platform: account.platform(),
                content,
                media_urls,
                hashtags,
                product: None,
            },
            None,
            now,
        )?;
        Ok((reference, PostRow { post, when }))
    }

    /// Gives the rows their times: timed rows first, each within its account's publishing cap
    /// (the import's own posts counted), then `next` rows each on its account's next free slot.
    /// A row that does not fit is refused on `time`.
    async fn place(
        &self,
        accounts: &BTreeMap<AccountId, SocialAccount>,
        rows: &[&Checked<PostRow>],
        now: DateTime<Utc>,
    ) -> Result<(Vec<(String, Post)>, Vec<RowError>)> {
        let mut planners: HashMap<AccountId, SlotPlanner<'_>> = HashMap::new();
        let mut placed: BTreeMap<u32, (String, Post)> = BTreeMap::new();
        let mut errors = Vec::new();
        for pass in [Pass::Timed, Pass::Slots] {
            for checked in rows {
                let mut post = checked.value.post.clone();
                let account_id = post.account_id();
                let result = match (pass, checked.value.when) {
                    (Pass::Timed, When::Draft) => Ok(()),
                    (Pass::Timed, When::At(at)) => {
                        let planner =
                            planner(&mut planners, &self.deps, accounts, account_id, now).await?;
                        if planner.fits(at).await? {
                            planner.reserve(at);
                            post.schedule(at, now)
                        } else {
                            Err(ValidationError::new(
                                "time",
                                format!(
                                    "the account's {} publishing cap is full in the 24 hours around it",
                                    post.platform()
                                ),
                            )
                            .into())
                        }
                    }
                    (Pass::Slots, When::NextSlot) => {
                        let planner =
                            planner(&mut planners, &self.deps, accounts, account_id, now).await?;
                        match planner.take_next().await? {
                            Some(at) => post.schedule_on_slot(at, now),
                            None if !planner.has_slots() => Err(ValidationError::new(
                                "time",
                                "is next, but the account has no posting schedule",
                            )
                            .into()),
                            None => Err(ValidationError::new(
                                "time",
                                "is next, but the account has no free slot within 365 days",
                            )
                            .into()),
                        }
                    }
                    _ => continue,
                };
                match result {
                    Ok(()) => {
                        placed.insert(checked.row, (checked.reference.clone(), post));
                    }
                    Err(Error::Validation(e)) => errors.push(refused(checked.row, &e)),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok((placed.into_values().collect(), errors))
    }
}

/// An import's rows, read and waiting to be checked and created: run it here, or spawn it.
#[derive(Debug)]
pub struct ImportJob {
    service: ImportService,
    import: Import,
    rows: ImportRows,
}

impl ImportJob {
    /// The import, as kept when it started (`running`, nothing processed).
    pub fn import(&self) -> &Import {
        &self.import
    }

    /// Ends the import as `failed` for `reason` without checking a row (another import of the
    /// merchant's is running, say): the import as kept.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store fails.
    pub async fn abandon(self, reason: &str) -> Result<Import> {
        let mut import = self.import;
        import.fail(reason.to_owned(), self.service.deps.now());
        self.service.deps.store.put_import(&import).await?;
        Ok(import)
    }

    /// Checks and creates the rows; the import ends as their report — or, when it stops
    /// before creating anything, as `failed` with the reason, and the error is returned.
    ///
    /// # Errors
    /// [`Error::PlanLimit`] when the rows to create do not fit in the month's quota (nothing
    /// is created — also in a dry run, which says so); [`Error::Unavailable`] when the store
    /// fails.
    pub async fn run(self) -> Result<Import> {
        let Self {
            service,
            mut import,
            rows,
        } = self;
        match service.work(&mut import, &rows).await {
            Ok(()) => Ok(import),
            Err(e) => {
                tracing::warn!(import = %import.id(), error = ?e, "an import stopped");
                import.fail(e.to_string(), service.deps.now());
                if let Err(kept) = service.deps.store.put_import(&import).await {
                    tracing::warn!(import = %import.id(), error = %kept, "an import's failure could not be kept");
                }
                Err(e)
            }
        }
    }
}

/// The two passes of placing rows.
#[derive(Clone, Copy)]
enum Pass {
    /// Drafts, and rows at their own times.
    Timed,
    /// Rows on the next free slot.
    Slots,
}

/// The account's planner, made on first use.
async fn planner<'a, 'm>(
    planners: &'m mut HashMap<AccountId, SlotPlanner<'a>>,
    deps: &'a Deps,
    accounts: &'a BTreeMap<AccountId, SocialAccount>,
    id: AccountId,
    now: DateTime<Utc>,
) -> Result<&'m mut SlotPlanner<'a>> {
    match planners.entry(id) {
        std::collections::hash_map::Entry::Occupied(planner) => Ok(planner.into_mut()),
        std::collections::hash_map::Entry::Vacant(slot) => {
            let planner = SlotPlanner::new(deps, &accounts[&id], None, now).await?;
            Ok(slot.insert(planner))
        }
    }
}

/// Which of the checked rows' references the user imported before.
pub(super) async fn known_references<T>(
    deps: &Deps,
    user: UserId,
    checked: &[Checked<T>],
) -> Result<BTreeSet<String>> {
    let references: Vec<String> = checked.iter().map(|c| c.reference.clone()).collect();
    let known = deps.store.imported_refs(user, &references).await?;
    Ok(known.into_iter().collect())
}

/// A row's reference: `{kind}id:` and its `external_id`, or else `{kind}row:` and the hash
/// of its content's `parts`.
///
/// # Errors
/// An `external_id` over [`MAX_EXTERNAL_ID_CHARS`] or with control characters.
pub(super) fn reference(
    kind: &str,
    external_id: Option<&str>,
    parts: &[String],
) -> Result<String, ValidationError> {
    match external_id.map(str::trim) {
        Some(id) if !id.is_empty() => {
            if id.chars().count() > MAX_EXTERNAL_ID_CHARS || id.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    "external_id",
                    format!(
                        "must be at most {MAX_EXTERNAL_ID_CHARS} characters, no control characters"
                    ),
                ));
            }
            Ok(format!("{kind}id:{id}"))
        }
        _ => Ok(format!(
            "{kind}row:{}",
            hex_sha256(parts.join("\u{1f}").as_bytes())
        )),
    }
}

/// A refused row.
fn refused(row: u32, e: &ValidationError) -> RowError {
    RowError {
        row,
        field: row_field(e.field()).to_owned(),
        reason: e.reason().to_owned(),
    }
}

/// The account a row names: its id, or its name among the user's connected accounts (`@shop`
/// or `shop`, any case).
fn find_account<'a>(
    accounts: &'a BTreeMap<AccountId, SocialAccount>,
    named: &str,
) -> Result<&'a SocialAccount, ValidationError> {
    let named = named.trim();
    let found = match named.parse::<AccountId>() {
        Ok(id) => accounts.get(&id),
        Err(_) => {
            let bare = |name: &str| name.trim_start_matches('@').to_lowercase();
            let mut matching = accounts
                .values()
                .filter(|a| a.is_connected() && bare(a.account_name().as_ref()) == bare(named));
            let first = matching.next();
            if matching.next().is_some() {
                return Err(ValidationError::new(
                    "account",
                    format!("{named} names more than one connected account: use its id"),
                ));
            }
            first
        }
    };
    let account = found.ok_or_else(|| {
        ValidationError::new("account", format!("{named:?} is not one of your accounts"))
    })?;
    account.ensure_publishable()?;
    Ok(account)
}

/// A row's field as the file names it (`caption` for the post's `content`, `title` for the
/// product's `product_data.title`, …).
fn row_field(field: &str) -> &str {
    match field.strip_prefix("product_data.").unwrap_or(field) {
        "content" | "ai_generated_content" => "caption",
        "media_urls" => "media",
        "scheduled_for" | "slot" => "time",
        "account_id" | "account_ids" => "account",
        // A product row's SKU is its product's id.
        "id" => "external_id",
        other => other,
    }
}
