//! The one error a call (or opening a connection) returns, and its class,
//! which every front end maps its own way: an exit code, an HTTP status, an
//! MCP tool error.

use crate::connection::ConnectionError;
use crate::egress::EgressEvent;
use crate::invoke::{error_case, InvokeError};
use crate::oauth::OAuthError;
use crate::secrets::SecretError;

/// Why a call failed. The message is a sentence with a `hint:` line; the
/// [`class`](SessionError::class) says which kind of failure it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The connection file or its connector file cannot be used.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// Loading or running the connector failed, or the activity reported an error.
    #[error(transparent)]
    Invoke(#[from] InvokeError),
    /// The OAuth connection needs attention.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// A secret field could not be resolved.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A connection kept in a store could not be read or written.
    #[error(transparent)]
    Document(#[from] crate::documents::DocumentError),
    /// `--all-pages` (or `serve`'s pages) on an activity that does not page.
    #[error("activity {activity:?} cannot be followed page by page: {reason}\nhint: list activities take a `cursor` and return `next_cursor`; call this one on its own")]
    NotPaged {
        /// The activity.
        activity: String,
        /// Why not.
        reason: String,
    },
    /// A calendar quota of the API is spent (no request was sent for it).
    #[error("{0}; the call stopped before its next request\nhint: wait until then, or ask the API's provider for a larger quota")]
    QuotaExhausted(crate::quota::Exhausted),
    /// The store that counts a quota cannot be used (fail closed).
    #[error("the quota's count in store '{store}' cannot be used ({}); the call stopped before its next request\nhint: check that the store is reachable and that its token may read and write its `quotas/` path", crate::redact::Untrusted(.reason))]
    QuotaUnavailable {
        /// The store.
        store: String,
        /// Why.
        reason: String,
    },
    /// The API refused the connection's own credential (a 401, or a 403 for
    /// a scope it lacks). It is not an OAuth token: connecting again cannot
    /// help, only another value for `field`.
    #[error("{source}")]
    CredentialRefused {
        /// The field that holds the credential (e.g. `access_token`).
        field: String,
        /// What the call met.
        source: Box<SessionError>,
    },
    /// The connection lacks a field the connector's credential needs.
    #[error("connection file {path}: [fields] {field} is needed for {why}\nhint: add it under [fields] (a literal, {{ env = … }}, {{ file = … }} or {{ asset = … }})")]
    MissingField {
        /// The connection file.
        path: String,
        /// The field.
        field: String,
        /// What needs it.
        why: String,
    },
}

/// The kinds of failure front ends tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The input does not fit the activity (or names no activity).
    InvalidInput,
    /// The connection must be connected, or connected again.
    NeedsConnect,
    /// The connection lacks a scope or privilege the activity needs.
    MissingScope,
    /// A secret could not be resolved (Vault, environment, file).
    SecretUnresolvable,
    /// The API answered with an error.
    ApiRefused,
    /// A per-call limit stopped the call (deadline, memory, output, requests).
    LimitHit,
    /// The API's quota for the application is spent until its reset time
    /// (nothing was sent; retrying before then cannot succeed).
    QuotaExhausted,
    /// The connector is broken or misbehaved (crash, contract, egress it may not make).
    ConnectorBroken,
    /// The connection or connector file is unusable as written.
    Configuration,
    /// Anything else.
    Internal,
}

impl ErrorClass {
    /// A short, stable name, e.g. `missing_scope` (for JSON answers).
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::InvalidInput => "invalid_input",
            ErrorClass::NeedsConnect => "needs_connect",
            ErrorClass::MissingScope => "missing_scope",
            ErrorClass::SecretUnresolvable => "secret_unresolvable",
            ErrorClass::ApiRefused => "api_refused",
            ErrorClass::LimitHit => "limit_hit",
            ErrorClass::QuotaExhausted => "quota_exhausted",
            ErrorClass::ConnectorBroken => "connector_broken",
            ErrorClass::Configuration => "configuration",
            ErrorClass::Internal => "internal",
        }
    }
}

impl SessionError {
    /// Which kind of failure this is.
    pub fn class(&self) -> ErrorClass {
        match self {
            SessionError::Connection(_) | SessionError::MissingField { .. } => {
                ErrorClass::Configuration
            }
            SessionError::NotPaged { .. } => ErrorClass::InvalidInput,
            SessionError::QuotaExhausted(_) => ErrorClass::QuotaExhausted,
            SessionError::QuotaUnavailable { .. } => ErrorClass::SecretUnresolvable,
            SessionError::Secret(_) => ErrorClass::SecretUnresolvable,
            SessionError::Document(crate::documents::DocumentError::Store { .. }) => {
                ErrorClass::SecretUnresolvable
            }
            SessionError::Document(_) => ErrorClass::Configuration,
            SessionError::OAuth(e) => ErrorClass::of_oauth(e),
            SessionError::Invoke(e) => ErrorClass::of_invoke(e),
            SessionError::CredentialRefused { source, .. } => source.class(),
        }
    }

