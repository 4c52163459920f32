//! A no-op upstream (hyper, keep-alive, `{}` for everything) on a thread of
//! its own, and the native baseline: hyper-util's pooled client, the same
//! pool the host uses, without wasm in between.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Starts the upstream on its own single-threaded runtime; returns its port.
pub fn no_op() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("upstream runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_request| async {
                        let response = http::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(b"{}")))?;
                        anyhow::Ok(response)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    Ok(port)
}

/// A native pooled client.
pub type Native = Client<HttpConnector, Empty<Bytes>>;

/// hyper-util's pooled client with keep-alive, as a Rust service would use.
pub fn native_client() -> Native {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// GET `url` (with a bearer token when given), read the body, parse it as JSON.
pub async fn native_get(client: &Native, url: &str, token: Option<&str>) -> anyhow::Result<()> {
    let mut request = http::Request::get(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = client.request(request.body(Empty::new())?).await?;
    anyhow::ensure!(
        response.status().is_success(),
        "native GET: {}",
        response.status()
    );
    let body = response.into_body().collect().await?.to_bytes();
    std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&body)?);
    Ok(())
}

/// The address of a local port, for URLs.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
