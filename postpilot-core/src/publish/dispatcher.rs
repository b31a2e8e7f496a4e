//! One worker's publication tick: claim due posts, reconcile rescued ones, publish, commit the
//! outcome fenced by the lease token, and keep every attempt in the ledger.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::account::{awaiting_reconnect, require_reconnect_if_unchanged};
use crate::analytics::PostMetrics;
use crate::context::Deps;
use crate::error::Result;
use crate::id::AccountId;
use crate::platform::CapSource;
use crate::post::room::account_cap;
use crate::post::{CapFull, Post, Published, PublishingCap, cap_window};
use crate::publish::{
    AccountAccess, AttemptOutcome, Checkpoint, MetricsRequest, Progress, PublicationAttempt,
    PublishError, PublishRequest, TickReport,
};
use crate::queue::follow_posts;
use crate::store::{ClaimedPost, StoreError};
use crate::{InvalidTransition, ValidationError};

/// When to retry, and when to give up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry; doubled for each further one (30 s × 2ⁿ).
    pub base_delay: Duration,
    /// Attempts before the post fails (default 5).
    pub max_attempts: u32,
    /// Random spread of each delay, as a fraction (0.2: ±20 %), so retries of many posts do not
    /// hit the platform in lockstep.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::seconds(30),
            max_attempts: 5,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The delay after the `failed`-th failed attempt (1-based), before jitter.
    pub fn base_delay_after(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(20);
        self.base_delay * 2_i32.pow(doublings)
    }

    /// The delay after the `failed`-th failed attempt, with jitter drawn from `unit` (in [0, 1)).
    pub fn delay_after(&self, failed: u32, unit: f64) -> Duration {
        let base = self.base_delay_after(failed);
        let factor = 1.0 + self.jitter * (unit.clamp(0.0, 1.0) * 2.0 - 1.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let millis = (base.num_milliseconds() as f64 * factor) as i64;
        Duration::milliseconds(millis.max(0))
    }
}

/// A worker's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DispatcherConfig {
    /// Posts claimed per tick; for [`run_until`](Dispatcher::run_until), the accounts' lanes in
    /// flight at most (each up to 50 of one account's posts).
    pub batch_size: u32,
    /// How long a claim lasts before another worker may rescue the post.
    pub lease: Duration,
    /// How long one publish call may take.
    pub publish_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl DispatcherConfig {
    /// Checks the settings make sense together: positive sizes and times, and a publish timeout
    /// shorter than the lease (otherwise a slow publish outlives its claim and another worker may
    /// publish the same post).
    ///
    /// # Errors
    /// The first setting that does not.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let positive = |d: Duration| d > Duration::zero();
        if self.batch_size == 0 {
            return Err(ValidationError::new("batch_size", "must be at least 1"));
        }
        if !positive(self.lease) {
            return Err(ValidationError::new("lease", "must be positive"));
        }
        if !positive(self.publish_timeout) || self.publish_timeout >= self.lease {
            return Err(ValidationError::new(
                "publish_timeout",
                "must be positive and shorter than the lease",
            ));
        }
        if !positive(self.retry.base_delay) || self.retry.max_attempts == 0 {
            return Err(ValidationError::new(
                "retry",
                "needs a positive base delay and at least one attempt",
            ));
        }
        if !(0.0..1.0).contains(&self.retry.jitter) {
            return Err(ValidationError::new("retry.jitter", "must be in [0, 1)"));
        }
        Ok(())
    }
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            batch_size: 50,
            lease: Duration::seconds(120),
            publish_timeout: Duration::seconds(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A publication worker. Many may run at once, in one process or many, over one store.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    deps: Arc<Deps>,
    worker: String,
    config: DispatcherConfig,
    metrics: Arc<crate::publish::WorkerMetrics>,
}

/// How long a failed read of an account's reported cap is not tried again (by any worker of
/// the engine: a token without the permission would otherwise cost a call per lane).
const CAP_READ_BACKOFF: Duration = Duration::hours(1);

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    #[allow(clippy::cast_precision_loss)]
    let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

/// A post's publish request, or why there is none.
enum Prepared {
    Ready(Box<PublishRequest>),
    /// The account awaits reconnection: the post is held (after its lookup).
    AwaitingReconnect,
    /// The account is disconnected or awaits reconnection: the post fails.
    AccountUnusable(String),
    /// The sealed token does not open (key configuration): retried.
    TokenUnreadable(String),
}

/// Claims grouped by account (a lane each), in claim order within an account.
fn by_account(claimed: Vec<ClaimedPost>) -> BTreeMap<AccountId, Vec<ClaimedPost>> {
    let mut lanes: BTreeMap<AccountId, Vec<ClaimedPost>> = BTreeMap::new();
    for claim in claimed {
        lanes
            .entry(claim.post.account_id())
            .or_default()
            .push(claim);
    }
    lanes
}

/// Whether `claim` must be looked up on the platform before anything else: an earlier attempt
/// may have reached it unseen (a crash, a lost lease, a timeout). A post with a checkpoint is
/// reconciled by `publish` itself, from the checkpoint.
fn needs_lookup(claim: &ClaimedPost) -> bool {
    lookup_first(&claim.post, claim.rescued)
}

fn lookup_first(post: &Post, rescued: bool) -> bool {
    post.checkpoint().is_none() && (rescued || post.attempts() > 0)
}

