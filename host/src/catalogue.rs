//! A directory of connector components, as a long-running host sees it:
//! each file is loaded (compiled or taken from the artifact cache) once, and
//! a file added, replaced or removed while the host runs is noticed at the
//! next look, without a restart. Entries are keyed by file; each shows its
//! sha256, so a person can tell which build is running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::invoke::{Connector, Limits, Runtime};

/// One component of the directory.
#[derive(Clone)]
pub struct Entry {
    /// The component file.
    pub file: PathBuf,
    /// Its sha256 (lowercase hex).
    pub sha256: String,
    /// The loaded connector, or why it could not be loaded.
    pub loaded: Result<Arc<Connector>, String>,
    seen: (SystemTime, u64),
}

/// The connectors directory, loaded lazily and kept in step with the files.
pub struct Catalogue {
    runtime: Arc<Runtime>,
    dir: PathBuf,
    entries: Mutex<BTreeMap<PathBuf, Entry>>,
}

impl Catalogue {
    /// A catalogue of `dir` (its `*.wasm` files); nothing is loaded yet.
    pub fn new(runtime: Arc<Runtime>, dir: &Path) -> Catalogue {
        Catalogue {
            runtime,
            dir: dir.to_owned(),
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every component now in the directory, in file-name order; new and
    /// changed files are loaded first.
    pub async fn entries(&self) -> Vec<Entry> {
        let files = self.files();
        let mut entries = self.entries.lock().await;
        entries.retain(|file, _| files.iter().any(|(f, _)| f == file));
        for (file, seen) in files {
            if entries.get(&file).is_some_and(|e| e.seen == seen) {
                continue;
            }
            let entry = self.load(&file, seen).await;
            entries.insert(file, entry);
        }
        entries.values().cloned().collect()
    }

    /// The loaded connector named `name` (its `describe` name, or its file
    /// name without `.wasm`).
    pub async fn find(&self, name: &str) -> Option<Entry> {
        self.entries().await.into_iter().find(|e| {
            e.file.file_stem().is_some_and(|s| s == name)
                || e.loaded.as_ref().is_ok_and(|c| c.info().name == name)
        })
    }

    /// The loaded connector in `file` (inside the directory or not), loading
    /// it if it is new or has changed.
    pub async fn by_file(&self, file: &Path) -> Result<Arc<Connector>, String> {
        let seen =
            stat(file).ok_or_else(|| format!("cannot read connector file {}", file.display()))?;
        let mut entries = self.entries.lock().await;
        if let Some(entry) = entries.get(file).filter(|e| e.seen == seen) {
            return entry.loaded.clone();
        }
        let entry = self.load(file, seen).await;
        let loaded = entry.loaded.clone();
        entries.insert(file.to_owned(), entry);
        loaded
    }

    fn files(&self) -> Vec<(PathBuf, (SystemTime, u64))> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .filter_map(|p| stat(&p).map(|seen| (p, seen)))
            .collect();
        files.sort();
        files
    }

    async fn load(&self, file: &Path, seen: (SystemTime, u64)) -> Entry {
        let (sha256, loaded) = match std::fs::read(file) {
            Ok(bytes) => {
                let sha256 = hex::encode(Sha256::digest(&bytes));
                let loaded = self
                    .runtime
                    .load(file, &bytes, &Limits::default())
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                (sha256, loaded)
            }
            Err(e) => (
                String::new(),
                Err(format!("cannot read {}: {e}", file.display())),
            ),
        };
        match &loaded {
            Ok(c) => {
                tracing::info!(file = %file.display(), connector = c.info().name, sha256, "connector loaded")
            }
            Err(e) => tracing::warn!(file = %file.display(), "connector not loaded: {e}"),
        }
        Entry {
            file: file.to_owned(),
            sha256,
            loaded,
            seen,
        }
    }
}

/// Modification time and length: enough to notice a replaced file.
/// A file's modification time and length: what says it was rewritten.
pub(crate) fn stat(file: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
