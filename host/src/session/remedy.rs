//! What a person must do about a failed call, as data, and the failure
//! worded for the front end that shows it.
//!
//! The error's own text (its `Display`) is the CLI's: it names connection
//! files and `connector-host` commands. `serve`'s API and page, MCP and the
//! worker reach people who have neither, so [`Rendered::for_front`] keeps
//! the sentence, drops server paths and CLI advice, and says the remedy in
//! that front end's terms (a route, a button, what to ask the user for).

use serde::Serialize;

use super::{ErrorClass, SessionError};
use crate::egress::EgressEvent;
use crate::invoke::InvokeError;
use crate::oauth::OAuthError;
use crate::redact;
use crate::secrets::SecretError;

/// What would make the call succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Remedy {
    /// Connect the connection (again), granting `scopes` when named.
    Connect {
        /// Scopes the connection lacks.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        scopes: Vec<String>,
    },
    /// Set or correct a field of the connection.
    SetField {
        /// The field.
        field: String,
    },
    /// Fix the credential asset a field names (or the store's access).
    FixAsset {
        /// The field, when one is concerned.
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
    /// Change the input.
    FixInput {
        /// Where in the input, e.g. `input.limit`.
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// Wait until `until` (RFC 3339).
    Wait {
        /// When.
        until: String,
    },
    /// Try again; it may pass.
    Retry,
    /// Ask for less (a smaller page, fewer records): a per-call limit
    /// stopped it, and the same request would stop again.
    AskForLess {
        /// The connection's `[limits]` key that sets the limit.
        setting: &'static str,
    },
    /// The connection's settings are unusable as written.
    FixConnection,
    /// The connector is at fault; its publisher must fix it.
    FixConnector,
    /// Nothing but reporting it.
    None,
}

impl SessionError {
    /// What would make the call succeed.
    pub fn remedy(&self) -> Remedy {
        if let Some(remedy) = self.specific_remedy() {
            return remedy;
        }
        match self.class() {
            ErrorClass::NeedsConnect | ErrorClass::MissingScope => {
                Remedy::Connect { scopes: Vec::new() }
            }
            ErrorClass::InvalidInput => Remedy::FixInput { path: None },
            ErrorClass::SecretUnresolvable => Remedy::FixAsset { field: None },
            ErrorClass::LimitHit if self.waiting_may_pass() => Remedy::Retry,
            ErrorClass::LimitHit => Remedy::AskForLess {
                setting: "timeout_seconds",
            },
            ErrorClass::ApiRefused if self.retry_may_pass() => Remedy::Retry,
            ErrorClass::ApiRefused => Remedy::FixInput { path: None },
            ErrorClass::ConnectorBroken => Remedy::FixConnector,
            ErrorClass::Configuration => Remedy::FixConnection,
            _ => Remedy::None,
        }
    }

    /// A remedy the variant itself names (a field, scopes, a path, a time).
    fn specific_remedy(&self) -> Option<Remedy> {
        Some(match self {
            SessionError::MissingField { field, .. }
            | SessionError::CredentialRefused { field, .. } => Remedy::SetField {
                field: field.clone(),
            },
            // A variable or a file the operator names: set it, no asset.
            SessionError::Secret(
                error @ (SecretError::EnvMissing { .. } | SecretError::File { .. }),
            ) => Remedy::SetField {
                field: error.field().to_owned(),
            },
            SessionError::Secret(error) => Remedy::FixAsset {
                field: Some(error.field().to_owned()),
            },
            SessionError::OAuth(OAuthError::MissingScope { needed, .. }) => Remedy::Connect {
                scopes: needed.split_whitespace().map(str::to_owned).collect(),
            },
            SessionError::OAuth(OAuthError::InvalidClient) => Remedy::SetField {
                field: "client_secret".into(),
            },
            SessionError::Invoke(InvokeError::Input { error, .. }) => Remedy::FixInput {
                path: Some(error.path.clone()),
            },
            SessionError::Invoke(InvokeError::Limit { setting, .. }) => {
                Remedy::AskForLess { setting }
            }
            SessionError::Invoke(InvokeError::Memory { .. }) => Remedy::AskForLess {
                setting: "memory_mib",
            },
            SessionError::QuotaExhausted(spent) => Remedy::Wait {
                until: spent.resets_at.to_rfc3339(),
            },
            _ => return None,
        })
    }

    /// A limit that was about time or company (a deadline, a full pool, the
    /// rate), not about the size of the work.
    fn waiting_may_pass(&self) -> bool {
        match self.met() {
            SessionError::Invoke(InvokeError::Deadline { .. } | InvokeError::Busy { .. }) => true,
            SessionError::Invoke(InvokeError::Activity { events, .. }) => events
                .iter()
                .any(|e| matches!(e, EgressEvent::TooManyRequests { .. })),
            _ => false,
        }
    }

    /// An API refusal that may pass on its own (5xx, 429, transport).
    fn retry_may_pass(&self) -> bool {
        let SessionError::Invoke(InvokeError::Activity { error, .. }) = self.met() else {
            return true;
        };
        !matches!(
            crate::invoke::error_case(error),
            Some("not_found" | "conflict" | "invalid_input" | "forbidden" | "unauthorized")
        )
    }
}

/// The front ends that word errors differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// `serve`'s JSON API and its page (the page acts on `remedy`).
    Api,
    /// An MCP client: the person is behind an agent.
    Mcp,
}

