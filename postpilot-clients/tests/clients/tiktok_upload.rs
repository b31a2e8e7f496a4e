//! TikTok's `FILE_UPLOAD`, with the publisher called as the dispatcher calls it (a checkpoint
//! handed back after each step; `resumed` once a step was parked): a video read from its host
//! by range and sent in TikTok's chunks, a chunk sent again after a lost answer never making a
//! second public post, and the server refusing to read media from inside its network.

use std::time::Duration as StdDuration;

use postpilot_clients::fetch::AddressPolicy;
use postpilot_clients::http::Timeouts;
use postpilot_clients::testing::{FakeTikTok, TtCall, tiktok_answer};
use postpilot_clients::tiktok::{TikTokConfig, TikTokPublisher, VideoSource};
use postpilot_core::crypto::SecretString;
use postpilot_core::id::{AccountId, PostId, UserId};
use postpilot_core::platform::Platform;
use postpilot_core::publish::{Checkpoint, Progress, PublishError, PublishRequest, Publisher};
use serde_json::Value;

const TOKEN: &str = "act.tiktok-upload-token";
const MIB: usize = 1024 * 1024;

fn publisher(fake: &FakeTikTok, addresses: AddressPolicy) -> TikTokPublisher {
    TikTokPublisher::new(TikTokConfig {
        api_url: fake.base_url.clone(),
        timeouts: Timeouts {
            connect: StdDuration::from_secs(2),
            total: StdDuration::from_secs(5),
        },
        video_source: VideoSource::FileUpload,
        upload_chunk: 5 * MIB as u64,
        media_addresses: addresses,
        ..TikTokConfig::default()
    })
    .unwrap()
}

/// A video of `len` bytes that differ from one position to the next.
fn video(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn request(media_url: &str) -> PublishRequest {
    let id = |n| uuid::Uuid::from_u128(n);
    PublishRequest {
        post_id: PostId::from(id(1)),
        user_id: UserId::from(id(2)),
        account_id: AccountId::from(id(3)),
        account_external_id: "open-id-aurora".into(),
        platform: Platform::Tiktok,
        idempotency_key: "postpilot-1".into(),
        caption: "The Aurora Desk Lamp".into(),
        hashtags: vec![],
        media_urls: vec![media_url.to_owned()],
        access_token: Some(SecretString::new(TOKEN)),
        checkpoint: None,
        resumed: false,
    }
}

/// What the dispatcher does with each answer: a `Continue` checkpoint is stored and the next
/// call made at once; a `Wait` parks the post, and the call after it is a resumed one. Returns
/// the steps' kinds and the outcome.
async fn drive(
    tiktok: &TikTokPublisher,
    request: &mut PublishRequest,
) -> (Vec<&'static str>, Result<String, PublishError>) {
    let mut steps = Vec::new();
    for _ in 0..40 {
        match tiktok.publish(request).await {
            Ok(Progress::Published(published)) => return (steps, Ok(published.remote_id)),
            Ok(Progress::Continue(checkpoint)) => {
                steps.push(step_name(&checkpoint));
                request.checkpoint = Some(checkpoint);
                request.resumed = false;
            }
            Ok(Progress::Wait { checkpoint, .. }) => {
                steps.push(step_name(&checkpoint));
                request.checkpoint = Some(checkpoint);
                request.resumed = true;
            }
            Err(e) => return (steps, Err(e)),
        }
    }
    panic!("no outcome after 40 steps: {steps:?}");
}

fn step_name(checkpoint: &Checkpoint) -> &'static str {
    match checkpoint.state()["step"].as_str() {
        Some("init") => "init",
        Some("uploading") => "uploading",
        Some("processing") => "processing",
        other => panic!("unknown step {other:?}"),
    }
}

