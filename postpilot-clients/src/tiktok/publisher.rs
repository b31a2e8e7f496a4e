//! Publishing to TikTok with the Content Posting API's *Direct Post*: first
//! `creator_info/query` (TikTok requires it: the privacy levels the creator allows), then
//! `video/init` (one video, `PULL_FROM_URL`) or `content/init` (photos, `media_type=PHOTO`),
//! then `status/fetch` polled until `PUBLISH_COMPLETE` — the post parked between polls, so no
//! worker waits on TikTok.
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

use crate::http::{Answer, HttpClient, Timeouts};
use crate::media::is_video;

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
}

impl Default for TikTokConfig {
    fn default() -> Self {
        Self {
            api_url: "https://open.tiktokapis.com".into(),
            poll_interval: Duration::seconds(10),
            max_polls: 120,
            cap_wait: Duration::hours(6),
            timeouts: Timeouts::default(),
        }
    }
}

/// The TikTok publisher.
#[derive(Clone, Debug)]
pub struct TikTokPublisher {
    http: HttpClient,
    config: TikTokConfig,
}

/// Where a publication stands: the checkpoint's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    /// The creator's privacy level is chosen; the next call starts the publication.
    Init { privacy_level: String },
    /// TikTok is pulling and processing the media; `polls` status checks so far. The privacy
    /// level is kept to start again if TikTok fails the publication for a passing reason.
    Processing {
        publish_id: String,
        polls: u32,
        privacy_level: String,
    },
}

impl Step {
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint::of(self)
    }
}

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
    let again = Step::Init { privacy_level }.checkpoint();
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
    ) -> Result<Progress, PublishError> {
        let text = request.text();
        let (path, body) = match request.media_urls.as_slice() {
            [] => {
                return Err(PublishError::Rejected {
                    reason: "a TikTok post needs a video or photos".into(),
                });
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
                return Ok(Progress::Continue(
                    Step::Init { privacy_level }.checkpoint(),
                ));
            }
            Some(step) => step,
        };
        match step {
            Step::Init { privacy_level } => self.init(request, token, &privacy_level).await,
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
