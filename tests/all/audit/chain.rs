//! The chain of the trail: `audit verify` on files cut, edited and
//! reordered by hand, with and without a MAC key; several processes
//! appending to one file; a rotation by rename.

use std::path::{Path, PathBuf};

use connector_tests::serve::Serve;
use connector_tests::*;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{event, hex, lines, verify};

/// A trail of one `run --batch` process: started, loaded, `calls` runs, stopped.
fn batch_trail(dir: &Path, calls: usize, key: Option<&Path>) -> PathBuf {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let audit = dir.join("batch.log");
    let inputs = dir.join("inputs.ndjson");
    std::fs::write(&inputs, "{}\n".repeat(calls)).unwrap();
    let mut args = vec![
        "run".to_owned(),
        connection.path.display().to_string(),
        "list-user-privileges".into(),
    ];
    args.extend([
        "--batch".into(),
        "--input".into(),
        format!("@{}", inputs.display()),
    ]);
    args.extend(["--audit-log".into(), audit.display().to_string()]);
    if let Some(key) = key {
        args.extend(["--audit-key".into(), key.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(host(&args).code, 0);
    audit
}

/// `text`'s lines changed by `change`, written to a new file.
fn tampered(dir: &Path, name: &str, text: &str, change: impl Fn(&mut Vec<String>)) -> PathBuf {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    change(&mut lines);
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn broken_at(run: &Run, file: &Path, line: usize) {
    assert_eq!(run.code, 1, "{run:#?}");
    let at = format!("{} line {line}:", file.display());
    assert!(
        run.stderr.contains(&at),
        "expected {at:?} in {}",
        run.stderr
    );
}

#[test]
fn verify_names_the_line_removed_edited_reordered_or_cut() {
    let dir = tempfile::tempdir().unwrap();
    let audit = batch_trail(dir.path(), 5, None);
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(
        text.lines().count(),
        8,
        "started, loaded, 5 runs, stopped:\n{text}"
    );
    let json = verify(&[&audit], &["--json"]);
    assert_eq!(json.code, 0, "{json:#?}");
    assert_eq!(json.json()["intact"], true);
    assert_eq!(json.json()["files"][0]["lines"], 8);

    let removed = tampered(dir.path(), "removed", &text, |l| drop(l.remove(3)));
    broken_at(&verify(&[&removed], &[]), &removed, 4);
    let edited = tampered(dir.path(), "edited", &text, |l| {
        l[3] = l[3].replace("\"result\":\"ok\"", "\"result\":\"api_refused\"");
    });
    broken_at(&verify(&[&edited], &[]), &edited, 4);
    let reordered = tampered(dir.path(), "reordered", &text, |l| l.swap(3, 4));
    broken_at(&verify(&[&reordered], &[]), &reordered, 4);
    let first_gone = tampered(dir.path(), "first-gone", &text, |l| drop(l.remove(0)));
    broken_at(&verify(&[&first_gone], &[]), &first_gone, 1);
    let cut = dir.path().join("cut");
    std::fs::write(
        &cut,
        &text[..text.len() - text.lines().last().unwrap().len() / 2 - 1],
    )
    .unwrap();
    let answer = verify(&[&cut], &["--json"]);
    assert_eq!(answer.code, 1);
    assert_eq!(answer.json()["broken"]["line"], 8, "{}", answer.stdout);
    assert!(answer.json()["broken"]["problem"]
        .as_str()
        .unwrap()
        .contains("incomplete"));
}

#[test]
fn with_a_key_even_the_last_line_cannot_be_edited_unseen() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    std::fs::write(
        &key,
        "3f1d9a0c5e7b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f",
    )
    .unwrap();
    let audit = batch_trail(dir.path(), 2, Some(&key));
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.lines().all(|l| l.contains("\"mac\":\"")), "{text}");
    let key_arg = key.display().to_string();
    assert_eq!(verify(&[&audit], &["--key", &key_arg]).code, 0);
    let last = text.lines().count();
    let edited = tampered(dir.path(), "edited", &text, |l| {
        let end = l.len() - 1;
        l[end] = l[end].replace("audit.stopped", "audit.stoppex");
    });
    assert_eq!(
        verify(&[&edited], &[]).code,
        0,
        "without the key a last line's edit is not seen"
    );
    broken_at(&verify(&[&edited], &["--key", &key_arg]), &edited, last);
    let other = dir.path().join("other.key");
    std::fs::write(&other, "0".repeat(64)).unwrap();
    broken_at(
        &verify(&[&audit], &["--key", &other.display().to_string()]),
        &audit,
        1,
    );
}

#[test]
fn processes_appending_to_one_file_keep_whole_lines_and_their_own_chains() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("shared.log");
    let trail = audit.display().to_string();
    let sandbox = Sandbox::start();
    let env = [("CONNECTOR_HOST_AUDIT_LOG", trail.as_str())];
    let mut serve = Serve::start(&crate::serve::endpoints(&sandbox), &env);
    let connection = ConnectionFile::constant_contact(&sandbox);
    let inputs = dir.path().join("inputs.ndjson");
    std::fs::write(&inputs, "{}\n".repeat(40)).unwrap();
    let (path, input) = (
        connection.path.display().to_string(),
        format!("@{}", inputs.display()),
    );
    let batch = [
        "run",
        &path,
        "list-user-privileges",
        "--batch",
        "--concurrency",
        "4",
        "--input",
        &input,
    ];
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..2).map(|_| s.spawn(|| host_env(&batch, &env))).collect();
        let creates = s.spawn(|| {
            (0..20)
                .map(|i| {
                    let draft = json!({"name": format!("c{i}"), "connector": "constant-contact",
                        "fields": {"client_id": {"value": "x"}, "client_secret": {"value": CANARIES[1]}}});
                    serve.call("POST", "/api/connections", Some(&draft)).status
                })
                .collect::<Vec<_>>()
        });
        for run in runs {
            assert_eq!(run.join().unwrap().code, 0);
        }
        assert!(creates.join().unwrap().iter().all(|s| *s == 201));
    });
    serve.stop();
    let lines = lines(&audit);
    let chains: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l["chain"].as_str()).collect();
    assert_eq!(chains.len(), 3, "a chain per process");
    assert_eq!(
        lines.iter().filter(|l| l["kind"] == "activity.run").count(),
        80
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["kind"] == "connection.created")
            .count(),
        20
    );
    let intact = verify(&[&audit], &[]);
    assert_eq!(intact.code, 0, "{intact:#?}");
}

