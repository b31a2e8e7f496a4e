//! A platform publisher written in Python: an object with `publish(post)` and, optionally,
//! `lookup(idempotency_key)` and `fetch_metrics(remote_id)`, called by the Rust scheduler on a
//! blocking thread with the GIL. `publish` returns the platform's id (a string) or a dict
//! `{"remote_id": …, "url": …}`; raising `postpilot.PublishRejected` fails the post for good,
//! `postpilot.AuthExpired` marks the account for reconnection, anything else is retried.

use async_trait::async_trait;
use postpilot_core::analytics::MetricCounts;
use postpilot_core::post::Published;
use postpilot_core::publish::{PublishError, PublishRequest, Publisher};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub(crate) struct PyPublisher {
    object: Py<PyAny>,
}

impl std::fmt::Debug for PyPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PyPublisher")
    }
}

impl PyPublisher {
    pub(crate) fn new(object: Py<PyAny>) -> Self {
        Self { object }
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>) -> Result<T, PublishError> + Send + 'static,
    ) -> Result<T, PublishError> {
        let object = Python::attach(|py| self.object.clone_ref(py));
        tokio::task::spawn_blocking(move || Python::attach(|py| f(py, object.bind(py))))
            .await
            .map_err(|e| PublishError::Retryable {
                reason: e.to_string(),
                after: None,
            })?
    }
}

fn classify(py: Python<'_>, err: &PyErr) -> PublishError {
    if err.is_instance_of::<crate::PublishRejected>(py) {
        PublishError::Rejected {
            reason: err.value(py).to_string(),
        }
    } else if err.is_instance_of::<crate::AuthExpired>(py) {
        PublishError::AuthExpired
    } else {
        PublishError::Retryable {
            reason: err.to_string(),
            after: None,
        }
    }
}

fn published(value: &Bound<'_, PyAny>) -> PyResult<Published> {
    if let Ok(remote_id) = value.extract::<String>() {
        return Ok(Published {
            remote_id,
            url: None,
        });
    }
    let remote_id: String = value.get_item("remote_id")?.extract()?;
    let url: Option<String> = value.get_item("url").ok().and_then(|u| u.extract().ok());
    Ok(Published { remote_id, url })
}

#[async_trait]
impl Publisher for PyPublisher {
    async fn publish(&self, request: &PublishRequest) -> Result<Published, PublishError> {
        let request = request.clone();
        self.call(move |py, object| {
            let post = PyDict::new(py);
            let fill = || -> PyResult<()> {
                post.set_item("post_id", request.post_id.as_uuid())?;
                post.set_item("user_id", request.user_id.as_uuid())?;
                post.set_item("account_id", request.account_id.as_uuid())?;
                post.set_item("account_external_id", &request.account_external_id)?;
                post.set_item("platform", request.platform.as_str())?;
                post.set_item("idempotency_key", &request.idempotency_key)?;
                post.set_item("caption", &request.caption)?;
                post.set_item("hashtags", &request.hashtags)?;
                post.set_item("media_urls", &request.media_urls)?;
                post.set_item(
                    "access_token",
                    request.access_token.as_ref().map(|t| t.expose()),
                )?;
                Ok(())
            };
            fill().map_err(|e| classify(py, &e))?;
            let value = object
                .call_method1("publish", (post,))
                .map_err(|e| classify(py, &e))?;
            published(&value).map_err(|e| PublishError::Retryable {
                reason: format!("publish() must return a remote id or {{'remote_id': …}}: {e}"),
                after: None,
            })
        })
        .await
    }

    async fn lookup(&self, idempotency_key: &str) -> Result<Option<Published>, PublishError> {
        let key = idempotency_key.to_owned();
        self.call(move |py, object| {
            if !object.hasattr("lookup").unwrap_or(false) {
                return Ok(None);
            }
            let value = object
                .call_method1("lookup", (key,))
                .map_err(|e| classify(py, &e))?;
            if value.is_none() {
                return Ok(None);
            }
            published(&value).map(Some).map_err(|e| classify(py, &e))
        })
        .await
    }

    async fn fetch_metrics(&self, remote_id: &str) -> Result<MetricCounts, PublishError> {
        let remote_id = remote_id.to_owned();
        self.call(move |py, object| {
            if !object.hasattr("fetch_metrics").unwrap_or(false) {
                return Ok(MetricCounts::default());
            }
            let value = object
                .call_method1("fetch_metrics", (remote_id,))
                .map_err(|e| classify(py, &e))?;
            let get = |key: &str| -> u64 {
                value
                    .get_item(key)
                    .ok()
                    .and_then(|v| v.extract().ok())
                    .unwrap_or(0)
            };
            Ok(MetricCounts {
                impressions: get("impressions"),
                reach: get("reach"),
                likes: get("likes"),
                comments: get("comments"),
                shares: get("shares"),
                clicks: get("clicks"),
            })
        })
        .await
    }
}
