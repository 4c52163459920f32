//! Cursor pagination: one page per call with `next_cursor`, and `--all-pages`.

use connector_tests::*;
use serde_json::{json, Value};

fn seed_contacts(sandbox: &Sandbox, n: usize) {
    for i in 0..n {
        let body = json!({"email_address": {"address": format!("page{i}@example.com")}, "first_name": format!("P{i}"), "create_source": "Account"});
        let created = sandbox.api("POST", "/v3/contacts", Some(body));
        assert!(created["contact_id"].is_string(), "{created}");
    }
}

#[test]
fn list_contacts_follows_the_cursor_across_pages() {
    let sandbox = Sandbox::start();
    seed_contacts(&sandbox, 5);
    let connection = ConnectionFile::constant_contact(&sandbox);
    let mut seen = Vec::new();
    let mut input = json!({"limit": 2, "include_count": true});
    for page in 1.. {
        let out = run(&connection, "list-contacts", &input).ok();
        assert_eq!(out["contacts_count"], 5, "{out}");
        let contacts = out["contacts"].as_array().unwrap();
        seen.extend(
            contacts
                .iter()
                .map(|c| c["email_address"]["address"].as_str().unwrap().to_owned()),
        );
        match &out["next_cursor"] {
            Value::String(cursor) => input["cursor"] = json!(cursor),
            Value::Null => {
                assert_eq!(page, 3, "5 contacts, 2 per page");
                break;
            }
            other => panic!("next_cursor {other}"),
        }
    }
    let expected: Vec<String> = (0..5).map(|i| format!("page{i}@example.com")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn all_pages_prints_every_record_as_one_json_line() {
    let sandbox = Sandbox::start();
    seed_contacts(&sandbox, 7);
    let connection = ConnectionFile::constant_contact(&sandbox);
    let conn = connection.path.display().to_string();
    let out = host(&[
        "run",
        &conn,
        "list-contacts",
        "--input",
        r#"{"limit": 2}"#,
        "--all-pages",
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|c| c["contact_id"].is_string()));
    let gets = sandbox
        .requests()
        .iter()
        .filter(|r| r["method"] == "GET" && r["path"] == "/v3/contacts")
        .count();
    assert_eq!(gets, 4, "7 contacts at 2 per page take 4 requests");
}

#[test]
fn all_pages_refuses_an_activity_without_a_cursor() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let conn = connection.path.display().to_string();
    host(&["run", &conn, "list-user-privileges", "--all-pages"]).fails_with(
        2,
        &["--all-pages needs an activity whose input has a `cursor`"],
    );
}
