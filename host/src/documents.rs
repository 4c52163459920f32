//! Where a long-running host keeps its connections: files in a directory
//! (one machine, the default), or documents in a credential store's KV, so
//! that every `serve` replica and every worker, on any machine, sees a
//! connection as soon as it is created, changed or deleted.
//!
//! A document is the same TOML as a connection file, never a secret value
//! (secrets stay credential assets or typed secrets in the store). In a
//! store it sits at `connections/<name>` below the store's path (KV v2,
//! written with check-and-set, so two replicas changing one connection never
//! lose a change silently), and names its connector relative to the
//! connectors directory of whichever machine reads it.
//!
//! Invariant: a connection is known only by its [`Name`]; the place of its
//! document is built from the name, never from other text.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::connection::{Connection, ConnectionError};
use crate::name::{AssetName, Name};
use crate::secrets::vault::{VaultConfig, VaultStore};
use crate::secrets::{AssetKind, AssetRef, SecretData, StoreError};

/// Where the connections are.
#[derive(Clone)]
pub enum Documents {
    /// `<dir>/<name>.toml` files.
    Directory(PathBuf),
    /// `connections/<name>` documents in a read-write store.
    Store {
        /// The store's name (in the serve config's `[stores]`).
        name: String,
        /// The store.
        store: Arc<VaultStore>,
        /// The directory connectors are named relative to.
        connectors: PathBuf,
        /// The folder below the store's path that holds the documents:
        /// `connections`, or `tenants/<tenant>/connections`.
        folder: AssetName,
    },
}

/// What says a document changed: a file's modification time and length, or
/// a KV version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// A file's.
    File(SystemTime, u64),
    /// A KV v2 document's version.
    Store(u64),
}

/// A document could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The connection's text is unusable, or its file cannot be read or written.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The store cannot be used.
    #[error("connections in store '{store}': {error}\nhint: {}", .error.hint())]
    Store {
        /// The store.
        store: String,
        /// What went wrong.
        error: StoreError,
    },
    /// Another replica changed the connection since it was read.
    #[error("connection {0} was changed by someone else meanwhile; nothing was written\nhint: read it again and repeat the change")]
    Conflict(Name),
}

impl Documents {
    /// Connections kept in the store `name` (which must be read-write, KV
    /// v2), connectors named relative to `connectors`.
    pub fn in_store(name: &str, config: &VaultConfig, connectors: &Path) -> Documents {
        Documents::Store {
            name: name.to_owned(),
            store: Arc::new(VaultStore::new(config.clone())),
            connectors: connectors.to_owned(),
            folder: AssetName::parse(FOLDER, "folder").expect("a fixed name"),
        }
    }

    /// Tenant `tenant`'s connections, beside these: the directory
    /// `tenants/<tenant>/` inside this one, or the folder
    /// `tenants/<tenant>/connections` in the same store. Built from the
    /// tenant's [`Name`] alone, so no tenant's place is inside another's.
    pub fn for_tenant(&self, tenant: &Name) -> Documents {
        let tenants = Name::parse(TENANTS, "folder").expect("a fixed name");
        match self {
            Documents::Directory(dir) => {
                Documents::Directory(dir.join(TENANTS).join(tenant.as_str()))
            }
            Documents::Store {
                name,
                store,
                connectors,
                ..
            } => Documents::Store {
                name: name.clone(),
                store: store.clone(),
                connectors: connectors.clone(),
                folder: AssetName::join(&[
                    &tenants,
                    tenant,
                    &Name::parse(FOLDER, "folder").expect("a fixed name"),
                ]),
            },
        }
    }

    /// Where connection `name` is, for people and errors.
    pub fn label(&self, name: &Name) -> PathBuf {
        match self {
            Documents::Directory(dir) => dir.join(format!("{name}.toml")),
            Documents::Store {
                name: store,
                folder,
                ..
            } => PathBuf::from(format!("store '{store}' {folder}/{name}")),
        }
    }

