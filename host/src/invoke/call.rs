//! One activity call: input checked against the reflected types, a fresh
//! store with its limits, the guest run under the deadline, and the result
//! converted to JSON inside that same deadline and under the output cap.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use wasmtime::component::{ResourceTableError, Type, Val};
use wasmtime::{Store, Trap};

use super::limits::{Limits, Refusal};
use super::output::{self, Budget, Stop};
use super::store::CallState;
use super::tier_up::Code;
use super::{constraints, engine, json, Activity, Connector, InputError, InvokeError};
use crate::egress::{
    bound_origins, Credential, EgressEvent, EgressPolicy, Origin, Progress, RateLimiter, SendGate,
    TlsSettings,
};

/// What a call may reach and with which credential.
#[derive(Debug, Default)]
pub struct CallOptions {
    /// Deadline and caps.
    pub limits: Limits,
    /// Endpoint overrides from the connection.
    pub overrides: Vec<(Origin, Origin)>,
    /// The credential added to requests to the origins it is bound to.
    pub credential: Option<Credential>,
    /// The connection's narrowing of those origins (`[token] origins`).
    pub token_origins: Option<Vec<Origin>>,
    /// The connection's rate limiter, shared by its calls.
    pub rate: Option<Arc<RateLimiter>>,
    /// Calendar quotas every request takes one from.
    pub quotas: Vec<Arc<crate::quota::Quota>>,
    /// The connection's TLS trust (`[tls]`; the system's store when empty).
    pub tls: TlsSettings,
    /// Told of each request the call sends.
    pub progress: Option<Progress>,
    /// Passed before each request goes out (see [`SendGate`]).
    pub gate: Option<SendGate>,
    /// A 429 goes back to the guest at once: the caller retries it (see
    /// [`EgressPolicy::caller_retries_429`]).
    pub caller_retries_429: bool,
    /// Only `GET` and `HEAD` may go out (a trigger poll).
    pub read_only: bool,
}

/// What the guest returned: its success value or its error value.
pub(crate) enum Returned {
    Ok(Value),
    Err(Value),
}

