//! The rate limit and the daily quota (reference §2.3).
//!
//! The real API allows 4 requests per second and 10,000 per day per **application**
//! (API key), across every account and token of that application. It answers more with
//! 429: `throttled` past the per-second limit, `quota_exceeded` past the daily quota,
//! which clears at 00:00 UTC; no `Retry-After` either way. The sandbox counts per
//! application too: the OAuth client a token was issued to, or one default application
//! for tokens given on the command line (`auth::DEFAULT_APP`).
//!
//! Per second: a sliding one-second window. Refused requests count too, as at most
//! gateways: a client that keeps sending stays throttled until it pauses (and tests can
//! hold the limit shut deterministically by sending). Per day: requests that pass the
//! per-second limit count against the day of the sandbox clock (`clock::now`, so a test
//! can move to the next day). Both are switched off at start with `--no-rate-limit` or
//! at run time with `POST /__sandbox/rate-limit`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;

use crate::auth::Caller;
use crate::errors::ApiError;
use crate::state::Sandbox;

/// The documented limit: 4 requests per second.
const DEFAULT_PER_SECOND: u32 = 4;
/// The documented quota: 10,000 requests per day.
pub const DEFAULT_DAILY: u32 = 10_000;
const WINDOW: Duration = Duration::from_secs(1);

/// The settings, as the control API shows them.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Settings {
    /// Whether requests are limited at all.
    pub enabled: bool,
    /// Requests admitted per application per second.
    pub per_second: u32,
    /// Requests admitted per application per UTC day.
    pub daily: u32,
}

/// What one application has used.
#[derive(Debug, Default)]
struct Usage {
    /// Recent admissions and refusals, for the per-second window.
    window: VecDeque<Instant>,
    /// The UTC day counted, and the requests counted against it.
    day: Option<(NaiveDate, u32)>,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Throttled,
    QuotaExceeded,
}

/// The limiter: settings plus each application's usage.
#[derive(Debug)]
pub struct Throttle {
    inner: Mutex<(Settings, HashMap<String, Usage>)>,
}

impl Throttle {
    /// A limiter at the documented limits, on or off.
    pub fn new(enabled: bool) -> Throttle {
        let settings = Settings {
            enabled,
            per_second: DEFAULT_PER_SECOND,
            daily: DEFAULT_DAILY,
        };
        Throttle {
            inner: Mutex::new((settings, HashMap::new())),
        }
    }

    /// Changes the given settings and forgets past usage; returns the new settings.
    pub fn configure(
        &self,
        enabled: Option<bool>,
        per_second: Option<u32>,
        daily: Option<u32>,
    ) -> Settings {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (settings, usage) = &mut *inner;
        settings.enabled = enabled.unwrap_or(settings.enabled);
        settings.per_second = per_second.unwrap_or(settings.per_second);
        settings.daily = daily.unwrap_or(settings.daily);
        usage.clear();
        *settings
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    /// Admits one request of `app` at `now` on `day`, or says why not.
    fn admit(&self, app: &str, now: Instant, day: NaiveDate) -> Result<(), Refusal> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (settings, usage) = &mut *inner;
        if !settings.enabled {
            return Ok(());
        }
        let usage = usage.entry(app.to_owned()).or_default();
        while usage
            .window
            .front()
            .is_some_and(|&at| now.duration_since(at) >= WINDOW)
        {
            usage.window.pop_front();
        }
        let admitted = usage.window.len() < settings.per_second as usize;
        usage.window.push_back(now);
        if !admitted {
            return Err(Refusal::Throttled);
        }
        let count = match &mut usage.day {
            Some((counted, count)) if *counted == day => count,
            other => &mut other.insert((day, 0)).1,
        };
        if *count >= settings.daily {
            return Err(Refusal::QuotaExceeded);
        }
        *count += 1;
        Ok(())
    }
}

/// Middleware (inside [`crate::auth::authenticate`]): 429 past a limit.
pub async fn limit(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    if let Some(caller) = request.extensions().get::<Caller>() {
        let day = crate::clock::now().date_naive();
        match sandbox.throttle.admit(&caller.app, Instant::now(), day) {
            Ok(()) => {}
            Err(Refusal::Throttled) => return ApiError::throttled().into_response(),
            Err(Refusal::QuotaExceeded) => return ApiError::quota_exceeded().into_response(),
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    #[test]
    fn admits_four_per_sliding_second_per_application() {
        let throttle = Throttle::new(true);
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        for i in 0..4 {
            assert_eq!(throttle.admit("a", at(i * 100), today()), Ok(()));
        }
        assert_eq!(
            throttle.admit("a", at(500), today()),
            Err(Refusal::Throttled)
        );
        assert_eq!(throttle.admit("b", at(500), today()), Ok(()));
        // The refused attempt at 500 ms still counts: the window holds 100..=500.
        assert_eq!(
            throttle.admit("a", at(1000), today()),
            Err(Refusal::Throttled)
        );
        // After a pause of a second, requests are admitted again.
        assert_eq!(throttle.admit("a", at(2001), today()), Ok(()));
    }

    #[test]
    fn the_daily_quota_counts_per_application_and_clears_the_next_utc_day() {
        let throttle = Throttle::new(true);
        throttle.configure(None, Some(1000), Some(3));
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.admit("a", now, today()), Ok(()));
        }
        assert_eq!(
            throttle.admit("a", now, today()),
            Err(Refusal::QuotaExceeded)
        );
        assert_eq!(throttle.admit("b", now, today()), Ok(()));
        let tomorrow = today().succ_opt().unwrap();
        assert_eq!(throttle.admit("a", now, tomorrow), Ok(()));
    }

    #[test]
    fn can_be_switched_off_and_resized() {
        let throttle = Throttle::new(false);
        let now = Instant::now();
        assert!((0..10).all(|_| throttle.admit("a", now, today()).is_ok()));
        throttle.configure(Some(true), Some(1), None);
        assert_eq!(throttle.admit("a", now, today()), Ok(()));
        assert_eq!(throttle.admit("a", now, today()), Err(Refusal::Throttled));
    }
}
