//! Exit codes, one per kind of failure, so scripts can branch on them.

use connector_host::oauth::OAuthError;
use connector_host::secrets::SecretError;
use connector_host::{ConnectionError, ErrorClass, InvokeError, SessionError};

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
pub const HELP: &str = "Exit codes: 0 success, 1 the API said no, 2 bad usage or input, \
3 connection or connector file unusable, 4 connector broken, crashed or refused egress, \
5 a per-call limit hit (deadline, memory, output, requests), 6 a secret could not be resolved, \
7 the connection must be (re)connected or lacks a scope (an API 401 or 403 too).";

/// The exit code for an error's class (the same classes `serve` and MCP map).
pub fn of_class(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::InvalidInput => USAGE,
        ErrorClass::NeedsConnect | ErrorClass::MissingScope => AUTH,
        ErrorClass::SecretUnresolvable => SECRET,
        ErrorClass::ApiRefused => ACTIVITY,
        ErrorClass::LimitHit | ErrorClass::QuotaExhausted => LIMIT,
        ErrorClass::ConnectorBroken => CONNECTOR,
        ErrorClass::Configuration => CONFIG,
        _ => INTERNAL,
    }
}

/// The exit code for an error chain.
pub fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<SessionError>() {
            return of_class(e.class());
        }
        if let Some(e) = cause.downcast_ref::<Failed>() {
            return e.code;
        }
        if cause.downcast_ref::<InputSourceError>().is_some() {
            return USAGE;
        }
        // Errors met outside a session (`describe`, `check`, `connect`).
        if let Some(e) = cause.downcast_ref::<InvokeError>() {
            return of_class(ErrorClass::of_invoke(e));
        }
        if let Some(e) = cause.downcast_ref::<OAuthError>() {
            return of_class(ErrorClass::of_oauth(e));
        }
        if cause.downcast_ref::<SecretError>().is_some() {
            return SECRET;
        }
        if cause.downcast_ref::<ConnectionError>().is_some() {
            return CONFIG;
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
