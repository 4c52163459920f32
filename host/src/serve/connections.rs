//! Connections made on the page or through the API, kept as ordinary
//! connection files in the connections directory (so `connector-host run`
//! can use them).
//!
//! Invariants:
//! - a secret typed in is never echoed back and never written in plain text
//!   into a connection file. With a read-write credential store it becomes a
//!   credential asset there; without one it goes into a 0600 file beside the
//!   connections, which the connection names with `{ file = … }`;
//! - where it goes is built from the connection's and the field's [`Name`]s,
//!   never pasted from text: `secrets/<connection>/<field>` in the store,
//!   `.secrets/<connection>/<field>` on disk. No name holds a `/` or a dot,
//!   so no (connection, field) pair can reach another's place or leave its
//!   own, whatever a connector declares or a client sends;
//! - deleting a connection deletes exactly those places, its token record,
//!   and its subscriptions with their secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Loaded;
use super::errors::ApiError;
use super::space::Scope;
use crate::at_rest::file_binding;
use crate::catalogue::Entry;
use crate::documents::{create_private_dir, DocumentError, Documents};
use crate::egress::Origin;
use crate::invoke::{AuthScheme, ConnectionField, ConnectorInfo};
use crate::name::{AssetName, Name};
use crate::secrets::{AssetKind, AssetRef, FieldSource, SecretData};
use crate::Connection;

/// The store path of a secret typed into `field` of `connection`:
/// `secrets/<connection>/<field>` in the tenant's records. Each kind of
/// thing the host keeps in a store has a first segment of its own
/// (`secrets`, `tokens`, `connections`, `quotas`, `tenants`, `api-tokens`,
/// `connect-links`, `subscriptions`, `subscription-index`, `webhook-secrets`,
/// `health`),
/// so no name can make one reach another.
fn typed_secret_asset(scope: &Scope, connection: &Name, field: &Name) -> AssetName {
    scope.space.asset("secrets", &[connection, field])
}

/// The store path of `connection`'s OAuth token record: `tokens/<connection>`
/// in the tenant's records.
fn token_asset(scope: &Scope, connection: &Name) -> AssetName {
    scope.space.asset("tokens", &[connection])
}

/// The first segments of the host's own records in a store: no credential
/// asset chosen through the API may be below them (one tenant would
/// otherwise name another's typed secret or token record).
const HOST_RECORDS: [&str; 11] = [
    "secrets",
    "tokens",
    "connections",
    "quotas",
    "tenants",
    "api-tokens",
    "connect-links",
    "subscriptions",
    "subscription-index",
    "webhook-secrets",
    "health",
];

/// A connection as the API takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The connection's name (file `<name>.toml`); only on create.
    #[serde(default)]
    pub name: Option<String>,
    /// The connector, by name.
    pub connector: String,
    /// Field values.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldValue>,
    /// OAuth scopes to request instead of what the activities need.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The platform's id of the person the connection is for.
    #[serde(default)]
    pub end_user: Option<String>,
}

/// One field: typed in, a credential asset, or (on update) kept as it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FieldValue {
    /// Typed in.
    Value(SecretString),
    /// "Use credential asset".
    Asset(AssetChoice),
    /// Keep what the connection has.
    Keep(bool),
}

/// A credential asset picked on the page.
#[derive(Deserialize, serde::Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AssetChoice {
    /// The store, by name.
    pub store: String,
    /// The asset's name.
    pub name: String,
    /// `secret` (default) or `credential`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// For a Secret asset: the key (default `value`).
    #[serde(default)]
    pub key: Option<String>,
    /// For a Credential asset: `username` or `password`.
    #[serde(default)]
    pub part: Option<String>,
}

fn invalid(text: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", text)
}

fn not_found(text: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", text)
}

