//! Publishing to TikTok with the Content Posting API's *Direct Post*: first
//! `creator_info/query` (TikTok requires it: the privacy levels the creator allows), then
//! `video/init` (one video, `PULL_FROM_URL`) or `content/init` (photos, `media_type=PHOTO`),
//! then `status/fetch` polled until `PUBLISH_COMPLETE` — the post parked between polls, so no
//! worker waits on TikTok.
//!
//! A video goes by `PULL_FROM_URL` (TikTok fetches it; its domain must be verified in the TikTok
//! app) or, with [`VideoSource::FileUpload`], by `FILE_UPLOAD`: the server reads the video from
//! its host through [`MediaFetcher`] (public addresses only) and sends it to TikTok's
//! `upload_url` one chunk per step, each chunk's progress a checkpoint.
//!
//! Checkpoints (DECISIONS.md 52): the creator's chosen privacy level is stored before the init
//! (the call that starts publication), and the `publish_id` as soon as TikTok answers it, so a
//! resumed publication polls the same one. TikTok takes no idempotency key and cannot list
//! publications in progress: an init whose answer is lost is the one window in which a second
//! publication can start (PLATFORMS.md says how narrow it is).
//!
//! Every answer is `{"data": …, "error": {"code", "message", "log_id"}}`; failures come with
//! `error.code` other than `ok`, some with HTTP 200. Codes are mapped in [`classify`].

use chrono::Duration;
use postpilot_core::analytics::MetricCounts;
use postpilot_core::crypto::SecretString;
use postpilot_core::post::Published;
use postpilot_core::publish::{
    Checkpoint, MetricsRequest, Progress, PublishError, PublishRequest, Publisher,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::fetch::{AddressPolicy, FetchError, MediaFetcher};
use crate::http::{Answer, HttpClient, Timeouts};
use crate::media::{is_video, video_type};

/// How a video reaches TikTok.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VideoSource {
    /// TikTok fetches it from its URL (`PULL_FROM_URL`): the URL's domain or prefix must be
    /// verified in the TikTok app.
    #[default]
    PullFromUrl,
    /// The server reads it from its URL and uploads it in chunks (`FILE_UPLOAD`): no domain
    /// verification, at the cost of the server's bandwidth.
    FileUpload,
}

/// The largest video TikTok takes by upload (4 GB).
const MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// TikTok's smallest chunk (5 MB; a smaller video goes in one chunk) and largest (64 MB).
const MIN_CHUNK: u64 = 5 * 1024 * 1024;
const MAX_CHUNK: u64 = 64 * 1024 * 1024;

/// How an upload of `size` bytes is cut: `(chunk_size, total_chunk_count)` by TikTok's rules —
/// a video under the smallest chunk in one chunk of its size, otherwise chunks of `chunk`
/// (clamped to 5–64 MB) and the size divided by it rounded down, the last taking the rest.
fn chunks(size: u64, chunk: u64) -> (u64, u64) {
    let chunk = chunk.clamp(MIN_CHUNK, MAX_CHUNK);
    if size <= chunk {
        (size, 1)
    } else {
        (chunk, size / chunk)
    }
}

/// The byte range (inclusive) of chunk `index`.
fn chunk_range(index: u64, size: u64, chunk_size: u64, count: u64) -> (u64, u64) {
    let start = index * chunk_size;
    let end = if index + 1 == count {
        size - 1
    } else {
        start + chunk_size - 1
    };
    (start, end)
}

