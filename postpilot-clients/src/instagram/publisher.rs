//! Instagram, through the *Instagram API with Instagram Login* (`graph.instagram.com`): images,
//! reels and carousels, published in the container flow Meta documents — create a container
//! (for a carousel, one per item and then the carousel's), poll its `status_code` until
//! `FINISHED`, then `media_publish` it.
//!
//! Every step is a checkpoint (DECISIONS.md 52): the container id is stored as soon as Meta
//! gives it, and the step before `media_publish` is stored before it is called. A container is
//! published at most once by Meta, and its `status_code` says `PUBLISHED` once it is, so a
//! resumed publication reconciles — it finds the published post among the account's latest
//! media by its caption — instead of publishing again. A container that expired (24 hours) is
//! made again; one that Meta could not process fails the post with Meta's reason.

use chrono::Duration;
use postpilot_core::analytics::MetricCounts;
use postpilot_core::crypto::SecretString;
use postpilot_core::post::Published;
use postpilot_core::publish::{
    AccountAccess, Checkpoint, MetricsRequest, Progress, PublishError, PublishRequest, Publisher,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::Timeouts;
use crate::media::is_video;
use crate::meta::{GraphApi, insight};

/// Where Instagram is, and how patiently to wait for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstagramConfig {
    /// The Graph API host (`POSTPILOT_INSTAGRAM_GRAPH_URL`): `https://graph.instagram.com`.
    pub graph_url: String,
    /// The Graph API version in every path.
    pub api_version: String,
    /// The wait between two polls of a container being processed.
    pub poll_interval: Duration,
    /// Polls before a container still processing fails the post (120 × 5 s: ten minutes).
    pub max_polls: u32,
    /// The timeouts of every call.
    pub timeouts: Timeouts,
}

impl Default for InstagramConfig {
    fn default() -> Self {
        Self {
            graph_url: "https://graph.instagram.com".into(),
            api_version: "v23.0".into(),
            poll_interval: Duration::seconds(5),
            max_polls: 120,
            timeouts: Timeouts::default(),
        }
    }
}

/// The Instagram publisher.
#[derive(Clone, Debug)]
pub struct InstagramPublisher {
    graph: GraphApi,
    config: InstagramConfig,
}

/// Where a publication stands: the checkpoint's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    /// A carousel's item containers made so far, in order.
    Items { items: Vec<String> },
    /// A container made, being processed; `polls` so far.
    Container { container: String, polls: u32 },
    /// The container is processed; the next call publishes it.
    Publish { container: String },
}

impl Step {
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint::of(self)
    }
}

/// A container's processing state (`status_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContainerStatus {
    InProgress,
    Finished,
    Published,
    Error,
    Expired,
}

