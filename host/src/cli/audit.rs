//! `connector-host audit verify`, and the `--audit-log` / `--audit-key`
//! options every front end takes (see [`connector_host::audit`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use connector_host::audit::{self, chain::Key, verify, Actor};

use super::exit::{Failed, CONFIG};

/// Where the audit trail goes (off unless given).
#[derive(Args, Debug, Clone, Default)]
pub struct AuditLog {
    /// Append the audit trail (one JSON line per event) to FILE (created 0600), or - for stdout.
    #[arg(long, value_name = "FILE", env = "CONNECTOR_HOST_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Seal every audit line with a MAC keyed by FILE's contents (at least 32 bytes).
    #[arg(
        long,
        value_name = "FILE",
        env = "CONNECTOR_HOST_AUDIT_KEY",
        requires = "audit_log"
    )]
    audit_key: Option<PathBuf>,
}

impl AuditLog {
    /// Starts the trail for `front_end`, with `actor` for work no request scoped.
    pub fn start(&self, front_end: &'static str, actor: Actor) -> anyhow::Result<()> {
        let Some(path) = &self.audit_log else {
            return Ok(());
        };
        audit::init(audit::Settings {
            path: path.clone(),
            key: self.audit_key.clone(),
            front_end,
            actor,
        })
        .map_err(|message| {
            Failed {
                message,
                code: CONFIG,
            }
            .into()
        })
    }
}

/// Check audit trails.
#[derive(Args)]
pub struct Audit {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    Verify(Verify),
}

/// Say whether audit files are intact, or name the first line where a chain is cut, edited or reordered.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host audit verify audit.log
  connector-host audit verify audit.log.2 audit.log.1 audit.log     # rotated files, oldest first
  connector-host audit verify --key audit.key --json audit.log

Exit codes: 0 intact, 1 broken (the first broken line is named), 3 a file or the key cannot be read.")]
struct Verify {
    /// The audit files, oldest first.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The MAC key file the lines were written with (--audit-key): every line's MAC is checked.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl Audit {
    /// Runs the chosen audit command.
    pub fn execute(self) -> anyhow::Result<()> {
        match self.command {
            AuditCommand::Verify(v) => v.execute(),
        }
    }
}

impl Verify {
    fn execute(self) -> anyhow::Result<()> {
        let unusable = |message: String| Failed {
            message,
            code: CONFIG,
        };
        let key = self
            .key
            .as_deref()
            .map(Key::from_file)
            .transpose()
            .map_err(unusable)?;
        let report = verify::verify(&self.files, key.as_ref()).map_err(unusable)?;
        if self.json {
            super::print_stdout(&(serde_json::to_string_pretty(&report)? + "\n"))?;
        } else {
            super::print_stdout(&human(&report))?;
        }
        match &report.broken {
            None => Ok(()),
            Some(b) => Err(Failed {
                message: format!(
                    "{} line {}: {}\nhint: this file was changed after it was written; compare it with its copy (a log shipper's or a backup's)",
                    b.file.display(),
                    b.line,
                    b.problem
                ),
                code: 1,
            }
            .into()),
        }
    }
}

/// The report for a person: one line per file, and what a chain cannot prove.
fn human(report: &verify::Report) -> String {
    let mut text = String::new();
    for file in &report.files {
        text += &format!(
            "{}: intact: {} lines, {} … {}\n",
            file.file.display(),
            file.lines,
            file.first.as_deref().unwrap_or("-"),
            file.last.as_deref().unwrap_or("-"),
        );
    }
    if report.broken.is_none() {
        text += &format!(
            "{} chain(s), MACs {}",
            report.chains.len(),
            if report.keyed {
                "checked"
            } else {
                "not checked (no --key)"
            }
        );
        if !report.open_chains.is_empty() {
            text += &format!(
                "; {} end without audit.stopped (the process still runs, was killed, or lines were cut from the end): {}",
                report.open_chains.len(),
                report.open_chains.join(", ")
            );
        }
        text += "\n";
    }
    text
}
