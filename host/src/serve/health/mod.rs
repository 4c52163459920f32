//! Connection health: `serve` keeps every tenant's connections usable in
//! the background and says when one needs a person.
//!
//! A monitor task looks at each connection ([`check`]): an OAuth
//! connection's access token is renewed some time before it expires
//! ([`check::lead`]), without a call; a static credential's assets are
//! resolved. What it finds is kept in a shared health record ([`record`]),
//! and the one process that changes that record announces the change:
//! `connection.needs_reauth` (refresh token refused or revoked, credential
//! asset missing) and `connection.recovered` (ok again after that), on the
//! event channels, in the audit trail and the metrics.
//!
//! `CONNECTOR_HOST_HEALTH_SECONDS` (default 60; 0 turns the monitor off) is
//! the longest time between two looks at a connection; a token due for
//! renewal sooner is looked at sooner.
//!
//! Invariant: no secret, token or path in a state, a reason, an event, a
//! log line or a metric label (names and fixed words only).

mod check;
pub mod record;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::space::Scope;
use super::state::State;
use super::tenants::{Principal, DEFAULT_TENANT};
use crate::audit::{Actor, ActorKind};
use crate::name::Name;
use crate::oauth::store::now;
use record::{Condition, Health};

/// The longest time between two looks at a connection, by default.
const DEFAULT_SECONDS: u64 = 60;

/// How many connections are looked at together.
const AT_ONCE: usize = 8;

/// One connection of one tenant.
type Key = (Name, Name);

