//! Tiered compilation: a component met for the first time runs on Winch's
//! baseline code at once, and its Cranelift code replaces it when ready.
//!
//! The optimized compile runs in the background, one at a time, in the
//! same bounded compiler (child process, deadline, memory limit) as any
//! other; its artifact goes to the cache, so the next process loads
//! optimized code directly. Every connector loaded from the same bytes in
//! the meantime is upgraded in place: a call takes the code current when it
//! starts ([`Connector::code`]) and keeps it to the end, so no call ever
//! mixes the two. A failed optimized compile leaves the connector on its
//! baseline code, with a warning.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Instant;

use wasmtime::component::{Component, InstancePre};

use super::artifact::{self, Artifact, ArtifactCache};
use super::compile::{precompile, LoadSettings};
use super::engine::{self, Tier};
use super::store::CallState;
use super::{exported_functions, Activity, Backend, Connector, InvokeError, Slots};

/// What [`super::Runtime::compile`] produced.
pub(super) struct Compiled {
    pub(super) backend: Arc<Backend>,
    pub(super) component: Component,
    /// The instance slots its calls take: the backend's, or for baseline
    /// code of a connector that fits a slot, the pooled backend's (its
    /// instances are made on demand, but it counts against
    /// `CONNECTOR_HOST_POOLED_CALLS` like the optimized code after it).
    pub(super) slots: Option<Arc<Slots>>,
    /// When the work on it began (after waiting for a turn to compile).
    pub(super) began: Instant,
    /// Its name in the artifact cache.
    pub(super) artifact: String,
    /// The name its optimized code has (or will have) there.
    pub(super) optimized: String,
    pub(super) tier: Tier,
}

/// The on-demand backend, made when first needed (most processes never
/// need it: each backend has an epoch ticker thread).
pub(super) type Lazy = Arc<std::sync::OnceLock<Arc<Backend>>>;

/// The backends an artifact may run on: a pooled one first when the
/// connector's limits fit a slot, then the on-demand one.
#[derive(Clone)]
pub(super) enum Backends {
    Pooled(Arc<Backend>, Lazy),
    Only(Arc<Backend>),
}

impl Backends {
    /// The one tried first.
    pub(super) fn first(&self) -> &Arc<Backend> {
        match self {
            Backends::Pooled(pooled, _) => pooled,
            Backends::Only(backend) => backend,
        }
    }

    /// `artifact` deserialized into the first backend it fits.
    pub(super) fn place(
        &self,
        path: &Path,
        artifact: &Artifact,
        size: usize,
    ) -> Result<(Arc<Backend>, Component), InvokeError> {
        let load_error = |e: wasmtime::Error| InvokeError::Load {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        };
        // SAFETY: the artifact is this host's compiler's output for these
        // bytes, fresh or read back from the cache under a valid MAC.
        let deserialize = |backend: &Arc<Backend>| {
            super::compile::blocking(size, || unsafe { artifact.deserialize(&backend.engine) })
                .map(|component| (backend.clone(), component))
        };
        match self {
            Backends::Only(backend) => deserialize(backend).map_err(load_error),
            Backends::Pooled(pooled, on_demand) => match deserialize(pooled) {
                Err(e) if engine::does_not_fit_slots(&e) => {
                    tracing::debug!("the component does not fit a pooled slot: {e:#}");
                    let on_demand = super::Runtime::made(on_demand, Tier::Optimized)?;
                    deserialize(&on_demand).map_err(load_error)
                }
                placed => placed.map_err(load_error),
            },
        }
    }
}

/// The code a connector's calls run on, and its activities' exports in it.
pub(super) struct Code {
    pub(super) pre: InstancePre<CallState>,
    /// The instance slots its calls take, when it runs pooled.
    pub(super) slots: Option<Arc<Slots>>,
    pub(super) activities: BTreeMap<String, Activity>,
    pub(super) tier: Tier,
}

/// A connector's [`Code`], replaced once: when its optimized code is ready.
pub(super) type CodeCell = Arc<RwLock<Arc<Code>>>;

impl Code {
    /// The code of `component` on `backend`, with the exports of the
    /// activities and triggers named `names` (outside `interface`, the
    /// metadata interface).
    pub(super) fn link(
        path: &Path,
        backend: &Backend,
        component: &Component,
        names: &[String],
        interface: &str,
        tier: Tier,
    ) -> Result<Code, InvokeError> {
        let pre = backend
            .linker
            .instantiate_pre(component)
            .map_err(|e| InvokeError::Load {
                path: path.to_owned(),
                reason: format!("{e:#}"),
            })?;
        let exports = exported_functions(&backend.engine, component);
        let mut activities = BTreeMap::new();
        for name in names {
            let export = super::described_export(&exports, interface, name)
                .cloned()
                .ok_or_else(|| InvokeError::Contract {
                    path: path.to_owned(),
                    reason: format!("{name:?} is described but not exported"),
                })?;
            activities.insert(name.clone(), export);
        }
        Ok(Code {
            pre,
            slots: backend.slots.clone(),
            activities,
            tier,
        })
    }
}

