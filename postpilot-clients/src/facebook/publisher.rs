//! Publishing to a Facebook Page with the Page's own token: a text post (`/{page}/feed`), one
//! photo (`/{page}/photos` with its URL), one video (`/{page}/videos` with `file_url`), or
//! several photos (each uploaded unpublished, then one `/{page}/feed` post attaching them).
//!
//! Facebook takes no idempotency key, so a post is found instead of made twice (DECISIONS.md
//! 64): before the call that makes the post public, the checkpoint `Post { since }` is stored;
//! every call from that checkpoint first lists the Page's posts created since then and takes
//! the one whose message is this post's text, and publishes only if there is none. What stays
//! open is documented in PLATFORMS.md: a post Facebook accepted but does not list yet (a video
//! still processing) is not found, and two posts with the same text on one Page within the
//! clock margin cannot be told apart.

use chrono::{Duration, Utc};
use postpilot_core::analytics::MetricCounts;
use postpilot_core::crypto::SecretString;
use postpilot_core::post::Published;
use postpilot_core::publish::{
    Checkpoint, MetricsRequest, Progress, PublishError, PublishRequest, Publisher,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::Timeouts;
use crate::media::is_video;
use crate::meta::{GraphApi, insight, text, text_or_number};

/// Where Facebook is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacebookConfig {
    /// The Graph API host (`POSTPILOT_FACEBOOK_GRAPH_URL`): `https://graph.facebook.com`.
    pub graph_url: String,
    /// The Graph API version in every path.
    pub api_version: String,
    /// How far back of the moment before the public call a post found on the Page counts as
    /// ours: the allowance for our clock running ahead of Facebook's (whose times are whole
    /// seconds). It is also the window in which two posts with the same text on one Page
    /// cannot be told apart.
    pub clock_margin: Duration,
    /// The timeouts of every call.
    pub timeouts: Timeouts,
}

impl Default for FacebookConfig {
    fn default() -> Self {
        Self {
            graph_url: "https://graph.facebook.com".into(),
            api_version: "v23.0".into(),
            clock_margin: Duration::seconds(5),
            timeouts: Timeouts::default(),
        }
    }
}

/// The Facebook Pages publisher.
#[derive(Clone, Debug)]
pub struct FacebookPublisher {
    graph: GraphApi,
    config: FacebookConfig,
}

/// Where a publication stands: the checkpoint's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    /// A multi-photo post's photos uploaded (unpublished) so far, in order.
    Photos { photos: Vec<String> },
    /// Everything is uploaded; the next call makes the post public, after looking for one
    /// created since `since` (Unix seconds).
    Post { photos: Vec<String>, since: i64 },
}

impl Step {
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint::of(self)
    }
}

/// What the post is made of, by its media.
enum Shape<'a> {
    Text,
    Photo(&'a str),
    Video(&'a str),
    Photos,
}

fn shape(request: &PublishRequest) -> Result<Shape<'_>, PublishError> {
    match request.media_urls.as_slice() {
        [] => Ok(Shape::Text),
        [url] if is_video(url) => Ok(Shape::Video(url)),
        [url] => Ok(Shape::Photo(url)),
        urls if urls.iter().any(|u| is_video(u)) => Err(PublishError::Rejected {
            reason: "a Facebook post takes several photos or one video, not both".into(),
        }),
        _ => Ok(Shape::Photos),
    }
}

