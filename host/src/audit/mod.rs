//! The audit trail: one JSON line per security-relevant event (a secret
//! read, a token refreshed, a connection changed, an activity run, an egress
//! refused, a limit hit, a connector loaded), written to a file the operator
//! chooses (`--audit-log FILE`, or `-` for standard output).
//!
//! Each line says when (`time`), which process (`process`: pid, host name,
//! front end), who (`actor`, set by the front end for the work it starts),
//! what (`kind`) and the event's `fields`. It never carries a secret value, a
//! token, a client secret or an activity's input (inputs hold personal data):
//! names, paths, versions, digests and result classes only.
//!
//! Tamper evidence ([`chain`]): every line names its process's chain
//! (`chain`), its place in it (`seq`) and the SHA-256 of the chain's previous
//! line (`prev`), so several processes may append to one file and each chain
//! stays verifiable; with a key (`--audit-key FILE`) every line also carries
//! a keyed MAC over itself. [`verify`] checks a set of files.
//!
//! Where the events come from: each place in the pipeline calls one function
//! of [`events`]; the actor comes from the task-local scope a front end opens
//! with [`scope`] (or the process's default actor, set at [`init`]).
//! Nothing is written, and the calls cost one atomic load, until [`init`].

pub mod chain;
pub mod events;
mod sink;
pub mod verify;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use serde_json::{Map, Value};

pub use events::*;

/// Who an event is for: the party whose request started the work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The tenant the work belongs to, when `serve` knows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Which kind of party, and its non-secret id.
    #[serde(flatten)]
    pub kind: ActorKind,
}

/// The kinds of actor. Ids are never secrets: an API token is named by the
/// first 8 hex digits of its SHA-256, never by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActorKind {
    /// An API client of `serve`, by its token's id.
    ApiToken {
        /// The token's id.
        id: String,
    },
    /// A platform's end user (connect links), by the platform's id for them.
    EndUser {
        /// The end user's id.
        id: String,
    },
    /// A person signed in on `serve`'s page, by the token the page session was made from.
    Page {
        /// The token's id.
        token: String,
    },
    /// An MCP client, by the name it gave, and the API token it came with over HTTP.
    McpClient {
        /// The client's name (`clientInfo.name`).
        name: String,
        /// The API token's id, for `/mcp` on `serve`.
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// A person at the command line, by operating-system user.
    Cli {
        /// The OS user.
        user: String,
    },
    /// A Temporal worker, by its identity.
    Worker {
        /// The worker identity.
        identity: String,
    },
    /// The process itself (loading connectors at start, say).
    Process,
}

impl Actor {
    /// An actor without a tenant.
    pub fn new(kind: ActorKind) -> Actor {
        Actor { tenant: None, kind }
    }

    /// The same party on `serve`'s page: a token's holder becomes a page
    /// session made from that token.
    #[must_use]
    pub fn on_page(self) -> Actor {
        let kind = match self.kind {
            ActorKind::ApiToken { id } => ActorKind::Page { token: id },
            other => other,
        };
        Actor { kind, ..self }
    }

    /// The CLI's actor: the operating-system user running it.
    pub fn cli() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| format!("uid {}", rustix::process::getuid().as_raw()));
        Actor::new(ActorKind::Cli { user })
    }
}

/// A non-secret id for a bearer token: the first 8 hex digits of its SHA-256
/// (enough to tell tokens apart in a trail, useless to guess one).
pub fn token_id(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(token.as_bytes())[..4])
}

/// What the work in a task is for: the actor, and the call it belongs to.
#[derive(Debug, Clone)]
pub struct Context {
    /// Who.
    pub actor: Actor,
    /// The activity call these events belong to (an id per call).
    pub call: Option<String>,
}

tokio::task_local! {
    static CONTEXT: Context;
}

/// Runs `work` with `actor` as the actor of every event it records (tasks
/// it spawns must be wrapped with [`carry`] to keep it).
pub async fn scope<F: Future>(actor: Actor, work: F) -> F::Output {
    CONTEXT.scope(Context { actor, call: None }, work).await
}

/// `work` with the current task's audit context, for `tokio::spawn`: a
/// spawned task does not inherit task-locals.
pub fn carry<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let context = current();
    CONTEXT.scope(context, work)
}

/// The current context: the task's scope, or the process's default actor.
pub fn current() -> Context {
    CONTEXT
        .try_with(Context::clone)
        .unwrap_or_else(|_| Context {
            actor: default_actor(),
            call: None,
        })
}

/// Where the trail goes, and how lines are keyed.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A file, or `-` for standard output.
    pub path: PathBuf,
    /// A file holding the MAC key (at least 32 bytes), if lines are keyed.
    pub key: Option<PathBuf>,
    /// The front end: `serve`, `mcp`, `worker`, `run`, `connect`.
    pub front_end: &'static str,
    /// The actor of work no front end scoped.
    pub actor: Actor,
}

static WRITER: OnceLock<Mutex<sink::Writer>> = OnceLock::new();
static DEFAULT_ACTOR: OnceLock<Actor> = OnceLock::new();

/// Starts the trail: opens (or creates, 0600) the file for appending and
/// records `audit.started`. Later calls do nothing.
///
/// # Errors
///
/// When the file or the key cannot be used (the process should not start
/// without the trail it was asked to keep).
pub fn init(settings: Settings) -> Result<(), String> {
    if WRITER.get().is_some() {
        return Ok(());
    }
    let _ = DEFAULT_ACTOR.set(settings.actor.clone());
    let writer = sink::Writer::open(&settings)?;
    if WRITER.set(Mutex::new(writer)).is_ok() {
        record("audit.started", Map::new());
    }
    Ok(())
}

/// Whether a trail is being written (callers skip costly fields otherwise).
pub fn enabled() -> bool {
    WRITER.get().is_some()
}

/// Records `audit.stopped` (a clean exit: a chain without it ended with a
/// killed process, or was cut).
pub fn stop() {
    record("audit.stopped", Map::new());
}

fn default_actor() -> Actor {
    DEFAULT_ACTOR
        .get()
        .cloned()
        .unwrap_or(Actor::new(ActorKind::Process))
}

/// Records one event of `kind` with `fields`, for the current context.
pub fn record(kind: &str, fields: Map<String, Value>) {
    record_for(&current(), kind, fields);
}

/// Records one event for `context` (for code that runs outside the task
/// that set the scope, such as the egress hook's spawned requests).
pub fn record_for(context: &Context, kind: &str, mut fields: Map<String, Value>) {
    let Some(writer) = WRITER.get() else {
        return;
    };
    if let Some(call) = &context.call {
        fields.insert("call".into(), Value::from(call.as_str()));
    }
    let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(problem) = writer.append(&context.actor, kind, fields) {
        // The event is lost; the operator learns it here, without its fields.
        tracing::error!(kind, "audit trail: {problem}");
    }
}

/// Runs one call with a fresh call id in the context (every event inside
/// carries it).
pub(crate) async fn in_call<F: Future>(work: F) -> F::Output {
    if !enabled() {
        return work.await;
    }
    let mut context = current();
    context.call = Some(random_id());
    CONTEXT.scope(context, work).await
}

/// 8 random bytes, hex: chain and call ids.
fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
