//! OAuth2 connections: connect (authorization code with PKCE and `state` on a
//! loopback redirect, or the device flow), keep tokens in a token store,
//! refresh before expiry and after a 401, and check scopes before a call; or
//! the client-credentials grant ([`client_credentials`]), whose token lives in
//! memory only.
//!
//! Invariant: tokens and the client secret stay in `SecretString`s and in the
//! chosen token store; errors and logs name the connection, the store and the
//! scopes, never a token.

pub mod client_credentials;
pub mod endpoints;
mod flow;
mod loopback;
pub mod manager;
pub mod providers;
pub mod store;
mod token_file;

use secrecy::SecretString;
use url::Url;

pub use client_credentials::ClientGrant;
pub use endpoints::{Endpoints, PinnedBy};
pub use flow::{connect_browser, connect_device, Authorization, ConnectOptions};
pub use manager::TokenManager;
pub use store::{TokenRecord, TokenStore};

use crate::connection::OAuthConfig;
use crate::egress::Origin;
use crate::invoke::ConnectorInfo;
use crate::redact::{self, Untrusted};
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
    /// An endpoint URL cannot be used.
    #[error("OAuth {which} {problem}")]
    Endpoint {
        /// Which key, e.g. `token_url`.
        which: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The connector proposes another endpoint than the connection pins.
    #[error("the connector now names {which} {proposed}, but {by} pins {pinned}; nothing was sent\nhint: if the new URL is right, {fix} and connect again")]
    EndpointChanged {
        /// Which key.
        which: &'static str,
        /// Who pinned it: the connection, or the host's provider list.
        by: String,
        /// Where to change it.
        fix: String,
        /// What the connection pins.
        pinned: String,
        /// What the connector proposes now.
        proposed: String,
    },
    /// The connection has not pinned its endpoints, so nothing secret may be sent.
    #[error("this connection has no pinned OAuth endpoints, so its refresh token is not sent anywhere\nhint: run `{command}` (which pins them), or set [oauth] authorize_url and token_url")]
    NotPinned {
        /// The command to run.
        command: String,
    },
    /// A client-credentials connection has not pinned its token URL, so the
    /// client secret is sent nowhere.
    #[error("this connection has not pinned its OAuth token URL, so its client secret is sent nowhere\nhint: run `{command}` (which pins the URL the connector proposes and fetches a token), or set [oauth] token_url")]
    TokenUrlNotPinned {
        /// The command to run.
        command: String,
    },
    /// The tokens were issued by another token URL than the one pinned now.
    #[error("the stored tokens were issued by {issued_by}, but the connection now pins {pinned}; the refresh token is not sent to another server\nhint: reconnect with `{command}`")]
    TokenUrlChanged {
        /// The token URL the record remembers.
        issued_by: String,
        /// The pinned one.
        pinned: String,
        /// The command to run.
        command: String,
    },
}

/// What the host needs to talk to the authorization server.
pub struct OAuthSettings {
    /// The API key.
    pub client_id: String,
    /// Absent for public (PKCE or device-flow) clients.
    pub client_secret: Option<SecretString>,
    /// The endpoints as pinned (or, before the first connect, as proposed).
    pub endpoints: Endpoints,
    /// Whether the connection pins `endpoints` (refreshes need that).
    pub pinned: bool,
    /// Who chose `endpoints` when the connection does not pin them yet: the
    /// host's provider list, or (`None`) the connector's proposal.
    pub listed_in: Option<std::path::PathBuf>,
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
    /// The connection's pinned endpoints, else the host's provider list's
    /// entry for the connector, else (before the first connect) what
    /// `describe` proposes; pins are checked against the proposal, and
    /// `[endpoints]` overrides applied.
    ///
    /// # Errors
    ///
    /// [`OAuthError::Endpoint`], [`OAuthError::EndpointChanged`] or
    /// [`OAuthError::Config`].
    pub fn new(
        info: &ConnectorInfo,
        config: &OAuthConfig,
        overrides: &[(Origin, Origin)],
        client_id: String,
        client_secret: Option<SecretString>,
    ) -> Result<OAuthSettings, OAuthError> {
        let (endpoints, is_pinned, listed_in) = match Endpoints::pinned(config)? {
            Some(pinned) => {
                pinned.check(info, &PinnedBy::Connection)?;
                (pinned, true, None)
            }
            None => match providers::lookup(&info.name)? {
                Some((listed, path)) => {
                    listed.check(info, &PinnedBy::Providers(path.clone()))?;
                    (listed, false, Some(path))
                }
                None => (Endpoints::proposed(info)?, false, None),
            },
        };
        let url = |u: &Url| redirect(u.as_str(), overrides);
        let redirect_uri = &config.redirect_uri;
        Ok(OAuthSettings {
            client_id,
            client_secret,
            authorize_url: url(&endpoints.authorize)?,
            token_url: url(&endpoints.token)?,
            device_url: endpoints.device.as_ref().map(url).transpose()?,
            endpoints,
            pinned: is_pinned,
            listed_in,
            redirect_uri: Url::parse(redirect_uri).map_err(|_| {
                OAuthError::Config(format!(
                    "[oauth] redirect_uri {} is not a URL",
                    redact::url(redirect_uri)
                ))
            })?,
        })
    }
}

/// Applies an `[endpoints]` override to an OAuth URL (same rule as egress).
fn redirect(url: &str, overrides: &[(Origin, Origin)]) -> Result<Url, OAuthError> {
    let mut parsed = Url::parse(url)
        .map_err(|_| OAuthError::Config(format!("OAuth URL {} is not a URL", redact::url(url))))?;
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