/// The catalogue entry for `name`, loaded.
pub async fn connector(
    scope: &Scope,
    name: &str,
) -> Result<(Entry, Arc<crate::Connector>), ApiError> {
    use crate::catalogue::LookupError;
    // Only a `Name` can name a connector; anything else is simply unknown.
    if !crate::name::is_name(name) {
        let unknown = LookupError::NotFound(name.to_owned());
        return Err(not_found(format!(
            "{unknown}\nhint: GET /api/connectors lists them; components go in {}",
            scope.catalogue.dir().display()
        )));
    }
    let entry = scope.catalogue.find(name).await.map_err(|e| match e {
        LookupError::NotFound(_) => not_found(format!(
            "{e}\nhint: GET /api/connectors lists them; components go in {}",
            scope.catalogue.dir().display()
        )),
        LookupError::Loading { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "connector_loading",
            e.to_string(),
        ),
        _ => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
    })?;
    let loaded = entry
        .loaded
        .clone()
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "connector_broken", e))?;
    Ok((entry, loaded))
}

/// What happens to a secret typed into a draft.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    /// Kept: written to the read-write store or a 0600 file, and the
    /// connection names where (a connection being saved).
    Kept,
    /// Held in the text only, in memory, never written anywhere (a draft
    /// being checked: see [`super::check`]).
    InMemory,
}

/// Creates (`existing` = None) or rewrites a connection from `draft`.
pub async fn write(
    scope: &Scope,
    name: &Name,
    draft: Draft,
    existing: Option<&Loaded>,
) -> Result<(), ApiError> {
    let text = document(scope, name, &draft, existing, Typed::Kept).await?;
    // Parse what would be written, so an unusable connection is never left behind.
    scope
        .documents()
        .parse(name, &text)
        .map_err(|e| invalid(e.to_string()))?;
    let expected = existing.map(|e| e.stamp);
    let written = scope.documents().write(name, &text, expected).await;
    scope.forget_session(name);
    written.map_err(|e| match e {
        DocumentError::Conflict(_) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
        }
        other => ApiError::from(crate::SessionError::from(other)),
    })
}

/// The connection file's text for `draft`: `existing`'s with its fields
/// replaced, or a new one. Typed secrets are kept or held as `typed` says.
pub async fn document(
    scope: &Scope,
    name: &Name,
    draft: &Draft,
    existing: Option<&Loaded>,
    typed: Typed,
) -> Result<String, ApiError> {
    let (entry, connector) = connector(scope, &draft.connector).await?;
    let info = connector.info();
    let fields = fields_table(scope, name, draft, existing, &info.fields, typed).await?;
    let mut document = match existing {
        Some(e) => e.text.parse::<toml_edit::DocumentMut>().unwrap_or_default(),
        None => new_document(scope, name, &entry.file, info)?,
    };
    document["fields"] = toml_edit::Item::Table(fields);
    if let Some(end_user) = &draft.end_user {
        if !crate::connection::is_end_user(end_user) {
            return Err(invalid("end_user: 1 to 128 letters, digits or . _ : @ + -"));
        }
        document["end_user"] = toml_edit::value(end_user.as_str());
    }
    if let Some(scopes) = &draft.scopes {
        if let Some(oauth) = document
            .get_mut("oauth")
            .and_then(toml_edit::Item::as_table_mut)
        {
            oauth["scopes"] = toml_edit::value(toml_edit::Array::from_iter(scopes.iter()));
        }
    }
    Ok(document.to_string())
}

/// The `[fields]` table for `draft`: each field checked against what the
/// connector declares, required ones present.
async fn fields_table(
    scope: &Scope,
    name: &Name,
    draft: &Draft,
    existing: Option<&Loaded>,
    declared: &[ConnectionField],
    typed: Typed,
) -> Result<toml_edit::Table, ApiError> {
    let mut fields = toml_edit::Table::new();
    for (field, value) in &draft.fields {
        let Some(declared) = declared.iter().find(|f| &f.name == field) else {
            let names: Vec<&str> = declared.iter().map(|f| f.name.as_str()).collect();
            return Err(invalid(format!(
                "fields.{}: the connector has no such field\nhint: {}",
                crate::redact::untrusted(field),
                crate::suggest::hint(field, &names, "its fields are")
            )));
        };
        // Declared names were checked when the connector loaded.
        let field_name =
            Name::parse(&declared.name, "field name").map_err(|e| invalid(e.to_string()))?;
        let item = match value {
            FieldValue::Value(v) if declared.secret && typed == Typed::Kept => {
                secret_source(scope, name, &field_name, v).await?
            }
            FieldValue::Value(v) => toml_edit::value(v.expose_secret()),
            FieldValue::Asset(choice) => asset_source(scope, field, choice)?,
            FieldValue::Keep(false) => {
                return Err(invalid(format!("fields.{field}: keep is `true` or absent")))
            }
            FieldValue::Keep(true) => match existing.and_then(|e| e.connection.fields.get(field)) {
                Some(source) => source_item(source),
                None => return Err(invalid(format!("fields.{field}: there is nothing to keep"))),
            },
        };
        fields.insert(field, item);
    }
    for required in declared
        .iter()
        .filter(|f| f.required && f.default_value.is_none())
    {
        if !fields.contains_key(&required.name) {
            return Err(invalid(format!(
                "fields.{}: required ({})",
                required.name, required.label
            )));
        }
    }
    Ok(fields)
}

