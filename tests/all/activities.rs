//! Every Constant Contact activity's success path, as data.
//!
//! `tests/fixtures/activities.json` is an ordered table of steps run against
//! one sandbox. Each step names the activity, its input, the requests the
//! sandbox must receive (method and path, with the query when given), and a
//! subset of the expected output. `"{{name.path}}"` in a step refers to the
//! output a previous step saved under `name` (e.g. `{{list.list_id}}`).

use connector_tests::*;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
struct Step {
    activity: String,
    input: Value,
    requests: Vec<String>,
    expect: Value,
    save: Option<String>,
}

#[test]
fn every_activity_succeeds_against_the_sandbox() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/activities.json"))
        .expect("fixture file");
    let steps: Vec<Step> = serde_json::from_str(&text).expect("fixture JSON");
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let mut saved = Map::new();
    for (i, step) in steps.iter().enumerate() {
        let context = format!("step {i} ({})", step.activity);
        let input = substitute(&step.input, &saved);
        ureq::delete(&format!("{}/__sandbox/requests", sandbox.url))
            .call()
            .expect("clear request log");
        let output = run(&connection, &step.activity, &input).ok();
        assert_subset(
            &substitute(&step.expect, &saved),
            &output,
            &format!("{context}: output"),
        );
        check_requests(
            &sandbox,
            &substitute(&json!(step.requests), &saved),
            &context,
        );
        if let Some(name) = &step.save {
            saved.insert(name.clone(), output);
        }
    }
    // The fixtures cover exactly what the connector describes (cli.rs checks the
    // other direction too): a new activity needs a fixture, and no fixture is stale.
    let covered: std::collections::BTreeSet<&str> =
        steps.iter().map(|s| s.activity.as_str()).collect();
    let described = host(&[
        "describe",
        &component("cc_connector").display().to_string(),
        "--json",
    ])
    .ok();
    let described: std::collections::BTreeSet<&str> = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        covered, described,
        "fixtures and described activities differ"
    );
}

/// The sandbox saw exactly these requests, each with the injected token.
fn check_requests(sandbox: &Sandbox, expected: &Value, context: &str) {
    let log = sandbox.requests();
    let seen: Vec<String> = log
        .iter()
        .zip(
            expected
                .as_array()
                .unwrap()
                .iter()
                .chain(std::iter::repeat(&Value::Null)),
        )
        .map(|(r, want)| {
            let path = format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            );
            match (want.as_str(), r["query"].as_str()) {
                (Some(w), Some(q)) if w.contains('?') && !q.is_empty() => format!("{path}?{q}"),
                _ => path,
            }
        })
        .collect();
    assert_eq!(
        &json!(seen),
        expected,
        "{context}: requests the sandbox received"
    );
    let bearer = json!(format!("Bearer {TOKEN}"));
    assert!(
        log.iter().all(|r| r["authorization"] == bearer),
        "{context}: a request lacked the injected token"
    );
}

/// Replaces `"{{name.path.to.value}}"` strings with saved values.
fn substitute(template: &Value, saved: &Map<String, Value>) -> Value {
    match template {
        Value::String(s) if s.starts_with("{{") && s.ends_with("}}") => {
            lookup(&s[2..s.len() - 2], saved)
        }
        Value::String(s) if s.contains("{{") => {
            let (head, rest) = s.split_once("{{").unwrap();
            let (key, tail) = rest.split_once("}}").expect("closed placeholder");
            let value = lookup(key, saved);
            let text = format!(
                "{head}{}{tail}",
                value.as_str().map_or(value.to_string(), str::to_owned)
            );
            substitute(&Value::String(text), saved)
        }
        Value::Array(items) => items.iter().map(|v| substitute(v, saved)).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), substitute(v, saved)))
            .collect(),
        other => other.clone(),
    }
}

fn lookup(path: &str, saved: &Map<String, Value>) -> Value {
    let mut parts = path.split('.');
    let mut value = saved
        .get(parts.next().unwrap())
        .unwrap_or_else(|| panic!("nothing saved for {path}"));
    for part in parts {
        value = match part.parse::<usize>() {
            Ok(i) => &value[i],
            Err(_) => &value[part],
        };
    }
    assert!(!value.is_null(), "{path} is null");
    value.clone()
}

/// Every key of `expected` is in `actual` with a matching value; arrays match
/// when each expected item matches some actual item.
fn is_subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| is_subset(v, a.get(k).unwrap_or(&Value::Null))),
        (Value::Array(e), Value::Array(a)) => {
            e.iter().all(|item| a.iter().any(|x| is_subset(item, x)))
        }
        _ => expected == actual,
    }
}

fn assert_subset(expected: &Value, actual: &Value, context: &str) {
    assert!(
        is_subset(expected, actual),
        "{context}: expected at least\n{expected:#}\ngot\n{actual:#}"
    );
}
