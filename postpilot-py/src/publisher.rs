//! A platform publisher written in Python: an object with `publish(post)` and, optionally,
//! `lookup(idempotency_key)` and `fetch_metrics(remote_id)`, called by the Rust scheduler on a
//! blocking thread with the GIL. `publish` returns the platform's id (a string) or a dict
//! `{"remote_id": …, "url": …}`; raising `postpilot.PublishRejected` fails the post for good,
//! `postpilot.AuthExpired` marks the account for reconnection, `postpilot.RateLimited(seconds)`
//! waits without counting an attempt, anything else is retried.
//!
//! A publisher that publishes in steps (a container to process, an upload to poll) returns
//! `{"checkpoint": …}` to have the checkpoint stored before it is called again at once, or
//! `{"checkpoint": …, "wait_seconds": n}` to be called again after `n` seconds; the post's dict
//! carries the last checkpoint under `"checkpoint"` (`None` at first). A checkpoint is any value
//! `json.dumps` accepts.

use async_trait::async_trait;
use postpilot_core::analytics::MetricCounts;
use postpilot_core::post::Published;
use postpilot_core::publish::{
    Checkpoint, MetricsRequest, Progress, PublishError, PublishRequest, Publisher,
};
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
        on_blocking_thread(&self.object, f, |reason| PublishError::Retryable {
            reason,
            after: None,
        })
        .await
    }
}

/// Calls `f` with `object` on a blocking thread holding the GIL, so the engine's runtime keeps
/// running while Python code does; `lost` is the error when that thread panicked.
pub(crate) async fn on_blocking_thread<T: Send + 'static, E: Send + 'static>(
    object: &Py<PyAny>,
    f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>) -> Result<T, E> + Send + 'static,
    lost: impl FnOnce(String) -> E,
) -> Result<T, E> {
    let object = Python::attach(|py| object.clone_ref(py));
    tokio::task::spawn_blocking(move || Python::attach(|py| f(py, object.bind(py))))
        .await
        .map_err(|e| lost(e.to_string()))?
}

fn classify(py: Python<'_>, err: &PyErr) -> PublishError {
    if err.is_instance_of::<crate::PublishRejected>(py) {
        PublishError::Rejected {
            reason: err.value(py).to_string(),
        }
    } else if err.is_instance_of::<crate::AuthExpired>(py) {
        PublishError::AuthExpired
    } else if err.is_instance_of::<crate::RateLimited>(py) {
        PublishError::RateLimited {
            after: retry_after(py, err),
        }
    } else {
        PublishError::Retryable {
            reason: err.to_string(),
            after: None,
        }
    }
}

/// The wait a `RateLimited(seconds)` asks for: its first argument, when it is a non-negative
/// number of at most a day; else a minute.
fn retry_after(py: Python<'_>, err: &PyErr) -> chrono::Duration {
    const DEFAULT: chrono::Duration = chrono::Duration::seconds(60);
    let seconds = err
        .value(py)
        .getattr("args")
        .and_then(|args| args.get_item(0))
        .and_then(|first| first.extract::<f64>())
        .ok()
        .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s));
    #[allow(clippy::cast_possible_truncation)]
    seconds.map_or(DEFAULT, |s| {
        chrono::Duration::milliseconds((s * 1000.0) as i64)
    })
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

/// What `publish` returned: a publication, or a checkpoint to store (and a wait).
fn progress(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Progress> {
    let checkpoint = match value.cast::<PyDict>() {
        Ok(dict) => dict.get_item("checkpoint")?,
        Err(_) => None,
    };
    let Some(checkpoint) = checkpoint else {
        return published(value).map(Progress::Published);
    };
    let json: String = py
        .import("json")?
        .call_method1("dumps", (checkpoint,))?
        .extract()?;
    let checkpoint = Checkpoint::new(serde_json::from_str(&json).map_err(|e| {
        pyo3::exceptions::PyValueError::new_err(format!("checkpoint is not JSON: {e}"))
    })?);
    Ok(match value.get_item("wait_seconds").ok() {
        Some(wait) if !wait.is_none() => {
            let seconds: f64 = wait.extract()?;
            if !seconds.is_finite() || seconds < 0.0 {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "wait_seconds must be a non-negative number",
                ));
            }
            #[allow(clippy::cast_possible_truncation)]
            let after = chrono::Duration::milliseconds((seconds * 1000.0).min(8.64e10) as i64);
            Progress::Wait { checkpoint, after }
        }
        _ => Progress::Continue(checkpoint),
    })
}

/// The checkpoint as the Python value it was given as.
fn checkpoint_value<'py>(
    py: Python<'py>,
    checkpoint: Option<&Checkpoint>,
) -> PyResult<Bound<'py, PyAny>> {
    match checkpoint {
        None => Ok(py.None().into_bound(py)),
        Some(c) => py
            .import("json")?
            .call_method1("loads", (c.state().to_string(),)),
    }
}

#[async_trait]
impl Publisher for PyPublisher {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
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
                post.set_item(
                    "checkpoint",
                    checkpoint_value(py, request.checkpoint.as_ref())?,
                )?;
                post.set_item("resumed", request.resumed)?;
                Ok(())
            };
            fill().map_err(|e| classify(py, &e))?;
            let value = object
                .call_method1("publish", (post,))
                .map_err(|e| classify(py, &e))?;
            progress(py, &value).map_err(|e| PublishError::Retryable {
                reason: format!(
                    "publish() must return a remote id, {{'remote_id': …}} or \
                     {{'checkpoint': …[, 'wait_seconds': n]}}: {e}"
                ),
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

    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        let remote_id = request.remote_id.clone();
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