/// Where TikTok is, and how patiently to wait for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TikTokConfig {
    /// The API host (`POSTPILOT_TIKTOK_API_URL`): `https://open.tiktokapis.com`.
    pub api_url: String,
    /// The wait between two status checks of a publication being processed.
    pub poll_interval: Duration,
    /// Status checks before a publication still processing fails the post (120 × 10 s).
    pub max_polls: u32,
    /// How long to hold an account's posts when TikTok says it posted too much
    /// (`spam_risk_too_many_posts`, `reached_active_user_cap`): TikTok's caps are daily.
    pub cap_wait: Duration,
    /// The timeouts of every call.
    pub timeouts: Timeouts,
    /// How videos reach TikTok (`POSTPILOT_TIKTOK_VIDEO_SOURCE`).
    pub video_source: VideoSource,
    /// The chunk size of an upload (clamped to TikTok's 5–64 MB): one chunk is read from the
    /// media host and sent to TikTok per step, within the dispatcher's publish timeout.
    pub upload_chunk: u64,
    /// Uploads in progress at once (each holds one chunk in memory); a post finding them all
    /// busy waits a few seconds without using an attempt.
    pub max_uploads: usize,
    /// The timeouts of reading one chunk from the media host and of sending it to TikTok.
    pub transfer_timeouts: Timeouts,
    /// How often a resumed start looks for a publication whose start answer was lost before
    /// starting another, and the wait between looks (TikTok's moderation usually takes under a
    /// minute).
    pub init_lookups: u32,
    /// See `init_lookups`.
    pub init_lookup_wait: Duration,
    /// Which addresses the server may read media from: [`AddressPolicy::PublicOnly`] except in
    /// tests against local fakes.
    pub media_addresses: AddressPolicy,
}

impl Default for TikTokConfig {
    fn default() -> Self {
        Self {
            api_url: "https://open.tiktokapis.com".into(),
            poll_interval: Duration::seconds(10),
            max_polls: 120,
            cap_wait: Duration::hours(6),
            timeouts: Timeouts::default(),
            video_source: VideoSource::PullFromUrl,
            upload_chunk: 10 * 1024 * 1024,
            max_uploads: 8,
            transfer_timeouts: Timeouts {
                connect: std::time::Duration::from_secs(5),
                total: std::time::Duration::from_secs(12),
            },
            media_addresses: AddressPolicy::PublicOnly,
            init_lookups: 2,
            init_lookup_wait: Duration::minutes(1),
        }
    }
}

/// The TikTok publisher.
#[derive(Clone, Debug)]
pub struct TikTokPublisher {
    http: HttpClient,
    media: MediaFetcher,
    uploads: std::sync::Arc<tokio::sync::Semaphore>,
    config: TikTokConfig,
}

/// Where a publication stands: the checkpoint's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    /// The creator's privacy level is chosen; the next call starts the publication, made
    /// from `since` (Unix seconds). A resumed `Init` may follow a start whose answer was lost:
    /// TikTok's public videos are looked through for it first, `looks` times so far.
    Init {
        privacy_level: String,
        #[serde(default)]
        since: Option<i64>,
        #[serde(default)]
        looks: u32,
        /// Uploads TikTok refused before this start (see [`MAX_UPLOAD_RESTARTS`]).
        #[serde(default)]
        restarts: u32,
        /// For a video going by upload: its size, read from its host in a step of its own
        /// (so the size request and TikTok's start never share one publish timeout).
        #[serde(default)]
        video_size: Option<u64>,
    },
    /// The video is being uploaded: TikTok gave `upload_url` for `publish_id`, and the chunks
    /// before `next_chunk` (of `chunk_count`, `chunk_size` bytes each but the last, `video_size`
    /// in all) are sent. The URL expires within the hour; it is stored with the post only.
    Uploading(Upload),
    /// TikTok is pulling and processing the media; `polls` status checks so far. The privacy
    /// level is kept to start again if TikTok fails the publication for a passing reason.
    Processing {
        publish_id: String,
        polls: u32,
        privacy_level: String,
    },
}

/// Where an upload stands (the `Uploading` step). Its `Debug` leaves out the `upload_url`,
/// which carries TikTok's upload token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Upload {
    publish_id: String,
    upload_url: String,
    video_size: u64,
    chunk_size: u64,
    chunk_count: u64,
    next_chunk: u64,
    privacy_level: String,
    /// When TikTok gave the `upload_url` (Unix seconds; 0: unknown).
    #[serde(default)]
    started: i64,
    /// Set (and stored) just before the last chunk is sent: a rescued post with it may
    /// have had its last chunk taken, so a refusal then means "already whole".
    #[serde(default)]
    sending_last: bool,
    /// Uploads TikTok refused before this one.
    #[serde(default)]
    restarts: u32,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("publish_id", &self.publish_id)
            .field("video_size", &self.video_size)
            .field("next_chunk", &self.next_chunk)
            .field("chunk_count", &self.chunk_count)
            .finish_non_exhaustive()
    }
}