impl Connector {
    /// Runs `activity` with `input` and returns its success value as JSON.
    ///
    /// # Errors
    ///
    /// [`InvokeError::UnknownActivity`], [`InvokeError::Input`] (checked before
    /// the guest runs), [`InvokeError::Binding`], [`InvokeError::Deadline`],
    /// [`InvokeError::Memory`], [`InvokeError::Limit`], [`InvokeError::Trap`],
    /// or [`InvokeError::Activity`] carrying the activity's own error value
    /// and what the egress hook refused or noticed.
    pub async fn call(
        &self,
        activity: &str,
        input: &Value,
        options: &CallOptions,
    ) -> Result<Value, InvokeError> {
        let code = self.code();
        let target = code.activities.get(activity).ok_or_else(|| {
            let names: Vec<&str> = code.activities.keys().map(String::as_str).collect();
            InvokeError::UnknownActivity {
                connector: self.info.name.clone(),
                name: activity.to_owned(),
                hint: crate::suggest::hint(activity, &names, "its activities are"),
            }
        })?;
        // The connector's stated bounds, before anything of it runs.
        let stated = self.info.activities.iter().find(|a| a.name == activity);
        constraints::check(input, stated.map_or(&[][..], |a| &a.constraints)).map_err(|error| {
            InvokeError::Input {
                activity: activity.to_owned(),
                error,
            }
        })?;
        let args = arguments(&target.params, input).map_err(|error| InvokeError::Input {
            activity: activity.to_owned(),
            error,
        })?;
        let bound = bound_origins(
            &self.origins,
            &options.overrides,
            options.token_origins.as_deref(),
        )
        .map_err(InvokeError::Binding)?;
        let limits = &options.limits;
        let policy = Arc::new(EgressPolicy {
            allowed: self.origins.clone(),
            overrides: options.overrides.clone(),
            credential: options.credential.clone(),
            bound,
            max_response_bytes: limits.max_response_bytes,
            max_requests: limits.max_requests,
            max_concurrent: limits.max_concurrent_requests,
            deadline: Instant::now() + limits.timeout,
            rate: options.rate.clone(),
            quotas: options.quotas.clone(),
            tls: options.tls.clone(),
            progress: options.progress.clone(),
            gate: options.gate.clone(),
            caller_retries_429: options.caller_retries_429,
            read_only: options.read_only,
        });
        let events = Arc::new(Mutex::new(Vec::new()));
        let returned = self
            .run(
                &code,
                activity,
                target,
                &args,
                policy,
                events.clone(),
                limits,
            )
            .await;
        let events = std::mem::take(&mut *events.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline_cut = events
            .iter()
            .any(|e| matches!(e, EgressEvent::DeadlineReached { .. }));
        match returned {
            // The guest only reports what the deadline did to its request.
            Ok(Returned::Err(_)) if deadline_cut => Err(InvokeError::Deadline {
                activity: activity.to_owned(),
                timeout: limits.timeout,
            }),
            Ok(Returned::Ok(value)) => Ok(value),
            Ok(Returned::Err(error)) => Err(InvokeError::Activity {
                activity: activity.to_owned(),
                error,
                events,
            }),
            Err(error) => Err(error),
        }
    }

    /// Calls `describe` under `limits`, with no egress at all.
    pub(super) async fn call_describe(
        &self,
        describe: &Activity,
        limits: &Limits,
    ) -> Result<Value, InvokeError> {
        let policy = Arc::new(EgressPolicy {
            allowed: Vec::new(),
            overrides: Vec::new(),
            credential: None,
            bound: Vec::new(),
            max_response_bytes: 0,
            max_requests: 0,
            max_concurrent: 0,
            deadline: Instant::now() + limits.timeout,
            rate: None,
            quotas: Vec::new(),
            tls: TlsSettings::default(),
            progress: None,
            gate: None,
            caller_retries_429: false,
            read_only: true,
        });
        match self
            .run(
                &self.code(),
                "describe",
                describe,
                &[],
                policy,
                Arc::default(),
                limits,
            )
            .await?
        {
            Returned::Ok(value) | Returned::Err(value) => Ok(value),
        }
    }

    /// Instantiates in a fresh store and calls, then converts the result, all
    /// under the deadline and caps.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        code: &Code,
        name: &str,
        activity: &Activity,
        args: &[Val],
        policy: Arc<EgressPolicy>,
        events: Arc<Mutex<Vec<EgressEvent>>>,
        limits: &Limits,
    ) -> Result<Returned, InvokeError> {
        let deadline = Instant::now() + limits.timeout;
        // Taken before the store exists and handed back once it is dropped.
        let slot = match &code.slots {
            Some(slots) => Some(
                slots
                    .take(deadline)
                    .await
                    .ok_or_else(|| InvokeError::Busy {
                        activity: name.to_owned(),
                        what: format!(
                            "all {} instance slots stayed taken until the call's {} s deadline",
                            slots.count(),
                            limits.timeout.as_secs_f64()
                        ),
                    })?,
            ),
            None => None,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let state = CallState::new(policy, self.transport.clone(), events, limits);
        let mut store = Store::new(code.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(limits.hostcall_fuel());
        let ticks = left.as_millis() / engine::EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        let mut results = vec![Val::Bool(false); usize::from(activity.result.is_some())];
        let call = async {
            let instance = code.pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, activity.export)
                .ok_or_else(|| wasmtime::Error::msg("export vanished after load"))?;
            func.call_async(&mut store, args, &mut results).await
        };
        // The epoch deadline stops a guest that computes forever; this timeout
        // stops one that waits forever on the host (a slow server, say).
        let outcome = tokio::time::timeout(left, call).await;
        let deadline_error = || InvokeError::Deadline {
            activity: name.to_owned(),
            timeout: limits.timeout,
        };
        match outcome {
            Err(_) => return Err(deadline_error()),
            Ok(Err(e)) => return Err(failure(name, &store, &e, limits)),
            Ok(Ok(())) => {}
        }
        let (ok, value) = match results.pop() {
            Some(Val::Result(Ok(v))) => (true, v.map(|v| *v)),
            Some(Val::Result(Err(v))) => (false, v.map(|v| *v)),
            other => (true, other),
        };
        drop(store);
        drop(slot);
        let mut budget = Budget::new(limits.max_output_bytes, deadline);
        let json = match value {
            Some(v) => output::to_json(v, &mut budget).map_err(|stop| match stop {
                Stop::Deadline => deadline_error(),
                Stop::TooLarge => output_too_large(name, limits),
            })?,
            None => Value::Null,
        };
        Ok(if ok {
            Returned::Ok(json)
        } else {
            Returned::Err(json)
        })
    }
}

/// What a failed instantiation or call means: a limit the limiter or the
/// store refused, the deadline, or a crash inside the connector.
fn failure(
    name: &str,
    store: &Store<CallState>,
    error: &wasmtime::Error,
    limits: &Limits,
) -> InvokeError {
    let activity = name.to_owned();
    let limit = |what: String, setting: &'static str| InvokeError::Limit {
        activity: activity.clone(),
        what,
        setting,
    };
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return InvokeError::Deadline {
            activity,
            timeout: limits.timeout,
        };
    }
    match store.data().limiter.refused {
        Some(Refusal::Memory) => {
            return InvokeError::Memory {
                activity,
                limit_mib: limits.memory_bytes >> 20,
            }
        }
        Some(Refusal::Memories) => {
            return limit(
                format!(
                    "it created more than {} linear memories",
                    limits.max_memories
                ),
                "max_memories",
            )
        }
        Some(Refusal::Tables) => {
            return limit(
                format!("it created more than {} tables", limits.max_tables),
                "max_tables",
            )
        }
        Some(Refusal::TableElements) => {
            return limit(
                format!(
                    "its tables wanted more than {} elements",
                    limits.max_table_elements
                ),
                "max_table_elements",
            )
        }
        None => {}
    }
    let text = format!("{error:#}");
    if error
        .chain()
        .any(|c| c.downcast_ref::<ResourceTableError>().is_some())
        || text.contains("resource table has no free keys")
    {
        return limit(
            format!(
                "it held more than {} host resources at once (header sets, bodies, streams)",
                limits.max_resources
            ),
            "max_resources",
        );
    }
    if text.contains("size of fields exceeds limit") {
        return limit(
            format!(
                "a header set grew past {} KiB",
                limits.max_header_bytes >> 10
            ),
            "max_header_kib",
        );
    }
    // wasmtime's own counts ("resource limit exceeded: memory count too high at 5").
    for (what, max, setting) in [
        ("instance", limits.max_instances, "max_instances"),
        ("memory", limits.max_memories, "max_memories"),
        ("table", limits.max_tables, "max_tables"),
    ] {
        if text.contains(&format!("{what} count too high")) {
            let plural = if what == "memory" {
                "linear memories".to_owned()
            } else {
                format!("{what}s")
            };
            return limit(format!("it created more than {max} {plural}"), setting);
        }
    }
    // The pooling allocator's "maximum concurrent limit of N for memories reached".
    if text.contains("maximum concurrent limit of") {
        return InvokeError::Busy {
            activity,
            what: error.root_cause().to_string(),
        };
    }
    if text.contains("fuel allocated for hostcalls has been exhausted") {
        return output_too_large(name, limits);
    }
    // The trap itself, not wasmtime's backtrace: that names only the
    // guest's own functions, which help nobody running it.
    tracing::debug!(activity = name, "trap: {text}");
    InvokeError::Trap {
        activity,
        message: error.root_cause().to_string(),
        guest_stderr: store.data().guest_stderr(),
    }
}

fn output_too_large(name: &str, limits: &Limits) -> InvokeError {
    InvokeError::Limit {
        activity: name.to_owned(),
        what: format!(
            "it returned (or handed the host) more data than the output limit of {} MiB allows",
            limits.max_output_bytes >> 20
        ),
        setting: "max_output_mib",
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
