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
//! - TLS trusts the system's store plus the CA files the host and the
//!   connection name, always verifying the host name ([`tls`]); proxies from
//!   the environment tunnel to the checked address ([`proxy`]);
//! - outgoing requests are counted (in total and at once) and response
//!   bodies are capped, per call.

mod address;
mod body;
mod connect;
mod hooks;
mod origin;
mod proxy;
mod rate;
mod tls;
mod transport;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::AUTHORIZATION;
use http::HeaderName;
use secrecy::{ExposeSecret, SecretString};

pub use address::is_public;
pub use hooks::EgressHooks;
pub use origin::Origin;
pub use rate::RateLimiter;
pub use tls::{CaFileProblem, TlsSettings, HOST_CA_FILE};
pub use transport::{PoolSettings, Problem, SendError, Transport};

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
    /// Several at once (sdk 0.4.0's extra keys beside the main credential,
    /// e.g. a bearer token and `x-api-key`), all under the same binding.
    Several(Vec<Credential>),
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

impl Credential {
    /// `main` with `extra` beside it; just `main` when there is nothing extra.
    pub fn with(main: Option<Credential>, extra: Vec<Credential>) -> Option<Credential> {
        if extra.is_empty() {
            return main;
        }
        Some(Credential::Several(main.into_iter().chain(extra).collect()))
    }

    /// The single credentials this one is made of.
    pub fn parts(&self) -> Vec<&Credential> {
        match self {
            Credential::Several(all) => all.iter().flat_map(Credential::parts).collect(),
            single => vec![single],
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Header { name, .. } => write!(f, "Credential::Header({name}: [redacted])"),
            Credential::Query { name, .. } => write!(f, "Credential::Query({name}=[redacted])"),
            Credential::Several(all) => f.debug_list().entries(all).finish(),
        }
    }
}

/// Told how many requests a call has sent so far, as each one goes out, so
/// a front end can show progress (MCP's progress notifications).
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// Awaited before each request of a call goes out (after the rate limiter,
/// before the transport): a front end that must make something durable
/// before the API can see a request does it here (the Temporal worker
/// records an acknowledged heartbeat, its evidence that a retry may find the
/// work applied). `Err` holds the request back: it is never sent, the guest
/// sees it refused, and the call's events say why.
#[derive(Clone)]
pub struct SendGate(
    pub Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync>,
);

impl std::fmt::Debug for SendGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendGate")
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
    /// The connection's rate limiter, shared by its calls.
    pub rate: Option<Arc<RateLimiter>>,
    /// Calendar quotas each request takes one from before it is sent.
    pub quotas: Vec<Arc<crate::quota::Quota>>,
    /// The connection's TLS trust (`[tls]`).
    pub tls: TlsSettings,
    /// Told of each request sent.
    pub progress: Option<Progress>,
    /// Passed before each request goes out.
    pub gate: Option<SendGate>,
    /// The front end retries a request the API refused with 429 itself,
    /// through a queue that holds the API's rate across processes: the
    /// hook hands the 429 to the guest at once instead of sending again
    /// (a resend would pass that queue by).
    pub caller_retries_429: bool,
    /// Only `GET` and `HEAD` go out (a trigger poll): anything else is
    /// refused before it is sent, whatever the connector says of itself.
    pub read_only: bool,
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
            let names: Vec<String> = declared.iter().map(ToString::to_string).collect();
            return Err(format!(
                "[token] origins: {origin} is not an origin the connector declares\nhint: use one of: {}",
                names.join(", ")
            ));
        }
        if !eligible(origin) {
            return Err(format!(
                "[token] origins: {origin} is plain http: a credential goes there only when [endpoints] redirects it\nhint: list only https origins the connector declares"
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
    /// The TLS handshake with an origin failed (an untrusted CA, say).
    TlsRefused {
        /// The declared origin.
        origin: String,
        /// Why, as a clause.
        reason: String,
    },
    /// A CA file named by the host or the connection cannot be used.
    CaFileUnusable(CaFileProblem),
    /// A calendar quota was spent: the request was not sent.
    QuotaExhausted(crate::quota::Exhausted),
    /// The store that counts a quota could not be used: the request was not
    /// sent (fail closed).
    QuotaUnavailable {
        /// The store's name.
        store: String,
        /// Why, as a clause (never a value).
        reason: String,
    },
    /// The front end's [`SendGate`] held a request back: it was not sent.
    Held {
        /// The declared origin.
        origin: String,
        /// Why, as a clause.
        reason: String,
    },
    /// A read-only call (a trigger poll) tried a method that may change
    /// something: it was not sent.
    WriteRefused {
        /// The declared origin.
        origin: String,
        /// The method asked for.
        method: String,
    },
    /// The proxy from the environment could not open a tunnel to an origin.
    ProxyFailed {
        /// The declared origin.
        origin: String,
        /// The proxy's origin (never its credentials).
        proxy: String,
        /// Why, as a clause.
        problem: String,
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
            EgressEvent::QuotaExhausted(spent) => write!(
                f,
                "{spent}; the request was not sent\nhint: wait until then, or ask the API's provider for a larger quota"
            ),
            EgressEvent::QuotaUnavailable { store, reason } => write!(
                f,
                "the quota's count in store '{store}' cannot be used ({}); the request was not sent\nhint: check that the store is reachable and its token may read and write its path",
                Untrusted(reason)
            ),
            EgressEvent::TlsRefused { origin, reason } => write!(
                f,
                "TLS to {} failed: {reason}\nhint: if the API uses a private CA, or traffic passes a TLS-inspecting proxy, add that CA's PEM file as [tls] ca_file in the connection file (or {HOST_CA_FILE} for the whole host)",
                Untrusted(origin)
            ),
            EgressEvent::CaFileUnusable(p) => write!(
                f,
                "the CA file {} ({}) cannot be used: {}\nhint: point {} at a PEM file of CA certificates",
                p.path.display(),
                p.setting,
                Untrusted(&p.problem),
                p.setting
            ),
            EgressEvent::Held { origin, reason } => write!(
                f,
                "a request to {} was held back before it was sent: {reason}",
                Untrusted(origin)
            ),
            EgressEvent::WriteRefused { origin, method } => write!(
                f,
                "a {} request to {} was refused: a trigger poll may only read (GET or HEAD)\nhint: the connector's trigger must not change anything; report it to the connector's publisher",
                Untrusted(method),
                Untrusted(origin)
            ),
            EgressEvent::ProxyFailed { origin, proxy, problem } => write!(
                f,
                "the proxy {proxy} could not open a tunnel to {}: {problem}\nhint: check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY to go direct",
                Untrusted(origin)
            ),
        }
    }
}
