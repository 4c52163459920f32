//! A failed call as a Temporal failure: the failure's type is the host's
//! error class ([`ErrorClass::name`]), its details say the case, the HTTP
//! status and how many requests went out, and whether Temporal may retry
//! follows what the failure means (DESIGN §10, issue 16):
//!
//! - never, for what a retry cannot change: invalid input, not connected, a
//!   missing scope, configuration, a broken connector, a spent quota, an API
//!   4xx other than 429, a per-call limit other than the deadline;
//! - after the API's own pause, for 429 (`next_retry_delay`);
//! - for transport errors, 5xx, the deadline, a full instance pool, an
//!   unreachable credential store: only when the activity is retry-safe or
//!   nothing was sent. An activity that is not retry-safe and may have
//!   reached the API is never retried: a retry could apply it twice.
//!
//! Invariant: nothing secret in a failure. The message is the error's own
//! sentence (which never holds a value) with remembered secrets blanked.

use std::time::Duration;

use serde_json::{json, Value};

use crate::invoke::{error_case, InvokeError};
use crate::{redact, ErrorClass, SessionError};

/// The failure type of a retry that refuses to run an activity that is not
/// retry-safe because an earlier attempt may have reached the API.
pub const MAY_ALREADY_BE_APPLIED: &str = "may_already_be_applied";

/// The failure type of an activity name this worker's queue does not serve.
pub const UNKNOWN_ACTIVITY: &str = "unknown_activity";

/// How long Temporal waits before retrying after the API's 429 (the
/// egress hook already waited out `Retry-After` three times inside the call).
const AFTER_RATE_LIMIT: Duration = Duration::from_secs(2);

/// What the worker knows about the call that failed.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// `<connection>.<activity>`.
    pub activity_type: &'a str,
    /// The activity's `retry-safe` flag.
    pub retry_safe: bool,
    /// Requests the connector sent (each one the egress hook admitted).
    pub requests_sent: usize,
}

/// A failure, decided: what Temporal and the workflow are told.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The failure type (an error class name, or one of this module's constants).
    pub kind: &'static str,
    /// One sentence (with `hint:` lines), secrets blanked.
    pub message: String,
    /// Whether Temporal must not retry.
    pub non_retryable: bool,
    /// Temporal's pause before the next attempt, instead of the policy's.
    pub next_retry_delay: Option<Duration>,
    /// Whether the API certainly did not apply the call (nothing sent, or
    /// its one request refused with 429): the worker then clears the
    /// "may have sent" heartbeat so the retry runs.
    pub nothing_applied: bool,
    /// `{class, case, status, activity, retry_safe, requests_sent, may_have_been_applied}`.
    pub details: Value,
}

/// The verdict on `error`.
pub fn of_error(error: &SessionError, facts: Facts<'_>) -> Verdict {
    let class = error.class();
    let (case, status) = case_and_status(error);
    let rate_limited = case == Some("rate_limited");
    // A 429 means the request was not processed; with one request that is all of the call.
    let nothing_applied = facts.requests_sent == 0 || (rate_limited && facts.requests_sent == 1);
    let transient = transient(class, error, case, status);
    let may_have_been_applied = !facts.retry_safe && !nothing_applied;
    let non_retryable = !transient || may_have_been_applied;
    let message = redact::secrets_removed(&error.to_string());
    Verdict {
        kind: class.name(),
        message,
        non_retryable,
        next_retry_delay: (rate_limited && !non_retryable).then_some(AFTER_RATE_LIMIT),
        nothing_applied,
        details: json!({
            "class": class.name(),
            "case": case,
            "status": status,
            "activity": facts.activity_type,
            "retry_safe": facts.retry_safe,
            "requests_sent": facts.requests_sent,
            "may_have_been_applied": may_have_been_applied,
        }),
    }
}

