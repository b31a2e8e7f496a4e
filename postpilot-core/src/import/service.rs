//! Running an import: check every row, place the `next` ones on their accounts' free slots,
//! create the rows within the plan's quota in one store write, and keep the report.

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
    Import, ImportFormat, ImportMode, ImportRecord, ImportRow, ImportStatus, MAX_EXTERNAL_ID_CHARS,
    RowError, parse_rows,
};
use crate::page::{MAX_PER_PAGE, PageRequest};
use crate::plan::{post_quota, posts_quota_error};
use crate::post::room::{SLOT_RACE_RETRIES, next_free_slot};
use crate::post::{Caption, Hashtags, NewPost, Post, parse_media_urls};
use crate::store::{Conflict, StoreError};

/// A file to import.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    /// Its format.
    pub format: ImportFormat,
    /// What to do with refused rows.
    pub mode: ImportMode,
    /// The file, as uploaded.
    pub data: Vec<u8>,
}

/// What every row of one import is checked against.
#[derive(Clone, Copy)]
struct Rows<'a> {
    user: UserId,
    accounts: &'a BTreeMap<AccountId, SocialAccount>,
    /// Accounts with a posting schedule (a `next` row needs one).
    scheduled: &'a BTreeSet<AccountId>,
    /// The file's hash, naming rows without an `external_id`.
    file: &'a str,
    now: DateTime<Utc>,
}

/// A row that passed its checks.
struct Checked {
    row: u32,
    /// What makes the row the same row when it comes again.
    reference: String,
    post: Post,
    /// Goes on its account's next free slot.
    next_slot: bool,
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

    /// Imports `request`'s rows as the user's posts (see [`crate::import`]); the report is kept
    /// and read again by [`ImportService::get`].
    ///
    /// # Errors
    /// [`Error::Validation`] naming `file` for a file that does not read (nothing is checked
    /// or created); [`Error::PlanLimit`] when the rows to create do not fit in the month's
    /// quota (nothing is created — also in a dry run, which says so).
    pub async fn run(&self, user: UserId, request: ImportRequest) -> Result<Import> {
        let rows = parse_rows(request.format, &request.data)?;
        let now = self.deps.now();
        let accounts = self.accounts(user).await?;
        let mut scheduled = BTreeSet::new();
        for id in accounts.keys() {
            if let Some(schedule) = self.deps.store.schedule(user, *id).await?
                && !schedule.slots().slots().is_empty()
            {
                scheduled.insert(*id);
            }
        }
        let file = hex_sha256(&request.data);
        let mut errors = Vec::new();
        let mut checked = Vec::new();
        let mut seen: HashMap<String, u32> = HashMap::new();
        for (index, row) in rows.iter().enumerate() {
            let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let refused = |e: ValidationError| RowError {
                row: number,
                field: row_field(e.field()).to_owned(),
                reason: e.reason().to_owned(),
            };
            let context = Rows {
                user,
                accounts: &accounts,
                scheduled: &scheduled,
                file: &file[..32],
                now,
            };
            match self.check(&context, row, number) {
                Ok(ok) => match seen.get(&ok.reference) {
                    Some(first) => errors.push(refused(ValidationError::new(
                        "external_id",
                        format!("is also row {first}'s"),
                    ))),
                    None => {
                        seen.insert(ok.reference.clone(), number);
                        checked.push(ok);
                    }
                },
                Err(e) => errors.push(refused(e)),
            }
        }
        let references: Vec<String> = checked.iter().map(|c| c.reference.clone()).collect();
        let known: BTreeSet<String> = self
            .deps
            .store
            .imported_refs(user, &references)
            .await?
            .into_iter()
            .collect();
        let (duplicates, fresh): (Vec<Checked>, Vec<Checked>) = checked
            .into_iter()
            .partition(|c| known.contains(&c.reference));
        let failed_rows = errors.iter().map(|e| e.row).collect::<BTreeSet<_>>().len();
        let report = |status: ImportStatus, created: usize| {
            Import::from(ImportRecord {
                id: self.deps.new_id(),
                user_id: user,
                format: request.format,
                mode: request.mode,
                status,
                rows: u32::try_from(rows.len()).unwrap_or(u32::MAX),
                created: u32::try_from(created).unwrap_or(u32::MAX),
                duplicates: u32::try_from(duplicates.len()).unwrap_or(u32::MAX),
                failed: u32::try_from(failed_rows).unwrap_or(u32::MAX),
                errors: errors.clone(),
                created_at: now,
            })
        };
        let quota = post_quota(&self.deps, user, now).await?;
        let import = match request.mode {
            ImportMode::AllOrNothing if !errors.is_empty() => report(ImportStatus::Refused, 0),
            ImportMode::DryRun => {
                let used = self
                    .deps
                    .store
                    .count_posts_created(user, quota.window.start, quota.window.end)
                    .await?;
                if let Some(max) = quota.limit.max()
                    && used + fresh.len() as u64 > u64::from(max)
                {
                    return Err(posts_quota_error(quota.limit));
                }
                report(ImportStatus::Checked, fresh.len())
            }
            _ => {
                let created = self.create(user, &accounts, fresh, now).await?;
                report(ImportStatus::Done, created)
            }
        };
        self.deps.store.put_import(&import).await?;
        Ok(import)
    }

