//! The egress hook: every HTTP request a guest makes passes through here.
//!
//! Invariants kept (DESIGN §5.1, §5.2, §5.6):
//! - deny by default: scheme, host and port must match an origin the connector
//!   declared in `describe`; everything else answers `HttpRequestDenied`;
//! - endpoint overrides from the connection redirect a declared origin (for
//!   example to the sandbox) after the check, so an override never widens
//!   what the connector may reach;
//! - the address actually connected must be public unless an override chose
//!   it ([`address`], [`transport`]);
//! - the guest can neither set nor read the credential's header: it is
//!   forbidden for guests, and the host adds the credential only to requests
//!   to the origins it is bound to ([`bound_origins`]): declared `https`
//!   origins, and plain `http` ones only where an override redirects them;
//! - outgoing requests are counted (in total and at once) and response
//!   bodies are capped, per call.

mod address;
mod body;
mod origin;
mod transport;

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{AUTHORIZATION, HOST};
use http::{HeaderName, HeaderValue, Uri};
use secrecy::{ExposeSecret, SecretString};
use wasmtime_wasi_http::{
    ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks, DEFAULT_FORBIDDEN_HEADERS,
};

pub use address::is_public;
pub use origin::Origin;
pub use transport::Transport;

use crate::redact::Untrusted;

/// The size of one write into an outgoing body (wasi-http buffers one chunk
/// per body): small, so the bodies a guest keeps open stay cheap.
const BODY_CHUNK: usize = 64 << 10;

/// A credential the host adds to requests; the guest never sees it.
#[derive(Clone)]
pub enum Credential {
    /// A request header, e.g. `Authorization: Bearer …` or `x-api-key: …`.
    Header {
        /// The header's name (forbidden to the guest).
        name: HeaderName,
        /// The whole value, prefix included.
        value: SecretString,
    },
    /// A query parameter appended to the request's query.
    Query {
        /// The parameter's name.
        name: String,
        /// Its value (percent-encoded when added).
        value: SecretString,
    },
}

impl Credential {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: &SecretString) -> Credential {
        Credential::Header {
            name: AUTHORIZATION,
            value: SecretString::from(format!("Bearer {}", token.expose_secret())),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Header { name, .. } => write!(f, "Credential::Header({name}: [redacted])"),
            Credential::Query { name, .. } => write!(f, "Credential::Query({name}=[redacted])"),
        }
    }
}

/// What a connector may reach during one call, and with which credential.
#[derive(Debug)]
pub struct EgressPolicy {
    /// Origins the connector declared.
    pub allowed: Vec<Origin>,
    /// Redirects applied after the check (declared origin → real origin).
    pub overrides: Vec<(Origin, Origin)>,
    /// Added to requests to the origins in `bound`.
    pub credential: Option<Credential>,
    /// Declared origins the credential is bound to ([`bound_origins`]).
    pub bound: Vec<Origin>,
    /// Largest response body handed to the guest.
    pub max_response_bytes: u64,
    /// Requests per call.
    pub max_requests: usize,
    /// Requests in flight at once.
    pub max_concurrent: usize,
    /// When the call must be over; connect and first-byte waits end there.
    pub deadline: Instant,
}

/// The declared origins a credential goes to: every declared `https` origin,
/// and a plain `http` one only when an `[endpoints]` override redirects it
/// (the operator chose where it really goes). `narrowed` (the connection's
/// `[token] origins`) keeps only the origins it names.
///
/// # Errors
///
/// A sentence when `narrowed` names an origin the connector does not declare,
/// or a plain `http` origin without an override.
pub fn bound_origins(
    declared: &[Origin],
    overrides: &[(Origin, Origin)],
    narrowed: Option<&[Origin]>,
) -> Result<Vec<Origin>, String> {
    let overridden = |o: &Origin| overrides.iter().any(|(from, _)| from == o);
    let eligible = |o: &Origin| o.is_https() || overridden(o);
    let Some(narrowed) = narrowed else {
        return Ok(declared.iter().filter(|o| eligible(o)).cloned().collect());
    };
    for origin in narrowed {
        if !declared.contains(origin) {
            return Err(format!("{origin} is not an origin the connector declares"));
        }
        if !eligible(origin) {
            return Err(format!(
                "{origin} is plain http: a credential goes there only when [endpoints] redirects it"
            ));
        }
    }
    Ok(narrowed.to_vec())
}

