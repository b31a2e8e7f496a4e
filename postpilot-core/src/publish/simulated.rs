//! A simulated platform: records every call, can fail or slow down on demand, and — like a real
//! platform without idempotency — creates a new remote post on every successful `publish`, so
//! tests can prove nothing is published twice. With [`SimulatedPublisher::set_processing`] it
//! publishes in steps as Instagram does (create a container, poll it until processed, publish
//! it), reconciling from its checkpoint like the real client must.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::analytics::MetricCounts;
use crate::platform::Platform;
use crate::post::Published;
use crate::publish::{
    Checkpoint, MetricsRequest, Progress, PublishError, PublishRequest, Publisher,
};

/// One call to [`Publisher::publish`], as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishCall {
    /// The idempotency key presented.
    pub idempotency_key: String,
    /// The caption sent.
    pub caption: String,
    /// Whether the call succeeded.
    pub succeeded: bool,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<PublishCall>,
    published: Vec<(String, Published)>,
    faults: VecDeque<PublishError>,
    latency: std::time::Duration,
    lookups: u64,
    /// Polls a container needs before it is processed; 0: one-step publishing.
    processing_polls: u32,
    /// Containers created, each with its publication once published.
    containers: Vec<Option<Published>>,
    /// Answers to lose after their step took effect.
    lost_answers: u32,
}

/// The simulated container flow's checkpoint.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ContainerStep {
    container: usize,
    polls: u32,
    publishing: bool,
}

impl ContainerStep {
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint::of(self)
    }
}

/// How long the simulated platform asks to wait between polls of a container.
pub const SIMULATED_POLL_INTERVAL: chrono::Duration = chrono::Duration::seconds(5);

/// An in-process stand-in for a platform API.
#[derive(Debug)]
pub struct SimulatedPublisher {
    platform: Platform,
    state: Mutex<State>,
}

