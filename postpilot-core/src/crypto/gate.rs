//! [`HashConcurrency`]: how many password hashes or verifications may run at once, and how long
//! a request waits for a slot before it is shed.
//!
//! Each hash takes a core and 19 MiB for tens of milliseconds: unbounded, a burst of logins
//! queues on the blocking pool, eats memory and delays every request behind it. The gate wraps
//! the [`PasswordHasher`](super::PasswordHasher) port, whatever its implementation, and holds its
//! slot until the hash is finished — even when the request that asked for it is dropped (client
//! gone, timeout), because the work runs as its own task that owns the slot.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Error;

/// Bounds concurrent password hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashConcurrency {
    /// Hashes or verifications running at once (default: the cores available,
    /// `std::thread::available_parallelism`, or 1 if unknown).
    pub slots: NonZeroUsize,
    /// The longest a request waits for a slot before it is refused as
    /// [`Error::Overloaded`] (default 2 s).
    pub max_wait: Duration,
}

impl Default for HashConcurrency {
    fn default() -> Self {
        Self {
            slots: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            max_wait: Duration::from_secs(2),
        }
    }
}

/// The slots of [`HashConcurrency`].
#[derive(Debug)]
pub(crate) struct HashGate {
    slots: Arc<Semaphore>,
    max_wait: Duration,
}

impl HashGate {
    pub(crate) fn new(settings: HashConcurrency) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(settings.slots.get())),
            max_wait: settings.max_wait,
        }
    }

    /// A slot, waiting up to `max_wait` for one (without a time limit outside a tokio runtime:
    /// there is no timer to measure one).
    ///
    /// # Errors
    /// [`Error::Overloaded`] when no slot frees within `max_wait`.
    pub(crate) async fn enter(&self) -> Result<HashSlot, Error> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(HashSlot { _permit: slot });
        }
        let acquire = self.slots.clone().acquire_owned();
        let slot = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::time::timeout(self.max_wait, acquire)
                .await
                .map_err(|_| self.overloaded())?
        } else {
            acquire.await
        };
        // The semaphore is never closed, so `acquire_owned` does not fail.
        slot.map(|permit| HashSlot { _permit: permit })
            .map_err(|_| self.overloaded())
    }

    fn overloaded(&self) -> Error {
        let secs = self.max_wait.as_secs() + u64::from(self.max_wait.subsec_nanos() > 0);
        Error::Overloaded {
            what: "password hasher",
            retry_after: Duration::from_secs(secs.max(1)),
        }
    }
}

/// One of the [`HashGate`]'s slots, held until the work run in it is done.
#[derive(Debug)]
pub(crate) struct HashSlot {
    _permit: OwnedSemaphorePermit,
}

impl HashSlot {
    /// Runs `work` (a hash or a verification) in this slot.
    ///
    /// Inside a tokio runtime the work runs as a task of its own that keeps the slot until it is
    /// done, so dropping the caller's future does not free a slot while its hash still runs.
    /// Outside a runtime it runs inline.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the task running the work panicked.
    pub(crate) async fn run<T: Send + 'static>(
        self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Error> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let _slot = self;
            return Ok(work.await);
        };
        runtime
            .spawn(async move {
                let _slot = self;
                work.await
            })
            .await
            .map_err(|e| Error::unavailable("password hasher", e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;

    use super::*;

    async fn run<T: Send + 'static>(
        gate: &HashGate,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Error> {
        gate.enter().await?.run(work).await
    }

    /// Starts a hash that holds a slot of `gate` until `release` is notified; returns once it runs.
    async fn hold_a_slot(
        gate: &Arc<HashGate>,
    ) -> (Arc<Notify>, tokio::task::JoinHandle<Result<(), Error>>) {
        let release = Arc::new(Notify::new());
        let started = Arc::new(Notify::new());
        let holder = {
            let (gate, release, started) = (gate.clone(), release.clone(), started.clone());
            tokio::spawn(async move {
                run(&gate, async move {
                    started.notify_one();
                    release.notified().await;
                })
                .await
            })
        };
        started.notified().await;
        (release, holder)
    }

    fn gate(slots: usize, max_wait_secs: u64) -> Arc<HashGate> {
        Arc::new(HashGate::new(HashConcurrency {
            slots: NonZeroUsize::new(slots).unwrap(),
            max_wait: Duration::from_secs(max_wait_secs),
        }))
    }

    #[test]
    fn by_default_there_is_a_slot_per_core_and_a_two_second_wait() {
        let settings = HashConcurrency::default();
        assert_eq!(
            settings.slots,
            std::thread::available_parallelism().unwrap()
        );
        assert_eq!(settings.max_wait, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_finds_no_slot_within_the_wait_is_overloaded_with_a_retry_hint() {
        let gate = gate(1, 2);
        let (release, first) = hold_a_slot(&gate).await;

        let waited_from = tokio::time::Instant::now();
        let second = run(&gate, async {}).await;

        assert!(waited_from.elapsed() >= Duration::from_secs(2));
        match second {
            Err(Error::Overloaded { what, retry_after }) => {
                assert_eq!(what, "password hasher");
                assert_eq!(retry_after, Duration::from_secs(2));
            }
            other => panic!("expected Overloaded, got {other:?}"),
        }
        release.notify_one();
        first.await.unwrap().unwrap();
        run(&gate, async {}).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_waits_for_a_slot_that_frees_within_the_wait() {
        let gate = gate(1, 2);
        let (release, first) = hold_a_slot(&gate).await;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            release.notify_one();
        });

        assert_eq!(run(&gate, async { 7 }).await.unwrap(), 7);
        first.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_never_runs_more_hashes_at_once_than_there_are_slots() {
        let gate = gate(2, 600);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let burst: Vec<_> = (0..16)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    run(&gate, async move {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();

        for request in burst {
            request.await.unwrap().unwrap();
        }

        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_request_keeps_its_slot_until_its_hash_is_done() {
        let gate = gate(1, 2);
        let (release, abandoned) = hold_a_slot(&gate).await;

        abandoned.abort();
        let _ = abandoned.await;

        assert!(matches!(
            run(&gate, async {}).await,
            Err(Error::Overloaded { .. })
        ));
        release.notify_one();
        run(&gate, async {}).await.unwrap();
    }
}