#[tokio::test]
async fn a_video_is_read_by_range_and_uploaded_in_tiktoks_chunks_then_published_once() {
    let fake = FakeTikTok::start(TOKEN, 2).await;
    let bytes = video(11 * MIB + 7);
    let url = fake.host_media("drop.mp4", bytes.clone());
    let tiktok = publisher(&fake, AddressPolicy::AnyForTests);

    let (steps, outcome) = drive(&tiktok, &mut request(&url)).await;

    let made = fake.publications();
    assert_eq!(made.len(), 1);
    assert_eq!(outcome, Ok(made[0].post_id.clone()));
    let source = &made[0].body["source_info"];
    assert_eq!(source["source"], "FILE_UPLOAD");
    assert_eq!(source["video_size"], bytes.len() as u64);
    assert_eq!(source["chunk_size"], 5 * MIB as u64);
    assert_eq!(
        source["total_chunk_count"], 2,
        "the last chunk takes the rest"
    );
    assert!(
        made[0].uploaded == bytes,
        "TikTok received the video byte for byte"
    );
    assert_eq!(fake.seen(TtCall::Upload).len(), 2);
    assert_eq!(
        steps,
        [
            "init",       // the privacy level chosen
            "init",       // the video's size read from its host
            "uploading",  // TikTok's upload_url stored
            "uploading",  // the first chunk sent, parked
            "uploading",  // marked before the last chunk
            "processing", // the last chunk sent
            "processing", // polled
        ],
        "parked between chunks, marked before the last, polled after it"
    );
}

#[tokio::test]
async fn a_video_under_five_megabytes_goes_in_one_chunk_of_its_size() {
    let fake = FakeTikTok::start(TOKEN, 1).await;
    let bytes = video(MIB + 3);
    let url = fake.host_media("small.mp4", bytes.clone());
    let tiktok = publisher(&fake, AddressPolicy::AnyForTests);

    let (_, outcome) = drive(&tiktok, &mut request(&url)).await;

    assert!(outcome.is_ok(), "{outcome:?}");
    let made = fake.publications();
    assert_eq!(
        made[0].body["source_info"]["chunk_size"],
        bytes.len() as u64
    );
    assert_eq!(made[0].body["source_info"]["total_chunk_count"], 1);
    assert!(made[0].uploaded == bytes);
}

/// The checkpoint of an upload whose chunk `next_chunk` is about to be sent.
fn uploading(made: &Value, upload_url: &str, next_chunk: u64, sending_last: bool) -> Checkpoint {
    let source = &made["source_info"];
    Checkpoint::new(serde_json::json!({
        "step": "uploading",
        "publish_id": made["publish_id"],
        "upload_url": upload_url,
        "video_size": source["video_size"],
        "chunk_size": source["chunk_size"],
        "chunk_count": source["total_chunk_count"],
        "next_chunk": next_chunk,
        "privacy_level": "PUBLIC_TO_EVERYONE",
        "sending_last": sending_last,
    }))
}

#[tokio::test]
async fn a_last_chunk_sent_again_after_its_answer_was_lost_polls_the_same_publication() {
    let fake = FakeTikTok::start(TOKEN, 1).await;
    let url = fake.host_media("drop.mp4", video(11 * MIB));
    let tiktok = publisher(&fake, AddressPolicy::AnyForTests);
    let mut first = request(&url);
    let (_, published) = drive(&tiktok, &mut first).await;
    assert!(published.is_ok(), "{published:?}");
    // A worker sent the last chunk, TikTok took it, and the worker died before storing that:
    // the post is rescued from the checkpoint before the last chunk.
    let made = fake.publications()[0].clone();
    let upload_url = format!(
        "{}/upload/?upload_id={}&upload_token=fake-upload-token",
        fake.base_url, made.publish_id
    );
    let mut rescued = request(&url);
    let mut with_id = made.body.clone();
    with_id["publish_id"] = made.publish_id.clone().into();
    // The marker stored before the last chunk says it may have been sent.
    rescued.checkpoint = Some(uploading(&with_id, &upload_url, 1, true));
    rescued.resumed = true;

    let (_, outcome) = drive(&tiktok, &mut rescued).await;

    assert_eq!(outcome, Ok(made.post_id.clone()));
    assert_eq!(fake.publications().len(), 1, "no second publication");
}