impl Step {
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint::of(self)
    }

    /// A new publication about to start with `privacy_level`.
    fn start(privacy_level: String) -> Self {
        Self::restart(privacy_level, 0)
    }

    /// A new publication after `restarts` uploads TikTok refused.
    fn restart(privacy_level: String, restarts: u32) -> Self {
        Self::Init {
            privacy_level,
            since: Some(chrono::Utc::now().timestamp() - START_MARGIN_SECS),
            looks: 0,
            restarts,
            video_size: None,
        }
    }
}

/// Uploads TikTok may refuse (an expired `upload_url`, a chunk it will not take) before the
/// post fails: each refusal starts a new publication, whose incomplete predecessor never
/// becomes public.
const MAX_UPLOAD_RESTARTS: u32 = 1;

/// How long an `upload_url` is used: TikTok's last an hour.
const UPLOAD_URL_LIFE_SECS: i64 = 55 * 60;

/// How much earlier than its checkpoint a publication's `since` is set (TikTok's clock may
/// differ from ours).
const START_MARGIN_SECS: i64 = 60;

/// What a failed or refused answer means for the scheduler.
fn classify(answer: &Answer, cap_wait: Duration) -> PublishError {
    let code = answer
        .body
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let message = answer
        .body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let words = |what: &str| format!("{what} (TikTok {code}: {message})");
    match code {
        "rate_limit_exceeded" => PublishError::RateLimited {
            after: Duration::minutes(1),
        },
        "spam_risk_too_many_posts"
        | "reached_active_user_cap"
        | "spam_risk_too_many_pending_share" => PublishError::RateLimited { after: cap_wait },
        "access_token_invalid" | "scope_not_authorized" | "scope_permission_missed" => {
            PublishError::AuthExpired
        }
        "spam_risk_user_banned_from_posting" => PublishError::Rejected {
            reason: words("TikTok has banned this account from posting"),
        },
        "unaudited_client_can_only_post_to_private_accounts" => PublishError::Rejected {
            reason: words(
                "this app is not audited by TikTok yet, so it may only post to private accounts",
            ),
        },
        "privacy_level_option_mismatch"
        | "invalid_params"
        | "url_ownership_unverified"
        | "spam_risk_text"
        | "spam_risk" => PublishError::Rejected {
            reason: words("TikTok refused the post"),
        },
        _ => PublishError::Retryable {
            reason: if code.is_empty() {
                format!("TikTok answered HTTP {}", answer.status)
            } else {
                words("TikTok failed")
            },
            after: None,
        },
    }
}

/// What a `FAILED` publication's `fail_reason` leads to. A failed publication is dead: for a
/// passing reason the post starts a new one from `Init` (after the daily cap's wait, or at
/// once — an `internal` failure, or a revoked authorization that the new init will meet as
/// `access_token_invalid`); for the others it fails.
fn failed(
    reason: &str,
    privacy_level: String,
    cap_wait: Duration,
) -> Result<Progress, PublishError> {
    let again = Step::start(privacy_level).checkpoint();
    match reason {
        "spam_risk_too_many_posts" => Ok(Progress::Wait {
            checkpoint: again,
            after: cap_wait,
        }),
        "internal" | "auth_removed" => Ok(Progress::Continue(again)),
        "video_pull_failed" | "photo_pull_failed" => Err(PublishError::Rejected {
            reason: format!("TikTok could not fetch the media from its URL ({reason})"),
        }),
        _ => Err(PublishError::Rejected {
            reason: format!("TikTok could not publish the post ({reason})"),
        }),
    }
}

/// TikTok's error code and message in an answer's body, as `: code (message)`, if it has one.
fn tiktok_words(body: &Value) -> String {
    match body.pointer("/error/code").and_then(Value::as_str) {
        Some(code) => {
            let message = body
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            format!(": {code} ({message})")
        }
        None => String::new(),
    }
}

