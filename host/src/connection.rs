//! The connection file: which connector to run and with what.
//!
//! A connection is a small TOML file:
//!
//! ```toml
//! connector = "cc_connector.wasm"      # relative to this file
//! connector_sha256 = "9f2c…"           # optional pin, refused on mismatch
//!
//! [fields]                             # values of the connector's fields
//! client_id = "0b7c…"
//!
//! [token]
//! access_token = { asset = "cc-token" } # sent as `Authorization: Bearer`
//!
//! [stores.vault]                       # credential stores, by name
//! address = "http://127.0.0.1:8200"
//! path = "connectors"
//!
//! [endpoints]                          # origin → origin, applied to egress
//! "https://api.cc.email" = "http://127.0.0.1:8911"
//!
//! [limits]
//! timeout_seconds = 30
//! memory_mib = 64
//! max_response_mib = 16
//!
//! [tls]                                # trusted besides the system's store
//! ca_file = "corporate-ca.pem"         # relative to this file
//!
//! [at_rest]                            # how token files are sealed (see `at_rest`)
//! key = "transit"                      # or "file" or "plain"; default: a local key
//! store = "vault"
//! ```
//!
//! Every value in `[fields]` and `access_token` is a [`FieldSource`]: a
//! literal, `{ env = … }`, `{ file = … }` or `{ asset = … }` (see
//! [`crate::secrets`]).
//!
//! Invariant: literals are held as [`secrecy::SecretString`] from the moment they are
//! parsed; parse errors report the line, never the line's text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::egress::{Origin, TlsSettings};
use crate::invoke::{Limits, RateLimit};
use crate::name::AssetName;
use crate::redact;
use crate::secrets::vault::{RawVaultConfig, VaultConfig, VaultStore};
use crate::secrets::{AssetKind, AssetRef, CredentialStore, FieldSource, RawSource, Resolver};

/// A parsed connection file.
#[derive(Debug)]
pub struct Connection {
    /// Where the connection file was read from.
    pub path: PathBuf,
    /// The connector component, resolved against the file's directory.
    pub connector: PathBuf,
    /// Optional sha256 pin of the connector file (lowercase hex).
    pub connector_sha256: Option<String>,
    /// Field sources by field name.
    pub fields: BTreeMap<String, FieldSource>,
    /// Where the access token injected into allowed requests comes from.
    pub access_token: Option<FieldSource>,
    /// Credential stores by name.
    pub stores: BTreeMap<String, VaultConfig>,
    /// The store tokens are kept in (and written back to), if any.
    pub token_store: Option<String>,
    /// The token record's asset name in that store.
    pub token_asset: AssetName,
    /// OAuth2 settings; `None` for connections with a static token.
    pub oauth: Option<OAuthConfig>,
    /// Origin overrides: requests to a key go to its value.
    pub endpoints: Vec<(Origin, Origin)>,
    /// `[token] origins`: the only declared origins the credential goes to
    /// (default: every declared https origin, see [`crate::egress::bound_origins`]).
    pub token_origins: Option<Vec<Origin>>,
    /// Per-call limits.
    pub limits: Limits,
    /// `[limits] rate_limits`: the API's limits per token, instead of those
    /// the connector declares (e.g. `[{ requests = 4, seconds = 1 }]`).
    pub rate_limits: Option<Vec<RateLimit>>,
    /// TLS trust for the connector's requests (`[tls]`).
    pub tls: TlsSettings,
    /// `end_user`: the platform's id of the person the connection is for
    /// (set by a connect link). A label for lists, never used to reach anything.
    pub end_user: Option<String>,
    /// `[at_rest]`: how secrets this connection keeps in files are sealed
    /// (token files; typed secrets it reads through `{ file = … }`).
    pub at_rest: crate::at_rest::AtRestSettings,
}

/// Whether `text` may be an end user's id: 1 to 128 of `A-Z a-z 0-9 . _ : @ + -`
/// (a platform's user ids and e-mail addresses; nothing a page or a log
/// would have to escape).
pub fn is_end_user(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:@+".contains(&b))
}

