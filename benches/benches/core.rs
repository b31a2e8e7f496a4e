//! Criterion benchmarks of the hot paths of `postpilot-core`, each beside a baseline measured
//! in the same run (the least work the same input needs), so a figure reads as a ratio that
//! survives a noisy machine. Run: `cargo bench -p benches --bench core`.

use postpilot_core::post::Duplicates;
use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use postpilot_core::Engine;
use postpilot_core::billing::{SubscriptionStatus, effective_plan};
use postpilot_core::caption::{CaptionGenerator, CaptionRequest, TemplateCaptions, Tone};
use postpilot_core::plan::{MonthWindow, PlanTier};
use postpilot_core::platform::Platform;
use postpilot_core::post::{Caption, CreatePost, Hashtags, MediaUrl, PostStatus};
use postpilot_core::store::{MemoryStore, Store};
use postpilot_core::testing::{post, product, seeded};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A 1,500-character caption with emoji, 30 hashtags and 5 media URLs: a busy Instagram post.
fn content() -> (String, Vec<String>, Vec<String>) {
    let text = "Meet the Aurora desk lamp ✨ warm light for late nights. ".repeat(27);
    let tags = (0..30).map(|i| format!("tag{i}")).collect();
    let media = (0..5)
        .map(|i| format!("https://cdn.example.com/products/aurora-{i}.jpg"))
        .collect();
    (text, tags, media)
}

fn validation(c: &mut Criterion) {
    let (text, tags, media) = content();
    let mut group = c.benchmark_group("validation");
    group.bench_function("baseline: copy and count the characters", |b| {
        b.iter(|| {
            let copy = black_box(&text).clone();
            let n = copy.chars().count()
                + tags.iter().map(|t| t.chars().count()).sum::<usize>()
                + media.iter().map(String::len).sum::<usize>();
            black_box(n)
        });
    });
    group.bench_function("caption + hashtags + media URLs + Instagram rules", |b| {
        b.iter(|| {
            let caption =
                Caption::parse(black_box(&text).clone()).unwrap_or_else(|e| panic!("{e}"));
            let hashtags = Hashtags::parse(black_box(&tags)).unwrap_or_else(|e| panic!("{e}"));
            let media: Vec<MediaUrl> = media
                .iter()
                .map(|m| MediaUrl::parse(m.clone()).unwrap_or_else(|e| panic!("{e}")))
                .collect();
            Platform::Instagram
                .rules()
                .check(&caption, &hashtags, &media)
                .unwrap_or_else(|e| panic!("{e}"));
            black_box((caption, hashtags, media))
        });
    });
    group.finish();
}

fn captions(c: &mut Criterion) {
    let rt = runtime();
    let generator = TemplateCaptions::new();
    let request = CaptionRequest {
        product: product(),
        platforms: vec![Platform::Instagram, Platform::Facebook, Platform::Tiktok],
        tone: Tone::Playful,
        variant: 3,
    };
    let mut group = c.benchmark_group("captions");
    group.bench_function("baseline: format! title and tags", |b| {
        let title = "Aurora Desk Lamp";
        b.iter(|| {
            black_box(format!(
                "{} — now in stock! #{}",
                black_box(title),
                "lighting"
            ))
        });
    });
    group.bench_function("template caption for three platforms", |b| {
        b.iter(|| {
            rt.block_on(generator.generate(black_box(&request)))
                .unwrap_or_else(|e| panic!("{e}"))
        });
    });
    group.finish();
}

fn plan_checks(c: &mut Criterion) {
    let now = Utc::now();
    let mut group = c.benchmark_group("plan checks");
    group.bench_function("baseline: compare a count with a constant", |b| {
        b.iter(|| black_box(black_box(41u64) < 50));
    });
    let plans = postpilot_core::plan::Plans::default();
    group.bench_function("effective plan + month window + post quota", |b| {
        b.iter(|| {
            let tier = effective_plan(None, black_box(now));
            let window = MonthWindow::containing(now);
            black_box((plans.get(tier).max_items.allows_one_more(41), window))
        });
    });
    group.finish();
}

/// The in-memory engine's create → schedule → claim → commit, against the same rows written
/// straight into the memory store (the baseline: the engine's own cost is the difference).
fn engine_flow(c: &mut Criterion) {
    let rt = runtime();
    let engine = Engine::in_memory();
    let (owner, account_id) = rt.block_on(async {
        let (owner, account) = benches::merchant(&engine)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        engine
            .billing()
            .grant_plan(owner, PlanTier::Enterprise, SubscriptionStatus::Active)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (owner, account)
    });
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (raw_owner, raw_account) = rt.block_on(async {
        let (u, a) = seeded(&store).await;
        (u.id(), a.id())
    });
    let quota = postpilot_core::plan::PostQuota {
        window: MonthWindow::containing(Utc::now()),
        limit: postpilot_core::plan::Limit::Unlimited,
    };

    let mut group = c.benchmark_group("in-memory flow");
    group.bench_function("baseline: store insert + claim + commit", |b| {
        b.iter_batched(
            || {
                post(
                    raw_owner,
                    raw_account,
                    Utc::now(),
                    Some(Utc::now() - Duration::seconds(1)),
                )
            },
            |p| {
                rt.block_on(async {
                    store
                        .insert_post(&p, quota)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut claimed = store
                        .claim_due(Utc::now(), 1, Duration::seconds(30), "bench")
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut p = claimed.remove(0).post;
                    p.fail_attempt("bench", Utc::now())
                        .unwrap_or_else(|e| panic!("{e}"));
                    store
                        .commit_claim(&p)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    // Keep the table at one post: the memory store's claim scans every post.
                    store
                        .delete_post(raw_owner, p.id(), &[PostStatus::Failed])
                        .await
                })
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("engine create + schedule + claim + commit", |b| {
        b.iter(|| {
            rt.block_on(async {
                let created = engine
                    .posts()
                    .create(
                        owner,
                        CreatePost {
                            account_id,
                            content: "Fresh stock, fresh light.".into(),
                            media_urls: vec!["https://cdn.example.com/a.jpg".into()],
                            hashtags: vec!["sale".into()],
                            scheduled_for: None,
                            duplicates: postpilot_core::post::Duplicates::Refuse,
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                engine
                    .posts()
                    .schedule(
                        owner,
                        created.id(),
                        Utc::now() + Duration::seconds(60),
                        Duplicates::Refuse,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut claimed = engine
                    .store()
                    .claim_due(
                        Utc::now() + Duration::seconds(61),
                        1,
                        Duration::seconds(30),
                        "bench",
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut p = claimed.remove(0).post;
                p.fail_attempt("bench", Utc::now())
                    .unwrap_or_else(|e| panic!("{e}"));
                engine
                    .store()
                    .commit_claim(&p)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                engine
                    .store()
                    .delete_post(owner, p.id(), &[PostStatus::Failed])
                    .await
            })
        });
    });
    group.finish();
}

criterion_group!(benches, validation, captions, plan_checks, engine_flow);
criterion_main!(benches);
