//! Secret fields: resolved from direct input, the environment, a file, or a
//! credential asset in a credential store (HashiCorp Vault / OpenBao).
//!
//! Invariants (DESIGN §5): values live in [`SecretString`] from the moment
//! they are read; no error, log line or `Debug` output carries one; an
//! unresolvable field stops the call (fail closed) with an error naming the
//! field, the asset, the store and the path.
//!
//! Stores sit behind the small [`CredentialStore`] trait; the [`Resolver`]
//! adds the TTL cache and single-flight fetching on top of any store.

// Errors carry the field, asset, store and path as text for their message;
// they are rare, so their size on the error path does not matter.
#![allow(clippy::result_large_err)]

mod cache;
mod source;
pub mod vault;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::at_rest::AtRest;
use crate::redact::{self, Untrusted};

pub(crate) use source::RawSource;
pub use source::{AssetKind, AssetRef, FieldSource};

/// A secret's keys and values, as a store returns them.
pub type SecretData = BTreeMap<String, SecretString>;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A place credential assets live.
pub trait CredentialStore: Send + Sync {
    /// One line for people: kind, address, mount, mode.
    fn describe(&self) -> String;
    /// Where an asset lives, e.g. `secret/data/connectors/cc-app (KV v2, mount secret)`.
    fn location(&self, asset: &AssetRef) -> String;
    /// How long a value read from here may be reused.
    fn ttl(&self) -> Duration;
    /// Whether tokens may be written back here.
    fn writable(&self) -> bool;
    /// Reads the whole secret behind `asset`.
    fn read<'a>(&'a self, asset: &'a AssetRef) -> BoxFuture<'a, Result<SecretData, StoreError>>;
    /// Logs in and reports what the policy allows on each asset's path.
    fn capabilities<'a>(
        &'a self,
        assets: &'a [AssetRef],
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, StoreError>>;
}

/// What went wrong inside a store; each case says what to do next in [`StoreError::hint`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No answer from the server.
    #[error("Vault at {} is unreachable: {}", redact::url(.address), Untrusted(.reason))]
    Unreachable {
        /// The configured address.
        address: String,
        /// The transport error.
        reason: String,
    },
    /// The server answered 503 sealed.
    #[error("Vault at {} is sealed", redact::url(.address))]
    Sealed {
        /// The configured address.
        address: String,
    },
    /// Login was refused, or the token is invalid or expired.
    #[error("Vault login with {method} failed: {}", Untrusted(.reason))]
    AuthFailed {
        /// How it logged in (`a token from VAULT_TOKEN`, `approle`, …:
        /// [`VaultAuth::login`](vault::VaultAuth::login)), or `no token`.
        method: String,
        /// Vault's reason.
        reason: String,
    },
    /// The policy does not allow the operation on the path.
    #[error("permission denied on {location}")]
    PermissionDenied {
        /// Path and mount.
        location: String,
    },
    /// Nothing at the path (or that version).
    #[error("not found at {location}")]
    NotFound {
        /// Path and mount.
        location: String,
    },
    /// The mount is another KV version than configured.
    #[error("mount {mount} is KV v{actual}, but the store says kv_version = {configured}")]
    WrongKvVersion {
        /// The mount.
        mount: String,
        /// What the connection says.
        configured: u8,
        /// What Vault says.
        actual: u8,
    },
    /// The namespace does not exist.
    #[error("namespace {namespace:?} does not exist")]
    UnknownNamespace {
        /// The configured namespace.
        namespace: String,
    },
    /// A write was needed but the store is read-only.
    #[error("store is read-only, and {purpose} needs to write to it")]
    ReadOnly {
        /// What wanted to write.
        purpose: String,
    },
    /// The store is configured wrongly.
    #[error("{0}")]
    Config(String),
    /// Anything else Vault answered.
    #[error("Vault answered {status}: {}", Untrusted(.message))]
    Other {
        /// HTTP status.
        status: u16,
        /// Vault's error text.
        message: String,
    },
}