/// Why a connection file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The file could not be read.
    #[error("cannot read connection file {path}: {source}")]
    Read {
        /// The connection file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write connection file {path}: {source}")]
    Write {
        /// The connection file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unexpected keys.
    #[error("connection file {path}, line {line}{}: {message}\nhint: see the README's \"Connection files\" section", key_part(.key))]
    Parse {
        /// The connection file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// The dotted key where it happened, e.g. `limits.timeout_seconds` ("" at the top).
        key: String,
        /// What is wrong (never the offending text, which may hold a secret).
        message: String,
    },
    /// An `[endpoints]` entry is not an origin.
    #[error("connection file {path}: [endpoints] {origin} is not an origin like \"https://host[:port]\": {reason}")]
    BadOrigin {
        /// The connection file.
        path: PathBuf,
        /// The offending key or value, shown as scheme, host and port only
        /// (credentials and paths may be secrets).
        origin: String,
        /// Why it was refused.
        reason: String,
    },
    /// A field's value or a store's settings are malformed.
    #[error("connection file {path}: {place}: {problem}")]
    Invalid {
        /// The connection file.
        path: PathBuf,
        /// Which setting, e.g. `[fields] client_secret` or `[stores.vault]`.
        place: String,
        /// What is wrong.
        problem: String,
    },
    /// The connector file could not be read.
    #[error("cannot read connector file {path}: {source}\nhint: build it with `make component`, or fix `connector` in the connection file")]
    ReadConnector {
        /// The connector file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The connector file does not match its pin.
    #[error("connector file {path} has sha256 {actual}, but the connection pins {expected}\nhint: if the new file is trusted, update connector_sha256")]
    PinMismatch {
        /// The connector file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The file's digest.
        actual: String,
    },
}

/// The `[oauth]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// The loopback redirect registered with the app.
    #[serde(default = "default_redirect")]
    pub redirect_uri: String,
    /// Scopes to request instead of those the activities need.
    pub scopes: Option<Vec<String>>,
    /// Request only what these activities need (plus `offline_access`).
    pub activities: Option<Vec<String>>,
    /// The pinned authorize URL (written by the first `connect`).
    pub authorize_url: Option<String>,
    /// The pinned token URL: the only place the client secret and refresh
    /// tokens are sent.
    pub token_url: Option<String>,
    /// The pinned device-authorization URL.
    pub device_authorize_url: Option<String>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            redirect_uri: default_redirect(),
            scopes: None,
            activities: None,
            authorize_url: None,
            token_url: None,
            device_authorize_url: None,
        }
    }
}

fn default_redirect() -> String {
    "http://127.0.0.1:8765/callback".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    connector: PathBuf,
    connector_sha256: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, RawSource>,
    #[serde(default)]
    stores: BTreeMap<String, RawVaultConfig>,
    #[serde(default)]
    token: RawToken,
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    #[serde(default)]
    limits: RawLimits,
    oauth: Option<OAuthConfig>,
    #[serde(default)]
    tls: RawTls,
    end_user: Option<String>,
    #[serde(default)]
    at_rest: crate::at_rest::RawAtRest,
}

/// The `[tls]` table.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTls {
    /// A PEM file of CA certificates, relative to the connection file.
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawToken {
    access_token: Option<RawSource>,
    store: Option<String>,
    asset: Option<String>,
    origins: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout_seconds: Option<f64>,
    memory_mib: Option<u64>,
    max_response_mib: Option<u64>,
    max_output_mib: Option<u64>,
    max_requests: Option<usize>,
    max_concurrent_requests: Option<usize>,
    max_instances: Option<usize>,
    max_memories: Option<usize>,
    max_tables: Option<usize>,
    max_table_elements: Option<usize>,
    max_resources: Option<usize>,
    max_header_kib: Option<usize>,
    rate_limits: Option<Vec<RateLimit>>,
}

