//! Loading a connector and running one activity.
//!
//! A [`Runtime`] holds the engine and linker; [`Runtime::load`] compiles (in
//! a child process, see [`compile`]) or takes from the MAC-checked cache
//! ([`artifact`]) a component, asks it to `describe` itself and finds every
//! described activity among its exports by reflection, all within a
//! deadline and a size bound ([`LoadSettings`]). [`Connector::call`]
//! then runs one activity in a fresh store with a deadline, a memory cap and
//! the egress policy of [`crate::egress`].

mod artifact;
mod call;
mod compile;
pub mod constraints;
mod engine;
mod error;
mod info;
pub mod json;
mod limits;
mod output;
pub mod schema;
mod store;
mod tier_up;
mod trigger;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, Linker, Type};
use wasmtime::Engine;

pub use call::CallOptions;
pub use compile::{
    compile_in_child_processes, run_compiler_child, Compiler, LoadSettings, COMPILER_SUBCOMMAND,
};
pub use engine::{RuntimeSettings, Tier, DEFAULT_POOLED_CALLS};

pub use error::{error_case, InvokeError};
pub use info::{
    ActivityInfo, ApiKey, AuthScheme, BasicAuth, ClientCredentials, ConnectionField, ConnectorInfo,
    KeyPlacement, LimitScope, LimitWindow, OAuth2, RateLimit, TriggerInfo,
};
pub use json::InputError;
pub use limits::Limits;

use crate::egress::{Origin, Transport};
use artifact::ArtifactCache;
use store::CallState;

impl Connector {
    /// Whether this connector's calls run in pooled instance slots.
    pub fn is_pooled(&self) -> bool {
        self.code().slots.is_some()
    }
}

/// The interfaces a connector exports its metadata from, newest first: a
/// component built against an older `connector:sdk` still loads.
const METADATA_INTERFACES: [&str; 4] = [
    "connector:sdk/metadata@0.4.0",
    "connector:sdk/metadata@0.3.0",
    "connector:sdk/metadata@0.2.0",
    "connector:sdk/metadata@0.1.0",
];

/// The engines and linkers every connector of this process shares, and
/// its outgoing connection pool.
pub struct Runtime {
    /// Pooled instance slots, unless pooling is off.
    pooled: Option<Arc<Backend>>,
    /// For connectors that do not fit a slot; made when first needed.
    on_demand: tier_up::Lazy,
    /// Winch's code, until Cranelift's replaces it; made when first needed.
    baseline: std::sync::OnceLock<Arc<Backend>>,
    transport: Arc<Transport>,
    loading: LoadSettings,
    /// Opened (and its directory checked) when first needed; `None` when refused.
    cache: std::sync::OnceLock<Option<Arc<ArtifactCache>>>,
    /// Compiles at once: each may take a core and its memory limit until
    /// its deadline, so a directory full of compile bombs takes no more.
    compiles: tokio::sync::Semaphore,
    /// Optimized compiles in the background, for baseline code.
    tier_ups: Arc<tier_up::TierUps>,
}

/// One engine and its linker.
struct Backend {
    engine: Engine,
    linker: Linker<CallState>,
    /// The pooled engine's instance slots, one permit each: a call waits
    /// for one (within its deadline) instead of failing when all are taken.
    slots: Option<Arc<Slots>>,
}

/// Permits for a pooled engine's instance slots.
pub(crate) struct Slots {
    permits: tokio::sync::Semaphore,
    count: u32,
}

impl Backend {
    fn new(pooled_calls: u32, tier: Tier) -> Result<Backend, InvokeError> {
        let engine = engine::engine(pooled_calls, tier)
            .map_err(|e| InvokeError::Engine(format!("{e:#}")))?;
        let linker = engine::linker(&engine).map_err(|e| InvokeError::Engine(format!("{e:#}")))?;
        let slots = (pooled_calls > 0).then(|| {
            Arc::new(Slots {
                permits: tokio::sync::Semaphore::new(pooled_calls as usize),
                count: pooled_calls,
            })
        });
        Ok(Backend {
            engine,
            linker,
            slots,
        })
    }
}