/// One structured log line per committed outcome: failures a merchant or an operator must see
/// at `warn`, the routine at `debug`.
fn log_outcome(worker: &str, post: &Post, outcome: AttemptOutcome, error: Option<&str>) {
    let (post_id, platform, attempt) = (post.id(), post.platform(), post.attempts());
    match outcome {
        AttemptOutcome::Rejected | AttemptOutcome::GaveUp => {
            tracing::warn!(worker, %post_id, %platform, outcome = outcome.as_str(), error, "post failed");
        }
        AttemptOutcome::AuthExpired => {
            tracing::warn!(worker, %post_id, %platform, "post held until its account is reconnected");
        }
        AttemptOutcome::Retry | AttemptOutcome::TimedOut | AttemptOutcome::RateLimited => {
            tracing::info!(worker, %post_id, %platform, attempt, outcome = outcome.as_str(), error, "post will be retried");
        }
        AttemptOutcome::LeaseLost => {
            tracing::info!(worker, %post_id, "claim lost to another worker; outcome discarded");
        }
        AttemptOutcome::Processing => {
            tracing::debug!(worker, %post_id, %platform, "the platform is processing the post");
        }
        AttemptOutcome::Posted | AttemptOutcome::Reconciled => {
            tracing::debug!(worker, %post_id, %platform, outcome = outcome.as_str(), "post published");
        }
    }
}

/// Publisher calls one claim may make (steps continued at once); a publisher that keeps
/// continuing past this is retried later rather than looping.
const MAX_STEPS: usize = 8;

/// Posts of one account a worker that keeps claiming takes at once (published one after another
/// in one lane, their outcomes committed together). 50: a herd of one account's posts costs a
/// claim per 50 (10 gave a 10,000-post herd a p99 lateness of 7.8 s; 50 gives 2.7 s), while a
/// lane's posts still fit the lease at a second a call (the lease is renewed before a call when
/// it runs low).
pub(crate) const LANE_POSTS: u32 = 50;

/// Outcomes committed together, at most.
const COMMIT_BATCH: usize = 200;

/// The account of a lane's posts, read once per lane.
enum LaneAccount {
    Unread,
    Usable(Box<crate::account::SocialAccount>),
    /// Its authorisation expired: its posts wait for the merchant to reconnect it.
    AwaitingReconnect,
    /// Disconnected, or gone.
    Unusable,
}

/// The lane account's publishing cap and the times of its posts the platform counts in it,
/// read once per lane, when the first post is about to be sent.
enum LaneCap {
    Unread,
    Uncapped,
    Capped {
        cap: PublishingCap,
        /// The times of the account's posts whose publication has begun (posted, or a step
        /// done: they will be published without another check), oldest first, this lane's
        /// included; one still in progress counts as published now.
        published: Vec<DateTime<Utc>>,
    },
}

/// What a post waiting for its account's cap tells the merchant.
fn cap_hold_reason(full: &CapFull, until: DateTime<Utc>) -> String {
    format!(
        "{} publishes at most {} posts of an account in 24 hours, and this account's posts since \
         {} fill that; the post waits until {until}",
        full.platform.display_name(),
        full.cap,
        full.window_start
    )
}

/// How long a post held for its account's reconnection waits before it is looked at again (a
/// reconnection releases it at once).
const RECONNECT_RECHECK: Duration = Duration::hours(1);

/// What publishing one account's claimed posts did.
pub(crate) struct Lane {
    pub(crate) account: AccountId,
    pub(crate) report: TickReport,
    /// After a transient failure, a timeout or a rate limit: leave the account alone until then.
    pub(crate) hold_until: Option<DateTime<Utc>>,
}

/// A decided attempt, waiting to be committed.
struct Settled {
    post: Post,
    decision: Decision,
    attempt: u32,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    /// Whether the platform was tried (held posts were not: no ledger row).
    attempted: bool,
    /// The account's sealed access token the attempt used: an authorisation refused with it
    /// flags the account only if the account still has it (not reconnected meanwhile).
    sealed_token: Option<String>,
}

/// The decision a finished attempt leads to.
struct Decision {
    outcome: AttemptOutcome,
    remote_id: Option<String>,
    error: Option<String>,
}

impl Dispatcher {
    pub(crate) fn new(deps: Arc<Deps>, worker: String, config: DispatcherConfig) -> Self {
        let metrics = deps.metrics.register(&worker);
        Self {
            deps,
            worker,
            config,
            metrics,
        }
    }

    /// This worker's counters (also rendered by the engine's [`MetricsRegistry`](crate::publish::MetricsRegistry)).
    pub fn metrics(&self) -> &Arc<crate::publish::WorkerMetrics> {
        &self.metrics
    }

    /// This worker's name (it owns the leases it takes).
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Posts claimed per tick.
    pub fn batch_size(&self) -> u32 {
        self.config.batch_size
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.deps.now()
    }

    pub(crate) async fn wait_for_due_change(&self, max: std::time::Duration) {
        if !max.is_zero() {
            self.deps.store.wait_for_due_change(max).await;
        }
    }

