//! Encryption at rest of what the host keeps in files outside Vault: OAuth
//! token files, `serve`'s typed secrets, webhook signing secrets and its
//! small records (tenants' tokens, connect links, subscriptions).
//!
//! Each file is sealed whole ([`format`]: AES-256-GCM, a header naming the
//! key, the file's role and place bound as associated data) with a key from
//! one of ([`AtRestSettings`]):
//! - Vault Transit (envelope encryption, [`envelope`]);
//! - a key file the operator provides ([`key_file`]);
//! - by default, a key file made on first use in the user's data directory;
//! - none: plain files, only when `key = "plain"` says so.
//!
//! Plain files from before are still read (and re-written sealed by their
//! owners); a sealed file that the configured key cannot open is an error
//! naming the file and the key reference, never a key or a value.

mod envelope;
pub mod format;
mod key_file;
mod migrate;
mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::secrets::vault::{VaultConfig, VaultStore};
use crate::secrets::StoreError;
use format::{Key, KeyRef};

pub(crate) use settings::RawAtRest;
pub use settings::{AtRestSettings, KEY_FILE_ENV};

/// The host's data directory: `CONNECTOR_HOST_DATA_DIR`, else the user's
/// (`~/.local/share/connector-host` on Linux).
pub fn data_dir() -> PathBuf {
    std::env::var_os("CONNECTOR_HOST_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("connector-host")))
        .unwrap_or_else(|| std::env::temp_dir().join("connector-host"))
}

/// The binding of a file kept at `path` (a typed secret, a webhook secret,
/// one of `serve`'s records): its absolute place (symbolic links resolved),
/// so a sealed file copied or moved to another place does not open there.
pub fn file_binding(path: &Path) -> String {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let absolute = match (std::fs::canonicalize(dir), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    };
    format!("file {}", absolute.display())
}

/// The binding of an OAuth token file: its name (a digest of the
/// connection's path), so another connection's token file copied over it
/// does not open, while the data directory may move.
pub fn token_binding(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!("oauth-tokens {name}")
}

/// A file could not be sealed or opened. Never carries a key or a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AtRestError {
    /// The key file is missing, unreadable, not a key, or others may read it.
    #[error("at-rest key file {path}: {problem}\nhint: {hint}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// What to do.
        hint: String,
        /// Whether it does not exist (the default key is then made).
        missing: bool,
    },
    /// The file is sealed and the host is told to keep plain files.
    #[error("{} is sealed with {key_ref}, but [at_rest] says key = \"plain\"\nhint: configure [at_rest] with the key it was sealed with", file.display())]
    NoKey {
        /// The file.
        file: PathBuf,
        /// Its key, as its header names it.
        key_ref: KeyRef,
    },
    /// The file is sealed with another key than the configured one.
    #[error("{} is sealed with {key_ref}, but the configured key is {configured}\nhint: configure the key it was sealed with ([at_rest] key, key_file or CONNECTOR_HOST_AT_REST_KEY_FILE, transit_key), or remove the file (and connect again)", file.display())]
    WrongKey {
        /// The file.
        file: PathBuf,
        /// Its key, as its header names it.
        key_ref: KeyRef,
        /// The configured key.
        configured: String,
    },
    /// The key is right but the file does not open.
    #[error("{} does not open with {key_ref}: it was changed, or moved here from another place\nhint: restore it from where it was written, or remove it (and connect again)", file.display())]
    Unopenable {
        /// The file.
        file: PathBuf,
        /// Its key.
        key_ref: KeyRef,
    },
    /// Vault Transit failed.
    #[error("{}: Vault Transit key {mount}/{key} in store '{store}': {error}\nhint: {}; the store's policy needs update on {mount}/datakey/plaintext/{key} and {mount}/decrypt/{key}", file.display(), .error.hint())]
    Transit {
        /// The file.
        file: PathBuf,
        /// The store's name.
        store: String,
        /// The Transit mount.
        mount: String,
        /// The Transit key.
        key: String,
        /// What failed.
        error: Box<StoreError>,
    },
    /// The file could not be read or written.
    #[error("cannot {doing} {}: {source}", file.display())]
    Io {
        /// `read` or `write`.
        doing: &'static str,
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What a file held, and whether it still needs sealing.
pub struct Opened {
    /// The plain bytes.
    pub plain: Zeroizing<Vec<u8>>,
    /// A plain file from before, while a key is configured: its owner
    /// re-writes it sealed.
    pub needs_sealing: bool,
}

enum Keys {
    Plain,
    File {
        path: PathBuf,
        create: bool,
        loaded: Mutex<Option<(Arc<Key>, KeyRef)>>,
    },
    Transit(Box<envelope::Envelope>),
}

/// Seals and opens files with the configured key.
pub struct AtRest {
    keys: Keys,
}

impl AtRest {
    /// For `settings`, over the `stores` of the same file (a Transit store's
    /// login is used; nothing is contacted until the first seal or open).
    pub fn new(settings: &AtRestSettings, stores: &BTreeMap<String, VaultConfig>) -> AtRest {
        let file = |path: &PathBuf, create| Keys::File {
            path: path.clone(),
            create,
            loaded: Mutex::default(),
        };
        let keys = match settings {
            AtRestSettings::Plain => Keys::Plain,
            AtRestSettings::LocalKey(path) => file(path, true),
            AtRestSettings::KeyFile(path) => file(path, false),
            AtRestSettings::Transit {
                store,
                mount,
                key,
                data_key_lifetime,
            } => Keys::Transit(Box::new(envelope::Envelope::new(
                store.clone(),
                VaultStore::new(stores.get(store).cloned().expect("checked at parse time")),
                mount.clone(),
                key.clone(),
                *data_key_lifetime,
            ))),
        };
        AtRest { keys }
    }

    /// Plain files (`key = "plain"`).
    pub fn plain() -> AtRest {
        AtRest { keys: Keys::Plain }
    }

    /// Whether files are kept plain.
    pub fn is_plain(&self) -> bool {
        matches!(self.keys, Keys::Plain)
    }

    /// Reads a key file now (making the default one): `serve` names its
    /// key file in the connections it makes, so the file must exist.
    ///
    /// # Errors
    ///
    /// [`AtRestError::KeyFile`] when it cannot be read or made.
    pub fn ready(&self) -> Result<(), AtRestError> {
        match self.keys {
            Keys::File { .. } => self.file_key().map(drop),
            _ => Ok(()),
        }
    }

    /// `plain` sealed for `binding` (the file's role and place), ready to be
    /// written to `file` (named in errors); `plain` itself with `key = "plain"`.
    ///
    /// # Errors
    ///
    /// An [`AtRestError`] when the key cannot be had.
    pub async fn seal(
        &self,
        file: &Path,
        binding: &str,
        plain: &[u8],
    ) -> Result<Vec<u8>, AtRestError> {
        let (key, key_ref) = match &self.keys {
            Keys::Plain => return Ok(plain.to_vec()),
            Keys::File { .. } => self.file_key()?,
            Keys::Transit(envelope) => envelope
                .sealing_key()
                .await
                .map_err(|e| transit_error(envelope, file, e))?,
        };
        Ok(format::seal(&key, &key_ref, binding, plain))
    }

    /// The plain bytes of `bytes`, read from `file` and sealed for `binding`
    /// (or a plain file from before).
    ///
    /// # Errors
    ///
    /// An [`AtRestError`] naming the file and its key reference.
    pub async fn open(
        &self,
        file: &Path,
        binding: &str,
        bytes: &[u8],
    ) -> Result<Opened, AtRestError> {
        if !format::is_sealed(bytes) {
            return Ok(Opened {
                plain: Zeroizing::new(bytes.to_vec()),
                needs_sealing: !self.is_plain(),
            });
        }
        let unopenable = |key_ref: KeyRef| AtRestError::Unopenable {
            file: file.to_owned(),
            key_ref,
        };
        let header = format::header(bytes).ok_or_else(|| {
            unopenable(KeyRef::Key {
                id: "(unreadable header)".into(),
            })
        })?;
        let key = self.opening_key(file, &header.key_ref).await?;
        let plain = format::open(&key, &header, binding, bytes)
            .ok_or_else(|| unopenable(header.key_ref.clone()))?;
        Ok(Opened {
            plain,
            needs_sealing: false,
        })
    }

    /// The file's contents opened, `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// As [`AtRest::open`], and when it cannot be read.
    pub async fn read(&self, file: &Path, binding: &str) -> Result<Option<Opened>, AtRestError> {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(AtRestError::Io {
                    doing: "read",
                    file: file.to_owned(),
                    source,
                })
            }
        };
        self.open(file, binding, &bytes).await.map(Some)
    }

    /// Seals `plain` and writes it to `file` atomically, mode 0600.
    ///
    /// # Errors
    ///
    /// As [`AtRest::seal`], and when it cannot be written.
    pub async fn write(&self, file: &Path, binding: &str, plain: &[u8]) -> Result<(), AtRestError> {
        let sealed = Zeroizing::new(self.seal(file, binding, plain).await?);
        crate::documents::write_private(file, &sealed).map_err(|source| AtRestError::Io {
            doing: "write",
            file: file.to_owned(),
            source,
        })
    }

    async fn opening_key(&self, file: &Path, key_ref: &KeyRef) -> Result<Arc<Key>, AtRestError> {
        let wrong = |configured: String| AtRestError::WrongKey {
            file: file.to_owned(),
            key_ref: key_ref.clone(),
            configured,
        };
        match (&self.keys, key_ref) {
            (Keys::Plain, _) => Err(AtRestError::NoKey {
                file: file.to_owned(),
                key_ref: key_ref.clone(),
            }),
            (Keys::File { path, .. }, _) => {
                let (key, ours) = self.file_key()?;
                if &ours == key_ref {
                    Ok(key)
                } else {
                    Err(wrong(format!("{ours} ({})", path.display())))
                }
            }
            (
                Keys::Transit(envelope),
                KeyRef::Transit {
                    mount,
                    key,
                    wrapped,
                },
            ) if *mount == envelope.mount && *key == envelope.key => envelope
                .opening_key(wrapped)
                .await
                .map_err(|e| transit_error(envelope, file, e)),
            (Keys::Transit(envelope), _) => Err(wrong(format!(
                "Vault Transit key {}/{}",
                envelope.mount, envelope.key
            ))),
        }
    }

    /// The key file's key, read once.
    fn file_key(&self) -> Result<(Arc<Key>, KeyRef), AtRestError> {
        let Keys::File {
            path,
            create,
            loaded,
        } = &self.keys
        else {
            unreachable!("only called for key files")
        };
        let mut loaded = loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = &*loaded {
            return Ok(found.clone());
        }
        let key = key_file::load(path, *create)?;
        let key_ref = KeyRef::Key {
            id: format::key_id(&key),
        };
        Ok(loaded.insert((Arc::new(key), key_ref)).clone())
    }
}

fn transit_error(envelope: &envelope::Envelope, file: &Path, error: StoreError) -> AtRestError {
    AtRestError::Transit {
        file: file.to_owned(),
        store: envelope.store_name.clone(),
        mount: envelope.mount.clone(),
        key: envelope.key.clone(),
        error: Box::new(error),
    }
}

#[cfg(test)]
mod tests;
