//! The per-second rate limit (reference §2.3).
//!
//! The real API allows 4 requests per second per application and answers more with
//! 429 `throttled` and no `Retry-After`. The sandbox has one application, so it counts
//! per token, in a sliding one-second window. Refused requests count too, as at most
//! gateways: a client that keeps sending stays throttled until it pauses (and tests can
//! hold the limit shut deterministically by sending). It can be
//! switched off at start (`--no-rate-limit`) or at run time (`POST /__sandbox/rate-limit`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::Caller;
use crate::errors::ApiError;
use crate::state::Sandbox;

/// The documented limit: 4 requests per second.
const DEFAULT_PER_SECOND: u32 = 4;
const WINDOW: Duration = Duration::from_secs(1);

/// The limit's settings, as the control API shows them.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Settings {
    /// Whether requests are limited at all.
    pub enabled: bool,
    /// Requests admitted per token per second.
    pub per_second: u32,
}

/// The rate limiter: settings plus each token's recent admissions.
#[derive(Debug)]
pub struct Throttle {
    inner: Mutex<(Settings, HashMap<String, VecDeque<Instant>>)>,
}

impl Throttle {
    /// A limiter at the documented 4 per second, on or off.
    pub fn new(enabled: bool) -> Throttle {
        let settings = Settings {
            enabled,
            per_second: DEFAULT_PER_SECOND,
        };
        Throttle {
            inner: Mutex::new((settings, HashMap::new())),
        }
    }

    /// Changes the given settings and forgets past admissions; returns the new settings.
    pub fn configure(&self, enabled: Option<bool>, per_second: Option<u32>) -> Settings {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (settings, windows) = &mut *inner;
        settings.enabled = enabled.unwrap_or(settings.enabled);
        settings.per_second = per_second.unwrap_or(settings.per_second);
        windows.clear();
        *settings
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    /// Admits one request of `token` at `now`, or refuses it when the window is full.
    fn admit(&self, token: &str, now: Instant) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (settings, windows) = &mut *inner;
        if !settings.enabled {
            return true;
        }
        let window = windows.entry(token.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|&at| now.duration_since(at) >= WINDOW)
        {
            window.pop_front();
        }
        let admitted = window.len() < settings.per_second as usize;
        window.push_back(now);
        admitted
    }
}

/// Middleware (inside [`crate::auth::authenticate`]): 429 past the limit.
pub async fn limit(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    if let Some(caller) = request.extensions().get::<Caller>() {
        if !sandbox.throttle.admit(&caller.token, Instant::now()) {
            return ApiError::throttled().into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_four_per_sliding_second_per_token() {
        let throttle = Throttle::new(true);
        let start = Instant::now();
        for i in 0..4 {
            assert!(throttle.admit("a", start + Duration::from_millis(i * 100)));
        }
        assert!(!throttle.admit("a", start + Duration::from_millis(500)));
        assert!(throttle.admit("b", start + Duration::from_millis(500)));
        // The refused attempt at 500 ms still counts: the window holds 100..=500.
        assert!(!throttle.admit("a", start + Duration::from_millis(1000)));
        // After a pause of a second, requests are admitted again.
        assert!(throttle.admit("a", start + Duration::from_millis(2001)));
    }

    #[test]
    fn can_be_switched_off_and_resized() {
        let throttle = Throttle::new(false);
        let now = Instant::now();
        assert!((0..10).all(|_| throttle.admit("a", now)));
        throttle.configure(Some(true), Some(1));
        assert!(throttle.admit("a", now));
        assert!(!throttle.admit("a", now));
    }
}
