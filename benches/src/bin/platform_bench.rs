//! Run with: `cargo run --release -p benches --bin platform-bench` (no database: the store is in
//! memory; what is measured is the worker against a platform that takes its time).
//!
//! The real Instagram client against the local fake Graph API answering every call in 150 ms,
//! containers processed 2 s after they are made: N posts due at one instant over M accounts,
//! one worker (`Dispatcher::run_until`, as the server runs it) publishing them. Reported beside
//! the Little's-law limit of the same run (posts in flight ÷ the platform time one post needs),
//! with peak RSS; then a tenth of the size without and with one account whose platform hangs,
//! to see whether the others' lateness changes. Arguments: posts, accounts, posts in flight
//! (default 10,000 1,000 500).

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use postpilot_clients::http::Timeouts;
use postpilot_clients::instagram::{InstagramConfig, InstagramPublisher};
use postpilot_clients::testing::FakeInstagram;
use postpilot_core::Engine;
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::crypto::{Argon2Hasher, SecretString};
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::{CreatePost, PostFilter, PostStatus};
use postpilot_core::publish::{DispatcherConfig, WorkerConfig};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TOKEN: &str = "IGQVJ-bench";
const LATENCY: StdDuration = StdDuration::from_millis(150);
const PROCESSING: StdDuration = StdDuration::from_secs(2);
const ACCOUNTS_PER_USER: usize = 10;

