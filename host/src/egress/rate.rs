//! Client-side rate limiting: requests are spaced so that every sliding
//! window the API enforces (e.g. 4 per second per application) has room,
//! instead of collecting 429s. Calendar quotas (10,000 a day) are counted
//! elsewhere, across processes ([`crate::quota`]).
//!
//! A limit counts against something ([`LimitScope`]): the application, an
//! account, a token. In a process, every connection that counts against the
//! same thing shares one group of windows ([`RateLimiter::shared`], keyed by
//! a digest of it): two connections on one API key must not each take the
//! API's whole allowance. A call passes every group its limits name.
//!
//! A request is counted from when it is sent until its answer comes, then
//! from the answer: the API counts it when it arrives, which is somewhere
//! between the two, so a window measured from the answer holds whatever the
//! network's delays (a first request that waits for its connection arrives
//! late and, counted from its send, would let the next window open early).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::invoke::{LimitWindow, RateLimit};

/// Added to every window: a request spaced exactly one window after another
/// may still arrive inside the server's window (the network's jitter).
const MARGIN: Duration = Duration::from_millis(50);

/// What a call must pass: one or more groups of windows, each shared by the
/// connections that count against the same thing.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    groups: Vec<Arc<Group>>,
    /// What its first group counts against, as a short digest (metrics' `app`).
    app: String,
}

/// The sliding windows of one thing limits count against.
#[derive(Debug)]
struct Group {
    windows: Mutex<Vec<Window>>,
    next: AtomicU64,
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
    stamps: Vec<(&'a Group, u64)>,
}

impl Ticket<'_> {
    /// The answer (or a failure) came: the request counts from now.
    pub fn answered(self) {
        let now = Instant::now();
        for (group, id) in self.stamps {
            group.restamp(id, now);
        }
    }
}

impl RateLimiter {
    /// A limiter of its own keeping to every sliding limit of `limits`;
    /// `None` when there is none.
    pub fn new(limits: &[RateLimit]) -> Option<RateLimiter> {
        let group = Group::new(limits)?;
        Some(RateLimiter {
            groups: vec![Arc::new(group)],
            app: "own".into(),
        })
    }

    /// The process's groups for each `(key, limits)`: a key is a digest of
    /// what the limits count against (never a secret itself); the group every
    /// other connection with that key and those limits uses, or a new one.
    /// `None` when no group has a sliding limit.
    pub fn shared(groups: &[([u8; 32], Vec<RateLimit>)]) -> Option<RateLimiter> {
        type Registry = Mutex<HashMap<([u8; 32], Vec<RateLimit>), Weak<Group>>>;
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        let mut registry = REGISTRY
            .get_or_init(Registry::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        registry.retain(|_, group| group.strong_count() > 0);
        let mut shared = Vec::new();
        for (key, limits) in groups {
            let entry = (*key, limits.clone());
            if let Some(group) = registry.get(&entry).and_then(Weak::upgrade) {
                shared.push(group);
            } else if let Some(group) = Group::new(limits) {
                let group = Arc::new(group);
                registry.insert(entry, Arc::downgrade(&group));
                shared.push(group);
            }
        }
        let app = groups
            .first()
            .map_or_else(String::new, |(key, _)| hex::encode(&key[..4]));
        (!shared.is_empty()).then_some(RateLimiter {
            groups: shared,
            app,
        })
    }

    /// Waits until a request may go under every group, and counts it;
    /// `None` when that would be after `deadline`.
    pub async fn acquire(&self, deadline: Instant) -> Option<Ticket<'_>> {
        let (mut stamps, since) = (Vec::with_capacity(self.groups.len()), Instant::now());
        for group in &self.groups {
            match group.acquire(deadline).await {
                Some(id) => stamps.push((&**group, id)),
                None => {
                    // Not sent after all: what was counted counts from now.
                    Ticket { stamps }.answered();
                    return None;
                }
            }
        }
        crate::metrics::rate_wait(&self.app, since.elapsed());
        Some(Ticket { stamps })
    }

    /// The API refused a request for its rate limit anyway (another process
    /// shares the application): hold every window full for `pause`.
    pub fn back_off(&self, pause: Duration) {
        for group in &self.groups {
            group.back_off(pause);
        }
    }
}

