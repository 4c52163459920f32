//! An activity attempt's heartbeats, sent by the worker itself through the
//! client (`RecordActivityTaskHeartbeat`), one at a time and awaited: on a
//! timer, on each request the call sends, and — for an activity that is not
//! retry-safe — once before its first request goes out (the [`SendGate`]).
//!
//! Why not the SDK core's heartbeats: they are throttled and sent in the
//! background, so "recorded before the send" cannot be known, and an older
//! one still on its way could overwrite a newer one. Here every heartbeat
//! of an attempt leaves after the previous one was answered, so the server
//! holds the details of the last one sent:
//!
//! - `{"may_have_sent": false, "requests_sent": 0}` until the gate;
//! - `{"may_have_sent": true, …}` from the gate on: once the server has
//!   acknowledged it, the request may go out. A later attempt that finds it
//!   knows an earlier one may have reached the API.
//!
//! If a heartbeat before the gate went unanswered (its fate is unknown: it
//! might still land after the gate's), the gate stays shut and nothing is
//! sent. The answers also carry cancellation (and pause, and reset): the
//! attempt is told to stop.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use temporalio_client::tonic::{self, IntoRequest};
use temporalio_client::Connection;
use temporalio_common::protos::temporal::api::common::v1::Payloads;
use temporalio_common::protos::temporal::api::workflowservice::v1::RecordActivityTaskHeartbeatRequest;
use tokio::sync::{watch, Notify, OnceCell};

use super::payload;
use crate::egress::{Progress, SendGate};

/// How long the gate waits for its heartbeat to be acknowledged.
const GATE_WAIT: Duration = Duration::from_secs(10);

/// Why an attempt must stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The workflow cancelled it (or paused or reset it).
    Cancelled,
    /// The server no longer knows the attempt (it timed out, or the workflow ended).
    Gone,
}

/// Where the attempt's heartbeats go.
pub struct Target {
    /// The worker's connection to Temporal.
    pub connection: Connection,
    /// The namespace.
    pub namespace: String,
    /// The worker's identity.
    pub identity: String,
    /// The attempt's task token.
    pub task_token: Vec<u8>,
    /// How often to heartbeat when nothing else happens.
    pub interval: Duration,
}

/// The last heartbeat answered: its generation, or why it failed.
#[derive(Debug, Clone, Default)]
struct Answered {
    generation: u64,
    error: Option<String>,
}

#[derive(Default)]
struct Shared {
    may_have_sent: AtomicBool,
    requests_sent: AtomicUsize,
    /// Bumped on every change of the details.
    generation: AtomicU64,
    /// A heartbeat failed: its details might still reach the server late.
    tainted: AtomicBool,
    wake: Notify,
    gate: OnceCell<Result<(), String>>,
}

impl Shared {
    fn changed(&self) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake.notify_one();
        generation
    }
}