    /// One tick: claims up to a batch of due posts and settles each. Posts of one account are
    /// published one at a time; different accounts in parallel.
    ///
    /// # Errors
    /// The store failed to claim; failures after the claim are settled per post (an uncommitted
    /// claim simply lapses and is rescued later).
    pub async fn run_once(&self) -> Result<TickReport> {
        let claimed = match self
            .deps
            .store
            .claim_due(
                self.deps.now(),
                self.config.batch_size,
                self.config.lease,
                &self.worker,
            )
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                self.metrics.tick_failed();
                return Err(e.into());
            }
        };
        let mut report = TickReport {
            claimed: u32::try_from(claimed.len()).unwrap_or(u32::MAX),
            ..TickReport::default()
        };
        let lanes = by_account(claimed)
            .into_iter()
            .map(|(account, claims)| async move { self.run_lane(account, claims).await });
        for lane in futures::future::join_all(lanes).await {
            report.merge(lane.report);
        }
        self.metrics.tick(&report);
        if report.claimed > 0 {
            tracing::info!(
                worker = %self.worker,
                claimed = report.claimed,
                posted = report.posted,
                reconciled = report.reconciled,
                retried = report.retried,
                snoozed = report.snoozed,
                failed = report.failed,
                lease_lost = report.lease_lost,
                errors = report.errors,
                "tick"
            );
        }
        Ok(report)
    }

    /// The earliest moment a post becomes claimable, for sleeping until then.
    ///
    /// # Errors
    /// The store failed.
    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.deps.store.next_due_at().await?)
    }

    /// For a worker that keeps claiming (see [`run_until`](Self::run_until)): claims the due
    /// posts of up to `lanes` accounts, none of `skip`'s, up to [`LANE_POSTS`] of each — one
    /// lane per account.
    pub(crate) async fn claim_lanes(
        &self,
        lanes: usize,
        skip: &[AccountId],
    ) -> Result<BTreeMap<AccountId, Vec<ClaimedPost>>> {
        let claimed = self
            .deps
            .store
            .claim_due_per_account(
                self.deps.now(),
                u32::try_from(lanes).unwrap_or(u32::MAX),
                LANE_POSTS,
                self.config.lease,
                &self.worker,
                skip,
            )
            .await;
        match claimed {
            Ok(claimed) => {
                self.metrics
                    .claimed(u32::try_from(claimed.len()).unwrap_or(u32::MAX));
                if !claimed.is_empty() {
                    tracing::debug!(worker = %self.worker, claimed = claimed.len(), "claimed");
                }
                Ok(by_account(claimed))
            }
            Err(e) => {
                self.metrics.tick_failed();
                Err(e.into())
            }
        }
    }

    /// Publishes one account's claimed posts one after another and commits their outcomes, for
    /// a worker that keeps claiming.
    pub(crate) async fn run_account(&self, account: AccountId, claims: Vec<ClaimedPost>) -> Lane {
        let lane = self.run_lane(account, claims).await;
        self.metrics.settled(&lane.report);
        lane
    }

    /// Publishes one account's claimed posts one after another, committing their outcomes in
    /// batches (one fenced statement each) — when enough are pending, when the oldest has waited
    /// a quarter of the lease, and at the end.
    async fn run_lane(&self, account_id: AccountId, claims: Vec<ClaimedPost>) -> Lane {
        let mut lane = TickReport::default();
        let mut account = LaneAccount::Unread;
        let mut cap = LaneCap::Unread;
        let mut pending: Vec<Settled> = Vec::new();
        let flush_after = self.config.lease / 4;
        // After a transient failure, a timeout or a rate limit, the account's other claimed
        // posts are held until that post's retry: a platform failing or hanging for one account
        // costs one call per tick, not one per post.
        let mut held_until: Option<DateTime<Utc>> = None;
        for claim in claims {
            let settled = match held_until {
                // A post that must be looked up first (it may be on the platform already) is
                // never held blind: a hold forgets that it was rescued.
                Some(until) if !needs_lookup(&claim) => self.hold(
                    claim,
                    until,
                    AttemptOutcome::RateLimited,
                    format!(
                        "held: the platform failed this account's previous post moments ago; trying again at {until}"
                    ),
                ),
                _ => self.decide(claim, &mut account, &mut cap).await,
            };
            match settled {
                Ok(settled) => {
                    // A post held without a call (its account's cap is full) says nothing of
                    // the platform's health: the lane's next post is checked on its own.
                    if held_until.is_none()
                        && settled.attempted
                        && matches!(
                            settled.decision.outcome,
                            AttemptOutcome::Retry
                                | AttemptOutcome::TimedOut
                                | AttemptOutcome::RateLimited
                        )
                    {
                        held_until = settled.post.next_attempt_at();
                    }
                    pending.push(settled);
                }
                // The claim lapses and another tick rescues it.
                Err(_) => lane.errors += 1,
            }
            let waited_long = pending
                .first()
                .is_some_and(|first| self.deps.now() - first.started_at >= flush_after);
            if pending.len() >= COMMIT_BATCH || waited_long {
                self.commit(std::mem::take(&mut pending), &mut lane).await;
            }
        }
        self.commit(pending, &mut lane).await;
        Lane {
            account: account_id,
            report: lane,
            hold_until: held_until,
        }
    }

    /// Decides one claimed post: reconcile, publish, or give up — nothing committed yet.
    async fn decide(
        &self,
        claim: ClaimedPost,
        account: &mut LaneAccount,
        cap: &mut LaneCap,
    ) -> Result<Settled> {
        self.read_account(&claim.post, account).await?;
        if matches!(account, LaneAccount::AwaitingReconnect) && !needs_lookup(&claim) {
            let until = self.deps.now() + RECONNECT_RECHECK;
            let reason = awaiting_reconnect(claim.post.platform());
            return self.hold(claim, until, AttemptOutcome::AuthExpired, reason);
        }
        // The cap is read before the lane's first post, so every post the lane publishes or
        // begins counts in it.
        if let LaneAccount::Usable(usable) = account
            && matches!(cap, LaneCap::Unread)
        {
            *cap = self.read_cap(usable).await?;
        }
        // A first send (no checkpoint, nothing to look up) waits while its account's cap is
        // full: the platform would refuse it, and a refusal can count against the account. (A
        // post to look up first is checked once the lookup has not found it.)
        if claim.post.checkpoint().is_none()
            && !needs_lookup(&claim)
            && let Some((until, reason)) = self.cap_wait(cap)
        {
            return self.hold(claim, until, AttemptOutcome::RateLimited, reason);
        }
        let sealed_token = match account {
            LaneAccount::Usable(a) => a.access_token_enc().map(str::to_owned),
            _ => None,
        };
        // A post sent from scratch takes a place in the cap once it is published or begun.
        let fresh = claim.post.checkpoint().is_none();
        let ClaimedPost { mut post, rescued } = claim;
        let started_at = self.deps.now();
        let attempt = post.attempts() + 1;
        let decision = match self.deps.publishers.get(&post.platform()).cloned() {
            Some(publisher) => {
                self.attempt(&mut post, rescued, publisher.as_ref(), account, cap)
                    .await?
            }
            // The server stopped offering the platform (its publisher was configured away).
            None => {
                let reason = format!("This server no longer publishes to {}.", post.platform());
                self.give_up(&mut post, AttemptOutcome::Rejected, reason)?
            }
        };
        if decision.outcome == AttemptOutcome::AuthExpired {
            // The rest of this account's posts in the lane are not sent with a dead token.
            *account = LaneAccount::AwaitingReconnect;
        }
        if fresh
            && matches!(
                decision.outcome,
                AttemptOutcome::Posted | AttemptOutcome::Reconciled | AttemptOutcome::Processing
            )
            && let LaneCap::Capped { published, .. } = cap
        {
            published.push(self.deps.now());
        }
        Ok(Settled {
            post,
            decision,
            attempt,
            started_at,
            finished_at: self.deps.now(),
            attempted: true,
            sealed_token,
        })
    }

    /// When the lane account's cap is full now: until when its next post waits (when the
    /// window has room; a cap of 0 is looked at again a window later), and why.
    fn cap_wait(&self, lane: &LaneCap) -> Option<(DateTime<Utc>, String)> {
        let LaneCap::Capped { cap, published } = lane else {
            return None;
        };
        let now = self.deps.now();
        let full = cap.check(published, now, now + cap.window).err()?;
        let until = full.next_free_at.unwrap_or(now + cap.window);
        Some((until, cap_hold_reason(&full, until)))
    }

    /// The account's cap — read from the platform first when the platform reports it and the
    /// last reading is a day old — and its posts published (or being published) within the
    /// cap's window.
    async fn read_cap(&self, account: &mut crate::account::SocialAccount) -> Result<LaneCap> {
        let now = self.deps.now();
        if matches!(account.platform().cap_source(), CapSource::Reported { .. })
            && account.publishing_cap_is_stale(now - cap_window())
        {
            self.refresh_reported_cap(account).await;
        }
        let Some((cap, slots)) = account_cap(&self.deps, account, now, now).await? else {
            return Ok(LaneCap::Uncapped);
        };
        let mut published: Vec<DateTime<Utc>> = slots
            .into_iter()
            .filter(|slot| slot.started)
            .map(|slot| slot.at.min(now))
            .collect();
        published.sort_unstable();
        Ok(LaneCap::Capped { cap, published })
    }

    /// Reads the cap the platform reports for `account` and stores it; a failure keeps the cap
    /// known before (logged): the platform's own refusal remains the last word.
    async fn refresh_reported_cap(&self, account: &mut crate::account::SocialAccount) {
        let (user, id) = (account.user_id(), account.id());
        let now = self.deps.now();
        let failures = || {
            self.deps
                .cap_read_failed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        // Backing off is decided before the token is opened: a publisher that never reports a
        // cap is asked again only after the back-off.
        if failures()
            .get(&id)
            .is_some_and(|at| now - *at < CAP_READ_BACKOFF)
        {
            return;
        }
        let Some(publisher) = self.deps.publishers.get(&account.platform()).cloned() else {
            return;
        };
        let Ok(access) = self.access(account) else {
            return;
        };
        match self.within(publisher.publishing_cap(&access)).await {
            Some(Ok(Some(posts))) => {
                failures().remove(&id);
                account.record_publishing_cap(posts, now);
                if let Err(e) = self
                    .deps
                    .store
                    .set_publishing_cap(user, id, posts, now)
                    .await
                {
                    tracing::warn!(worker = %self.worker, account = %id, error = %e, "publishing cap not stored");
                }
            }
            // The publisher reports none (a simulated or Python one): the known cap applies.
            Some(Ok(None)) => {
                failures().insert(id, now);
            }
            Some(Err(e)) => {
                failures().insert(id, now);
                tracing::info!(worker = %self.worker, account = %id, error = %e, "publishing cap not read; the one known applies");
            }
            None => {
                failures().insert(id, now);
                tracing::info!(worker = %self.worker, account = %id, "publishing cap not read in time; the one known applies");
            }
        }
    }

    /// Holds a claimed post without trying the platform or counting an attempt — its account's
    /// platform just failed or limited another of its posts, or the account awaits reconnection:
    /// due again at `until`, with `reason` for the merchant.
    fn hold(
        &self,
        claim: ClaimedPost,
        until: DateTime<Utc>,
        outcome: AttemptOutcome,
        reason: String,
    ) -> Result<Settled> {
        let mut post = claim.post;
        let now = self.deps.now();
        let decision = self.held(&mut post, until, outcome, reason)?;
        Ok(Settled {
            attempt: post.attempts(),
            post,
            decision,
            started_at: now,
            finished_at: now,
            attempted: false,
            sealed_token: None,
        })
    }

    /// Holds `post` until `until` with `reason` — for its account's reconnection when `outcome`
    /// is `AuthExpired` (so a reconnection releases it), otherwise for a rate limit or a full
    /// cap — and the decision saying so. No attempt is counted.
    fn held(
        &self,
        post: &mut Post,
        until: DateTime<Utc>,
        outcome: AttemptOutcome,
        reason: String,
    ) -> Result<Decision, InvalidTransition> {
        let now = self.deps.now();
        if outcome == AttemptOutcome::AuthExpired {
            post.hold_for_reconnect(until, reason.clone(), now)?;
        } else {
            post.hold(until, reason.clone(), now)?;
        }
        Ok(Decision {
            outcome,
            remote_id: None,
            error: Some(reason),
        })
    }

    /// Holds `post` until its account is reconnected (looked at again hourly).
    fn hold_for_reconnect(&self, post: &mut Post) -> Result<Decision, InvalidTransition> {
        let until = self.deps.now() + RECONNECT_RECHECK;
        let reason = awaiting_reconnect(post.platform());
        self.held(post, until, AttemptOutcome::AuthExpired, reason)
    }

    /// Commits decided outcomes in one fenced batch and writes their ledger rows. A claim lost
    /// meanwhile changes nothing (its outcome is recorded as `lease_lost`); a store failure
    /// leaves the claims to lapse and be rescued (through `lookup`), and the ledger still keeps
    /// the attempts, remote ids included.
    async fn commit(&self, settled: Vec<Settled>, lane: &mut TickReport) {
        if settled.is_empty() {
            return;
        }
        let to_commit: Vec<Post> = settled
            .iter()
            .filter(|s| s.decision.outcome != AttemptOutcome::LeaseLost)
            .map(|s| s.post.clone())
            .collect();
        let written = self.deps.store.commit_claims(&to_commit).await;
        let mut written_flags = match &written {
            Ok(flags) => flags.clone().into_iter(),
            Err(_) => Vec::new().into_iter(),
        };
        let mut attempts = Vec::with_capacity(settled.len());
        let mut reconnect = Vec::new();
        let mut items = Vec::new();
        for s in settled {
            let Settled {
                post,
                decision,
                attempt,
                started_at,
                finished_at,
                attempted,
                sealed_token: s_token,
            } = s;
            let mut error = decision.error;
            let outcome = if decision.outcome == AttemptOutcome::LeaseLost {
                AttemptOutcome::LeaseLost
            } else if written.is_err() {
                lane.errors += 1;
                error = Some(format!(
                    "{}outcome not committed (store unavailable); the post will be reconciled",
                    error.map(|e| format!("{e}; ")).unwrap_or_default()
                ));
                decision.outcome
            } else if written_flags.next().unwrap_or(false) {
                decision.outcome
            } else {
                AttemptOutcome::LeaseLost
            };
            if written.is_ok() {
                lane.count(outcome);
                log_outcome(&self.worker, &post, outcome, error.as_deref());
            }
            if matches!(outcome, AttemptOutcome::Posted | AttemptOutcome::Reconciled)
                && written.is_ok()
                && let Some(item) = post.queue_item_id()
            {
                items.push((post.user_id(), item));
            }
            if outcome == AttemptOutcome::AuthExpired && attempted && written.is_ok() {
                reconnect.push((post.user_id(), post.account_id(), s_token.clone()));
            }
            if !attempted {
                continue;
            }
            attempts.push(PublicationAttempt {
                id: self.deps.new_id(),
                post_id: post.id(),
                user_id: post.user_id(),
                attempt,
                worker: self.worker.clone(),
                lease_token: post.lease_token(),
                started_at,
                finished_at,
                outcome,
                remote_id: decision.remote_id,
                error,
            });
        }
        // The outcomes are committed (or will be reconciled) either way; a ledger that could not
        // be written is logged and counted, not retried.
        if let Err(e) = self.deps.store.record_attempts(&attempts).await {
            tracing::warn!(worker = %self.worker, attempts = attempts.len(), error = %e, "publication attempts not recorded");
            self.metrics.ledger_failed();
        }
        reconnect.dedup();
        for (user, account, used) in reconnect {
            // A token that merely lapsed (a missed refresh run) is refreshed, not reported.
            match crate::account::OAuthService::new(self.deps.clone())
                .refresh_refused(user, account)
                .await
            {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(worker = %self.worker, %account, error = %e, "refreshing a refused token failed");
                }
            }
            if let Err(e) =
                require_reconnect_if_unchanged(&self.deps, user, account, used.as_deref()).await
            {
                tracing::warn!(worker = %self.worker, %account, error = %e, "could not flag an account that needs reconnecting");
                lane.errors += 1;
            }
        }
        items.sort_unstable();
        items.dedup();
        for (user, item) in items {
            if let Err(e) = follow_posts(&self.deps, user, item).await {
                // The metrics refresh settles the item later (see `refresh_metrics`).
                tracing::warn!(worker = %self.worker, %item, error = %e, "could not settle a queue item after its post was published");
                lane.errors += 1;
            }
        }
    }

    /// Runs `call` under the publish timeout.
    async fn within<T>(&self, call: impl std::future::Future<Output = T>) -> Option<T> {
        let limit = self.config.publish_timeout.to_std().unwrap_or_default();
        tokio::time::timeout(limit, call).await.ok()
    }

    /// One attempt at the side effect, decided but not committed. `Err`: the store failed before
    /// the platform was called; the claim lapses and another tick rescues the post.
    async fn attempt(
        &self,
        post: &mut Post,
        rescued: bool,
        publisher: &dyn crate::publish::Publisher,
        account: &mut LaneAccount,
        cap: &LaneCap,
    ) -> Result<Decision> {
        let platform = post.platform();
        // An earlier attempt may have reached the platform without its outcome being committed
        // (a crash, a lost lease, a timeout): look before publishing again. A failed look is a
        // retry, never a verdict on the post.
        // A post with a checkpoint is reconciled by `publish` itself, from the checkpoint.
        if lookup_first(post, rescued) {
            match self.within(publisher.lookup(&post.idempotency_key())).await {
                Some(Ok(Some(published))) => {
                    return Ok(self.posted(post, published, AttemptOutcome::Reconciled)?);
                }
                Some(Ok(None)) => {}
                Some(Err(PublishError::RateLimited { after })) => {
                    return Ok(self.snooze(post, after)?);
                }
                Some(Err(e)) => {
                    let reason =
                        format!("could not check whether {platform} already has the post: {e}");
                    return Ok(self.retry(post, AttemptOutcome::Retry, reason, None)?);
                }
                None => {
                    let reason = format!("{platform} did not answer a lookup in time");
                    return Ok(self.retry(post, AttemptOutcome::TimedOut, reason, None)?);
                }
            }
            // Not on the platform: a first send after all, so it waits for a full cap too.
            if let Some((until, reason)) = self.cap_wait(cap) {
                return Ok(self.held(post, until, AttemptOutcome::RateLimited, reason)?);
            }
        }
        let request = match self.request(post, account).await? {
            Prepared::Ready(request) => request,
            Prepared::AwaitingReconnect => {
                return Ok(self.hold_for_reconnect(post)?);
            }
            Prepared::AccountUnusable(reason) => {
                return Ok(self.give_up(post, AttemptOutcome::Rejected, reason)?);
            }
            Prepared::TokenUnreadable(reason) => {
                return Ok(self.retry(post, AttemptOutcome::Retry, reason, None)?);
            }
        };
        // The last moment to find out the claim was lost is before the side effect. While the
        // lease has more than two publish timeouts left nobody else can hold it (claims need an
        // expired lease; worker clocks are assumed in sync within a timeout); otherwise confirm
        // it and stretch it over the call.
        let now = self.deps.now();
        let remaining = post
            .lease()
            .map_or(Duration::zero(), |l| l.expires_at - now);
        if remaining < self.config.publish_timeout * 2
            && let Some(lost) = self.renew_claim(post, None).await?
        {
            return Ok(lost);
        }
        self.publish_steps(post, publisher, *request).await
    }

    /// Calls the publisher until the post is published, parked while the platform processes a
    /// step, or failed. Each [`Progress::Continue`] checkpoint is stored under the claim (which
    /// it renews) before the next call, so the step after it — the one that makes the post
    /// public — is never repeated blindly.
    async fn publish_steps(
        &self,
        post: &mut Post,
        publisher: &dyn crate::publish::Publisher,
        mut request: PublishRequest,
    ) -> Result<Decision> {
        let platform = post.platform();
        // The post is ours (publishing, under our lease), so every transition below is legal; a
        // refused one is a bug, reported as an error that leaves the claim to lapse and be
        // reconciled.
        for _ in 0..MAX_STEPS {
            let checkpoint = match self.within(publisher.publish(&request)).await {
                Some(Ok(Progress::Published(published))) => {
                    return Ok(self.posted(post, published, AttemptOutcome::Posted)?);
                }
                Some(Ok(Progress::Continue(checkpoint))) => checkpoint,
                Some(Ok(Progress::Wait { checkpoint, after })) => {
                    return Ok(self.park(post, checkpoint, after)?);
                }
                Some(Err(e)) => return Ok(self.failed(post, e)?),
                None => {
                    let reason = format!(
                        "{platform} did not answer within {:?}",
                        self.config.publish_timeout.to_std().unwrap_or_default()
                    );
                    return Ok(self.retry(post, AttemptOutcome::TimedOut, reason, None)?);
                }
            };
            if let Some(lost) = self.renew_claim(post, Some(checkpoint.clone())).await? {
                return Ok(lost);
            }
            post.save_checkpoint(checkpoint.clone(), self.deps.now())?;
            request.checkpoint = Some(checkpoint);
            request.resumed = false;
        }
        let reason = format!("the {platform} publisher made no progress in {MAX_STEPS} steps");
        Ok(self.retry(post, AttemptOutcome::Retry, reason, None)?)
    }

    /// Extends the claim over the next publish call, storing `checkpoint` with it. `Some`: the
    /// claim was lost (nothing more may be sent).
    async fn renew_claim(
        &self,
        post: &mut Post,
        checkpoint: Option<Checkpoint>,
    ) -> Result<Option<Decision>> {
        let until = self.deps.now() + self.config.lease;
        match self
            .deps
            .store
            .extend_lease(post.id(), post.lease_token(), until, checkpoint)
            .await
        {
            Ok(()) => {
                post.extend_lease(until);
                Ok(None)
            }
            Err(StoreError::Stale | StoreError::NotFound) => Ok(Some(Decision {
                outcome: AttemptOutcome::LeaseLost,
                remote_id: None,
                error: Some(
                    "the claim was lost before the next publishing step; nothing more was sent"
                        .into(),
                ),
            })),
            Err(e) => Err(e.into()),
        }
    }

    /// The request for `post`, with its account's token opened.
    ///
    /// # Errors
    /// The store failed (transient: the post is left to be rescued).
    async fn request(&self, post: &Post, cached: &mut LaneAccount) -> Result<Prepared> {
        self.read_account(post, cached).await?;
        if matches!(cached, LaneAccount::AwaitingReconnect) {
            return Ok(Prepared::AwaitingReconnect);
        }
        let LaneAccount::Usable(account) = cached else {
            return Ok(Prepared::AccountUnusable(format!(
                "The {} account is not connected any more. Reconnect it, then reschedule this post.",
                post.platform()
            )));
        };
        let account = account.as_ref();
        let access_token = match self.open_token(account) {
            Ok(token) => token,
            // A configuration problem (a retired key missing), not the merchant's: retry, and
            // say what an operator must fix.
            Err(reason) => return Ok(Prepared::TokenUnreadable(reason)),
        };
        Ok(Prepared::Ready(Box::new(PublishRequest {
            post_id: post.id(),
            user_id: post.user_id(),
            account_id: post.account_id(),
            account_external_id: account.account_id_external.to_string(),
            platform: post.platform(),
            idempotency_key: post.idempotency_key(),
            caption: post.content().to_string(),
            hashtags: post.hashtags().to_strings(),
            media_urls: post.media_urls().iter().map(ToString::to_string).collect(),
            access_token,
            checkpoint: post.checkpoint().cloned(),
            resumed: post.checkpoint().is_some(),
        })))
    }

    /// Reads the lane's account once.
    ///
    /// # Errors
    /// The store failed (transient: the post is left to be rescued).
    async fn read_account(&self, post: &Post, cached: &mut LaneAccount) -> Result<()> {
        if matches!(cached, LaneAccount::Unread) {
            *cached = match self
                .deps
                .store
                .account(post.user_id(), post.account_id())
                .await?
            {
                Some(a) if a.is_connected() && a.needs_reconnect() => {
                    LaneAccount::AwaitingReconnect
                }
                Some(a) if a.ensure_publishable().is_ok() => LaneAccount::Usable(Box::new(a)),
                _ => LaneAccount::Unusable,
            };
        }
        Ok(())
    }

    /// The account's access token, opened from its sealed form. `Err`: it does not open (a
    /// retired key missing from the configuration), in words an operator can act on.
    fn open_token(
        &self,
        account: &crate::account::SocialAccount,
    ) -> std::result::Result<Option<crate::crypto::SecretString>, String> {
        crate::account::open_sealed(&self.deps, account, account.access_token_enc()).map_err(|e| {
            format!(
                "the account's stored token could not be opened ({e}); check the token key \
                 configuration"
            )
        })
    }

    /// What a call about `account` itself needs: its platform id and its opened token.
    /// `Err`: the token does not open (see [`open_token`](Self::open_token)).
    fn access(
        &self,
        account: &crate::account::SocialAccount,
    ) -> std::result::Result<AccountAccess, String> {
        Ok(AccountAccess {
            account_external_id: account.account_id_external().to_string(),
            access_token: self.open_token(account)?,
        })
    }

    /// What reading `post`'s counters needs, or `None` when its account can no longer be used
    /// (disconnected, awaiting reconnection, its token unreadable). `accounts` caches each
    /// account of the batch.
    async fn metrics_request(
        &self,
        post: &Post,
        accounts: &mut BTreeMap<AccountId, Option<AccountAccess>>,
    ) -> Result<Option<MetricsRequest>> {
        let Some(remote_id) = post.external_id() else {
            return Ok(None);
        };
        if let std::collections::btree_map::Entry::Vacant(slot) = accounts.entry(post.account_id())
        {
            let account = self
                .deps
                .store
                .account(post.user_id(), post.account_id())
                .await?
                .filter(|a| a.ensure_publishable().is_ok());
            let usable = match account {
                Some(account) => match self.access(&account) {
                    Ok(access) => Some(access),
                    Err(reason) => {
                        tracing::warn!(worker = %self.worker, account = %post.account_id(), reason, "metrics not refreshed");
                        None
                    }
                },
                None => None,
            };
            slot.insert(usable);
        }
        Ok(accounts
            .get(&post.account_id())
            .and_then(Option::as_ref)
            .map(|account| MetricsRequest {
                remote_id: remote_id.to_owned(),
                account_external_id: account.account_external_id.clone(),
                access_token: account.access_token.clone(),
            }))
    }

    fn posted(
        &self,
        post: &mut Post,
        published: Published,
        outcome: AttemptOutcome,
    ) -> Result<Decision, InvalidTransition> {
        let remote_id = Some(published.remote_id.clone());
        let now = self.deps.now();
        if let Some(due) = post.next_attempt_at().or(post.scheduled_for()) {
            #[allow(clippy::cast_precision_loss)]
            self.metrics
                .lag((now - due).num_microseconds().unwrap_or(0) as f64 / 1e6);
        }
        post.mark_posted(published, now)?;
        Ok(Decision {
            outcome,
            remote_id,
            error: None,
        })
    }

    fn failed(&self, post: &mut Post, error: PublishError) -> Result<Decision, InvalidTransition> {
        let platform = post.platform();
        match error {
            PublishError::Retryable { reason, after } => self.retry(
                post,
                AttemptOutcome::Retry,
                format!("{platform} failed temporarily: {reason}"),
                after,
            ),
            PublishError::RateLimited { after } => self.snooze(post, after),
            PublishError::AuthExpired => self.hold_for_reconnect(post),
            PublishError::Rejected { reason } => self.give_up(
                post,
                AttemptOutcome::Rejected,
                format!("{platform} refused the post: {reason}"),
            ),
        }
    }

    fn park(
        &self,
        post: &mut Post,
        checkpoint: Checkpoint,
        after: Duration,
    ) -> Result<Decision, InvalidTransition> {
        let now = self.deps.now();
        post.park(checkpoint, now + after.max(Duration::zero()), now)?;
        Ok(Decision {
            outcome: AttemptOutcome::Processing,
            remote_id: None,
            error: None,
        })
    }

    fn snooze(&self, post: &mut Post, after: Duration) -> Result<Decision, InvalidTransition> {
        let now = self.deps.now();
        let until = now + after.max(Duration::zero());
        post.snooze(until, now)?;
        Ok(Decision {
            outcome: AttemptOutcome::RateLimited,
            remote_id: None,
            error: Some(format!(
                "{} rate limit; retrying at {until}",
                post.platform()
            )),
        })
    }

    fn retry(
        &self,
        post: &mut Post,
        outcome: AttemptOutcome,
        reason: String,
        after: Option<Duration>,
    ) -> Result<Decision, InvalidTransition> {
        let failed = post.attempts() + 1;
        if failed >= self.config.retry.max_attempts {
            return self.give_up(
                post,
                AttemptOutcome::GaveUp,
                format!("Publishing failed {failed} times; last error: {reason}"),
            );
        }
        let now = self.deps.now();
        let delay = self
            .config
            .retry
            .delay_after(failed, random_unit())
            .max(after.unwrap_or_else(Duration::zero));
        post.retry_at(now + delay, reason.clone(), now)?;
        Ok(Decision {
            outcome,
            remote_id: None,
            error: Some(reason),
        })
    }

    fn give_up(
        &self,
        post: &mut Post,
        outcome: AttemptOutcome,
        reason: String,
    ) -> Result<Decision, InvalidTransition> {
        post.fail_attempt(reason.clone(), self.deps.now())?;
        Ok(Decision {
            outcome,
            remote_id: None,
            error: Some(reason),
        })
    }

    /// Refreshes the OAuth tokens of the accounts expiring within `horizon` (each platform's
    /// own horizon where it has one), in batches of 100 while batches come back full and make
    /// progress (at most 50 batches a run; see
    /// [`OAuthService::refresh_expiring`](crate::account::OAuthService::refresh_expiring)).
    ///
    /// # Errors
    /// The store failed to list the accounts.
    pub async fn refresh_tokens(
        &self,
        horizon: Duration,
    ) -> Result<crate::account::TokenRefreshReport> {
        const BATCH: u32 = 100;
        let oauth = crate::account::OAuthService::new(self.deps.clone());
        let mut total = crate::account::TokenRefreshReport::default();
        for _ in 0..50 {
            let batch = oauth.refresh_expiring(horizon, BATCH).await?;
            total.merge(batch);
            let seen = batch.refreshed + batch.superseded + batch.needs_reconnect + batch.failed;
            if seen < BATCH || batch.refreshed + batch.needs_reconnect == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// Forgets the idempotency keys past their 24 hours; how many.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge_idempotency_keys(&self) -> Result<u64> {
        crate::idempotency::IdempotencyService::new(self.deps.clone())
            .purge_expired()
            .await
    }

    /// Refreshes the metrics of up to `limit` posted posts whose metrics are older than
    /// `max_age` (or missing). Returns how many were refreshed.
    ///
    /// # Errors
    /// The store failed; a platform failure skips that post.
    pub async fn refresh_metrics(&self, max_age: Duration, limit: u32) -> Result<u32> {
        let now = self.deps.now();
        let posts = self
            .deps
            .store
            .posts_needing_metrics(now - max_age, limit)
            .await?;
        let mut refreshed = 0;
        // An item whose last post was published just before a crash is settled here, as every
        // published post has its metrics refreshed: each item of the batch once.
        let mut items: Vec<_> = posts
            .iter()
            .filter_map(|p| p.queue_item_id().map(|item| (p.user_id(), item)))
            .collect();
        items.sort_unstable();
        items.dedup();
        for (user, item) in items {
            follow_posts(&self.deps, user, item).await?;
        }
        let mut accounts = BTreeMap::new();
        for post in posts {
            let Some(publisher) = self.deps.publishers.get(&post.platform()) else {
                continue;
            };
            let Some(request) = self.metrics_request(&post, &mut accounts).await? else {
                continue;
            };
            if let Ok(counts) = publisher.fetch_metrics(&request).await {
                let metrics = PostMetrics::new(post.id(), post.user_id(), counts, self.deps.now());
                match self.deps.store.upsert_metrics(&metrics).await {
                    Ok(()) => refreshed += 1,
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(refreshed)
    }
}
