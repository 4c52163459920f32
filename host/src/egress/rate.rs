//! Client-side rate limiting per credential: requests are spaced so that
//! every window the API enforces (e.g. 4 per second and 10,000 per day per
//! token) has room, instead of collecting 429s.
//!
//! One limiter is shared, in a process, by every connection that uses the
//! same application or credential ([`RateLimiter::shared`], keyed by a digest
//! of it): two connections on one API key must not each take the API's
//! whole allowance.
//!
//! A request is counted from when it is sent until its answer comes, then
//! from the answer: the API counts it when it arrives, which is somewhere
//! between the two, so a window measured from the answer holds whatever the
//! network's delays (a first request that waits for its connection arrives
//! late and, counted from its send, would let the next window open early).

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
    next: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Window {
    requests: usize,
    length: Duration,
    /// Each counted request's ticket and the time it counts from, oldest first.
    sent: VecDeque<(u64, Instant)>,
}

/// A request the limiter let go; [`Ticket::answered`] when its answer comes.
#[must_use = "a request counts from its answer: call answered()"]
pub struct Ticket<'a> {
    limiter: &'a RateLimiter,
    id: u64,
}

impl Ticket<'_> {
    /// The answer (or a failure) came: the request counts from now.
    pub fn answered(self) {
        self.limiter.restamp(self.id, Instant::now());
    }
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
            next: std::sync::atomic::AtomicU64::new(0),
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

    /// Waits until a request may go, and counts it; `None` when that would
    /// be after `deadline` (nothing is counted then).
    pub async fn acquire(&self, deadline: Instant) -> Option<Ticket<'_>> {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        loop {
            let wait = self.try_acquire(id, Instant::now());
            match wait {
                None => return Some(Ticket { limiter: self, id }),
                Some(wait) if Instant::now() + wait > deadline => return None,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Counts request `id` from `now` again (its answer came), keeping each
    /// window in order: every other stamp is `now` or earlier.
    fn restamp(&self, id: u64, now: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        for window in windows.iter_mut() {
            // Recent requests sit at the back: the search is short.
            if let Some(at) = window.sent.iter().rposition(|(i, _)| *i == id) {
                window.sent.remove(at);
                window.sent.push_back((id, now));
            }
        }
    }

    /// Counts request `id` sent at `now` if every window has room; otherwise
    /// the time until the fullest window frees a place.
    fn try_acquire(&self, id: u64, now: Instant) -> Option<Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for window in windows.iter_mut() {
            while window
                .sent
                .front()
                .is_some_and(|(_, t)| now.duration_since(*t) >= window.length)
            {
                window.sent.pop_front();
            }
            if window.sent.len() >= window.requests {
                let (_, oldest) = window.sent[window.sent.len() - window.requests];
                wait = wait.max(window.length.saturating_sub(now.duration_since(oldest)));
            }
        }
        if !wait.is_zero() {
            return Some(wait);
        }
        for window in windows.iter_mut() {
            window.sent.push_back((id, now));
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
                .extend(std::iter::repeat_n((u64::MAX, stamp), window.requests));
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
            assert_eq!(limiter.try_acquire(0, start), None);
        }
        let wait = limiter
            .try_acquire(0, start)
            .expect("the second window is full");
        assert_eq!(wait, Duration::from_secs(1) + MARGIN);
        let later = start + Duration::from_secs(1) + MARGIN;
        for _ in 0..4 {
            assert_eq!(limiter.try_acquire(0, later), None);
        }
        let much_later = start + Duration::from_secs(2) + 2 * MARGIN;
        for _ in 0..2 {
            assert_eq!(limiter.try_acquire(0, much_later), None);
        }
        // Ten in the minute: the per-minute window waits for the first send.
        let wait = limiter.try_acquire(0, much_later).unwrap();
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
            limiter.acquire(far).await.expect("in time").answered();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(990),
            "the third waited for the window"
        );
        // The window now holds the third send; one more fits, the next would wait.
        limiter.acquire(far).await.expect("in time").answered();
        assert!(limiter
            .acquire(Instant::now() + Duration::from_millis(10))
            .await
            .is_none());
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
        assert_eq!(a.try_acquire(0, now), None);
        assert_eq!(b.try_acquire(0, now), None);
        assert!(
            a.try_acquire(0, now).is_some(),
            "two sent through either: the window is full"
        );
        assert_eq!(other.try_acquire(0, now), None);
        assert!(RateLimiter::shared([9; 32], &[]).is_none());
    }

    #[test]
    fn a_request_counts_from_its_answer() {
        let limiter = RateLimiter::new(&[RateLimit {
            requests: 1,
            seconds: 1,
        }])
        .unwrap();
        let sent = Instant::now();
        assert_eq!(limiter.try_acquire(1, sent), None);
        // Answered 300 ms after it was sent (it may have arrived just then):
        // the next may go a window after the answer, not after the send.
        limiter.restamp(1, sent + Duration::from_millis(300));
        let wait = limiter
            .try_acquire(2, sent + Duration::from_secs(1))
            .unwrap();
        assert_eq!(wait, Duration::from_millis(300) + MARGIN);
    }

    #[test]
    fn back_off_shuts_every_window() {
        let limiter = limiter();
        limiter.back_off(Duration::from_secs(2));
        let wait = limiter.try_acquire(0, Instant::now()).unwrap();
        assert!(
            wait > Duration::from_millis(1900) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
    }
}
