//! One small JSON record `serve` keeps beside the connections (the tenants'
//! tokens, a connect link): a 0600 file changed under an exclusive lock, or
//! a KV v2 document in the connections store changed with check-and-set,
//! so that every replica sees one history of it and no change is lost.
//!
//! Files are sealed with `serve`'s `[at_rest]` key ([`crate::at_rest`],
//! bound to their place); a plain one from before is re-written sealed
//! when first read.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::at_rest::{file_binding, AtRest, AtRestSettings};
use crate::documents::{create_private_dir, Documents};
use crate::name::AssetName;
use crate::secrets::vault::VaultStore;
use crate::secrets::{AssetKind, AssetRef, SecretData};

/// Where a record is.
enum Place {
    File(PathBuf),
    Store {
        name: String,
        store: Arc<VaultStore>,
        asset: AssetName,
    },
}

/// A record of type `T`.
pub struct Record<T> {
    place: Place,
    kind: PhantomData<fn() -> T>,
}

/// The document's one key.
const KEY: &str = "record";

/// How records kept in files are sealed: `serve`'s `[at_rest]`, set once
/// when its state is made (one `serve` per process).
static AT_REST: OnceLock<Arc<AtRest>> = OnceLock::new();

/// Seals records kept in files with `at_rest` from now on.
pub(crate) fn seal_with(at_rest: Arc<AtRest>) {
    let _ = AT_REST.set(at_rest);
}

fn at_rest() -> Arc<AtRest> {
    AT_REST
        .get_or_init(|| Arc::new(AtRest::new(&AtRestSettings::default(), &Default::default())))
        .clone()
}

impl<T: Serialize + DeserializeOwned + Send + 'static> Record<T> {
    /// The record kept where `documents` keeps connections: the file
    /// `<dir>/<file>`, or the document `asset` in the store.
    pub fn beside(documents: &Documents, file: &Path, asset: AssetName) -> Record<T> {
        let place = match documents {
            Documents::Directory(dir) => Place::File(dir.join(file)),
            Documents::Store { name, store, .. } => Place::Store {
                name: name.clone(),
                store: store.clone(),
                asset,
            },
        };
        Record {
            place,
            kind: PhantomData,
        }
    }

    /// The record; `None` when there is none yet.
    ///
    /// # Errors
    ///
    /// A sentence when it cannot be read.
    pub async fn read(&self) -> Result<Option<T>, String> {
        Ok(self.read_versioned().await?.0)
    }

    /// Applies `edit` and writes the result back if `edit` says it changed
    /// it: under the file's lock, or with check-and-set (read again and
    /// repeated when another replica wrote meanwhile). What `edit` returns.
    ///
    /// # Errors
    ///
    /// A sentence when it cannot be read or written.
    pub async fn change<R: Send + 'static>(
        &self,
        edit: impl Fn(&mut Option<T>) -> (bool, R) + Send + 'static,
    ) -> Result<R, String> {
        match &self.place {
            Place::File(file) => change_file(file, edit).await,
            Place::Store { name, store, asset } => {
                for _ in 0..8 {
                    let (mut value, version) = self.read_versioned().await?;
                    let (changed, answer) = edit(&mut value);
                    let Some(value) = value.filter(|_| changed) else {
                        return Ok(answer);
                    };
                    let text = serde_json::to_string(&value).map_err(|e| e.to_string())?;
                    let data = SecretData::from([(KEY.to_owned(), SecretString::from(text))]);
                    match store
                        .write_record(&reference(name, asset), data, version)
                        .await
                    {
                        Ok(Some(_)) => return Ok(answer),
                        Ok(None) => continue, // another replica wrote first: read again
                        Err(e) => return Err(format!("store '{name}' {asset}: {e}")),
                    }
                }
                Err(format!(
                    "store '{name}' {asset}: changed by others on every try\nhint: try again"
                ))
            }
        }
    }

    /// Removes the record (an absent one is fine).
    ///
    /// # Errors
    ///
    /// A sentence when it cannot be removed.
    pub async fn remove(&self) -> Result<(), String> {
        match &self.place {
            Place::File(file) => match std::fs::remove_file(file) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("cannot remove {}: {e}", file.display())),
            },
            Place::Store { name, store, asset } => store
                .delete_secret(&reference(name, asset))
                .await
                .map_err(|e| format!("store '{name}' {asset}: {e}\nhint: {}", e.hint())),
        }
    }

    /// The record and its version (0: none yet).
    async fn read_versioned(&self) -> Result<(Option<T>, u64), String> {
        match &self.place {
            Place::File(file) => {
                let (value, needs_sealing) = read_file(file).await?;
                if needs_sealing {
                    // Re-written as it is, sealed (under the lock).
                    change_file(file, |_: &mut Option<T>| (false, ())).await?;
                }
                Ok((value, 0))
            }
            Place::Store { name, store, asset } => {
                let found = store
                    .read_record(&reference(name, asset))
                    .await
                    .map_err(|e| format!("store '{name}' {asset}: {e}\nhint: {}", e.hint()))?;
                let Some((data, version)) = found else {
                    return Ok((None, 0));
                };
                let text = data.get(KEY).map(|t| t.expose_secret().to_owned());
                let value = serde_json::from_str(text.as_deref().unwrap_or("null"))
                    .map_err(|e| format!("store '{name}' {asset} is unreadable: {e}"))?;
                Ok((value, version))
            }
        }
    }
}

fn reference(store: &str, asset: &AssetName) -> AssetRef {
    AssetRef {
        name: asset.clone(),
        external_name: None,
        store: Some(store.to_owned()),
        kind: AssetKind::Secret { key: KEY.into() },
        version: None,
    }
}

/// The record in `file` and whether it is a plain file from before.
async fn read_file<T: DeserializeOwned>(file: &Path) -> Result<(Option<T>, bool), String> {
    let opened = at_rest()
        .read(file, &file_binding(file))
        .await
        .map_err(|e| e.to_string())?;
    let Some(opened) = opened else {
        return Ok((None, false));
    };
    let value = serde_json::from_slice(&opened.plain)
        .map_err(|e| format!("{} is unreadable: {e}", file.display()))?;
    Ok((value, opened.needs_sealing))
}

/// Read, edit and write the file under an exclusive lock on a lock file
/// beside it, so two processes never lose each other's change.
async fn change_file<T: Serialize + DeserializeOwned, R>(
    file: &Path,
    edit: impl Fn(&mut Option<T>) -> (bool, R),
) -> Result<R, String> {
    let failed = |e: std::io::Error| format!("cannot change {}: {e}", file.display());
    if let Some(dir) = file.parent() {
        create_private_dir(dir).map_err(failed)?;
    }
    let lock_file = file.with_extension("lock");
    // Taken on a blocking thread (it may wait for another process), then
    // held across the awaits of sealing until dropped.
    let _lock = tokio::task::spawn_blocking(move || {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options.open(lock_file)?;
        lock.lock()?;
        Ok::<_, std::io::Error>(lock)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(failed)?;
    let (mut value, needs_sealing) = read_file(file).await?;
    let (changed, answer) = edit(&mut value);
    if let Some(value) = value.filter(|_| changed || needs_sealing) {
        let text =
            zeroize::Zeroizing::new(serde_json::to_vec_pretty(&value).map_err(|e| e.to_string())?);
        at_rest()
            .write(file, &file_binding(file), &text)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(answer)
}
