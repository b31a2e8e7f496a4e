//! The session epochs of recent callers, cached briefly so a bearer request makes no extra read.

use postpilot_core::id::UserId;

/// Session epochs per user, each kept for a short time (`HttpConfig::session_epoch_cache`):
/// within this process an ended session is refused at once (the change writes through here);
/// another process sharing the database refuses it once its entry expires.
#[derive(Debug)]
pub(crate) struct EpochCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<UserId, (i64, std::time::Instant)>>,
}

impl EpochCache {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::Mutex::default(),
        }
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<UserId, (i64, std::time::Instant)>>
    {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `user`'s epoch, if read within the last `ttl`.
    pub(crate) fn get(&self, user: UserId) -> Option<i64> {
        let entries = self.entries();
        let (epoch, at) = entries.get(&user)?;
        (at.elapsed() < self.ttl).then_some(*epoch)
    }

    /// Records `user`'s current epoch (after a read, or after this process moved it on).
    pub(crate) fn put(&self, user: UserId, epoch: i64) {
        let mut entries = self.entries();
        if entries.len() > 100_000 {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        entries.insert(user, (epoch, std::time::Instant::now()));
    }
}