impl InstagramPublisher {
    /// A publisher with `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: InstagramConfig) -> Result<Self, String> {
        Ok(Self {
            graph: GraphApi::new(
                "Instagram",
                &config.graph_url,
                &config.api_version,
                config.timeouts,
            )?,
            config,
        })
    }

    /// Makes a container: a whole post (`caption` given), or a carousel item.
    async fn create_container(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        form: &[(&str, &str)],
    ) -> Result<String, PublishError> {
        let path = format!("{}/media", request.account_external_id);
        let body = self
            .graph
            .call(
                "creating the media container",
                Method::POST,
                &path,
                token,
                &[],
                form,
            )
            .await?;
        self.graph.id_of(&body, "the container")
    }

    /// The first step of a publication: the post's container, or a carousel's first item.
    async fn start(
        &self,
        request: &PublishRequest,
        token: &SecretString,
    ) -> Result<Progress, PublishError> {
        match request.media_urls.as_slice() {
            [] => Err(PublishError::Rejected {
                reason: "an Instagram post needs an image or a video".into(),
            }),
            [url] => {
                let text = request.text();
                let form: Vec<(&str, &str)> = if is_video(url) {
                    vec![
                        ("media_type", "REELS"),
                        ("video_url", url),
                        ("caption", &text),
                    ]
                } else {
                    vec![("image_url", url), ("caption", &text)]
                };
                let container = self.create_container(request, token, &form).await?;
                Ok(Progress::Continue(
                    Step::Container {
                        container,
                        polls: 0,
                    }
                    .checkpoint(),
                ))
            }
            _ => self.next_item(request, token, Vec::new()).await,
        }
    }

    /// The next carousel item's container, or, all made, the carousel's own.
    async fn next_item(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        mut items: Vec<String>,
    ) -> Result<Progress, PublishError> {
        if let Some(url) = request.media_urls.get(items.len()) {
            let form: Vec<(&str, &str)> = if is_video(url) {
                vec![
                    ("is_carousel_item", "true"),
                    ("media_type", "VIDEO"),
                    ("video_url", url),
                ]
            } else {
                vec![("is_carousel_item", "true"), ("image_url", url)]
            };
            items.push(self.create_container(request, token, &form).await?);
            return Ok(Progress::Continue(Step::Items { items }.checkpoint()));
        }
        let children = items.join(",");
        let text = request.text();
        let form = [
            ("media_type", "CAROUSEL"),
            ("children", children.as_str()),
            ("caption", text.as_str()),
        ];
        let container = self.create_container(request, token, &form).await?;
        Ok(Progress::Continue(
            Step::Container {
                container,
                polls: 0,
            }
            .checkpoint(),
        ))
    }

    async fn status(
        &self,
        container: &str,
        token: &SecretString,
    ) -> Result<(ContainerStatus, String), PublishError> {
        let body = self
            .graph
            .call(
                "checking the container",
                Method::GET,
                container,
                token,
                &[("fields", "status_code,status")],
                &[],
            )
            .await?;
        let detail = body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let status = match body.get("status_code").and_then(Value::as_str) {
            Some("FINISHED") => ContainerStatus::Finished,
            Some("PUBLISHED") => ContainerStatus::Published,
            Some("ERROR") => ContainerStatus::Error,
            Some("EXPIRED") => ContainerStatus::Expired,
            Some("IN_PROGRESS") => ContainerStatus::InProgress,
            other => {
                return Err(PublishError::Retryable {
                    reason: format!("Instagram answered an unknown container status {other:?}"),
                    after: None,
                });
            }
        };
        Ok((status, detail))
    }

    /// Finds the post a published container became: the newest of the account's latest media
    /// whose caption is this post's.
    async fn reconcile(
        &self,
        request: &PublishRequest,
        token: &SecretString,
    ) -> Result<Progress, PublishError> {
        let path = format!("{}/media", request.account_external_id);
        let body = self
            .graph
            .call(
                "listing the account's media",
                Method::GET,
                &path,
                token,
                &[("fields", "id,caption,permalink"), ("limit", "25")],
                &[],
            )
            .await?;
        let text = request.text();
        let found = body
            .get("data")
            .and_then(Value::as_array)
            .and_then(|media| {
                media
                    .iter()
                    .find(|m| m.get("caption").and_then(Value::as_str) == Some(text.as_str()))
            });
        match found {
            Some(media) => Ok(Progress::Published(Published {
                remote_id: self.graph.id_of(media, "a media")?,
                url: media
                    .get("permalink")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })),
            None => Err(PublishError::Retryable {
                reason: "Instagram shows the post published, but it is not listed yet".into(),
                after: Some(Duration::seconds(30)),
            }),
        }
    }

    async fn publish_container(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        container: &str,
    ) -> Result<Progress, PublishError> {
        let path = format!("{}/media_publish", request.account_external_id);
        let body = self
            .graph
            .call(
                "publishing the container",
                Method::POST,
                &path,
                token,
                &[],
                &[("creation_id", container)],
            )
            .await?;
        let remote_id = self.graph.id_of(&body, "the publication")?;
        // The link is a nicety: the post is public whether or not it can be read now.
        let url = self
            .graph
            .call(
                "reading the post's link",
                Method::GET,
                &remote_id,
                token,
                &[("fields", "permalink")],
                &[],
            )
            .await
            .ok()
            .and_then(|b| {
                b.get("permalink")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        Ok(Progress::Published(Published { remote_id, url }))
    }

    /// What a container's state leads to, from the `Container` or `Publish` step.
    async fn after_status(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        container: String,
        polls: u32,
        publish_when_finished: bool,
    ) -> Result<Progress, PublishError> {
        let (status, detail) = self.status(&container, token).await?;
        match status {
            ContainerStatus::Published => self.reconcile(request, token).await,
            ContainerStatus::Finished if publish_when_finished => {
                self.publish_container(request, token, &container).await
            }
            ContainerStatus::Finished => {
                Ok(Progress::Continue(Step::Publish { container }.checkpoint()))
            }
            ContainerStatus::InProgress if polls >= self.config.max_polls => {
                Err(PublishError::Rejected {
                    reason: format!(
                        "Instagram was still processing the media after {polls} checks"
                    ),
                })
            }
            ContainerStatus::InProgress => Ok(Progress::Wait {
                checkpoint: Step::Container {
                    container,
                    polls: polls + 1,
                }
                .checkpoint(),
                after: self.config.poll_interval,
            }),
            ContainerStatus::Error => Err(PublishError::Rejected {
                reason: format!("Instagram could not process the media ({detail})"),
            }),
            // Containers expire after 24 hours unpublished: make the post's again.
            ContainerStatus::Expired => self.start(request, token).await,
        }
    }
}

#[async_trait::async_trait]
impl Publisher for InstagramPublisher {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        let token = request.token()?;
        let step = match request.step::<Step>()? {
            None => return self.start(request, token).await,
            Some(step) => step,
        };
        match step {
            Step::Items { items } => self.next_item(request, token, items).await,
            Step::Container { container, polls } => {
                self.after_status(request, token, container, polls, false)
                    .await
            }
            Step::Publish { container } => {
                self.after_status(request, token, container, 0, true).await
            }
        }
    }

    /// Instagram has no idempotency key. Nothing is public before a `Publish` checkpoint is
    /// stored, so a post rescued without a checkpoint was at most left as an unpublished
    /// container, which expires by itself: "not there" is the truth.
    async fn lookup(&self, _idempotency_key: &str) -> Result<Option<Published>, PublishError> {
        Ok(None)
    }

    /// The media's insights (`views`, `reach`, `likes`, `comments`, `shares`, lifetime values);
    /// `views` counts as impressions. Instagram has no link clicks on posts.
    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        let token = request.token()?;
        let path = format!("{}/insights", request.remote_id);
        let body = self
            .graph
            .call(
                "reading the post's insights",
                Method::GET,
                &path,
                token,
                &[("metric", "views,reach,likes,comments,shares")],
                &[],
            )
            .await?;
        let value = |name: &str| insight(&body, name);
        Ok(MetricCounts {
            impressions: value("views"),
            reach: value("reach"),
            likes: value("likes"),
            comments: value("comments"),
            shares: value("shares"),
            clicks: 0,
        })
    }

    /// `content_publishing_limit`'s `config.quota_total`: the posts Instagram publishes for the
    /// account in its rolling 24 hours (`quota_duration`, 86,400 s). `Ok(None)` when the answer
    /// has no total (the cap known before applies).
    async fn publishing_cap(&self, account: &AccountAccess) -> Result<Option<u32>, PublishError> {
        let token = account.token()?;
        let path = format!("{}/content_publishing_limit", account.account_external_id);
        let body = self
            .graph
            .call(
                "reading the account's publishing limit",
                Method::GET,
                &path,
                token,
                &[("fields", "config,quota_usage")],
                &[],
            )
            .await?;
        Ok(body
            .pointer("/data/0/config/quota_total")
            .and_then(Value::as_u64)
            .and_then(|total| u32::try_from(total).ok()))
    }
}
