//! A loopback API origin for transport tests: HTTP/1.1 with keep-alive,
//! plain or TLS with a certificate from a test CA made on the spot, that
//! counts the TCP connections and the requests it serves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub pem: String,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("generate a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let certificate = params.self_signed(&key).expect("self-sign the CA");
        TestCa {
            pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Writes the CA certificate to `dir/name` and returns the path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.pem).expect("write the CA file");
        path
    }

    /// A server configuration with a certificate for `names`, signed by this CA.
    fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("generate a server key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let certificate = CertificateParams::new(names)
            .expect("server params")
            .signed_by(&key, &self.issuer)
            .expect("sign the server certificate");
        let chain = vec![CertificateDer::from(certificate.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
        Arc::new(config)
    }
}

/// A running origin; its threads serve until the test process ends.
pub struct Origin {
    /// Its port on 127.0.0.1.
    pub port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

/// How an origin treats a connection after answering.
#[derive(Clone, Copy)]
enum After {
    /// Keeps it open for the next request.
    KeepAlive,
    /// Closes it without saying so (no `connection: close`), as a server
    /// restarting or an idle timeout on a middlebox would.
    Drop,
}

impl Origin {
    /// Plain HTTP, answering every request with `200` and `body`.
    pub fn plain(body: &str) -> Origin {
        Origin::start(None, body, After::KeepAlive)
    }

    /// Plain HTTP that closes every connection after one answer, unannounced.
    pub fn plain_dropping(body: &str) -> Origin {
        Origin::start(None, body, After::Drop)
    }

    /// HTTPS with a certificate for `names` from `ca`, answering `200` and `body`.
    pub fn tls(ca: &TestCa, names: &[&str], body: &str) -> Origin {
        Origin::start(Some(ca.server_config(names)), body, After::KeepAlive)
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>, body: &str, after: After) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (count, served, body) = (connections.clone(), requests.clone(), body.to_owned());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let (tls, served, body) = (tls.clone(), served.clone(), body.clone());
                std::thread::spawn(move || match tls {
                    None => serve(stream, &served, &body, after),
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(
                            rustls::StreamOwned::new(session, stream),
                            &served,
                            &body,
                            after,
                        )
                    }
                });
            }
        });
        Origin {
            port,
            connections,
            requests,
        }
    }

    /// HTTPS that offers only HTTP/2 (ALPN `h2`) with a certificate for
    /// `names` from `ca`; every request it answers must be HTTP/2.
    pub fn tls_h2(ca: &TestCa, names: &[&str], body: &str) -> Origin {
        let mut config = (*ca.server_config(names)).clone();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (count, served) = (connections.clone(), requests.clone());
        let body = bytes::Bytes::from(body.to_owned());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("origin runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                while let Ok((stream, _)) = listener.accept().await {
                    count.fetch_add(1, Ordering::SeqCst);
                    let (acceptor, served, body) = (acceptor.clone(), served.clone(), body.clone());
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let service =
                            hyper::service::service_fn(move |request: hyper::Request<_>| {
                                let (served, body) = (served.clone(), body.clone());
                                async move {
                                    if request.version() == hyper::Version::HTTP_2 {
                                        served.fetch_add(1, Ordering::SeqCst);
                                    }
                                    hyper::Response::builder()
                                        .header("content-type", "application/json")
                                        .body(http_body_util::Full::new(body))
                                }
                            });
                        let _ = hyper::server::conn::http2::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                    });
                }
            });
        });
        Origin {
            port,
            connections,
            requests,
        }
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answers requests on one connection until the client closes it.
fn serve<S: Read + Write>(stream: S, served: &AtomicUsize, body: &str, after: After) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        let mut close = false;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let Some((name, value)) = line.trim_end().split_once(':') else {
                break;
            };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            close |= name == "connection" && value.eq_ignore_ascii_case("close");
        }
        let mut discard = vec![0; length];
        if reader.read_exact(&mut discard).is_err() {
            return;
        }
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        // Counted before the answer, so a client that has it sees the count.
        served.fetch_add(1, Ordering::SeqCst);
        let stream = reader.get_mut();
        if stream
            .write_all(reply.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
        if close || matches!(after, After::Drop) {
            return;
        }
    }
}
