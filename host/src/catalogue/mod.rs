//! A directory of connector components, as a long-running host sees it:
//! each file is loaded (compiled or taken from the artifact cache) once,
//! and a file added, replaced or removed while the host runs is noticed at
//! the next look, without a restart. Entries are keyed by file; each shows
//! its sha256, so a person can tell which build is running.
//!
//! Invariant: nothing waits for a compile it did not ask for. No lock is
//! held across a load: each file has its own state (loading, loaded,
//! failed, skipped), loaded by its own task within the runtime's bounds
//! ([`crate::invoke::LoadSettings`]); callers that need that file wait for
//! it, and one load serves them all. Only regular files are loaded
//! ([`file`]), and a name several components claim means none of them
//! ([`names`]).

mod file;
mod load;
mod names;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

pub use names::Conflict;

use self::file::Fingerprint;
use self::load::{entry, settle, Slot};
use self::names::{Claim, Resolution};
use crate::invoke::{Connector, InvokeError, Runtime};
use crate::{Connection, ConnectionError, SessionError};

/// How long a listing waits for components still loading before it shows
/// them as loading: long enough for a new component to appear loaded, short
/// enough that a compile bomb does not hold up the list.
const LIST_PATIENCE: Duration = Duration::from_secs(2);

/// Where a component file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being read, compiled and described.
    Loading,
    /// Ready to run.
    Loaded,
    /// It could not be loaded (see the entry's reason).
    Failed,
    /// Not a regular file: never opened in a way that could block.
    Skipped,
}

/// One component of the directory.
#[derive(Clone)]
pub struct Entry {
    /// The component file.
    pub file: PathBuf,
    /// Its sha256 (lowercase hex); empty until read.
    pub sha256: String,
    /// The loaded connector, or why it is not (yet) loaded.
    pub loaded: Result<Arc<Connector>, String>,
    /// Where it stands.
    pub status: Status,
    /// Names it claims that other components claim too (it has none of them).
    pub conflicts: Vec<Conflict>,
}

/// Why a connector name finds no component.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No component claims it.
    #[error("no connector named {}", crate::redact::untrusted(.0))]
    NotFound(String),
    /// No loaded component claims it, and some are still loading.
    #[error("no loaded connector is named {}; {loading} component(s) are still loading\nhint: retry in a few seconds", crate::redact::untrusted(.name))]
    Loading {
        /// The name.
        name: String,
        /// How many are loading.
        loading: usize,
    },
    /// Several components claim it.
    #[error("{0}")]
    Conflict(Conflict),
    /// The operator's `[names]` choice for it is absent or does not claim it.
    #[error("connector name {name:?} is given to {chosen} in the serve config's [names], but that file is not loaded or does not claim the name\nhint: GET /api/connectors shows what each file claims; fix [names] or the file")]
    Unavailable {
        /// The name.
        name: String,
        /// The file chosen.
        chosen: String,
    },
}

/// The connectors directory, loaded lazily and kept in step with the files.
pub struct Catalogue {
    runtime: Arc<Runtime>,
    dir: PathBuf,
    choices: BTreeMap<String, String>,
    /// Never held across an await.
    slots: Mutex<BTreeMap<PathBuf, Slot>>,
    /// The conflict warnings logged, so each is logged once while it lasts.
    warned: Mutex<BTreeSet<String>>,
}

impl Catalogue {
    /// A catalogue of `dir` (its `*.wasm` files); loading starts now when
    /// called inside a Tokio runtime, else at the first look.
    pub fn new(runtime: Arc<Runtime>, dir: &Path) -> Catalogue {
        let catalogue = Catalogue {
            runtime,
            dir: dir.to_owned(),
            choices: BTreeMap::new(),
            slots: Mutex::default(),
            warned: Mutex::default(),
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            catalogue.refresh();
        }
        catalogue
    }

