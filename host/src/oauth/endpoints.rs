//! The authorization server's URLs: proposed by the connector, decided by
//! the operator.
//!
//! Invariant (DESIGN §5.3): the URLs that receive the client secret, the
//! authorization code, the PKCE verifier and refresh tokens are the ones the
//! connection pins (`[oauth] authorize_url`, `token_url`,
//! `device_authorize_url`), written there by the first `connect` from what
//! `describe` proposes, or set by hand. Each is `https` without credentials;
//! plain `http` is reached only through an `[endpoints]` override (the
//! sandbox). A connector that later proposes other URLs is refused, naming
//! both, before anything is sent.

use url::Url;

use super::OAuthError;
use crate::connection::OAuthConfig;
use crate::invoke::{AuthScheme, ConnectorInfo};
use crate::redact::Untrusted;

/// The `[oauth]` keys that pin the endpoints, in the order they are written.
pub const KEYS: [&str; 3] = ["authorize_url", "token_url", "device_authorize_url"];

/// An authorization server's endpoints, before `[endpoints]` overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Where the browser signs in.
    pub authorize: Url,
    /// Where codes and refresh tokens are exchanged (and the secret sent).
    pub token: Url,
    /// The device-authorization endpoint, if the device flow is offered.
    pub device: Option<Url>,
}

impl Endpoints {
    /// What the connector's `describe` proposes.
    ///
    /// # Errors
    ///
    /// [`OAuthError::Config`] when the connector does not use OAuth2,
    /// [`OAuthError::Endpoint`] when a URL is not `https` or carries credentials.
    pub fn proposed(info: &ConnectorInfo) -> Result<Endpoints, OAuthError> {
        let AuthScheme::Oauth2(server) = &info.auth else {
            return Err(OAuthError::Config(format!(
                "connector {} does not use OAuth2",
                info.name
            )));
        };
        let from_connector = "the connector's describe";
        Ok(Endpoints {
            authorize: checked(KEYS[0], &server.authorize_url, from_connector)?,
            token: checked(KEYS[1], &server.token_url, from_connector)?,
            device: server
                .device_authorize_url
                .as_deref()
                .map(|u| checked(KEYS[2], u, from_connector))
                .transpose()?,
        })
    }

    /// What the connection pins; `None` until the first `connect`.
    ///
    /// # Errors
    ///
    /// [`OAuthError::Endpoint`] for a URL that is not `https`, or when only
    /// one of `authorize_url` and `token_url` is set.
    pub fn pinned(config: &OAuthConfig) -> Result<Option<Endpoints>, OAuthError> {
        Endpoints::pinned_in(config, "the connection's [oauth]")
    }

    /// [`Endpoints::pinned`], naming `from` (where the URLs were written) in
    /// its errors.
    ///
    /// # Errors
    ///
    /// As [`Endpoints::pinned`].
    pub fn pinned_in(config: &OAuthConfig, from: &str) -> Result<Option<Endpoints>, OAuthError> {
        let url =
            |key, text: &Option<String>| text.as_deref().map(|t| checked(key, t, from)).transpose();
        let authorize = url(KEYS[0], &config.authorize_url)?;
        let token = url(KEYS[1], &config.token_url)?;
        let device = url(KEYS[2], &config.device_authorize_url)?;
        match (authorize, token) {
            (Some(authorize), Some(token)) => Ok(Some(Endpoints {
                authorize,
                token,
                device,
            })),
            (None, None) if device.is_none() => Ok(None),
            _ => Err(OAuthError::Endpoint {
                which: "authorize_url and token_url",
                problem: "are pinned together: set both in [oauth], or neither".into(),
            }),
        }
    }

    /// Refuses when the connector now proposes other URLs than these, as
    /// text (so a proposal too broken to parse is still named).
    ///
    /// # Errors
    ///
    /// [`OAuthError::Config`] when the connector does not use OAuth2,
    /// [`OAuthError::EndpointChanged`] naming the first URL that differs.
    pub fn check(&self, info: &ConnectorInfo, by: &PinnedBy) -> Result<(), OAuthError> {
        let AuthScheme::Oauth2(server) = &info.auth else {
            return Err(OAuthError::Config(format!(
                "connector {} does not use OAuth2",
                info.name
            )));
        };
        let same = |pinned: &Url, proposed: &str| Url::parse(proposed).is_ok_and(|p| &p == pinned);
        let pairs = [
            (
                KEYS[0],
                Some(&self.authorize),
                Some(server.authorize_url.as_str()),
            ),
            (KEYS[1], Some(&self.token), Some(server.token_url.as_str())),
            (
                KEYS[2],
                self.device.as_ref(),
                server.device_authorize_url.as_deref(),
            ),
        ];
        for (which, pinned, proposed) in pairs {
            let matches = match (pinned, proposed) {
                (Some(p), Some(q)) => same(p, q),
                (None, None) => true,
                _ => false,
            };
            if !matches {
                return Err(OAuthError::EndpointChanged {
                    which,
                    by: by.who(),
                    fix: by.fix(which),
                    pinned: pinned.map_or("none".into(), Url::to_string),
                    proposed: proposed.map_or("none".into(), crate::redact::untrusted),
                });
            }
        }
        Ok(())
    }

