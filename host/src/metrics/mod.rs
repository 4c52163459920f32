//! Operators' signals: counters, gauges and histograms in the Prometheus
//! text format (`metrics` with `metrics-exporter-prometheus`), recorded at
//! the pipeline's own places — one line each in the session, the egress
//! hook, the secret resolver, the token manager, the quota and the worker.
//!
//! Off until [`install`]: a process that never scrapes (the CLI, `serve`
//! without a metrics option) records nothing, each call site costs one
//! atomic load.
//!
//! Invariants: no label carries a secret, a user's input, a path or a
//! connection name; every label's values are bounded ([`bounded`]): an
//! activity the connector does not declare is `other`, names from outside
//! the code (connector, store, origin, application digest) stop at a
//! ceiling, the rest are fixed words (error classes, `[limits]` settings).

pub mod bounded;
pub mod listen;
mod names;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::egress::EgressEvent;
use crate::invoke::ConnectorInfo;
use crate::session::{ErrorClass, SessionError};

pub use names::describe;

/// The Prometheus text format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets in seconds: a pooled call without HTTP takes tens of
/// microseconds, one with a round trip a millisecond, a slow API seconds.
const SECONDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

static ON: AtomicBool = AtomicBool::new(false);
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Turns recording on for this process (once; later calls return the
/// same handle) and keeps histograms drained every few seconds.
///
/// # Errors
///
/// A sentence when another recorder was installed first.
pub fn install() -> Result<&'static PrometheusHandle, String> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
        .map_err(|e| format!("cannot set up metrics: {e}"))?
        .install_recorder()
        .map_err(|e| format!("cannot set up metrics: {e}"))?;
    let handle = HANDLE.get_or_init(|| handle);
    describe();
    ON.store(true, Ordering::Release);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        // Histogram samples wait in buckets until drained; a process nobody
        // scrapes must not grow.
        runtime.spawn(async {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if let Some(handle) = HANDLE.get() {
                    handle.run_upkeep();
                }
            }
        });
    }
    Ok(handle)
}

/// Whether recording is on.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The scrape: every series in the Prometheus text format, or `None` when
/// recording is off.
pub fn render() -> Option<String> {
    HANDLE.get().map(PrometheusHandle::render)
}

/// One call through [`crate::Session::call_with`]: counted by connector,
/// activity (`other` when the connector does not declare it) and result
/// (`ok` or the error class), timed, and a limit hit counted by setting.
pub fn call<T>(
    info: &ConnectorInfo,
    activity: &str,
    result: &Result<T, SessionError>,
    since: Instant,
) {
    if !enabled() {
        return;
    }
    let connector = bounded::value("connector", &info.name);
    // A trigger's poll counts under its trigger's name.
    let declared = info.activities.iter().map(|a| &a.name);
    let activity = match declared
        .chain(info.triggers.iter().map(|t| &t.name))
        .find(|name| *name == activity)
    {
        Some(declared) => bounded::value("activity", declared),
        None => bounded::OTHER.to_owned(),
    };
    let class = match result {
        Ok(_) => "ok",
        Err(error) => error.class().name(),
    };
    let seconds = since.elapsed().as_secs_f64();
    histogram!("connector_host_call_duration_seconds", "connector" => connector.clone(), "activity" => activity.clone()).record(seconds);
    counter!("connector_host_calls_total", "connector" => connector, "activity" => activity, "result" => class).increment(1);
    if let Err(error) = result {
        if error.class() == ErrorClass::LimitHit {
            counter!("connector_host_limit_hits_total", "setting" => error.limit_setting().unwrap_or(bounded::OTHER))
                .increment(1);
        }
    }
}

/// One request handed to the transport (each resend after a 429 counts),
/// by the declared origin it was for and its status class (`error` when no
/// answer came).
pub fn outgoing(origin: &crate::Origin, status: Option<http::StatusCode>) {
    if !enabled() {
        return;
    }
    let status = match status.map(|s| s.as_u16() / 100) {
        Some(1) => "1xx",
        Some(2) => "2xx",
        Some(3) => "3xx",
        Some(4) => "4xx",
        Some(5) => "5xx",
        _ => "error",
    };
    let origin = bounded::value("origin", &origin.to_string());
    counter!("connector_host_outgoing_requests_total", "origin" => origin, "status" => status)
        .increment(1);
}

