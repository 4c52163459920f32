//! Origins: `scheme://host:port`, the unit egress is allowed, redirected
//! and credentialed by.

use std::fmt;

use http::Uri;

/// A `scheme://host:port` triple, the unit egress is allowed by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `http(s)://host[:port]` (no path, query or credentials).
    ///
    /// # Errors
    ///
    /// A sentence saying what is wrong.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url = url::Url::parse(text).map_err(|e| e.to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the scheme must be http or https".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("credentials are not allowed in an origin".into());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("an origin has no path, query or fragment".into());
        }
        let host = url
            .host_str()
            .ok_or("an origin needs a host")?
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        let port = url
            .port_or_known_default()
            .ok_or("an origin needs a port")?;
        Ok(Origin {
            scheme: url.scheme().into(),
            host,
            port,
        })
    }

    /// The origin of a URL (its path and query dropped); `None` for other
    /// schemes, credentials in it, or no host.
    pub fn of_url(url: &url::Url) -> Option<Origin> {
        let mut bare = url.clone();
        bare.set_path("");
        bare.set_query(None);
        bare.set_fragment(None);
        Origin::parse(bare.as_str()).ok()
    }

    /// The origin of a request URI as the guest built it.
    pub(crate) fn of_uri(uri: &Uri) -> Option<Origin> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        Some(Origin {
            host: authority
                .host()
                .trim_matches(['[', ']'])
                .to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default),
            scheme,
        })
    }

    pub(crate) fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = (self.scheme == "http" && self.port == 80)
            || (self.scheme == "https" && self.port == 443);
        if default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority())
    }
}

impl Origin {
    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host name or IP literal (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (the scheme's default when the text had none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            Origin::parse("https://API.cc.email").unwrap(),
            Origin::parse("https://api.cc.email:443").unwrap()
        );
        assert_ne!(
            Origin::parse("http://api.cc.email").unwrap(),
            Origin::parse("https://api.cc.email").unwrap()
        );
        assert!(Origin::parse("https://a.example/v3").is_err());
        assert!(Origin::parse("ftp://a.example").is_err());
        assert!(Origin::parse("https://u:p@a.example").is_err());
        assert_eq!(
            Origin::parse("http://[::1]:8080").unwrap().to_string(),
            "http://[::1]:8080"
        );
    }
}