/// Starts the monitor unless `CONNECTOR_HOST_HEALTH_SECONDS` is 0; it
/// stops with `stop`.
pub fn spawn(state: Arc<State>, stop: CancellationToken) {
    let seconds = std::env::var("CONNECTOR_HOST_HEALTH_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(DEFAULT_SECONDS as f64);
    if seconds.is_nan() || seconds <= 0.0 {
        tracing::info!("connection health monitor off (CONNECTOR_HOST_HEALTH_SECONDS=0)");
        return;
    }
    let interval = (seconds * 1000.0) as u64;
    tokio::spawn(async move {
        tokio::select! {
            () = watch(state, interval) => {}
            () = stop.cancelled() => {}
        }
    });
}

/// Looks at each connection when it is due, and for new ones every `interval_ms`.
async fn watch(state: Arc<State>, interval_ms: u64) {
    let mut due: HashMap<Key, u64> = HashMap::new();
    let mut states: HashMap<Key, Condition> = HashMap::new();
    let mut next_scan = 0;
    loop {
        if now() >= next_scan {
            rescan(&state, &mut due, &mut states).await;
            next_scan = now() + interval_ms;
        }
        let ready: Vec<Key> = due
            .iter()
            .filter(|(_, at)| **at <= now())
            .map(|(k, _)| k.clone())
            .collect();
        let looked: Vec<(Key, Looked)> = futures::stream::iter(ready)
            .map(|key| {
                let state = state.clone();
                async move {
                    let seen = look(&state, &key, interval_ms).await;
                    (key, seen)
                }
            })
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        for (key, (next, condition)) in looked {
            due.insert(key.clone(), next);
            states.insert(key, condition);
        }
        count(&states);
        let wake = due
            .values()
            .copied()
            .min()
            .unwrap_or(next_scan)
            .min(next_scan);
        tokio::time::sleep(Duration::from_millis(wake.saturating_sub(now()).max(20))).await;
    }
}

/// When to look again, and the state found.
type Looked = (u64, Condition);

/// Picks up new connections (due at once) and drops deleted ones.
async fn rescan(
    state: &Arc<State>,
    due: &mut HashMap<Key, u64>,
    states: &mut HashMap<Key, Condition>,
) {
    let mut tenants = vec![Name::parse(DEFAULT_TENANT, "tenant").expect("a fixed name")];
    match state.home_documents().tenants().await {
        Ok(more) => tenants.extend(more),
        Err(error) => tracing::warn!(%error, "health: cannot list the tenants"),
    }
    let mut present = Vec::new();
    for tenant in tenants {
        let scope = Scope::new(state.clone(), Principal::Operator, &tenant);
        for name in scope.connection_names().await {
            present.push((tenant.clone(), name));
        }
    }
    due.retain(|key, _| present.contains(key));
    states.retain(|key, _| present.contains(key));
    for key in present {
        due.entry(key).or_insert(0);
    }
}

/// Looks at one connection and settles its record, announcing a change.
async fn look(state: &Arc<State>, (tenant, name): &Key, interval_ms: u64) -> Looked {
    let scope = Scope::new(state.clone(), Principal::Operator, tenant);
    let actor = Actor {
        tenant: (tenant.as_str() != DEFAULT_TENANT).then(|| tenant.to_string()),
        kind: ActorKind::Process,
    };
    let found = crate::audit::scope(actor, check::connection(&scope, name, interval_ms)).await;
    let condition = found.health.state;
    match record::settle(&record::of(&scope.space, name), found.health).await {
        Ok(Some(change)) => announce(state, tenant, name, &change).await,
        Ok(None) => {}
        Err(error) => tracing::warn!(connection = %name, %error, "health: cannot keep the record"),
    }
    (found.next, condition)
}

/// Tells everyone of a change this process made: the log, the audit
/// trail, the metrics and, for the two announced states, the event channels.
async fn announce(state: &Arc<State>, tenant: &Name, name: &Name, change: &record::Change) {
    let (from, to) = (
        change.from.map_or("none", Condition::word),
        change.to.state.word(),
    );
    tracing::info!(connection = %name, %tenant, from, to, reason = %change.to.reason, "connection health changed");
    crate::audit::connection_health(name.as_str(), from, to, &change.to.reason);
    crate::metrics::health_transition(to);
    if let Some(kind) = change.event {
        publish(state, tenant, name, kind, &change.to).await;
    }
}

/// The one place health events leave this module: the log, and every
/// subscription of the connection that takes health events (their durable
/// outbox; the webhook id is derived from the data, so the same change
/// published twice is queued once).
async fn publish(state: &Arc<State>, tenant: &Name, name: &Name, kind: &str, health: &Health) {
    let at = rfc3339(health.since);
    let event = crate::events::envelope(kind, &at, view_of(health), name.as_str(), tenant.as_str());
    tracing::info!(connection = %name, %tenant, event = kind, "connection health event: {event}");
    let mut data = view_of(health);
    data["occurred_at"] = json!(at);
    match super::subscriptions::publish(state, tenant, name, kind, data).await {
        Ok(queued) => tracing::debug!(connection = %name, queued, "health event queued"),
        Err(error) => {
            tracing::warn!(connection = %name, %error, "cannot queue the health event")
        }
    }
}

/// Sets the per-state gauge from the last look at each connection.
fn count(states: &HashMap<Key, Condition>) {
    for condition in [
        Condition::Ok,
        Condition::NeedsReauth,
        Condition::Unreachable,
        Condition::NotConnected,
        Condition::Broken,
    ] {
        let n = states.values().filter(|c| **c == condition).count();
        crate::metrics::health_count(condition.word(), n);
    }
}

/// Connection `name`'s health as answers show it: `{state, reason, since}`,
/// or `null` when nobody has looked yet (or the monitor is off).
pub async fn view(scope: &Scope, name: &Name) -> Value {
    match record::of(&scope.space, name).read().await {
        Ok(Some(health)) if health.state != Condition::Removed => view_of(&health),
        Ok(_) => Value::Null,
        Err(error) => {
            tracing::warn!(connection = %name, %error, "health: cannot read the record");
            Value::Null
        }
    }
}

/// As [`view`], for a status answer whose tokens were issued at
/// `issued_at`: when that is after the record said `needs_reauth` (a
/// reconnect the monitor has not looked at yet), it looks again now, as the
/// monitor would (announcing `connection.recovered` if this process is the
/// one that changes the record).
pub async fn view_after(scope: &Scope, name: &Name, issued_at: u64) -> Value {
    let record = record::of(&scope.space, name).read().await;
    if let Ok(Some(health)) = record {
        if health.state == Condition::NeedsReauth && issued_at > health.since {
            let key = (scope.space.tenant.clone(), name.clone());
            look(&scope.state, &key, DEFAULT_SECONDS * 1000).await;
        }
    }
    view(scope, name).await
}

fn view_of(health: &Health) -> Value {
    json!({"state": health.state.word(), "reason": health.reason, "since": rfc3339(health.since)})
}

/// Marks a deleted connection's record, so that a later connection of
/// the same name starts afresh.
pub async fn forget(scope: &Scope, name: &Name) {
    let removed = Health {
        state: Condition::Removed,
        reason: "deleted".into(),
        since: now(),
        announced: false,
        evidence: 0,
    };
    if let Err(error) = record::settle(&record::of(&scope.space, name), removed).await {
        tracing::warn!(connection = %name, %error, "health: cannot mark the record");
    }
}

fn rfc3339(unix_ms: u64) -> String {
    let ms = i64::try_from(unix_ms).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
