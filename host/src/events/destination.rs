//! The webhook URL a user chooses: an egress target like a connector's
//! origin, under the same address rules (DESIGN §5.2).
//!
//! Invariants: `https` only; no user name or password in the URL; the name
//! must not resolve to a loopback, private, link-local (cloud metadata) or
//! otherwise non-public address — checked here when the URL is given, and
//! again on every connection by the pooled client ([`crate::egress`]), which
//! connects only to an address it has just checked, so a second DNS answer
//! (rebinding) cannot pass. Only an origin the operator allows
//! (`webhook_destinations` in `serve`'s config) may be plain `http` or
//! point at such an address.

use std::net::IpAddr;

use crate::egress::{is_public, Origin};
use crate::redact::Untrusted;

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// Not an absolute `http(s)` URL with a host, or it carries credentials
    /// or a fragment.
    #[error("the webhook URL is not an https URL with a host, without user name, password or fragment\nhint: give the receiver's full URL, e.g. https://hooks.example.com/events")]
    Malformed,
    /// Plain `http` to an origin the operator does not allow.
    #[error("the webhook URL must be https (deliveries carry your data)\nhint: only an origin listed in the serve config's webhook_destinations may be plain http")]
    NotHttps,
    /// The name does not resolve.
    #[error("the webhook URL's host {} does not resolve\nhint: check the name", Untrusted(.0))]
    Unresolvable(String),
    /// The name resolves to an address that is not public.
    #[error("the webhook URL's host {} resolves to {address}, which is not a public address (loopback, private, link-local or metadata)\nhint: the operator may allow such a destination with webhook_destinations in the serve config", Untrusted(.host))]
    NotPublic {
        /// The URL's host.
        host: String,
        /// The address it resolved to.
        address: IpAddr,
    },
}

/// A webhook URL that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The URL.
    pub url: url::Url,
    /// Whether the operator allows its origin (plain `http`, any address).
    pub allowed: bool,
}

impl Destination {
    /// Checks `text` against the rules, without resolving the name; see
    /// [`Destination::resolve_check`] for the address rules.
    ///
    /// # Errors
    ///
    /// [`DestinationError::Malformed`] or [`DestinationError::NotHttps`].
    pub fn parse(text: &str, allowances: &[Origin]) -> Result<Destination, DestinationError> {
        let url = url::Url::parse(text).map_err(|_| DestinationError::Malformed)?;
        let origin = Origin::of_url(&url).ok_or(DestinationError::Malformed)?;
        if url.fragment().is_some() || url.host_str().is_none_or(str::is_empty) {
            return Err(DestinationError::Malformed);
        }
        let allowed = allowances.contains(&origin);
        if !allowed && !origin.is_https() {
            return Err(DestinationError::NotHttps);
        }
        Ok(Destination { url, allowed })
    }

    /// Resolves the host and refuses it when any of its addresses is not
    /// public (unless the operator allows the origin). The pooled client
    /// checks the address it connects to again on every connection.
    ///
    /// # Errors
    ///
    /// [`DestinationError::Unresolvable`] or [`DestinationError::NotPublic`].
    pub async fn resolve_check(&self) -> Result<(), DestinationError> {
        if self.allowed {
            return Ok(());
        }
        let host = self
            .url
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_owned();
        let port = self.url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|_| DestinationError::Unresolvable(host.clone()))?
                .map(|a| a.ip())
                .collect(),
        };
        if addresses.is_empty() {
            return Err(DestinationError::Unresolvable(host));
        }
        match addresses.into_iter().find(|ip| !is_public(*ip)) {
            Some(address) => Err(DestinationError::NotPublic { host, address }),
            None => Ok(()),
        }
    }

    /// The URL as shown in answers and logs ([`shown`]).
    pub fn shown(&self) -> String {
        shown(&self.url)
    }
}

/// A webhook URL as shown in answers, logs and the page: without its query,
/// which may carry a receiver's token.
pub fn shown(url: &url::Url) -> String {
    let mut bare = url.clone();
    let query = bare.query().is_some();
    bare.set_query(None);
    let tail = if query { "?…" } else { "" };
    crate::redact::untrusted(&format!("{bare}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowances() -> Vec<Origin> {
        vec![Origin::parse("http://127.0.0.1:9000").unwrap()]
    }

    #[test]
    fn only_https_unless_the_operator_allows_the_origin() {
        let ok = Destination::parse("https://hooks.example.com/in?x=1", &[]).unwrap();
        assert!(!ok.allowed);
        assert_eq!(
            Destination::parse("http://hooks.example.com/in", &[]),
            Err(DestinationError::NotHttps)
        );
        let allowed = Destination::parse("http://127.0.0.1:9000/in", &allowances()).unwrap();
        assert!(allowed.allowed);
        assert_eq!(
            Destination::parse("http://127.0.0.1:9001/in", &allowances()),
            Err(DestinationError::NotHttps)
        );
        for bad in [
            "ftp://x/",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#f",
            "/relative",
        ] {
            assert_eq!(
                Destination::parse(bad, &[]),
                Err(DestinationError::Malformed),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn loopback_private_and_metadata_addresses_are_refused() {
        for url in [
            "https://127.0.0.1/x",
            "https://10.0.0.8/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[::ffff:169.254.169.254]/x",
            "https://localhost/x",
        ] {
            let destination = Destination::parse(url, &[]).unwrap();
            assert!(
                matches!(
                    destination.resolve_check().await,
                    Err(DestinationError::NotPublic { .. })
                ),
                "{url}"
            );
        }
        let allowed = Destination::parse("http://127.0.0.1:9000/x", &allowances()).unwrap();
        assert_eq!(allowed.resolve_check().await, Ok(()));
    }
}
