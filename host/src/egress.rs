//! The egress hook: every HTTP request a guest makes passes through here.
//!
//! Invariants kept (DESIGN §5):
//! - deny by default: scheme, host and port must match an origin the connector
//!   declared in `describe`; everything else answers `HttpRequestDenied`;
//! - the guest can neither set nor read `Authorization`: the header is
//!   forbidden for guests, and the host adds the bearer token only to requests
//!   it has allowed;
//! - endpoint overrides from the connection redirect a declared origin (for
//!   example to the sandbox) after the check, so an override never widens
//!   what the connector may reach;
//! - response bodies are capped.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use http::header::{AUTHORIZATION, HOST};
use http::{HeaderName, HeaderValue, Uri};
use http_body_util::{BodyExt, Limited};
use secrecy::{ExposeSecret, SecretString};
use wasmtime_wasi_http::{
    ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks, DEFAULT_FORBIDDEN_HEADERS,
};

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

    /// The origin of a request URI as the guest built it.
    fn of_uri(uri: &Uri) -> Option<Origin> {
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

    fn authority(&self) -> String {
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

/// What a connector may reach during one call, and with which credential.
#[derive(Debug)]
pub struct EgressPolicy {
    /// Origins the connector declared.
    pub allowed: Vec<Origin>,
    /// Redirects applied after the check (declared origin → real origin).
    pub overrides: Vec<(Origin, Origin)>,
    /// Injected as `Authorization: Bearer` into allowed requests.
    pub bearer: Option<SecretString>,
    /// Largest response body handed to the guest.
    pub max_response_bytes: u64,
}

/// Something the hook refused or cut short during a call, for the person's error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EgressEvent {
    /// A request to an origin the connector did not declare (or a malformed URI).
    Denied {
        /// The origin asked for, as far as it could be read.
        origin: String,
    },
    /// A response body passed the size cap.
    ResponseTooLarge {
        /// The allowed origin that sent it.
        origin: String,
        /// The cap in bytes.
        limit: u64,
    },
}

/// The per-call hook state (one per store).
pub struct EgressHooks {
    policy: Arc<EgressPolicy>,
    events: Arc<Mutex<Vec<EgressEvent>>>,
}

impl EgressHooks {
    /// Hooks enforcing `policy`; what they refuse is appended to `events`.
    pub fn new(policy: Arc<EgressPolicy>, events: Arc<Mutex<Vec<EgressEvent>>>) -> Self {
        EgressHooks { policy, events }
    }

    fn record(&self, event: EgressEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }

    /// Checks a request and rewrites it for the wire, or says why not.
    fn admit(&self, request: &mut http::Request<WasiBody>) -> Result<Origin, EgressEvent> {
        let denied = |origin: String| EgressEvent::Denied { origin };
        let asked =
            Origin::of_uri(request.uri()).ok_or_else(|| denied(request.uri().to_string()))?;
        if !self.policy.allowed.contains(&asked) {
            return Err(denied(asked.to_string()));
        }
        let target = self
            .policy
            .overrides
            .iter()
            .find(|(from, _)| *from == asked)
            .map_or(asked.clone(), |(_, to)| to.clone());
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        *request.uri_mut() = Uri::builder()
            .scheme(target.scheme.as_str())
            .authority(target.authority())
            .path_and_query(path)
            .build()
            .map_err(|_| denied(asked.to_string()))?;
        let headers = request.headers_mut();
        if let Ok(host) = HeaderValue::from_str(&target.authority()) {
            headers.insert(HOST, host);
        }
        if let Some(token) = &self.policy.bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| denied(asked.to_string()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(asked)
    }
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for EgressHooks {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        // The credential is the host's business alone: a guest that could set
        // `Authorization` could send its own token to an allowed origin, and
        // one that could read it back could leak it.
        Arc::new(|name: &HeaderName| {
            *name == AUTHORIZATION || DEFAULT_FORBIDDEN_HEADERS.contains(name)
        })
    }

    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let origin = match self.admit(&mut request) {
            Ok(origin) => origin,
            Err(event) => {
                tracing::warn!(?event, "egress denied");
                self.record(event);
                return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
            }
        };
        let limit = self.policy.max_response_bytes;
        let events = self.events.clone();
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let response = response.map(|body| {
                Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX))
                    .map_err(move |e| body_error(e, &origin, limit, &events))
                    .boxed_unsync()
            });
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// Turns `Limited`'s boxed error back into the wasi-http error the guest understands.
fn body_error(
    error: Box<dyn std::error::Error + Send + Sync>,
    origin: &Origin,
    limit: u64,
    events: &Mutex<Vec<EgressEvent>>,
) -> wasmtime_wasi_http::Error {
    match error.downcast::<wasmtime_wasi_http::Error>() {
        Ok(inner) => *inner,
        Err(other) if other.is::<http_body_util::LengthLimitError>() => {
            let event = EgressEvent::ResponseTooLarge {
                origin: origin.to_string(),
                limit,
            };
            events.lock().unwrap_or_else(|e| e.into_inner()).push(event);
            wasmtime_wasi_http::Error::HttpResponseBodySize(Some(limit))
        }
        Err(other) => wasmtime_wasi_http::Error::InternalError(Some(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(allowed: &[&str], overrides: &[(&str, &str)]) -> EgressHooks {
        let o = |s: &&str| Origin::parse(s).unwrap();
        let policy = EgressPolicy {
            allowed: allowed.iter().map(o).collect(),
            overrides: overrides.iter().map(|(a, b)| (o(a), o(b))).collect(),
            bearer: Some("tok-1".to_owned().into()),
            max_response_bytes: 1024,
        };
        EgressHooks::new(Arc::new(policy), Default::default())
    }

    fn request(uri: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Empty::new()
            .map_err(|_| unreachable!())
            .boxed_unsync();
        http::Request::builder().uri(uri).body(body).unwrap()
    }

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
    }

    #[test]
    fn undeclared_origin_is_denied() {
        let h = hooks(&["https://api.cc.email"], &[]);
        for uri in [
            "https://evil.example/v3",
            "http://api.cc.email/v3",
            "https://api.cc.email:8443/v3",
            "https://x@api.cc.email/",
        ] {
            assert!(
                matches!(h.admit(&mut request(uri)), Err(EgressEvent::Denied { .. })),
                "{uri}"
            );
        }
    }

    #[test]
    fn allowed_request_is_redirected_and_gets_the_token() {
        let h = hooks(
            &["https://api.cc.email"],
            &[("https://api.cc.email", "http://127.0.0.1:8911")],
        );
        let mut r = request("https://api.cc.email/v3/contacts?limit=2");
        h.admit(&mut r).unwrap();
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:8911/v3/contacts?limit=2"
        );
        assert_eq!(r.headers()[HOST], "127.0.0.1:8911");
        assert_eq!(r.headers()[AUTHORIZATION], "Bearer tok-1");
        assert!(r.headers()[AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn guests_may_not_set_authorization() {
        let filter = hooks(&[], &[]).forbidden_header_filter();
        assert!(filter(&AUTHORIZATION));
        assert!(filter(&HOST));
        assert!(!filter(&http::header::ACCEPT));
    }
}