#[tokio::test]
async fn a_middle_chunk_refused_after_a_rescue_starts_a_new_upload_that_alone_is_published() {
    let fake = FakeTikTok::start(TOKEN, 1).await;
    let bytes = video(16 * MIB);
    let url = fake.host_media("drop.mp4", bytes.clone());
    let tiktok = publisher(&fake, AddressPolicy::AnyForTests);
    // The first upload (creator info, size, start, first chunk) got its first chunk, then its
    // worker died before storing that.
    let mut first = request(&url);
    for _ in 0..4 {
        if let Ok(Progress::Continue(checkpoint) | Progress::Wait { checkpoint, .. }) =
            tiktok.publish(&first).await
        {
            first.checkpoint = Some(checkpoint);
        }
    }
    assert_eq!(fake.publications()[0].uploaded.len(), 5 * MIB);
    let abandoned = fake.publications()[0].clone();
    let upload_url = format!(
        "{}/upload/?upload_id={}&upload_token=fake-upload-token",
        fake.base_url, abandoned.publish_id
    );
    let mut with_id = abandoned.body.clone();
    with_id["publish_id"] = abandoned.publish_id.clone().into();
    let mut rescued = request(&url);
    rescued.checkpoint = Some(uploading(&with_id, &upload_url, 0, false));
    rescued.resumed = true;

    let (_, outcome) = drive(&tiktok, &mut rescued).await;

    let made = fake.publications();
    assert_eq!(made.len(), 2, "a new upload was started");
    assert_eq!(outcome, Ok(made[1].post_id.clone()));
    assert!(made[1].uploaded == bytes);
    assert_eq!(
        made[0].status, "PROCESSING_UPLOAD",
        "the abandoned upload never became whole, so never public"
    );
}

#[tokio::test]
async fn media_on_a_private_address_is_refused_before_any_request_reaches_it() {
    let fake = FakeTikTok::start(TOKEN, 1).await;
    let url = fake.host_media("drop.mp4", video(MIB));
    let tiktok = publisher(&fake, AddressPolicy::PublicOnly);

    for refused in [
        url.clone(),
        url.replace("127.0.0.1", "localhost"),
        "http://169.254.169.254/latest/meta-data/iam.mp4".to_owned(),
        "http://[::1]/drop.mp4".to_owned(),
    ] {
        let (_, outcome) = drive(&tiktok, &mut request(&refused)).await;
        match outcome {
            Err(PublishError::Rejected { reason }) => {
                assert!(reason.contains("public address"), "{refused}: {reason}");
                assert!(!reason.contains("127.0.0.1"), "the reason names no address");
            }
            other => panic!("{refused}: expected a refusal, got {other:?}"),
        }
    }
    assert!(fake.publications().is_empty(), "no upload was started");
    assert!(fake.seen(TtCall::Upload).is_empty());
}

#[tokio::test]
async fn an_upload_refused_again_after_one_new_upload_fails_the_post_with_tiktoks_reason() {
    let fake = FakeTikTok::start(TOKEN, 1).await;
    let url = fake.host_media("drop.mp4", video(MIB));
    for _ in 0..2 {
        let refusal = tiktok_answer(
            serde_json::json!({}),
            "invalid_params",
            "chunk size mismatch",
        );
        fake.fail_next(TtCall::Upload, 400, refusal);
    }
    let tiktok = publisher(&fake, AddressPolicy::AnyForTests);

    let (steps, outcome) = drive(&tiktok, &mut request(&url)).await;

    match outcome {
        Err(PublishError::Rejected { reason }) => {
            assert!(reason.contains("HTTP 400: invalid_params"), "{reason}");
        }
        other => panic!("expected the post to fail, got {other:?}"),
    }
    assert_eq!(
        fake.publications().len(),
        2,
        "one new upload, not a loop: {steps:?}"
    );
}

#[tokio::test]
async fn a_media_host_that_is_down_is_a_retry_not_a_refusal() {
    let fake = FakeTikTok::start(TOKEN, 1).await;
    let url = fake.host_media("drop.mp4", video(MIB));
    fake.fail_media_next(503);
    let tiktok = publisher(&fake, AddressPolicy::AnyForTests);

    let (_, outcome) = drive(&tiktok, &mut request(&url)).await;

    assert!(
        matches!(outcome, Err(PublishError::Retryable { ref reason, .. }) if reason.contains("503")),
        "{outcome:?}"
    );
    assert!(fake.publications().is_empty());
}

#[tokio::test]
async fn a_host_that_refuses_head_is_sized_by_its_first_byte() {
    let fake = FakeTikTok::start(TOKEN, 1).await;
    let bytes = video(6 * MIB + 1);
    let url = fake.host_media("signed.mp4", bytes.clone());
    fake.refuse_head();
    let tiktok = publisher(&fake, AddressPolicy::AnyForTests);

    let (_, outcome) = drive(&tiktok, &mut request(&url)).await;

    assert!(outcome.is_ok(), "{outcome:?}");
    let made = fake.publications();
    assert_eq!(
        made[0].body["source_info"]["video_size"],
        bytes.len() as u64
    );
    assert!(made[0].uploaded == bytes);
}
