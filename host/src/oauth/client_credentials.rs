//! The OAuth2 client-credentials grant (RFC 6749 §4.4, sdk 0.4.0): a machine
//! credential, such as Constant Contact's partner token.
//!
//! The host asks the token endpoint for an access token with the
//! connection's `client_id` and `client_secret` (any field source: a literal,
//! a variable, a file or a credential asset, resolved like every secret
//! field). The token is kept in memory only, never in a file or a store: a
//! new process asks again. It is renewed ahead of its expiry (the same
//! margin as refreshed tokens) and after the API refused it with a 401 the
//! host itself saw; requests for a new token are serialised, so several calls
//! needing one share one request.
//!
//! Invariant (DESIGN §5.3): the client secret goes only to the token URL the
//! connection pins (`[oauth] token_url`, written by `connect` from the
//! connector's proposal, or by hand). A connector that later proposes another
//! is refused before anything is sent, and without a pin nothing is sent.

use std::sync::atomic::{AtomicBool, Ordering};

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::endpoints::{checked, PinnedBy};
use super::manager::due;
use super::store::{now, TokenRecord};
use super::{flow, redirect, OAuthError};
use crate::connection::OAuthConfig;
use crate::egress::Origin;
use crate::invoke::{AuthScheme, ClientCredentials, ConnectorInfo};

/// The `[oauth]` key that pins the token URL.
const TOKEN_URL: &str = "token_url";

/// One connection's client-credentials grant and its cached token.
pub struct ClientGrant {
    client_id: String,
    client_secret: SecretString,
    /// `Authorization: Basic` (else the form body).
    basic: bool,
    scopes: Vec<String>,
    /// The token URL as the connection pins it (or, before `connect`, as the
    /// connector proposes it).
    endpoint: Url,
    /// Whether the connection pins `endpoint`: nothing is sent until it does.
    pinned: AtomicBool,
    /// `endpoint` after `[endpoints]` overrides: where requests go.
    target: Url,
    /// The connection file, for hints.
    connection: String,
    /// One token request at a time.
    lock: tokio::sync::Mutex<()>,
    /// The token last issued (memory only).
    known: std::sync::Mutex<Option<TokenRecord>>,
}

impl std::fmt::Debug for ClientGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientGrant")
            .field("token_url", &self.endpoint.as_str())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl ClientGrant {
    /// The grant `info` describes, against the token URL `config` pins
    /// (checked against the proposal), with `[endpoints]` applied.
    ///
    /// # Errors
    ///
    /// [`OAuthError::Config`] when the connector does not use the grant or
    /// asks for client authentication `none`; [`OAuthError::Endpoint`] for a
    /// URL that is not `https`; [`OAuthError::EndpointChanged`] when the
    /// connector now proposes another token URL than the pinned one.
    pub fn new(
        info: &ConnectorInfo,
        config: Option<&OAuthConfig>,
        overrides: &[(Origin, Origin)],
        client_id: String,
        client_secret: SecretString,
        connection: String,
    ) -> Result<ClientGrant, OAuthError> {
        let scheme = scheme(info)?;
        let basic = match scheme.client_auth.as_str() {
            "basic" => true,
            "request_body" => false,
            other => {
                return Err(OAuthError::Config(format!(
                    "connector {} asks for client authentication {} for a client-credentials grant, which needs basic or request_body",
                    info.name,
                    crate::redact::untrusted(other)
                )))
            }
        };
        let pinned = config.and_then(|c| c.token_url.as_deref());
        let endpoint = match pinned {
            Some(text) => {
                let pinned = checked(TOKEN_URL, text, "the connection's [oauth]")?;
                let same = Url::parse(&scheme.token_url).is_ok_and(|p| p == pinned);
                if !same {
                    let by = PinnedBy::Connection;
                    return Err(OAuthError::EndpointChanged {
                        which: TOKEN_URL,
                        by: by.who(),
                        fix: by.fix(TOKEN_URL),
                        pinned: pinned.to_string(),
                        proposed: crate::redact::untrusted(&scheme.token_url),
                    });
                }
                pinned
            }
            None => checked(TOKEN_URL, &scheme.token_url, "the connector's describe")?,
        };
        let scopes = config
            .and_then(|c| c.scopes.clone())
            .unwrap_or_else(|| scheme.scopes.clone());
        Ok(ClientGrant {
            client_id,
            client_secret,
            basic,
            scopes,
            target: redirect(endpoint.as_str(), overrides)?,
            endpoint,
            pinned: AtomicBool::new(pinned.is_some()),
            connection,
            lock: tokio::sync::Mutex::new(()),
            known: std::sync::Mutex::new(None),
        })
    }

    /// The token URL (pinned, or proposed before `connect`), before overrides.
    pub fn token_url(&self) -> &Url {
        &self.endpoint
    }

    /// Whether the connection pins the token URL.
    pub fn pinned(&self) -> bool {
        self.pinned.load(Ordering::SeqCst)
    }

    /// Says the front end has just written the pin into the connection.
    pub fn pin(&self) {
        self.pinned.store(true, Ordering::SeqCst);
    }

    /// The `[oauth]` entry that pins the token URL.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        vec![(TOKEN_URL, self.endpoint.to_string())]
    }

    /// The client id, for rate-limit keys (never a secret).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// A token that lives on past the renewal margin. `rejected` is one the
    /// API just refused: a new one is asked for unless another call already
    /// replaced it.
    ///
    /// # Errors
    ///
    /// [`OAuthError::TokenUrlNotPinned`] before `connect`,
    /// [`OAuthError::InvalidClient`] when the server refuses the client, or
    /// the server's own error.
    pub async fn fresh(&self, rejected: Option<&SecretString>) -> Result<TokenRecord, OAuthError> {
        let usable = |record: &TokenRecord| {
            let refused =
                rejected.is_some_and(|r| r.expose_secret() == record.access_token.expose_secret());
            !refused && !due(record, 0)
        };
        if let Some(known) = self.known().filter(usable) {
            return Ok(known);
        }
        let _one_at_a_time = self.lock.lock().await;
        // Another call may have renewed it while this one waited.
        if let Some(known) = self.known().filter(usable) {
            return Ok(known);
        }
        if !self.pinned() {
            return Err(OAuthError::TokenUrlNotPinned {
                command: format!("connector-host connect {}", self.connection),
            });
        }
        let record = crate::metrics::refreshed(self.request().await)?;
        tracing::info!("access token issued by the client-credentials grant");
        crate::audit::token_refreshed(&self.connection);
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Some(record.clone());
        Ok(record)
    }

    fn known(&self) -> Option<TokenRecord> {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fails unless the token was granted every scope in `required`.
    ///
    /// # Errors
    ///
    /// [`OAuthError::Config`] naming the activity, the missing and granted
    /// scopes, and what to change.
    pub fn check_scopes(
        &self,
        record: &TokenRecord,
        activity: &str,
        required: &[String],
    ) -> Result<(), OAuthError> {
        let missing: Vec<&str> = required
            .iter()
            .filter(|s| !record.scopes.contains(s))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(OAuthError::Config(format!(
            "activity {activity} needs scope {}; the token endpoint granted {}\nhint: ask the API's provider to allow the scope for this client, or list it in [oauth] scopes of {}",
            missing.join(" "),
            record.scopes.join(" "),
            self.connection
        )))
    }

    /// Asks the token endpoint for a token.
    async fn request(&self) -> Result<TokenRecord, OAuthError> {
        let auth = if self.basic {
            AuthType::BasicAuth
        } else {
            AuthType::RequestBody
        };
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_type(auth)
            .set_token_uri(TokenUrl::from_url(self.target.clone()));
        let token = client
            .exchange_client_credentials()
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .request_async(&flow::http()?)
            .await
            .map_err(flow::token_error)?;
        let issued_at = now();
        let lifetime = token.expires_in().map_or(3_600_000, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
        });
        let record = TokenRecord {
            access_token: SecretString::from(token.access_token().secret().to_owned()),
            // The grant has none; a server that sends one anyway is ignored.
            refresh_token: None,
            issued_at,
            expires_at: issued_at.saturating_add(lifetime),
            scopes: token.scopes().map_or_else(
                || self.scopes.clone(),
                |s| s.iter().map(|x| x.to_string()).collect(),
            ),
            claim_until: 0,
            claim_id: String::new(),
            token_url: Some(self.endpoint.to_string()),
            refused_at: 0,
        };
        record.remember();
        Ok(record)
    }
}

