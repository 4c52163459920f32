//! One activity attempt: `<connection>.<activity>` resolved on this queue,
//! its one JSON argument checked, the call run through
//! [`Session::call_with`] with heartbeats, and the outcome turned into
//! Temporal's completion: the result, a typed failure, or cancelled.
//!
//! Invariants: an activity that is not retry-safe sends nothing once an
//! earlier attempt recorded that it was about to send (the failure says it
//! may already have been applied), and sends its first request only after
//! the server acknowledged that record; a cancelled attempt's call is
//! dropped, which drops its store and frees its instance slot.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use temporalio_common::protos::coresdk::activity_result::ActivityExecutionResult;
use temporalio_common::protos::coresdk::activity_task::Start;
use temporalio_common::protos::temporal::api::common::v1::Payloads;
use temporalio_common::protos::temporal::api::failure::v1::{
    failure::FailureInfo, ApplicationFailureInfo, Failure,
};
use tokio_util::sync::CancellationToken;

use super::failure::{self, Facts, Verdict};
use super::heartbeat::{Heartbeats, Stop, Target};
use super::payload;
use super::routes::Routes;
use super::Temporal;
use crate::invoke::ActivityInfo;
use crate::{CallHooks, ErrorClass, Session};

/// Heartbeat interval when the workflow set no heartbeat timeout (it also
/// bounds how late a cancellation is noticed).
const DEFAULT_BEAT: Duration = Duration::from_secs(5);

/// What a failure's `source` says.
const SOURCE: &str = "connector-host";

/// The queue an attempt arrived on.
pub struct Queue {
    /// Its name.
    pub name: String,
    /// The connections on it.
    pub routes: Arc<Routes>,
    /// The worker's Temporal settings and connection.
    pub temporal: Arc<Temporal>,
}

/// Runs one attempt to its completion (`stop` is the SDK core's own
/// cancellation: worker shutdown).
pub async fn run(
    queue: &Queue,
    task_token: Vec<u8>,
    start: Start,
    stop: CancellationToken,
) -> ActivityExecutionResult {
    let kind = start.activity_type.as_str();
    let (session, info, input) = match prepare(queue, &start) {
        Ok(prepared) => prepared,
        Err(refused) => {
            crate::metrics::worker_refused();
            return failed(*refused);
        }
    };
    crate::metrics::worker_started(&info.name);
    let beats = Heartbeats::start(Target {
        connection: queue.temporal.connection.clone(),
        namespace: queue.temporal.namespace.clone(),
        identity: queue.temporal.identity.clone(),
        task_token,
        interval: beat_interval(&start),
    });
    tracing::info!(activity = kind, attempt = start.attempt, "activity started");
    let hooks = CallHooks {
        progress: Some(beats.progress()),
        gate: (!info.retry_safe).then(|| beats.gate()),
        // A 429 goes back through the queue (a retry with a pause), whose
        // rate every worker shares; a resend from here would pass it by.
        caller_retries_429: true,
    };
    // A trigger's poll runs as an activity too: checkpoint in, events and
    // the next checkpoint out, so a Schedule or a workflow can drive it.
    let call = async {
        if session.connector().trigger(&info.name).is_some() {
            session.poll_json(&info.name, &input, hooks).await
        } else {
            session.call_with(&info.name, &input, hooks).await
        }
    };
    let outcome = tokio::select! {
        outcome = call => outcome,
        stopped = beats.stopped() => return cancelled(&info.name, kind, stopped),
        () = stop.cancelled() => return cancelled(&info.name, kind, Stop::Cancelled),
    };
    let ok = outcome.is_ok();
    let class = outcome.as_ref().map_or_else(|e| e.class().name(), |_| "ok");
    crate::metrics::worker_finished(&info.name, class);
    let result = match outcome {
        Ok(value) => succeeded(kind, &value),
        Err(error) => failed(failure_of(&beats, &error, kind, &info).await),
    };
    tracing::info!(
        activity = kind,
        attempt = start.attempt,
        ok,
        "activity ended"
    );
    result
}

