//! Exit codes, one per kind of failure, so scripts can branch on them.

use connector_host::egress::EgressEvent;
use connector_host::oauth::OAuthError;
use connector_host::secrets::SecretError;
use connector_host::{ConnectionError, InvokeError};

/// The activity ran and the API (or the connector) reported an error.
pub const ACTIVITY: u8 = 1;
/// Bad command line or bad input (clap also exits 2).
pub const USAGE: u8 = 2;
/// The connection or connector file cannot be used.
pub const CONFIG: u8 = 3;
/// The connector is broken: not a component, breaks the contract, crashed.
pub const CONNECTOR: u8 = 4;
/// A limit stopped the call: deadline, memory, output, requests, resources.
pub const LIMIT: u8 = 5;
/// A secret field could not be resolved (Vault, environment, file).
pub const SECRET: u8 = 6;
/// The connection must be (re)connected, or lacks a scope.
pub const AUTH: u8 = 7;
/// Anything else.
pub const INTERNAL: u8 = 70;

/// Shown at the end of `--help`.
pub const HELP: &str = "Exit codes: 0 success, 1 the activity failed, 2 bad usage or input, \
3 connection or connector file unusable, 4 connector broken or crashed, 5 a per-call limit hit (deadline, memory, output, requests), \
6 a secret could not be resolved, 7 the connection must be (re)connected or lacks a scope.";

/// The exit code for an error chain.
pub fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<InvokeError>() {
            return match e {
                // A guest's error caused by a per-call request limit is the limit's.
                InvokeError::Activity { events, .. }
                    if events.iter().any(|e| {
                        matches!(
                            e,
                            EgressEvent::TooManyRequests { .. }
                                | EgressEvent::TooManyConcurrent { .. }
                        )
                    }) =>
                {
                    LIMIT
                }
                InvokeError::Activity { .. } => ACTIVITY,
                InvokeError::Input { .. } | InvokeError::UnknownActivity { .. } => USAGE,
                InvokeError::Deadline { .. }
                | InvokeError::Memory { .. }
                | InvokeError::Limit { .. } => LIMIT,
                InvokeError::Binding(_) => CONFIG,
                InvokeError::Engine(_) => INTERNAL,
                _ => CONNECTOR,
            };
        }
        if let Some(e) = cause.downcast_ref::<OAuthError>() {
            return match e {
                OAuthError::Store { .. } => SECRET,
                OAuthError::Config(_)
                | OAuthError::Endpoint { .. }
                | OAuthError::EndpointChanged { .. } => CONFIG,
                _ => AUTH,
            };
        }
        if cause.downcast_ref::<SecretError>().is_some() {
            return SECRET;
        }
        if let Some(e) = cause.downcast_ref::<Failed>() {
            return e.code;
        }
        if cause.downcast_ref::<ConnectionError>().is_some() {
            return CONFIG;
        }
        if cause.downcast_ref::<InputSourceError>().is_some() {
            return USAGE;
        }
    }
    INTERNAL
}

/// `--input` could not be read or is not JSON.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputSourceError(pub String);

/// A command that already reported its failures (per line, per field) and
/// only needs to exit with `code`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failed {
    /// The summary printed last.
    pub message: String,
    /// The exit code.
    pub code: u8,
}
