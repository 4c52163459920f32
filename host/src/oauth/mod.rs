//! OAuth2 connections: connect (authorization code with PKCE and `state` on a
//! loopback redirect, or the device flow), keep tokens in a token store,
//! refresh before expiry and after a 401, and check scopes before a call.
//!
//! Invariant: tokens and the client secret stay in `SecretString`s and in the
//! chosen token store; errors and logs name the connection, the store and the
//! scopes, never a token.

mod flow;
mod loopback;
pub mod manager;
pub mod store;

use secrecy::SecretString;
use url::Url;

pub use flow::{connect_browser, connect_device, ConnectOptions};
pub use manager::TokenManager;
pub use store::{TokenRecord, TokenStore};

use crate::egress::Origin;
use crate::invoke::{AuthScheme, ConnectorInfo};
use crate::redact::Untrusted;
use crate::secrets::StoreError;

/// Why an OAuth step failed. Never carries a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The connection has no tokens yet.
    #[error("not connected: no tokens for this connection in {store}\nhint: run `{command}`")]
    NotConnected {
        /// Where tokens were looked for.
        store: String,
        /// The command to run.
        command: String,
    },
    /// Tokens exist but cannot be renewed.
    #[error("{reason}\nhint: reconnect with `{command}`")]
    Reconnect {
        /// Why.
        reason: String,
        /// The command to run.
        command: String,
    },
    /// The activity needs a scope the connection was not granted.
    #[error("activity {activity} needs scope {needed}; this connection was granted {granted}\nhint: reconnect with: {command}")]
    MissingScope {
        /// The activity.
        activity: String,
        /// Missing scopes, space-separated.
        needed: String,
        /// Granted scopes, space-separated.
        granted: String,
        /// The reconnect command with the scopes to ask for.
        command: String,
    },
    /// The user declined in the browser.
    #[error(
        "the sign-in was declined (access_denied)\nhint: run connect again and approve the access"
    )]
    AccessDenied,
    /// The redirect's `state` did not match: possibly forged, so refused.
    #[error("the redirect's state does not match the one sent; refusing it (possible CSRF)\nhint: run connect again, and use only the link it prints")]
    StateMismatch,
    /// The authorization server refused the client credentials.
    #[error("the authorization server refused the client credentials (invalid_client)\nhint: check client_id and client_secret in the connection's [fields]")]
    InvalidClient,
    /// Nobody completed the sign-in in time.
    #[error("no answer from the browser within {seconds} s\nhint: run connect again, or use --device on a machine without a browser")]
    Timeout {
        /// The timeout.
        seconds: u64,
    },
    /// Another OAuth error answer.
    #[error("the authorization server answered {}{}", Untrusted(.error), description.as_ref().map(|d| format!(": {}", Untrusted(d))).unwrap_or_default())]
    Server {
        /// The OAuth error code.
        error: String,
        /// Its description.
        description: Option<String>,
    },
    /// The token store failed.
    #[error("token store: {error}\nhint: {}", error.hint())]
    Store {
        /// What failed.
        error: StoreError,
    },
    /// Settings are missing or wrong.
    #[error("{0}")]
    Config(String),
}

/// What the host needs to talk to the authorization server.
pub struct OAuthSettings {
    /// The API key.
    pub client_id: String,
    /// Absent for public (PKCE or device-flow) clients.
    pub client_secret: Option<SecretString>,
    /// After endpoint overrides.
    pub authorize_url: Url,
    /// After endpoint overrides.
    pub token_url: Url,
    /// After endpoint overrides.
    pub device_url: Option<Url>,
    /// The loopback redirect.
    pub redirect_uri: Url,
}

impl OAuthSettings {
    /// Takes the server from `describe` and applies the connection's `[endpoints]`.
    pub fn new(
        info: &ConnectorInfo,
        overrides: &[(Origin, Origin)],
        client_id: String,
        client_secret: Option<SecretString>,
        redirect_uri: &str,
    ) -> Result<OAuthSettings, OAuthError> {
        let AuthScheme::Oauth2(server) = &info.auth else {
            return Err(OAuthError::Config(format!(
                "connector {} does not use OAuth2",
                info.name
            )));
        };
        let url = |u: &str| redirect(u, overrides);
        Ok(OAuthSettings {
            client_id,
            client_secret,
            authorize_url: url(&server.authorize_url)?,
            token_url: url(&server.token_url)?,
            device_url: server
                .device_authorize_url
                .as_deref()
                .map(url)
                .transpose()?,
            redirect_uri: Url::parse(redirect_uri)
                .map_err(|e| OAuthError::Config(format!("redirect_uri {redirect_uri:?}: {e}")))?,
        })
    }
}

/// Applies an `[endpoints]` override to an OAuth URL (same rule as egress).
fn redirect(url: &str, overrides: &[(Origin, Origin)]) -> Result<Url, OAuthError> {
    let mut parsed =
        Url::parse(url).map_err(|e| OAuthError::Config(format!("connector URL {url:?}: {e}")))?;
    let origin = Origin::parse(&parsed.origin().ascii_serialization()).ok();
    if let Some((_, to)) = overrides
        .iter()
        .find(|(from, _)| Some(from) == origin.as_ref())
    {
        let target = Url::parse(&to.to_string()).map_err(|e| OAuthError::Config(e.to_string()))?;
        let _ = parsed.set_scheme(target.scheme());
        let _ = parsed.set_host(target.host_str());
        let _ = parsed.set_port(target.port());
    }
    Ok(parsed)
}

/// The scopes to request: the connection's list, else the union of the
/// required scopes of the chosen activities (all by default), plus `offline_access`.
pub fn requested_scopes(
    info: &ConnectorInfo,
    activities: Option<&[String]>,
    explicit: Option<&[String]>,
) -> Vec<String> {
    if let Some(scopes) = explicit {
        return scopes.to_vec();
    }
    let mut scopes: Vec<String> = info
        .activities
        .iter()
        .filter(|a| activities.is_none_or(|only| only.contains(&a.name)))
        .flat_map(|a| a.required_scopes.iter().cloned())
        .collect();
    scopes.push("offline_access".into());
    scopes.sort();
    scopes.dedup();
    scopes
}