impl Group {
    fn new(limits: &[RateLimit]) -> Option<Group> {
        let windows: Vec<Window> = limits
            .iter()
            .filter_map(|l| match l.window {
                LimitWindow::Sliding(seconds) if l.requests > 0 && seconds > 0 => Some(Window {
                    requests: l.requests as usize,
                    length: Duration::from_secs(u64::from(seconds)) + MARGIN,
                    sent: VecDeque::new(),
                }),
                _ => None,
            })
            .collect();
        (!windows.is_empty()).then(|| Group {
            windows: Mutex::new(windows),
            next: AtomicU64::new(0),
        })
    }

    async fn acquire(&self, deadline: Instant) -> Option<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        loop {
            match self.try_acquire(id, Instant::now()) {
                None => return Some(id),
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

    fn back_off(&self, pause: Duration) {
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
    use crate::invoke::LimitScope;

    fn sliding(requests: u32, seconds: u32) -> RateLimit {
        RateLimit {
            requests,
            per: LimitScope::Application,
            window: LimitWindow::Sliding(seconds),
        }
    }

    fn group(limits: &[RateLimit]) -> Group {
        Group::new(limits).unwrap()
    }

    #[test]
    fn every_window_is_kept() {
        let group = group(&[sliding(4, 1), sliding(10, 60)]);
        let start = Instant::now();
        for _ in 0..4 {
            assert_eq!(group.try_acquire(0, start), None);
        }
        let wait = group
            .try_acquire(0, start)
            .expect("the second window is full");
        assert_eq!(wait, Duration::from_secs(1) + MARGIN);
        let later = start + Duration::from_secs(1) + MARGIN;
        for _ in 0..4 {
            assert_eq!(group.try_acquire(0, later), None);
        }
        let much_later = start + Duration::from_secs(2) + 2 * MARGIN;
        for _ in 0..2 {
            assert_eq!(group.try_acquire(0, much_later), None);
        }
        // Ten in the minute: the per-minute window waits for the first send.
        let wait = group.try_acquire(0, much_later).unwrap();
        assert_eq!(wait, Duration::from_secs(58) - MARGIN);
    }

    #[test]
    fn daily_quotas_are_not_sliding_windows() {
        let daily = RateLimit {
            requests: 10,
            per: LimitScope::Application,
            window: LimitWindow::Daily(0),
        };
        assert!(RateLimiter::new(&[daily]).is_none());
    }

    #[tokio::test]
    async fn acquire_spaces_requests_and_respects_the_deadline() {
        let limiter = RateLimiter::new(&[sliding(2, 1)]).unwrap();
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
    fn one_key_shares_one_group_and_others_have_their_own() {
        let limits = vec![sliding(2, 1)];
        let a = RateLimiter::shared(&[([7; 32], limits.clone())]).unwrap();
        let b = RateLimiter::shared(&[([7; 32], limits.clone())]).unwrap();
        let other = RateLimiter::shared(&[([8; 32], limits.clone())]).unwrap();
        assert!(Arc::ptr_eq(&a.groups[0], &b.groups[0]));
        assert!(!Arc::ptr_eq(&a.groups[0], &other.groups[0]));
        let now = Instant::now();
        assert_eq!(a.groups[0].try_acquire(0, now), None);
        assert_eq!(b.groups[0].try_acquire(1, now), None);
        assert!(
            a.groups[0].try_acquire(2, now).is_some(),
            "two sent through either: the window is full"
        );
        assert_eq!(other.groups[0].try_acquire(0, now), None);
        assert!(RateLimiter::shared(&[([9; 32], vec![])]).is_none());
    }

    #[test]
    fn a_request_counts_from_its_answer() {
        let group = group(&[sliding(1, 1)]);
        let sent = Instant::now();
        assert_eq!(group.try_acquire(1, sent), None);
        // Answered 300 ms after it was sent (it may have arrived just then):
        // the next may go a window after the answer, not after the send.
        group.restamp(1, sent + Duration::from_millis(300));
        let wait = group.try_acquire(2, sent + Duration::from_secs(1)).unwrap();
        assert_eq!(wait, Duration::from_millis(300) + MARGIN);
    }

    #[test]
    fn back_off_shuts_every_window() {
        let limiter = RateLimiter::new(&[sliding(4, 1), sliding(10, 60)]).unwrap();
        limiter.back_off(Duration::from_secs(2));
        let wait = limiter.groups[0].try_acquire(0, Instant::now()).unwrap();
        assert!(
            wait > Duration::from_millis(1900) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
    }
}
