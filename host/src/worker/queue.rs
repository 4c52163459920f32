//! One task queue per application (API key): every connection whose calls
//! count against the same API limits shares a queue, so Temporal's
//! server-side task-queue rate limit holds the API's per-second limit across
//! every worker on every machine (Temporal's "one task queue per
//! rate-limited downstream API"). The in-process limiter and the 429
//! handling stay behind it as the second line.
//!
//! The name is deterministic, so every worker agrees and a workflow author
//! knows it in advance: `<connector>.<client id>` for an OAuth app whose
//! client id is not secret (Constant Contact's API key:
//! `constant-contact.0b7c…`), else `<connector>.<digest>` of the app or
//! credential (never the value). Only `A-Z a-z 0-9 . - _` appear in it.
//!
//! The limit counts activities the server hands out, not HTTP requests, and
//! is global only when the queue has one partition (the README says how).

use temporalio_client::tonic::IntoRequest;
use temporalio_client::Connection;
use temporalio_common::protos::temporal::api::enums::v1::TaskQueueType;
use temporalio_common::protos::temporal::api::taskqueue::v1::RateLimit as QueueRate;
use temporalio_common::protos::temporal::api::workflowservice::v1::update_task_queue_config_request::RateLimitUpdate;
use temporalio_common::protos::temporal::api::workflowservice::v1::UpdateTaskQueueConfigRequest;

use crate::invoke::{LimitScope, LimitWindow};
use crate::Session;

/// The longest part of a queue name taken from a client id.
const MAX_CLIENT_ID: usize = 100;

/// Slack added to each window: the queue hands tasks out evenly, but each
/// reaches the API after its own delay (poll, credential, instantiation,
/// connect), so four spaced 250 ms apart may arrive within one second.
/// Spacing `requests` over `window + JITTER` leaves that much room: 4 a
/// second becomes 3.2 activities a second. Measured in the app-wide test
/// (tests/all/worker.rs): with 3.6 (0.1 s of slack) a loaded machine put a
/// fifth request into a one-second window.
const JITTER: f64 = 0.25;

/// Sliding windows at most this long are rates the queue spaces; longer
/// ones, and calendar days, are quotas (counted, not spaced: 10,000 a day is
/// no rate to space at).
const LONGEST_RATE_WINDOW: u32 = 60;

/// The task queue of `session`'s application.
pub fn queue_name(session: &Session) -> String {
    let connector = &session.connector().info().name;
    let app = match session.tokens() {
        Some(tokens) if !client_id_is_secret(session) => {
            let id: String = tokens
                .settings()
                .client_id
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .take(MAX_CLIENT_ID)
                .collect();
            if id.is_empty() {
                digest(session)
            } else {
                id
            }
        }
        _ => digest(session),
    };
    format!("{connector}.{app}")
}

/// Whether the connector marks its `client_id` field secret.
fn client_id_is_secret(session: &Session) -> bool {
    let fields = &session.connector().info().fields;
    fields.iter().any(|f| f.name == "client_id" && f.secret)
}

fn digest(session: &Session) -> String {
    format!("app-{}", &hex::encode(session.application_key())[..16])
}

/// The activities per second the queue may hand out: the tightest sliding
/// limit per application, from the connection's `[limits] rate_limits` or
/// the connector's declared limits (as the session's limiter takes them);
/// `None` when nothing limits the application's rate. Limits per account or
/// token are not the queue's: the in-process limiter keeps them.
pub fn per_second(session: &Session) -> Option<f64> {
    let limits = session
        .connection()
        .rate_limits
        .as_deref()
        .unwrap_or(&session.connector().info().rate_limits);
    limits
        .iter()
        .filter(|l| l.per == LimitScope::Application && l.requests > 0)
        .filter_map(|l| match l.window {
            LimitWindow::Sliding(seconds) if (1..=LONGEST_RATE_WINDOW).contains(&seconds) => {
                Some(f64::from(l.requests) / (f64::from(seconds) + JITTER))
            }
            _ => None,
        })
        .reduce(f64::min)
}

/// Sets the queue's activity rate limit on the server (idempotent: every
/// worker of the queue sets the same value).
///
/// # Errors
///
/// A sentence naming the queue and Temporal's answer.
pub async fn set_rate_limit(
    connection: &Connection,
    namespace: &str,
    identity: &str,
    queue: &str,
    per_second: f64,
) -> Result<(), String> {
    let request = UpdateTaskQueueConfigRequest {
        namespace: namespace.to_owned(),
        identity: identity.to_owned(),
        task_queue: queue.to_owned(),
        task_queue_type: TaskQueueType::Activity as i32,
        update_queue_rate_limit: Some(RateLimitUpdate {
            rate_limit: Some(QueueRate {
                requests_per_second: per_second as f32,
            }),
            reason: "the API's per-second limit for this application (connector-host worker)"
                .into(),
        }),
        ..Default::default()
    };
    let mut service = connection.workflow_service();
    service
        .update_task_queue_config(request.into_request())
        .await
        .map(|_| ())
        .map_err(|status| {
            format!(
                "cannot set the rate limit of task queue {queue:?}: Temporal answered {:?}: {}\nhint: the worker's identity needs permission to update task queue config; the in-process limiter still holds this process to the API's limit",
                status.code(),
                crate::redact::untrusted(status.message())
            )
        })
}
