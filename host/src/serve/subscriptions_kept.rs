//! What `serve` keeps of a connection's subscriptions, beside the
//! connection: one [`Record`] per connection (a 0600 file under a lock, or a
//! KV v2 document changed with check-and-set in the connections store) that
//! holds each subscription's settings, checkpoint, outbox, dead letters and
//! lease; an index of the connections that have any (so every replica's
//! poller finds them); and each subscription's signing secret, kept as a
//! typed secret is (the read-write store, else a 0600 file).
//!
//! | what      | `default`                                  | tenant `t`                              |
//! |-----------|--------------------------------------------|-----------------------------------------|
//! | record    | `.subscriptions/<c>.json` or `subscriptions/<c>` | below `tenants/t/`                |
//! | secret    | `webhook-secrets/<c>/<id>` or `.secrets/<c>/.webhooks/<id>` | below `tenants/t/`     |
//! | index     | `.subscription-index.json` or `subscription-index` (one, the server's) |             |
//!
//! Invariants: a poll's events and its checkpoint are written in one change;
//! an event leaves the outbox only after a 2xx (or into the dead letters);
//! the secret is in none of these records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::record::Record;
use super::space::Scope;
use crate::at_rest::file_binding;
use crate::documents::{create_private_dir, Documents};
use crate::events::WebhookSecret;
use crate::name::{AssetName, Name};
use crate::secrets::{AssetKind, AssetRef, SecretData};

/// A subscription's `trigger` when it takes health events only.
pub const HEALTH: &str = "connection.health";

/// One subscription, as kept.
#[derive(Serialize, Deserialize, Clone)]
pub struct Subscription {
    /// `sub_` and 24 hex digits.
    pub id: Name,
    /// The connector's trigger, or [`HEALTH`].
    pub trigger: String,
    /// The webhook URL.
    pub url: String,
    /// Seconds between polls.
    pub interval_seconds: u64,
    /// Where the first poll starts (none: the connector's "now").
    pub since: Option<String>,
    /// The trigger's settings.
    pub settings: Map<String, Value>,
    /// Whether the connection's health events are delivered too.
    pub health: bool,
    /// When it was made (RFC 3339).
    pub created: String,
    /// The store holding its secret (`None`: a 0600 file).
    pub secret_store: Option<String>,
    /// The trigger's checkpoint after the last poll kept.
    pub checkpoint: Option<String>,
    /// When to poll next (Unix ms).
    pub next_poll: u64,
    /// Events to deliver, oldest first.
    pub outbox: Vec<Pending>,
    /// Events whose retry budget was spent.
    pub dead: Vec<Pending>,
    /// The replica polling and delivering it.
    pub lease: Option<Lease>,
    /// Events delivered so far.
    pub delivered: u64,
    /// The last poll's or delivery's failure, as a sentence.
    pub last_error: Option<String>,
}

/// One event waiting for delivery (or dead).
#[derive(Serialize, Deserialize, Clone)]
pub struct Pending {
    /// `webhook-id`: the same on every attempt and after a replay.
    pub id: String,
    /// The envelope's `type`.
    pub kind: String,
    /// The envelope, as the exact bytes sent.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before (Unix ms).
    pub next_attempt: u64,
    /// The last attempt's failure.
    pub last_error: Option<String>,
}

/// Who polls and delivers a subscription, until when.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The replica (random per process).
    pub holder: String,
    /// Unix ms.
    pub until: u64,
}

/// A connection's subscriptions.
#[derive(Serialize, Deserialize, Default, Clone)]
pub struct Kept {
    /// By id.
    pub subscriptions: BTreeMap<String, Subscription>,
}

/// One connection with subscriptions, in the index.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Entry {
    /// The tenant.
    pub tenant: Name,
    /// The connection.
    pub connection: Name,
}

/// The record of `connection`'s subscriptions, in the tenant's space.
pub fn record(scope: &Scope, connection: &Name) -> Record<Kept> {
    let file = Path::new(".subscriptions").join(format!("{connection}.json"));
    Record::beside(
        scope.documents(),
        &file,
        scope.space.asset("subscriptions", &[connection]),
    )
}

/// The server's index of connections with subscriptions.
pub fn index(home: &Documents) -> Record<Vec<Entry>> {
    let asset = AssetName::parse("subscription-index", "document").expect("a fixed name");
    Record::beside(home, Path::new(".subscription-index.json"), asset)
}

impl Subscription {
    /// Whether it takes events of type `kind` from [`super::subscriptions::publish`].
    pub fn takes_health(&self) -> bool {
        self.trigger == HEALTH || self.health
    }

