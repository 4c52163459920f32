//! Outgoing proxies from the environment: `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` (and their lowercase forms), with curl's
//! meaning (hyper-util's matcher).
//!
//! Invariants:
//! - the proxy never chooses the address: the host resolves the target's
//!   name itself, checks the addresses (see [`super::address`]) and asks the
//!   proxy for a tunnel (`CONNECT`) to the checked address, so a proxy inside
//!   the host's network cannot be used to reach that network. TLS runs
//!   inside the tunnel with the real name (SNI and certificate check), and
//!   plain `http` goes through a tunnel as well, never as a request the
//!   proxy would resolve;
//! - proxy credentials are secrets: remembered by the log guard
//!   ([`crate::redact::remember`]), sent only as `Proxy-Authorization` on the
//!   `CONNECT`, and a proxy is shown only as its origin.

use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use secrecy::SecretString;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::redact;

/// The variables a proxy is read from, as curl reads them.
const VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The process's proxy rules, read from the environment once.
pub(crate) struct Proxies {
    matcher: Matcher,
}

/// The proxy one target goes through.
pub(crate) struct Proxy {
    /// The proxy's own address, without credentials.
    uri: Uri,
    /// `Basic …` for `Proxy-Authorization`, when the proxy URL had credentials.
    auth: Option<HeaderValue>,
}

impl Proxies {
    /// The rules in the environment; credentials in them are remembered as secrets.
    pub(crate) fn from_env() -> Proxies {
        for name in VARIABLES {
            if let Ok(value) = std::env::var(name) {
                remember_credentials(&value);
            }
        }
        Proxies {
            matcher: Matcher::from_env(),
        }
    }

    /// The proxy for a target (`scheme://host:port`), unless `NO_PROXY` exempts it.
    pub(crate) fn for_target(&self, target: &Uri) -> Option<Proxy> {
        let intercept = self.matcher.intercept(target)?;
        Some(Proxy {
            uri: intercept.uri().clone(),
            auth: intercept.basic_auth().cloned(),
        })
    }
}

/// Remembers the user name, the password (raw and percent-decoded) and the
/// whole value of a proxy URL, so no log line can show them.
fn remember_credentials(value: &str) {
    let Ok(url) = url::Url::parse(value.trim()) else {
        return;
    };
    let decoded = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut secrets = vec![value.to_owned()];
    if !url.username().is_empty() {
        secrets.push(url.username().to_owned());
        secrets.push(decoded(url.username()));
    }
    if let Some(password) = url.password() {
        secrets.push(password.to_owned());
        secrets.push(decoded(password));
    }
    if secrets.len() == 1 {
        return;
    }
    for secret in secrets {
        redact::remember(&SecretString::from(secret));
    }
}

impl Proxy {
    /// The proxy as a person may see it: its origin only.
    pub(crate) fn shown(&self) -> String {
        redact::url(&self.uri.to_string())
    }

    /// A tunnel through the proxy to `address` (an IP literal and port, checked
    /// by the caller), or why not.
    pub(crate) async fn tunnel(
        &self,
        address: std::net::SocketAddr,
        timeout: Duration,
    ) -> Result<TcpStream, String> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let mut tunnel = Tunnel::new(self.uri.clone(), connector);
        if let Some(auth) = &self.auth {
            tunnel = tunnel.with_auth(auth.clone());
        }
        // `SocketAddr`'s display brackets IPv6 literals, as `CONNECT` wants.
        let target: Uri = format!("http://{address}")
            .parse()
            .map_err(|_| "the checked address is not a valid target".to_owned())?;
        match tunnel.call(target).await {
            Ok(io) => Ok(io.into_inner()),
            Err(error) => Err(tunnel_problem(&error)),
        }
    }
}

/// What went wrong opening a tunnel, as a clause. hyper-util does not export
/// its error type, so this goes by its fixed messages (never the proxy's text).
fn tunnel_problem(error: &dyn std::error::Error) -> String {
    let text = error.to_string();
    let problem = if text.contains("authorization required") {
        "it asks for credentials (HTTP 407): put them in the proxy URL"
    } else if text.contains("unsuccessful") {
        "it refused the tunnel"
    } else if text.contains("underlying connection") {
        "it cannot be reached"
    } else if text.contains("too long") {
        "its answer to CONNECT was too long"
    } else {
        "it closed the connection while opening the tunnel"
    };
    problem.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_remembered_and_never_shown() {
        remember_credentials("http://proxy-user-4471:canary%2Fproxy-pass-88@proxy.example:3128");
        let shown = redact::secrets_removed(
            "user proxy-user-4471 pass canary/proxy-pass-88 raw canary%2Fproxy-pass-88",
        );
        assert!(!shown.contains("proxy-user-4471"), "{shown}");
        assert!(!shown.contains("proxy-pass-88"), "{shown}");
        let matcher = Matcher::builder()
            .https("http://proxy-user-4471:canary%2Fproxy-pass-88@proxy.example:3128")
            .no("skip.example")
            .build();
        let proxies = Proxies { matcher };
        let proxy = proxies
            .for_target(&Uri::from_static("https://api.example"))
            .unwrap();
        assert_eq!(proxy.shown(), "http://proxy.example:3128");
        assert!(proxy.auth.as_ref().unwrap().is_sensitive());
        assert!(proxies
            .for_target(&Uri::from_static("https://a.skip.example"))
            .is_none());
        assert!(proxies
            .for_target(&Uri::from_static("http://api.example"))
            .is_none());
    }
}