impl Slots {
    /// A slot, once one is free, or `None` if none is by `deadline`.
    pub(crate) async fn take(
        &self,
        deadline: std::time::Instant,
    ) -> Option<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::timeout_at(deadline.into(), self.permits.acquire())
            .await
            .ok()?
            .ok()
    }

    /// How many there are.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }
}

/// A loaded connector, ready to run activities.
pub struct Connector {
    path: PathBuf,
    transport: Arc<Transport>,
    /// Baseline code until the optimized code replaces it.
    code: tier_up::CodeCell,
    /// The metadata interface it exports `describe` from.
    interface: &'static str,
    info: ConnectorInfo,
    origins: Vec<Origin>,
    undescribed: Vec<String>,
    /// Who signed it, as the trust policy found when it loaded.
    signer: crate::signing::Signer,
}

/// How to call one activity: its export and reflected types.
#[derive(Clone)]
struct Activity {
    export: ComponentExportIndex,
    params: Vec<(String, Type)>,
    result: Option<Type>,
}

impl Runtime {
    /// The pooled engine's instance slots: how many calls hold one now, and
    /// how many there are; `None` when pooling is off.
    pub fn pool_use(&self) -> Option<(u32, u32)> {
        let slots = self.pooled.as_ref()?.slots.as_ref()?;
        let free = u32::try_from(slots.permits.available_permits()).unwrap_or(u32::MAX);
        Some((slots.count.saturating_sub(free), slots.count))
    }

    /// Sets up the engine and linker, with [`RuntimeSettings::from_env`].
    ///
    /// # Errors
    ///
    /// [`InvokeError::Engine`].
    pub fn new() -> Result<Runtime, InvokeError> {
        Runtime::with_settings(&RuntimeSettings::from_env()?)
    }

    /// [`Runtime::new`] for a process that makes one call and exits: a
    /// component not yet cached is compiled optimized at once (unless
    /// `CONNECTOR_HOST_FIRST_COMPILE` says otherwise), since a background
    /// compile would die with the process and the next run would start over.
    ///
    /// # Errors
    ///
    /// [`InvokeError::Engine`].
    pub fn one_shot() -> Result<Runtime, InvokeError> {
        let mut settings = RuntimeSettings::from_env()?;
        if std::env::var_os("CONNECTOR_HOST_FIRST_COMPILE").is_none() {
            settings.loading.first_compile = Tier::Optimized;
        }
        Runtime::with_settings(&settings)
    }

    /// Sets up the engine and linker as `settings` say.
    ///
    /// # Examples
    ///
    /// ```
    /// use connector_host::{Runtime, RuntimeSettings};
    /// // No instance pool, and a new connection for every request.
    /// let mut settings = RuntimeSettings::default();
    /// settings.pooled_calls = 0;
    /// settings.connections.max_idle_per_origin = 0;
    /// let runtime = Runtime::with_settings(&settings)?;
    /// # Ok::<(), connector_host::InvokeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvokeError::Engine`].
    pub fn with_settings(settings: &RuntimeSettings) -> Result<Runtime, InvokeError> {
        let pooled = match settings.pooled_calls {
            0 => None,
            calls => Some(Arc::new(Backend::new(calls, Tier::Optimized)?)),
        };
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Ok(Runtime {
            pooled,
            on_demand: tier_up::Lazy::default(),
            transport: Arc::new(Transport::with_settings(settings.connections.clone())),
            loading: settings.loading.clone(),
            cache: std::sync::OnceLock::new(),
            compiles: tokio::sync::Semaphore::new(cores),
            baseline: std::sync::OnceLock::new(),
            tier_ups: Arc::new(tier_up::TierUps::new()),
        })
    }

    /// The process's pooled, address-checking outgoing client (webhook
    /// deliveries use it too).
    pub fn transport(&self) -> Arc<Transport> {
        self.transport.clone()
    }

    /// How components are compiled, and the bounds on loading them.
    pub fn loading(&self) -> &LoadSettings {
        &self.loading
    }

    fn on_demand(&self) -> Result<Arc<Backend>, InvokeError> {
        Self::made(&self.on_demand, Tier::Optimized)
    }

