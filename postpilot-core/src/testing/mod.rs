//! The store conformance suite: every storage contract, as a public async function over any
//! [`Store`]. The in-memory store runs it in this crate's tests; the Postgres store runs the same
//! functions on a fresh database each. Generate one test per contract with
//! [`store_conformance_tests!`](crate::store_conformance_tests).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::account::{AccountName, ExternalAccountId, SealedTokens, SocialAccount};
use crate::analytics::{DayMetrics, MetricCounts, PostMetrics};
use crate::api_key::{ApiKey, ApiKeyName, Scope};
use crate::billing::{Subscription, SubscriptionStatus};
use crate::caption::{ProductData, ProductDataWire};
use crate::id::{AccountId, AttemptId, PostId, QueueItemId, TemplateId, UserId};
use crate::page::PageRequest;
use crate::plan::{Limit, MonthWindow, PlanTier, PostQuota};
use crate::platform::Platform;
use crate::post::{Caption, Checkpoint, Hashtags, MediaUrl, NewPost, Post, PostStatus, Published};
use crate::publish::{AttemptOutcome, PublicationAttempt};
use crate::queue::{QueueItem, QueueStatus};
use crate::schedule::{PostingSchedule, PostingScheduleRecord, WeeklySlots};
use crate::store::{
    Conflict, PlatformLink, PostListFilter, PostSlot, Store, StoreError, UserChange,
};
use crate::user::{Email, RefreshToken, RefreshUse, Successor, User};

/// The instant every contract starts at: 2026-03-15 12:00:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn id<T: From<Uuid>>() -> T {
    T::from(Uuid::new_v4())
}

/// A user with a unique e-mail.
pub fn user() -> User {
    let id: UserId = id();
    user_with(id, &format!("u{}@example.com", id.as_uuid().simple()))
}

