//! Client-side rate limiting per credential: requests are spaced so that
//! every window the API enforces (e.g. 4 per second and 10,000 per day per
//! token) has room, instead of collecting 429s.
//!
//! One limiter is shared, in a process, by every connection that uses the
//! same application or credential ([`RateLimiter::shared`], keyed by a digest
//! of it): two connections on one API key must not each take the API's
//! whole allowance.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::invoke::RateLimit;

/// Added to every window: a request spaced exactly one window after another
/// may still arrive inside the server's window (the network's jitter).
const MARGIN: Duration = Duration::from_millis(50);

/// Sliding windows of recent sends, one per limit.
#[derive(Debug)]
pub struct RateLimiter {
    windows: Mutex<Vec<Window>>,
}

#[derive(Debug)]
struct Window {
    requests: usize,
    length: Duration,
    sent: VecDeque<Instant>,
}

impl RateLimiter {
    /// A limiter keeping to every one of `limits`; `None` when there are none.
    pub fn new(limits: &[RateLimit]) -> Option<RateLimiter> {
        let windows: Vec<Window> = limits
            .iter()
            .filter(|l| l.requests > 0 && l.seconds > 0)
            .map(|l| Window {
                requests: l.requests as usize,
                length: Duration::from_secs(u64::from(l.seconds)) + MARGIN,
                sent: VecDeque::new(),
            })
            .collect();
        (!windows.is_empty()).then(|| RateLimiter {
            windows: Mutex::new(windows),
        })
    }

    /// The process's limiter for `key` (a digest of the application or
    /// credential, never the secret itself) under `limits`: the one every
    /// other connection with that key and those limits already uses, or a
    /// new one. `None` when there are no limits.
    pub fn shared(key: [u8; 32], limits: &[RateLimit]) -> Option<Arc<RateLimiter>> {
        type Shared = Mutex<HashMap<([u8; 32], Vec<RateLimit>), Weak<RateLimiter>>>;
        static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
        let mut map = SHARED
            .get_or_init(Shared::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.retain(|_, limiter| limiter.strong_count() > 0);
        let entry = (key, limits.to_vec());
        if let Some(limiter) = map.get(&entry).and_then(Weak::upgrade) {
            return Some(limiter);
        }
        let limiter = Arc::new(RateLimiter::new(limits)?);
        map.insert(entry, Arc::downgrade(&limiter));
        Some(limiter)
    }

    /// Waits until a request may go, and counts it; `false` when that would
    /// be after `deadline` (nothing is counted then).
    pub async fn acquire(&self, deadline: Instant) -> bool {
        loop {
            let wait = self.try_acquire(Instant::now());
            match wait {
                None => return true,
                Some(wait) if Instant::now() + wait > deadline => return false,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Counts a request sent at `now` if every window has room; otherwise the
    /// time until the fullest window frees a place.
    fn try_acquire(&self, now: Instant) -> Option<Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for window in windows.iter_mut() {
            while window
                .sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window.length)
            {
                window.sent.pop_front();
            }
            if window.sent.len() >= window.requests {
                let oldest = window.sent[window.sent.len() - window.requests];
                wait = wait.max(window.length.saturating_sub(now.duration_since(oldest)));
            }
        }
        if !wait.is_zero() {
            return Some(wait);
        }
        for window in windows.iter_mut() {
            window.sent.push_back(now);
        }
        None
    }

    /// The API refused a request for its rate limit anyway (another process
    /// shares the token): hold every window full for `pause`.
    pub fn back_off(&self, pause: Duration) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + pause;
        for window in windows.iter_mut() {
            // Entries that expire `pause` from now keep the window shut till then.
            let stamp = until
                .checked_sub(window.length)
                .unwrap_or_else(Instant::now);
            window.sent.clear();
            window
                .sent
                .extend(std::iter::repeat_n(stamp, window.requests));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(&[
            RateLimit {
                requests: 4,
                seconds: 1,
            },
            RateLimit {
                requests: 10,
                seconds: 60,
            },
        ])
        .unwrap()
    }

    #[test]
    fn every_window_is_kept() {
        let limiter = limiter();
        let start = Instant::now();
        for _ in 0..4 {
            assert_eq!(limiter.try_acquire(start), None);
        }
        let wait = limiter
            .try_acquire(start)
            .expect("the second window is full");
        assert_eq!(wait, Duration::from_secs(1) + MARGIN);
        let later = start + Duration::from_secs(1) + MARGIN;
        for _ in 0..4 {
            assert_eq!(limiter.try_acquire(later), None);
        }
        let much_later = start + Duration::from_secs(2) + 2 * MARGIN;
        for _ in 0..2 {
            assert_eq!(limiter.try_acquire(much_later), None);
        }
        // Ten in the minute: the per-minute window waits for the first send.
        let wait = limiter.try_acquire(much_later).unwrap();
        assert_eq!(wait, Duration::from_secs(58) - MARGIN);
    }

    #[tokio::test]
    async fn acquire_spaces_requests_and_respects_the_deadline() {
        let limiter = RateLimiter::new(&[RateLimit {
            requests: 2,
            seconds: 1,
        }])
        .unwrap();
        let start = Instant::now();
        let far = start + Duration::from_secs(10);
        for _ in 0..3 {
            assert!(limiter.acquire(far).await);
        }
        assert!(
            start.elapsed() >= Duration::from_millis(990),
            "the third waited for the window"
        );
        // The window now holds the third send; one more fits, the next would wait.
        assert!(limiter.acquire(far).await);
        assert!(
            !limiter
                .acquire(Instant::now() + Duration::from_millis(10))
                .await
        );
        assert!(RateLimiter::new(&[]).is_none());
    }

    #[test]
    fn one_key_shares_one_limiter_and_others_have_their_own() {
        let limits = [RateLimit {
            requests: 2,
            seconds: 1,
        }];
        let a = RateLimiter::shared([7; 32], &limits).unwrap();
        let b = RateLimiter::shared([7; 32], &limits).unwrap();
        let other = RateLimiter::shared([8; 32], &limits).unwrap();
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &other));
        let now = Instant::now();
        assert_eq!(a.try_acquire(now), None);
        assert_eq!(b.try_acquire(now), None);
        assert!(
            a.try_acquire(now).is_some(),
            "two sent through either: the window is full"
        );
        assert_eq!(other.try_acquire(now), None);
        assert!(RateLimiter::shared([9; 32], &[]).is_none());
    }

    #[test]
    fn back_off_shuts_every_window() {
        let limiter = limiter();
        limiter.back_off(Duration::from_secs(2));
        let wait = limiter.try_acquire(Instant::now()).unwrap();
        assert!(
            wait > Duration::from_millis(1900) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
    }
}