impl StoreError {
    /// What the person should do next.
    pub fn hint(&self) -> &'static str {
        match self {
            StoreError::AuthFailed { method, .. } => auth_hint(method),
            StoreError::Unreachable { .. } => "check the store's address (or VAULT_ADDR) and that Vault is running",
            StoreError::Sealed { .. } => "ask the Vault operators to unseal it",
            StoreError::PermissionDenied { .. } => "grant the store's Vault identity `read` on this path (see the README's policy example)",
            StoreError::NotFound { .. } => "create the secret there, or fix the asset name, external_name, path or version",
            StoreError::WrongKvVersion { .. } => "set kv_version in the store to the mount's version",
            StoreError::UnknownNamespace { .. } => "fix namespace (or VAULT_NAMESPACE)",
            StoreError::ReadOnly { .. } => "set mode = \"read-write\" on the store, or keep tokens elsewhere",
            StoreError::Config(_) => "fix the store's settings in the connection file",
            StoreError::Other { .. } => "see Vault's message above",
        }
    }
}

/// What to do when a login failed, by what was used to log in.
fn auth_hint(login: &str) -> &'static str {
    if login == "no token" {
        "set VAULT_TOKEN (or run `vault login`, which writes ~/.vault-token), or give the store a token, approle or userpass login"
    } else if login.contains("~/.vault-token") {
        "~/.vault-token holds a token Vault refuses (a stale login?): run `vault login` again, or set VAULT_TOKEN"
    } else if login.contains("VAULT_TOKEN") {
        "VAULT_TOKEN holds a token Vault refuses (expired or revoked): set a current one"
    } else if login.starts_with("ldap") {
        "check the LDAP user name and password, and the mount's auth/<mount>/config (url, userdn, userattr)"
    } else if login.starts_with("jwt") {
        "check that the token file is current (a projected token rotates) and that the role's bound_audiences, bound_claims and the mount's keys (jwt_validation_pubkeys, jwks_url, oidc_discovery_url) accept it"
    } else if login.starts_with("cert") {
        "check cert_file and key_file (the key readable by its owner only: chmod 600), and that the mount's auth/<mount>/certs role trusts the certificate's CA"
    } else if login.starts_with("agent") {
        "check that Vault Agent is running and its auto-auth sink writes this file; the host reads it again when it changes"
    } else {
        "check the store's login in [stores.NAME] (token, approle, userpass, ldap, jwt, cert or agent); a token may have expired or been revoked"
    }
}

/// A field that could not be resolved. Never carries a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// `{ env = "…" }` names an unset variable.
    #[error("field {field}: environment variable {var} is not set\nhint: set it, or give the field another source")]
    EnvMissing {
        /// The field.
        field: String,
        /// The variable.
        var: String,
    },
    /// `{ file = "…" }` cannot be read or is empty.
    #[error("field {field}: cannot use file {}: {reason}\nhint: check the path and its permissions", path.display())]
    File {
        /// The field.
        field: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The asset names a store the connection does not define, or names none among several.
    #[error("field {field}: credential asset '{asset}': {problem}\nhint: define the store under [stores.NAME] or set store = \"NAME\" on the asset")]
    Store {
        /// The field.
        field: String,
        /// The asset.
        asset: String,
        /// What is wrong.
        problem: String,
    },
    /// The store failed.
    #[error("field {field}: credential asset '{asset}' in store '{store}': {error}\nhint: {}", error.hint())]
    Fetch {
        /// The field.
        field: String,
        /// The asset.
        asset: String,
        /// The store's name.
        store: String,
        /// What failed (boxed: it is large, and errors travel by value).
        error: Box<StoreError>,
    },
    /// The secret exists but lacks the key.
    #[error("field {field}: credential asset '{asset}' in store '{store}' has no key {key:?} at {location} (keys present: {present})\nhint: set key = \"…\" on the asset, or add the key to the secret")]
    KeyMissing {
        /// The field.
        field: String,
        /// The asset.
        asset: String,
        /// The store's name.
        store: String,
        /// The missing key.
        key: String,
        /// Where.
        location: String,
        /// The keys that are there (names only).
        present: String,
    },
    /// `{ file = "…" }` is sealed ([`crate::at_rest`]) and does not open.
    #[error("field {field}: {error}")]
    Sealed {
        /// The field.
        field: String,
        /// Why it does not open (names the file and the key, never a value).
        error: Box<crate::at_rest::AtRestError>,
    },
}