impl SimulatedPublisher {
    /// A publisher for `platform` that succeeds at once.
    pub fn new(platform: Platform) -> Self {
        Self {
            platform,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `publish` calls fail with these errors, in order.
    pub fn fail_next(&self, error: PublishError) {
        self.state().faults.push_back(error);
    }

    /// Publishes in steps, as Instagram does: the first call creates a container and asks to
    /// wait; the container is processed at the `polls`-th poll, which asks to store the
    /// checkpoint before publishing; the next call publishes it (or, if an earlier attempt
    /// already did, reconciles). `0`: one-step publishing.
    pub fn set_processing(&self, polls: u32) {
        self.state().processing_polls = polls;
    }

    /// The next `n` publications take place but their answers are lost (returned as a
    /// transient failure), as when the connection drops after the platform published.
    pub fn lose_next_publish_answers(&self, n: u32) {
        self.state().lost_answers = n;
    }

    /// Containers created so far (0 in one-step mode).
    pub fn containers(&self) -> usize {
        self.state().containers.len()
    }

    /// Every `publish` waits this long first.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state().latency = latency;
    }

    /// Every `publish` call so far.
    pub fn calls(&self) -> Vec<PublishCall> {
        self.state().calls.clone()
    }

    /// How many remote posts exist for `idempotency_key` (more than one: a double post).
    pub fn published_count(&self, idempotency_key: &str) -> usize {
        self.state()
            .published
            .iter()
            .filter(|(key, _)| key == idempotency_key)
            .count()
    }

    /// Idempotency keys with more than one remote post (double posts), with their counts.
    pub fn duplicates(&self) -> Vec<(String, usize)> {
        let mut counts = std::collections::HashMap::<&str, usize>::new();
        let state = self.state();
        for (key, _) in &state.published {
            *counts.entry(key.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, n)| (k.to_owned(), n))
            .collect()
    }

    /// Remote posts created in all.
    pub fn total_published(&self) -> usize {
        self.state().published.len()
    }

    /// `lookup` calls so far.
    pub fn lookups(&self) -> u64 {
        self.state().lookups
    }

    /// Plants a remote post as if an earlier attempt had published it and crashed before
    /// committing (for reconciliation tests).
    pub fn preexisting(&self, idempotency_key: &str) -> Published {
        let mut state = self.state();
        let published = self.make_published(state.published.len() + 1);
        state
            .published
            .push((idempotency_key.to_owned(), published.clone()));
        published
    }

    fn make_published(&self, n: usize) -> Published {
        let remote_id = format!("sim-{}-{n}", self.platform);
        Published {
            url: Some(format!("https://{}.example/p/{remote_id}", self.platform)),
            remote_id,
        }
    }
}

impl SimulatedPublisher {
    /// One step's effect on the simulated platform.
    fn step(&self, state: &mut State, request: &PublishRequest) -> Progress {
        let publish = |state: &mut State| {
            let published = self.make_published(state.published.len() + 1);
            state
                .published
                .push((request.idempotency_key.clone(), published.clone()));
            published
        };
        if state.processing_polls == 0 {
            return Progress::Published(publish(state));
        }
        let resumed = request
            .checkpoint
            .as_ref()
            .and_then(|c| c.read::<ContainerStep>().ok())
            .filter(|step| step.container < state.containers.len());
        let Some(mut step) = resumed else {
            state.containers.push(None);
            let step = ContainerStep {
                container: state.containers.len() - 1,
                polls: 0,
                publishing: false,
            };
            return Progress::Wait {
                checkpoint: step.checkpoint(),
                after: SIMULATED_POLL_INTERVAL,
            };
        };
        if step.publishing {
            // A container is published once: an earlier attempt that did is reconciled.
            if let Some(published) = &state.containers[step.container] {
                return Progress::Published(published.clone());
            }
            let published = publish(state);
            state.containers[step.container] = Some(published.clone());
            return Progress::Published(published);
        }
        step.polls += 1;
        if step.polls < state.processing_polls {
            return Progress::Wait {
                checkpoint: step.checkpoint(),
                after: SIMULATED_POLL_INTERVAL,
            };
        }
        step.publishing = true;
        Progress::Continue(step.checkpoint())
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[async_trait]
impl Publisher for SimulatedPublisher {
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError> {
        let latency = self.state().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut state = self.state();
        let outcome = match state.faults.pop_front() {
            Some(fault) => Err(fault),
            None => {
                let before = state.published.len();
                let progress = self.step(&mut state, request);
                if state.published.len() > before && state.lost_answers > 0 {
                    state.lost_answers -= 1;
                    Err(PublishError::Retryable {
                        reason: "connection reset after the request was sent".into(),
                        after: None,
                    })
                } else {
                    Ok(progress)
                }
            }
        };
        state.calls.push(PublishCall {
            idempotency_key: request.idempotency_key.clone(),
            caption: request.caption.clone(),
            succeeded: matches!(outcome, Ok(Progress::Published(_))),
        });
        outcome
    }

    async fn lookup(&self, idempotency_key: &str) -> Result<Option<Published>, PublishError> {
        let mut state = self.state();
        state.lookups += 1;
        Ok(state
            .published
            .iter()
            .find(|(key, _)| key == idempotency_key)
            .map(|(_, p)| p.clone()))
    }

    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError> {
        let remote_id = request.remote_id.as_str();
        if !self
            .state()
            .published
            .iter()
            .any(|(_, p)| p.remote_id == remote_id)
        {
            return Err(PublishError::Rejected {
                reason: format!("no post {remote_id}"),
            });
        }
        // Deterministic, plausible counters derived from the id.
        let h = fnv1a(remote_id);
        let impressions = 500 + h % 9_500;
        let reach = impressions * 7 / 10;
        Ok(MetricCounts {
            impressions,
            reach,
            likes: impressions / 20 + (h >> 8) % 20,
            comments: impressions / 200 + (h >> 16) % 5,
            shares: impressions / 400 + (h >> 24) % 3,
            clicks: impressions / 100 + (h >> 32) % 10,
        })
    }
}
