//! Where a worker's connections come from, behind one small trait: a
//! directory of connection files on this machine ([`Directory`]), and
//! whatever else keeps connection documents (the credential store's KV,
//! added beside it) without the worker changing.
//!
//! A source says which connections exist and a stamp for each that changes
//! when the connection does; the worker opens a connection again only when
//! its stamp changed, so a rescan every few seconds costs a directory read.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crate::catalogue::{self, Catalogue};
use crate::name::Name;
use crate::{Connection, InvokeError, Runtime, Session, SessionError};

/// Changes whenever the connection's document changes (for a file, its
/// modification time and length; for a store, its version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp(pub String);

/// Where the connections a worker serves are kept.
pub trait ConnectionSource: Send + Sync + 'static {
    /// Every connection there now, with its stamp, in a stable order.
    fn list(&self) -> impl Future<Output = Vec<(Name, Stamp)>> + Send;

    /// Opens connection `name`: its connector loaded (pinned), its
    /// credentials set up, ready for calls.
    fn open(&self, name: &Name) -> impl Future<Output = Result<Session, SessionError>> + Send;

    /// Where the connections are, for people (a directory, a store path).
    fn describe(&self) -> String;
}

/// Connection files `<name>.toml` in a directory, their connectors loaded
/// once per component file by a [`Catalogue`] (as `serve` does).
pub struct Directory {
    connections: PathBuf,
    catalogue: Catalogue,
}

impl Directory {
    /// The connection files in `connections`, with `connectors` as the
    /// directory of components (connection files may name others too).
    pub fn new(
        runtime: Arc<Runtime>,
        connectors: &std::path::Path,
        connections: PathBuf,
    ) -> Directory {
        Directory {
            connections,
            catalogue: Catalogue::new(runtime, connectors),
        }
    }

    fn file(&self, name: &Name) -> PathBuf {
        // A Name holds no separator or dot, so the file stays in the directory.
        self.connections.join(format!("{name}.toml"))
    }
}

impl ConnectionSource for Directory {
    async fn list(&self) -> Vec<(Name, Stamp)> {
        let Ok(dir) = std::fs::read_dir(&self.connections) else {
            return Vec::new();
        };
        let mut found: Vec<(Name, Stamp)> = dir
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                if path.extension()? != "toml" {
                    return None;
                }
                let name = Name::parse(path.file_stem()?.to_str()?, "connection name").ok()?;
                let (modified, length) = catalogue::stat(&path)?;
                let stamp = Stamp(format!("{modified:?} {length}"));
                Some((name, stamp))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    async fn open(&self, name: &Name) -> Result<Session, SessionError> {
        let connection = Connection::load(&self.file(name))?;
        connection.read_connector()?; // the pin
        let connector = self
            .catalogue
            .by_file(&connection.connector)
            .await
            .map_err(|reason| InvokeError::Load {
                path: connection.connector.clone(),
                reason,
            })?;
        Session::with_connector(connection, connector).await
    }

    fn describe(&self) -> String {
        self.connections.display().to_string()
    }
}
