//! `connector-host run`: run one activity of a connection and print the result.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use connector_host::egress::{Credential, EgressEvent};
use connector_host::invoke::error_case;
use connector_host::secrets::FieldSource;
use connector_host::{CallOptions, InvokeError};
use secrecy::SecretString;
use serde_json::{json, Value};

use super::exit::{Failed, InputSourceError};
use super::Opened;

/// How often a retry-safe activity is retried when the API rate-limits it.
const RATE_LIMIT_RETRIES: u32 = 3;

/// Run an activity and print its result as JSON on stdout.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host run cc.toml create-contact-list --input '{\"name\": \"VIP\"}'
  connector-host run cc.toml get-contact --input @contact.json
  connector-host run cc.toml list-contacts --input '{\"limit\": 100}' --all-pages > contacts.ndjson
  connector-host run cc.toml create-contact --batch --input @new-contacts.ndjson > results.ndjson")]
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
    /// One call per input line (NDJSON); print one `{"ok": …}` or `{"error": …}` line each.
    /// Secrets are read once and reused while their store's cache TTL lasts.
    #[arg(long)]
    batch: bool,
}

impl Run {
    /// Loads the connection and connector, runs, prints.
    pub async fn execute(self) -> anyhow::Result<()> {
        let opened = super::open(&self.connection).await?;
        let call = Call {
            opened: &opened,
            activity: &self.activity,
        };
        if self.batch {
            return call.batch(&self.input).await;
        }
        let input = read_input(&self.input)?;
        if self.all_pages {
            call.all_pages(input).await
        } else {
            let output = call.once(&input).await?;
            super::print_stdout(&(serde_json::to_string_pretty(&output)? + "\n"))
        }
    }
}

struct Call<'a> {
    opened: &'a Opened,
    activity: &'a str,
}

impl Call<'_> {
    /// The bearer token: from the OAuth token manager (refreshed when due,
    /// scopes checked before anything runs) or the static `access_token`.
    async fn bearer(
        &self,
        rejected: Option<&SecretString>,
    ) -> anyhow::Result<Option<SecretString>> {
        if let Some(tokens) = &self.opened.tokens {
            let record = tokens.fresh(rejected).await?;
            let required = self
                .opened
                .connector
                .info()
                .activities
                .iter()
                .find(|a| a.name == self.activity);
            let required = required
                .map(|a| a.required_scopes.as_slice())
                .unwrap_or_default();
            tokens.check_scopes(&record, self.activity, required)?;
            return Ok(Some(record.access_token));
        }
        match &self.opened.connection.access_token {
            Some(source) => Ok(Some(
                self.opened.resolver.resolve("access_token", source).await?,
            )),
            None => Ok(None),
        }
    }

    /// One call. A token from a store that the API refuses is read again and
    /// the call retried once (it may have been rotated); a retry-safe
    /// activity is retried after a rate limit, with backoff.
    async fn once(&self, input: &Value) -> anyhow::Result<Value> {
        let retry_safe = self
            .opened
            .connector
            .info()
            .activities
            .iter()
            .any(|a| a.name == self.activity && a.retry_safe);
        let (mut refetched, mut attempt, mut rejected) = (false, 0, None);
        loop {
            let bearer = self.bearer(rejected.as_ref()).await?;
            let options = CallOptions {
                limits: self.opened.connection.limits.clone(),
                overrides: self.opened.connection.endpoints.clone(),
                credential: bearer.as_ref().map(Credential::bearer),
                token_origins: self.opened.connection.token_origins.clone(),
                rate: None,
                tls: self.opened.connection.tls.clone(),
            };
            match self
                .opened
                .connector
                .call(self.activity, input, &options)
                .await
            {
                // Only a 401 the host itself saw on a credentialed request
                // renews the token: a guest that merely claims `unauthorized`
                // must not make the host spend refresh tokens.
                Err(InvokeError::Activity { error, events, .. })
                    if error_case(&error) == Some("unauthorized")
                        && events
                            .iter()
                            .any(|e| matches!(e, EgressEvent::CredentialRefused { .. }))
                        && !refetched
                        && self.token_renewable() =>
                {
                    tracing::info!(
                        "the API refused the access token; renewing it and retrying once"
                    );
                    refetched = true;
                    match &self.opened.connection.access_token {
                        Some(source) if self.opened.tokens.is_none() => {
                            self.opened.resolver.forget(source).await
                        }
                        _ => rejected = bearer,
                    }
                }
                Err(InvokeError::Activity { error, .. })
                    if retry_safe
                        && attempt < RATE_LIMIT_RETRIES
                        && error_case(&error) == Some("rate_limited") =>
                {
                    attempt += 1;
                    tracing::info!(attempt, "rate limited; retrying");
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                }
                other => return Ok(other?),
            }
        }
    }

    /// Whether a refused token can be replaced: refreshed (OAuth) or read again (store).
    fn token_renewable(&self) -> bool {
        self.opened.tokens.is_some()
            || matches!(
                self.opened.connection.access_token,
                Some(FieldSource::Asset(_))
            )
    }

    /// One call per NDJSON line, read as it arrives; one result line each.
    async fn batch(&self, source: &str) -> anyhow::Result<()> {
        let lines: Box<dyn Iterator<Item = std::io::Result<String>>> = match source {
            "-" => Box::new(std::io::stdin().lock().lines()),
            s => Box::new(
                read_text(s)?
                    .lines()
                    .map(|l| Ok(l.to_owned()))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
        };
        let (mut calls, mut failures, mut code) = (0, 0, 0);
        for line in lines {
            let line = line.map_err(|e| InputSourceError(format!("cannot read input: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            calls += 1;
            let outcome = match serde_json::from_str::<Value>(&line) {
                Ok(input) => self.once(&input).await,
                Err(e) => {
                    Err(InputSourceError(format!("line {calls} is not valid JSON: {e}")).into())
                }
            };
            let record = match outcome {
                Ok(value) => json!({ "ok": value }),
                Err(error) => {
                    (failures, code) = (failures + 1, super::exit::code(&error));
                    json!({ "error": { "message": format!("{error:#}"), "exit_code": code } })
                }
            };
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{record}")?;
            stdout.flush()?;
        }
        if failures > 0 {
            return Err(Failed {
                message: format!("{failures} of {calls} calls failed (see the error lines)"),
                code,
            }
            .into());
        }
        Ok(())
    }

    /// Pagination by convention: the input has `cursor`, the output has
    /// `next_cursor` and one array of records.
    async fn all_pages(&self, mut input: Value) -> anyhow::Result<()> {
        let schema = self
            .opened
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
            let items = page_records(&page).map_err(|e| {
                anyhow::anyhow!("activity {:?} does not return a page: {e}", self.activity)
            })?;
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

fn read_input(source: &str) -> anyhow::Result<Value> {
    let text = read_text(source)?;
    serde_json::from_str(&text)
        .map_err(|e| InputSourceError(format!("--input is not valid JSON: {e}")).into())
}
