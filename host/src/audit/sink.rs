//! Where audit lines go: a file opened append-only (created 0600) or
//! standard output, one `write` per whole line.
//!
//! With `O_APPEND` the kernel moves to the end and writes in one step, so
//! lines of several processes sharing a file never interleave within a line.
//! Rotation: before each line the writer compares the path's inode with the
//! open file's; when the file was renamed or removed (logrotate without
//! `copytruncate`, `mv audit.log audit.log.1`), it opens a new file at the
//! path and goes on with the same chain, whose first line there is
//! `audit.reopened` chained to the last line of the old file (the anchor).
//! No signal is needed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::chain::{self, Key};
use super::{Actor, Settings};

/// Where lines are written.
enum Target {
    Stdout,
    File {
        path: PathBuf,
        file: File,
        /// The open file's (device, inode).
        id: (u64, u64),
    },
}

/// The process's chain and its target.
pub(super) struct Writer {
    target: Target,
    key: Option<Key>,
    process: Value,
    chain: String,
    seq: u64,
    prev: String,
}

impl Writer {
    /// Opens the target (creating a file 0600) and starts a new chain.
    pub(super) fn open(settings: &Settings) -> Result<Writer, String> {
        let key = settings.key.as_deref().map(Key::from_file).transpose()?;
        let target = if settings.path.as_os_str() == "-" {
            Target::Stdout
        } else {
            let (file, id) = open_file(&settings.path)?;
            Target::File {
                path: settings.path.clone(),
                file,
                id,
            }
        };
        let pid = std::process::id();
        Ok(Writer {
            target,
            key,
            process: json!({"pid": pid, "host": host_name(), "front_end": settings.front_end}),
            chain: format!("{pid}-{}", super::random_id()),
            seq: 0,
            prev: chain::GENESIS.to_owned(),
        })
    }

    /// Appends one event (after `audit.reopened` when the file was rotated).
    pub(super) fn append(
        &mut self,
        actor: &Actor,
        kind: &str,
        fields: Map<String, Value>,
    ) -> Result<(), String> {
        if let Some(reason) = self.rotated()? {
            let mut why = Map::new();
            why.insert("reason".into(), Value::from(reason));
            let process = super::Actor::new(super::ActorKind::Process);
            self.write(&process, "audit.reopened", why)?;
        }
        self.write(actor, kind, fields)
    }

    fn write(
        &mut self,
        actor: &Actor,
        kind: &str,
        fields: Map<String, Value>,
    ) -> Result<(), String> {
        let line = json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "chain": self.chain,
            "seq": self.seq,
            "prev": self.prev,
            "process": self.process,
            "actor": actor,
            "kind": kind,
            "fields": fields,
        })
        .to_string();
        let line = match &self.key {
            Some(key) => key.seal(&line),
            None => line,
        };
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let written = match &mut self.target {
            // One write_all of the whole line: one write(2) for a regular
            // file opened O_APPEND (short writes happen only on a full disk).
            Target::File { file, path, .. } => file
                .write_all(&bytes)
                .map_err(|e| format!("cannot append to {}: {e}", path.display())),
            Target::Stdout => std::io::stdout()
                .lock()
                .write_all(&bytes)
                .map_err(|e| format!("cannot write to standard output: {e}")),
        };
        written?;
        self.prev = chain::hash(line.as_bytes());
        self.seq += 1;
        Ok(())
    }

    /// Reopens the file when the path no longer names it; says why.
    fn rotated(&mut self) -> Result<Option<&'static str>, String> {
        let Target::File { path, file, id } = &mut self.target else {
            return Ok(None);
        };
        let reason = match std::fs::metadata(&*path) {
            Ok(meta) if (meta.dev(), meta.ino()) == *id => return Ok(None),
            // Renamed, and another file already put in its place.
            Ok(_) => "replaced",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // The open file still has a name somewhere: it was moved.
                match file.metadata() {
                    Ok(meta) if meta.nlink() > 0 => "renamed",
                    _ => "removed",
                }
            }
            Err(e) => return Err(format!("cannot check {}: {e}", path.display())),
        };
        (*file, *id) = open_file(path)?;
        Ok(Some(reason))
    }
}

/// Opens `path` for appending, creating it 0600 (never following a link
/// at the last component: a planted link cannot redirect the trail).
fn open_file(path: &std::path::Path) -> Result<(File, (u64, u64)), String> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| {
            format!(
                "cannot open the audit log {}: {e}\nhint: the directory must exist and be writable by this process; --audit-log - writes to standard output",
                path.display()
            )
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "the audit log {} is not a regular file\nhint: give a file path, or - for standard output",
            path.display()
        ));
    }
    Ok((file, (meta.dev(), meta.ino())))
}

/// The machine's host name (for `process.host`).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}