/// One attempt's heartbeats; they stop when this is dropped.
pub struct Heartbeats {
    shared: Arc<Shared>,
    answered: watch::Receiver<Answered>,
    stop: watch::Receiver<Option<Stop>>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeats {
    /// Starts heartbeating for the attempt `target` names.
    pub fn start(target: Target) -> Heartbeats {
        let shared = Arc::new(Shared::default());
        let (answered_tx, answered) = watch::channel(Answered::default());
        let (stop_tx, stop) = watch::channel(None);
        let task = tokio::spawn(beat(target, shared.clone(), answered_tx, stop_tx));
        Heartbeats {
            shared,
            answered,
            stop,
            task,
        }
    }

    /// Tells of each request sent (and heartbeats with the count).
    pub fn progress(&self) -> Progress {
        let shared = self.shared.clone();
        Progress(Arc::new(move |sent| {
            shared.requests_sent.store(sent, Ordering::SeqCst);
            shared.changed();
        }))
    }

    /// The gate before each request: the first waits until a heartbeat
    /// saying "may have sent" is acknowledged; the others wait for that one.
    pub fn gate(&self) -> SendGate {
        let shared = self.shared.clone();
        let answered = self.answered.clone();
        SendGate(Arc::new(move || {
            let (shared, answered) = (shared.clone(), answered.clone());
            Box::pin(async move {
                let opened = shared.gate.get_or_init(|| open(&shared, answered));
                opened.await.clone()
            })
        }))
    }

    /// Whether the gate was opened (a request may have gone out since).
    pub fn gate_opened(&self) -> bool {
        self.shared.gate.get().is_some_and(Result::is_ok)
    }

    /// Whether the gate refused (nothing was sent because of it).
    pub fn gate_refused(&self) -> Option<String> {
        self.shared.gate.get().and_then(|r| r.clone().err())
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> usize {
        self.shared.requests_sent.load(Ordering::SeqCst)
    }

    /// Resolves when the attempt must stop.
    pub async fn stopped(&self) -> Stop {
        let mut stop = self.stop.clone();
        let seen = match stop.wait_for(Option::is_some).await {
            Ok(stop) => stop.clone(),
            // The heartbeat task ended: nothing will tell us any more.
            Err(_) => None,
        };
        match seen {
            Some(stop) => stop,
            None => std::future::pending().await,
        }
    }

    /// Records, acknowledged, that nothing was applied (the attempt fails
    /// and its retry must run). `false` when that could not be recorded:
    /// the retry will then refuse, which is the safe side.
    pub async fn clear(&self) -> bool {
        self.shared.may_have_sent.store(false, Ordering::SeqCst);
        self.shared.requests_sent.store(0, Ordering::SeqCst);
        let generation = self.shared.changed();
        acknowledged(self.answered.clone(), generation)
            .await
            .is_ok()
    }
}

impl Drop for Heartbeats {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Marks "may have sent" and waits until a heartbeat saying so is answered.
async fn open(shared: &Shared, answered: watch::Receiver<Answered>) -> Result<(), String> {
    let unknown = "an earlier heartbeat of this attempt went unanswered, so a later one could not be known to be the last";
    if shared.tainted.load(Ordering::SeqCst) {
        return Err(unknown.into());
    }
    shared.may_have_sent.store(true, Ordering::SeqCst);
    let generation = shared.changed();
    acknowledged(answered, generation).await?;
    // One sent before the mark may have failed while the mark's was waiting.
    if shared.tainted.load(Ordering::SeqCst) {
        return Err(unknown.into());
    }
    Ok(())
}

/// Waits until a heartbeat of `generation` (or later) is answered.
async fn acknowledged(
    mut answered: watch::Receiver<Answered>,
    generation: u64,
) -> Result<(), String> {
    let waited = tokio::time::timeout(GATE_WAIT, answered.wait_for(|a| a.generation >= generation));
    match waited.await {
        Ok(Ok(answer)) => answer.error.clone().map_or(Ok(()), Err),
        Ok(Err(_)) => Err("the attempt's heartbeats stopped".into()),
        Err(_) => Err(format!(
            "Temporal did not acknowledge a heartbeat within {} s",
            GATE_WAIT.as_secs()
        )),
    }
}

/// The heartbeat loop: one request at a time, on the timer or a change.
async fn beat(
    target: Target,
    shared: Arc<Shared>,
    answered: watch::Sender<Answered>,
    stop: watch::Sender<Option<Stop>>,
) {
    let mut service = target.connection.workflow_service();
    loop {
        tokio::select! {
            () = tokio::time::sleep(target.interval) => {}
            () = shared.wake.notified() => {}
        }
        let generation = shared.generation.load(Ordering::SeqCst);
        let request = heartbeat(&target, &shared);
        let error = match service
            .record_activity_task_heartbeat(request.into_request())
            .await
        {
            Ok(reply) => {
                let reply = reply.into_inner();
                if reply.cancel_requested || reply.activity_paused || reply.activity_reset {
                    stop.send_replace(Some(Stop::Cancelled));
                }
                None
            }
            Err(status) => {
                shared.tainted.store(true, Ordering::SeqCst);
                if status.code() == tonic::Code::NotFound {
                    stop.send_replace(Some(Stop::Gone));
                }
                tracing::debug!(code = ?status.code(), "activity heartbeat failed");
                Some(format!(
                    "Temporal refused a heartbeat ({:?})",
                    status.code()
                ))
            }
        };
        answered.send_replace(Answered { generation, error });
    }
}

/// A heartbeat with the attempt's details now (counts, never content).
fn heartbeat(target: &Target, shared: &Shared) -> RecordActivityTaskHeartbeatRequest {
    let details = json!({
        "may_have_sent": shared.may_have_sent.load(Ordering::SeqCst),
        "requests_sent": shared.requests_sent.load(Ordering::SeqCst),
    });
    RecordActivityTaskHeartbeatRequest {
        task_token: target.task_token.clone(),
        details: Some(Payloads {
            payloads: vec![payload::to_payload(&details)],
        }),
        identity: target.identity.clone(),
        namespace: target.namespace.clone(),
        ..Default::default()
    }
}
