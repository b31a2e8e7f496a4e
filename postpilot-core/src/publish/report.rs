//! What a publication tick did, counted by outcome.

use crate::publish::AttemptOutcome;

/// What one tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Posts claimed.
    pub claimed: u32,
    /// Published now.
    pub posted: u32,
    /// Found already published by an earlier, interrupted attempt.
    pub reconciled: u32,
    /// Rescheduled after a transient failure or timeout.
    pub retried: u32,
    /// Postponed by a rate limit, held behind another post's failure, or held until the
    /// account is reconnected.
    pub snoozed: u32,
    /// Failed for good.
    pub failed: u32,
    /// Waiting for the platform to process a step (polled again later).
    pub processing: u32,
    /// Outcomes discarded because another worker took the claim over.
    pub lease_lost: u32,
    /// Posts left unsettled by a store or configuration failure; their claims lapse and another
    /// tick rescues them.
    pub errors: u32,
}

impl TickReport {
    pub(crate) fn count(&mut self, outcome: AttemptOutcome) {
        let slot = match outcome {
            AttemptOutcome::Posted => &mut self.posted,
            AttemptOutcome::Reconciled => &mut self.reconciled,
            AttemptOutcome::Retry | AttemptOutcome::TimedOut => &mut self.retried,
            AttemptOutcome::RateLimited | AttemptOutcome::AuthExpired => &mut self.snoozed,
            AttemptOutcome::Rejected | AttemptOutcome::GaveUp => &mut self.failed,
            AttemptOutcome::LeaseLost => &mut self.lease_lost,
            AttemptOutcome::Processing => &mut self.processing,
        };
        *slot += 1;
    }

    pub(crate) fn merge(&mut self, other: Self) {
        self.posted += other.posted;
        self.reconciled += other.reconciled;
        self.retried += other.retried;
        self.snoozed += other.snoozed;
        self.failed += other.failed;
        self.processing += other.processing;
        self.lease_lost += other.lease_lost;
        self.errors += other.errors;
    }
}