/// The tables a new connection starts with: its connector, the OAuth
/// redirect back to this server, where tokens live, the server's stores and
/// endpoint overrides.
fn new_document(
    scope: &Scope,
    name: &Name,
    file: &Path,
    info: &ConnectorInfo,
) -> Result<toml_edit::DocumentMut, ApiError> {
    let connector = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    // A connection kept in a store names its connector by file name: each
    // machine reads it against its own connectors directory.
    let connector = match &scope.documents() {
        Documents::Store { .. } => std::fs::canonicalize(&scope.config.connectors)
            .ok()
            .and_then(|dir| connector.strip_prefix(dir).ok().map(Path::to_owned))
            .unwrap_or(connector),
        Documents::Directory(_) => connector,
    };
    let mut document = toml_edit::DocumentMut::new();
    document["connector"] = toml_edit::value(connector.display().to_string());
    document["fields"] = toml_edit::table();
    if matches!(info.auth, AuthScheme::Oauth2(_)) {
        let mut oauth = toml_edit::Table::new();
        oauth["redirect_uri"] =
            toml_edit::value(format!("{}/oauth/callback", scope.config.public_url()));
        document["oauth"] = toml_edit::Item::Table(oauth);
        if let Some((store, _)) = &scope.secret_store {
            let mut token = toml_edit::Table::new();
            token["store"] = toml_edit::value(store.as_str());
            token["asset"] = toml_edit::value(token_asset(scope, name).as_str());
            document["token"] = toml_edit::Item::Table(token);
        }
    }
    let shared = format!(
        "{}\n{}\n{}",
        scope.config.stores_toml,
        scope.config.endpoints_toml,
        scope.config.at_rest.to_toml()
    );
    let shared: toml_edit::DocumentMut = shared
        .parse()
        .map_err(|_| invalid("the server's [stores] or [endpoints] do not form a connection"))?;
    for (key, item) in shared.iter() {
        document[key] = item.clone();
    }
    // Only the overrides this connector can use: the server's list serves
    // every connector, and an origin a connector never reaches is an error.
    if let Some(endpoints) = document
        .get_mut("endpoints")
        .and_then(|e| e.as_table_like_mut())
    {
        let reached = crate::session::overrides::reached(info);
        let unused: Vec<String> = endpoints
            .iter()
            .map(|(key, _)| key.to_owned())
            .filter(|key| !Origin::parse(key).is_ok_and(|o| reached.contains(&o)))
            .collect();
        for key in unused {
            endpoints.remove(&key);
        }
    }
    Ok(document)
}

/// Where a typed secret goes: an asset in the read-write store, or a 0600 file.
async fn secret_source(
    scope: &Scope,
    connection: &Name,
    field: &Name,
    value: &SecretString,
) -> Result<toml_edit::Item, ApiError> {
    if let Some((store_name, store)) = &scope.secret_store {
        let asset = typed_secret_ref(scope, store_name, connection, field);
        let data = SecretData::from([("value".to_owned(), value.clone())]);
        store.write_secret(&asset, data).await.map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "secret_unresolvable",
                format!(
                    "field {field}: cannot keep the secret in store '{store_name}': {e}\nhint: {}",
                    e.hint()
                ),
            )
        })?;
        let mut table = toml_edit::InlineTable::new();
        table.insert("asset", asset.name.as_str().into());
        table.insert("store", store_name.as_str().into());
        return Ok(toml_edit::value(table));
    }
    let dir = scope.space.secrets_dir(connection);
    let file = dir.join(field.as_str());
    let failed = |e: String| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "field {field}: cannot keep the secret in {}: {e}",
                dir.display()
            ),
        )
    };
    // The directory first: the file's binding is its absolute place.
    create_private_dir(&dir).map_err(|e| failed(e.to_string()))?;
    scope
        .at_rest
        .write(
            &file,
            &file_binding(&file),
            value.expose_secret().as_bytes(),
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut table = toml_edit::InlineTable::new();
    let absolute = std::fs::canonicalize(&file).unwrap_or(file);
    table.insert("file", absolute.display().to_string().into());
    Ok(toml_edit::value(table))
}

