//! The README guide's example connector (`tests/connectors/example`) against
//! its tiny API (`notes-api`): describe, create, get, page, errors, and the
//! token added by the host, never by the connector.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use connector_tests::*;
use serde_json::{json, Value};

/// The key the API is started with: a canary, so no output may show it.
pub(crate) const KEY: &str = CANARIES[1];

/// A running `notes-api`, stopped when dropped.
pub(crate) struct NotesApi {
    child: Child,
    pub(crate) url: String,
}

impl NotesApi {
    pub(crate) fn start() -> NotesApi {
        let mut child = Command::new(env!("CARGO_BIN_EXE_notes-api"))
            .args(["--key", KEY])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start notes-api");
        let mut line = String::new();
        // The URL is printed once the port is bound, so it is ready.
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("notes-api prints its URL");
        NotesApi {
            child,
            url: line.trim().to_owned(),
        }
    }

    pub(crate) fn connection(&self, key: &str) -> ConnectionFile {
        let text = format!(
            "[fields]\ntoken = \"{key}\"\n\n[endpoints]\n\"https://notes.example\" = \"{}\"\n",
            self.url
        );
        ConnectionFile::new(&component("example_connector"), &text)
    }
}

impl Drop for NotesApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_example_connector_describes_itself() {
    let example = component("example_connector").display().to_string();
    let described = host(&["describe", &example, "--json"]).ok();
    assert_eq!(described["name"], "notes");
    assert_eq!(
        described["auth"],
        json!({"bearer": "token"}),
        "{described:#}"
    );
    let names: Vec<&str> = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["create-note", "get-note", "list-notes"]);
}

#[test]
fn the_example_connector_runs_against_its_api() {
    let api = NotesApi::start();
    let connection = api.connection(KEY);
    for text in ["first", "second", "third"] {
        let note = run(&connection, "create-note", &json!({ "text": text })).ok();
        assert_eq!(note["text"], text);
    }
    let page = run(&connection, "list-notes", &json!({"limit": 2})).ok();
    assert_eq!(page["notes"].as_array().unwrap().len(), 2, "{page}");
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let last = run(
        &connection,
        "list-notes",
        &json!({"limit": 2, "cursor": cursor}),
    )
    .ok();
    assert_eq!(last["notes"][0]["text"], "third");
    assert_eq!(last["next_cursor"], Value::Null);
    assert_eq!(
        run(&connection, "get-note", &json!({"id": "n2"})).ok()["text"],
        "second"
    );
    run(&connection, "get-note", &json!({"id": "n9"}))
        .fails_with(1, &["not found", "note n9 not found"]);
    // Refused before sending: the API still has three notes.
    run(&connection, "create-note", &json!({"text": ""}))
        // The bound the connector states: refused by the host before it runs.
        .fails_with(
            2,
            &[
                "invalid input",
                "input.text: at least 1 character (minLength)",
            ],
        );
    let all = run(&connection, "list-notes", &json!({})).ok();
    assert_eq!(all["notes"].as_array().unwrap().len(), 3);
    // The key is the connection's: with another one the API says no.
    run(&api.connection("not-the-key"), "list-notes", &json!({}))
        .fails_with(7, &["unauthorized", "missing or wrong API key"]);
}
