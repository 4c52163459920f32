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
        connector_host::serve::run(config).await
    }
}