    fn on_demand_lazily(&self) -> tier_up::Lazy {
        self.on_demand.clone()
    }

    fn baseline(&self) -> Result<Arc<Backend>, InvokeError> {
        Self::made(&self.baseline, Tier::Baseline)
    }

    /// The on-demand backend of `tier` in `cell`, made if it is not yet.
    fn made(
        cell: &std::sync::OnceLock<Arc<Backend>>,
        tier: Tier,
    ) -> Result<Arc<Backend>, InvokeError> {
        if let Some(backend) = cell.get() {
            return Ok(backend.clone());
        }
        let backend = Arc::new(Backend::new(0, tier)?);
        Ok(cell.get_or_init(|| backend).clone())
    }

    /// Compiles (or loads from cache) a connector and reads its description,
    /// all within [`LoadSettings::timeout`].
    ///
    /// # Errors
    ///
    /// [`InvokeError::Load`] when the bytes are not a component this host can
    /// link, are larger than [`LoadSettings::max_component_bytes`], or take
    /// longer than [`LoadSettings::timeout`]; [`InvokeError::Contract`] when
    /// `describe` is missing or fails, or a described activity has no
    /// matching export.
    pub async fn load(
        &self,
        path: &Path,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Connector, InvokeError> {
        let limit = |what: String, setting| InvokeError::LoadLimit {
            path: path.to_owned(),
            what,
            setting,
        };
        let max = self.loading.max_component_bytes;
        if bytes.len() as u64 > max {
            return Err(limit(
                format!(
                    "it is {} bytes, more than the {} MiB a component may have (CONNECTOR_HOST_MAX_COMPONENT_MIB)",
                    bytes.len(),
                    max >> 20
                ),
                "CONNECTOR_HOST_MAX_COMPONENT_MIB",
            ));
        }
        // Before a byte reaches the compiler (or the artifact cache).
        // The cache's content address, not a pin: BLAKE3 is 3x faster than
        // SHA-256 here.
        let digest = blake3::hash(bytes).to_hex();
        let signer = self.signer(path, bytes, &digest)?;
        let compiled = self.compile(path, bytes, &digest, limits).await?;
        let (began, tier) = (compiled.began, compiled.tier);
        let names = (compiled.artifact.clone(), compiled.optimized.clone());
        let loading = self.load_compiled(path, compiled, limits);
        let mut loaded = tokio::time::timeout_at((began + self.loading.timeout).into(), loading)
            .await
            .unwrap_or_else(|_| {
                Err(limit(
                    format!(
                        "loading (compiling, reflecting on its exports, describe) took longer than {} s, the limit (CONNECTOR_HOST_COMPILE_SECONDS)",
                        self.loading.timeout.as_secs()
                    ),
                    "CONNECTOR_HOST_COMPILE_SECONDS",
                ))
            })?;
        loaded.signer = signer;
        crate::audit::connector_loaded(path, loaded.info(), bytes, &loaded.signer);
        if tier == Tier::Baseline {
            self.tier_up(&loaded, bytes, limits, names);
        }
        Ok(loaded)
    }

    /// Compiles optimized code for `connector` (on baseline code) in the
    /// background, to replace its code when ready.
    fn tier_up(
        &self,
        connector: &Connector,
        bytes: &[u8],
        limits: &Limits,
        (baseline, name): (String, String),
    ) {
        let fits_slots = engine::fits_slots(limits);
        let code = connector.code();
        let interface = connector.interface.to_owned();
        let job = tier_up::TierUp {
            path: connector.path.clone(),
            bytes: bytes.to_vec(),
            name,
            baseline,
            pooled: self.pooled.clone(),
            on_demand: self.on_demand_lazily(),
            cache: self.artifact_cache().cloned(),
            loading: self.loading.clone(),
            tier_ups: self.tier_ups.clone(),
        };
        let waiting = tier_up::Waiting {
            code: Arc::downgrade(&connector.code),
            names: code.activities.keys().cloned().collect(),
            interface,
            fits_slots,
        };
        self.tier_ups.request(job, waiting);
    }

    /// Links, reflects and describes a compiled connector.
    async fn load_compiled(
        &self,
        path: &Path,
        compiled: tier_up::Compiled,
        limits: &Limits,
    ) -> Result<Connector, InvokeError> {
        let load_error = |e: wasmtime::Error| InvokeError::Load {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        };
        let tier_up::Compiled {
            backend,
            component,
            slots,
            artifact,
            tier,
            ..
        } = compiled;
        let pre = backend
            .linker
            .instantiate_pre(&component)
            .map_err(load_error)?;
        // Linear in the exports, but a component may have very many: off the
        // async workers, so other requests go on meanwhile.
        let (engine, reflected) = (backend.engine.clone(), component.clone());
        let exports = tokio::task::spawn_blocking(move || exported_functions(&engine, &reflected))
            .await
            .map_err(|e| load_error(wasmtime::Error::msg(e.to_string())))?;
        let contract = |reason: String| InvokeError::Contract {
            path: path.to_owned(),
            reason,
        };
        let (interface, describe) = METADATA_INTERFACES
            .iter()
            .find_map(|i| Some((*i, exports.get(&(i.to_string(), "describe".to_owned()))?)))
            .ok_or_else(|| {
                contract(format!(
                    "it does not export `describe` from {}",
                    METADATA_INTERFACES.join(" or ")
                ))
            })?;
        let mut connector = Connector {
            path: path.to_owned(),
            transport: self.transport.clone(),
            code: Arc::new(std::sync::RwLock::new(Arc::new(tier_up::Code {
                pre,
                slots,
                activities: BTreeMap::new(),
                tier,
            }))),
            interface,
            info: placeholder_info(),
            origins: Vec::new(),
            undescribed: Vec::new(),
            signer: crate::signing::Signer::NotChecked,
        };
        let mut info = self
            .described(&connector, describe, limits, &artifact)
            .await?;
        if interface.ends_with("@0.1.0") {
            // 0.1.0 has no read-only or destructive flags: assume the worst.
            for activity in &mut info.activities {
                activity.destructive = !activity.retry_safe;
            }
        }
        connector.origins = info
            .egress_origins
            .iter()
            .map(|o| Origin::parse(o).map_err(|e| contract(format!("egress origin \"{o}\": {e}"))))
            .collect::<Result<_, _>>()?;
        // The exports `describe` names, outside the metadata interface:
        // activities, and triggers (kept with them for `call`, but never in
        // `info.activities`: no front end lists or calls one as an activity).
        let exported = |name: &str, what: &str| {
            described_export(&exports, interface, name)
                .ok_or_else(|| contract(format!("{what} {name:?} is described but not exported")))
        };
        let mut activities = BTreeMap::new();
        for activity in &info.activities {
            let export = exported(&activity.name, "activity")?;
            activities.insert(activity.name.clone(), export.clone());
        }
        for trigger in &info.triggers {
            let export = exported(&trigger.name, "trigger")?;
            if let Some(reason) = trigger::misshapen(export) {
                return Err(contract(format!(
                    "trigger {:?} is not shaped as the contract says: {reason}",
                    trigger.name
                )));
            }
            activities.insert(trigger.name.clone(), export.clone());
        }
        // An export nobody described cannot be called (the host knows no
        // scopes or flags for it): say so, it is usually a forgotten entry.
        connector.undescribed = exports
            .keys()
            .filter(|(iface, name)| {
                !iface.starts_with("connector:sdk/")
                    && !info.activities.iter().any(|a| &a.name == name)
                    && !info.triggers.iter().any(|t| &t.name == name)
            })
            .map(|(_, name)| name.clone())
            .collect();
        if !connector.undescribed.is_empty() {
            tracing::warn!(
                connector = info.name,
                undescribed = connector.undescribed.join(", "),
                "exported functions that describe does not list cannot be called"
            );
        }
        connector.info = info;
        let code = connector.code();
        *connector.code.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tier_up::Code {
            pre: code.pre.clone(),
            slots: code.slots.clone(),
            activities,
            tier,
        });
        // A bound on no field would bound nothing: refuse it at load.
        for activity in &connector.info.activities {
            if let Err(reason) = connector.check_constraints(activity) {
                return Err(InvokeError::Contract {
                    path: connector.path.clone(),
                    reason: format!("activity {:?}: {reason}", activity.name),
                });
            }
        }
        Ok(connector)
    }
}