/// The verdict on a retry of an activity that is not retry-safe whose
/// earlier attempt recorded, before sending, that it was about to send.
pub fn may_already_be_applied(activity_type: &str, attempt: u32) -> Verdict {
    Verdict {
        kind: MAY_ALREADY_BE_APPLIED,
        message: format!(
            "activity {activity_type:?} may already have been applied: attempt {} was about to send its request when it ended without a result, and the activity is not safe to retry, so attempt {attempt} does not send it again\nhint: check the remote side (e.g. list what the call would have created) before running it again",
            attempt.saturating_sub(1)
        ),
        non_retryable: true,
        next_retry_delay: None,
        nothing_applied: false,
        details: json!({
            "class": MAY_ALREADY_BE_APPLIED,
            "activity": activity_type,
            "retry_safe": false,
            "attempt": attempt,
            "may_have_been_applied": true,
        }),
    }
}

/// The verdict on an activity name the queue does not serve. Retryable, as
/// in every Temporal SDK: a worker that serves it may start (or the
/// connection file may appear) before the next attempt.
pub fn unknown_activity(activity_type: &str, queue: &str, served: &[String]) -> Verdict {
    // The names this queue serves, the first few (a queue may serve hundreds).
    const SHOWN: usize = 20;
    let mut listed = served
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if served.is_empty() {
        listed = "nothing yet".to_owned();
    } else if served.len() > SHOWN {
        listed.push_str(&format!(" and {} more", served.len() - SHOWN));
    }
    let served = listed;
    Verdict {
        kind: UNKNOWN_ACTIVITY,
        message: format!(
            "task queue {queue:?} has no activity {:?}\nhint: activities are named <connection>.<activity>; this queue serves: {served}",
            redact::untrusted(activity_type)
        ),
        non_retryable: false,
        next_retry_delay: None,
        nothing_applied: true,
        details: json!({"class": UNKNOWN_ACTIVITY, "queue": queue}),
    }
}

/// The verdict when the worker could not record, before sending, that it
/// was about to send: nothing was sent, so the attempt may be retried.
pub fn held_back(activity_type: &str, reason: &str) -> Verdict {
    Verdict {
        kind: ErrorClass::Internal.name(),
        message: format!(
            "activity {activity_type:?} was not sent: the worker could not first record that it was about to send ({reason})\nhint: check the worker's connection to Temporal; the attempt is retried"
        ),
        non_retryable: false,
        next_retry_delay: None,
        nothing_applied: true,
        details: json!({"class": ErrorClass::Internal.name(), "activity": activity_type, "requests_sent": 0}),
    }
}

/// A failure the worker itself decided (bad payload, oversized result…).
pub fn worker_refusal(kind: &'static str, message: String, nothing_applied: bool) -> Verdict {
    Verdict {
        kind,
        message: redact::secrets_removed(&message),
        non_retryable: true,
        next_retry_delay: None,
        nothing_applied,
        details: json!({"class": kind}),
    }
}

/// The error's case (e.g. `conflict`) and HTTP status, when it has them.
fn case_and_status(error: &SessionError) -> (Option<&str>, Option<u64>) {
    match error.met() {
        SessionError::Invoke(InvokeError::Activity { error, .. }) => {
            let status = error
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(|d| d.get("status"))
                .and_then(Value::as_u64);
            (error_case(error), status)
        }
        _ => (None, None),
    }
}