/// Something the hook refused, cut short or noticed during a call, for the
/// person's error and for the call pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EgressEvent {
    /// A request to an origin the connector did not declare (or a malformed URI).
    Denied {
        /// The origin asked for, as far as it could be read.
        origin: String,
    },
    /// The origin resolved to an address that is not public, without an override.
    AddressRefused {
        /// The declared origin.
        origin: String,
        /// The address it resolved to.
        address: IpAddr,
    },
    /// The call sent as many requests as `max_requests` allows.
    TooManyRequests {
        /// The limit.
        limit: usize,
    },
    /// As many requests were in flight as `max_concurrent_requests` allows.
    TooManyConcurrent {
        /// The limit.
        limit: usize,
    },
    /// A response body passed the size cap.
    ResponseTooLarge {
        /// The allowed origin that sent it.
        origin: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// A request was still waiting when the call's deadline came.
    DeadlineReached {
        /// The origin waited on.
        origin: String,
    },
    /// An origin answered 401 to a request that carried the credential: the
    /// host saw it itself, so only then is the credential renewed.
    CredentialRefused {
        /// The origin.
        origin: String,
    },
}

impl fmt::Display for EgressEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EgressEvent::Denied { origin } => write!(
                f,
                "egress to {} was denied: the connector does not declare this origin\nhint: a connector may reach only the origins it declares (see `connector-host describe`); [endpoints] in the connection file can redirect a declared origin, not add one",
                Untrusted(origin)
            ),
            EgressEvent::AddressRefused { origin, address } => write!(
                f,
                "egress to {} was refused: it resolves to {address}, which is not a public address (loopback, private, link-local or unspecified)\nhint: only an [endpoints] override in the connection file may point a connector at such an address",
                Untrusted(origin)
            ),
            EgressEvent::TooManyRequests { limit } => write!(
                f,
                "the connector sent more than {limit} requests in one call\nhint: raise [limits] max_requests in the connection file if the work is legitimate"
            ),
            EgressEvent::TooManyConcurrent { limit } => write!(
                f,
                "the connector had more than {limit} requests in flight at once\nhint: raise [limits] max_concurrent_requests in the connection file if the work is legitimate"
            ),
            EgressEvent::ResponseTooLarge { origin, limit } => write!(
                f,
                "a response from {} was larger than the limit of {limit} bytes\nhint: raise [limits] max_response_mib in the connection file",
                Untrusted(origin)
            ),
            EgressEvent::DeadlineReached { origin } => {
                write!(f, "the call's deadline came while waiting for {}", Untrusted(origin))
            }
            EgressEvent::CredentialRefused { origin } => {
                write!(f, "{} refused the credential (HTTP 401)", Untrusted(origin))
            }
        }
    }
}

/// Where one admitted request goes.
struct Admitted {
    /// The declared origin the guest asked for.
    asked: Origin,
    /// Whether an override redirected it.
    overridden: bool,
    /// Whether the credential was added.
    credentialed: bool,
}

/// The per-call hook state (one per store).
pub struct EgressHooks {
    policy: Arc<EgressPolicy>,
    transport: Arc<Transport>,
    events: Arc<Mutex<Vec<EgressEvent>>>,
    sent: usize,
    in_flight: Arc<AtomicUsize>,
}

impl EgressHooks {
    /// Hooks enforcing `policy` over `transport`; what they refuse or notice
    /// is appended to `events`.
    pub fn new(
        policy: Arc<EgressPolicy>,
        transport: Arc<Transport>,
        events: Arc<Mutex<Vec<EgressEvent>>>,
    ) -> Self {
        EgressHooks {
            policy,
            transport,
            events,
            sent: 0,
            in_flight: Arc::default(),
        }
    }

    fn record(&self, event: EgressEvent) {
        record(&self.events, event);
    }

