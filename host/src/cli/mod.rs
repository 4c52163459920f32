//! The command line: one file per verb.

pub mod audit;
pub mod check;
pub mod compile;
pub mod connect;
pub mod describe;
pub mod exit;
pub mod mcp;
pub mod mcp_config;
pub mod run;
pub mod serve;
pub mod status;
pub mod watch;
pub mod worker;

use clap::{Parser, Subcommand};

/// Loads WebAssembly connectors and runs their activities.
#[derive(Parser)]
#[command(name = "connector-host", version, about, after_help = exit::HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Describe(describe::Describe),
    Run(run::Run),
    Check(check::Check),
    Connect(connect::Connect),
    Status(status::Status),
    Serve(serve::Serve),
    Mcp(mcp::Mcp),
    #[command(name = "compile-component", hide = true)]
    CompileComponent(compile::CompileComponent),
    Worker(worker::Worker),
    Audit(audit::Audit),
    Watch(watch::Watch),
}

impl Cli {
    /// Runs the chosen command.
    pub async fn execute(self) -> anyhow::Result<()> {
        // This binary has the compiler subcommand: compile in child
        // processes, which are stopped at the deadline (a compile bomb
        // otherwise keeps a core busy for minutes).
        connector_host::invoke::compile_in_child_processes();
        match self.command {
            Command::Describe(c) => c.execute().await,
            Command::Run(c) => c.execute().await,
            Command::Check(c) => c.execute().await,
            Command::Connect(c) => c.execute().await,
            Command::Status(c) => c.execute().await,
            Command::Serve(c) => c.execute().await,
            Command::Mcp(c) => c.execute().await,
            Command::CompileComponent(c) => c.execute(),
            Command::Worker(c) => c.execute().await,
            Command::Audit(c) => c.execute(),
            Command::Watch(c) => c.execute().await,
        }
    }
}

/// Writes the result to stdout; a reader that went away (`| head`) is not an error.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Starts a runtime and loads the connector in `bytes` (read from `path`);
/// `describe` runs under `limits`.
pub async fn load_connector(
    path: &std::path::Path,
    bytes: &[u8],
    limits: &connector_host::Limits,
) -> anyhow::Result<connector_host::Connector> {
    use anyhow::Context;
    let runtime = connector_host::Runtime::one_shot()?;
    runtime
        .load(path, bytes, limits)
        .await
        .with_context(|| format!("loading {}", path.display()))
}

/// Opens the connection file at `path`: its (pinned) connector, its
/// resolver and its credentials (the token manager for OAuth connections).
pub async fn open(path: &std::path::Path) -> anyhow::Result<connector_host::Session> {
    let runtime = connector_host::Runtime::one_shot()?;
    Ok(connector_host::Session::open(&runtime, path).await?)
}