/// Whether the same call might succeed later (before the retry-safety rule).
fn transient(
    class: ErrorClass,
    error: &SessionError,
    case: Option<&str>,
    status: Option<u64>,
) -> bool {
    match class {
        ErrorClass::SecretUnresolvable | ErrorClass::Internal => true,
        ErrorClass::LimitHit => matches!(
            error,
            SessionError::Invoke(InvokeError::Deadline { .. } | InvokeError::Busy { .. })
        ),
        ErrorClass::ApiRefused => match case {
            Some("rate_limited" | "transport" | "unexpected_response") => true,
            Some("upstream") => status.is_none_or(|s| s >= 500),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::EgressEvent;

    fn activity_error(error: Value) -> SessionError {
        SessionError::Invoke(InvokeError::Activity {
            activity: "create-contact".into(),
            error,
            events: Vec::<EgressEvent>::new(),
        })
    }

    fn facts(retry_safe: bool, requests_sent: usize) -> Facts<'static> {
        Facts {
            activity_type: "acme.create-contact",
            retry_safe,
            requests_sent,
        }
    }

    /// (error, retry-safe, requests sent) → (type, non-retryable).
    #[test]
    fn each_failure_gets_its_class_and_retry_behaviour() {
        let api = |case: &str, status: u64| {
            activity_error(json!({case: {"status": status, "message": "m"}}))
        };
        let cases = [
            (api("conflict", 409), true, 1, "api_refused", true),
            (api("not_found", 404), true, 1, "api_refused", true),
            (api("upstream", 503), true, 1, "api_refused", false),
            (api("upstream", 503), false, 1, "api_refused", true),
            (api("upstream", 418), true, 1, "api_refused", true),
            (api("rate_limited", 429), false, 1, "api_refused", false),
            (api("rate_limited", 429), false, 2, "api_refused", true),
            (
                activity_error(json!({"transport": "reset"})),
                true,
                1,
                "api_refused",
                false,
            ),
            (
                activity_error(json!({"transport": "reset"})),
                false,
                1,
                "api_refused",
                true,
            ),
            (
                activity_error(json!({"transport": "reset"})),
                false,
                0,
                "api_refused",
                false,
            ),
            (api("forbidden", 403), true, 1, "missing_scope", true),
            (api("unauthorized", 401), true, 1, "needs_connect", true),
            (
                activity_error(json!({"denied": "x"})),
                true,
                1,
                "connector_broken",
                true,
            ),
        ];
        for (error, retry_safe, sent, kind, non_retryable) in cases {
            let verdict = of_error(&error, facts(retry_safe, sent));
            assert_eq!(
                (verdict.kind, verdict.non_retryable),
                (kind, non_retryable),
                "{error:?} retry_safe={retry_safe} sent={sent}"
            );
        }
    }

    #[test]
    fn limits_retry_only_for_the_deadline_and_a_full_pool() {
        let deadline = SessionError::Invoke(InvokeError::Deadline {
            activity: "a".into(),
            timeout: Duration::from_secs(1),
        });
        let memory = SessionError::Invoke(InvokeError::Memory {
            activity: "a".into(),
            limit_mib: 64,
        });
        let busy = SessionError::Invoke(InvokeError::Busy {
            activity: "a".into(),
            what: "slots".into(),
        });
        assert!(!of_error(&deadline, facts(true, 1)).non_retryable);
        assert!(of_error(&deadline, facts(false, 1)).non_retryable);
        assert!(of_error(&memory, facts(true, 0)).non_retryable);
        assert!(!of_error(&busy, facts(false, 0)).non_retryable);
        assert_eq!(of_error(&busy, facts(false, 0)).kind, "limit_hit");
    }

    #[test]
    fn a_429_waits_and_details_say_what_happened() {
        let error = activity_error(json!({"rate_limited": {"status": 429, "message": "slow"}}));
        let verdict = of_error(&error, facts(false, 1));
        assert_eq!(verdict.next_retry_delay, Some(AFTER_RATE_LIMIT));
        assert!(verdict.nothing_applied);
        assert_eq!(verdict.details["case"], "rate_limited");
        assert_eq!(verdict.details["status"], 429);
        assert_eq!(verdict.details["may_have_been_applied"], false);
        let after_send = of_error(
            &activity_error(json!({"upstream": {"status": 502, "message": "m"}})),
            facts(false, 1),
        );
        assert_eq!(after_send.details["may_have_been_applied"], true);
        assert_eq!(after_send.next_retry_delay, None);
    }

    #[test]
    fn a_refused_retry_and_an_unknown_name_are_typed() {
        let refused = may_already_be_applied("acme.create-contact", 2);
        assert_eq!(refused.kind, "may_already_be_applied");
        assert!(refused.non_retryable && refused.message.contains("attempt 1"));
        let unknown = unknown_activity("acme.nope", "cc.app", &["acme.create-contact".into()]);
        assert!(!unknown.non_retryable);
        assert!(unknown.message.contains("acme.create-contact"));
    }
}