    /// One of the user's imports.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is not the user's.
    pub async fn get(&self, user: UserId, id: ImportId) -> Result<Import> {
        self.deps
            .store
            .import(user, id)
            .await?
            .ok_or(Error::NotFound("import"))
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

    /// Checks one row as `POST /posts` checks a post.
    fn check(
        &self,
        context: &Rows<'_>,
        row: &ImportRow,
        number: u32,
    ) -> Result<Checked, ValidationError> {
        let Rows {
            user,
            accounts,
            scheduled,
            file,
            now,
        } = *context;
        let account = find_account(accounts, &row.account)?;
        if row
            .time
            .as_deref()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("next"))
            && !scheduled.contains(&account.id())
        {
            return Err(ValidationError::new(
                "time",
                format!(
                    "is next, but {} has no posting schedule",
                    row.account.trim()
                ),
            ));
        }
        let (at, next_slot) = match row.time.as_deref().map(str::trim) {
            None | Some("") => (None, false),
            Some(t) if t.eq_ignore_ascii_case("next") => (None, true),
            Some(t) => (
                Some(
                    DateTime::parse_from_rfc3339(t)
                        .map_err(|_| {
                            ValidationError::new(
                                "time",
                                "must be an RFC 3339 time (2027-01-31T09:00:00+01:00), next, or empty",
                            )
                        })?
                        .with_timezone(&Utc),
                ),
                false,
            ),
        };
        let reference = match row.external_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => {
                if id.chars().count() > MAX_EXTERNAL_ID_CHARS || id.chars().any(char::is_control) {
                    return Err(ValidationError::new(
                        "external_id",
                        format!(
                            "must be at most {MAX_EXTERNAL_ID_CHARS} characters, no control characters"
                        ),
                    ));
                }
                format!("id:{id}")
            }
            _ => format!("file:{file}:{number}"),
        };
        let post = Post::create(
            NewPost {
                id: self.deps.new_id(),
                user_id: user,
                account_id: account.id(),
                queue_item_id: None,
                platform: account.platform(),
                content: Caption::parse(row.caption.as_str())?,
                media_urls: parse_media_urls(row.media.iter().cloned())?,
                hashtags: Hashtags::parse(row.hashtags.iter().map(|h| h.trim_start_matches('#')))?,
            },
            at,
            now,
        )?;
        Ok(Checked {
            row: number,
            reference,
            post,
            next_slot,
        })
    }

    /// Places the `next` rows on free slots and creates every row in one store write; a slot
    /// another request took meanwhile places them again.
    async fn create(
        &self,
        user: UserId,
        accounts: &BTreeMap<AccountId, SocialAccount>,
        rows: Vec<Checked>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        for _ in 0..=SLOT_RACE_RETRIES {
            let mut planned: HashMap<AccountId, BTreeSet<DateTime<Utc>>> = HashMap::new();
            let mut posts = Vec::with_capacity(rows.len());
            for checked in &rows {
                let mut post = checked.post.clone();
                if checked.next_slot {
                    let account = &accounts[&post.account_id()];
                    let mine = planned.entry(account.id()).or_default();
                    let at = next_free_slot(&self.deps, account, None, now, mine)
                        .await
                        .map_err(|e| at_row(e, checked.row))?;
                    mine.insert(at);
                    post.schedule_on_slot(at, now)?;
                }
                posts.push((checked.reference.clone(), post));
            }
            let quota = post_quota(&self.deps, user, now).await?;
            match self
                .deps
                .store
                .insert_imported_posts(user, &posts, quota)
                .await
            {
                Ok(created) => return Ok(created.iter().filter(|c| **c).count()),
                Err(StoreError::Conflict(Conflict::SlotTaken)) => {}
                Err(StoreError::LimitReached) => return Err(posts_quota_error(quota.limit)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "other requests kept taking the accounts' free slots; try again".into(),
        ))
    }
}

/// The account a row names: its id, or its name among the user's accounts (`@shop`, any case).
fn find_account<'a>(
    accounts: &'a BTreeMap<AccountId, SocialAccount>,
    named: &str,
) -> Result<&'a SocialAccount, ValidationError> {
    let named = named.trim();
    let found = match named.parse::<AccountId>() {
        Ok(id) => accounts.get(&id),
        Err(_) => {
            let mut matching = accounts.values().filter(|a| {
                a.is_connected() && a.account_name().as_ref().eq_ignore_ascii_case(named)
            });
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

/// A row's field as the file names it (`caption` for the post's `content`, …).
fn row_field(field: &str) -> &str {
    match field {
        "content" => "caption",
        "media_urls" => "media",
        "scheduled_for" | "slot" => "time",
        "account_id" | "account_ids" => "account",
        other => other,
    }
}

/// A slot error of row `row`, said of the row.
fn at_row(error: Error, row: u32) -> Error {
    match error {
        Error::Validation(e) => Error::Validation(ValidationError::new(
            "file",
            format!("row {row}: {}: {}", row_field(e.field()), e.reason()),
        )),
        other => other,
    }
}