/// The reference to `field`'s typed secret in the store `store`.
fn typed_secret_ref(scope: &Scope, store: &str, connection: &Name, field: &Name) -> AssetRef {
    AssetRef {
        name: typed_secret_asset(scope, connection, field),
        external_name: None,
        store: Some(store.to_owned()),
        kind: AssetKind::Secret {
            key: "value".into(),
        },
        version: None,
    }
}

pub(super) fn asset_source(
    scope: &Scope,
    field: &str,
    choice: &AssetChoice,
) -> Result<toml_edit::Item, ApiError> {
    if !scope.stores.contains_key(&choice.store) {
        return Err(invalid(format!(
            "fields.{field}.asset.store: no store of that name (stores: {})",
            scope.stores.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let name = AssetName::parse(&choice.name, "asset name")
        .map_err(|e| invalid(format!("fields.{field}.asset.name: {e}")))?;
    let first = name.split('/').next().unwrap_or_default();
    if HOST_RECORDS.iter().any(|r| r.eq_ignore_ascii_case(first)) {
        return Err(invalid(format!(
            "fields.{field}.asset.name: {first}/ is where this server keeps its own records, not a credential asset\nhint: name an asset of your own in store '{}'",
            choice.store
        )));
    }
    let mut table = toml_edit::InlineTable::new();
    table.insert("asset", name.as_str().into());
    table.insert("store", choice.store.as_str().into());
    if let Some(kind) = &choice.kind {
        table.insert("type", kind.as_str().into());
    }
    if let Some(key) = &choice.key {
        table.insert("key", key.as_str().into());
    }
    if let Some(part) = &choice.part {
        table.insert("part", part.as_str().into());
    }
    Ok(toml_edit::value(table))
}

/// A field source as written in a connection file (kept on update).
fn source_item(source: &FieldSource) -> toml_edit::Item {
    let mut table = toml_edit::InlineTable::new();
    match source {
        FieldSource::Literal(v) => return toml_edit::value(v.expose_secret()),
        FieldSource::Env(var) => {
            table.insert("env", var.as_str().into());
        }
        FieldSource::File(path) => {
            table.insert("file", path.display().to_string().into());
        }
        FieldSource::Asset(a) => {
            table.insert("asset", a.name.as_str().into());
            if let Some(store) = &a.store {
                table.insert("store", store.as_str().into());
            }
            if let Some(external) = &a.external_name {
                table.insert("external_name", external.as_str().into());
            }
            match &a.kind {
                AssetKind::Secret { key } => {
                    table.insert("key", key.as_str().into());
                }
                AssetKind::Credential { part } => {
                    table.insert("type", "credential".into());
                    table.insert("part", part.as_str().into());
                }
            }
            if let Some(version) = a.version {
                table.insert("version", i64::try_from(version).unwrap_or(i64::MAX).into());
            }
        }
    }
    toml_edit::value(table)
}

/// A connection as the API shows it: where each field comes from, the value
/// only for non-secret fields typed in.
pub fn view(
    name: &str,
    connection: &Connection,
    declared: &[ConnectionField],
    entry: Option<&Entry>,
) -> Value {
    let fields: Vec<Value> = declared
        .iter()
        .map(|f| {
            let source = connection.fields.get(&f.name);
            let value = match source {
                Some(FieldSource::Literal(v)) if !f.secret => {
                    Value::String(v.expose_secret().to_owned())
                }
                _ => Value::Null,
            };
            json!({
                "name": f.name, "label": f.label, "secret": f.secret, "required": f.required,
                "source": source.map_or("not set".to_owned(), |s| crate::redact::without_paths(&s.to_string())),
                "value": value,
                "asset": source.and_then(asset_parts),
            })
        })
        .collect();
    json!({
        "name": name,
        "connector": entry.and_then(|e| e.loaded.as_ref().ok()).map(|c| c.info().name.clone()),
        "connector_file": crate::catalogue::file_name(&connection.connector),
        "connector_sha256": entry.map(|e| e.sha256.clone()),
        "oauth": connection.oauth.is_some(),
        "end_user": connection.end_user,
        "fields": fields,
    })
}

/// A credential asset's parts as the page edits them (store, name, type,
/// key or part); names only, never a value. `None` for other sources.
fn asset_parts(source: &FieldSource) -> Option<Value> {
    let FieldSource::Asset(asset) = source else {
        return None;
    };
    let mut parts = json!({"store": asset.store, "name": asset.name.as_str()});
    match &asset.kind {
        AssetKind::Secret { key } => {
            parts["type"] = json!("secret");
            parts["key"] = json!(key);
        }
        AssetKind::Credential { part } => {
            parts["type"] = json!("credential");
            parts["part"] = json!(part.as_str());
        }
    }
    Some(parts)
}

/// Removes a connection: its typed secrets and token record in the store,
/// its typed-secret files, then its file. Each place is named exactly, from
/// the connection's own name and its file's field sources; nothing is found
/// by a prefix, so `prod` never touches `prod-eu`'s. A store that cannot
/// delete stops the removal before anything local is gone (try again).
pub async fn remove(scope: &Scope, name: &Name) -> Result<(), ApiError> {
    // Its subscriptions and their secrets first: a store that cannot delete
    // them keeps the connection (try again).
    super::subscriptions::remove_all(scope, name).await?;
    let connection = match scope.documents().load(name).await {
        Ok(found) => found.map(|(c, _)| c),
        Err(_) => None,
    };
    if let (Some((store_name, store)), Some(connection)) = (&scope.secret_store, &connection) {
        for asset in store_assets(scope, store_name, name, connection) {
            store.delete_secret(&asset).await.map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "secret_unresolvable",
                    format!(
                        "cannot delete {} from store '{store_name}': {e}\nhint: {}; the connection is kept, try again",
                        scope.stores.get(store_name).map_or_else(String::new, |c| c.location(&asset)),
                        e.hint()
                    ),
                )
            })?;
        }
    }
    let removed = scope
        .documents()
        .remove(name)
        .await
        .map_err(|e| ApiError::from(crate::SessionError::from(e)))?;
    if !removed {
        return Err(not_found(format!("no connection named {name}")));
    }
    let dir = scope.space.secrets_dir(name);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), "cannot remove a deleted connection's secrets: {e}");
        }
    }
    if let Some(connection) = &connection {
        for file in legacy_secret_files(scope, name, connection) {
            let _ = std::fs::remove_file(file);
        }
    }
    scope.forget_session(name);
    super::health::forget(scope, name).await;
    Ok(())
}

