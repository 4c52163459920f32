//! Subscriptions: a connection's trigger (or its health events) delivered
//! to a webhook URL, signed (Standard Webhooks), retried, in order.
//!
//! - `POST /api/connections/{c}/subscriptions` `{trigger, url,
//!   interval_seconds?, since?, settings?, health?}` → 201 with the id and the
//!   signing secret, shown this once;
//! - `GET …/subscriptions`, `GET|DELETE …/subscriptions/{id}`;
//! - `GET …/{id}/dead-letters`, `POST …/{id}/dead-letters/replay`
//!   (`{"ids": [...]}`, or every one).
//!
//! [`publish`] queues a health event for every subscription of a connection
//! that takes them. The poller (`subscriptions_poller`) polls and delivers;
//! what is kept is in `subscriptions_kept`.
//!
//! Invariants: a request works in its own tenant's space only (another
//! tenant's subscription is as absent as one never made); the secret is in
//! the creating answer only, never in a later answer, a log line or the page.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::api::known;
use super::errors::ApiError;
use super::space::Scope;
use super::state::State;
use super::subscriptions_kept::{self as kept, Entry, Pending, Subscription, HEALTH};
use super::tenants::Principal;
use crate::events::{Destination, WebhookSecret};
use crate::name::Name;

type Answer = Result<Response, ApiError>;

/// What `POST …/subscriptions` takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    trigger: String,
    url: String,
    interval_seconds: Option<u64>,
    since: Option<String>,
    #[serde(default)]
    settings: Map<String, Value>,
    health: Option<bool>,
}

fn invalid(text: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", text)
}

fn unavailable(text: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", text)
}

fn no_subscription(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no subscription {}\nhint: GET /api/connections/<connection>/subscriptions lists them",
            crate::redact::untrusted(id)
        ),
    )
}

