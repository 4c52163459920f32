//! `connector-host serve`: a long-running host with a JSON API, the
//! connection page, the OAuth redirect, and MCP over Streamable HTTP — all
//! thin front ends over [`crate::Session::call`] and the [`crate::catalogue`].
//!
//! # Layout
//!
//! - [`config`]: the settings (file and flags).
//! - `listen`: the accept loop (header-read deadline, connections per client).
//! - `state`: what requests share: the catalogue, one session per
//!   connection, sign-ins in progress, page sessions.
//! - `auth`, `throttle`: tokens (the operator's and tenants') and page
//!   sessions (cookie + the tab's secret); wrong tokens counted per client,
//!   lockouts.
//! - `tenants`, `space`, `admin`: tenants' tokens, each tenant's places and
//!   sessions (every request works in one tenant), the operator's routes.
//! - `links`, `link_page`, `record`: connect links and the hosted page
//!   they open; small records kept beside the connections.
//! - `api`, `connections`, `connect`, `errors`: the JSON API, connection
//!   files, the OAuth sign-in, errors as HTTP answers.
//! - `subscriptions` (`_kept`, `_poller`, `_settings`, `_config`): a
//!   trigger's events or a connection's health events delivered to a
//!   webhook URL, signed, retried, in order ([`crate::events`]).
//! - `page`, `headers`: the connection page; every answer's headers.
//! - [`signals`], `ready`: `/healthz`, `/readyz` and `/metrics`.
//! - `health`: the background monitor that renews OAuth tokens ahead of
//!   expiry and announces `connection.needs_reauth` / `connection.recovered`.
//!
//! Invariants: loopback by default; an API token on every `/api` call and
//! always (a server listening beyond loopback refuses to start without one
//! given to it; one shorter than 32 characters, or of few distinct
//! characters, is refused); no secret in a page, an answer or a log line.

mod admin;
mod api;
mod auth;
mod check;
pub mod config;
mod connect;
mod connections;
mod errors;
mod headers;
mod health;
mod link_page;
mod links;
mod listen;
mod page;
mod ready;
mod record;
pub mod signals;
mod space;
mod state;
mod subscriptions;
mod subscriptions_config;
mod subscriptions_kept;
mod subscriptions_poller;
mod tenants;
mod throttle;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{middleware, Router};
use secrecy::{ExposeSecret, SecretString};

pub use config::Config;
use state::State;
pub use subscriptions_config::EventSettings;

use crate::Runtime;

/// The OpenAPI document of the JSON API (served at `/openapi.json`).
pub const OPENAPI: &str = include_str!("openapi.json");

/// Runs the server until SIGINT or SIGTERM; calls in flight finish first.
///
/// # Errors
///
/// A sentence when it cannot start: no API token beyond loopback, an
/// unusable store, a port in use.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let token = api_token(&config).await?;
    std::fs::create_dir_all(&config.connections).map_err(|e| {
        anyhow::anyhow!(
            "cannot use the connections directory {}: {e}",
            config.connections.display()
        )
    })?;
    let runtime = Arc::new(Runtime::with_settings(&config.runtime_settings()?)?);
    // Each client connection and each pooled upstream one is a descriptor;
    // the usual soft limit (1,024) is far below what a platform holds open.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open file limit"),
    }
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {listen}: {e}\nhint: choose another address with --listen"
        )
    })?;
    let address = listener.local_addr()?;
    let mut config = config;
    // Port 0 means "any": the redirect must name the one actually bound.
    config.listen = address;
    let apart = match config.signals.metrics_listen {
        Some(address) => Some(signals::bind(address).await?),
        None => None,
    };
    let settings = config.signals.clone();
    let state = Arc::new(State::new(config, runtime, token).map_err(anyhow::Error::msg)?);
    let sealed = space::seal_kept_secrets(&state.at_rest, &state.config.connections)
        .await
        .map_err(anyhow::Error::msg)?;
    if sealed > 0 {
        tracing::info!(files = sealed, "sealed plain secret files from before");
    }
    let signals = signals::Signals::new(state.clone(), &settings).map_err(anyhow::Error::msg)?;
    // The first line on stdout is the address (tests and scripts read it).
    println!("http://{address}");
    eprintln!(
        "serving connectors from {} and connections in {} on http://{address}",
        state.config.connectors.display(),
        state.config.connections.display()
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let stopping = stop.clone();
    health::spawn(state.clone(), stop.clone());
    if let Some(listener) = apart {
        eprintln!("health and metrics on http://{}", listener.local_addr()?);
        tokio::spawn(signals::serve_apart(
            listener,
            signals.clone(),
            stop.clone(),
        ));
    }
    subscriptions_poller::start(state.clone(), stop.clone());
    let guards = state.config.guards;
    let stopped = async move {
        shutdown().await;
        // MCP's streams end too, so the server can finish.
        stopping.cancel();
    };
    listen::serve(listener, router(state, stop, signals), guards, stopped).await?;
    eprintln!("stopped: every call in flight finished");
    Ok(())
}