    /// The error the call met, below any wording the session added.
    pub fn met(&self) -> &SessionError {
        match self {
            SessionError::CredentialRefused { source, .. } => source.met(),
            other => other,
        }
    }

    /// The limit that stopped the call, by the name of its setting
    /// (`[limits]` keys, `pooled_calls`, `daily_quota`); `None` when no
    /// limit did. One name for the audit trail and the metrics.
    pub fn limit_setting(&self) -> Option<&'static str> {
        let invoke = match self.met() {
            SessionError::QuotaExhausted(_) => return Some("daily_quota"),
            SessionError::Invoke(e) => e,
            _ => return None,
        };
        match invoke {
            InvokeError::Deadline { .. } => Some("timeout_seconds"),
            InvokeError::Memory { .. } => Some("memory_mib"),
            InvokeError::Limit { setting, .. } => Some(setting),
            InvokeError::Busy { .. } => Some("pooled_calls"),
            InvokeError::Activity { events, .. } => events.iter().find_map(|e| match e {
                EgressEvent::TooManyRequests { .. } => Some("max_requests"),
                EgressEvent::TooManyConcurrent { .. } => Some("max_concurrent_requests"),
                EgressEvent::ResponseTooLarge { .. } => Some("max_response_mib"),
                EgressEvent::DeadlineReached { .. } => Some("timeout_seconds"),
                _ => None,
            }),
            _ => None,
        }
    }
}

impl ErrorClass {
    /// The class of an OAuth error (met outside a session too, by `connect`).
    pub fn of_oauth(error: &OAuthError) -> ErrorClass {
        oauth_class(error)
    }

    /// The class of a loading or call error (met outside a session too, by `describe`).
    pub fn of_invoke(error: &InvokeError) -> ErrorClass {
        invoke_class(error)
    }
}

fn oauth_class(error: &OAuthError) -> ErrorClass {
    match error {
        OAuthError::MissingScope { .. } => ErrorClass::MissingScope,
        OAuthError::Store { .. } => ErrorClass::SecretUnresolvable,
        OAuthError::Config(_)
        | OAuthError::Endpoint { .. }
        | OAuthError::EndpointChanged { .. } => ErrorClass::Configuration,
        _ => ErrorClass::NeedsConnect,
    }
}

fn invoke_class(error: &InvokeError) -> ErrorClass {
    match error {
        InvokeError::Engine(_) => ErrorClass::Internal,
        InvokeError::Input { .. }
        | InvokeError::UnknownActivity { .. }
        | InvokeError::UnknownTrigger { .. } => ErrorClass::InvalidInput,
        InvokeError::Deadline { .. }
        | InvokeError::Memory { .. }
        | InvokeError::Limit { .. }
        | InvokeError::Busy { .. } => ErrorClass::LimitHit,
        InvokeError::Binding(_) => ErrorClass::Configuration,
        InvokeError::Activity { error, events, .. } => activity_class(error_case(error), events),
        _ => ErrorClass::ConnectorBroken,
    }
}

/// An activity's own error: what the egress hook saw decides first (a limit,
/// or a connector reaching where it may not), then the error's case.
fn activity_class(case: Option<&str>, events: &[EgressEvent]) -> ErrorClass {
    let limit = events.iter().any(|e| {
        matches!(
            e,
            EgressEvent::TooManyRequests { .. } | EgressEvent::TooManyConcurrent { .. }
        )
    });
    let trespass = events.iter().any(|e| {
        matches!(
            e,
            EgressEvent::Denied { .. } | EgressEvent::AddressRefused { .. }
        )
    });
    match case {
        _ if limit => ErrorClass::LimitHit,
        _ if trespass => ErrorClass::ConnectorBroken,
        // The same class whether the connection is OAuth or a static token.
        Some("forbidden") => ErrorClass::MissingScope,
        // The host refused what the connector tried (an origin, a header).
        Some("denied") => ErrorClass::ConnectorBroken,
        Some("unauthorized") => ErrorClass::NeedsConnect,
        _ => ErrorClass::ApiRefused,
    }
}
