//! Opening one checked connection for the pool: resolve the name, keep only
//! the addresses the check allows, connect to one of them directly or
//! through a proxy's tunnel (asked for that address), check the peer again,
//! and speak TLS under the real name for `https`. Each open connection
//! holds a place among its origin's (see [`super::transport::PoolSettings`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::address::is_public;
use super::proxy::Proxies;
use super::tls;

/// Backstop for one connection attempt (the call's deadline usually ends it first).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a connection could not be opened.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ConnectError {
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
pub(crate) struct CheckedConnector {
    /// Whether non-public addresses are allowed (an override chose them).
    pub(crate) allow_private: bool,
    /// The trust this pool's TLS connections are made under.
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// The proxies from the environment.
    pub(crate) proxies: Arc<Proxies>,
    /// Open connections per origin (`scheme://host:port`), each holding a permit.
    pub(crate) open: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Open connections allowed per origin.
    pub(crate) max_open: usize,
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
pub(crate) struct Stream {
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
