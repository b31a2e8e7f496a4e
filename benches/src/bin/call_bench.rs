//! Run with: `bash benches/python.sh` (runs this and the same calls from Python in one go).
//!
//! The cost of one simple engine call from Rust — `posts().get()` on the in-memory engine —
//! awaited in a loop, for the Python binding's per-call overhead to be measured against.

use std::time::Instant;

use postpilot_core::Engine;
use postpilot_core::post::CreatePost;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let calls: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let engine = Engine::in_memory();
    let (user, post) = runtime.block_on(async {
        let (user, account) = benches::merchant(&engine).await?;
        let post = engine
            .posts()
            .create(
                user,
                CreatePost {
                    account_id: account,
                    content: "Benchmark".into(),
                    media_urls: vec![],
                    hashtags: vec!["sale".into()],
                    scheduled_for: None,
                    duplicates: postpilot_core::post::Duplicates::Refuse,
                },
            )
            .await?;
        Ok::<_, BoxError>((user, post))
    })?;
    let posts = engine.posts();
    let awaited = runtime.block_on(async {
        let started = Instant::now();
        for _ in 0..calls {
            posts.get(user, post.id()).await?;
        }
        Ok::<_, BoxError>(started.elapsed())
    })?;
    let started = Instant::now();
    for _ in 0..calls {
        runtime.block_on(posts.get(user, post.id()))?;
    }
    let blocking = started.elapsed();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(calls);
    println!("rust_awaited_us {:.3}", per(awaited));
    println!("rust_block_on_us {:.3}", per(blocking));
    Ok(())
}