/// `POST /api/connections/{name}/subscriptions`.
pub async fn create(
    scope: Scope,
    Path(name): Path<String>,
    Json(new): Json<NewSubscription>,
) -> Answer {
    let connection = known(&scope, &name).await?;
    let interval = check_trigger(&scope, &connection, &new).await?;
    let destination = Destination::parse(&new.url, &scope.config.events.destinations)
        .map_err(|e| invalid(format!("url: {e}")))?;
    destination
        .resolve_check()
        .await
        .map_err(|e| invalid(format!("url: {e}")))?;
    if let Some(since) = &new.since {
        chrono::DateTime::parse_from_rfc3339(since)
            .map_err(|_| invalid("since: an RFC 3339 time, e.g. 2026-12-07T10:00:00Z"))?;
    }
    let id = Name::parse(&format!("sub_{}", &super::auth::random_token()[..24]), "id")
        .expect("hex digits make a name");
    let secret = WebhookSecret::generate();
    crate::redact::remember(secret.text());
    let secret_store = kept::keep_secret(&scope, &connection, &id, &secret)
        .await
        .map_err(unavailable)?;
    let subscription = Subscription {
        id: id.clone(),
        trigger: new.trigger,
        url: destination.url.to_string(),
        interval_seconds: interval,
        since: new.since,
        settings: new.settings,
        health: new.health.unwrap_or(true),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        secret_store,
        checkpoint: None,
        next_poll: 0,
        outbox: Vec::new(),
        dead: Vec::new(),
        lease: None,
        delivered: 0,
        last_error: None,
    };
    let mut view = subscription.view(&connection);
    let inserted = subscription.clone();
    kept::record(&scope, &connection)
        .change(move |slot| {
            let kept = slot.get_or_insert_with(Default::default);
            kept.subscriptions
                .insert(inserted.id.to_string(), inserted.clone());
            (true, ())
        })
        .await
        .map_err(unavailable)?;
    index_entry(&scope, &connection, true).await?;
    view["secret"] = Value::String(secret.text().expose_secret().to_owned());
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The trigger exists on the connection's connector (or is [`HEALTH`]),
/// its settings fit, and the interval is at least its minimum: the interval.
async fn check_trigger(
    scope: &Scope,
    connection: &Name,
    new: &NewSubscription,
) -> Result<u64, ApiError> {
    if new.trigger == HEALTH {
        if !new.settings.is_empty() || new.interval_seconds.is_some() || new.since.is_some() {
            return Err(invalid(
                "a connection.health subscription takes no settings, interval_seconds or since",
            ));
        }
        return Ok(0);
    }
    let session = scope
        .session(connection)
        .await
        .map_err(ApiError::on(connection))?;
    let connector = session.connector();
    let Some(trigger) = connector.trigger(&new.trigger) else {
        let names: Vec<&str> = connector
            .info()
            .triggers
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        return Err(invalid(format!(
            "trigger: the connector has no trigger {}\nhint: {}, or {HEALTH} for health events only",
            crate::redact::untrusted(&new.trigger),
            crate::suggest::hint(&new.trigger, &names, "its triggers are")
        )));
    };
    let minimum = u64::from(trigger.minimum_interval_seconds).max(1);
    let interval = new
        .interval_seconds
        .unwrap_or(u64::from(trigger.default_interval_seconds));
    if interval < minimum || interval > 86_400 {
        return Err(invalid(format!(
            "interval_seconds: from {minimum} (the trigger's minimum) to 86400"
        )));
    }
    connector
        .check_settings(&new.trigger, &new.settings)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(interval)
}

/// Adds (or, once it has none left, removes) `connection` in the index.
async fn index_entry(scope: &Scope, connection: &Name, add: bool) -> Result<(), ApiError> {
    let entry = Entry {
        tenant: scope.space.tenant.clone(),
        connection: connection.clone(),
    };
    kept::index(&scope.state.home_documents())
        .change(move |slot| {
            let entries = slot.get_or_insert_with(Vec::new);
            let present = entries.contains(&entry);
            if add && !present {
                entries.push(entry.clone());
                entries.sort();
            } else if !add && present {
                entries.retain(|e| e != &entry);
            }
            (add != present, ())
        })
        .await
        .map_err(unavailable)
}

/// The connection's subscriptions (404 for an unknown connection).
async fn subscriptions(scope: &Scope, name: &str) -> Result<(Name, kept::Kept), ApiError> {
    let connection = known(scope, name).await?;
    let found = kept::record(scope, &connection)
        .read()
        .await
        .map_err(unavailable)?;
    Ok((connection, found.unwrap_or_default()))
}

/// `GET /api/connections/{name}/subscriptions`.
pub async fn list(scope: Scope, Path(name): Path<String>) -> Answer {
    let (connection, found) = subscriptions(&scope, &name).await?;
    let list: Vec<Value> = found
        .subscriptions
        .values()
        .map(|s| s.view(&connection))
        .collect();
    Ok(Json(json!({ "subscriptions": list })).into_response())
}

/// `GET /api/connections/{name}/subscriptions/{id}`.
pub async fn get(scope: Scope, Path((name, id)): Path<(String, String)>) -> Answer {
    let (connection, found) = subscriptions(&scope, &name).await?;
    let subscription = found
        .subscriptions
        .get(&id)
        .ok_or_else(|| no_subscription(&id))?;
    Ok(Json(subscription.view(&connection)).into_response())
}

/// `GET /api/connections/{name}/subscriptions/{id}/dead-letters`.
pub async fn dead_letters(scope: Scope, Path((name, id)): Path<(String, String)>) -> Answer {
    let (_, found) = subscriptions(&scope, &name).await?;
    let subscription = found
        .subscriptions
        .get(&id)
        .ok_or_else(|| no_subscription(&id))?;
    let list: Vec<Value> = subscription.dead.iter().map(Pending::view).collect();
    Ok(Json(json!({ "dead_letters": list })).into_response())
}

/// What `POST …/dead-letters/replay` takes: the ids, or none for all.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    ids: Option<Vec<String>>,
}

/// `POST …/{id}/dead-letters/replay`: the dead letters go back to the end
/// of the outbox, with their ids and a fresh retry budget.
pub async fn replay(
    scope: Scope,
    Path((name, id)): Path<(String, String)>,
    body: Option<Json<Replay>>,
) -> Answer {
    let connection = known(&scope, &name).await?;
    let ids = body.map(|Json(r)| r).unwrap_or_default().ids;
    let key = id.clone();
    let replayed = kept::record(&scope, &connection)
        .change(move |slot| {
            let Some(subscription) = slot.as_mut().and_then(|k| k.subscriptions.get_mut(&key))
            else {
                return (false, None);
            };
            let wanted = |p: &Pending| ids.as_ref().is_none_or(|ids| ids.contains(&p.id));
            let (back, stay): (Vec<Pending>, Vec<Pending>) =
                subscription.dead.drain(..).partition(wanted);
            subscription.dead = stay;
            let count = back.len();
            for mut pending in back {
                pending.attempts = 0;
                pending.next_attempt = 0;
                pending.last_error = None;
                subscription.outbox.push(pending);
            }
            (count > 0, Some(count))
        })
        .await
        .map_err(unavailable)?;
    let count = replayed.ok_or_else(|| no_subscription(&id))?;
    Ok(Json(json!({ "replayed": count })).into_response())
}