#[test]
fn a_renamed_trail_is_reopened_and_the_chain_goes_on_across_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let rotated = dir.path().join("audit.log.1");
    let sandbox = Sandbox::start();
    let env = [("CONNECTOR_HOST_AUDIT_LOG", audit.to_str().unwrap())];
    let mut serve = Serve::start(&crate::serve::endpoints(&sandbox), &env);
    let create = |name: &str| {
        let draft = json!({"name": name, "connector": "constant-contact",
            "fields": {"client_id": {"value": "x"}, "client_secret": {"value": "y"}}});
        assert_eq!(
            serve.call("POST", "/api/connections", Some(&draft)).status,
            201
        );
    };
    create("before");
    std::fs::rename(&audit, &rotated).unwrap();
    create("after");
    serve.stop();
    let (old, new) = (lines(&rotated), lines(&audit));
    event(&old, "connection.created", &json!({"connection": "before"}));
    event(&new, "connection.created", &json!({"connection": "after"}));
    let reopened = &new[0];
    assert_eq!(reopened["kind"], "audit.reopened", "{reopened}");
    assert_eq!(reopened["fields"]["reason"], "renamed");
    assert_eq!(reopened["chain"], old[0]["chain"], "the same chain goes on");
    let last_old = std::fs::read_to_string(&rotated).unwrap();
    let anchor = hex(&Sha256::digest(last_old.lines().last().unwrap().as_bytes()));
    assert_eq!(
        reopened["prev"], anchor,
        "anchored to the old file's last line"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&audit).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        verify(&[&rotated, &audit], &[]).code,
        0,
        "both, oldest first"
    );
    assert_eq!(
        verify(&[&audit], &[]).code,
        0,
        "the new file alone continues a chain"
    );
    assert_eq!(
        verify(&[&audit, &rotated], &[]).code,
        1,
        "newest first is out of order"
    );
    let mut gone = std::fs::read_to_string(&rotated).unwrap();
    gone.truncate(gone.trim_end().rfind('\n').unwrap() + 1);
    std::fs::write(&rotated, gone).unwrap();
    broken_at(&verify(&[&rotated, &audit], &[]), &audit, 1);
}