/// An error worded for a front end: never a server path, never CLI advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The error's class name.
    pub class: &'static str,
    /// What failed.
    pub message: String,
    /// What to do next, in the front end's terms.
    pub hint: Option<String>,
    /// What to do next, as data.
    pub remedy: Remedy,
}

impl Rendered {
    /// `error`, on connection `connection`, for `front`.
    pub fn for_front(error: &SessionError, front: Front, connection: &str) -> Rendered {
        let text = redact::secrets_removed(&error.to_string());
        let (message, kept) = split(&text);
        let remedy = error.remedy();
        let said = advice(&remedy, front, connection);
        // The error's own advice is the more specific; the remedy's follows.
        let hint: Vec<String> = kept.into_iter().chain(said).collect();
        Rendered {
            class: error.class().name(),
            message,
            hint: (!hint.is_empty()).then(|| hint.join("\n")),
            remedy,
        }
    }
}

impl Rendered {
    /// The message with each hint line as `hint: …`, as the CLI's text reads.
    pub fn text(&self) -> String {
        let mut text = self.message.clone();
        for line in self.hint.iter().flat_map(|h| h.lines()) {
            text.push_str("\nhint: ");
            text.push_str(line);
        }
        text
    }
}

/// The message's lines (paths dropped) and the hint lines a person of any
/// front end can act on (no command line, no path, no connection-file
/// table, which only the CLI's user edits).
fn split(text: &str) -> (String, Vec<String>) {
    let mut message = Vec::new();
    let mut hints = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("hint: ") {
            Some(hint) if neutral(hint) => hints.push(redact::without_paths(hint)),
            Some(_) => {}
            None => message.push(redact::without_paths(line)),
        }
    }
    (message.join("\n"), hints)
}

fn neutral(hint: &str) -> bool {
    !(hint.contains("connector-host")
        || hint.contains('`')
        || hint.contains("connection file")
        || hint.contains('[')
        || redact::without_paths(hint) != hint)
}

/// The remedy in `front`'s terms.
fn advice(remedy: &Remedy, front: Front, connection: &str) -> Option<String> {
    let route = format!("/api/connections/{connection}");
    Some(match (remedy, front) {
        (Remedy::Connect { scopes }, Front::Api) => format!(
            "connect it: Connect on the connection page, or POST {route}/connect{}",
            granting(scopes)
        ),
        (Remedy::Connect { scopes }, Front::Mcp) => format!(
            "ask the user to connect '{connection}' again{}; a tool cannot do it",
            granting(scopes)
        ),
        (Remedy::SetField { field }, Front::Api) => format!(
            "set field {field}: edit the connection on the page, or PUT {route}"
        ),
        (Remedy::SetField { field }, Front::Mcp) => format!(
            "ask the operator to set field {field} of connection '{connection}'"
        ),
        (Remedy::FixAsset { field }, _) => format!(
            "check the credential asset{} (its store, path and key) and that the store's token may read it",
            field.as_ref().map(|f| format!(" of field {f}")).unwrap_or_default()
        ),
        (Remedy::FixInput { .. }, Front::Api) => {
            "GET /api/connectors/<connector> shows each activity's input schema".into()
        }
        (Remedy::FixInput { .. }, Front::Mcp) => "the tool's inputSchema lists the fields and their bounds".into(),
        (Remedy::Wait { until }, _) => format!("wait until {until}"),
        (Remedy::Retry, _) => "try again; it may pass".into(),
        (Remedy::AskForLess { setting }, Front::Api) => format!(
            "ask for less (a smaller limit or page), or raise the connection's limit {setting}"
        ),
        (Remedy::AskForLess { setting }, Front::Mcp) => format!(
            "ask for less (a smaller limit or page); the operator sets the connection's limit {setting}"
        ),
        (Remedy::FixConnection, Front::Api) => {
            format!("check the connection's settings: POST {route}/check says what is wrong")
        }
        (Remedy::FixConnection, Front::Mcp) => {
            format!("ask the operator to check connection '{connection}'")
        }
        (Remedy::FixConnector, _) => "the connector failed; its publisher must fix it (the server's log has details)".into(),
        (Remedy::None, _) => return None,
    })
}

fn granting(scopes: &[String]) -> String {
    if scopes.is_empty() {
        String::new()
    } else {
        format!(" (granting {})", scopes.join(" "))
    }
}
