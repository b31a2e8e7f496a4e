//! Run with: `cargo run -p examples --example embed`
//!
//! Embeds PostPilot in a Rust program: registers a merchant, connects an Instagram account,
//! generates a caption from product data, approves it into a scheduled post, and publishes it
//! through the simulated publisher when it falls due — printing each step.

use std::sync::Arc;

use chrono::{Duration, Utc};
use postpilot_core::Engine;
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::caption::{ProductData, ProductDataWire, Tone};
use postpilot_core::clock::{Clock, ManualClock};
use postpilot_core::platform::Platform;
use postpilot_core::publish::DispatcherConfig;
use postpilot_core::queue::{ApproveItem, Placement};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A manual clock lets the example jump to the publication time instead of waiting for it.
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::builder().simulated().clock(clock.clone()).build()?;

    let user = engine
        .auth()
        .register("merchant@example.com", "correct horse battery staple")
        .await?;
    println!("1. registered {} ({})", user.email(), user.id());

    let account = engine
        .accounts()
        .connect(
            user.id(),
            ConnectAccount {
                platform: Platform::Instagram,
                account_name: AccountName::parse("@aurora.lamps")?,
                account_id_external: ExternalAccountId::parse("17841400000000001")?,
                access_token: None,
                refresh_token: None,
            },
        )
        .await?;
    println!(
        "2. connected {} account {}",
        account.platform(),
        account.account_name()
    );

    let product = ProductData::parse(ProductDataWire {
        title: "Aurora Desk Lamp".into(),
        description: Some("A dimmable LED lamp with a warm glow. Ships worldwide.".into()),
        price: Some(postpilot_core::caption::Price::from_cents(3_900)?),
        currency: Some("USD".into()),
        compare_at_price: Some(postpilot_core::caption::Price::from_cents(5_200)?),
        image_urls: vec!["https://cdn.example.com/aurora.jpg".into()],
        features: vec!["3 colour temperatures".into(), "USB-C powered".into()],
        tags: vec!["desk lamp".into(), "home office".into()],
        ..ProductDataWire::default()
    })?;
    let item = engine
        .queue()
        .generate(user.id(), product, vec![Platform::Instagram], Tone::Playful)
        .await?;
    let caption = item.ai_generated_content().map_or("", |c| c.as_ref());
    println!(
        "3. generated a caption:\n---\n{caption}\n{}\n---",
        item.hashtags()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let publish_at = clock.now() + Duration::hours(2);
    let approval = engine
        .queue()
        .approve(
            user.id(),
            item.id(),
            ApproveItem {
                account_ids: vec![account.id()],
                placement: Placement::At(publish_at),
            },
        )
        .await?;
    let post = &approval.posts[0];
    println!(
        "4. approved into post {} — {} for {}",
        post.id(),
        post.status(),
        publish_at
    );

    let worker = engine.dispatcher("embed-worker", DispatcherConfig::default())?;
    let early = worker.run_once().await?;
    println!("5. a tick before it is due claims {} posts", early.claimed);

    clock.advance(Duration::hours(2));
    let tick = worker.run_once().await?;
    let published = engine.posts().get(user.id(), post.id()).await?;
    println!(
        "6. at {} the worker published {} post(s): {} at {}",
        publish_at,
        tick.posted,
        published.status(),
        published.external_url().unwrap_or("-"),
    );
    Ok(())
}