/// Where `config` keeps connections: its connections directory, or its
/// `connections_store` (the worker reads them where `serve` writes them).
///
/// # Errors
///
/// A sentence when the stores or the connections store are unusable.
pub fn documents(config: &Config) -> Result<crate::documents::Documents, String> {
    let stores = state::parse_stores(config)?;
    state::documents(config, &stores)
}

/// MCP over Streamable HTTP at `/mcp`: the current revision statelessly,
/// older ones with sessions; only this server's own hosts and origin.
fn mcp_service(
    state: &Arc<State>,
    stop: tokio_util::sync::CancellationToken,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    crate::mcp::Server<space::McpSource>,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let public = url::Url::parse(&state.config.public_url()).ok();
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    hosts.extend(
        public
            .as_ref()
            .and_then(|u| u.host_str())
            .map(str::to_owned),
    );
    let origins: Vec<String> = public
        .iter()
        .map(|u| u.origin().ascii_serialization())
        .collect();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_cancellation_token(stop);
    let server = crate::mcp::Server::new(Arc::new(space::McpSource(state.clone())));
    StreamableHttpService::new(move || Ok(server.clone()), Default::default(), config)
}

/// Every route, with the API behind the token.
fn router(
    state: Arc<State>,
    stop: tokio_util::sync::CancellationToken,
    signals: Arc<signals::Signals>,
) -> Router {
    let api = Router::new()
        .route("/api/connectors", get(api::list_connectors))
        .route("/api/connectors/{name}", get(api::describe_connector))
        .route("/api/stores", get(api::list_stores))
        .route("/api/connect-links", post(links::create))
        .route("/api/tenants", get(admin::list_tenants))
        .route(
            "/api/tenants/{tenant}/tokens",
            get(admin::list_tokens).post(admin::issue),
        )
        .route(
            "/api/tenants/{tenant}/tokens/{id}",
            axum::routing::delete(admin::revoke),
        )
        .route(
            "/api/connections",
            get(api::list_connections).post(api::create_connection),
        )
        .route(
            "/api/connections/{name}",
            get(api::get_connection)
                .put(api::update_connection)
                .delete(api::delete_connection),
        )
        .route("/api/connections/check", check::named_check())
        .route("/api/session", axum::routing::delete(page::sign_out))
        .route("/api/connections/{name}/check", post(api::check_connection))
        .route("/api/connections/{name}/status", get(api::status))
        .route("/api/connections/{name}/connect", post(connect::start))
        .route(
            "/api/connections/{name}/activities/{activity}",
            post(api::run),
        )
        .route(
            "/api/connections/{name}/activities/{activity}/pages",
            post(api::all_pages),
        )
        .route(
            "/api/connections/{name}/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/api/connections/{name}/subscriptions/{id}",
            get(subscriptions::get).delete(subscriptions::delete),
        )
        .route(
            "/api/connections/{name}/subscriptions/{id}/dead-letters",
            get(subscriptions::dead_letters),
        )
        .route(
            "/api/connections/{name}/subscriptions/{id}/dead-letters/replay",
            post(subscriptions::replay),
        )
        .route_layer(middleware::from_fn(errors::json_errors))
        .nest_service("/mcp", mcp_service(&state, stop))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require));
    Router::new()
        .merge(api)
        .merge(signals::routes(signals))
        .route("/", get(page::index))
        .route("/js/{file}", get(page::script))
        .route("/app.css", get(page::style))
        .route("/sign-in", get(page::sign_in_form).post(page::sign_in))
        .route("/oauth/start/{link}", get(connect::open_link))
        .route(
            "/connect/{id}",
            get(link_page::open).post(link_page::submit),
        )
        .route("/oauth/callback", get(connect::callback))
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    OPENAPI,
                )
            }),
        )
        .layer(middleware::from_fn(headers::every_answer))
        .with_state(state)
}

