//! When a failed delivery is tried again: exponential backoff with full
//! jitter (each wait is random up to the exponential bound, so many
//! subscriptions failing together do not retry together), and a budget of
//! attempts after which the event is a dead letter.

use std::time::Duration;

/// How deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The bound of the first wait.
    pub first: Duration,
    /// The largest wait.
    pub max: Duration,
    /// Attempts (the first included) before the event is a dead letter.
    pub attempts: u32,
}

impl Default for Backoff {
    /// 5 s, doubling to an hour, 12 attempts: about 4 hours in all at the
    /// bounds, so a receiver down for a deploy or an afternoon loses nothing.
    fn default() -> Backoff {
        Backoff {
            first: Duration::from_secs(5),
            max: Duration::from_secs(3600),
            attempts: 12,
        }
    }
}

impl Backoff {
    /// The wait after failed attempt `attempt` (1 for the first): random
    /// from half the bound up to the bound `first · 2^(attempt-1)`, capped at
    /// `max`. Half is kept so a retry is never immediate.
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self.bound(attempt);
        let half = bound / 2;
        let spread = bound.saturating_sub(half).as_millis() as u64;
        half + Duration::from_millis(rand::random::<u64>() % spread.max(1))
    }

    /// The bound before jitter.
    fn bound(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }

    /// Whether `attempts` failed attempts spend the budget.
    pub fn spent(&self, attempts: u32) -> bool {
        attempts >= self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_exponentially_with_jitter_up_to_the_cap() {
        let backoff = Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_secs(1),
            attempts: 5,
        };
        for (attempt, bound) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            for _ in 0..50 {
                let delay = backoff.delay(attempt).as_millis() as u64;
                assert!(
                    (bound / 2..=bound).contains(&delay),
                    "attempt {attempt}: {delay} ms"
                );
            }
        }
        assert!(!backoff.spent(4));
        assert!(backoff.spent(5));
    }
}