/// The store assets this server wrote for `connection`: each field's typed
/// secret that the file still names, and the token record.
fn store_assets(scope: &Scope, store: &str, name: &Name, connection: &Connection) -> Vec<AssetRef> {
    let mut assets: Vec<AssetRef> = connection
        .fields
        .iter()
        .filter_map(|(field, source)| {
            let field = Name::parse(field, "field name").ok()?;
            let ours = typed_secret_ref(scope, store, name, &field);
            matches!(source, FieldSource::Asset(a) if *a == ours).then_some(ours)
        })
        .collect();
    if let Some(record) = connection.token_record() {
        if record.store.as_deref() == Some(store) && record.name == token_asset(scope, name) {
            assets.push(record);
        }
    }
    assets
}

/// Secret files of the layout before names were checked (`.secrets/<connection>-<field>`):
/// only the file of each field of this connection, named exactly.
fn legacy_secret_files(scope: &Scope, name: &Name, connection: &Connection) -> Vec<PathBuf> {
    let dir = scope.config.connections.join(".secrets");
    connection
        .fields
        .iter()
        .filter_map(|(field, source)| {
            let legacy = dir.join(format!("{name}-{}", Name::parse(field, "field name").ok()?));
            matches!(source, FieldSource::File(f) if same_file(f, &legacy)).then_some(legacy)
        })
        .collect()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
