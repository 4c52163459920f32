//! `connector-host audit verify`: checks that a set of audit files (oldest
//! first, as rotation left them) is intact, or names the first line where a
//! chain is cut, edited, reordered or truncated.
//!
//! Each process's chain is followed on its own, across files: a chain
//! starts with `audit.started` (seq 0, `prev` all zeros) or, in a file
//! whose predecessor was not given, with `audit.reopened`; every later line
//! has the next `seq` and the SHA-256 of the chain's previous line as
//! `prev`. With a key, every line's MAC must match too.
//!
//! What a hash chain cannot show: lines cut from the end of a chain (the
//! report lists chains that end without `audit.stopped`: processes still
//! running, killed, or cut), and, without a key, an edit of a chain's last
//! line or a whole file rewritten with new hashes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::chain::{hash, Key, GENESIS};

/// What one file held.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The file.
    pub file: PathBuf,
    /// Its lines.
    pub lines: usize,
    /// The first line's time.
    pub first: Option<String>,
    /// The last line's time.
    pub last: Option<String>,
}

/// The first place the chain is broken.
#[derive(Debug, Serialize)]
pub struct Break {
    /// The file.
    pub file: PathBuf,
    /// The line (from 1).
    pub line: usize,
    /// What is wrong there, as a sentence.
    pub problem: String,
}

/// The outcome of a verification.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Whether every line verified.
    pub intact: bool,
    /// Each file, in the order given (up to the break).
    pub files: Vec<FileReport>,
    /// The chains (one per process), in the order they first appear.
    pub chains: Vec<String>,
    /// Chains whose last line is not `audit.stopped`.
    pub open_chains: Vec<String>,
    /// Whether MACs were checked.
    pub keyed: bool,
    /// The first break, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<Break>,
}

/// Where a chain stands.
struct Tail {
    next: u64,
    hash: String,
    file: usize,
    line: usize,
    stopped: bool,
}

/// The fields of a line the chain is checked by.
struct Link<'a> {
    chain: &'a str,
    seq: u64,
    prev: &'a str,
    kind: &'a str,
}

/// Verifies `files` (oldest first), with MACs when `key` is given.
///
/// # Errors
///
/// When a file cannot be read.
pub fn verify(files: &[PathBuf], key: Option<&Key>) -> Result<Report, String> {
    let mut report = Report {
        intact: true,
        files: Vec::new(),
        chains: Vec::new(),
        open_chains: Vec::new(),
        keyed: key.is_some(),
        broken: None,
    };
    let mut tails: HashMap<String, Tail> = HashMap::new();
    for (index, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| {
            format!(
                "cannot read {}: {e}\nhint: give the audit files, oldest first",
                file.display()
            )
        })?;
        let broken = check_file(index, files, &bytes, key, &mut tails, &mut report);
        if let Err(broken) = broken {
            report.intact = false;
            report.broken = Some(broken);
            return Ok(report);
        }
    }
    report.open_chains = report
        .chains
        .iter()
        .filter(|c| tails.get(*c).is_some_and(|t| !t.stopped))
        .cloned()
        .collect();
    Ok(report)
}

fn check_file(
    index: usize,
    files: &[PathBuf],
    bytes: &[u8],
    key: Option<&Key>,
    tails: &mut HashMap<String, Tail>,
    report: &mut Report,
) -> Result<(), Break> {
    let file = &files[index];
    let mut summary = FileReport {
        file: file.clone(),
        lines: 0,
        first: None,
        last: None,
    };
    let at = |line: usize, problem: String| Break {
        file: file.clone(),
        line,
        problem,
    };
    let mut rest = bytes;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            return Err(at(number, "the line is incomplete (no newline at its end): the file was cut here, or a process is writing it now".into()));
        };
        let (line, after) = (&rest[..end], &rest[end + 1..]);
        rest = after;
        let value: Value = serde_json::from_slice(line).map_err(|_| {
            at(
                number,
                "it is not an audit line (not one JSON object): it was edited, or the file was cut"
                    .into(),
            )
        })?;
        let link = link_of(&value).map_err(|missing| {
            at(
                number,
                format!("it is not an audit line (no `{missing}`): it was edited"),
            )
        })?;
        if key.is_some_and(|k| !k.verifies(line)) {
            return Err(at(
                number,
                "its MAC does not match: the line was edited, or written without this key".into(),
            ));
        }
        follow(&link, line, (index, number), files, tails, report).map_err(|(n, p)| Break {
            file: files[n.0].clone(),
            line: n.1,
            problem: p,
        })?;
        let time = value.get("time").and_then(Value::as_str).map(str::to_owned);
        summary.first = summary.first.or_else(|| time.clone());
        summary.last = time;
        summary.lines = number;
    }
    report.files.push(summary);
    Ok(())
}

fn link_of(value: &Value) -> Result<Link<'_>, &'static str> {
    Ok(Link {
        chain: value.get("chain").and_then(Value::as_str).ok_or("chain")?,
        seq: value.get("seq").and_then(Value::as_u64).ok_or("seq")?,
        prev: value.get("prev").and_then(Value::as_str).ok_or("prev")?,
        kind: value.get("kind").and_then(Value::as_str).ok_or("kind")?,
    })
}

/// Checks that `link` continues its chain and moves the chain's tail; a
/// break names the (file, line) to blame.
fn follow(
    link: &Link<'_>,
    line: &[u8],
    here: (usize, usize),
    files: &[PathBuf],
    tails: &mut HashMap<String, Tail>,
    report: &mut Report,
) -> Result<(), ((usize, usize), String)> {
    let chain = link.chain;
    match tails.get(chain) {
        None => {
            let starts = link.seq == 0 && link.prev == GENESIS && link.kind == "audit.started";
            // A rotated file's first line of a chain whose earlier file was not given.
            let continues = link.kind == "audit.reopened";
            if !starts && !continues {
                return Err((here, format!(
                    "chain {chain} starts here at seq {} without audit.started or audit.reopened: the lines before it were removed",
                    link.seq
                )));
            }
            report.chains.push(chain.to_owned());
        }
        Some(tail) if link.seq > tail.next => {
            return Err((here, format!(
                "chain {chain} jumps from seq {} ({}) to seq {}: a line is missing before this one (removed, or moved elsewhere)",
                tail.next.wrapping_sub(1), place(files, (tail.file, tail.line), here.0), link.seq
            )));
        }
        Some(tail) if link.seq < tail.next => {
            return Err((here, format!(
                "chain {chain} goes back to seq {} after seq {} ({}): lines were reordered or copied (give files oldest first)",
                link.seq, tail.next.wrapping_sub(1), place(files, (tail.file, tail.line), here.0)
            )));
        }
        Some(tail) if link.prev != tail.hash => {
            let blamed = (tail.file, tail.line);
            return Err((
                blamed,
                format!(
                "the line was changed: the next line of chain {chain} ({}) does not chain to it",
                place(files, here, tail.file)
            ),
            ));
        }
        Some(_) => {}
    }
    tails.insert(
        chain.to_owned(),
        Tail {
            next: link.seq + 1,
            hash: hash(line),
            file: here.0,
            line: here.1,
            stopped: link.kind == "audit.stopped",
        },
    );
    Ok(())
}

/// "line N", or "line N of FILE" when it is in another file than `from`.
fn place(files: &[PathBuf], (file, line): (usize, usize), from: usize) -> String {
    if file == from {
        format!("line {line}")
    } else {
        format!("line {line} of {}", show(&files[file]))
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}
