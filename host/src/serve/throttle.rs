//! Wrong API tokens, counted per client address: after so many, that
//! address is locked out for a while, and every token it sends (the right
//! one included) is answered 429 with `Retry-After`, unread.
//!
//! Invariants: a locked-out client learns nothing about the token (it is
//! not compared); a right token resets its client's count; the table is
//! bounded (the oldest entries go first), so many addresses cannot grow it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::Guards;

/// Clients the table remembers at most; past it, entries that are not
/// locked out are dropped, oldest first.
const REMEMBERED: usize = 10_000;
/// How long a client's wrong tokens are remembered after its last one.
const MEMORY: Duration = Duration::from_secs(3600);

/// One client's record.
#[derive(Clone, Copy)]
struct Record {
    wrong: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Wrong-token counts and lockouts by client.
pub struct Throttle {
    attempts: u32,
    lockout: Duration,
    clients: Mutex<HashMap<IpAddr, Record>>,
}

/// Whether a client may try a token now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// It may.
    Open,
    /// It is locked out for this long still.
    Locked(Duration),
}

impl Throttle {
    /// A throttle with the guards' attempts and lockout.
    pub fn new(guards: &Guards) -> Throttle {
        Throttle {
            attempts: guards.sign_in_attempts,
            lockout: guards.sign_in_lockout,
            clients: Mutex::default(),
        }
    }

    /// Whether `client` may try a token now.
    pub fn gate(&self, client: IpAddr) -> Gate {
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match clients.get(&client).and_then(|r| r.locked_until) {
            Some(until) if until > now => Gate::Locked(until - now),
            _ => Gate::Open,
        }
    }

    /// Counts a wrong token from `client`; the gate after it.
    pub fn wrong(&self, client: IpAddr) -> Gate {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if clients.len() >= REMEMBERED && !clients.contains_key(&client) {
            forget_some(&mut clients, now);
        }
        let record = clients.entry(client).or_insert(Record {
            wrong: 0,
            last: now,
            locked_until: None,
        });
        if now.duration_since(record.last) > MEMORY {
            record.wrong = 0;
        }
        record.wrong += 1;
        record.last = now;
        if record.wrong < self.attempts {
            return Gate::Open;
        }
        // Locked out: the count starts again once the lockout ends.
        record.wrong = 0;
        record.locked_until = Some(now + self.lockout);
        tracing::warn!(%client, attempts = self.attempts, lockout_seconds = self.lockout.as_secs(), "locked out a client after wrong API tokens");
        Gate::Locked(self.lockout)
    }

    /// A right token from `client` (not locked out): its count starts again.
    pub fn right(&self, client: IpAddr) {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.remove(&client);
    }
}

/// Drops entries down to three quarters of [`REMEMBERED`]: those not
/// locked out first, oldest first; locked-out ones only when every entry is.
fn forget_some(clients: &mut HashMap<IpAddr, Record>, now: Instant) {
    let mut order: Vec<(bool, Instant, IpAddr)> = clients
        .iter()
        .map(|(client, r)| {
            let locked = r.locked_until.is_some_and(|until| until > now);
            (locked, r.last, *client)
        })
        .collect();
    order.sort();
    let excess = clients.len().saturating_sub(REMEMBERED * 3 / 4);
    for (_, _, client) in order.into_iter().take(excess) {
        clients.remove(&client);
    }
}

/// Whole seconds to wait, rounded up (for `Retry-After`).
pub fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(attempts: u32) -> Throttle {
        Throttle::new(&Guards {
            sign_in_attempts: attempts,
            sign_in_lockout: Duration::from_secs(60),
            ..Guards::default()
        })
    }

    #[test]
    fn the_last_allowed_wrong_token_locks_the_client_out_and_no_other() {
        let throttle = throttle(3);
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(throttle.wrong(me), Gate::Open);
        assert_eq!(throttle.wrong(me), Gate::Open);
        assert!(matches!(throttle.wrong(me), Gate::Locked(d) if d.as_secs() == 60));
        assert!(matches!(throttle.gate(me), Gate::Locked(_)));
        assert_eq!(throttle.gate(other), Gate::Open);
    }

    #[test]
    fn a_right_token_starts_the_count_again() {
        let throttle = throttle(2);
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(throttle.wrong(me), Gate::Open);
        throttle.right(me);
        assert_eq!(throttle.wrong(me), Gate::Open);
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_lockouts() {
        let throttle = throttle(2);
        let locked: IpAddr = "10.0.0.1".parse().unwrap();
        throttle.wrong(locked);
        throttle.wrong(locked);
        for i in 0..(REMEMBERED as u32 + 10) {
            throttle.wrong(IpAddr::V4((0x0b00_0000 + i).into()));
        }
        assert!(throttle.clients.lock().unwrap().len() <= REMEMBERED);
        assert!(matches!(throttle.gate(locked), Gate::Locked(_)));
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(seconds(Duration::from_millis(1500)), 2);
        assert_eq!(seconds(Duration::from_secs(3)), 3);
    }
}
