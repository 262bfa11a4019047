//! The worker's knobs.

use std::time::Duration;

/// The largest batch a worker may be configured for (larger ones gain nothing: the store
/// would commit them in parts anyway).
pub const MAX_BATCH: usize = 60;

/// How a worker consumes and retries.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Commands applied at once by this worker (and the bus prefetch).
    pub concurrency: usize,
    /// Most commands applied in one store transaction (group commit); 1 applies each alone.
    /// (Each is a savepoint; on PostgreSQL the store commits a batch in parts that stay under
    /// its 64 cached subtransactions.)
    pub batch_size: usize,
    /// Deliveries of one command (first delivery included) before it is dead-lettered.
    pub max_deliveries: u32,
    /// Attempts against the store within one delivery.
    pub attempts_per_delivery: u32,
    /// First retry delay; doubled per attempt up to [`WorkerConfig::max_backoff`].
    pub initial_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl Default for WorkerConfig {
    /// 16 at once in batches of up to 32; 5 deliveries of 6 attempts each, 50 ms doubling to 2 s between attempts
    /// (about 4 s of retries per delivery, so a store restart is bridged without a `503`).
    fn default() -> Self {
        Self {
            concurrency: 16,
            batch_size: 32,
            max_deliveries: 5,
            attempts_per_delivery: 6,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl WorkerConfig {
    /// The delay before retry number `attempt` (1-based).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_initial_delay_and_stops_at_the_maximum() {
        let c = WorkerConfig::default();
        assert_eq!(c.backoff(1), Duration::from_millis(50));
        assert_eq!(c.backoff(2), Duration::from_millis(100));
        assert_eq!(c.backoff(5), Duration::from_millis(800));
        assert_eq!(c.backoff(7), Duration::from_secs(2));
        assert_eq!(c.backoff(40), Duration::from_secs(2));
    }
}
