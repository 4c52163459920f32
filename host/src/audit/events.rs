//! The events of the trail, one function each, called at one place of the
//! pipeline each. Their fields are names, paths, versions, digests, classes
//! and durations: never a value, a token, a client secret or an input.

use std::future::Future;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::{enabled, record, record_for, Context};
use crate::connection::Connection;
use crate::egress::EgressEvent;
use crate::invoke::ConnectorInfo;
use crate::secrets::{AssetRef, SecretData};
use crate::session::SessionError;

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A connection's name: its file's stem (`serve` names connections so).
pub fn connection_name(connection: &Connection) -> String {
    connection
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `read` (a credential store read of `asset` for `field`), recording
/// `secret.resolved` or `secret.failed` (the store failed, or the secret
/// lacks the field's key) when it ends. Cached values are not read again,
/// so they are not recorded again.
pub async fn reading<E: std::fmt::Display>(
    field: &str,
    store: &str,
    location: String,
    asset: &AssetRef,
    read: impl Future<Output = Result<SecretData, E>>,
) -> Result<SecretData, E> {
    let outcome = read.await;
    if enabled() {
        let mut f = fields(json!({
            "store": store,
            "path": location,
            "asset": asset.name.to_string(),
            "kv_version": asset.version,
            "field": field,
            "key": asset.key(),
        }));
        match &outcome {
            Ok(data) if data.contains_key(asset.key()) => record("secret.resolved", f),
            Ok(_) => {
                f.insert("error".into(), Value::from("the secret has no such key"));
                record("secret.failed", f);
            }
            Err(error) => {
                // Store errors name the store and path, never a value.
                let text = crate::redact::secrets_removed(&error.to_string());
                f.insert("error".into(), Value::from(first_line(&text)));
                record("secret.failed", f);
            }
        }
    }
    outcome
}

/// An OAuth token was issued to `connection` (a finished connect):
/// `how` is `browser`, `device` or `page`.
pub fn token_issued(connection: &str, scopes: &[String], how: &str) {
    record(
        "oauth.token.issued",
        fields(json!({"connection": connection, "scopes": scopes, "how": how})),
    );
}

/// A connection's access token was refreshed (`connection`: its name or file).
pub fn token_refreshed(connection: &str) {
    record(
        "oauth.token.refreshed",
        fields(json!({"connection": stem(connection)})),
    );
}

/// The token endpoint refused a refresh (`reason`: its error code).
pub fn token_refused(connection: &str, reason: &str) {
    let reason: String = reason.chars().take(64).collect();
    record(
        "oauth.token.refused",
        fields(json!({"connection": stem(connection), "reason": reason})),
    );
}

/// A connection file's name without directory and `.toml`.
fn stem(connection: &str) -> String {
    Path::new(connection).file_stem().map_or_else(
        || connection.to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// A connection's tokens were revoked or forgotten.
pub fn token_revoked(connection: &str) {
    record(
        "oauth.token.revoked",
        fields(json!({"connection": connection})),
    );
}

/// A connect (OAuth sign-in) started or ended: `outcome` is `started`,
/// `connected` or the error class that stopped it.
pub fn connect(connection: &str, outcome: &str) {
    record(
        "connection.connect",
        fields(json!({"connection": connection, "outcome": outcome})),
    );
}

/// A connection was disconnected (its tokens dropped).
pub fn disconnect(connection: &str) {
    record(
        "connection.disconnect",
        fields(json!({"connection": connection})),
    );
}

/// What happened to a connection document.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// Created.
    Created,
    /// Changed (fields, endpoints).
    Changed,
    /// Deleted.
    Deleted,
}

/// A connection was created, changed or deleted (`serve`'s API and page).
pub fn connection_changed(change: Change, connection: &str, connector: Option<&str>) {
    let kind = match change {
        Change::Created => "connection.created",
        Change::Changed => "connection.changed",
        Change::Deleted => "connection.deleted",
    };
    record(
        kind,
        fields(json!({"connection": connection, "connector": connector})),
    );
}

/// A connection's health changed (`serve`'s background monitor): `from`
/// and `to` are fixed state words, `reason` a sentence of the host's own
/// (names, never a value).
pub fn connection_health(connection: &str, from: &str, to: &str, reason: &str) {
    record(
        "connection.health",
        fields(json!({"connection": connection, "from": from, "to": to, "reason": reason})),
    );
}

/// A tenant's API token was issued (`issued`) or revoked, by its id
/// ([`super::token_id`]), never the token.
pub fn tenant_token(issued: bool, tenant: &str, token_id: &str) {
    let kind = if issued {
        "tenant.token.issued"
    } else {
        "tenant.token.revoked"
    };
    record(kind, fields(json!({"tenant": tenant, "token": token_id})));
}

/// An activity call ended: its result class (`ok` or the error class) and
/// duration; then, if a limit stopped it, `limit.hit`. Never its input.
pub fn activity_run(
    connection: &Connection,
    connector: &ConnectorInfo,
    activity: &str,
    outcome: &Result<Value, SessionError>,
    began: Instant,
) {
    if !enabled() {
        return;
    }
    let name = connection_name(connection);
    let result = match outcome {
        Ok(_) => "ok",
        Err(error) => error.class().name(),
    };
    record(
        "activity.run",
        fields(json!({
            "connection": name,
            "connector": connector.name,
            "activity": activity,
            "result": result,
            "duration_ms": began.elapsed().as_secs_f64() * 1000.0,
        })),
    );
    if let Some(limit) = outcome.as_ref().err().and_then(SessionError::limit_setting) {
        record(
            "limit.hit",
            fields(json!({"connection": name, "activity": activity, "limit": limit})),
        );
    }
}

/// The egress hook refused a request (an undeclared origin, an address
/// that is not public, a TLS failure). The origin only: a path or query
/// may hold a user's data.
pub fn egress_refused(event: &EgressEvent) {
    egress_refused_for(&super::current(), event);
}

/// [`egress_refused`] for `context` (from a spawned task).
pub fn egress_refused_for(context: &Context, event: &EgressEvent) {
    if !enabled() {
        return;
    }
    let (origin, reason, address) = match event {
        EgressEvent::Denied { origin } => (origin.as_str(), "undeclared_origin", None),
        EgressEvent::AddressRefused { origin, address } => (
            origin.as_str(),
            "address_not_public",
            Some(address.to_string()),
        ),
        EgressEvent::TlsRefused { origin, .. } => (origin.as_str(), "tls", None),
        // A trigger's poll tried to change something: worth a security team's eye.
        EgressEvent::WriteRefused { origin, .. } => (origin.as_str(), "write_in_poll", None),
        _ => return,
    };
    record_for(
        context,
        "egress.refused",
        fields(json!({"origin": origin_only(origin), "reason": reason, "address": address})),
    );
}

/// A connector was loaded: its name, version, file and SHA-256.
pub fn connector_loaded(
    path: &Path,
    info: &ConnectorInfo,
    bytes: &[u8],
    signer: &crate::signing::Signer,
) {
    if !enabled() {
        return;
    }
    use sha2::{Digest, Sha256};
    record(
        "connector.loaded",
        fields(json!({
            "connector": info.name,
            "version": info.version,
            "path": path.display().to_string(),
            "sha256": hex::encode(Sha256::digest(bytes)),
            "signature": signer,
        })),
    );
}

/// `scheme://host:port` of what a guest asked for: no user info, path or query.
fn origin_only(asked: &str) -> String {
    let (scheme, rest) = asked.split_once("://").unwrap_or(("", asked));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let cut: String = host.chars().take(255).collect();
    if scheme.is_empty() {
        cut
    } else {
        format!("{scheme}://{cut}")
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_keeps_neither_user_info_nor_path_nor_query() {
        assert_eq!(
            origin_only("https://me:pw@evil.example:8443/a/b?email=x@y#z"),
            "https://evil.example:8443"
        );
        assert_eq!(origin_only("http://h/"), "http://h");
        assert_eq!(origin_only("not a url/x"), "not a url");
    }
}
