//! `connector-host worker`: every described activity of every connection as
//! a Temporal activity named `<connection>.<activity>` (`acme.create-contact`),
//! one JSON argument in (the activity's input), its JSON result out — a thin
//! front end over [`Session::call`](crate::Session::call) like `serve` and
//! `mcp`: no retry, refresh, scope check or rate limiting of its own.
//! Temporal retries, by the failure's type and retryability.
//!
//! # Layout
//!
//! - [`source`]: where connections come from (a directory; the trait lets a
//!   store stand beside it), with a stamp that says when one changed.
//! - [`queue`]: one task queue per application, and its rate limit on the server.
//! - `routes`, `fleet`: the connections served now, and one SDK core
//!   worker polling each queue, kept in step by a rescan every few seconds.
//! - `activity`: one attempt — resolve, check the argument, call with
//!   heartbeats, complete.
//! - `heartbeat`: the attempt's heartbeats, awaited one at a time, and the
//!   gate before the first request of an activity that is not retry-safe.
//! - [`failure`]: errors as Temporal failures by the host's error classes.
//! - [`payload`]: JSON ⇄ Temporal payloads, and the result cap.
//!
//! Invariants: credentials, tokens, egress rules and limits are those of
//! every other front end (the session's); nothing secret in a payload, a
//! failure, a heartbeat or a log line; an activity that is not retry-safe is
//! sent at most once per workflow call, whatever dies when.

mod activity;
pub mod failure;
mod fleet;
mod heartbeat;
pub mod payload;
pub mod queue;
mod routes;
pub mod source;

use std::sync::Arc;
use std::time::Duration;

use temporalio_client::{Connection, ConnectionOptions, Url};
use temporalio_sdk_core::{CoreRuntime, RuntimeOptions};

pub use source::{ConnectionSource, Kept, Stamp};

/// How the worker reaches Temporal and how it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The frontend's `host:port` (`TEMPORAL_ADDRESS`, default `127.0.0.1:7233`).
    pub address: String,
    /// The namespace (`TEMPORAL_NAMESPACE`, default `default`).
    pub namespace: String,
    /// This worker's identity in Temporal (default `<pid>@<host>`).
    pub identity: String,
    /// How often connections are looked at again.
    pub rescan: Duration,
    /// Attempts run at once per queue.
    pub max_concurrent: usize,
}

/// The worker's Temporal connection and who it is there.
pub struct Temporal {
    /// The connection (cheap to clone; one per process).
    pub connection: Connection,
    /// The namespace.
    pub namespace: String,
    /// The worker's identity.
    pub identity: String,
}

/// Serves `source`'s connections until SIGINT or SIGTERM; attempts already
/// running finish first.
///
/// # Errors
///
/// A sentence when Temporal cannot be reached or the namespace is unknown.
pub async fn run(settings: Settings, source: impl ConnectionSource) -> anyhow::Result<()> {
    let connection = connect(&settings).await?;
    let core = CoreRuntime::new_assume_tokio(RuntimeOptions::default())
        .map_err(|e| anyhow::anyhow!("cannot start the Temporal SDK core: {e:#}"))?;
    let temporal = Arc::new(Temporal {
        connection,
        namespace: settings.namespace.clone(),
        identity: settings.identity.clone(),
    });
    eprintln!(
        "connector-host worker: Temporal at {}, namespace {}, connections in {}",
        settings.address,
        settings.namespace,
        source.describe()
    );
    let mut fleet = fleet::Fleet::new(source, temporal, core, settings.max_concurrent);
    fleet.rescan().await;
    let queues = fleet.queues();
    let activities: usize = queues.values().sum();
    // Scripts and tests wait for this line.
    println!("ready: {} queues, {activities} activities", queues.len());
    let mut stop = std::pin::pin!(crate::serve::shutdown());
    loop {
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(settings.rescan) => fleet.rescan().await,
        }
    }
    fleet.shutdown().await;
    Ok(())
}

/// Connects to Temporal's frontend and checks the namespace exists.
async fn connect(settings: &Settings) -> anyhow::Result<Connection> {
    let hint = "hint: start Temporal (e.g. `temporal server start-dev`) or set TEMPORAL_ADDRESS / --temporal-address";
    let url = Url::parse(&format!("http://{}", settings.address)).map_err(|e| {
        anyhow::anyhow!(
            "TEMPORAL_ADDRESS {:?} is not host:port: {e}",
            settings.address
        )
    })?;
    let options = ConnectionOptions::new(url)
        .identity(settings.identity.clone())
        .connect_timeout(Duration::from_secs(10))
        .build();
    let connection = Connection::connect(options).await.map_err(|e| {
        anyhow::anyhow!("cannot reach Temporal at {}: {e}\n{hint}", settings.address)
    })?;
    let mut service = connection.workflow_service();
    let request =
        temporalio_common::protos::temporal::api::workflowservice::v1::DescribeNamespaceRequest {
            namespace: settings.namespace.clone(),
            ..Default::default()
        };
    use temporalio_client::tonic::IntoRequest;
    service
        .describe_namespace(request.into_request())
        .await
        .map_err(|status| {
            anyhow::anyhow!(
                "Temporal at {} has no usable namespace {:?}: {}\nhint: create it (`temporal operator namespace create`) or set TEMPORAL_NAMESPACE / --namespace",
                settings.address,
                settings.namespace,
                crate::redact::untrusted(status.message())
            )
        })?;
    Ok(connection)
}
