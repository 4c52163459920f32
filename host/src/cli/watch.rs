//! `connector-host watch`: poll a trigger and print its events as NDJSON
//! until stopped. A thin adapter over [`Session::poll`]: the checkpoint lives
//! in a file written only after the events it covers are printed, so a
//! restart (or a crash) resumes where the output stopped: at least once,
//! and the event ids let the reader drop a repeat.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use connector_host::{ErrorClass, PollRequest, Polled, Session, SessionError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Poll a trigger and print each event as one JSON line, until stopped.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host watch cc.toml contact-updated
  connector-host watch cc.toml contact-created --since 2026-12-01T00:00:00Z --interval 5m
  connector-host watch cc.toml contact-added-to-list --settings '{\"list_id\": \"…\"}' --once

Each line is {\"type\", \"id\", \"timestamp\", \"connection\", \"data\"}. The checkpoint is kept
in <connection>.<trigger>.checkpoint beside the connection file (or --checkpoint FILE): a
restart resumes after the last event printed.")]
pub struct Watch {
    /// The connection file.
    connection: PathBuf,
    /// The trigger's name, as `describe` lists it.
    trigger: String,
    /// Where a first poll starts (RFC 3339); now without it. Ignored when a
    /// checkpoint exists.
    #[arg(long)]
    since: Option<String>,
    /// Time between polls, e.g. 30s, 5m, 1h; the trigger's default without it.
    #[arg(long, value_parser = parse_interval)]
    interval: Option<Duration>,
    /// The checkpoint file.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// The trigger's settings: inline JSON, @file, or - for standard input.
    #[arg(long, default_value = "{}")]
    settings: String,
    /// Poll once (and again at once while the trigger says more are waiting), then exit.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    audit: super::audit::AuditLog,
}

/// What the checkpoint file holds: the trigger and settings it belongs to,
/// so a file is never resumed for another.
#[derive(Serialize, Deserialize)]
struct Saved {
    trigger: String,
    settings: Map<String, Value>,
    checkpoint: String,
}

/// Transient failures wait this long at first, doubling up to the interval.
const FIRST_RETRY: Duration = Duration::from_secs(1);

impl Watch {
    /// Opens the connection and polls until stopped (or once).
    pub async fn execute(self) -> anyhow::Result<()> {
        self.audit
            .start("watch", connector_host::audit::Actor::cli())?;
        let settings = match super::run::read_input(&self.settings)? {
            Value::Object(map) => map,
            _ => bail!("--settings must be a JSON object, e.g. '{{\"list_id\": \"…\"}}'"),
        };
        let session = super::open(&self.connection).await?;
        let trigger = session.trigger(&self.trigger)?.clone();
        let file = self
            .checkpoint
            .clone()
            .unwrap_or_else(|| default_file(&self.connection, &self.trigger));
        let mut request = PollRequest {
            checkpoint: resume(&file, &self.trigger, &settings)?,
            since: self.since.clone(),
            settings,
        };
        if request.checkpoint.is_some() && self.since.is_some() {
            eprintln!(
                "watch: resuming from {}; --since is ignored",
                file.display()
            );
        }
        let minimum = Duration::from_secs(trigger.minimum_interval_seconds.into());
        let interval = self
            .interval
            .unwrap_or(Duration::from_secs(trigger.default_interval_seconds.into()));
        if interval < minimum {
            bail!(
                "--interval {} s is shorter than trigger {}'s minimum of {} s\nhint: the minimum keeps polls inside the API's limits",
                interval.as_secs(),
                self.trigger,
                minimum.as_secs()
            );
        }
        let name = connection_name(&self.connection);
        eprintln!(
            "watch: polling {} every {} s{}; checkpoint in {}",
            self.trigger,
            interval.as_secs(),
            if request.checkpoint.is_some() {
                ", resuming"
            } else {
                ""
            },
            file.display()
        );
        let mut retry = FIRST_RETRY;
        loop {
            match poll_and_print(&session, &self.trigger, &mut request, &file, &name).await {
                Ok(true) => continue,
                Ok(false) if self.once => return Ok(()),
                Ok(false) => retry = FIRST_RETRY,
                Err(error) if self.once || !transient(&error) => return Err(error),
                Err(error) => {
                    eprintln!(
                        "watch: the poll failed; trying again in {} s: {error}",
                        retry.as_secs()
                    );
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(interval);
                    continue;
                }
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// One poll: print its events, then save the checkpoint. Whether more are waiting.
async fn poll_and_print(
    session: &Session,
    trigger: &str,
    request: &mut PollRequest,
    file: &Path,
    connection: &str,
) -> anyhow::Result<bool> {
    let Polled {
        events,
        checkpoint,
        more,
    } = session.poll(trigger, request).await?;
    let mut lines = String::new();
    for event in events {
        let line = json!({
            "type": trigger,
            "id": event.id,
            "timestamp": event.occurred_at,
            "connection": connection,
            "data": event.data,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    // Printed (and flushed) before the checkpoint moves: a crash between
    // the two prints them again, never loses them.
    super::print_stdout(&lines)?;
    save(file, trigger, &request.settings, &checkpoint)?;
    request.checkpoint = Some(checkpoint);
    Ok(more)
}

/// Failures a later poll may get past: the API or the network, a limit,
/// the quota. Others (a missing connection, scope, or a bad setting) wait for a person.
fn transient(error: &anyhow::Error) -> bool {
    error.downcast_ref::<SessionError>().is_some_and(|e| {
        matches!(
            e.class(),
            ErrorClass::ApiRefused
                | ErrorClass::LimitHit
                | ErrorClass::QuotaExhausted
                | ErrorClass::Internal
        )
    })
}

fn default_file(connection: &Path, trigger: &str) -> PathBuf {
    let stem = connection
        .file_stem()
        .map_or_else(|| "connection".into(), |s| s.to_string_lossy().into_owned());
    connection.with_file_name(format!("{stem}.{trigger}.checkpoint"))
}

fn connection_name(connection: &Path) -> String {
    connection
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// The saved checkpoint, if this trigger and settings have one.
fn resume(
    file: &Path,
    trigger: &str,
    settings: &Map<String, Value>,
) -> anyhow::Result<Option<String>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read checkpoint {}", file.display()))
        }
    };
    let saved: Saved = serde_json::from_str(&text).with_context(|| {
        format!("checkpoint {} is not one `watch` wrote\nhint: delete it to start again from --since or now", file.display())
    })?;
    if saved.trigger != trigger || &saved.settings != settings {
        bail!(
            "checkpoint {} belongs to trigger {} with other settings\nhint: give another --checkpoint file, or delete it to start again",
            file.display(),
            saved.trigger
        );
    }
    Ok(Some(saved.checkpoint))
}

/// Writes the checkpoint whole or not at all, 0600.
fn save(
    file: &Path,
    trigger: &str,
    settings: &Map<String, Value>,
    checkpoint: &str,
) -> anyhow::Result<()> {
    let saved = Saved {
        trigger: trigger.to_owned(),
        settings: settings.clone(),
        checkpoint: checkpoint.to_owned(),
    };
    let text = serde_json::to_string(&saved)?;
    connector_host::documents::write_private(file, text.as_bytes())
        .with_context(|| format!("cannot write checkpoint {}", file.display()))
}

/// `30s`, `5m`, `1h`, or a number of seconds.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err("expected e.g. 30s, 5m or 1h".into()),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| "expected e.g. 30s, 5m or 1h".to_owned())?;
    match value.checked_mul(seconds) {
        Some(0) | None => Err("expected an interval of at least 1 s".into()),
        Some(total) => Ok(Duration::from_secs(total)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_people_write_them() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "0s", "5 m", "m", "1d", "-1", "99999999999999999999h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
