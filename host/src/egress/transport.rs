//! The host's outgoing HTTP client: one per process, pooled, behind the
//! egress hook (which decides what may be sent; this decides how).
//!
//! wasmtime-wasi-http's `default_send_request` opens a connection per
//! request and connects to whatever the name resolves to. This client keeps
//! connections alive per origin (HTTP/2 where ALPN offers it), bounds the
//! idle and the open connections per origin, drops broken ones (hyper's
//! pool never hands out a closed connection), and checks the address it
//! actually connects to (see [`super::address`]): the resolved addresses are
//! filtered first and the socket is opened to one of those, so a second DNS
//! answer (rebinding) never reaches the check's blind side. Through a proxy
//! ([`super::proxy`]) the tunnel is asked for the checked address.
//!
//! Pools are kept apart by what may differ between requests to one origin:
//! connections made for an operator's `[endpoints]` override, which may
//! point at private addresses, are never reused for a request without one,
//! and each TLS trust ([`super::tls`]) has its own pools.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::connect::{CheckedConnector, ConnectError};
use super::proxy::Proxies;
use super::tls::{CaFileProblem, TlsSettings, TrustKey, Trusts};

/// How the process's connections are pooled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Idle connections kept per origin for reuse; 0 opens a new connection
    /// for every request (the behaviour before pooling, kept for benchmarks).
    pub max_idle_per_origin: usize,
    /// Connections open at once per origin, idle or busy; a request past it
    /// waits for one to free up (HTTP/2 multiplexes on one).
    pub max_connections_per_origin: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_idle_per_origin: 16,
            max_connections_per_origin: 64,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The process's outgoing client.
pub struct Transport {
    settings: PoolSettings,
    proxies: Arc<Proxies>,
    trusts: Trusts,
    /// One client (and so one pool) per trust and override flag.
    clients: Mutex<HashMap<(TrustKey, bool), Client<CheckedConnector, WasiBody>>>,
}

/// Why a request could not be sent, as the guest and the person see it.
#[derive(Debug)]
pub struct SendError {
    /// What the guest gets.
    pub code: HttpError,
    /// What the person is told, when there is more to say than the code.
    pub problem: Option<Problem>,
}

/// A refusal or failure worth explaining to the person.
#[derive(Debug, Clone)]
pub enum Problem {
    /// The address check refused this address.
    Refused(IpAddr),
    /// The TLS handshake failed; why, as a clause.
    Tls(String),
    /// A CA file cannot be used.
    CaFile(CaFileProblem),
    /// The proxy could not open a tunnel.
    Proxy {
        /// The proxy's origin.
        proxy: String,
        /// Why, as a clause.
        problem: String,
    },
}

impl Transport {
    /// A client with default pool settings; proxies from the environment.
    pub fn new() -> Transport {
        Transport::with_settings(PoolSettings::default())
    }

    /// A client pooling as `settings` says; proxies from the environment.
    pub fn with_settings(settings: PoolSettings) -> Transport {
        Transport {
            settings,
            proxies: Arc::new(Proxies::from_env()),
            trusts: Trusts::default(),
            clients: Mutex::default(),
        }
    }

    /// The pool settings in force.
    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    fn client(
        &self,
        tls_settings: &TlsSettings,
        overridden: bool,
    ) -> Result<Client<CheckedConnector, WasiBody>, CaFileProblem> {
        let (key, extra) = self.trusts.key(tls_settings)?;
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&(key, overridden)) {
            return Ok(client.clone());
        }
        let connector = CheckedConnector {
            allow_private: overridden,
            tls: self.trusts.config(&extra)?,
            proxies: self.proxies.clone(),
            open: Arc::default(),
            max_open: self.settings.max_connections_per_origin.max(1),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.settings.idle_timeout)
            .pool_max_idle_per_host(self.settings.max_idle_per_origin)
            // The egress hook has set `Host` to the real target already.
            .set_host(false)
            .build(connector);
        clients.insert((key, overridden), client.clone());
        Ok(client)
    }

    /// Sends `request` (absolute URI, already admitted and rewritten by the
    /// hook) under the trust of `tls_settings`, waiting at most `first_byte`
    /// for the response head (connecting included).
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        overridden: bool,
        tls_settings: &TlsSettings,
        first_byte: Duration,
    ) -> Result<http::Response<Incoming>, SendError> {
        let client = self
            .client(tls_settings, overridden)
            .map_err(|p| SendError {
                code: HttpError::TlsCertificateError,
                problem: Some(Problem::CaFile(p)),
            })?;
        match tokio::time::timeout(first_byte, client.request(request)).await {
            Err(_) => Err(plain(HttpError::ConnectionReadTimeout)),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(classify(&error)),
        }
    }
}

impl Default for Transport {
    fn default() -> Self {
        Transport::new()
    }
}

/// Maps a client error to the wasi-http code the guest understands.
fn classify(error: &hyper_util::client::legacy::Error) -> SendError {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(e) = cause.downcast_ref::<ConnectError>() {
            let with = |code, problem| SendError {
                code,
                problem: Some(problem),
            };
            return match e {
                ConnectError::Refused(ip) => {
                    with(HttpError::DestinationIpProhibited, Problem::Refused(*ip))
                }
                ConnectError::Dns => plain(HttpError::DestinationNotFound),
                ConnectError::Unreachable => plain(HttpError::ConnectionRefused),
                ConnectError::Timeout => plain(HttpError::ConnectionTimeout),
                ConnectError::Tls(why) => {
                    with(HttpError::TlsCertificateError, Problem::Tls(why.clone()))
                }
                ConnectError::Proxy { proxy, problem } => with(
                    HttpError::ConnectionRefused,
                    Problem::Proxy {
                        proxy: proxy.clone(),
                        problem: problem.clone(),
                    },
                ),
                ConnectError::BadUri => plain(HttpError::HttpRequestUriInvalid),
            };
        }
        if let Some(e) = cause.downcast_ref::<hyper::Error>() {
            return plain(if e.is_timeout() {
                HttpError::HttpResponseTimeout
            } else if e.is_incomplete_message() || e.is_canceled() {
                HttpError::HttpResponseIncomplete
            } else {
                HttpError::HttpProtocolError
            });
        }
        source = cause.source();
    }
    plain(if error.is_connect() {
        HttpError::ConnectionRefused
    } else {
        HttpError::HttpProtocolError
    })
}

fn plain(code: HttpError) -> SendError {
    SendError {
        code,
        problem: None,
    }
}
