//! `connector-host run`: run an activity of a connection and print the
//! result. A thin adapter over [`Session::call`]: it reads the input, runs
//! one call, one call per line (`--batch`, in input order, `--concurrency`
//! at once) or one call per page (`--all-pages`), and prints.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::Args;
use connector_host::{Session, SessionError};
use futures::StreamExt;
use serde_json::{json, Value};

use super::exit::{Failed, InputSourceError};

/// Run an activity and print its result as JSON on stdout.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host run cc.toml create-contact-list --input '{\"name\": \"VIP\"}'
  connector-host run cc.toml get-contact --input @contact.json
  connector-host run cc.toml list-contacts --input '{\"limit\": 100}' --all-pages > contacts.ndjson
  connector-host run cc.toml create-contact --batch --concurrency 4 --input @new-contacts.ndjson > results.ndjson")]
pub struct Run {
    /// The connection file.
    connection: PathBuf,
    /// The activity's name, as `describe` lists it.
    activity: String,
    /// The input: inline JSON, @file, or - for standard input.
    #[arg(long, short, default_value = "{}")]
    input: String,
    /// Follow `next_cursor` through every page; print each record as one JSON line.
    #[arg(long, conflicts_with = "batch")]
    all_pages: bool,
    /// One call per input line (NDJSON); print one `{"ok": …}` or `{"error": …}` line each,
    /// in input order. Secrets are read once and reused while their store's cache TTL lasts.
    #[arg(long)]
    batch: bool,
    /// With --batch: calls in flight at once (the connection's rate limit still holds).
    #[arg(long, default_value_t = 1, requires = "batch", value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    #[command(flatten)]
    audit: super::audit::AuditLog,
}

impl Run {
    /// Opens the connection, runs, prints.
    pub async fn execute(self) -> anyhow::Result<()> {
        self.audit
            .start("run", connector_host::audit::Actor::cli())?;
        let session = super::open(&self.connection).await?;
        if self.batch {
            return batch(
                &session,
                &self.activity,
                &self.input,
                self.concurrency.into(),
            )
            .await;
        }
        let input = read_input(&self.input)?;
        if self.all_pages {
            return all_pages(&session, &self.activity, input).await;
        }
        let output = session.call(&self.activity, &input).await?;
        super::print_stdout(&(serde_json::to_string_pretty(&output)? + "\n"))
    }
}

/// One call per NDJSON line, read as it arrives, `concurrency` at a time;
/// one result line each, in input order.
async fn batch(
    session: &Session,
    activity: &str,
    source: &str,
    concurrency: usize,
) -> anyhow::Result<()> {
    let lines = input_lines(source)?;
    let calls = futures::stream::unfold(lines, |mut lines| async move {
        let line = lines.recv().await?;
        Some((line, lines))
    })
    .enumerate()
    .map(|(number, line)| async move {
        let outcome = match line {
            Ok(line) => match serde_json::from_str::<Value>(&line) {
                Ok(input) => session
                    .call(activity, &input)
                    .await
                    .map_err(anyhow::Error::from),
                Err(e) => Err(InputSourceError(format!(
                    "line {} is not valid JSON: {e}",
                    number + 1
                ))
                .into()),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(value) => (json!({ "ok": value }), None),
            Err(error) => {
                let code = super::exit::code(&error);
                let message = format!("{error:#}");
                // The class, as serve and MCP name it, for scripts to branch on.
                let class = error
                    .downcast_ref::<SessionError>()
                    .map(|e| e.class().name());
                (
                    json!({ "error": { "message": message, "class": class, "exit_code": code } }),
                    Some(code),
                )
            }
        }
    })
    .buffered(concurrency);
    futures::pin_mut!(calls);
    let (mut total, mut failures, mut code) = (0, 0, 0);
    while let Some((record, failed)) = calls.next().await {
        total += 1;
        if let Some(c) = failed {
            (failures, code) = (failures + 1, c);
        }
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{record}")?;
        stdout.flush()?;
    }
    if failures > 0 {
        return Err(Failed {
            message: format!("{failures} of {total} calls failed (see the error lines)"),
            code,
        }
        .into());
    }
    Ok(())
}

/// The non-empty input lines, read on a thread of their own as they arrive
/// (stdin may be a pipe that another program fills slowly).
fn input_lines(
    source: &str,
) -> anyhow::Result<tokio::sync::mpsc::Receiver<anyhow::Result<String>>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    let lines: Box<dyn Iterator<Item = std::io::Result<String>> + Send> = match source {
        "-" => Box::new(std::io::BufReader::new(std::io::stdin()).lines()),
        s => Box::new(
            read_text(s)?
                .lines()
                .map(|l| Ok(l.to_owned()))
                .collect::<Vec<_>>()
                .into_iter(),
        ),
    };
    std::thread::spawn(move || {
        for line in lines {
            let line = line.map_err(|e| InputSourceError(format!("cannot read input: {e}")).into());
            if line.as_ref().is_ok_and(|l: &String| l.trim().is_empty()) {
                continue;
            }
            if sender.blocking_send(line).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

/// Every record of every page, one JSON line each, with a count on a
/// terminal's stderr.
async fn all_pages(session: &Session, activity: &str, input: Value) -> anyhow::Result<()> {
    let records = session.records(activity, input)?;
    let mut records = std::pin::pin!(records);
    let progress = std::io::stderr().is_terminal();
    let mut stdout = std::io::stdout().lock();
    let mut count = 0_u64;
    while let Some(record) = records.next().await {
        if let Err(e) = writeln!(stdout, "{}", record?) {
            // A closed pipe (`| head`) means the reader has had enough.
            return if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e.into())
            };
        }
        count += 1;
        if progress && count.is_multiple_of(50) {
            eprint!("\r{count} records");
        }
    }
    if progress {
        eprintln!("\r{count} records");
    }
    Ok(())
}

/// `--input` text: inline, `@file`, or `-` for all of stdin.
fn read_text(source: &str) -> anyhow::Result<String> {
    Ok(match source {
        "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| InputSourceError(format!("cannot read input from stdin: {e}")))?;
            text
        }
        s if s.starts_with('@') => std::fs::read_to_string(&s[1..])
            .map_err(|e| InputSourceError(format!("cannot read input file {}: {e}", &s[1..])))?,
        s => s.to_owned(),
    })
}

pub(super) fn read_input(source: &str) -> anyhow::Result<Value> {
    let text = read_text(source)?;
    serde_json::from_str(&text)
        .map_err(|e| InputSourceError(format!("--input is not valid JSON: {e}")).into())
}
