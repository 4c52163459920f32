//! Loading a connector and running one activity.
//!
//! A [`Runtime`] holds the engine and linker; [`Runtime::load`] compiles (or
//! loads from cache) a component, asks it to `describe` itself and finds every
//! described activity among its exports by reflection. [`Connector::call`]
//! then runs one activity in a fresh store with a deadline, a memory cap and
//! the egress policy of [`crate::egress`].

mod engine;
mod error;
mod info;
pub mod json;
pub mod schema;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker, Type, Val};
use wasmtime::{Engine, Store, Trap};

pub use error::{error_case, InvokeError};
pub use info::{
    ActivityInfo, ApiKey, AuthScheme, BasicAuth, ConnectionField, ConnectorInfo, KeyPlacement,
    OAuth2, RateLimit,
};
pub use json::InputError;

use crate::egress::{EgressEvent, EgressPolicy, Origin};
use store::CallState;

/// The interfaces a connector exports its metadata from, newest first: a
/// component built against an older `connector:sdk` still loads.
const METADATA_INTERFACES: [&str; 2] = [
    "connector:sdk/metadata@0.2.0",
    "connector:sdk/metadata@0.1.0",
];

/// Per-call limits (DESIGN §5 invariant 5).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock deadline for the whole call, host waits included.
    pub timeout: Duration,
    /// Cap on the guest's linear memory.
    pub memory_bytes: u64,
    /// Cap on each response body handed to the guest.
    pub max_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            max_response_bytes: 16 << 20,
        }
    }
}

/// What a call may reach and with which credential.
#[derive(Debug, Default)]
pub struct CallOptions {
    /// Deadline and caps.
    pub limits: Limits,
    /// Endpoint overrides from the connection.
    pub overrides: Vec<(Origin, Origin)>,
    /// Access token injected into allowed requests.
    pub bearer: Option<SecretString>,
}

/// The engine and linker every connector of this process shares.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
}

/// A loaded connector, ready to run activities.
pub struct Connector {
    path: PathBuf,
    pre: InstancePre<CallState>,
    info: ConnectorInfo,
    origins: Vec<Origin>,
    activities: BTreeMap<String, Activity>,
}

/// How to call one activity: its export and reflected types.
#[derive(Clone)]
struct Activity {
    export: ComponentExportIndex,
    params: Vec<(String, Type)>,
    result: Option<Type>,
}

impl Runtime {
    /// Sets up the engine and linker.
    ///
    /// # Errors
    ///
    /// [`InvokeError::Engine`].
    pub fn new() -> Result<Runtime, InvokeError> {
        let engine = engine::engine().map_err(|e| InvokeError::Engine(format!("{e:#}")))?;
        let linker = engine::linker(&engine).map_err(|e| InvokeError::Engine(format!("{e:#}")))?;
        Ok(Runtime { engine, linker })
    }