    /// The operator's choices: connector name → file name in the directory.
    pub fn with_names(mut self, choices: BTreeMap<String, String>) -> Catalogue {
        self.choices = choices;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every component now in the directory, in file-name order, after
    /// waiting a little (not for a whole compile) for those loading.
    pub async fn entries(&self) -> Vec<Entry> {
        let slots = self.refresh();
        settle(slots.iter().map(|(_, s)| s), Instant::now() + LIST_PATIENCE).await;
        self.snapshot(&slots)
    }

    /// Every component now in the directory, without waiting for any.
    pub fn current(&self) -> Vec<Entry> {
        self.snapshot(&self.refresh())
    }

    /// The component named `name` (its `describe` name, or its file name
    /// without `.wasm`), unless several claim it. Waits for components
    /// still loading only when none loaded has the name.
    ///
    /// # Errors
    ///
    /// A [`LookupError`] saying why no component has the name.
    pub async fn find(&self, name: &str) -> Result<Entry, LookupError> {
        let slots = self.refresh();
        let mut entries = self.snapshot(&slots);
        let stem_loading = entries
            .iter()
            .any(|e| e.status == Status::Loading && e.file.file_stem().is_some_and(|s| s == name));
        if stem_loading || resolve(name, &entries, &self.choices) == Resolution::NotFound {
            settle(slots.iter().map(|(_, s)| s), self.patience()).await;
            entries = self.snapshot(&slots);
        }
        match resolve(name, &entries, &self.choices) {
            Resolution::Found(i) => Ok(entries.swap_remove(i)),
            Resolution::NotFound => match entries
                .iter()
                .filter(|e| e.status == Status::Loading)
                .count()
            {
                0 => Err(LookupError::NotFound(name.to_owned())),
                loading => Err(LookupError::Loading {
                    name: name.to_owned(),
                    loading,
                }),
            },
            Resolution::Conflict(files) => Err(LookupError::Conflict(Conflict {
                name: name.to_owned(),
                files: files
                    .iter()
                    .map(|&i| file_name(&entries[i].file).to_owned())
                    .collect(),
            })),
            Resolution::Unavailable { chosen } => Err(LookupError::Unavailable {
                name: name.to_owned(),
                chosen,
            }),
        }
    }

    /// The loaded connector in `file` (inside the directory or not),
    /// waiting for its load if it is new or has changed.
    ///
    /// # Errors
    ///
    /// Why it is not loaded.
    pub async fn by_file(&self, file: &Path) -> Result<Arc<Connector>, String> {
        let entry = self.entry(file).await;
        entry
            .map_err(|e| format!("cannot read connector file {}: {e}", file.display()))?
            .loaded
    }

    /// The loaded connector of `connection`: its file, whose bytes (those
    /// compiled, not read again) must match the connection's pin.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::PinMismatch`], or why the file is not loaded.
    pub async fn for_connection(
        &self,
        connection: &Connection,
    ) -> Result<Arc<Connector>, SessionError> {
        let path = &connection.connector;
        let entry = self
            .entry(path)
            .await
            .map_err(|source| ConnectionError::ReadConnector {
                path: path.clone(),
                source,
            })?;
        let pin = connection.connector_sha256.as_ref();
        // An empty digest: the file was not read, and the reason says why.
        if let Some(expected) = pin.filter(|p| !entry.sha256.is_empty() && **p != entry.sha256) {
            return Err(ConnectionError::PinMismatch {
                path: path.clone(),
                expected: expected.clone(),
                actual: entry.sha256,
            }
            .into());
        }
        let load = |reason| InvokeError::Load {
            path: path.clone(),
            reason,
        };
        Ok(entry.loaded.map_err(load)?)
    }

    async fn entry(&self, file: &Path) -> std::io::Result<Entry> {
        let meta = std::fs::metadata(file)?;
        let slot = self.slot(file, Fingerprint::of(&meta));
        settle([&slot], self.patience()).await;
        Ok(entry(file, &slot))
    }

    /// As long as a load may take: its deadline, once more for a turn to
    /// compile, and a margin.
    fn patience(&self) -> Instant {
        Instant::now() + self.runtime.loading().timeout * 2 + Duration::from_secs(5)
    }

    /// The directory's `*.wasm` files with their loads, started for new and
    /// changed files; forgets removed ones.
    fn refresh(&self) -> Vec<(PathBuf, Slot)> {
        let mut files: Vec<(PathBuf, Fingerprint)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .filter_map(|p| {
                let meta = std::fs::metadata(&p).ok()?;
                Some((p, Fingerprint::of(&meta)))
            })
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        self.lock_slots().retain(|file, _| {
            file.parent() != Some(&self.dir) || files.iter().any(|(f, _)| f == file)
        });
        files
            .into_iter()
            .map(|(file, fingerprint)| {
                let slot = self.slot(&file, fingerprint);
                (file, slot)
            })
            .collect()
    }

    /// The load of this version of `file`, started now if there is none.
    fn slot(&self, file: &Path, fingerprint: Fingerprint) -> Slot {
        let mut slots = self.lock_slots();
        if let Some(slot) = slots.get(file).filter(|s| s.fingerprint == fingerprint) {
            return slot.clone();
        }
        let slot = Slot::start(self.runtime.clone(), file, fingerprint);
        slots.insert(file.to_owned(), slot.clone());
        slot
    }

    /// The entries of `slots` as they stand, each with its name conflicts
    /// (logged once while they last).
    fn snapshot(&self, slots: &[(PathBuf, Slot)]) -> Vec<Entry> {
        let mut entries: Vec<Entry> = slots.iter().map(|(file, slot)| entry(file, slot)).collect();
        let conflicts = names::conflicts(&claims(&entries), &self.choices);
        self.warn_once(&entries, &conflicts);
        for conflict in conflicts {
            for entry in &mut entries {
                if conflict.files.iter().any(|f| f == file_name(&entry.file)) {
                    entry.conflicts.push(conflict.clone());
                }
            }
        }
        entries
    }

    /// Logs each name conflict and each unusable `[names]` choice once,
    /// while it lasts.
    fn warn_once(&self, entries: &[Entry], conflicts: &[Conflict]) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        let mut now: BTreeSet<String> = conflicts.iter().map(ToString::to_string).collect();
        // While files load, a choice may merely not be loaded yet.
        let settled = entries.iter().all(|e| e.status != Status::Loading);
        for name in self.choices.keys().filter(|_| settled) {
            if let Resolution::Unavailable { chosen } = resolve(name, entries, &self.choices) {
                let unavailable = LookupError::Unavailable {
                    name: name.clone(),
                    chosen,
                };
                now.insert(unavailable.to_string());
            }
        }
        for text in now.difference(&warned) {
            tracing::warn!("{text}");
        }
        *warned = now;
    }