impl FacebookPublisher {
    /// A publisher with `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: FacebookConfig) -> Result<Self, String> {
        Ok(Self {
            graph: GraphApi::new(
                "Facebook",
                &config.graph_url,
                &config.api_version,
                config.timeouts,
            )?,
            config,
        })
    }

    /// The checkpoint before the public call.
    fn ready(&self, photos: Vec<String>) -> Progress {
        let since = (Utc::now() - self.config.clock_margin).timestamp();
        Progress::Continue(Step::Post { photos, since }.checkpoint())
    }

    /// Uploads the next photo unpublished, or, all uploaded, gets ready to post.
    async fn next_photo(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        mut photos: Vec<String>,
    ) -> Result<Progress, PublishError> {
        let Some(url) = request.media_urls.get(photos.len()) else {
            return Ok(self.ready(photos));
        };
        let path = format!("{}/photos", request.account_external_id);
        let body = self
            .graph
            .call(
                "uploading a photo",
                Method::POST,
                &path,
                token,
                &[],
                &[("url", url), ("published", "false")],
            )
            .await?;
        photos.push(self.graph.id_of(&body, "the photo")?);
        Ok(Progress::Continue(Step::Photos { photos }.checkpoint()))
    }

    /// The Page's post with this post's text created since `since`, if there is one.
    async fn find(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        since: i64,
    ) -> Result<Option<Published>, PublishError> {
        let path = format!("{}/posts", request.account_external_id);
        let since = since.to_string();
        let body = self
            .graph
            .call(
                "looking for the post",
                Method::GET,
                &path,
                token,
                &[
                    ("fields", "id,message,created_time,permalink_url"),
                    ("since", &since),
                    ("limit", "25"),
                ],
                &[],
            )
            .await?;
        let message = request.text();
        let found = body
            .get("data")
            .and_then(Value::as_array)
            .and_then(|posts| posts.iter().find(|p| text(p, "message") == Some(&message)));
        found
            .map(|post| {
                Ok(Published {
                    remote_id: self.graph.id_of(post, "a post")?,
                    url: text(post, "permalink_url").map(str::to_owned),
                })
            })
            .transpose()
    }

    /// The call that makes the post public.
    async fn post(
        &self,
        request: &PublishRequest,
        token: &SecretString,
        photos: &[String],
    ) -> Result<Progress, PublishError> {
        let page = &request.account_external_id;
        let message = request.text();
        let attached: Vec<(String, String)> = photos
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    format!("attached_media[{i}]"),
                    format!(r#"{{"media_fbid":"{id}"}}"#),
                )
            })
            .collect();
        let (path, mut form): (String, Vec<(&str, &str)>) = match shape(request)? {
            Shape::Text | Shape::Photos => (format!("{page}/feed"), vec![("message", &message)]),
            Shape::Photo(url) => (
                format!("{page}/photos"),
                vec![("url", url), ("message", &message)],
            ),
            Shape::Video(url) => (
                format!("{page}/videos"),
                vec![("file_url", url), ("description", &message)],
            ),
        };
        form.extend(attached.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let body = self
            .graph
            .call(
                "publishing the post",
                Method::POST,
                &path,
                token,
                &[],
                &form,
            )
            .await?;
        // A photo answers its own id and the post's; the post is what the merchant sees.
        let remote_id = match text_or_number(&body, "post_id") {
            Some(id) => id,
            None => self.graph.id_of(&body, "the post")?,
        };
        let url = Some(format!("https://www.facebook.com/{remote_id}"));
        Ok(Progress::Published(Published { remote_id, url }))
    }
}

#[async_trait::async_trait]
impl Publisher for FacebookPublisher {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        let token = request.token()?;
        let step = match request.step::<Step>()? {
            None => {
                return match shape(request)? {
                    Shape::Photos => self.next_photo(request, token, Vec::new()).await,
                    _ => Ok(self.ready(Vec::new())),
                };
            }
            Some(step) => step,
        };
        match step {
            Step::Photos { photos } => self.next_photo(request, token, photos).await,
            // Only a checkpoint from an earlier claim may have been acted on unseen: on the
            // call right after it was stored, looking would only risk taking another post with
            // the same text for this one.
            Step::Post { photos, .. } if !request.resumed => {
                self.post(request, token, &photos).await
            }
            Step::Post { photos, since } => match self.find(request, token, since).await? {
                Some(published) => Ok(Progress::Published(published)),
                None => self.post(request, token, &photos).await,
            },
        }
    }

    /// Nothing is public before a `Post` checkpoint is stored, and from it `publish` looks for
    /// the post itself: a post rescued without a checkpoint was never sent.
    async fn lookup(&self, _idempotency_key: &str) -> Result<Option<Published>, PublishError> {
        Ok(None)
    }

    /// Reactions, comments and shares from the post itself; impressions, reach and clicks from
    /// its insights when the Page has them (a Page under 100 likes, or a metric Meta retired,
    /// answers none: they count as 0).
    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        let token = request.token()?;
        let post = self
            .graph
            .call(
                "reading the post's counters",
                Method::GET,
                &request.remote_id,
                token,
                &[(
                    "fields",
                    "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)",
                )],
                &[],
            )
            .await?;
        let count = |pointer: &str| post.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        let path = format!("{}/insights", request.remote_id);
        let insights = self
            .graph
            .call(
                "reading the post's insights",
                Method::GET,
                &path,
                token,
                &[(
                    "metric",
                    "post_impressions,post_impressions_unique,post_clicks",
                )],
                &[],
            )
            .await
            .unwrap_or(Value::Null);
        let metric = |name: &str| insight(&insights, name);
        Ok(MetricCounts {
            impressions: metric("post_impressions"),
            reach: metric("post_impressions_unique"),
            likes: count("/reactions/summary/total_count"),
            comments: count("/comments/summary/total_count"),
            shares: count("/shares/count"),
            clicks: metric("post_clicks"),
        })
    }
}