    /// Checks a request and rewrites it for the wire, or says why not.
    fn admit(&mut self, request: &mut http::Request<WasiBody>) -> Result<Admitted, EgressEvent> {
        let denied = |origin: String| EgressEvent::Denied { origin };
        let asked =
            Origin::of_uri(request.uri()).ok_or_else(|| denied(request.uri().to_string()))?;
        if !self.policy.allowed.contains(&asked) {
            return Err(denied(asked.to_string()));
        }
        if self.sent == self.policy.max_requests {
            return Err(EgressEvent::TooManyRequests {
                limit: self.policy.max_requests,
            });
        }
        if self.in_flight.load(Ordering::SeqCst) >= self.policy.max_concurrent {
            return Err(EgressEvent::TooManyConcurrent {
                limit: self.policy.max_concurrent,
            });
        }
        let redirect = self
            .policy
            .overrides
            .iter()
            .find(|(from, _)| *from == asked);
        let target = redirect.map_or(&asked, |(_, to)| to);
        let mut path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let credential = self
            .policy
            .credential
            .as_ref()
            .filter(|_| self.policy.bound.contains(&asked));
        if let Some(Credential::Query { name, value }) = credential {
            add_query(&mut path, name, value.expose_secret());
        }
        *request.uri_mut() = Uri::builder()
            .scheme(target.scheme())
            .authority(target.authority())
            .path_and_query(path)
            .build()
            .map_err(|_| denied(asked.to_string()))?;
        let headers = request.headers_mut();
        if let Ok(host) = HeaderValue::from_str(&target.authority()) {
            headers.insert(HOST, host);
        }
        if let Some(Credential::Header { name, value }) = credential {
            let mut value = HeaderValue::from_str(value.expose_secret())
                .map_err(|_| denied(asked.to_string()))?;
            value.set_sensitive(true);
            headers.insert(name.clone(), value);
        }
        self.sent += 1;
        Ok(Admitted {
            overridden: redirect.is_some(),
            credentialed: credential.is_some(),
            asked,
        })
    }
}

/// Events kept per call: enough to explain, bounded against a guest that
/// makes a thousand refused requests.
const EVENTS_KEPT: usize = 16;

/// Notes `event` once.
fn record(events: &Mutex<Vec<EgressEvent>>, event: EgressEvent) {
    let mut events = events.lock().unwrap_or_else(|e| e.into_inner());
    if events.len() < EVENTS_KEPT && !events.contains(&event) {
        events.push(event);
    }
}

/// Appends `name=value` (percent-encoded) to a path-and-query.
fn add_query(path: &mut String, name: &str, value: &str) {
    let pair: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    path.push(if path.contains('?') { '&' } else { '?' });
    path.push_str(&pair);
}

