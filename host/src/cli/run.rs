//! `connector-host run`: run one activity of a connection and print the result.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use connector_host::invoke::error_case;
use connector_host::{CallOptions, Connection, Connector, InvokeError};
use serde_json::Value;

use super::exit::InputSourceError;

/// How often a retry-safe activity is retried when the API rate-limits it.
const RATE_LIMIT_RETRIES: u32 = 3;

/// Run an activity and print its result as JSON on stdout.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host run cc.toml create-contact-list --input '{\"name\": \"VIP\"}'
  connector-host run cc.toml get-contact --input @contact.json
  connector-host run cc.toml list-contacts --input '{\"limit\": 100}' --all-pages > contacts.ndjson")]
pub struct Run {
    /// The connection file.
    connection: PathBuf,
    /// The activity's name, as `describe` lists it.
    activity: String,
    /// The input: inline JSON, @file, or - for standard input.
    #[arg(long, short, default_value = "{}")]
    input: String,
    /// Follow `next_cursor` through every page; print each record as one JSON line.
    #[arg(long)]
    all_pages: bool,
}

impl Run {
    /// Loads the connection and connector, runs, prints.
    pub async fn execute(self) -> anyhow::Result<()> {
        let input = read_input(&self.input)?;
        let connection = Connection::load(&self.connection)?;
        let bytes = connection.read_connector()?;
        let connector = super::load_connector(&connection.connector, &bytes).await?;
        let options = CallOptions {
            limits: connection.limits.clone(),
            overrides: connection.endpoints.clone(),
            bearer: connection.access_token.clone(),
        };
        let call = Call {
            connector: &connector,
            activity: &self.activity,
            options: &options,
        };
        if self.all_pages {
            call.all_pages(input).await
        } else {
            let output = call.once(&input).await?;
            super::print_stdout(&(serde_json::to_string_pretty(&output)? + "\n"))
        }
    }
}

struct Call<'a> {
    connector: &'a Connector,
    activity: &'a str,
    options: &'a CallOptions,
}

impl Call<'_> {
    /// One call; a retry-safe activity is retried after a rate limit, with backoff.
    async fn once(&self, input: &Value) -> Result<Value, InvokeError> {
        let retry_safe = self
            .connector
            .info()
            .activities
            .iter()
            .any(|a| a.name == self.activity && a.retry_safe);
        let mut attempt = 0;
        loop {
            match self
                .connector
                .call(self.activity, input, self.options)
                .await
            {
                Err(InvokeError::Activity { error, .. })
                    if retry_safe
                        && attempt < RATE_LIMIT_RETRIES
                        && error_case(&error) == Some("rate_limited") =>
                {
                    attempt += 1;
                    tracing::info!(attempt, "rate limited; retrying");
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    /// Pagination by convention: the input has `cursor`, the output has
    /// `next_cursor` and one array of records.
    async fn all_pages(&self, mut input: Value) -> anyhow::Result<()> {
        let schema = self
            .connector
            .input_schema(self.activity)
            .unwrap_or_default();
        if schema.pointer("/properties/cursor").is_none() || !input.is_object() {
            anyhow::bail!(InputSourceError(format!(
                "--all-pages needs an activity whose input has a `cursor` field; {:?} has none",
                self.activity
            )));
        }
        let progress = std::io::stderr().is_terminal();
        let mut stdout = std::io::stdout().lock();
        let (mut pages, mut records) = (0, 0);
        loop {
            let page = self.once(&input).await?;
            let items = page_records(&page)
                .with_context(|| format!("activity {:?} does not return a page", self.activity))?;
            for item in items {
                if let Err(e) = writeln!(stdout, "{item}") {
                    // A closed pipe (`| head`) means the reader has had enough.
                    return if e.kind() == std::io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(e.into())
                    };
                }
            }
            (pages, records) = (pages + 1, records + items.len());
            if progress {
                eprint!("\rpage {pages}, {records} records");
            }
            match page.get("next_cursor") {
                Some(Value::String(next)) => input["cursor"] = Value::String(next.clone()),
                _ => break,
            }
        }
        if progress {
            eprintln!();
        }
        Ok(())
    }
}

/// The single array field of a page (`contacts`, `lists`, …).
fn page_records(page: &Value) -> anyhow::Result<&Vec<Value>> {
    let arrays: Vec<&Vec<Value>> = page
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_array)
        .collect();
    match arrays.as_slice() {
        [one] => Ok(one),
        _ => {
            anyhow::bail!("expected an object with `next_cursor` and exactly one array of records")
        }
    }
}

fn read_input(source: &str) -> anyhow::Result<Value> {
    let text = match source {
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
    };
    serde_json::from_str(&text)
        .map_err(|e| InputSourceError(format!("--input is not valid JSON: {e}")).into())
}
