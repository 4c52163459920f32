//! `connector-host check`: the library's [`connector_host::check`] report,
//! printed; fails when anything failed.

use std::path::PathBuf;

use clap::Args;
use connector_host::check::Report;
use connector_host::{Connection, Runtime};

use super::exit::{Failed, CONFIG};

/// Check that every field of a connection resolves, without showing values.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host check cc.toml
  VAULT_TOKEN=… connector-host check cc.toml && echo ready")]
pub struct Check {
    /// The connection file.
    connection: PathBuf,
}

impl Check {
    /// Resolves everything and prints the report; fails when anything failed.
    pub async fn execute(self) -> anyhow::Result<()> {
        let connection = Connection::load(&self.connection)?;
        let report = connector_host::check::check(&Runtime::one_shot()?, &connection).await;
        print_report(&report);
        let failed = report.failures();
        if failed > 0 {
            return Err(Failed {
                message: format!("{failed} of {} checks failed", report.lines.len()),
                code: CONFIG,
            }
            .into());
        }
        Ok(())
    }
}

fn print_report(report: &Report) {
    println!("connection {}", report.connection);
    for (name, store) in &report.stores {
        println!("store {name}: {store}");
    }
    for line in &report.lines {
        let status = match &line.outcome {
            Ok(detail) => format!("OK      {detail}"),
            // A hint (or any further line) stays under the line it explains.
            Err(reason) => format!("FAILED  {}", reason.trim().replace('\n', "\n      ")),
        };
        println!("  {:<26} {}\n      {status}", line.what, line.source);
    }
}