/// `DELETE /api/connections/{name}/subscriptions/{id}`: the subscription,
/// its outbox and dead letters, and its secret.
pub async fn delete(scope: Scope, Path((name, id)): Path<(String, String)>) -> Answer {
    let connection = known(&scope, &name).await?;
    let key = id.clone();
    let (removed, left) = kept::record(&scope, &connection)
        .change(move |slot| match slot.as_mut() {
            Some(k) => {
                let removed = k.subscriptions.remove(&key);
                (removed.is_some(), (removed, k.subscriptions.len()))
            }
            None => (false, (None, 0)),
        })
        .await
        .map_err(unavailable)?;
    let removed = removed.ok_or_else(|| no_subscription(&id))?;
    kept::delete_secret(&scope, &connection, &removed)
        .await
        .map_err(unavailable)?;
    if left == 0 {
        index_entry(&scope, &connection, false).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deletes every subscription of `connection` and their secrets (the
/// connection is being deleted). A store that cannot delete stops it.
///
/// # Errors
///
/// A 503 when the record or a secret cannot be deleted.
pub async fn remove_all(scope: &Scope, connection: &Name) -> Result<(), ApiError> {
    let record = kept::record(scope, connection);
    let Some(found) = record.read().await.map_err(unavailable)? else {
        return Ok(());
    };
    for subscription in found.subscriptions.values() {
        kept::delete_secret(scope, connection, subscription)
            .await
            .map_err(unavailable)?;
    }
    record.remove().await.map_err(unavailable)?;
    index_entry(scope, connection, false).await
}

/// Queues a health event (`kind`: [`crate::events::NEEDS_REAUTH`] or
/// [`crate::events::RECOVERED`]; `data`: its details) for every
/// subscription of `connection` in `tenant` that takes health events, in
/// the same durable outbox as trigger events. The envelope's timestamp is
/// `data.occurred_at` when it is a string, else now. An event's
/// `webhook-id` is derived from the subscription, `kind` and `data`, so
/// replicas publishing the same transition (same `data`, e.g. with its
/// time) queue it once per subscription. Returns how many subscriptions
/// took it (0 when the connection has none).
///
/// # Errors
///
/// A sentence when the record cannot be read or written.
pub async fn publish(
    state: &Arc<State>,
    tenant: &Name,
    connection: &Name,
    kind: &str,
    data: Value,
) -> Result<usize, String> {
    let scope = Scope::new(state.clone(), Principal::Operator, tenant);
    let timestamp = data["occurred_at"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let envelope =
        crate::events::envelope(kind, &timestamp, data, connection.as_str(), tenant.as_str());
    let body = envelope.to_string();
    let kind = kind.to_owned();
    kept::record(&scope, connection)
        .change(move |slot| {
            let Some(found) = slot.as_mut() else {
                return (false, 0);
            };
            let mut queued = 0;
            for subscription in found
                .subscriptions
                .values_mut()
                .filter(|s| s.takes_health())
            {
                let id = message_id(subscription.id.as_str(), &kind, &body);
                queued += usize::from(queue(subscription, id, &kind, body.clone()));
            }
            (queued > 0, queued)
        })
        .await
}

/// A `webhook-id`: `msg_` and 32 hex digits of SHA-256 over the
/// subscription and what identifies the event, so the same event queued
/// twice (a poll repeated after a crash) keeps its id.
pub(super) fn message_id(subscription: &str, kind: &str, identity: &str) -> String {
    let digest = Sha256::digest(format!("{subscription}\n{kind}\n{identity}").as_bytes());
    format!("msg_{}", &hex::encode(digest)[..32])
}

/// Appends an event to the outbox unless one of that id waits there
/// already; whether it was appended.
pub(super) fn queue(subscription: &mut Subscription, id: String, kind: &str, body: String) -> bool {
    if subscription.outbox.iter().any(|p| p.id == id) {
        return false;
    }
    subscription.outbox.push(Pending {
        id,
        kind: kind.to_owned(),
        body,
        attempts: 0,
        next_attempt: 0,
        last_error: None,
    });
    true
}
