//! Operators' signals on `serve`: `GET /healthz` (the process answers),
//! `GET /readyz` ([`super::ready`]) and `GET /metrics` ([`crate::metrics`]).
//!
//! `/healthz` and `/readyz` need no token, are not counted by the sign-in
//! throttle, and say nothing but check names. `/metrics` is off unless
//! asked for, in one or both of two ways:
//! - `--metrics-token-env VAR`: on the main listener, for
//!   `Authorization: Bearer <the value of VAR>` only (the API token does
//!   not open it; compared in constant time; wrong tokens count against
//!   the client's address like wrong API tokens do). For scrapers that
//!   reach `serve` over the network.
//! - `--metrics-listen ADDR`: a listener of its own, loopback only, with
//!   the three routes and no token (whoever runs on the machine could read
//!   the process anyway). For a scraper or sidecar on the same machine.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State as Extract};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::auth::{peer, same_secret};
use super::ready::Readiness;
use super::state::State;
use super::throttle::{seconds, Gate};

/// How the signals are offered.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The token `/metrics` on the main listener asks for.
    pub metrics_token: Option<SecretString>,
    /// The loopback listener for the three routes, without a token.
    pub metrics_listen: Option<SocketAddr>,
}

impl Settings {
    /// Whether metrics are scraped at all (then they are recorded).
    pub fn metrics_on(&self) -> bool {
        self.metrics_token.is_some() || self.metrics_listen.is_some()
    }
}

/// What the signal routes share.
pub struct Signals {
    state: Arc<State>,
    readiness: Readiness,
    token: Option<SecretString>,
}

impl Signals {
    /// The signals of `state`; turns metrics on when `settings` asks.
    ///
    /// # Errors
    ///
    /// A sentence when metrics cannot be set up.
    pub fn new(state: Arc<State>, settings: &Settings) -> Result<Arc<Signals>, String> {
        if let Some(token) = &settings.metrics_token {
            if same_secret(token.expose_secret(), state.api_token.expose_secret()) {
                return Err("the metrics token is the API token: then whoever scrapes metrics could run every connection\nhint: give /metrics a token of its own (`openssl rand -hex 32`)".into());
            }
        }
        if settings.metrics_on() {
            crate::metrics::install()?;
        }
        Ok(Arc::new(Signals {
            readiness: Readiness::new(&state.stores),
            token: settings.metrics_token.clone(),
            state,
        }))
    }
}

/// The routes on the main listener.
pub fn routes<S>(signals: Arc<Signals>) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_with_token))
        .with_state(signals)
}

/// Serves the three routes, without a token, on `listener` until `stop`.
pub async fn serve_apart(
    listener: tokio::net::TcpListener,
    signals: Arc<Signals>,
    stop: tokio_util::sync::CancellationToken,
) {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|Extract(s): Extract<Arc<Signals>>| async move { scrape(&s) }),
        )
        .with_state(signals);
    let stopped = async move { stop.cancelled().await };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::warn!(%error, "the metrics listener stopped");
    }
}

/// Binds the metrics listener: loopback only.
///
/// # Errors
///
/// A sentence when `address` is not loopback or cannot be bound.
pub async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    if !address.ip().is_loopback() {
        anyhow::bail!("--metrics-listen {address} is not a loopback address: its routes need no token\nhint: use 127.0.0.1:PORT, or --metrics-token-env to scrape /metrics on the main listener with a token");
    }
    tokio::net::TcpListener::bind(address).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {address} for metrics: {e}\nhint: choose another port with --metrics-listen")
    })
}

async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn readyz(Extract(signals): Extract<Arc<Signals>>) -> Response {
    let report = signals.readiness.report(&signals.state.catalogue).await;
    let status = if report.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report.body())).into_response()
}

/// `/metrics` on the main listener: its own bearer token, or 404 when none is set.
async fn metrics_with_token(Extract(signals): Extract<Arc<Signals>>, request: Request) -> Response {
    let Some(token) = &signals.token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let throttle = &signals.state.throttle;
    let from = peer(request.extensions());
    if let Gate::Locked(wait) = throttle.gate(from) {
        let retry = seconds(wait).to_string();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry)],
        )
            .into_response();
    }
    let sent = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same_secret(token.expose_secret(), sent) {
        throttle.wrong(from);
        let challenge = [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")];
        return (StatusCode::UNAUTHORIZED, challenge, "the metrics token is missing or wrong\nhint: send Authorization: Bearer <the value of --metrics-token-env's variable>\n").into_response();
    }
    throttle.right(from);
    scrape(&signals)
}

fn scrape(signals: &Signals) -> Response {
    if let Some((in_use, capacity)) = signals.state.runtime.pool_use() {
        crate::metrics::pool(in_use, capacity);
    }
    match crate::metrics::render() {
        Some(text) => {
            ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
