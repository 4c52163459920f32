//! The host's outgoing HTTP client: one per process, pooled, behind the
//! egress hook (which decides what may be sent; this decides how).
//!
//! wasmtime-wasi-http's `default_send_request` opens a connection per
//! request and connects to whatever the name resolves to. This client keeps
//! connections alive per origin (HTTP/2 where ALPN offers it) and checks the
//! address it actually connects to (see [`super::address`]): the resolved
//! addresses are filtered first and the socket is opened to one of those, so
//! a second DNS answer (rebinding) never reaches the check's blind side.
//! Connections made for an operator's `[endpoints]` override, which may point
//! at private addresses, live in a pool of their own and are never reused for
//! a request without one.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::address::is_public;

/// How long an idle connection is kept for reuse.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per origin.
const IDLE_PER_ORIGIN: usize = 16;
/// Backstop for one connection attempt (the call's deadline usually ends it first).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The process's outgoing client.
pub struct Transport {
    /// For requests to the origins connectors declare: public addresses only.
    public: Client<CheckedConnector, WasiBody>,
    /// For requests an `[endpoints]` override redirected: any address.
    overridden: Client<CheckedConnector, WasiBody>,
}

/// Why a request could not be sent, as the guest and the person see it.
#[derive(Debug)]
pub struct SendError {
    /// What the guest gets.
    pub code: HttpError,
    /// The address refused by the check, when that was the reason.
    pub refused: Option<IpAddr>,
}

impl Transport {
    /// A client trusting the built-in web PKI roots.
    pub fn new() -> Transport {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tls = Arc::new(tls);
        let client = |allow_private| {
            Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new())
                .pool_idle_timeout(IDLE_TIMEOUT)
                .pool_max_idle_per_host(IDLE_PER_ORIGIN)
                // The egress hook has set `Host` to the real target already.
                .set_host(false)
                .build(CheckedConnector {
                    allow_private,
                    tls: tls.clone(),
                })
        };
        Transport {
            public: client(false),
            overridden: client(true),
        }
    }

    /// Sends `request` (absolute URI, already admitted and rewritten by the
    /// hook), waiting at most `first_byte` for the response head.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        overridden: bool,
        first_byte: Duration,
    ) -> Result<http::Response<Incoming>, SendError> {
        let client = if overridden {
            &self.overridden
        } else {
            &self.public
        };
        let plain = |code| SendError {
            code,
            refused: None,
        };
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
            return match e {
                ConnectError::Refused(ip) => SendError {
                    code: HttpError::DestinationIpProhibited,
                    refused: Some(*ip),
                },
                ConnectError::Dns => plain(HttpError::DestinationNotFound),
                ConnectError::Unreachable => plain(HttpError::ConnectionRefused),
                ConnectError::Timeout => plain(HttpError::ConnectionTimeout),
                ConnectError::Tls => plain(HttpError::TlsCertificateError),
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
        refused: None,
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
    #[error("the TLS handshake failed")]
    Tls,
    #[error("the request has no host")]
    BadUri,
}

/// Resolves, checks the addresses, connects, and speaks TLS for `https`.
#[derive(Clone)]
struct CheckedConnector {
    allow_private: bool,
    tls: Arc<rustls::ClientConfig>,
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
        let tcp = self.open(&host, port).await?;
        if !https {
            return Ok(Stream::Plain(TokioIo::new(tcp)));
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
            .map_err(|_| ConnectError::Tls)?;
        Ok(Stream::Tls(Box::new(TokioIo::new(tls))))
    }

    /// A socket to one of the name's allowed addresses, checked again once open.
    async fn open(&self, host: &str, port: u16) -> Result<TcpStream, ConnectError> {
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
        let mut last = ConnectError::Refused(first.ip());
        for address in addresses.into_iter().filter(|a| allowed(a.ip())) {
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

/// A plain or TLS connection, as the pool holds it.
enum Stream {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self {
            Stream::Plain(io) => io.connected(),
            Stream::Tls(io) => {
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
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_flush(cx),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}