/// A user with a chosen id and e-mail.
pub fn user_with(id: UserId, email: &str) -> User {
    User {
        id,
        email: Email::parse(email).unwrap_or_else(|e| panic!("{e}")),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        stripe_customer_id: None,
        external_platform_id: None,
        external_store_id: None,
        time_zone: chrono_tz::Tz::UTC,
        pause_on: crate::post::PauseOn::Both,
        session_epoch: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// A connected Facebook account of `owner` with external id `external`.
pub fn account(owner: UserId, external: &str) -> SocialAccount {
    account_with_id(owner, external, id())
}

/// [`account`] with a chosen id.
pub fn account_with_id(owner: UserId, external: &str, id: AccountId) -> SocialAccount {
    account_on(Platform::Facebook, owner, external, id)
}

/// [`account_with_id`] on `platform`.
pub fn account_on(
    platform: Platform,
    owner: UserId,
    external: &str,
    id: AccountId,
) -> SocialAccount {
    SocialAccount {
        id,
        user_id: owner,
        platform,
        account_name: AccountName::parse(format!("@{external}")).unwrap_or_else(|e| panic!("{e}")),
        account_id_external: ExternalAccountId::parse(external).unwrap_or_else(|e| panic!("{e}")),
        access_token_enc: Some(format!("v1.k.sealed-{external}")),
        refresh_token_enc: None,
        token_expires_at: None,
        is_connected: true,
        needs_reconnect: false,
        publishing_cap: None,
        publishing_cap_read_at: None,
        connected_at: Some(t0()),
        created_at: t0(),
    }
}

/// A Facebook post of `owner` on `account`, created at `created_at`, scheduled when `at` is given.
pub fn post(
    owner: UserId,
    account: AccountId,
    created_at: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Post {
    post_with_id(id(), owner, account, created_at, at)
}

/// [`post`] with a chosen id (differential tests give two stores the same posts).
pub fn post_with_id(
    id: PostId,
    owner: UserId,
    account: AccountId,
    created_at: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Post {
    post_on(Platform::Facebook, id, owner, account, created_at, at)
}

/// [`post_with_id`] for an account on `platform`.
pub fn post_on(
    platform: Platform,
    id: PostId,
    owner: UserId,
    account: AccountId,
    created_at: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Post {
    let mut post = Post::create(
        NewPost {
            id,
            user_id: owner,
            account_id: account,
            queue_item_id: None,
            platform,
            content: Caption::parse("Hello from the conformance suite")
                .unwrap_or_else(|e| panic!("{e}")),
            media_urls: vec![
                MediaUrl::parse("https://cdn.example.com/a.jpg").unwrap_or_else(|e| panic!("{e}")),
            ],
            hashtags: Hashtags::parse(["sale"]).unwrap_or_else(|e| panic!("{e}")),
            product: None,
        },
        None,
        created_at,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if let Some(at) = at {
        // Scheduled posts may be due in the past relative to t0: bypass the "future" rule by
        // scheduling from an earlier "now".
        post.schedule(at, at - Duration::seconds(1))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    post
}

/// A pending queue item of `owner`.
pub fn queue_item(owner: UserId) -> QueueItem {
    QueueItem {
        id: id(),
        user_id: owner,
        product_data: product(),
        ai_generated_content: Some(
            Caption::parse("Meet the lamp").unwrap_or_else(|e| panic!("{e}")),
        ),
        // The template's, after a model failed: every field of the record round-trips.
        caption_generator: Some(crate::caption::Generator {
            name: "template".into(),
            usage: crate::caption::TokenUsage {
                input: 1_234,
                output: 56,
            },
            fell_back: Some("the model's caption broke the rules twice".into()),
        }),
        hashtags: Hashtags::parse(["lamp"]).unwrap_or_else(|e| panic!("{e}")),
        // A platform's own caption, so that it round-trips too.
        platform_captions: [(
            Platform::Instagram,
            crate::caption::PlatformCaption {
                caption: Caption::parse("Meet the lamp. Link in bio.")
                    .unwrap_or_else(|e| panic!("{e}")),
                hashtags: Hashtags::parse(["lamp", "desksetup"]).unwrap_or_else(|e| panic!("{e}")),
            },
        )]
        .into_iter()
        .collect(),
        platforms: vec![Platform::Facebook, Platform::Instagram],
        tone: None,
        generation: 0,
        status: QueueStatus::Pending,
        rejection_reason: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// Valid product data.
pub fn product() -> ProductData {
    ProductData::parse(ProductDataWire {
        title: "Aurora Desk Lamp".into(),
        tags: vec!["lighting".into()],
        ..ProductDataWire::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn quota(max: u32) -> PostQuota {
    PostQuota {
        window: MonthWindow::containing(t0()),
        limit: Limit::AtMost(max),
    }
}

/// A new user with one connected account (no account limit), stored.
pub async fn seeded(store: &Arc<dyn Store>) -> (User, SocialAccount) {
    let u = user();
    store
        .insert_user(&u)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let a = store
        .connect_account(
            &account(u.id, &format!("ext-{}", u.id.as_uuid().simple())),
            Limit::Unlimited,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (u, a)
}

macro_rules! ok {
    ($e:expr) => {
        $e.await
            .unwrap_or_else(|e| panic!("{}: {e:?}", stringify!($e)))
    };
}

/// Runs one guarded insert per `n` at once, each made by `insert(n)`; how many succeeded (the
/// others must be refused with [`StoreError::LimitReached`]).
pub(crate) async fn racing_inserts<F, Fut>(ns: std::ops::Range<u32>, insert: F) -> usize
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let tasks: Vec<_> = ns.map(|n| tokio::spawn(insert(n))).collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(()) => created += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    created
}

mod accounts;
mod api_keys;
mod billing;
mod counts;
mod endpoints;
mod events;
mod idempotency;
mod imports;
mod ledger;
mod pages;
mod posts;
mod queue;
mod scheduler;
mod slots;
mod tokens;
mod users;
mod webhooks;

pub use accounts::*;
pub use api_keys::*;
pub use billing::*;
pub use counts::*;
pub use endpoints::*;
pub use events::*;
pub use idempotency::*;
pub use imports::*;
pub use ledger::*;
pub use pages::*;
pub use posts::*;
pub use queue::*;
pub use scheduler::*;
pub use slots::*;
pub use tokens::*;
pub use users::*;
pub use webhooks::*;

/// An engine over `store` on a manual clock at [`t0`], with a simulated Facebook publisher the
/// scenario controls, and a merchant with a connected Facebook account.
async fn scheduler_fixture(
    store: Arc<dyn Store>,
) -> (
    crate::Engine,
    Arc<crate::clock::ManualClock>,
    Arc<crate::publish::SimulatedPublisher>,
    User,
    SocialAccount,
) {
    let clock = Arc::new(crate::clock::ManualClock::new(t0()));
    let publisher = Arc::new(crate::publish::SimulatedPublisher::new(Platform::Facebook));
    let engine = crate::Engine::builder()
        .simulated()
        .store(store.clone())
        .clock(clock.clone())
        .publisher(Platform::Facebook, publisher.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let (u, acc) = seeded(&store).await;
    // The fixture's sealed token is a stand-in no cipher opens: publish without one.
    ok!(store.set_account_tokens(u.id, acc.id, SealedTokens::default(), None));
    (engine, clock, publisher, u, acc)
}

fn clock_now(clock: &crate::clock::ManualClock) -> DateTime<Utc> {
    crate::clock::Clock::now(clock)
}

/// Generates one `#[tokio::test]` per storage contract, each on a store made by `$make` (an
/// async function returning `Arc<dyn Store>`; make a fresh store — or database — per call).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:path) => {
        $crate::store_conformance_tests!(@each $make;
            users_are_unique_by_email_and_found_every_way,
            user_changes_are_narrow_and_links_are_not_stolen,
            connect_respects_the_limit_and_reconnect_reactivates,
            accounts_are_isolated_by_owner,
            token_replacement_is_compare_and_set_on_the_access_token,
            accounts_expiring_before_a_horizon_are_listed_soonest_first,
            token_refresh_leases_are_exclusive_until_they_end,
            concurrent_connects_never_exceed_the_limit,
            disconnect_beyond_keeps_the_oldest,
            needs_reconnect_is_recorded_and_posts_are_listed_by_account_and_item,
            needs_reconnect_holds_posts_until_the_account_is_reconnected,
            account_slots_place_posts_by_publication_or_due_time,
            post_quota_counts_the_current_month_only,
            concurrent_creates_at_the_quota_edge_give_exactly_one,
            post_lists_filter_paginate_and_isolate,
            totals_equal_a_recount_after_every_kind_of_write,
            concurrent_writes_leave_totals_equal_to_a_recount,
            every_list_walks_by_cursor_as_by_page_and_holds_still_under_inserts,
            post_writes_are_compare_and_set,
            a_posts_product_snapshot_round_trips_and_survives_writes,
            a_pause_racing_a_claim_never_leaves_a_claimed_post_paused,
            a_pause_keeps_an_edit_made_since_it_read_the_post,
            scheduled_posts_are_found_by_their_products_id,
            post_writes_after_an_intervening_claim_are_stale,
            claim_takes_due_posts_oldest_first,
            per_account_claims_take_each_idle_accounts_oldest_post,
            expired_leases_are_rescued_and_stale_commits_fenced,
            concurrent_claimers_claim_each_post_once,
            batched_commits_are_fenced_one_by_one,
            waiting_workers_are_woken_by_a_newly_scheduled_post,
            every_claim_outcome_is_committed_as_the_state_machine_says,
            a_lapsed_claim_is_reconciled_without_publishing_twice,
            a_multi_step_publication_resumes_from_its_checkpoint,
            checkpoints_are_stored_only_under_the_claim,
            approval_is_all_or_nothing,
            queue_items_round_trip_with_what_wrote_their_caption,
            generations_are_counted_per_owner_and_month_up_to_the_cap,
            templates_round_trip_isolate_change_and_go,
            queue_item_is_posted_when_all_its_posts_are,
            concurrent_commits_of_an_items_posts_mark_it_posted,
            queue_items_are_isolated_and_compare_and_set,
            metrics_upsert_and_overview,
            metrics_by_local_day_and_top_posts,
            schedules_are_per_account_replaced_whole_and_owned,
            a_slot_holds_one_post_of_an_account,
            concurrent_next_slot_requests_get_distinct_slots,
            idempotency_keys_run_once_replay_and_expire,
            concurrent_requests_under_one_key_run_once,
            imported_posts_are_written_together_once_and_within_the_quota,
            import_reports_round_trip_for_their_owner,
            a_running_import_is_replaced_by_its_progress_and_its_report,
            imported_queue_items_are_written_together_once,
            an_import_of_thousands_of_rows_writes_every_one,
            subscriptions_upsert_per_user,
            api_keys_lookup_revoke_and_isolate,
            api_keys_are_capped_per_owner_even_concurrently,
            endpoints_round_trip_and_are_isolated_by_owner,
            endpoints_are_capped_per_owner_even_concurrently,
            post_writes_write_their_events_with_a_delivery_per_receiving_endpoint,
            deliveries_are_claimed_once_fenced_and_claimed_again_after_their_lease,
            concurrent_delivery_claims_take_each_delivery_once,
            the_delivery_log_lists_dead_letters_and_resends_them,
            account_queue_and_plan_writes_write_their_events,
            the_operators_endpoint_receives_every_merchants_events_in_its_own_log,
            old_settled_events_are_purged_with_their_deliveries_and_pending_ones_kept,
            refresh_tokens_rotate_with_reuse_detection,
            concurrent_refreshes_succeed_once,
            webhook_events_are_claimed_once_and_finished,
            concurrent_deliveries_of_an_event_claim_it_once,
            subscription_writes_ranked_below_the_last_event_are_refused,
            ending_sessions_moves_the_epoch_on,
            logout_revokes_the_family_of_the_owners_token_only,
            attempts_are_kept_per_post_and_owner,
            unknown_ids_read_as_absent,
        );
    };
    (@each $make:path; $($contract:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $contract() {
                $crate::testing::$contract($make().await).await;
            }
        )+
    };
}
