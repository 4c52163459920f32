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
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::address::is_public;
use super::proxy::Proxies;
use super::tls::{self, CaFileProblem, TlsSettings, TrustKey, Trusts};

/// Backstop for one connection attempt (the call's deadline usually ends it first).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

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

/// Why a connection could not be opened.
#[derive(Debug, Clone, thiserror::Error)]
enum ConnectError {
    #[error("the address {0} is not public, and no [endpoints] override points there")]
    Refused(IpAddr),
    #[error("the name does not resolve")]
    Dns,
    #[error("no address answered")]
    Unreachable,
    #[error("connecting timed out")]
    Timeout,
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("the proxy {proxy} could not open a tunnel: {problem}")]
    Proxy { proxy: String, problem: String },
    #[error("the request has no host")]
    BadUri,
}

/// Resolves, checks the addresses, connects (directly or through a proxy's
/// tunnel), and speaks TLS for `https`.
#[derive(Clone)]
struct CheckedConnector {
    allow_private: bool,
    tls: Arc<rustls::ClientConfig>,
    proxies: Arc<Proxies>,
    /// Open connections per origin (`scheme://host:port`), each holding a permit.
    open: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    max_open: usize,
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<Stream, ConnectError>> + Send>>;

impl tower_service::Service<Uri> for CheckedConnector {
    type Response = Stream;
    type Error = ConnectError;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move {
            tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(uri))
                .await
                .map_err(|_| ConnectError::Timeout)?
        })
    }
}

impl CheckedConnector {
    async fn connect(self, uri: Uri) -> Result<Stream, ConnectError> {
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().ok_or(ConnectError::BadUri)?;
        let host = host.trim_matches(['[', ']']).to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let permit = self.permit(&uri, &host, port).await?;
        let tcp = self.open(&uri, &host, port).await?;
        if !https {
            return Ok(Stream {
                io: Io::Plain(TokioIo::new(tcp)),
                _permit: permit,
            });
        }
        let name = match host.parse::<IpAddr>() {
            Ok(ip) => rustls::pki_types::ServerName::IpAddress(ip.into()),
            Err(_) => {
                rustls::pki_types::ServerName::try_from(host).map_err(|_| ConnectError::BadUri)?
            }
        };
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectError::Tls(tls::handshake_failure(&e)))?;
        Ok(Stream {
            io: Io::Tls(Box::new(TokioIo::new(tls))),
            _permit: permit,
        })
    }

    /// A place among the origin's open connections, waited for when all are taken.
    async fn permit(
        &self,
        uri: &Uri,
        host: &str,
        port: u16,
    ) -> Result<OwnedSemaphorePermit, ConnectError> {
        let origin = format!("{}://{host}:{port}", uri.scheme_str().unwrap_or("http"));
        let semaphore = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(origin)
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_open)))
            .clone();
        semaphore
            .acquire_owned()
            .await
            .map_err(|_| ConnectError::Unreachable)
    }

    /// A socket to one of the name's allowed addresses (through the proxy's
    /// tunnel when one applies), checked again once open.
    async fn open(&self, uri: &Uri, host: &str, port: u16) -> Result<TcpStream, ConnectError> {
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|_| ConnectError::Dns)?
                .collect(),
        };
        let allowed = |ip: IpAddr| self.allow_private || is_public(ip);
        let Some(&first) = addresses.first() else {
            return Err(ConnectError::Dns);
        };
        let proxy = self.proxies.for_target(uri);
        let mut last = ConnectError::Refused(first.ip());
        for address in addresses.into_iter().filter(|a| allowed(a.ip())) {
            if let Some(proxy) = &proxy {
                // The tunnel goes to the checked address, not the name: the
                // proxy never resolves anything for us.
                match proxy.tunnel(address, CONNECT_TIMEOUT).await {
                    Ok(stream) => return Ok(stream),
                    Err(problem) => {
                        last = ConnectError::Proxy {
                            proxy: proxy.shown(),
                            problem,
                        }
                    }
                }
                continue;
            }
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    let peer = stream.peer_addr().map_err(|_| ConnectError::Unreachable)?;
                    if !allowed(peer.ip()) {
                        return Err(ConnectError::Refused(peer.ip()));
                    }
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(_) => last = ConnectError::Unreachable,
            }
        }
        Err(last)
    }
}

/// A connection as the pool holds it, with its place among the origin's
/// open connections (given back when the pool drops it).
struct Stream {
    io: Io,
    _permit: OwnedSemaphorePermit,
}

/// A plain or TLS connection.
enum Io {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match &self.io {
            Io::Plain(io) => io.connected(),
            Io::Tls(io) => {
                let (tcp, session) = io.inner().get_ref();
                let connected = tcp.connected();
                if session.alpn_protocol() == Some(b"h2") {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Io::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Io::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(io) => Pin::new(io).poll_flush(cx),
            Io::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Io::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}