/// A request the egress hook refused, by why (events that are no refusal are not counted).
pub fn egress_refused(event: &EgressEvent) {
    if !enabled() {
        return;
    }
    let reason = match event {
        EgressEvent::Denied { .. } => "origin_not_declared",
        EgressEvent::AddressRefused { .. } => "address_refused",
        EgressEvent::TlsRefused { .. } => "tls_refused",
        EgressEvent::TooManyRequests { .. } => "max_requests",
        EgressEvent::TooManyConcurrent { .. } => "max_concurrent_requests",
        EgressEvent::WriteRefused { .. } => "write_in_poll",
        _ => return,
    };
    counter!("connector_host_egress_refusals_total", "reason" => reason).increment(1);
}

/// Time a request waited for the rate limiter of application `app` (a short digest).
pub fn rate_wait(app: &str, waited: Duration) {
    if !enabled() {
        return;
    }
    let app = bounded::value("app", app);
    histogram!("connector_host_rate_limit_wait_seconds", "app" => app).record(waited.as_secs_f64());
}

/// Requests this process knows are left today in the daily quota of `app`.
pub fn quota_left(app: &str, left: u32) {
    if !enabled() {
        return;
    }
    let app = bounded::value("app", app);
    gauge!("connector_host_quota_remaining", "app" => app).set(f64::from(left));
}

/// One OAuth refresh-token grant and whether it succeeded; returns it unchanged.
pub fn refreshed<T, E>(result: Result<T, E>) -> Result<T, E> {
    if enabled() {
        let outcome = if result.is_ok() { "ok" } else { "failed" };
        counter!("connector_host_token_refreshes_total", "result" => outcome).increment(1);
    }
    result
}

/// One read from credential store `store` (the cache missed), counted when it ends.
pub async fn store_read<T, E>(
    store: &str,
    read: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let result = read.await;
    if enabled() {
        let outcome = if result.is_ok() { "ok" } else { "error" };
        let store = bounded::value("store", store);
        counter!("connector_host_secret_reads_total", "store" => store, "result" => outcome)
            .increment(1);
    }
    result
}

/// A connection's health changed to `to` (a fixed state word).
pub fn health_transition(to: &'static str) {
    if enabled() {
        counter!("connector_host_connection_health_transitions_total", "to" => to).increment(1);
    }
}

/// How many connections this process last saw in `state` (a fixed word).
pub fn health_count(state: &'static str, count: usize) {
    if enabled() {
        gauge!("connector_host_connections", "health" => state).set(count as f64);
    }
}

/// The instance pool now: slots in use and slots in all.
pub fn pool(in_use: u32, capacity: u32) {
    if !enabled() {
        return;
    }
    gauge!("connector_host_instances_in_use").set(f64::from(in_use));
    gauge!("connector_host_instance_slots").set(f64::from(capacity));
}

/// The worker began an attempt of a declared activity.
pub fn worker_started(activity: &str) {
    if enabled() {
        let activity = bounded::value("activity", activity);
        counter!("connector_host_worker_activities_started_total", "activity" => activity)
            .increment(1);
    }
}

/// The worker ended an attempt: `ok`, an error class, or `cancelled`.
pub fn worker_finished(activity: &str, result: &'static str) {
    if enabled() {
        let activity = bounded::value("activity", activity);
        counter!("connector_host_worker_activities_finished_total", "activity" => activity, "result" => result).increment(1);
    }
}

/// A worker task refused before it ran (an activity the queue does not
/// serve, an argument that is not one JSON value, a retry that may not run).
pub fn worker_refused() {
    if enabled() {
        counter!("connector_host_worker_tasks_refused_total").increment(1);
    }
}