impl Connector {
    /// The code a call starts on (and keeps to its end).
    pub(super) fn code(&self) -> Arc<Code> {
        self.code.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Which compiler made the code calls run on now.
    pub fn tier(&self) -> Tier {
        self.code().tier
    }
}

/// A connector waiting for optimized code.
pub(super) struct Waiting {
    pub(super) code: Weak<RwLock<Arc<Code>>>,
    /// Its activities' and triggers' names.
    pub(super) names: Vec<String>,
    pub(super) interface: String,
    pub(super) fits_slots: bool,
}

/// Background compiles of optimized code: one at a time, and the
/// connectors waiting for each, by the optimized artifact's name.
pub(super) struct TierUps {
    turn: tokio::sync::Semaphore,
    waiting: Mutex<HashMap<String, Vec<Waiting>>>,
}

/// One background compile and what it needs of the runtime.
pub(super) struct TierUp {
    pub(super) path: PathBuf,
    pub(super) bytes: Vec<u8>,
    /// The optimized artifact's name, and the baseline one's.
    pub(super) name: String,
    pub(super) baseline: String,
    pub(super) pooled: Option<Arc<Backend>>,
    pub(super) on_demand: Lazy,
    pub(super) cache: Option<Arc<ArtifactCache>>,
    pub(super) loading: LoadSettings,
    pub(super) tier_ups: Arc<TierUps>,
}

impl TierUps {
    pub(super) fn new() -> TierUps {
        TierUps {
            turn: tokio::sync::Semaphore::new(1),
            waiting: Mutex::default(),
        }
    }

    /// Adds `waiting` to the connectors waiting for `job`'s code; starts
    /// the job unless one for the same artifact is under way.
    pub(super) fn request(self: &Arc<Self>, job: TierUp, waiting: Waiting) {
        let mut all = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let entry = all.entry(job.name.clone()).or_default();
        entry.push(waiting);
        if entry.len() == 1 {
            tokio::spawn(job.run());
        }
    }
}

impl TierUp {
    async fn run(self) {
        let _turn = self.tier_ups.turn.acquire().await.ok();
        let began = Instant::now();
        let on_demand = match super::Runtime::made(&self.on_demand, Tier::Optimized) {
            Ok(backend) => backend,
            Err(error) => {
                tracing::warn!(path = %self.path.display(), "the connector stays on baseline code: {error}");
                return;
            }
        };
        let compiled = precompile(
            &on_demand.engine,
            &self.bytes,
            &self.loading,
            Tier::Optimized,
            true,
        )
        .await;
        let waiting = self
            .tier_ups
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.name)
            .unwrap_or_default();
        let path = self.path.display();
        let artifact = match compiled {
            Ok(artifact) => artifact,
            Err(failure) => {
                let error = failure.into_error(&self.path, &self.loading);
                tracing::warn!(path = %path, "the connector stays on baseline code: its optimized compile failed: {error}");
                return;
            }
        };
        if let Some(cache) = &self.cache {
            cache.put(&self.name, &artifact);
            // `describe` said the same of either code.
            let described = cache.get_small(&artifact::described_name(&self.baseline));
            if let Some(described) = described {
                cache.put(&artifact::described_name(&self.name), &described);
            }
        }
        let artifact = Artifact::Fresh(artifact);
        for connector in waiting {
            let Some(cell) = connector.code.upgrade() else {
                continue;
            };
            let backends = match (&self.pooled, connector.fits_slots) {
                (Some(pooled), true) => Backends::Pooled(pooled.clone(), self.on_demand.clone()),
                _ => Backends::Only(on_demand.clone()),
            };
            let linked = backends
                .place(&self.path, &artifact, self.bytes.len())
                .and_then(|(backend, component)| {
                    Code::link(
                        &self.path,
                        &backend,
                        &component,
                        &connector.names,
                        &connector.interface,
                        Tier::Optimized,
                    )
                });
            match linked {
                Ok(code) => *cell.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(code),
                Err(error) => {
                    tracing::warn!(path = %path, "the connector stays on baseline code: {error}");
                }
            }
        }
        tracing::info!(
            path = %path,
            artifact = self.name,
            ms = began.elapsed().as_millis() as u64,
            "optimized code replaced the baseline code"
        );
    }
}
