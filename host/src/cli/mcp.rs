//! `connector-host mcp`: a connection's activities as MCP tools over stdio
//! (see [`connector_host::mcp`]).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use connector_host::mcp::Sessions;
use connector_host::{Name, Runtime, Session};

use super::exit::{self, Failed};

/// Serve the activities of one or more connections as MCP tools over stdio.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host mcp cc.toml
  connector-host mcp sales.toml support.toml     # tools named sales__create-contact, support__…

In an MCP client's configuration (e.g. Claude Desktop's mcpServers):
  {\"command\": \"connector-host\", \"args\": [\"mcp\", \"/path/to/cc.toml\"]}")]
pub struct Mcp {
    /// Connection files; with several, tool names are prefixed by each file's name.
    #[arg(required = true)]
    connections: Vec<PathBuf>,
}

impl Mcp {
    /// Opens every connection, then serves until the client closes stdin.
    pub async fn execute(self) -> anyhow::Result<()> {
        let runtime = Runtime::new()?;
        let mut sessions: Vec<(Name, Arc<Session>)> = Vec::new();
        for path in &self.connections {
            // The file's name names the connection (and prefixes its tools).
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let name = Name::parse(stem, "connection name").map_err(|e| Failed {
                message: format!(
                    "connection file {}: its name (without .toml) is {e}\nhint: rename the file, e.g. to sales.toml",
                    path.display()
                ),
                code: exit::CONFIG,
            })?;
            if sessions.iter().any(|(n, _)| *n == name) {
                anyhow::bail!("two connection files are named {name}; tool names would clash\nhint: rename one of them");
            }
            let session = Session::open(&runtime, path).await?;
            sessions.push((name, Arc::new(session)));
        }
        connector_host::mcp::serve_stdio(Arc::new(Sessions(sessions))).await
    }
}
