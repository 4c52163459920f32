//! Cursor pagination: one page per call with `next_cursor`, and `--all-pages`.

use connector_tests::*;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::activities::{fixture_files, seed, substitute, Step};

fn seed_contacts(sandbox: &Sandbox, n: usize) {
    for i in 0..n {
        let body = json!({"email_address": {"address": format!("page{i}@example.com")}, "first_name": format!("P{i}"), "create_source": "Account"});
        let created = sandbox.api("POST", "/v3/contacts", Some(body));
        assert!(created["contact_id"].is_string(), "{created}");
    }
}

/// `tests/fixtures/pagination.json`: what to create, and each paged activity's input.
#[derive(Deserialize)]
struct Table {
    #[serde(default)]
    seed: Vec<Step>,
    #[serde(default)]
    inputs: Map<String, Value>,
}

/// Every activity whose input has a `cursor` (taken from `describe`, not from a
/// list here) is paged one item at a time over three pages or more: each page
/// holds one new item, and the last says there is no next one.
#[test]
fn every_paged_activity_follows_its_cursor_over_three_pages() {
    // `pagination.json` and every `pagination/*.json`: seeds run in that order.
    let mut table = Table {
        seed: Vec::new(),
        inputs: Map::new(),
    };
    for (name, text) in fixture_files("pagination") {
        let part: Table = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        table.seed.extend(part.seed);
        table.inputs.extend(part.inputs);
    }
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let mut saved = Map::new();
    for step in &table.seed {
        seed(&sandbox, &connection, step, &mut saved);
    }
    let described = host(&[
        "describe",
        &component("cc_connector").display().to_string(),
        "--json",
    ])
    .ok();
    let paged: Vec<&Value> = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["input_schema"]["properties"].get("cursor").is_some())
        .collect();
    assert!(
        paged.len() >= 5,
        "only {} paged activities described",
        paged.len()
    );
    for activity in &paged {
        let name = activity["name"].as_str().unwrap();
        let input = table
            .inputs
            .get(name)
            .unwrap_or_else(|| panic!("{name} takes a cursor but has no input in pagination.json"));
        let mut input = substitute(input, &saved);
        if activity["input_schema"]["properties"]
            .get("limit")
            .is_some()
        {
            input["limit"] = json!(1);
        }
        let pages = follow(&connection, name, input, &items_key(activity));
        eprintln!("pagination: {name}: {pages} pages of one item");
        assert!(
            pages >= 3,
            "{name}: {pages} pages; the seed should make three or more"
        );
    }
    for name in table.inputs.keys() {
        assert!(
            paged.iter().any(|a| a["name"] == name.as_str()),
            "{name} in pagination.json does not page"
        );
    }
}

/// The output's one list property: where a page's items are.
fn items_key(activity: &Value) -> String {
    let properties = activity["output_schema"]["properties"].as_object().unwrap();
    let lists: Vec<&String> = properties
        .iter()
        .filter(|(_, p)| p["type"] == "array")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        lists.len(),
        1,
        "{}: a page has one list: {lists:?}",
        activity["name"]
    );
    lists[0].clone()
}

/// Pages through `name` from `input`; returns the number of pages.
fn follow(connection: &ConnectionFile, name: &str, mut input: Value, key: &str) -> usize {
    let mut seen: Vec<Value> = Vec::new();
    for page in 1..=50 {
        let out = run(connection, name, &input).ok();
        let items = out[key]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no {key}: {out}"));
        assert_eq!(items.len(), 1, "{name} page {page}: limit 1 gave {items:?}");
        assert!(
            !seen.contains(&items[0]),
            "{name} page {page} repeats {}",
            items[0]
        );
        seen.push(items[0].clone());
        match &out["next_cursor"] {
            Value::String(cursor) => input["cursor"] = json!(cursor),
            Value::Null => return page,
            other => panic!("{name}: next_cursor {other}"),
        }
    }
    panic!("{name}: more than 50 pages of one item");
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
        &["\"list-user-privileges\" cannot be followed page by page: its input has no `cursor`"],
    );
}