impl Runtime {
    /// What the connector's `describe` returned, escaped: run once per
    /// artifact, then read back from the artifact cache (a record named for
    /// the artifact, MAC'd like it), so a cached load runs no guest code and
    /// parses no `serde_json::Value`. The record keeps the whole escaped
    /// value, not a [`ConnectorInfo`], so every load still parses and checks
    /// it with this host's rules; only the escaping is the recording host's
    /// ([`artifact::described_name`] names its version).
    async fn described(
        &self,
        connector: &Connector,
        describe: &Activity,
        limits: &Limits,
        artifact: &str,
    ) -> Result<ConnectorInfo, InvokeError> {
        let cache = self.artifact_cache();
        let record = artifact::described_name(artifact);
        let recorded = cache.and_then(|c| c.get_small(&record));
        if let Some(info) = recorded.and_then(|bytes| serde_json::from_slice(&bytes).ok()) {
            return connector.checked(info);
        }
        let mut described = connector.call_describe(describe, limits).await?;
        // Everything a connector says about itself reaches terminals, pages
        // and agents: escape it once, here.
        crate::redact::escape_strings(&mut described);
        let recording = described.to_string();
        let info = serde_json::from_value(described).map_err(|e| InvokeError::Contract {
            path: connector.path.clone(),
            reason: format!(
                "`describe` returned an unexpected value: {}",
                crate::redact::parser_message(&e.to_string())
            ),
        })?;
        let info = connector.checked(info)?;
        if let Some(cache) = cache {
            cache.put(&record, recording.as_bytes());
        }
        Ok(info)
    }
}