    fn lock_slots(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Entry {
    /// The entry as the API lists it: `state`, and `error` whenever the
    /// component cannot be used by its name (loading, failed, skipped, or
    /// in a name conflict).
    pub fn summary(&self) -> Value {
        // A file name, never the server's path to it.
        let file = file_name(&self.file);
        let mut summary = match &self.loaded {
            Ok(c) => {
                let info = c.info();
                json!({"name": info.name, "version": info.version, "description": info.description,
                    "file": file, "sha256": self.sha256, "activities": info.activities.len(),
                    "fields": info.fields, "state": self.status, "icon": icon_url(info.icon.as_deref()),
                    "signature": c.signer()})
            }
            Err(reason) => json!({"file": file, "sha256": self.sha256, "state": self.status,
                "error": crate::redact::untrusted(reason)}),
        };
        if !self.conflicts.is_empty() {
            let text: Vec<String> = self.conflicts.iter().map(ToString::to_string).collect();
            summary["conflicts"] = json!(self.conflicts);
            summary["error"] = Value::String(text.join("\n"));
        }
        summary
    }
}

/// A connector's icon as a `data:image/svg+xml;base64,` URL for an `<img>`
/// (where SVG runs no script), or `None` unless it is SVG of at most 16 KiB.
pub fn icon_url(icon: Option<&str>) -> Option<String> {
    use base64::Engine;
    let icon = icon?.trim();
    let body = icon.strip_prefix("<?xml").map_or(icon, |rest| {
        rest.split_once("?>")
            .map_or("", |(_, after)| after.trim_start())
    });
    (icon.len() <= 16 * 1024 && body.starts_with("<svg")).then(|| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(icon);
        format!("data:image/svg+xml;base64,{encoded}")
    })
}

/// The last part of `file`'s path ("" when it has none), as answers show it.
pub fn file_name(file: &Path) -> &str {
    file.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

/// The names each entry claims: its `describe` name and file stem when
/// loaded, its stem when it failed, nothing while loading or skipped.
fn claims(entries: &[Entry]) -> Vec<Claim<'_>> {
    entries
        .iter()
        .map(|e| {
            let stem = e.file.file_stem().and_then(|s| s.to_str());
            let mut claimed = Vec::new();
            match (&e.status, &e.loaded) {
                (Status::Loaded, Ok(c)) => claimed.extend([Some(c.info().name.as_str()), stem]),
                (Status::Failed, _) => claimed.push(stem),
                _ => {}
            }
            let mut claimed: Vec<&str> = claimed.into_iter().flatten().collect();
            claimed.dedup();
            Claim {
                file_name: file_name(&e.file),
                names: claimed,
            }
        })
        .collect()
}

fn resolve(name: &str, entries: &[Entry], choices: &BTreeMap<String, String>) -> Resolution {
    names::resolve(name, &claims(entries), choices)
}
