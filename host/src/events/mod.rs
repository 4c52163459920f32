//! Events leaving the host: the envelope every delivery channel uses, and
//! webhook deliveries a platform can trust (Standard Webhooks signatures,
//! checked destinations, retries with backoff).
//!
//! # Layout
//!
//! - [`envelope`]: `{type, timestamp, data, connection, tenant}`, the same
//!   on webhooks and NDJSON.
//! - [`signing`]: the `webhook-*` headers and the `whsec_` secret.
//! - [`destination`]: the webhook URL's checks (https, public addresses,
//!   the operator's allowances).
//! - [`delivery`]: one signed `POST` through the host's pooled client.
//! - [`backoff`]: when a failed delivery is tried again, and when it is a
//!   dead letter.
//!
//! What is kept durably (the checkpoint, the outbox, the dead letters, the
//! lease) is `serve`'s: see `serve/subscriptions*.rs`.

pub mod backoff;
pub mod delivery;
pub mod destination;
pub mod signing;

use serde_json::{json, Value};

pub use backoff::Backoff;
pub use delivery::{DeliveryError, Message, Sender};
pub use destination::{Destination, DestinationError};
pub use signing::WebhookSecret;

/// The type of the health event a connection emits when it needs the user
/// to sign in again (refresh token refused or revoked, asset missing).
pub const NEEDS_REAUTH: &str = "connection.needs_reauth";

/// The type of the health event a connection emits when it works again.
pub const RECOVERED: &str = "connection.recovered";

/// The envelope of one event: `{"type", "timestamp", "data", "connection",
/// "tenant"}`, `tenant` omitted for the default tenant.
///
/// # Examples
///
/// ```
/// use serde_json::json;
/// let e = connector_host::events::envelope(
///     "note-created", "2026-12-07T10:00:00Z", json!({"id": "n1"}), "notes", "default");
/// assert_eq!(e, json!({"type": "note-created", "timestamp": "2026-12-07T10:00:00Z",
///     "data": {"id": "n1"}, "connection": "notes"}));
/// ```
pub fn envelope(kind: &str, timestamp: &str, data: Value, connection: &str, tenant: &str) -> Value {
    let mut envelope = json!({
        "type": kind,
        "timestamp": timestamp,
        "data": data,
        "connection": connection,
    });
    if tenant != crate::documents::DEFAULT_TENANT {
        envelope["tenant"] = Value::String(tenant.to_owned());
    }
    envelope
}

/// Whether `kind` is a health event's type.
pub fn is_health(kind: &str) -> bool {
    kind == NEEDS_REAUTH || kind == RECOVERED
}