/// What a media fetch that failed means for the post: a URL the server may not read, or media
/// its host will not serve as TikTok needs, fails it; a transfer that broke off is retried.
fn fetch_refusal(error: FetchError) -> PublishError {
    match error {
        FetchError::Refused(reason) | FetchError::Unusable(reason) => PublishError::Rejected {
            reason: format!("the video could not be read for upload to TikTok: {reason}"),
        },
        FetchError::Failed(reason) => PublishError::Retryable {
            reason: format!("the video's host: {reason}"),
            after: None,
        },
    }
}

/// A photo post's title: TikTok takes 90 characters at most (the whole text goes in the
/// description).
fn photo_title(caption: &str) -> String {
    let first_line = caption.lines().next().unwrap_or_default();
    first_line.chars().take(90).collect()
}

impl TikTokPublisher {
    /// A publisher with `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: TikTokConfig) -> Result<Self, String> {
        Ok(Self {
            http: HttpClient::new(config.timeouts)?,
            media: MediaFetcher::new(
                config.transfer_timeouts.connect,
                config.transfer_timeouts.total,
                config.media_addresses,
            )?,
            uploads: std::sync::Arc::new(tokio::sync::Semaphore::new(config.max_uploads.max(1))),
            config,
        })
    }

    /// One API call (a JSON POST); its `data`, or what its failure means.
    async fn call(
        &self,
        what: &str,
        path: &str,
        token: &SecretString,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Value, PublishError> {
        let url = format!("{}/v2/{path}", self.config.api_url.trim_end_matches('/'));
        let answer = self
            .http
            .call_json(
                &format!("TikTok ({what})"),
                Method::POST,
                &url,
                Some(token),
                query,
                body,
            )
            .await?;
        let ok = answer.body.pointer("/error/code").and_then(Value::as_str) == Some("ok");
        if answer.status.is_success() && ok {
            Ok(answer.body.get("data").cloned().unwrap_or(Value::Null))
        } else {
            Err(classify(&answer, self.config.cap_wait))
        }
    }

    /// The creator's allowed privacy levels: public when allowed, else the first offered (an
    /// unaudited app is offered only `SELF_ONLY`).
    async fn privacy_level(&self, token: &SecretString) -> Result<String, PublishError> {
        let data = self
            .call(
                "reading the creator's settings",
                "post/publish/creator_info/query/",
                token,
                &[],
                &json!({}),
            )
            .await?;
        let options: Vec<&str> = data
            .get("privacy_level_options")
            .and_then(Value::as_array)
            .map(|o| o.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let chosen = if options.contains(&"PUBLIC_TO_EVERYONE") {
            "PUBLIC_TO_EVERYONE"
        } else {
            options
                .first()
                .copied()
                .ok_or_else(|| PublishError::Rejected {
                    reason: "TikTok offers this account no privacy level to post with".into(),
                })?
        };
        Ok(chosen.to_owned())
    }

    /// Starts the publication: a video, or photos.
    async fn init(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        privacy_level: &str,
        restarts: u32,
        video_size: Option<u64>,
    ) -> Result<Progress, PublishError> {
        let text = request.text();
        let (path, body) = match request.media_urls.as_slice() {
            [] => {
                return Err(PublishError::Rejected {
                    reason: "a TikTok post needs a video or photos".into(),
                });
            }
            [video] if is_video(video) && self.config.video_source == VideoSource::FileUpload => {
                let size = video_size.ok_or_else(|| PublishError::Retryable {
                    reason: "the video's size was not read before its upload".into(),
                    after: None,
                })?;
                return self
                    .init_upload(&text, token, privacy_level, size, restarts)
                    .await;
            }
            [video] if is_video(video) => (
                "post/publish/video/init/",
                json!({
                    "post_info": { "title": text, "privacy_level": privacy_level,
                                   "disable_duet": false, "disable_comment": false, "disable_stitch": false },
                    "source_info": { "source": "PULL_FROM_URL", "video_url": video }
                }),
            ),
            photos if photos.iter().any(|u| is_video(u)) => {
                return Err(PublishError::Rejected {
                    reason: "a TikTok post takes one video or photos, not both".into(),
                });
            }
            photos => (
                "post/publish/content/init/",
                json!({
                    "post_info": { "title": photo_title(&request.caption), "description": text,
                                   "privacy_level": privacy_level, "disable_comment": false, "auto_add_music": true },
                    "source_info": { "source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": photos },
                    "post_mode": "DIRECT_POST",
                    "media_type": "PHOTO"
                }),
            ),
        };
        let data = self
            .call("starting the publication", path, token, &[], &body)
            .await?;
        let publish_id = data
            .get("publish_id")
            .and_then(Value::as_str)
            .ok_or_else(|| PublishError::Retryable {
                reason: "TikTok answered the publication without a publish_id".into(),
                after: None,
            })?
            .to_owned();
        // Stored at once (with the claim renewed) before the first status check, so a worker
        // gone after this answer polls this publication rather than starting another.
        Ok(Progress::Continue(
            Step::Processing {
                publish_id,
                polls: 0,
                privacy_level: privacy_level.to_owned(),
            }
            .checkpoint(),
        ))
    }

    /// The post's video, when it goes by upload.
    fn video_to_upload<'r>(&self, request: &'r PublishRequest) -> Option<&'r str> {
        match request.media_urls.as_slice() {
            [video] if is_video(video) && self.config.video_source == VideoSource::FileUpload => {
                Some(video)
            }
            _ => None,
        }
    }

    /// Starts a video publication by upload of `video_size` bytes: asks TikTok for an
    /// `upload_url` for chunks cut by TikTok's rules.
    async fn init_upload(
        &self,
        text: &str,
        token: &SecretString,
        privacy_level: &str,
        video_size: u64,
        restarts: u32,
    ) -> Result<Progress, PublishError> {
        if video_size > MAX_UPLOAD_BYTES {
            return Err(PublishError::Rejected {
                reason: format!(
                    "the video is {video_size} bytes; TikTok takes at most 4 GB by upload"
                ),
            });
        }
        let (chunk_size, chunk_count) = chunks(video_size, self.config.upload_chunk);
        let body = json!({
            "post_info": { "title": text, "privacy_level": privacy_level,
                           "disable_duet": false, "disable_comment": false, "disable_stitch": false },
            "source_info": { "source": "FILE_UPLOAD", "video_size": video_size,
                             "chunk_size": chunk_size, "total_chunk_count": chunk_count }
        });
        let data = self
            .call(
                "starting the upload",
                "post/publish/video/init/",
                token,
                &[],
                &body,
            )
            .await?;
        let field = |name: &str| {
            data.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| PublishError::Retryable {
                    reason: format!("TikTok answered the upload without its {name}"),
                    after: None,
                })
        };
        // Stored before the first chunk: nothing is public until the last chunk is in, and a
        // resumed upload continues this publication instead of starting another.
        Ok(Progress::Continue(
            Step::Uploading(Upload {
                publish_id: field("publish_id")?,
                upload_url: field("upload_url")?,
                video_size,
                chunk_size,
                chunk_count,
                next_chunk: 0,
                privacy_level: privacy_level.to_owned(),
                started: chrono::Utc::now().timestamp(),
                sending_last: false,
                restarts,
            })
            .checkpoint(),
        ))
    }

    /// Sends the next chunk: read from the media host by `Range`, sent with its
    /// `Content-Range`. After the last one, the publication is polled; before it, the post is
    /// parked for no time, so it goes back to the queue between chunks (other accounts' posts
    /// go on, and no step limit is reached however many chunks there are). Before the last
    /// chunk a marker is stored, so a rescue knows the upload may already be whole.
    async fn upload_chunk(
        &self,
        request: &PublishRequest,
        upload: Upload,
    ) -> Result<Progress, PublishError> {
        let Upload {
            publish_id,
            upload_url,
            video_size,
            chunk_size,
            chunk_count,
            next_chunk,
            privacy_level,
            started,
            sending_last,
            restarts,
        } = upload.clone();
        let last = next_chunk + 1 == chunk_count;
        let refused = |reason: String| {
            if restarts >= MAX_UPLOAD_RESTARTS {
                return Err(PublishError::Rejected {
                    reason: format!("{reason}; a new upload was refused too"),
                });
            }
            tracing::info!(reason, "TikTok refused an upload; starting a new one");
            Ok(Progress::Continue(
                Step::restart(privacy_level.clone(), restarts + 1).checkpoint(),
            ))
        };
        if started > 0 && chrono::Utc::now().timestamp() - started > UPLOAD_URL_LIFE_SECS {
            return refused("TikTok's upload URL expired before the video was sent".into());
        }
        if last && !sending_last {
            return Ok(Progress::Continue(
                Step::Uploading(Upload {
                    sending_last: true,
                    ..upload
                })
                .checkpoint(),
            ));
        }
        let Ok(_permit) = self.uploads.clone().try_acquire_owned() else {
            return Ok(Progress::Wait {
                checkpoint: Step::Uploading(upload).checkpoint(),
                after: Duration::seconds(5),
            });
        };
        let video = request.media_urls.first().cloned().unwrap_or_default();
        let (start, end) = chunk_range(next_chunk, video_size, chunk_size, chunk_count);
        let body = self
            .media
            .range(&video, start, end, video_size)
            .await
            .map_err(fetch_refusal)?;
        let answer = self
            .http
            .put_body(
                "TikTok (sending the video)",
                &upload_url,
                &[
                    (
                        "content-type",
                        video_type(&video).unwrap_or("video/mp4").to_owned(),
                    ),
                    ("content-range", format!("bytes {start}-{end}/{video_size}")),
                ],
                body,
                self.config.transfer_timeouts.total,
            )
            .await?;
        let status = answer.status.as_u16();
        let processing = Step::Processing {
            publish_id: publish_id.clone(),
            polls: 0,
            privacy_level: privacy_level.clone(),
        };
        match status {
            200..=299 if last => Ok(Progress::Continue(processing.checkpoint())),
            200..=299 => Ok(Progress::Wait {
                checkpoint: Step::Uploading(Upload {
                    next_chunk: next_chunk + 1,
                    ..upload
                })
                .checkpoint(),
                after: Duration::zero(),
            }),
            429 => Err(PublishError::RateLimited {
                after: Duration::minutes(1),
            }),
            // A rescue after the last chunk was marked: TikTok may have it already, and the
            // publication's status says what became of it.
            400..=499 if sending_last && request.resumed => {
                Ok(Progress::Continue(processing.checkpoint()))
            }
            400..=407 | 409..=499 => refused(format!(
                "TikTok refused chunk {} of {chunk_count} of the video (HTTP {status}{})",
                next_chunk + 1,
                tiktok_words(&answer.body)
            )),
            _ => Err(PublishError::Retryable {
                reason: format!("TikTok did not take a chunk of the video (HTTP {status})"),
                after: None,
            }),
        }
    }

    /// The account's public video made since `since` whose text is this post's, if TikTok has
    /// one (`video/list`, scope `video.list`, newest first, the first 20). A lookup TikTok
    /// refuses (a scope not granted) finds nothing; one that fails is retried.
    async fn find_started(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        since: i64,
    ) -> Result<Option<Published>, PublishError> {
        let listed = self
            .call(
                "looking for the post among the account's videos",
                "video/list/",
                token,
                &[("fields", "id,title,video_description,create_time,share_url")],
                &json!({ "max_count": 20 }),
            )
            .await;
        let data = match listed {
            Ok(data) => data,
            Err(e @ (PublishError::Retryable { .. } | PublishError::RateLimited { .. })) => {
                return Err(e);
            }
            Err(_) => return Ok(None),
        };
        let text = request.text();
        let ours = |video: &&Value| {
            let said = |field: &str| video.get(field).and_then(Value::as_str).map(str::trim);
            let same_text = said("video_description") == Some(text.trim())
                || said("title") == Some(text.trim());
            let made = video
                .get("create_time")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            same_text && made >= since
        };
        let videos = data.get("videos").and_then(Value::as_array);
        Ok(videos
            .and_then(|videos| videos.iter().find(ours))
            .and_then(|video| {
                let id = video.get("id").and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })?;
                Some(Published {
                    remote_id: id,
                    url: video
                        .get("share_url")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            }))
    }

    /// Where a publication stands.
    async fn poll(
        &self,
        token: &SecretString,
        publish_id: String,
        polls: u32,
        privacy_level: String,
    ) -> Result<Progress, PublishError> {
        let data = self
            .call(
                "checking the publication",
                "post/publish/status/fetch/",
                token,
                &[],
                &json!({ "publish_id": publish_id }),
            )
            .await?;
        match data
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "PUBLISH_COMPLETE" => {
                // TikTok spells it so; a private post has no public id, only the publish id.
                let public = data
                    .pointer("/publicaly_available_post_id/0")
                    .and_then(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .or_else(|| v.as_u64().map(|n| n.to_string()))
                    });
                Ok(Progress::Published(Published {
                    remote_id: public.unwrap_or(publish_id),
                    url: None,
                }))
            }
            "FAILED" => failed(
                data.get("fail_reason")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown"),
                privacy_level,
                self.config.cap_wait,
            ),
            _ if polls >= self.config.max_polls => Err(PublishError::Rejected {
                reason: format!(
                    "TikTok was still processing the post after {polls} checks; it may still \
                     appear — look in the TikTok app before rescheduling it"
                ),
            }),
            _ => Ok(Progress::Wait {
                checkpoint: Step::Processing {
                    publish_id,
                    polls: polls + 1,
                    privacy_level,
                }
                .checkpoint(),
                after: self.config.poll_interval,
            }),
        }
    }
}

