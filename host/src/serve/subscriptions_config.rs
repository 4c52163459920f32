//! The serve config's `[events]` table: which webhook destinations the
//! operator allows beyond the address rules, how deliveries are retried,
//! and the poller's lease and pace (tests make them short).

use std::time::Duration;

use serde::Deserialize;

use crate::egress::Origin;
use crate::events::Backoff;

/// How subscriptions are polled and delivered.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// Origins a webhook URL may use although plain `http` or not public:
    /// the operator's allowances, matched exactly (scheme, host, port).
    pub destinations: Vec<Origin>,
    /// Retries and the dead-letter budget.
    pub backoff: Backoff,
    /// How long a replica holds a subscription without renewing.
    pub lease: Duration,
    /// How often the poller looks for work.
    pub tick: Duration,
    /// How long a receiver has to answer.
    pub timeout: Duration,
}

impl Default for EventSettings {
    fn default() -> EventSettings {
        EventSettings {
            destinations: Vec::new(),
            backoff: Backoff::default(),
            lease: Duration::from_secs(30),
            tick: Duration::from_secs(1),
            timeout: crate::events::delivery::DEFAULT_TIMEOUT,
        }
    }
}

/// `[events]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawEvents {
    #[serde(default)]
    webhook_destinations: Vec<String>,
    retry_first_ms: Option<u64>,
    retry_max_ms: Option<u64>,
    attempts: Option<u32>,
    lease_seconds: Option<u64>,
    tick_ms: Option<u64>,
    timeout_seconds: Option<u64>,
}

impl RawEvents {
    /// The settings, each checked to be within its bounds.
    ///
    /// # Errors
    ///
    /// A sentence naming the key.
    pub fn settings(&self) -> Result<EventSettings, String> {
        let default = EventSettings::default();
        let bounded = |key: &str, value: Option<u64>, low: u64, high: u64, default: u64| {
            super::config::within("serve config [events]", key, value, (low, high), default)
        };
        let ms = |d: Duration| d.as_millis() as u64;
        let mut destinations = Vec::new();
        for text in &self.webhook_destinations {
            destinations.push(Origin::parse(text).map_err(|e| {
                format!(
                    "serve config [events]: webhook_destinations: {}: {e}\nhint: give origins, e.g. \"http://127.0.0.1:9000\"",
                    crate::redact::url(text)
                )
            })?);
        }
        let first = bounded(
            "retry_first_ms",
            self.retry_first_ms,
            10,
            3_600_000,
            ms(default.backoff.first),
        )?;
        let max = bounded(
            "retry_max_ms",
            self.retry_max_ms,
            first,
            86_400_000,
            ms(default.backoff.max).max(first),
        )?;
        let lease = bounded(
            "lease_seconds",
            self.lease_seconds,
            2,
            3600,
            default.lease.as_secs(),
        )?;
        Ok(EventSettings {
            destinations,
            backoff: Backoff {
                first: Duration::from_millis(first),
                max: Duration::from_millis(max),
                attempts: bounded("attempts", self.attempts.map(u64::from), 1, 100, 12)? as u32,
            },
            lease: Duration::from_secs(lease),
            tick: Duration::from_millis(bounded(
                "tick_ms",
                self.tick_ms,
                50,
                60_000,
                ms(default.tick),
            )?),
            // A delivery ends well within the lease, so no other replica
            // takes the subscription over while one is under way.
            timeout: Duration::from_secs(bounded(
                "timeout_seconds",
                self.timeout_seconds,
                1,
                600,
                default.timeout.as_secs(),
            )?)
            .min(Duration::from_secs(lease) / 2),
        })
    }
}