/// The export `describe` names `name`: any function of that name outside
/// `interface`, the metadata interface.
fn described_export<'e>(
    exports: &'e BTreeMap<(String, String), Activity>,
    interface: &str,
    name: &str,
) -> Option<&'e Activity> {
    exports
        .iter()
        .find(|((iface, n), _)| n == name && iface != interface)
        .map(|(_, export)| export)
}

/// Every exported function, top level or inside an exported instance, keyed
/// by (instance name or "", function name).
fn exported_functions(
    engine: &Engine,
    component: &Component,
) -> BTreeMap<(String, String), Activity> {
    let mut found = BTreeMap::new();
    let mut add = |iface: &str, name: &str, func: &wasmtime::component::types::ComponentFunc| {
        let parent = (!iface.is_empty())
            .then(|| component.get_export_index(None, iface))
            .flatten();
        if let Some(export) = component.get_export_index(parent.as_ref(), name) {
            let params = func.params().map(|(n, t)| (n.to_owned(), t)).collect();
            let result = func.results().next();
            found.insert(
                (iface.to_owned(), name.to_owned()),
                Activity {
                    export,
                    params,
                    result,
                },
            );
        }
    };
    for (name, item) in component.component_type().exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(f) => add("", name, &f),
            ComponentItem::ComponentInstance(instance) => {
                for (fname, fitem) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = fitem.ty {
                        add(name, fname, &f);
                    }
                }
            }
            _ => {}
        }
    }
    found
}

fn placeholder_info() -> ConnectorInfo {
    ConnectorInfo {
        name: String::new(),
        version: String::new(),
        description: String::new(),
        auth: AuthScheme::None,
        fields: Vec::new(),
        egress_origins: Vec::new(),
        activities: Vec::new(),
        rate_limits: Vec::new(),
        triggers: Vec::new(),
        icon: None,
        extra_keys: Vec::new(),
    }
}

impl Connector {
    /// What the connector says about itself.
    pub fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    /// The connector file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Exported functions `describe` does not list (they cannot be called).
    pub fn undescribed(&self) -> &[String] {
        &self.undescribed
    }