impl SecretError {
    /// The field whose value could not be resolved.
    pub fn field(&self) -> &str {
        match self {
            SecretError::EnvMissing { field, .. }
            | SecretError::File { field, .. }
            | SecretError::Store { field, .. }
            | SecretError::Fetch { field, .. }
            | SecretError::KeyMissing { field, .. }
            | SecretError::Sealed { field, .. } => field,
        }
    }
}

/// Resolves field sources, caching what stores return.
pub struct Resolver {
    stores: BTreeMap<String, Arc<dyn CredentialStore>>,
    cache: cache::Cache,
    at_rest: Arc<AtRest>,
}

impl Resolver {
    /// A resolver over the connection's named stores.
    pub fn new(stores: BTreeMap<String, Arc<dyn CredentialStore>>) -> Resolver {
        Resolver {
            stores,
            cache: cache::Cache::default(),
            at_rest: Arc::new(AtRest::plain()),
        }
    }

    /// Opens sealed `{ file = … }` sources with `at_rest` (without it, a
    /// sealed file is refused).
    pub fn with_at_rest(self, at_rest: Arc<AtRest>) -> Resolver {
        Resolver { at_rest, ..self }
    }

    /// How the connection's files are sealed (its token file too).
    pub fn at_rest(&self) -> &Arc<AtRest> {
        &self.at_rest
    }

    /// The named stores.
    pub fn stores(&self) -> &BTreeMap<String, Arc<dyn CredentialStore>> {
        &self.stores
    }

    /// Resolves one field's value.
    ///
    /// # Errors
    ///
    /// A [`SecretError`] naming the field and, for assets, the asset, store and path.
    pub async fn resolve(
        &self,
        field: &str,
        source: &FieldSource,
    ) -> Result<SecretString, SecretError> {
        let value = match source {
            FieldSource::Asset(asset) => self.resolve_asset(field, asset).await,
            FieldSource::File(path) => self.resolve_file(field, path).await,
            other => resolve_plain(field, other),
        }?;
        redact::remember(&value);
        Ok(value)
    }

    /// Forgets a cached asset value, e.g. after the API rejected it; the next
    /// [`Resolver::resolve`] reads it from the store again.
    pub async fn forget(&self, source: &FieldSource) {
        if let FieldSource::Asset(asset) = source {
            if let Ok((name, store)) = self.store_for("", asset) {
                self.cache
                    .invalidate(&cache_key(name, store.as_ref(), asset))
                    .await;
            }
        }
    }

    /// The store an asset lives in, and its name.
    pub fn store_for(
        &self,
        field: &str,
        asset: &AssetRef,
    ) -> Result<(&str, &Arc<dyn CredentialStore>), SecretError> {
        let problem = |problem: String| SecretError::Store {
            field: field.into(),
            asset: asset.name.to_string(),
            problem,
        };
        let known = || self.stores.keys().cloned().collect::<Vec<_>>().join(", ");
        match &asset.store {
            Some(name) => self
                .stores
                .get_key_value(name)
                .map(|(k, v)| (k.as_str(), v))
                .ok_or_else(|| {
                    problem(format!(
                        "the store it names is not defined in the connection (defined: {})",
                        known()
                    ))
                }),
            None if self.stores.len() == 1 => Ok(self
                .stores
                .iter()
                .next()
                .map(|(k, v)| (k.as_str(), v))
                .expect("one store")),
            None if self.stores.is_empty() => {
                Err(problem("the connection defines no credential store".into()))
            }
            None => Err(problem(format!(
                "the connection has several stores ({}); name one",
                known()
            ))),
        }
    }

