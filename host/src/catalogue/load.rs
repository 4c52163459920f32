//! One component file's load: a task of its own per version of the file,
//! whose outcome every caller waiting for that file shares.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::time::Instant;

use super::file::{self, Fingerprint, ReadError};
use super::{Entry, Status};
use crate::invoke::{Connector, InvokeError, Limits, Runtime};

/// One file's load: the version of the file it is for, and its outcome.
#[derive(Clone)]
pub(super) struct Slot {
    pub(super) fingerprint: Fingerprint,
    done: watch::Receiver<Option<Done>>,
}

#[derive(Clone)]
pub(super) struct Done {
    sha256: String,
    loaded: Result<Arc<Connector>, String>,
    status: Status,
}

impl Slot {
    /// Starts loading `file` (this version of it) on a task of its own.
    pub(super) fn start(runtime: Arc<Runtime>, file: &Path, fingerprint: Fingerprint) -> Slot {
        let (sender, done) = watch::channel(None);
        let path = file.to_owned();
        tokio::spawn(async move {
            let _ = sender.send(Some(load(runtime, path).await));
        });
        Slot { fingerprint, done }
    }
}

/// Waits until none of `slots` is loading, or until `until`.
pub(super) async fn settle<'a>(slots: impl IntoIterator<Item = &'a Slot>, until: Instant) {
    let waits = slots.into_iter().map(|slot| {
        let mut done = slot.done.clone();
        async move {
            let _ = done.wait_for(Option::is_some).await;
        }
    });
    let _ = tokio::time::timeout_at(until, futures::future::join_all(waits)).await;
}

/// `file`'s entry as its load stands.
pub(super) fn entry(file: &Path, slot: &Slot) -> Entry {
    let done = slot.done.borrow().clone().unwrap_or_else(|| {
        // A load task that ended without an outcome panicked.
        let (status, reason) = match slot.done.has_changed() {
            Ok(_) => (Status::Loading, "still loading"),
            Err(_) => (Status::Failed, "its load stopped unexpectedly"),
        };
        Done {
            sha256: String::new(),
            loaded: Err(reason.into()),
            status,
        }
    });
    Entry {
        file: file.to_owned(),
        sha256: done.sha256,
        loaded: done.loaded,
        status: done.status,
        conflicts: Vec::new(),
    }
}

/// Reads, hashes and loads `file`, within the runtime's bounds.
async fn load(runtime: Arc<Runtime>, file: PathBuf) -> Done {
    let max = runtime.loading().max_component_bytes;
    let path = file.clone();
    // Reading and hashing up to the size bound is blocking work.
    let read = tokio::task::spawn_blocking(move || {
        let bytes = file::read(&path, max)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Ok::<_, ReadError>((bytes, sha256))
    })
    .await
    .unwrap_or_else(|e| Err(ReadError::Io(std::io::Error::other(e.to_string()))));
    let done = match read {
        Ok((bytes, sha256)) => {
            let loaded = runtime.load(&file, &bytes, &Limits::default()).await;
            Done {
                status: if loaded.is_ok() {
                    Status::Loaded
                } else {
                    Status::Failed
                },
                loaded: loaded.map(Arc::new).map_err(|e| e.to_string()),
                sha256,
            }
        }
        Err(error) => unread(&file, error, max),
    };
    match &done.loaded {
        Ok(c) => {
            tracing::info!(file = %file.display(), connector = c.info().name, sha256 = done.sha256, "connector loaded")
        }
        Err(e) if done.status == Status::Skipped => tracing::warn!("{e}"),
        Err(e) => tracing::warn!(file = %file.display(), "connector not loaded: {e}"),
    }
    done
}

/// The outcome for a file that was not read.
fn unread(file: &Path, error: ReadError, max: u64) -> Done {
    let (status, reason) = match error {
        ReadError::NotRegular(kind) => (
            Status::Skipped,
            format!("{} is {kind}, not a regular file: only regular files are loaded", file.display()),
        ),
        ReadError::TooLarge(size) => (
            Status::Failed,
            InvokeError::LoadLimit {
                path: file.to_owned(),
                what: format!("it is {size} bytes, more than the {} MiB a component may have (CONNECTOR_HOST_MAX_COMPONENT_MIB)", max >> 20),
                setting: "CONNECTOR_HOST_MAX_COMPONENT_MIB",
            }
            .to_string(),
        ),
        ReadError::Io(e) => (Status::Failed, format!("cannot read {}: {e}", file.display())),
    };
    Done {
        sha256: String::new(),
        loaded: Err(reason),
        status,
    }
}
