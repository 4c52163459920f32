//! `connector-host worker`: the activities of a connections directory on
//! Temporal (see `connector_host::worker`, built with the `worker` feature).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Run every connection's activities as Temporal activities `<connection>.<activity>`.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host worker --connectors ./connectors --connections ./connections
  TEMPORAL_ADDRESS=temporal.internal:7233 connector-host worker --config serve.toml
  connector-host worker --config serve.toml --metrics-listen 127.0.0.1:9464

Each application (OAuth client id, or static credential) gets one task queue,
<connector>.<client id> (e.g. constant-contact.0b7c...), printed at start with its activities.
The queue's per-second limit is set on the server from the connector's declared rate limit;
give the queue one partition (matching.numTaskqueueReadPartitions and ...WritePartitions = 1)
so the limit holds across workers. Connection files added, changed or removed are picked up
within --rescan-ms. A workflow calls e.g. execute_activity(\"acme.create-contact\", {...},
task_queue=\"constant-contact.<client id>\"); failures carry the host's error class as their type.")]
pub struct Worker {
    /// A serve config file (TOML): its connectors directory and its connections
    /// (directory, or `connections_store`) are used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory of connector components (*.wasm).
    #[arg(long)]
    connectors: Option<PathBuf>,
    /// Directory of connection files (<name>.toml), instead of the config's.
    #[arg(long)]
    connections: Option<PathBuf>,
    /// Temporal's frontend, host:port.
    #[arg(long, env = "TEMPORAL_ADDRESS", default_value = "127.0.0.1:7233")]
    temporal_address: String,
    /// The Temporal namespace.
    #[arg(long, env = "TEMPORAL_NAMESPACE", default_value = "default")]
    namespace: String,
    /// This worker's identity in Temporal (default <pid>@<host name>).
    #[arg(long, env = "TEMPORAL_IDENTITY")]
    identity: Option<String>,
    /// How often connection files are looked at again, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    rescan_ms: u64,
    /// Activity attempts run at once per task queue.
    #[arg(long, default_value_t = 64)]
    max_concurrent: usize,
    #[command(flatten)]
    audit: super::audit::AuditLog,
    /// Serve GET /healthz and /metrics (no token) on this loopback address.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
}

impl Worker {
    /// Runs until SIGINT or SIGTERM.
    pub async fn execute(self) -> anyhow::Result<()> {
        #[cfg(feature = "worker")]
        return self.run().await;
        #[cfg(not(feature = "worker"))]
        anyhow::bail!("this connector-host was built without Temporal support\nhint: build it with `cargo build --features worker` (`make worker`, `make test` and release builds do)")
    }

    #[cfg(feature = "worker")]
    async fn run(self) -> anyhow::Result<()> {
        use connector_host::worker::{self, Kept, Settings};
        use std::sync::Arc;
        let mut config = connector_host::serve::Config::load(self.config.as_deref())
            .map_err(anyhow::Error::msg)?;
        if let Some(dir) = self.connectors {
            config.connectors = dir;
        }
        let identity = self.identity.unwrap_or_else(default_identity);
        let actor = connector_host::audit::ActorKind::Worker {
            identity: identity.clone(),
        };
        self.audit
            .start("worker", connector_host::audit::Actor::new(actor))?;
        let runtime = Arc::new(connector_host::Runtime::with_settings(
            &config.runtime_settings()?,
        )?);
        if let Some(address) = self.metrics_listen {
            let bound = connector_host::metrics::listen::spawn(address, runtime.clone()).await?;
            eprintln!("health and metrics on http://{bound}");
        }
        // Where serve with the same settings keeps them: a directory, or
        // (`connections_store`) the credential store, shared by every machine.
        let documents = match self.connections {
            Some(dir) => connector_host::documents::Documents::Directory(dir),
            None => connector_host::serve::documents(&config).map_err(anyhow::Error::msg)?,
        };
        let source = Kept::new(runtime, &config.connectors, documents).with_names(config.names);
        let settings = Settings {
            address: self.temporal_address,
            namespace: self.namespace,
            identity,
            rescan: Duration::from_millis(self.rescan_ms.max(100)),
            max_concurrent: self.max_concurrent.max(1),
        };
        worker::run(settings, source).await
    }
}

/// `<pid>@<host name>`, as Temporal's SDKs name workers.
#[cfg(feature = "worker")]
fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{}@{host}", std::process::id())
}