    /// The connections, sorted; an entry whose name is not a [`Name`] is
    /// not a connection.
    ///
    /// # Errors
    ///
    /// [`DocumentError::Store`] when the store cannot be listed.
    pub async fn names(&self) -> Result<Vec<Name>, DocumentError> {
        let mut names: Vec<Name> = match self {
            Documents::Directory(dir) => std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let path = e.path();
                    (path.extension()? == "toml").then_some(())?;
                    Name::parse(path.file_stem()?.to_str()?, "connection name").ok()
                })
                .collect(),
            Documents::Store { store, .. } => store
                .list(&self.folder())
                .await
                .map_err(|e| self.store_error(e))?
                .iter()
                .filter_map(|key| Name::parse(key, "connection name").ok())
                .collect(),
        };
        names.sort();
        Ok(names)
    }

    /// The tenants with a place beside these connections (see
    /// [`Documents::for_tenant`]), sorted; `default` is not among them.
    ///
    /// # Errors
    ///
    /// [`DocumentError::Store`] when the store cannot be listed.
    pub async fn tenants(&self) -> Result<Vec<Name>, DocumentError> {
        let parse = |text: &str| Name::parse(text, "tenant").ok();
        let mut tenants: Vec<Name> = match self {
            Documents::Directory(dir) => std::fs::read_dir(dir.join(TENANTS))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| parse(e.file_name().to_str()?))
                .collect(),
            Documents::Store { store, .. } => {
                let folder = AssetName::parse(TENANTS, "folder").expect("a fixed name");
                store
                    .list(&asset(folder, self.store_name()))
                    .await
                    .map_err(|e| self.store_error(e))?
                    .iter()
                    .filter_map(|key| parse(key.strip_suffix('/')?))
                    .collect()
            }
        };
        tenants.retain(|t| t.as_str() != DEFAULT_TENANT);
        tenants.sort();
        Ok(tenants)
    }

    /// The document's text and stamp; `None` when there is none.
    ///
    /// # Errors
    ///
    /// [`DocumentError`] when it cannot be read.
    pub async fn read(&self, name: &Name) -> Result<Option<(String, Stamp)>, DocumentError> {
        match self {
            Documents::Directory(_) => {
                let path = self.label(name);
                let Some(stamp) = file_stamp(&path) else {
                    return Ok(None);
                };
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConnectionError::Read { path, source })?;
                Ok(Some((text, stamp)))
            }
            Documents::Store { store, .. } => {
                let found = store
                    .read_record(&self.document(name))
                    .await
                    .map_err(|e| self.store_error(e))?;
                Ok(found.and_then(|(data, version)| {
                    let text = data.get(TEXT)?.expose_secret().to_owned();
                    Some((text, Stamp::Store(version)))
                }))
            }
        }
    }

    /// The document's stamp; `None` when there is none. Cheap for files;
    /// one store read for documents (callers cache it for a moment).
    ///
    /// # Errors
    ///
    /// [`DocumentError::Store`].
    pub async fn stamp(&self, name: &Name) -> Result<Option<Stamp>, DocumentError> {
        match self {
            Documents::Directory(_) => Ok(file_stamp(&self.label(name))),
            Documents::Store { .. } => Ok(self.read(name).await?.map(|(_, stamp)| stamp)),
        }
    }

    /// The connection `name`, parsed, and its stamp; `None` when there is none.
    ///
    /// # Errors
    ///
    /// [`DocumentError`] when it cannot be read or parsed.
    pub async fn load(&self, name: &Name) -> Result<Option<(Connection, Stamp)>, DocumentError> {
        let Some((text, stamp)) = self.read(name).await? else {
            return Ok(None);
        };
        Ok(Some((self.parse(name, &text)?, stamp)))
    }

    /// Parses `text` as connection `name` would be.
    ///
    /// # Errors
    ///
    /// [`ConnectionError`].
    pub fn parse(&self, name: &Name, text: &str) -> Result<Connection, ConnectionError> {
        let path = self.label(name);
        match self {
            Documents::Directory(dir) => Connection::parse_in(&path, dir, text),
            Documents::Store { connectors, .. } => Connection::parse_in(&path, connectors, text),
        }
    }

    /// Writes connection `name`'s text: atomically with mode 0600 to a file,
    /// or with check-and-set to a document (`expected`: the stamp read
    /// before the change, `None` to create).
    ///
    /// # Errors
    ///
    /// [`DocumentError::Conflict`] when a document changed meanwhile, others
    /// when it cannot be written.
    pub async fn write(
        &self,
        name: &Name,
        text: &str,
        expected: Option<Stamp>,
    ) -> Result<(), DocumentError> {
        match self {
            Documents::Directory(_) => {
                let path = self.label(name);
                write_private(&path, text.as_bytes())
                    .map_err(|source| ConnectionError::Write { path, source }.into())
            }
            Documents::Store { store, .. } => {
                let version = match expected {
                    Some(Stamp::Store(version)) => version,
                    _ => 0,
                };
                let data =
                    SecretData::from([(TEXT.to_owned(), SecretString::from(text.to_owned()))]);
                let written = store
                    .write_record(&self.document(name), data, version)
                    .await
                    .map_err(|e| self.store_error(e))?;
                written
                    .map(drop)
                    .ok_or_else(|| DocumentError::Conflict(name.clone()))
            }
        }
    }

    /// Removes connection `name`'s document; `false` when there was none.
    ///
    /// # Errors
    ///
    /// [`DocumentError::Store`] when the store cannot delete it.
    pub async fn remove(&self, name: &Name) -> Result<bool, DocumentError> {
        match self {
            Documents::Directory(_) => Ok(std::fs::remove_file(self.label(name)).is_ok()),
            Documents::Store { store, .. } => {
                let existed = self.read(name).await?.is_some();
                store
                    .delete_secret(&self.document(name))
                    .await
                    .map_err(|e| self.store_error(e))?;
                Ok(existed)
            }
        }
    }

    /// Sets `key = value` pairs in connection `name`'s `[oauth]` table,
    /// keeping the rest as written (the first connect pins the endpoints).
    ///
    /// # Errors
    ///
    /// [`DocumentError`]; a concurrent change is a conflict, not a loss.
    pub async fn set_oauth_keys(
        &self,
        name: &Name,
        entries: &[(&str, String)],
    ) -> Result<(), DocumentError> {
        let Some((text, stamp)) = self.read(name).await? else {
            return Err(DocumentError::Conflict(name.clone()));
        };
        let text = crate::connection::with_oauth_keys(&self.label(name), &text, entries)?;
        self.write(name, &text, Some(stamp)).await
    }

    fn folder(&self) -> AssetRef {
        asset(self.folder_name(), self.store_name())
    }

    fn document(&self, name: &Name) -> AssetRef {
        let text = format!("{}/{name}", self.folder_name());
        let path = AssetName::parse(&text, "document").expect("a folder and a name");
        asset(path, self.store_name())
    }

    fn folder_name(&self) -> AssetName {
        match self {
            Documents::Store { folder, .. } => folder.clone(),
            Documents::Directory(_) => AssetName::parse(FOLDER, "folder").expect("a fixed name"),
        }
    }

    fn store_name(&self) -> String {
        match self {
            Documents::Store { name, .. } => name.clone(),
            Documents::Directory(_) => String::new(),
        }
    }

    fn store_error(&self, error: StoreError) -> DocumentError {
        DocumentError::Store {
            store: self.store_name(),
            error,
        }
    }
}

/// The folder below the store's path that holds the documents.
const FOLDER: &str = "connections";
/// The folder of tenants' own places (documents, secrets, tokens).
pub const TENANTS: &str = "tenants";
/// The tenant whose places are the single-tenant layout (no `tenants/…`).
pub const DEFAULT_TENANT: &str = "default";
/// The document's one key: the connection's TOML.
const TEXT: &str = "connection";

fn asset(name: AssetName, store: String) -> AssetRef {
    AssetRef {
        name,
        external_name: None,
        store: Some(store),
        kind: AssetKind::Secret { key: TEXT.into() },
        version: None,
    }
}

fn file_stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some(Stamp::File(meta.modified().ok()?, meta.len()))
}

/// Writes `bytes` to `path` atomically with mode 0600 (connection files
/// name where secrets are; secret files hold them).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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

/// Creates `dir` (and its parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
