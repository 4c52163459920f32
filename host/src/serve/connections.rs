//! Connections made on the page or through the API, kept as ordinary
//! connection files in the connections directory (so `connector-host run`
//! can use them).
//!
//! Invariant: a secret typed in is never echoed back and never written in
//! plain text into a connection file. With a read-write credential store it
//! becomes a credential asset there (`<connection>-<field>`); without one it
//! goes into a 0600 file beside the connections (`.secrets/`), which the
//! connection names with `{ file = … }`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::ApiError;
use super::state::{valid_name, State};
use crate::catalogue::Entry;
use crate::invoke::{AuthScheme, ConnectionField};
use crate::secrets::{AssetKind, AssetRef, FieldSource, SecretData};
use crate::Connection;

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
#[derive(Deserialize)]
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
    state: &State,
    name: &str,
) -> Result<(Entry, Arc<crate::Connector>), ApiError> {
    use crate::catalogue::LookupError;
    let entry = state.catalogue.find(name).await.map_err(|e| match e {
        LookupError::NotFound(_) => not_found(format!(
            "{e}\nhint: GET /api/connectors lists them; components go in {}",
            state.catalogue.dir().display()
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

/// Creates (`existing` = None) or rewrites a connection from `draft`.
pub async fn write(
    state: &State,
    name: &str,
    draft: Draft,
    existing: Option<&Connection>,
) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(invalid("a connection's name is 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit"));
    }
    let (entry, connector) = connector(state, &draft.connector).await?;
    let info = connector.info();
    let mut fields = toml_edit::Table::new();
    for (field, value) in &draft.fields {
        let Some(declared) = info.fields.iter().find(|f| &f.name == field) else {
            return Err(invalid(format!(
                "fields.{}: the connector has no such field (it has: {})",
                crate::redact::untrusted(field),
                info.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let item = match value {
            FieldValue::Value(v) if declared.secret => secret_source(state, name, field, v).await?,
            FieldValue::Value(v) => toml_edit::value(v.expose_secret()),
            FieldValue::Asset(choice) => asset_source(state, field, choice)?,
            FieldValue::Keep(false) => {
                return Err(invalid(format!("fields.{field}: keep is `true` or absent")))
            }
            FieldValue::Keep(true) => match existing.and_then(|c| c.fields.get(field)) {
                Some(source) => source_item(source),
                None => return Err(invalid(format!("fields.{field}: there is nothing to keep"))),
            },
        };
        fields.insert(field, item);
    }
    for required in info
        .fields
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
    let mut document = match existing {
        Some(c) => std::fs::read_to_string(&c.path)
            .ok()
            .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
            .unwrap_or_default(),
        None => new_document(state, name, &entry.file, &info.auth)?,
    };
    document["fields"] = toml_edit::Item::Table(fields);
    if let Some(scopes) = &draft.scopes {
        if let Some(oauth) = document
            .get_mut("oauth")
            .and_then(toml_edit::Item::as_table_mut)
        {
            oauth["scopes"] = toml_edit::value(toml_edit::Array::from_iter(scopes.iter()));
        }
    }
    let path = state.connection_file(name);
    // Parse what would be written, so an unusable file is never left behind.
    Connection::parse(&path, &document.to_string()).map_err(|e| invalid(e.to_string()))?;
    write_private(&path, document.to_string().as_bytes()).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    state.forget_session(name);
    Ok(())
}

/// The tables a new connection starts with: its connector, the OAuth
/// redirect back to this server, where tokens live, the server's stores and
/// endpoint overrides.
fn new_document(
    state: &State,
    name: &str,
    file: &Path,
    auth: &AuthScheme,
) -> Result<toml_edit::DocumentMut, ApiError> {
    let connector = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let mut document = toml_edit::DocumentMut::new();
    document["connector"] = toml_edit::value(connector.display().to_string());
    document["fields"] = toml_edit::table();
    if matches!(auth, AuthScheme::Oauth2(_)) {
        let mut oauth = toml_edit::Table::new();
        oauth["redirect_uri"] =
            toml_edit::value(format!("{}/oauth/callback", state.config.public_url()));
        document["oauth"] = toml_edit::Item::Table(oauth);
        if let Some((store, _)) = &state.secret_store {
            let mut token = toml_edit::Table::new();
            token["store"] = toml_edit::value(store.as_str());
            token["asset"] = toml_edit::value(format!("{name}-oauth"));
            document["token"] = toml_edit::Item::Table(token);
        }
    }
    let shared = format!(
        "{}\n{}",
        state.config.stores_toml, state.config.endpoints_toml
    );
    let shared: toml_edit::DocumentMut = shared
        .parse()
        .map_err(|_| invalid("the server's [stores] or [endpoints] do not form a connection"))?;
    for (key, item) in shared.iter() {
        document[key] = item.clone();
    }
    Ok(document)
}

/// Where a typed secret goes: an asset in the read-write store, or a 0600 file.
async fn secret_source(
    state: &State,
    connection: &str,
    field: &str,
    value: &SecretString,
) -> Result<toml_edit::Item, ApiError> {
    let asset_name = format!("{connection}-{field}");
    if let Some((store_name, store)) = &state.secret_store {
        let asset = AssetRef {
            name: asset_name.clone(),
            external_name: None,
            store: Some(store_name.clone()),
            kind: AssetKind::Secret {
                key: "value".into(),
            },
            version: None,
        };
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
        table.insert("asset", asset_name.into());
        table.insert("store", store_name.as_str().into());
        return Ok(toml_edit::value(table));
    }
    let dir = state.config.connections.join(".secrets");
    let file = dir.join(&asset_name);
    create_private_dir(&dir)
        .and_then(|()| write_private(&file, value.expose_secret().as_bytes()))
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!(
                    "field {field}: cannot keep the secret in {}: {e}",
                    dir.display()
                ),
            )
        })?;
    let mut table = toml_edit::InlineTable::new();
    let absolute = std::fs::canonicalize(&file).unwrap_or(file);
    table.insert("file", absolute.display().to_string().into());
    Ok(toml_edit::value(table))
}

fn asset_source(
    state: &State,
    field: &str,
    choice: &AssetChoice,
) -> Result<toml_edit::Item, ApiError> {
    if !state.stores.contains_key(&choice.store) {
        return Err(invalid(format!(
            "fields.{field}.asset.store: no store of that name (stores: {})",
            state.stores.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut table = toml_edit::InlineTable::new();
    table.insert("asset", choice.name.as_str().into());
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
                "source": source.map_or("not set".to_owned(), |s| s.to_string()),
                "value": value,
            })
        })
        .collect();
    json!({
        "name": name,
        "connector": entry.and_then(|e| e.loaded.as_ref().ok()).map(|c| c.info().name.clone()),
        "connector_file": connection.connector.display().to_string(),
        "connector_sha256": entry.map(|e| e.sha256.clone()),
        "oauth": connection.oauth.is_some(),
        "fields": fields,
    })
}

/// Removes a connection's file and its local secret files.
pub fn remove(state: &State, name: &str) -> Result<(), ApiError> {
    let path = state.connection_file(name);
    std::fs::remove_file(&path).map_err(|_| not_found(format!("no connection named {name}")))?;
    if let Ok(dir) = std::fs::read_dir(state.config.connections.join(".secrets")) {
        let prefix = format!("{name}-");
        for file in dir
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        {
            let _ = std::fs::remove_file(file.path());
        }
    }
    state.forget_session(name);
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path` atomically with mode 0600 (connection files
/// name where secrets are; secret files hold them).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let tmp: PathBuf = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