/// The connector's client-credentials scheme.
fn scheme(info: &ConnectorInfo) -> Result<&ClientCredentials, OAuthError> {
    match &info.auth {
        AuthScheme::Oauth2ClientCredentials(scheme) => Ok(scheme),
        _ => Err(OAuthError::Config(format!(
            "connector {} does not use the OAuth2 client-credentials grant",
            info.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(token_url: &str, client_auth: &str) -> ConnectorInfo {
        let mut info: ConnectorInfo = serde_json::from_value(serde_json::json!({
            "name": "partner", "version": "1", "description": "",
            "auth": "none", "fields": [], "egress_origins": [], "activities": []
        }))
        .unwrap();
        info.auth = AuthScheme::Oauth2ClientCredentials(ClientCredentials {
            token_url: token_url.into(),
            scopes: vec!["v3api/general.partner".into()],
            client_auth: client_auth.into(),
        });
        info
    }

    fn grant(info: &ConnectorInfo, pinned: Option<&str>) -> Result<ClientGrant, OAuthError> {
        let config = OAuthConfig {
            token_url: pinned.map(str::to_owned),
            ..OAuthConfig::default()
        };
        ClientGrant::new(
            info,
            Some(&config),
            &[],
            "id".into(),
            SecretString::from("canary-secret".to_owned()),
            "p.toml".into(),
        )
    }

    #[test]
    fn a_token_url_other_than_the_pinned_one_is_refused_naming_both() {
        let info = info("https://auth.example/oauth2/token", "basic");
        let error = grant(&info, Some("https://other.example/oauth2/token")).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, OAuthError::EndpointChanged { .. }),
            "{text}"
        );
        assert!(
            text.contains("https://other.example/oauth2/token"),
            "{text}"
        );
        assert!(text.contains("https://auth.example/oauth2/token"), "{text}");
        assert!(grant(&info, Some("https://auth.example/oauth2/token"))
            .unwrap()
            .pinned());
    }

    #[test]
    fn plain_http_public_clients_and_debug_output_are_refused_or_redacted() {
        let http = info("http://auth.example/oauth2/token", "basic");
        assert!(matches!(
            grant(&http, None).unwrap_err(),
            OAuthError::Endpoint { .. }
        ));
        let public = info("https://auth.example/oauth2/token", "none");
        assert!(matches!(
            grant(&public, None).unwrap_err(),
            OAuthError::Config(_)
        ));
        let ok = grant(&info("https://auth.example/t", "request_body"), None).unwrap();
        assert!(!ok.pinned());
        assert!(!format!("{ok:?}").contains("canary-secret"));
    }

    #[tokio::test]
    async fn nothing_is_sent_before_the_token_url_is_pinned() {
        let info = info("https://auth.example/oauth2/token", "basic");
        let error = grant(&info, None).unwrap().fresh(None).await.unwrap_err();
        assert!(
            matches!(error, OAuthError::TokenUrlNotPinned { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("connector-host connect p.toml"));
    }
}