/// The API token: from the config, else `CONNECTOR_HOST_API_TOKEN`, else
/// (on loopback only) a random one written to a 0600 file whose path is printed.
async fn api_token(config: &Config) -> anyhow::Result<SecretString> {
    use crate::secrets::{CredentialStore, FieldSource, Resolver};
    let source = config.api_token.clone().or_else(|| {
        std::env::var_os("CONNECTOR_HOST_API_TOKEN")
            .map(|_| FieldSource::Env("CONNECTOR_HOST_API_TOKEN".into()))
    });
    if let Some(source) = source {
        let token = match &source {
            // A credential asset in one of the config's stores.
            FieldSource::Asset(_) => {
                let stores = state::parse_stores(config).map_err(anyhow::Error::msg)?;
                let stores = stores
                    .into_iter()
                    .map(|(name, c)| {
                        let store: Arc<dyn CredentialStore> =
                            Arc::new(crate::secrets::vault::VaultStore::new(c));
                        (name, store)
                    })
                    .collect();
                Resolver::new(stores).resolve("api_token", &source).await?
            }
            plain => crate::secrets::resolve_plain("api_token", plain)?,
        };
        crate::redact::remember(&token);
        strong(&token)?;
        return Ok(token);
    }
    if !config.listen.ip().is_loopback() {
        anyhow::bail!(
            "serve listens on {} (beyond loopback) and has no API token\nhint: set CONNECTOR_HOST_API_TOKEN, or api_token in the serve config",
            config.listen
        );
    }
    let token = SecretString::from(auth::random_token());
    crate::redact::remember(&token);
    let file = token_file();
    write_token(&file, &token)?;
    eprintln!(
        "API token written to {} (mode 0600); the page asks for it",
        file.display()
    );
    Ok(token)
}

/// Refuses an API token that can be guessed: shorter than
/// [`MIN_TOKEN`] characters, or of fewer than 8 distinct characters
/// (`aaaa…`, `passwordpassword…`). Says why, never what.
fn strong(token: &SecretString) -> anyhow::Result<()> {
    let text = token.expose_secret();
    let distinct: std::collections::BTreeSet<char> = text.chars().collect();
    let why = if text.chars().count() < MIN_TOKEN {
        format!("is shorter than {MIN_TOKEN} characters")
    } else if distinct.len() < 8 {
        format!("has only {} distinct characters", distinct.len())
    } else {
        return Ok(());
    };
    anyhow::bail!("the API token {why}: it could be guessed\nhint: use a long random value, e.g. `openssl rand -hex 32`")
}

/// The shortest API token `serve` accepts.
const MIN_TOKEN: usize = 32;

fn token_file() -> std::path::PathBuf {
    crate::at_rest::data_dir().join("serve-api-token")
}

fn write_token(file: &std::path::Path, token: &SecretString) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(file);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .map_err(|e| anyhow::anyhow!("cannot write the API token to {}: {e}", file.display()))?;
    out.write_all(token.expose_secret().as_bytes())?;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    eprintln!("stopping: finishing the calls in flight");
}
