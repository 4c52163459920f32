//! `connector-host watch` over the example connector's `note-created`
//! trigger and its API: NDJSON events with stable ids, a first poll that
//! starts now (or at `--since`), a checkpoint file that survives a SIGKILL,
//! and the mistakes a user makes, each refused with a way out.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use connector_tests::*;
use serde_json::{json, Value};

use crate::example::{NotesApi, KEY};

fn note(connection: &ConnectionFile, text: &str) -> String {
    let note = run(connection, "create-note", &json!({ "text": text })).ok();
    note["id"].as_str().expect("a note id").to_owned()
}

/// `watch --once` with extra arguments: the events it printed.
fn watch_once(connection: &ConnectionFile, extra: &[&str]) -> Vec<Value> {
    let path = connection.path.display().to_string();
    let mut args = vec!["watch", &path, "note-created", "--once"];
    args.extend_from_slice(extra);
    let run = host(&args);
    assert_eq!(run.code, 0, "{run:#?}");
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON event"))
        .collect()
}

fn ids(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["id"].as_str().unwrap()).collect()
}

#[test]
fn watch_starts_now_prints_each_new_event_once_and_resumes_from_its_checkpoint() {
    let api = NotesApi::start();
    let connection = api.connection(KEY);
    note(&connection, "before the watch");
    assert!(
        watch_once(&connection, &[]).is_empty(),
        "a first poll starts now"
    );
    let checkpoint = connection.dir().join("connection.note-created.checkpoint");
    assert!(
        checkpoint.exists(),
        "the checkpoint is kept beside the connection"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&checkpoint).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the checkpoint file is private");
    }
    let made = [note(&connection, "second"), note(&connection, "third")];
    let events = watch_once(&connection, &[]);
    assert_eq!(
        ids(&events),
        [
            format!("created:{}", made[0]),
            format!("created:{}", made[1])
        ]
    );
    let first = &events[0];
    assert_eq!(first["type"], "note-created");
    assert_eq!(first["connection"], "connection");
    assert_eq!(first["data"]["note"]["text"], "second");
    assert_eq!(first["timestamp"], first["data"]["occurred_at"]);
    assert!(
        watch_once(&connection, &[]).is_empty(),
        "nothing new, nothing printed"
    );

    // Another checkpoint file and a start in the past: every note, same ids.
    let other = connection.dir().join("from-the-start.checkpoint");
    let other = other.display().to_string();
    let all = watch_once(
        &connection,
        &["--since", "2000-01-01T00:00:00Z", "--checkpoint", &other],
    );
    assert_eq!(all.len(), 3);
    assert_eq!(
        ids(&all)[1..],
        ids(&events)[..],
        "the same change has the same id"
    );
}

#[test]
fn a_killed_watch_loses_no_event_and_its_restart_prints_only_what_is_new() {
    let api = NotesApi::start();
    let connection = api.connection(KEY);
    let path = connection.path.display().to_string();
    let args = ["watch", &path, "note-created", "--interval", "1s"];
    let mut child = host_command(&args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start watch");
    let checkpoint = connection.dir().join("connection.note-created.checkpoint");
    wait_for(|| checkpoint.exists(), "the first poll's checkpoint");
    let first = note(&connection, "while watching");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("an event line").expect("readable");
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["id"], format!("created:{first}"));
    // The checkpoint moves just after the print; a kill between the two
    // prints the event again (at least once), which is not this case.
    wait_for(
        || std::fs::read_to_string(&checkpoint).is_ok_and(|t| t.contains(r#""checkpoint":"1""#)),
        "the checkpoint past the first event",
    );
    // SIGKILL: no chance to save anything more.
    child.kill().unwrap();
    child.wait().unwrap();

    let missed = [
        note(&connection, "while down 1"),
        note(&connection, "while down 2"),
    ];
    let events = watch_once(&connection, &[]);
    assert_eq!(
        ids(&events),
        [
            format!("created:{}", missed[0]),
            format!("created:{}", missed[1])
        ],
        "after the restart: what happened while down, and nothing printed before"
    );
}

#[test]
fn watch_refuses_what_cannot_work_and_says_what_to_do() {
    let api = NotesApi::start();
    let connection = api.connection(KEY);
    let path = connection.path.display().to_string();
    host(&["watch", &path, "note-creatd", "--once"]).fails_with(
        2,
        &[
            "no trigger \"note-creatd\"",
            "did you mean \"note-created\"?",
        ],
    );
    host(&["watch", &path, "create-note", "--once"]).fails_with(2, &["no trigger \"create-note\""]);
    host(&[
        "watch",
        &path,
        "note-created",
        "--once",
        "--settings",
        r#"{"list_id": "1"}"#,
    ])
    .fails_with(2, &["settings.list_id", "this trigger takes no settings"]);
    host(&[
        "watch",
        &path,
        "note-created",
        "--once",
        "--since",
        "yesterday",
    ])
    .fails_with(2, &["since", "RFC 3339"]);
    host(&["watch", &path, "note-created", "--interval", "5x"]).fails_with(2, &["30s, 5m or 1h"]);
    // A checkpoint written for another trigger or other settings is not resumed.
    let foreign = connection.dir().join("foreign.checkpoint");
    std::fs::write(
        &foreign,
        r#"{"trigger": "contact-updated", "settings": {}, "checkpoint": "x"}"#,
    )
    .unwrap();
    let foreign = foreign.display().to_string();
    let refused = host(&[
        "watch",
        &path,
        "note-created",
        "--once",
        "--checkpoint",
        &foreign,
    ]);
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("belongs to trigger contact-updated"),
        "{refused:#?}"
    );
}

#[test]
fn triggers_are_described_with_their_schemas_and_are_never_tools_or_activities() {
    let example = component("example_connector").display().to_string();
    let described = host(&["describe", &example, "--json"]).ok();
    let trigger = &described["triggers"][0];
    assert_eq!(trigger["name"], "note-created");
    assert_eq!(trigger["minimum_interval_seconds"], 1);
    assert_eq!(trigger["settings_schema"]["properties"], json!({}));
    let event = &trigger["event_schema"]["properties"];
    assert_eq!(event["id"]["type"], "string", "{trigger:#}");
    assert!(event["note"].is_object(), "{trigger:#}");
    let text = host(&["describe", &example]);
    assert!(text.stdout.contains("note-created"), "{}", text.stdout);
    assert!(
        !text.stderr.contains("cannot be called"),
        "a trigger is no undescribed export: {}",
        text.stderr
    );

    // Not an activity: `run` refuses it, and MCP does not list it.
    let api = NotesApi::start();
    let connection = api.connection(KEY);
    run(&connection, "note-created", &json!({})).fails_with(2, &["no activity \"note-created\""]);
    let server = crate::mcp::stdio(&[&connection]);
    let report = crate::mcp::python(
        &json!({"mode": "auto", "calls": []}),
        &server.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let listed: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&"create-note"), "{listed:?}");
    assert!(
        !listed.iter().any(|t| t.contains("note-created")),
        "{listed:?}"
    );
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