    /// `(key, url)` pairs to pin in the connection file.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let mut entries = vec![
            (KEYS[0], self.authorize.to_string()),
            (KEYS[1], self.token.to_string()),
        ];
        if let Some(device) = &self.device {
            entries.push((KEYS[2], device.to_string()));
        }
        entries
    }
}

/// Who pinned a set of endpoints, for errors that say where to change them.
pub enum PinnedBy {
    /// The connection's `[oauth]` table.
    Connection,
    /// The host's provider list (`CONNECTOR_HOST_PROVIDERS`), at this path.
    Providers(std::path::PathBuf),
}

impl PinnedBy {
    pub(crate) fn who(&self) -> String {
        match self {
            PinnedBy::Connection => "this connection".into(),
            PinnedBy::Providers(path) => format!("the provider list {}", path.display()),
        }
    }

    pub(crate) fn fix(&self, which: &str) -> String {
        match self {
            PinnedBy::Connection => format!("set [oauth] {which} in the connection file to it"),
            PinnedBy::Providers(path) => {
                format!(
                    "change {which} in the connector's table of {}",
                    path.display()
                )
            }
        }
    }
}

/// Parses an endpoint URL: `https`, no user name or password, no fragment.
pub(crate) fn checked(which: &'static str, text: &str, from: &str) -> Result<Url, OAuthError> {
    let problem = |problem: String| OAuthError::Endpoint { which, problem };
    let url = Url::parse(text).map_err(|_| problem(format!("in {from} is not a URL")))?;
    if url.scheme() != "https" {
        let what = match which {
            "token_url" => "the client secret, authorization codes and refresh tokens go there",
            "device_authorize_url" => "the client credentials go there",
            _ => "the browser signs in there",
        };
        return Err(problem(format!(
            "in {from} is {}, not https: {what}\nhint: OAuth endpoints must be https; to use a local test server, keep the https URL and add an [endpoints] override for its origin",
            Untrusted(url.as_str())
        )));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(problem(format!(
            "in {from} carries credentials or a fragment"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(authorize: Option<&str>, token: Option<&str>) -> OAuthConfig {
        OAuthConfig {
            authorize_url: authorize.map(str::to_owned),
            token_url: token.map(str::to_owned),
            ..OAuthConfig::default()
        }
    }

    #[test]
    fn pins_must_be_https_and_come_in_pairs() {
        assert!(Endpoints::pinned(&config(None, None)).unwrap().is_none());
        let pinned = Endpoints::pinned(&config(
            Some("https://a.example/auth"),
            Some("https://a.example/token"),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(pinned.token.as_str(), "https://a.example/token");
        let http = Endpoints::pinned(&config(
            Some("https://a.example/auth"),
            Some("http://127.0.0.1:9/token"),
        ));
        assert!(matches!(
            http,
            Err(OAuthError::Endpoint {
                which: "token_url",
                ..
            })
        ));
        let half = Endpoints::pinned(&config(Some("https://a.example/auth"), None));
        assert!(matches!(half, Err(OAuthError::Endpoint { .. })));
        let creds = Endpoints::pinned(&config(
            Some("https://u:p@a.example/auth"),
            Some("https://a.example/t"),
        ));
        assert!(matches!(
            creds,
            Err(OAuthError::Endpoint {
                which: "authorize_url",
                ..
            })
        ));
    }

    #[test]
    fn a_changed_proposal_names_both_urls() {
        let url = |s: &str| Url::parse(s).unwrap();
        let pinned = Endpoints {
            authorize: url("https://a.example/auth"),
            token: url("https://a.example/token"),
            device: None,
        };
        let info = |token: &str, device: Option<&str>| ConnectorInfo {
            name: "c".into(),
            version: "1".into(),
            description: String::new(),
            auth: AuthScheme::Oauth2(crate::invoke::OAuth2 {
                authorize_url: "https://a.example/auth".into(),
                token_url: token.into(),
                device_authorize_url: device.map(str::to_owned),
                scopes: Vec::new(),
                client_auth: "basic".into(),
                pkce: true,
            }),
            fields: Vec::new(),
            egress_origins: Vec::new(),
            activities: Vec::new(),
            rate_limits: Vec::new(),
            triggers: Vec::new(),
            icon: None,
            extra_keys: Vec::new(),
        };
        assert!(pinned
            .check(
                &info("https://a.example/token", None),
                &PinnedBy::Connection
            )
            .is_ok());
        let err = pinned
            .check(
                &info("http://evil.example:1/token", None),
                &PinnedBy::Connection,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("https://a.example/token") && err.contains("http://evil.example:1/token"),
            "{err}"
        );
        assert!(matches!(
            pinned.check(
                &info("https://a.example/token", Some("https://a.example/device")),
                &PinnedBy::Connection
            ),
            Err(OAuthError::EndpointChanged {
                which: "device_authorize_url",
                ..
            })
        ));
    }
}