    /// The origins the connector declared.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// Asks the component to describe itself.
    /// `info` if its names are unique and valid.
    fn checked(&self, info: ConnectorInfo) -> Result<ConnectorInfo, InvokeError> {
        info.check_names().map_err(|reason| InvokeError::Contract {
            path: self.path.clone(),
            reason,
        })?;
        Ok(info)
    }

    /// What `describe` said, with each activity's input, output and error
    /// JSON Schemas (what `describe --json`, `serve` and MCP show).
    pub fn description(&self) -> Value {
        let mut info = serde_json::to_value(&self.info).expect("plain data serializes");
        let activities: Vec<Value> = self
            .info
            .activities
            .iter()
            .map(|a| {
                let mut value = serde_json::to_value(a).expect("plain data serializes");
                value["input_schema"] = self.input_schema(&a.name).unwrap_or(Value::Null);
                value["output_schema"] = self.output_schema(&a.name).unwrap_or(Value::Null);
                value["error_schema"] = self.error_schema(&a.name).unwrap_or(Value::Null);
                value
            })
            .collect();
        info["activities"] = Value::Array(activities);
        let triggers: Vec<Value> = self
            .info
            .triggers
            .iter()
            .map(|t| {
                let mut value = serde_json::to_value(t).expect("plain data serializes");
                value["settings_schema"] = self.settings_schema(&t.name).unwrap_or(Value::Null);
                value["event_schema"] = self.event_schema(&t.name).unwrap_or(Value::Null);
                value
            })
            .collect();
        info["triggers"] = Value::Array(triggers);
        info["signature"] = serde_json::to_value(&self.signer).expect("plain data serializes");
        info
    }

    /// Who signed it, as the trust policy found when it loaded.
    pub fn signer(&self) -> &crate::signing::Signer {
        &self.signer
    }

    /// JSON Schema of an activity's input with the bounds its connector
    /// states, optional fields as plain types (`null` is still taken), or
    /// `None` for an unknown activity.
    pub fn input_schema(&self, activity: &str) -> Option<Value> {
        self.constrained_schema(activity)?.ok()
    }

    /// Whether every bound `activity` states names a field of its input:
    /// the load-time half of [`Connector::constrained_schema`], on the
    /// types rather than the schema.
    fn check_constraints(&self, activity: &ActivityInfo) -> Result<(), String> {
        if activity.constraints.is_empty() {
            return Ok(());
        }
        let code = self.code();
        let Some(exported) = code.activities.get(&activity.name) else {
            return Ok(());
        };
        let verdict = constraints::check_paths(&exported.params, &activity.constraints);
        // Every connector a debug build loads (the tests) checks the walk
        // against the schema it stands for.
        debug_assert_eq!(
            verdict.is_ok(),
            constraints::apply(
                &mut schema::of_params(&exported.params),
                &activity.constraints
            )
            .is_ok(),
            "constraints::check_paths and apply disagree on {}",
            activity.name
        );
        verdict
    }

    fn constrained_schema(&self, activity: &str) -> Option<Result<Value, String>> {
        let mut schema = schema::of_params(&self.code().activities.get(activity)?.params);
        let stated = self.info.activities.iter().find(|a| a.name == activity);
        let outcome = constraints::apply(&mut schema, stated.map_or(&[][..], |a| &a.constraints));
        constraints::plain_optionals(&mut schema);
        Some(outcome.map(|()| schema))
    }

    /// JSON Schema of an activity's success value (the `ok` of its `result`).
    pub fn output_schema(&self, activity: &str) -> Option<Value> {
        let code = self.code();
        let activity = code.activities.get(activity)?;
        Some(match &activity.result {
            Some(Type::Result(r)) => r.ok().map_or(Value::Null, |t| schema::of_type(&t)),
            Some(t) => schema::of_type(t),
            None => Value::Null,
        })
    }

    /// JSON Schema of an activity's error value (the `err` of its `result`).
    pub fn error_schema(&self, activity: &str) -> Option<Value> {
        match &self.code().activities.get(activity)?.result {
            Some(Type::Result(r)) => r.err().map(|t| schema::of_type(&t)),
            _ => None,
        }
    }
}