/// What the attempt runs, or why it runs nothing: an activity this queue
/// does not serve, an argument that is not one JSON value, or a retry of an
/// activity that is not retry-safe after an attempt that may have sent.
fn prepare(
    queue: &Queue,
    start: &Start,
) -> Result<(Arc<Session>, ActivityInfo, Value), Box<Verdict>> {
    let kind = start.activity_type.as_str();
    let Some((session, info)) = resolve(queue, kind) else {
        let served = queue.routes.activity_types(&queue.name);
        return Err(Box::new(failure::unknown_activity(
            kind,
            &queue.name,
            &served,
        )));
    };
    let input = payload::input(&start.input).map_err(|problem| {
        let message = format!("activity {kind:?}: {problem}");
        Box::new(failure::worker_refusal(
            ErrorClass::InvalidInput.name(),
            message,
            true,
        ))
    })?;
    if !info.retry_safe && earlier_attempt_may_have_sent(start) {
        tracing::warn!(
            activity = kind,
            attempt = start.attempt,
            "not sent again: an earlier attempt may have reached the API"
        );
        return Err(Box::new(failure::may_already_be_applied(
            kind,
            start.attempt,
        )));
    }
    Ok((session, info, input))
}

/// The session and activity `kind` names, if this queue serves them.
fn resolve(queue: &Queue, kind: &str) -> Option<(Arc<Session>, ActivityInfo)> {
    // Activity names hold no dot: the last one ends the connection's key.
    let (connection, activity) = kind.rsplit_once('.')?;
    let session = queue.routes.session(connection, &queue.name)?;
    let described = session.connector().info().activities.iter();
    let info = match described.into_iter().find(|a| a.name == activity) {
        Some(info) => info.clone(),
        None => session.trigger_call(activity).ok()?,
    };
    Some((session, info))
}

/// Whether the last heartbeat of an earlier attempt said it may have sent.
fn earlier_attempt_may_have_sent(start: &Start) -> bool {
    payload::details(&start.heartbeat_details)
        .is_some_and(|d| d.get("may_have_sent") == Some(&Value::Bool(true)))
}

/// A third of the heartbeat timeout (so two may be lost), or the default.
fn beat_interval(start: &Start) -> Duration {
    let timeout = start
        .heartbeat_timeout
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero());
    match timeout {
        Some(timeout) => (timeout / 3).clamp(Duration::from_millis(200), Duration::from_secs(10)),
        None => DEFAULT_BEAT,
    }
}

/// The verdict on a failed call; a retryable one whose attempt recorded
/// "may have sent" clears that record first, so its retry runs.
async fn failure_of(
    beats: &Heartbeats,
    error: &crate::SessionError,
    kind: &str,
    info: &ActivityInfo,
) -> Verdict {
    let refused = beats.gate_refused();
    let verdict = match &refused {
        Some(reason) => failure::held_back(kind, reason),
        None => {
            // Behind the gate, nothing reached the transport unless it opened.
            let requests_sent = if info.retry_safe || beats.gate_opened() {
                beats.requests_sent()
            } else {
                0
            };
            let facts = Facts {
                activity_type: kind,
                retry_safe: info.retry_safe,
                requests_sent,
            };
            failure::of_error(error, facts)
        }
    };
    let marked = beats.gate_opened() || refused.is_some();
    if !verdict.non_retryable && marked && !beats.clear().await {
        // The record stays: the retry will refuse rather than risk a second send.
        tracing::warn!(
            activity = kind,
            "could not clear the attempt's may-have-sent record"
        );
    }
    verdict
}

fn succeeded(kind: &str, value: &Value) -> ActivityExecutionResult {
    match payload::result(value) {
        Ok(payload) => ActivityExecutionResult::ok(payload),
        Err(size) => failed(failure::worker_refusal(
            ErrorClass::LimitHit.name(),
            format!(
                "activity {kind:?} returned {size} bytes of JSON, more than one Temporal payload may hold ({} bytes)\nhint: ask for less (a smaller page `limit`, fewer fields) and page through the rest",
                payload::MAX_RESULT_BYTES
            ),
            false,
        )),
    }
}

fn cancelled(activity: &str, kind: &str, why: Stop) -> ActivityExecutionResult {
    crate::metrics::worker_finished(activity, "cancelled");
    // Returning here dropped the call's future: its store and instance slot are gone.
    tracing::info!(
        activity = kind,
        ?why,
        "activity cancelled; its call was dropped"
    );
    ActivityExecutionResult::cancel_from_details(None)
}

/// A verdict as Temporal's application failure.
fn failed(verdict: Verdict) -> ActivityExecutionResult {
    let info = ApplicationFailureInfo {
        r#type: verdict.kind.to_owned(),
        non_retryable: verdict.non_retryable,
        details: Some(Payloads {
            payloads: vec![payload::to_payload(&verdict.details)],
        }),
        next_retry_delay: verdict.next_retry_delay.and_then(|d| d.try_into().ok()),
        ..Default::default()
    };
    ActivityExecutionResult::fail(Failure {
        message: verdict.message,
        source: SOURCE.to_owned(),
        failure_info: Some(FailureInfo::ApplicationFailureInfo(info)),
        ..Default::default()
    })
}
