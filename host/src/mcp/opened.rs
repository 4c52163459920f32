//! The connections `connector-host mcp` serves over stdio, opened as far as
//! they can be.
//!
//! A connection whose connector loads but whose session cannot be opened (a
//! secret that does not resolve, OAuth settings that are wrong) still lists
//! its tools; each call tries to open it again and, while it cannot, is a
//! tool error worded for MCP that says what to fix, as `/mcp` on `serve`
//! does. A connection whose file or connector cannot be used has no tools;
//! its reason reaches the client as a log notification, and when no tool at
//! all remains, as the answer to every request (see [`super::Server`]).
//!
//! Invariant: a call runs only on the session of the connection its tool
//! was made from, with the connector loaded (and its pin checked) at start.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Exposed, ToolSource};
use crate::invoke::Connector;
use crate::name::Name;
use crate::session::remedy::{Front, Rendered};
use crate::{Connection, Runtime, Session, SessionError};

/// One connection file whose connector loaded.
struct Slot {
    name: Name,
    path: PathBuf,
    connector: Arc<Connector>,
    /// The session, once it opened.
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
}

/// The connections of `connector-host mcp`, each opened or waiting to be.
pub struct Opened {
    slots: Vec<Slot>,
}

/// A connection that serves no tool, and why, worded for MCP (no server
/// path, no command line).
pub struct Unserved {
    /// The connection.
    pub name: Name,
    /// Why, with what to do.
    pub reason: String,
}

impl Opened {
    /// Opens each (name, file): what has tools, and what has none and why.
    /// A session that cannot open yet is logged and tried again on each call.
    pub async fn open(runtime: &Runtime, files: Vec<(Name, PathBuf)>) -> (Opened, Vec<Unserved>) {
        let mut slots = Vec::new();
        let mut unserved = Vec::new();
        for (name, path) in files {
            let (connection, connector) = match load(runtime, &path).await {
                Ok(loaded) => loaded,
                Err(error) => {
                    tracing::error!(connection = %name, error = %format!("{error:#}"), "connection has no tools");
                    let reason = Rendered::for_front(&error, Front::Mcp, name.as_str()).text();
                    unserved.push(Unserved { name, reason });
                    continue;
                }
            };
            let session = match Session::with_connector(connection, connector.clone()).await {
                Ok(session) => Some(Arc::new(session)),
                Err(error) => {
                    // Its tools are listed; each call says this, worded for MCP.
                    tracing::warn!(connection = %name, error = %format!("{error:#}"), "connection not opened; its tools will say why");
                    None
                }
            };
            slots.push(Slot {
                name,
                path,
                connector,
                session: tokio::sync::Mutex::new(session),
            });
        }
        (Opened { slots }, unserved)
    }

    /// Whether no connection has tools.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// The connection file and its connector, loaded (the pin checked).
async fn load(
    runtime: &Runtime,
    path: &std::path::Path,
) -> Result<(Connection, Arc<Connector>), SessionError> {
    let connection = Connection::load(path)?;
    let bytes = connection.read_connector()?;
    let connector = runtime
        .load(&connection.connector, &bytes, &connection.limits)
        .await?;
    Ok((connection, Arc::new(connector)))
}

impl ToolSource for Opened {
    async fn connections(&self, _: &rmcp::model::Extensions) -> Vec<Exposed> {
        self.slots
            .iter()
            .map(|slot| Exposed {
                name: slot.name.clone(),
                connector: slot.connector.clone(),
            })
            .collect()
    }

    async fn session(
        &self,
        name: &Name,
        _: &rmcp::model::Extensions,
    ) -> Result<Arc<Session>, SessionError> {
        let slot = self
            .slots
            .iter()
            .find(|s| s.name == *name)
            .expect("tool names map to these connections");
        let mut session = slot.session.lock().await;
        if let Some(opened) = session.as_ref() {
            return Ok(opened.clone());
        }
        // Read again: the operator may have fixed the file or the store since.
        let connection = Connection::load(&slot.path)?;
        let opened = Arc::new(Session::with_connector(connection, slot.connector.clone()).await?);
        *session = Some(opened.clone());
        Ok(opened)
    }
}