impl Connection {
    /// Reads and parses a connection file.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::Read`], [`ConnectionError::Parse`] or
    /// [`ConnectionError::BadOrigin`].
    pub fn load(path: &Path) -> Result<Connection, ConnectionError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConnectionError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses connection text; `path` anchors relative paths and errors.
    ///
    /// # Errors
    ///
    /// As [`Connection::load`], without the read.
    pub fn parse(path: &Path, text: &str) -> Result<Connection, ConnectionError> {
        Self::parse_in(path, path.parent().unwrap_or(Path::new(".")), text)
    }

    /// Parses connection text that names itself `path` (in errors, and as
    /// its identity) with relative paths resolved against `base`: a
    /// connection kept in a store names its connector relative to the
    /// connectors directory of whichever machine reads it.
    ///
    /// # Errors
    ///
    /// As [`Connection::load`], without the read.
    pub fn parse_in(path: &Path, base: &Path, text: &str) -> Result<Connection, ConnectionError> {
        let raw: RawConnection = parse_toml(path, text)?;
        let invalid = |place: String, problem: String| ConnectionError::Invalid {
            path: path.to_owned(),
            place,
            problem,
        };
        let mut fields = BTreeMap::new();
        for (name, raw_source) in raw.fields {
            let source = raw_source
                .into_source()
                .map_err(|p| invalid(format!("[fields] {name}"), p))?;
            fields.insert(name, source);
        }
        let access_token = match raw.token.access_token {
            Some(raw_source) => Some(
                raw_source
                    .into_source()
                    .map_err(|p| invalid("[token] access_token".into(), p))?,
            ),
            None => None,
        };
        let mut stores = BTreeMap::new();
        for (name, raw_store) in raw.stores {
            let config = raw_store
                .resolve()
                .map_err(|p| invalid(format!("[stores.{name}]"), p))?;
            stores.insert(name, config);
        }
        let token_store = raw.token.store;
        check_token_store(token_store.as_deref(), &stores)
            .map_err(|p| invalid("[token] store".into(), p))?;
        let at_rest = raw
            .at_rest
            .resolve(base, &stores)
            .map_err(|p| invalid("[at_rest]".into(), p))?;
        Ok(Connection {
            path: path.to_owned(),
            connector: base.join(&raw.connector),
            connector_sha256: raw.connector_sha256.map(|s| s.to_ascii_lowercase()),
            fields,
            access_token,
            stores,
            token_store,
            token_asset: AssetName::parse(
                raw.token.asset.as_deref().unwrap_or("oauth-tokens"),
                "token asset name",
            )
            .map_err(|e| invalid("[token] asset".into(), e.to_string()))?,
            oauth: raw.oauth,
            endpoints: parse_endpoints(path, raw.endpoints)?,
            token_origins: raw
                .token
                .origins
                .map(|list| {
                    list.iter()
                        .map(|o| {
                            Origin::parse(o).map_err(|reason| {
                                invalid(
                                    "[token] origins".into(),
                                    format!("{}: {reason}", redact::url(o)),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?,
            rate_limits: raw.limits.rate_limits.clone(),
            limits: raw
                .limits
                .into_limits()
                .map_err(|p| invalid("[limits]".into(), p))?,
            tls: TlsSettings {
                ca_file: raw.tls.ca_file.map(|f| base.join(f)),
            },
            end_user: match raw.end_user {
                Some(id) if !is_end_user(&id) => {
                    return Err(invalid(
                        "end_user".into(),
                        "1 to 128 letters, digits or . _ : @ + -".into(),
                    ))
                }
                other => other,
            },
            at_rest,
        })
    }

    /// Reads the connector file and checks it against the pin, if any.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::ReadConnector`] or [`ConnectionError::PinMismatch`].
    pub fn read_connector(&self) -> Result<Vec<u8>, ConnectionError> {
        let bytes =
            std::fs::read(&self.connector).map_err(|source| ConnectionError::ReadConnector {
                path: self.connector.clone(),
                source,
            })?;
        if let Some(expected) = &self.connector_sha256 {
            let actual = hex::encode(Sha256::digest(&bytes));
            if &actual != expected {
                return Err(ConnectionError::PinMismatch {
                    path: self.connector.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(bytes)
    }
}

impl Connection {
    /// Sets `key = value` pairs in the file's `[oauth]` table (creating it),
    /// keeping everything else as written, and replaces the file atomically
    /// with its permissions unchanged. Used to pin OAuth endpoints.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::Read`] or [`ConnectionError::Write`].
    pub fn set_oauth_keys(&self, entries: &[(&str, String)]) -> Result<(), ConnectionError> {
        let read = |source| ConnectionError::Read {
            path: self.path.clone(),
            source,
        };
        let write = |source| ConnectionError::Write {
            path: self.path.clone(),
            source,
        };
        let text = std::fs::read_to_string(&self.path).map_err(read)?;
        let text = with_oauth_keys(&self.path, &text, entries)?;
        let tmp = self
            .path
            .with_extension(format!("toml.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(write)?;
        if let Ok(metadata) = std::fs::metadata(&self.path) {
            std::fs::set_permissions(&tmp, metadata.permissions()).map_err(write)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(write)
    }

    /// The OAuth token record's asset, when tokens are kept in a store.
    pub fn token_record(&self) -> Option<AssetRef> {
        let store = self.token_store.clone()?;
        Some(AssetRef {
            name: self.token_asset.clone(),
            external_name: None,
            store: Some(store),
            kind: AssetKind::Secret {
                key: "access_token".into(),
            },
            version: None,
        })
    }

    /// The store that counts the API's calendar quotas across processes: the
    /// one tokens are kept in, else the first read-write one; `None` when
    /// there is none (they are then counted per process).
    pub fn quota_store(&self) -> Option<(&str, &VaultConfig)> {
        let token = self.token_store.as_deref();
        token
            .and_then(|name| self.stores.get_key_value(name))
            .or_else(|| self.stores.iter().find(|(_, c)| c.read_write))
            .map(|(name, config)| (name.as_str(), config))
    }

    /// A resolver over this connection's credential stores.
    pub fn resolver(&self) -> Resolver {
        let stores = self
            .stores
            .iter()
            .map(|(name, config)| {
                (
                    name.clone(),
                    Arc::new(VaultStore::new(config.clone())) as Arc<dyn CredentialStore>,
                )
            })
            .collect();
        let at_rest = crate::at_rest::AtRest::new(&self.at_rest, &self.stores);
        Resolver::new(stores).with_at_rest(Arc::new(at_rest))
    }
}

/// Connection `text` (of `path`, for errors) with `key = value` pairs set in
/// its `[oauth]` table (created if absent), everything else as written.
///
/// # Errors
///
/// [`ConnectionError::Parse`] when the text no longer parses.
pub(crate) fn with_oauth_keys(
    path: &Path,
    text: &str,
    entries: &[(&str, String)],
) -> Result<String, ConnectionError> {
    let mut document: toml_edit::DocumentMut =
        text.parse().map_err(|_| ConnectionError::Parse {
            path: path.to_owned(),
            line: 0,
            key: String::new(),
            message: "the connection changed and no longer parses".into(),
        })?;
    let table = document
        .entry("oauth")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    for (key, value) in entries {
        table[*key] = toml_edit::value(value.as_str());
    }
    Ok(document.to_string())
}

/// Tokens are written back where they are kept, so that store must exist and be writable.
fn check_token_store(
    store: Option<&str>,
    stores: &BTreeMap<String, VaultConfig>,
) -> Result<(), String> {
    let Some(name) = store else { return Ok(()) };
    match stores.get(name) {
        None => Err(format!(
            "it names a store that is not defined under [stores] (defined: {})",
            stores.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
        Some(config) if !config.read_write => Err(format!(
            "store {name:?} is read-only, and keeping tokens there needs writes\nhint: set mode = \"read-write\" on [stores.{name}], or drop [token] store"
        )),
        Some(_) => Ok(()),
    }
}

impl RawLimits {
    fn into_limits(self) -> Result<Limits, String> {
        let d = Limits::default();
        let mib = |v: Option<u64>, default: u64| v.map_or(default, |m| m << 20);
        let timeout = match self.timeout_seconds {
            None => d.timeout,
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Duration::from_secs_f64(s),
            Some(_) => return Err("timeout_seconds must be more than 0 and at most 86400".into()),
        };
        Ok(Limits {
            timeout,
            memory_bytes: mib(self.memory_mib, d.memory_bytes),
            max_response_bytes: mib(self.max_response_mib, d.max_response_bytes),
            max_output_bytes: mib(self.max_output_mib, d.max_output_bytes),
            max_requests: self.max_requests.unwrap_or(d.max_requests),
            max_concurrent_requests: self
                .max_concurrent_requests
                .unwrap_or(d.max_concurrent_requests),
            max_instances: self.max_instances.unwrap_or(d.max_instances),
            max_memories: self.max_memories.unwrap_or(d.max_memories),
            max_tables: self.max_tables.unwrap_or(d.max_tables),
            max_table_elements: self.max_table_elements.unwrap_or(d.max_table_elements),
            max_resources: self.max_resources.unwrap_or(d.max_resources),
            max_header_bytes: self.max_header_kib.map_or(d.max_header_bytes, |k| k << 10),
        })
    }
}

/// Deserializes the file, keeping the line and the dotted key of an error
/// but never the text there, which may be a secret.
/// Parses `text` (the file at `path`) with errors that give the line and
/// the dotted key, never the offending text.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ConnectionError> {
    let failed = |key: String, error: &toml::de::Error| ConnectionError::Parse {
        path: path.to_owned(),
        line: error.span().map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        }),
        key,
        message: redact::parser_message(error.message()),
    };
    let deserializer =
        toml::de::Deserializer::parse(text).map_err(|e| failed(String::new(), &e))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        failed(if key == "." { String::new() } else { key }, e.inner())
    })
}

fn key_part(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!(", key {}", redact::untrusted(key))
    }
}

fn parse_endpoints(
    path: &Path,
    raw: BTreeMap<String, String>,
) -> Result<Vec<(Origin, Origin)>, ConnectionError> {
    let origin = |s: &str| {
        Origin::parse(s).map_err(|reason| ConnectionError::BadOrigin {
            path: path.to_owned(),
            origin: redact::url(s),
            reason,
        })
    };
    raw.iter()
        .map(|(from, to)| Ok((origin(from)?, origin(to)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn relative_connector_path_is_resolved_against_the_file() {
        let c = Connection::parse(Path::new("/etc/conn/c.toml"), "connector = \"x.wasm\"").unwrap();
        assert_eq!(c.connector, Path::new("/etc/conn/x.wasm"));
        assert!(c.access_token.is_none());
    }

    #[test]
    fn full_file_parses() {
        let text = r#"
            connector = "x.wasm"
            connector_sha256 = "ABCD"
            [fields]
            client_id = "id-1"
            [token]
            access_token = "tok"
            [endpoints]
            "https://api.cc.email" = "http://127.0.0.1:8911"
            [limits]
            timeout_seconds = 2.5
            memory_mib = 16
        "#;
        let c = Connection::parse(Path::new("c.toml"), text).unwrap();
        assert_eq!(c.connector_sha256.as_deref(), Some("abcd"));
        let literal = |s: &FieldSource| match s {
            FieldSource::Literal(v) => v.expose_secret().to_owned(),
            other => panic!("{other}"),
        };
        assert_eq!(literal(&c.fields["client_id"]), "id-1");
        assert_eq!(literal(c.access_token.as_ref().unwrap()), "tok");
        assert_eq!(c.endpoints[0].1.to_string(), "http://127.0.0.1:8911");
        assert_eq!(c.limits.memory_bytes, 16 << 20);
        assert_eq!(c.limits.timeout.as_millis(), 2500);
    }

    #[test]
    fn the_ca_file_is_resolved_against_the_connection_file() {
        let text = "connector = \"x.wasm\"\n[tls]\nca_file = \"certs/ca.pem\"\n";
        let c = Connection::parse(Path::new("/etc/conn/c.toml"), text).unwrap();
        assert_eq!(
            c.tls.ca_file.as_deref(),
            Some(Path::new("/etc/conn/certs/ca.pem"))
        );
        let bare = Connection::parse(Path::new("c.toml"), "connector = \"x\"").unwrap();
        assert_eq!(bare.tls, TlsSettings::default());
        let typo = "connector = \"x\"\n[tls]\nca_fil = \"CANARY-1\"\n";
        let err = Connection::parse(Path::new("c.toml"), typo)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3") && !err.contains("CANARY-1"), "{err}");
    }

    #[test]
    fn parse_errors_name_the_line_but_never_echo_its_text() {
        let text = "connector = \"x.wasm\"\n[token]\naccess_tokn = \"CANARY-SECRET-1\"\n";
        let err = Connection::parse(Path::new("c.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("CANARY-SECRET-1"), "{err}");
    }

    #[test]
    fn type_errors_name_the_key_but_never_the_value() {
        // See: issue 7 ("invalid type: string \"<value>\", expected f64").
        let cases = [
            "connector = \"x\"\n[limits]\ntimeout_seconds = \"CANARY-1\"\n",
            "connector = \"x\"\n[stores.v]\naddress = \"http://v:1\"\nmode = \"CANARY-1\"\n",
            "connector = \"x\"\n[stores.v]\naddress = \"http://v:1\"\nauth = { method = \"CANARY-1\" }\n",
            "connector = \"x\"\n[fields]\nclient_secret = { asset = \"a\", type = \"CANARY-1\" }\n",
            "connector = \"x\"\n[endpoints]\n\"https://api.cc.email\" = \"http://u:CANARY-1@127.0.0.1:1\"\n",
            "connector = \"x\"\n[fields]\nclient_secret = \"CANARY-1\n",
        ];
        for text in cases {
            let err = Connection::parse(Path::new("c.toml"), text)
                .unwrap_err()
                .to_string();
            assert!(!err.contains("CANARY-1"), "{err}");
            assert!(err.contains("c.toml"), "{err}");
        }
        let err = Connection::parse(Path::new("c.toml"), cases[0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3, key limits.timeout_seconds"), "{err}");
    }

    #[test]
    fn bad_endpoint_origin_is_refused() {
        let text =
            "connector = \"x\"\n[endpoints]\n\"https://a.example/path\" = \"http://127.0.0.1:1\"";
        let err = Connection::parse(Path::new("c.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("https://a.example/…"), "{err}");
        assert!(
            !err.contains("/path"),
            "an origin's path may be a secret: {err}"
        );
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;

    #[test]
    fn stores_take_defaults_and_asset_fields_parse() {
        let text = r#"
            connector = "x.wasm"
            [fields]
            client_secret = { asset = "cc-app", key = "client_secret" }
            [stores.vault]
            address = "http://127.0.0.1:8200/"
            path = "/connectors/"
        "#;
        let c = Connection::parse(Path::new("c.toml"), text).unwrap();
        let vault = &c.stores["vault"];
        assert_eq!(
            (
                vault.address.as_str(),
                vault.mount.as_str(),
                vault.kv_version,
                vault.path.as_str()
            ),
            ("http://127.0.0.1:8200", "secret", 2, "connectors")
        );
        assert!(!vault.read_write);
        let FieldSource::Asset(asset) = &c.fields["client_secret"] else {
            panic!()
        };
        assert_eq!(
            vault.location(asset),
            "secret/data/connectors/cc-app (KV v2, mount secret)"
        );
    }

    #[test]
    fn token_store_must_be_read_write() {
        let text = "connector = \"x\"\n[token]\nstore = \"vault\"\n[stores.vault]\naddress = \"http://v:1\"\n";
        let err = Connection::parse(Path::new("c.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("read-only") && err.contains("read-write"),
            "{err}"
        );
        let ok = text.replace("address", "mode = \"read-write\"\naddress");
        assert!(Connection::parse(Path::new("c.toml"), &ok).is_ok());
    }
}

#[cfg(test)]
mod property_tests {
    //! Any text at all, with a canary secret among its values, parses or is
    //! refused with an error that names the line and key, never the value,
    //! and never panics.

    use super::*;
    use proptest::prelude::*;

    const CANARY: &str = "CANARY-CONNECTION-3e9b";

    fn section() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "[fields]",
            "[token]",
            "[limits]",
            "[stores.v]",
            "[stores.w]",
            "[endpoints]",
            "[oauth]",
            "[stores.v.auth]",
            "[unknown]",
            "[[fields]]",
        ])
        .prop_map(str::to_owned)
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "connector",
            "connector_sha256",
            "client_id",
            "client_secret",
            "access_token",
            "store",
            "asset",
            "origins",
            "timeout_seconds",
            "memory_mib",
            "max_output_mib",
            "max_requests",
            "address",
            "mode",
            "kv_version",
            "namespace",
            "path",
            "ca_cert",
            "auth",
            "kind",
            "token_url",
            "authorize_url",
            "redirect_uri",
            "scopes",
            "\"https://api.cc.email\"",
            "cache_ttl_seconds",
            "method",
            "token",
        ])
        .prop_map(str::to_owned)
    }

    fn value() -> impl Strategy<Value = String> {
        let c = CANARY;
        prop::sample::select(vec![
            format!("\"{c}\""),
            format!("'{c}'"),
            format!("\"{c}"),
            c.to_owned(),
            format!("[\"{c}\"]"),
            format!("[\"{c}\", 5]"),
            format!("{{ asset = \"a\", key = \"{c}\", type = \"x\" }}"),
            format!("{{ env = \"X\", file = \"{c}\" }}"),
            format!("{{ method = \"{c}\" }}"),
            format!("{{ method = \"approle\", role_id = \"{c}\" }}"),
            format!("\"http://u:{c}@h:1\""),
            format!("\"https://h/{c}\""),
            format!("\"\\u001b[2J{c}\""),
            format!("\"\"\"{c}\n\"\"\""),
            "5".into(),
            "-1".into(),
            "1e999".into(),
            "0.0".into(),
            "true".into(),
            "\"read-write\"".into(),
            "\"x.wasm\"".into(),
            "{ asset = \"tok\" }".into(),
        ])
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            2 => section(),
            6 => (key(), value()).prop_map(|(k, v)| format!("{k} = {v}")),
            // A value alone on a line (pasted in the wrong place). One that
            // starts with `[` would be a table header, a key: keys are shown.
            1 => value().prop_filter("not a table header", |v| !v.starts_with('[')),
            1 => value().prop_map(|v| format!("= {v}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn any_text_parses_or_names_the_place_without_the_value(
            head in prop::bool::ANY,
            lines in prop::collection::vec(line(), 0..14),
        ) {
            let mut text = if head { "connector = \"x.wasm\"\n".to_owned() } else { String::new() };
            text.push_str(&lines.join("\n"));
            if let Err(error) = Connection::parse(Path::new("c.toml"), &text) {
                let shown = error.to_string();
                prop_assert!(!shown.contains(CANARY), "{shown}\n--- from ---\n{text}");
                prop_assert!(!shown.contains('\u{1b}'), "{shown}");
                prop_assert!(shown.contains("c.toml"), "{shown}");
            }
        }
    }
}