    /// Compiles (or loads from cache) a connector and reads its description.
    ///
    /// # Errors
    ///
    /// [`InvokeError::Load`] when the bytes are not a component this host can
    /// link, [`InvokeError::Contract`] when `describe` is missing or fails, or
    /// a described activity has no matching export.
    pub async fn load(&self, path: &Path, bytes: &[u8]) -> Result<Connector, InvokeError> {
        let load_error = |e: wasmtime::Error| InvokeError::Load {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        };
        let component = engine::component(&self.engine, bytes).map_err(load_error)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(load_error)?;
        let exports = exported_functions(&self.engine, &component);
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
            pre,
            info: placeholder_info(),
            origins: Vec::new(),
            activities: BTreeMap::new(),
        };
        let mut info = connector.call_describe(describe).await?;
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
        for activity in &info.activities {
            let found = exports
                .iter()
                .find(|((iface, name), _)| name == &activity.name && iface != interface);
            let (_, export) = found.ok_or_else(|| {
                contract(format!(
                    "activity {:?} is described but not exported",
                    activity.name
                ))
            })?;
            connector
                .activities
                .insert(activity.name.clone(), export.clone());
        }
        connector.info = info;
        Ok(connector)
    }
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

    /// The origins the connector declared.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// JSON Schema of an activity's input, or `None` for an unknown activity.
    pub fn input_schema(&self, activity: &str) -> Option<Value> {
        self.activities
            .get(activity)
            .map(|a| schema::of_params(&a.params))
    }

    /// JSON Schema of an activity's success value (the `ok` of its `result`).
    pub fn output_schema(&self, activity: &str) -> Option<Value> {
        let activity = self.activities.get(activity)?;
        Some(match &activity.result {
            Some(Type::Result(r)) => r.ok().map_or(Value::Null, |t| schema::of_type(&t)),
            Some(t) => schema::of_type(t),
            None => Value::Null,
        })
    }

    /// JSON Schema of an activity's error value (the `err` of its `result`).
    pub fn error_schema(&self, activity: &str) -> Option<Value> {
        match &self.activities.get(activity)?.result {
            Some(Type::Result(r)) => r.err().map(|t| schema::of_type(&t)),
            _ => None,
        }
    }

    /// Runs `activity` with `input` and returns its success value as JSON.
    ///
    /// # Errors
    ///
    /// [`InvokeError::UnknownActivity`], [`InvokeError::Input`] (checked before
    /// the guest runs), [`InvokeError::Deadline`], [`InvokeError::Memory`],
    /// [`InvokeError::Trap`], or [`InvokeError::Activity`] carrying the
    /// activity's own error value.
    pub async fn call(
        &self,
        activity: &str,
        input: &Value,
        options: &CallOptions,
    ) -> Result<Value, InvokeError> {
        let target = self
            .activities
            .get(activity)
            .ok_or_else(|| InvokeError::UnknownActivity {
                connector: self.info.name.clone(),
                name: activity.to_owned(),
                available: self
                    .activities
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let args = arguments(&target.params, input).map_err(|error| InvokeError::Input {
            activity: activity.to_owned(),
            error,
        })?;
        let policy = Arc::new(EgressPolicy {
            allowed: self.origins.clone(),
            overrides: options.overrides.clone(),
            bearer: options.bearer.clone(),
            max_response_bytes: options.limits.max_response_bytes,
        });
        let events = Arc::new(Mutex::new(Vec::new()));
        let value = self
            .run(
                activity,
                target,
                &args,
                policy,
                events.clone(),
                &options.limits,
            )
            .await?;
        match value {
            Val::Result(Err(error)) => Err(InvokeError::Activity {
                activity: activity.to_owned(),
                error: error.as_deref().map_or(Value::Null, json::from_val),
                events: std::mem::take(&mut *events.lock().unwrap_or_else(|e| e.into_inner())),
            }),
            Val::Result(Ok(ok)) => Ok(ok.as_deref().map_or(Value::Null, json::from_val)),
            other => Ok(json::from_val(&other)),
        }
    }

    async fn call_describe(&self, describe: &Activity) -> Result<ConnectorInfo, InvokeError> {
        let policy = Arc::new(EgressPolicy {
            allowed: Vec::new(),
            overrides: Vec::new(),
            bearer: None,
            max_response_bytes: 0,
        });
        let value = self
            .run(
                "describe",
                describe,
                &[],
                policy,
                Arc::default(),
                &Limits::default(),
            )
            .await?;
        // Everything a connector says about itself reaches terminals, pages
        // and agents: escape it once, here.
        let mut described = json::from_val(&value);
        crate::redact::escape_strings(&mut described);
        serde_json::from_value(described).map_err(|e| InvokeError::Contract {
            path: self.path.clone(),
            reason: format!(
                "`describe` returned an unexpected value: {}",
                crate::redact::parser_message(&e.to_string())
            ),
        })
    }

    /// Instantiates in a fresh store and calls, under the deadline and caps.
    async fn run(
        &self,
        name: &str,
        activity: &Activity,
        args: &[Val],
        policy: Arc<EgressPolicy>,
        events: Arc<Mutex<Vec<EgressEvent>>>,
        limits: &Limits,
    ) -> Result<Val, InvokeError> {
        let mut store = Store::new(
            self.pre.engine(),
            CallState::new(policy, events, limits.memory_bytes),
        );
        store.limiter(|state| &mut state.limiter);
        let ticks = limits.timeout.as_millis() / engine::EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        let mut results = vec![Val::Bool(false); usize::from(activity.result.is_some())];
        let call = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, activity.export)
                .ok_or_else(|| wasmtime::Error::msg("export vanished after load"))?;
            func.call_async(&mut store, args, &mut results).await
        };
        // The epoch deadline stops a guest that computes forever; this timeout
        // stops one that waits forever on the host (a slow server, say).
        let outcome = tokio::time::timeout(limits.timeout, call).await;
        let deadline = || InvokeError::Deadline {
            activity: name.to_owned(),
            timeout: limits.timeout,
        };
        match outcome {
            Err(_) => Err(deadline()),
            Ok(Err(e)) if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => Err(deadline()),
            Ok(Err(_)) if store.data().limiter.refused => Err(InvokeError::Memory {
                activity: name.to_owned(),
                limit_mib: limits.memory_bytes >> 20,
            }),
            Ok(Err(e)) => Err(InvokeError::Trap {
                activity: name.to_owned(),
                message: format!("{e:#}"),
                guest_stderr: store.data().guest_stderr(),
            }),
            Ok(Ok(())) => Ok(results.pop().unwrap_or(Val::Tuple(Vec::new()))),
        }
    }
}

/// Maps the JSON input onto the function's parameters: the whole input is
/// the single parameter; several parameters are keys of an object; none
/// takes `null` or `{}`.
fn arguments(params: &[(String, Type)], input: &Value) -> Result<Vec<Val>, InputError> {
    match params {
        [] if input.is_null() || input.as_object().is_some_and(|m| m.is_empty()) => Ok(Vec::new()),
        [] => Err(InputError {
            path: "input".into(),
            problem: "this activity takes no input; pass {} or nothing".into(),
        }),
        [(_, ty)] => Ok(vec![json::to_val(ty, input, "input")?]),
        many => {
            let empty = serde_json::Map::new();
            let map = input.as_object().unwrap_or(&empty);
            many.iter()
                .map(|(name, ty)| {
                    let v = map.get(&json::json_name(name)).unwrap_or(&Value::Null);
                    json::to_val(ty, v, &format!("input.{}", json::json_name(name)))
                })
                .collect()
        }
    }
}
