//! `connector-host serve`: the long-running host (see [`connector_host::serve`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use connector_host::serve::Config;

/// Serve the JSON API, the connection page and OAuth sign-ins for a directory of connectors.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host serve --connectors ./connectors --connections ./connections
  connector-host serve --config serve.toml
  CONNECTOR_HOST_API_TOKEN=$(openssl rand -hex 32) connector-host serve --listen 0.0.0.0:8080 --public-url https://hub.example.com

Health and metrics: GET /healthz and /readyz need no token; GET /metrics needs
a metrics token (CONNECTOR_HOST_METRICS_TOKEN, or the variable --metrics-token-env names; then
`Authorization: Bearer <its value>`), or a loopback listener of its own, --metrics-listen 127.0.0.1:PORT:
  CONNECTOR_HOST_METRICS_TOKEN=$(openssl rand -hex 32) connector-host serve --metrics-listen 127.0.0.1:9464

The API token comes from the config's api_token, else CONNECTOR_HOST_API_TOKEN; on loopback
without either, a random one is written to a 0600 file whose path is printed. The OpenAPI
document is at /openapi.json.")]
pub struct Serve {
    /// A serve config file (TOML): listen, connectors, connections, public_url, api_token, [stores], [endpoints].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory of connector components (*.wasm).
    #[arg(long)]
    connectors: Option<PathBuf>,
    /// Directory of connection files.
    #[arg(long)]
    connections: Option<PathBuf>,
    /// The URL browsers reach this server at (OAuth redirects come back to <url>/oauth/callback).
    #[arg(long)]
    public_url: Option<String>,
    #[command(flatten)]
    audit: super::audit::AuditLog,
    /// Offer GET /metrics on the main listener to `Authorization: Bearer <value of VAR>`
    /// (not to the API token); CONNECTOR_HOST_METRICS_TOKEN is used when set and this is not given.
    #[arg(long, value_name = "VAR")]
    metrics_token_env: Option<String>,
    /// Serve /healthz, /readyz and /metrics without a token on this loopback address too.
    #[arg(long, value_name = "ADDR", env = "CONNECTOR_HOST_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

impl Serve {
    /// Runs until SIGINT or SIGTERM.
    pub async fn execute(self) -> anyhow::Result<()> {
        use connector_host::audit::{Actor, ActorKind};
        self.audit.start("serve", Actor::new(ActorKind::Process))?;
        let mut config = Config::load(self.config.as_deref()).map_err(anyhow::Error::msg)?;
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(dir) = self.connectors {
            config.connectors = dir;
        }
        if let Some(dir) = self.connections {
            config.connections = dir;
        }
        if let Some(url) = self.public_url {
            config.public_url = Some(url);
        }
        let default_var =
            std::env::var_os(DEFAULT_METRICS_VAR).map(|_| DEFAULT_METRICS_VAR.to_owned());
        if let Some(var) = self.metrics_token_env.or(default_var) {
            config.signals.metrics_token = Some(metrics_token(&var)?);
        }
        config.signals.metrics_listen = self.metrics_listen;
        connector_host::serve::run(config).await
    }
}

/// Where the metrics token is read from unless --metrics-token-env names another variable.
const DEFAULT_METRICS_VAR: &str = "CONNECTOR_HOST_METRICS_TOKEN";

/// The metrics token from variable `var`: set, and as hard to guess as an API token.
fn metrics_token(var: &str) -> anyhow::Result<secrecy::SecretString> {
    use secrecy::ExposeSecret;
    let value = std::env::var(var).map_err(|_| {
        anyhow::anyhow!("--metrics-token-env {var}: the variable is not set\nhint: export {var}=$(openssl rand -hex 32)")
    })?;
    let token = secrecy::SecretString::from(value);
    connector_host::redact::remember(&token);
    let distinct: std::collections::BTreeSet<char> = token.expose_secret().chars().collect();
    if token.expose_secret().chars().count() < 32 || distinct.len() < 8 {
        anyhow::bail!("--metrics-token-env {var}: the token is shorter than 32 characters or has fewer than 8 distinct ones: it could be guessed\nhint: use a long random value, e.g. `openssl rand -hex 32`");
    }
    Ok(token)
}
