//! `connector-host mcp`: connections' activities as MCP tools over stdio
//! (see [`connector_host::mcp`]), or, with `--print-config`, an MCP client's
//! configuration that starts it (see [`super::mcp_config`]).
//!
//! It serves whatever connections it can: one that cannot be opened still
//! lists its tools and says on each call what to fix; only when no tool at
//! all remains does it refuse, and then as the answer to the client's first
//! request, which the client shows (an exit would show "connection closed").

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use connector_host::mcp::opened::Opened;
use connector_host::mcp::subset::{self, Subset};
use connector_host::mcp::Server;
use connector_host::{Name, Runtime};

use super::exit::{self, Failed};
use super::mcp_config::{self, Client};

/// Serve the activities of one or more connections as MCP tools over stdio.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host mcp cc.toml
  connector-host mcp sales.toml support.toml     # tools named sales__create-contact, support__…
  connector-host mcp sales.toml --tools 'list-*' --read-only
  connector-host mcp --print-config claude-desktop sales.toml   # paste into the client's config
  connector-host mcp --print-config http --url https://host:8080/mcp --tools 'list-*'

Clients: claude-desktop, claude-code, cursor, vscode (stdio); http (serve's /mcp).")]
pub struct Mcp {
    /// Connection files; with several, tool names are prefixed by each file's name.
    #[arg(required_unless_present = "print_config")]
    connections: Vec<PathBuf>,
    /// Only these connections (file names without .toml), comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = subset::connection)]
    only: Vec<Name>,
    /// Only activities whose name matches one of these patterns (`*`, `?`), comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = subset::pattern)]
    tools: Vec<String>,
    /// Only activities the connector flags read-only.
    #[arg(long)]
    read_only: bool,
    /// Print an MCP client's configuration for these arguments instead of serving.
    #[arg(long, value_name = "CLIENT")]
    print_config: Option<Client>,
    /// With `--print-config http`: `serve`'s /mcp URL.
    #[arg(long, requires = "print_config")]
    url: Option<String>,
    #[command(flatten)]
    audit: super::audit::AuditLog,
}

impl Mcp {
    /// Opens every connection it can, then serves until the client closes stdin.
    pub async fn execute(self) -> anyhow::Result<()> {
        let subset = Subset {
            connections: self.only,
            tools: self.tools,
            read_only: self.read_only,
        };
        if let Some(client) = self.print_config {
            let text = mcp_config::print(client, &self.connections, &subset, self.url.as_deref())?;
            return super::print_stdout(&text);
        }
        self.audit
            .start("mcp", connector_host::audit::Actor::cli())?;
        let (files, mut unserved) = named(&self.connections);
        let runtime = Runtime::new()?;
        let (opened, failed) = Opened::open(&runtime, files).await;
        unserved.extend(
            failed
                .into_iter()
                .map(|u| format!("connection {:?}: {}", u.name.as_str(), u.reason)),
        );
        let server = Server::new(Arc::new(opened))
            .with_subset(subset.clone())
            .with_unserved(unserved.clone());
        for reason in &unserved {
            tracing::error!("not served: {reason}");
        }
        if server.shown().await > 0 {
            return connector_host::mcp::serve_stdio(server).await;
        }
        // The client is answered with the reason; the exit code and stderr
        // say it too, for whoever reads the client's server log.
        let reason = refusal(&unserved, &subset);
        let _ = connector_host::mcp::serve_stdio(server.refusing(reason.clone())).await;
        Err(Failed {
            message: reason,
            code: exit::CONFIG,
        }
        .into())
    }
}

/// Each file with the name its stem gives it; files without a usable or
/// unique name are unserved, with why (named by file name, not path).
fn named(paths: &[PathBuf]) -> (Vec<(Name, PathBuf)>, Vec<String>) {
    let mut files: Vec<(Name, PathBuf)> = Vec::new();
    let mut unserved = Vec::new();
    for path in paths {
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        match Name::parse(stem, "connection name") {
            Err(e) => unserved.push(format!(
                "connection file {file:?}: its name (without .toml) is {e}\nhint: rename the file, e.g. to sales.toml"
            )),
            Ok(name) if files.iter().any(|(n, _)| *n == name) => unserved.push(format!(
                "two connection files are named {name}; tool names would clash, so the second is not served\nhint: rename one of them"
            )),
            Ok(name) => files.push((name, path.clone())),
        }
    }
    (files, unserved)
}

/// Why nothing is served, for the client to show.
fn refusal(unserved: &[String], subset: &Subset) -> String {
    let mut text = String::from("connector-host serves no tool");
    if !subset.is_everything() {
        text.push_str(&format!(": the filter ({}) leaves none", subset.describe()));
    }
    for reason in unserved {
        text.push_str("\n- ");
        text.push_str(reason);
    }
    if unserved.is_empty() {
        text.push_str("\nhint: widen --only, --tools or --read-only in the client's configuration");
    }
    text
}