/// Holds one place among the requests in flight until dropped.
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
        // its header could send its own credential to an allowed origin, and
        // one that could read it back could leak it.
        let credential = match &self.policy.credential {
            Some(Credential::Header { name, .. }) => Some(name.clone()),
            _ => None,
        };
        Arc::new(move |name: &HeaderName| {
            *name == AUTHORIZATION
                || Some(name) == credential.as_ref()
                || DEFAULT_FORBIDDEN_HEADERS.contains(name)
        })
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK
    }

    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let admitted = match self.admit(&mut request) {
            Ok(admitted) => admitted,
            Err(event) => {
                tracing::warn!(%event, "egress refused");
                let code = match event {
                    EgressEvent::TooManyRequests { .. } | EgressEvent::TooManyConcurrent { .. } => {
                        wasmtime_wasi_http::Error::ConnectionLimitReached
                    }
                    _ => wasmtime_wasi_http::Error::HttpRequestDenied,
                };
                self.record(event);
                return Box::new(async { Err(code) });
            }
        };
        let in_flight = InFlight::enter(&self.in_flight);
        let (policy, transport, events) = (
            self.policy.clone(),
            self.transport.clone(),
            self.events.clone(),
        );
        Box::new(async move {
            let left = policy.deadline.saturating_duration_since(Instant::now());
            let wait = |chosen: Option<Duration>| chosen.map_or(left, |c| c.min(left));
            let options = options.unwrap_or_default();
            let first_byte = wait(options.connect_timeout) + wait(options.first_byte_timeout);
            let response = transport
                .send(request, admitted.overridden, first_byte.min(left))
                .await
                .map_err(|e| {
                    let origin = admitted.asked.to_string();
                    if let Some(address) = e.refused {
                        tracing::warn!(origin, %address, "egress refused: address not public");
                        record(&events, EgressEvent::AddressRefused { origin, address });
                    } else if Instant::now() >= policy.deadline {
                        record(&events, EgressEvent::DeadlineReached { origin });
                    }
                    e.code
                })?;
            if admitted.credentialed && response.status() == http::StatusCode::UNAUTHORIZED {
                let origin = admitted.asked.to_string();
                record(&events, EgressEvent::CredentialRefused { origin });
            }
            let between = wait(options.between_bytes_timeout);
            let origin = admitted.asked.to_string();
            let response = response.map(|incoming| {
                body::GuestBody::new(incoming, policy.max_response_bytes, between, in_flight)
                    .on_too_large(move |limit| {
                        record(&events, EgressEvent::ResponseTooLarge { origin, limit })
                    })
                    .boxed()
            });
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn o(s: &str) -> Origin {
        Origin::parse(s).unwrap()
    }

    fn hooks(allowed: &[&str], overrides: &[(&str, &str)]) -> EgressHooks {
        let allowed: Vec<Origin> = allowed.iter().map(|s| o(s)).collect();
        let overrides: Vec<(Origin, Origin)> =
            overrides.iter().map(|(a, b)| (o(a), o(b))).collect();
        let policy = EgressPolicy {
            bound: bound_origins(&allowed, &overrides, None).unwrap(),
            allowed,
            overrides,
            credential: Some(Credential::bearer(&"tok-1".to_owned().into())),
            max_response_bytes: 1024,
            max_requests: 3,
            max_concurrent: 2,
            deadline: Instant::now() + Duration::from_secs(5),
        };
        EgressHooks::new(
            Arc::new(policy),
            Arc::new(Transport::new()),
            Default::default(),
        )
    }

    fn request(uri: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Empty::new()
            .map_err(|_| unreachable!())
            .boxed_unsync();
        http::Request::builder().uri(uri).body(body).unwrap()
    }

    #[test]
    fn undeclared_origin_is_denied() {
        let mut h = hooks(&["https://api.cc.email"], &[]);
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
        let mut h = hooks(
            &["https://api.cc.email"],
            &[("https://api.cc.email", "http://127.0.0.1:8911")],
        );
        let mut r = request("https://api.cc.email/v3/contacts?limit=2");
        let admitted = h.admit(&mut r).unwrap();
        assert!(admitted.overridden && admitted.credentialed);
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:8911/v3/contacts?limit=2"
        );
        assert_eq!(r.headers()[HOST], "127.0.0.1:8911");
        assert_eq!(r.headers()[AUTHORIZATION], "Bearer tok-1");
        assert!(r.headers()[AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn plain_http_origins_get_no_credential_unless_overridden() {
        let mut h = hooks(&["http://plain.example", "https://api.example"], &[]);
        let mut r = request("http://plain.example/echo");
        assert!(!h.admit(&mut r).unwrap().credentialed);
        assert!(r.headers().get(AUTHORIZATION).is_none());
        let declared = [o("http://plain.example"), o("https://api.example")];
        assert_eq!(
            bound_origins(&declared, &[], None).unwrap(),
            [o("https://api.example")]
        );
        let err = bound_origins(&declared, &[], Some(&[o("http://plain.example")])).unwrap_err();
        assert!(err.contains("plain http"), "{err}");
        let err = bound_origins(&declared, &[], Some(&[o("https://other.example")])).unwrap_err();
        assert!(
            err.contains("not an origin the connector declares"),
            "{err}"
        );
        let overrides = [(o("http://plain.example"), o("http://127.0.0.1:1"))];
        assert_eq!(bound_origins(&declared, &overrides, None).unwrap().len(), 2);
    }

    #[test]
    fn requests_are_counted_per_call() {
        let mut h = hooks(&["https://api.cc.email"], &[]);
        let _held = [InFlight::enter(&h.in_flight), InFlight::enter(&h.in_flight)];
        let refused = h.admit(&mut request("https://api.cc.email/"));
        assert_eq!(
            refused.err(),
            Some(EgressEvent::TooManyConcurrent { limit: 2 })
        );
        drop(_held);
        for _ in 0..3 {
            h.admit(&mut request("https://api.cc.email/")).unwrap();
        }
        let refused = h.admit(&mut request("https://api.cc.email/"));
        assert_eq!(
            refused.err(),
            Some(EgressEvent::TooManyRequests { limit: 3 })
        );
    }

    #[test]
    fn api_keys_can_travel_in_the_query() {
        let mut h = hooks(&["https://api.example"], &[]);
        Arc::get_mut(&mut h.policy).unwrap().credential = Some(Credential::Query {
            name: "api_key".into(),
            value: "k y&1".to_owned().into(),
        });
        let mut r = request("https://api.example/v1/items?limit=2");
        h.admit(&mut r).unwrap();
        assert_eq!(
            r.uri().to_string(),
            "https://api.example/v1/items?limit=2&api_key=k+y%261"
        );
    }

    #[test]
    fn guests_may_not_set_the_credential_header() {
        let mut h = hooks(&[], &[]);
        Arc::get_mut(&mut h.policy).unwrap().credential = Some(Credential::Header {
            name: HeaderName::from_static("x-api-key"),
            value: "k".to_owned().into(),
        });
        let filter = h.forbidden_header_filter();
        assert!(filter(&AUTHORIZATION));
        assert!(filter(&HeaderName::from_static("x-api-key")));
        assert!(filter(&HOST));
        assert!(!filter(&http::header::ACCEPT));
    }
}