#[async_trait::async_trait]
impl Publisher for TikTokPublisher {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        let token = request.token()?;
        let step = match request.step::<Step>()? {
            None => {
                let privacy_level = self.privacy_level(token).await?;
                return Ok(Progress::Continue(Step::start(privacy_level).checkpoint()));
            }
            Some(step) => step,
        };
        match step {
            Step::Init {
                privacy_level,
                since,
                looks,
                restarts,
                video_size,
            } => {
                if request.resumed
                    && let Some(since) = since
                {
                    // An earlier claim may have started this publication and lost TikTok's
                    // answer: look for it among the account's public videos, and give a
                    // publication still in moderation time to appear, before starting another.
                    if let Some(published) = self.find_started(request, token, since).await? {
                        return Ok(Progress::Published(published));
                    }
                    if looks < self.config.init_lookups {
                        return Ok(Progress::Wait {
                            checkpoint: Step::Init {
                                privacy_level,
                                since: Some(since),
                                looks: looks + 1,
                                restarts,
                                video_size,
                            }
                            .checkpoint(),
                            after: self.config.init_lookup_wait,
                        });
                    }
                }
                if let Some(video) = self.video_to_upload(request)
                    && video_size.is_none()
                {
                    let size = self.media.size(video).await.map_err(fetch_refusal)?;
                    return Ok(Progress::Continue(
                        Step::Init {
                            privacy_level,
                            since,
                            looks,
                            restarts,
                            video_size: Some(size),
                        }
                        .checkpoint(),
                    ));
                }
                self.init(request, token, &privacy_level, restarts, video_size)
                    .await
            }
            Step::Uploading(upload) => self.upload_chunk(request, upload).await,
            Step::Processing {
                publish_id,
                polls,
                privacy_level,
            } => self.poll(token, publish_id, polls, privacy_level).await,
        }
    }

    /// Nothing starts before an `Init` checkpoint is stored; TikTok cannot be asked about a
    /// publication without its `publish_id`.
    async fn lookup(&self, _idempotency_key: &str) -> Result<Option<Published>, PublishError> {
        Ok(None)
    }

    /// The video's counters (`video/query`, scope `video.list`): views as impressions.
    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        let token = request.token()?;
        let data = self
            .call(
                "reading the video's counters",
                "video/query/",
                token,
                &[(
                    "fields",
                    "id,view_count,like_count,comment_count,share_count",
                )],
                &json!({ "filters": { "video_ids": [request.remote_id] } }),
            )
            .await?;
        let video = data.pointer("/videos/0").cloned().unwrap_or(Value::Null);
        let count = |field: &str| video.get(field).and_then(Value::as_u64).unwrap_or(0);
        Ok(MetricCounts {
            impressions: count("view_count"),
            reach: 0,
            likes: count("like_count"),
            comments: count("comment_count"),
            shares: count("share_count"),
            clicks: 0,
        })
    }
}