struct Run {
    posts: usize,
    elapsed: f64,
    lateness: Vec<f64>,
    hung_lateness: Vec<f64>,
    calls: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// `posts` posts due at one instant over `accounts` accounts; `hang` makes the first account's
/// platform hang.
async fn run(posts: usize, accounts: usize, batch: u32, hang: bool) -> Result<Run, BoxError> {
    let fake = FakeInstagram::start(TOKEN, 1).await;
    fake.set_latency(LATENCY);
    fake.finish_after(PROCESSING);
    let publisher = InstagramPublisher::new(InstagramConfig {
        graph_url: fake.base_url.clone(),
        poll_interval: Duration::seconds(2),
        timeouts: Timeouts {
            connect: StdDuration::from_secs(2),
            total: StdDuration::from_secs(10),
        },
        ..InstagramConfig::default()
    })?;
    let engine = Engine::builder()
        .simulated()
        .hasher(Arc::new(Argon2Hasher::with_params(64, 1, 1)?))
        .publisher(Platform::Instagram, Arc::new(publisher))
        .build()?;
    let users = accounts.div_ceil(ACCOUNTS_PER_USER);
    let due: DateTime<Utc> = Utc::now() + Duration::seconds(10);
    let mut owners = Vec::new();
    let mut hung_account = None;
    for u in 0..users {
        let user = engine
            .auth()
            .register(&format!("shop{u}@example.com"), "correct horse battery")
            .await?;
        engine
            .billing()
            .checkout(user.id(), PlanTier::Enterprise)
            .await?;
        let mut mine = Vec::new();
        for a in 0..ACCOUNTS_PER_USER.min(accounts - u * ACCOUNTS_PER_USER) {
            let external = format!("1784140{:010}", u * ACCOUNTS_PER_USER + a);
            let account = engine
                .accounts()
                .connect(
                    user.id(),
                    ConnectAccount {
                        platform: Platform::Instagram,
                        account_name: AccountName::parse(format!("@shop{u}.{a}"))?,
                        account_id_external: ExternalAccountId::parse(&external)?,
                        access_token: Some(SecretString::new(TOKEN)),
                        refresh_token: None,
                    },
                )
                .await?;
            if hang && hung_account.is_none() {
                fake.hang(&external);
                hung_account = Some(account.id());
            }
            mine.push(account.id());
        }
        owners.push((user.id(), mine));
    }
    let per_account = posts / accounts;
    for (user, mine) in &owners {
        for account in mine {
            for n in 0..per_account {
                engine
                    .posts()
                    .create(
                        *user,
                        CreatePost {
                            account_id: *account,
                            content: format!("Post {n} of {account}"),
                            media_urls: vec!["https://cdn.example.com/lamp.jpg".into()],
                            hashtags: vec![],
                            scheduled_for: Some(due),
                            duplicates: postpilot_core::post::Duplicates::Refuse,
                        },
                    )
                    .await?;
            }
        }
    }
    let worker = engine.dispatcher(
        "bench",
        DispatcherConfig {
            batch_size: batch,
            ..DispatcherConfig::default()
        },
    )?;
    tokio::time::sleep((due - Utc::now()).to_std().unwrap_or_default()).await;
    let started = Instant::now();
    let expected = posts - if hang { per_account } else { 0 };
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let running = {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .run_until(WorkerConfig::default(), async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let deadline = Instant::now() + StdDuration::from_secs(600);
    while (worker.metrics().posted() as usize) < expected && Instant::now() < deadline {
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The hung account's post in flight is settled (its call times out) before the worker stops.
    stop.send(true)?;
    running.await?;
    let mut lateness = Vec::with_capacity(posts);
    let mut hung_lateness = Vec::new();
    for (user, _) in &owners {
        let mut page = 1;
        loop {
            let list = engine
                .posts()
                .list(
                    *user,
                    PostFilter::default(),
                    postpilot_core::page::PageRequest::new(Some(page), Some(100))?,
                )
                .await?;
            for post in &list.items {
                if let (PostStatus::Posted, Some(at)) = (post.status(), post.posted_at()) {
                    #[allow(clippy::cast_precision_loss)]
                    let late = (at - due).num_milliseconds() as f64 / 1000.0;
                    if Some(post.account_id()) == hung_account {
                        hung_lateness.push(late);
                    } else {
                        lateness.push(late);
                    }
                }
            }
            if list.items.len() < 100 {
                break;
            }
            page += 1;
        }
    }
    lateness.sort_by(f64::total_cmp);
    Ok(Run {
        posts: lateness.len(),
        elapsed,
        lateness,
        hung_lateness,
        calls: fake.seen().len(),
    })
}

fn report(label: &str, batch: u32, r: &Run) {
    #[allow(clippy::cast_precision_loss)]
    let calls_per_post = r.calls as f64 / r.posts.max(1) as f64;
    let busy = calls_per_post * LATENCY.as_secs_f64();
    let limit = f64::from(batch) / busy;
    #[allow(clippy::cast_precision_loss)]
    let rate = r.posts as f64 / r.elapsed;
    println!(
        "{label}: {} posts in {:.1} s = {rate:.0} posts/s; Little's-law limit {limit:.0} posts/s \
         ({batch} in flight / {calls_per_post:.1} calls x {} ms) -> {:.0} % of it; lateness p50 \
         {:.1} s, p99 {:.1} s, max {:.1} s; hung account's posts published: {}; peak RSS {:.0} MiB",
        r.posts,
        r.elapsed,
        LATENCY.as_millis(),
        100.0 * rate / limit,
        percentile(&r.lateness, 0.5),
        percentile(&r.lateness, 0.99),
        percentile(&r.lateness, 1.0),
        r.hung_lateness.len(),
        peak_rss_mib(),
    );
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let posts = args.first().copied().unwrap_or(10_000);
    let accounts = args.get(1).copied().unwrap_or(1_000);
    let batch = u32::try_from(args.get(2).copied().unwrap_or(500))?;
    let healthy = run(posts, accounts, batch, false).await?;
    // One post per account is in flight at a time: fewer accounts than slots cap the pool.
    let in_flight = |accounts: usize| batch.min(u32::try_from(accounts).unwrap_or(u32::MAX));
    report("all platforms answering", in_flight(accounts), &healthy);
    // A tenth of the size, without and with one account hanging (its posts time out, 10 s
    // each, and are retried): the others' lateness should not change.
    let small = run(posts / 10, accounts / 10, batch, false).await?;
    report(
        "a tenth of it, all answering",
        in_flight(accounts / 10),
        &small,
    );
    let hung = run(posts / 10, accounts / 10, batch, true).await?;
    report(
        "the same, one account's platform hanging",
        in_flight(accounts / 10),
        &hung,
    );
    Ok(())
}