    /// What the API shows: settings and state, never the secret.
    pub fn view(&self, connection: &Name) -> Value {
        let state = match (&self.last_error, self.outbox.first()) {
            (_, Some(head)) if head.attempts > 0 => "retrying",
            (Some(_), _) => "failing",
            _ => "active",
        };
        let url = url::Url::parse(&self.url)
            .map(|u| crate::events::destination::shown(&u))
            .unwrap_or_else(|_| crate::redact::url(&self.url));
        json!({
            "id": self.id, "connection": connection, "trigger": self.trigger,
            "url": url, "interval_seconds": self.interval_seconds, "since": self.since,
            "settings": self.settings, "health": self.takes_health(), "created": self.created,
            "state": state, "pending": self.outbox.len(), "dead_letters": self.dead.len(),
            "delivered": self.delivered, "last_error": self.last_error,
        })
    }
}

impl Pending {
    /// What the API shows of a dead letter: its envelope and why it failed.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id, "type": self.kind, "attempts": self.attempts,
            "last_error": self.last_error,
            "event": serde_json::from_str::<Value>(&self.body).unwrap_or(Value::Null),
        })
    }
}

/// Where a secret of subscription `id` lives in the store.
fn secret_ref(scope: &Scope, store: &str, connection: &Name, id: &Name) -> AssetRef {
    AssetRef {
        name: scope.space.asset("webhook-secrets", &[connection, id]),
        external_name: None,
        store: Some(store.to_owned()),
        kind: AssetKind::Secret {
            key: "value".into(),
        },
        version: None,
    }
}

/// The 0600 file of a secret kept without a store: below the connection's
/// typed secrets (deleted with them), in `.webhooks/`, which no field name
/// can reach (names never start with a dot).
fn secret_file(scope: &Scope, connection: &Name, id: &Name) -> PathBuf {
    scope
        .space
        .secrets_dir(connection)
        .join(".webhooks")
        .join(id.as_str())
}

/// Keeps `secret` of subscription `id`; the store it went to (`None`: a file).
///
/// # Errors
///
/// A sentence naming the place (never the value).
pub async fn keep_secret(
    scope: &Scope,
    connection: &Name,
    id: &Name,
    secret: &WebhookSecret,
) -> Result<Option<String>, String> {
    if let Some((name, store)) = &scope.secret_store {
        let asset = secret_ref(scope, name, connection, id);
        let data = SecretData::from([("value".to_owned(), secret.text().clone())]);
        store
            .write_secret(&asset, data)
            .await
            .map_err(|e| format!("cannot keep the webhook secret in store '{name}': {e}"))?;
        return Ok(Some(name.clone()));
    }
    let file = secret_file(scope, connection, id);
    let dir = file.parent().expect("a file in a directory");
    create_private_dir(dir)
        .map_err(|e| format!("cannot keep the webhook secret in {}: {e}", dir.display()))?;
    scope
        .at_rest
        .write(
            &file,
            &file_binding(&file),
            secret.text().expose_secret().as_bytes(),
        )
        .await
        .map_err(|e| format!("cannot keep the webhook secret: {e}"))?;
    Ok(None)
}

/// The signing secret of `subscription`.
///
/// # Errors
///
/// A sentence naming the place when it cannot be read.
pub async fn read_secret(
    scope: &Scope,
    connection: &Name,
    subscription: &Subscription,
) -> Result<WebhookSecret, String> {
    let id = &subscription.id;
    let text = match &subscription.secret_store {
        Some(name) => {
            let store = scope
                .secret_store
                .as_ref()
                .filter(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| {
                    format!("store '{name}' (the webhook secret's) is not configured")
                })?;
            let found = store
                .read_record(&secret_ref(scope, name, connection, id))
                .await
                .map_err(|e| format!("cannot read the webhook secret in store '{name}': {e}"))?;
            found
                .and_then(|(data, _)| data.get("value").cloned())
                .ok_or_else(|| format!("the webhook secret of {id} is missing in store '{name}'"))?
        }
        None => {
            let file = secret_file(scope, connection, id);
            let opened = scope
                .at_rest
                .read(&file, &file_binding(&file))
                .await
                .map_err(|e| format!("cannot read the webhook secret: {e}"))?
                .ok_or_else(|| format!("the webhook secret {} is missing", file.display()))?;
            let text = std::str::from_utf8(&opened.plain)
                .map_err(|_| format!("the webhook secret {} is not text", file.display()))?;
            SecretString::from(text.to_owned())
        }
    };
    WebhookSecret::parse(&text)
}

/// Deletes the signing secret of `subscription` (an absent one is fine).
///
/// # Errors
///
/// A sentence when the store cannot delete it.
pub async fn delete_secret(
    scope: &Scope,
    connection: &Name,
    subscription: &Subscription,
) -> Result<(), String> {
    match &subscription.secret_store {
        Some(name) => {
            let Some((_, store)) = scope.secret_store.as_ref().filter(|(n, _)| n == name) else {
                return Ok(());
            };
            store
                .delete_secret(&secret_ref(scope, name, connection, &subscription.id))
                .await
                .map_err(|e| format!("cannot delete the webhook secret in store '{name}': {e}"))
        }
        None => {
            let _ = std::fs::remove_file(secret_file(scope, connection, &subscription.id));
            Ok(())
        }
    }
}