    /// A file's first line; a sealed file (a typed secret `serve` kept) is
    /// opened first.
    async fn resolve_file(
        &self,
        field: &str,
        path: &std::path::Path,
    ) -> Result<SecretString, SecretError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| SecretError::File {
            field: field.into(),
            path: path.to_owned(),
            reason: e.to_string(),
        })?);
        let binding = crate::at_rest::file_binding(path);
        let opened = self
            .at_rest
            .open(path, &binding, &bytes)
            .await
            .map_err(|error| SecretError::Sealed {
                field: field.into(),
                error: Box::new(error),
            })?;
        first_line(field, path, &opened.plain)
    }

    async fn resolve_asset(
        &self,
        field: &str,
        asset: &AssetRef,
    ) -> Result<SecretString, SecretError> {
        let (name, store) = self.store_for(field, asset)?;
        let fetch_error = |error: StoreError| SecretError::Fetch {
            field: field.into(),
            asset: asset.name.to_string(),
            store: name.into(),
            error: Box::new(error),
        };
        let key = cache_key(name, store.as_ref(), asset);
        let data = self
            .cache
            .get_or_fetch(&key, store.ttl(), audit_read(field, name, store, asset))
            .await
            .map_err(fetch_error)?;
        match data.get(asset.key()) {
            Some(value) => Ok(SecretString::from(value.expose_secret().to_owned())),
            None => Err(SecretError::KeyMissing {
                field: field.into(),
                asset: asset.name.to_string(),
                store: name.into(),
                key: asset.key().into(),
                location: store.location(asset),
                present: data.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }
}

/// A store read of `asset`, recorded in the audit trail when it ends.
fn audit_read<'a>(
    field: &'a str,
    name: &'a str,
    store: &'a Arc<dyn CredentialStore>,
    asset: &'a AssetRef,
) -> impl std::future::Future<Output = Result<SecretData, StoreError>> + 'a {
    let location = store.location(asset);
    let read = crate::metrics::store_read(name, store.read(asset));
    crate::audit::reading(field, name, location, asset, read)
}

/// Resolves a source that needs no store (literal, env, file), synchronously.
///
/// # Errors
///
/// As [`Resolver::resolve`]; an asset reference is refused.
pub fn resolve_plain(field: &str, source: &FieldSource) -> Result<SecretString, SecretError> {
    match source {
        FieldSource::Literal(value) => Ok(value.clone()),
        FieldSource::Env(var) => {
            std::env::var(var)
                .map(SecretString::from)
                .map_err(|_| SecretError::EnvMissing {
                    field: field.into(),
                    var: var.clone(),
                })
        }
        FieldSource::File(path) => read_first_line(field, path),
        FieldSource::Asset(a) => Err(SecretError::Store {
            field: field.into(),
            asset: a.name.to_string(),
            problem: "a credential asset cannot be used here".into(),
        }),
    }
}

fn cache_key(store_name: &str, store: &dyn CredentialStore, asset: &AssetRef) -> String {
    format!(
        "{store_name}\n{}\n{:?}",
        store.location(asset),
        asset.version
    )
}

fn read_first_line(field: &str, path: &std::path::Path) -> Result<SecretString, SecretError> {
    let error = |reason: String| SecretError::File {
        field: field.into(),
        path: path.to_owned(),
        reason,
    };
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| error(e.to_string()))?);
    if crate::at_rest::format::is_sealed(&bytes) {
        return Err(error(
            "it is sealed, and only a connection's fields (with its [at_rest] key) open sealed files".into(),
        ));
    }
    first_line(field, path, &bytes)
}

/// The first line of `bytes` (the contents of `path`), trimmed.
fn first_line(
    field: &str,
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<SecretString, SecretError> {
    let error = |reason: String| SecretError::File {
        field: field.into(),
        path: path.to_owned(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| error("it is not UTF-8 text".into()))?;
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(error("its first line is empty".into()));
    }
    Ok(SecretString::from(line.to_owned()))
}

/// Standard lifetime of cached values when a store does not set one.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
