//! What can go wrong loading a connector or running an activity, and how
//! an activity's own error value is put into one sentence for a person.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::json::InputError;
use crate::egress::EgressEvent;
use crate::redact::Untrusted;

/// Why loading a connector or running an activity failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The engine could not be set up.
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
    /// The trust policy's settings are wrong (a key file that cannot be
    /// read or that others can write).
    #[error("connector trust policy: {0}")]
    TrustPolicy(String),
    /// The file is not a loadable component.
    #[error("cannot load connector {path}: {}", Untrusted(.reason))]
    Load {
        /// The connector file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The trust policy refuses the component (unsigned, altered, or signed
    /// by no trusted key); nothing of it was compiled.
    #[error("refused connector {path}: {reason}")]
    Untrusted {
        /// The connector file.
        path: PathBuf,
        /// Why, with a hint (the policy's words, no text of the file).
        reason: String,
    },
    /// Loading the component passed a bound: its size, the time to compile
    /// and describe it, or the compiler's memory.
    #[error("cannot load connector {path}: {what}\nhint: a component is rarely this large or slow to compile (a compile bomb?); if you trust it, raise {setting}")]
    LoadLimit {
        /// The connector file.
        path: PathBuf,
        /// What passed which bound.
        what: String,
        /// The environment variable that sets it.
        setting: &'static str,
    },
    /// The component loads but breaks the connector contract.
    #[error("{path} is not a usable connector: {}", Untrusted(.reason))]
    Contract {
        /// The connector file.
        path: PathBuf,
        /// Which part of the contract is broken.
        reason: String,
    },
    /// No activity by that name.
    #[error("connector {connector:?} has no activity {name:?}\nhint: {hint}")]
    UnknownActivity {
        /// The connector's name.
        connector: String,
        /// The name asked for.
        name: String,
        /// The closest name that exists, and every one ([`crate::suggest::hint`]).
        hint: String,
    },
    /// No trigger by that name.
    #[error("connector {connector:?} has no trigger {name:?}\nhint: {hint}")]
    UnknownTrigger {
        /// The connector's name.
        connector: String,
        /// The name asked for.
        name: String,
        /// The closest name that exists, and every one ([`crate::suggest::hint`]).
        hint: String,
    },
    /// The JSON input does not fit the activity's input type.
    #[error("invalid input for activity {activity:?}: {error}\nhint: `connector-host describe` shows the input schema")]
    Input {
        /// The activity.
        activity: String,
        /// Where and what.
        error: InputError,
    },
    /// The call ran past its deadline.
    #[error("activity {activity:?} was stopped after its deadline of {timeout:?}\nhint: raise [limits] timeout_seconds in the connection file if the work is legitimately slow")]
    Deadline {
        /// The activity.
        activity: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The guest tried to grow its memories, together, past the cap.
    #[error("activity {activity:?} was stopped: it needed more than its memory limit of {limit_mib} MiB (all its linear memories together)\nhint: raise [limits] memory_mib in the connection file")]
    Memory {
        /// The activity.
        activity: String,
        /// The cap in MiB.
        limit_mib: u64,
    },
    /// Another per-call limit stopped the call.
    #[error("activity {activity:?} was stopped: {what}\nhint: raise [limits] {setting} in the connection file if the work is legitimate")]
    Limit {
        /// The activity.
        activity: String,
        /// What passed which limit.
        what: String,
        /// The `[limits]` key that sets it.
        setting: &'static str,
    },
    /// Every pooled instance slot is taken by calls running at once.
    #[error("activity {activity:?} could not start: this process already runs as many calls at once as its instance pool holds ({what})\nhint: retry later, give calls a longer timeout_seconds, or raise CONNECTOR_HOST_POOLED_CALLS (default {})", super::DEFAULT_POOLED_CALLS)]
    Busy {
        /// The activity.
        activity: String,
        /// Which slots ran out (wasmtime's words).
        what: String,
    },
    /// The connection binds the credential to origins it may not go to, or
    /// redirects an origin the connector never reaches (the sentence says
    /// which, with its hint).
    #[error("{0}")]
    Binding(String),
    /// The guest trapped (a panic, usually).
    #[error("activity {activity:?} crashed inside the connector: {}{}", Untrusted(.message), guest_output(.guest_stderr))]
    Trap {
        /// The activity.
        activity: String,
        /// The trap.
        message: String,
        /// What the guest printed to stderr.
        guest_stderr: String,
    },
    /// The activity ran and returned its error variant.
    #[error("{}", render_activity_error(.activity, .error, .events))]
    Activity {
        /// The activity.
        activity: String,
        /// The error value as JSON, e.g. `{"conflict": {"status": 409, …}}`.
        error: Value,
        /// What the egress hook refused or cut short during the call.
        events: Vec<EgressEvent>,
    },
}

fn guest_output(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("\nconnector output: {}", Untrusted(stderr))
    }
}

/// The error case name, e.g. `conflict`, when `error` follows the sdk's `activity-error`.
pub fn error_case(error: &Value) -> Option<&str> {
    match error {
        Value::String(case) => Some(case),
        Value::Object(map) if map.len() == 1 => map.keys().next().map(String::as_str),
        _ => None,
    }
}

fn render_activity_error(activity: &str, error: &Value, events: &[EgressEvent]) -> String {
    let case = error_case(error).unwrap_or("error");
    let detail = match error.as_object().and_then(|m| m.values().next()) {
        Some(Value::Object(d)) => {
            let status = d
                .get("status")
                .and_then(Value::as_u64)
                .map(|s| format!("HTTP {s}"));
            let key = d.get("key").and_then(Value::as_str).map(str::to_owned);
            let head = [status, key]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let message = d.get("message").and_then(Value::as_str).unwrap_or_default();
            if head.is_empty() {
                format!(": {}", Untrusted(message))
            } else {
                format!(" ({}): {}", Untrusted(&head), Untrusted(message))
            }
        }
        Some(Value::String(s)) => format!(": {}", Untrusted(s)),
        _ => format!(": {}", Untrusted(&error.to_string())),
    };
    let mut text = format!(
        "activity {activity:?} failed with {}{detail}",
        case.replace('_', " ")
    );
    for event in events {
        text.push('\n');
        text.push_str(&event.to_string());
    }
    let refused = events
        .iter()
        .any(|e| matches!(e, EgressEvent::CredentialRefused { .. }));
    text.push_str(match case {
        "unauthorized" if !refused => "\nhint: the connector reports unauthorized, but the API refused none of its requests; the credential was not renewed",
        "unauthorized" => "\nhint: the access token was refused; check [token] access_token in the connection file",
        "forbidden" => "\nhint: the connection lacks a scope or privilege this activity needs (see `connector-host describe`)",
        "rate_limited" => "\nhint: the API's rate limit was reached; wait a second and retry",
        _ => "",
    });
    text
}
