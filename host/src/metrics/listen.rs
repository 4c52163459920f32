//! A small loopback listener with `GET /healthz` and `GET /metrics`, for
//! processes that have no HTTP server of their own (the worker).
//!
//! Invariant: it binds loopback addresses only: its routes need no token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::Runtime;

/// Binds `address` (loopback only), turns metrics on, and serves the two
/// routes in a task of their own for as long as the process runs.
///
/// # Errors
///
/// A sentence when `address` is not loopback, cannot be bound, or metrics
/// cannot be set up.
pub async fn spawn(address: SocketAddr, runtime: Arc<Runtime>) -> anyhow::Result<SocketAddr> {
    if !address.ip().is_loopback() {
        anyhow::bail!("--metrics-listen {address} is not a loopback address: /metrics there needs no token\nhint: use 127.0.0.1:PORT and let a scraper on this machine (or a sidecar) read it");
    }
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {address} for metrics: {e}\nhint: choose another port with --metrics-listen")
    })?;
    let bound = listener.local_addr()?;
    super::install().map_err(anyhow::Error::msg)?;
    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            "/metrics",
            get(move || {
                let runtime = runtime.clone();
                async move {
                    if let Some((in_use, capacity)) = runtime.pool_use() {
                        super::pool(in_use, capacity);
                    }
                    let text = super::render().unwrap_or_default();
                    ([(header::CONTENT_TYPE, super::CONTENT_TYPE)], text).into_response()
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}
