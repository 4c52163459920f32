//! Every Constant Contact activity's success path, as data.
//!
//! `tests/fixtures/activities.json` is an ordered table of steps run against
//! one sandbox. A step either runs an activity (its input, the requests the
//! sandbox must receive, method and path with the query when given, and a
//! subset of the expected output) or sets the scene through the sandbox's
//! control API (`"sandbox": "segments"` posts its `input` to
//! `/__sandbox/segments`). `"{{name.path}}"` in a step refers to the output a
//! previous step saved under `name` (e.g. `{{list.list_id}}`).
//!
//! The table is `activities.json` followed by every `tests/fixtures/activities/*.json`
//! in name order (one file per area, so areas are added without touching others').
//! Then, on the same sandbox, `tests/fixtures/partner/*.json` runs against the
//! Technology Partners connector (`crate::partner`), whose requests carry a
//! partner token and `x-api-key` instead of the account's token.
//! It runs once per test binary ([`fixture_run`]); this module checks
//! the outputs, `conformance` checks every request the run sent against the
//! official OpenAPI document. `FIXTURE_TRACE=1` prints each step's output, for
//! writing the `expect` of a new step.

use std::sync::OnceLock;

use connector_tests::*;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// One step of a table: an activity run or a control call.
#[derive(Deserialize)]
pub struct Step {
    /// The activity to run…
    activity: Option<String>,
    /// …or the control route to post `input` to.
    sandbox: Option<String>,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    requests: Vec<String>,
    #[serde(default)]
    expect: Value,
    save: Option<String>,
}

/// What the fixture table did.
pub struct FixtureRun {
    /// Every activity step's failures, as readable sentences.
    pub failures: Vec<String>,
    /// Every request the sandbox logged during activity steps, with the step's name.
    pub requests: Vec<(String, Value)>,
    /// The activities the table ran.
    pub covered: std::collections::BTreeSet<String>,
    /// The partner connector's activities the partner table ran.
    pub partner_covered: std::collections::BTreeSet<String>,
}

/// Whose credential a table's requests must carry.
#[derive(Clone, Copy)]
enum Caller {
    /// The Constant Contact connection: [`TOKEN`].
    Account,
    /// The partner connection: a token the sandbox issued to the partner app.
    Partner,
}

/// Runs the fixture table once against one sandbox.
pub fn fixture_run() -> &'static FixtureRun {
    static RUN: OnceLock<FixtureRun> = OnceLock::new();
    RUN.get_or_init(run_table)
}

fn run_table() -> FixtureRun {
    let steps = table(fixture_files("activities"));
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let mut run = FixtureRun {
        failures: Vec::new(),
        requests: Vec::new(),
        covered: Default::default(),
        partner_covered: Default::default(),
    };
    let mut saved = Map::new();
    run_steps(
        &sandbox,
        &connection,
        &steps,
        Caller::Account,
        &mut run,
        &mut saved,
    );
    crate::partner::register(&sandbox);
    let partner = crate::partner::connection(&sandbox, "");
    let steps = table(fixture_directory("partner"));
    run_steps(
        &sandbox,
        &partner,
        &steps,
        Caller::Partner,
        &mut run,
        &mut saved,
    );
    run
}

/// The steps of these files, in order.
fn table(files: Vec<(String, String)>) -> Vec<Step> {
    files
        .into_iter()
        .flat_map(|(name, text)| {
            serde_json::from_str::<Vec<Step>>(&text)
                .unwrap_or_else(|e| panic!("{name}: fixture JSON: {e}"))
        })
        .collect()
}

/// Runs `steps` against `connection`, adding what they did to `run`.
fn run_steps(
    sandbox: &Sandbox,
    connection: &ConnectionFile,
    steps: &[Step],
    caller: Caller,
    run: &mut FixtureRun,
    saved: &mut Map<String, Value>,
) {
    for (i, step) in steps.iter().enumerate() {
        let input = substitute(&step.input, saved);
        let output = match (&step.activity, &step.sandbox) {
            (Some(activity), None) => {
                let context = format!("step {i} ({activity})");
                match caller {
                    Caller::Account => run.covered.insert(activity.clone()),
                    Caller::Partner => run.partner_covered.insert(activity.clone()),
                };
                let (output, log, problem) =
                    activity_step(sandbox, connection, activity, &input, step, saved, caller);
                run.requests
                    .extend(log.into_iter().map(|r| (context.clone(), r)));
                if let Some(problem) = problem {
                    run.failures.push(format!("{context}: {problem}"));
                }
                output
            }
            (None, Some(path)) => {
                let path = substitute(&json!(path), saved);
                control(sandbox, path.as_str().unwrap(), input)
            }
            _ => panic!("step {i}: give `activity` or `sandbox`, not both"),
        };
        if let Some(name) = &step.save {
            saved.insert(name.clone(), output);
        }
    }
}

/// `tests/fixtures/<name>.json`, then every `tests/fixtures/<name>/*.json` in name
/// order: each file's name and text.
pub fn fixture_files(name: &str) -> Vec<(String, String)> {
    let dir = root().join("tests/fixtures");
    let mut files = vec![(
        dir.join(format!("{name}.json")).display().to_string(),
        read(&dir.join(format!("{name}.json"))),
    )];
    files.extend(fixture_directory(name));
    files
}

/// Every `tests/fixtures/<name>/*.json` in name order: each file's name and text.
pub fn fixture_directory(name: &str) -> Vec<(String, String)> {
    let dir = root().join("tests/fixtures");
    let mut more: Vec<_> = std::fs::read_dir(dir.join(name))
        .into_iter()
        .flatten()
        .map(|entry| entry.expect("fixture directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    more.sort();
    more.into_iter()
        .map(|path| (path.display().to_string(), read(&path)))
        .collect()
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs one activity step: its output (`null` when it failed), the requests
/// the sandbox logged, and what was wrong (exit code, output or requests).
fn activity_step(
    sandbox: &Sandbox,
    connection: &ConnectionFile,
    activity: &str,
    input: &Value,
    step: &Step,
    saved: &Map<String, Value>,
    caller: Caller,
) -> (Value, Vec<Value>, Option<String>) {
    ureq::delete(&format!("{}/__sandbox/requests", sandbox.url))
        .call()
        .expect("clear request log");
    let out = run(connection, activity, input);
    let log = sandbox.requests();
    if out.code != 0 {
        return (Value::Null, log, Some(format!("failed: {out:#?}")));
    }
    let output = out.json();
    if std::env::var_os("FIXTURE_TRACE").is_some() {
        eprintln!("{activity}: {output}");
    }
    let expected = substitute(&step.expect, saved);
    let problem = if !is_subset(&expected, &output) {
        Some(format!("expected at least\n{expected:#}\ngot\n{output:#}"))
    } else {
        check_requests(&log, &substitute(&json!(step.requests), saved), caller).err()
    };
    (output, log, problem)
}

#[test]
fn every_activity_succeeds_against_the_sandbox() {
    let run = fixture_run();
    assert!(run.failures.is_empty(), "{}", run.failures.join("\n\n"));
    // The fixtures cover exactly what the connector describes (cli.rs checks the
    // other direction too): a new activity needs a fixture, and no fixture is stale.
    assert_eq!(
        run.covered,
        described_names("cc_connector"),
        "fixtures and described activities differ"
    );
}

#[test]
fn every_partner_activity_succeeds_against_the_sandbox() {
    let run = fixture_run();
    assert!(run.failures.is_empty(), "{}", run.failures.join("\n\n"));
    assert_eq!(
        run.partner_covered,
        described_names(crate::partner::COMPONENT),
        "partner fixtures and described activities differ"
    );
}

/// The activities `describe --json` lists for the built component `name`.
pub fn described_names(name: &str) -> std::collections::BTreeSet<String> {
    let described = host(&["describe", &component(name).display().to_string(), "--json"]).ok();
    described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs a step that sets the scene (its `requests` and `expect` are not
/// checked) and saves its output under its `save` name.
pub fn seed(
    sandbox: &Sandbox,
    connection: &ConnectionFile,
    step: &Step,
    saved: &mut Map<String, Value>,
) {
    let input = substitute(&step.input, saved);
    let output = match (&step.activity, &step.sandbox) {
        (Some(activity), None) => run(connection, activity, &input).ok(),
        (None, Some(path)) => {
            let path = substitute(&json!(path), saved);
            control(sandbox, path.as_str().unwrap(), input)
        }
        _ => panic!("a step gives `activity` or `sandbox`, not both"),
    };
    if let Some(name) = &step.save {
        saved.insert(name.clone(), output);
    }
}

/// Posts `body` to the sandbox's control route `path`; its answer.
fn control(sandbox: &Sandbox, path: &str, body: Value) -> Value {
    ureq::post(&format!("{}/__sandbox/{path}", sandbox.url))
        .send_json(body)
        .unwrap_or_else(|e| panic!("sandbox control {path}: {e}"))
        .into_json()
        .unwrap_or(Value::Null)
}

/// The sandbox saw exactly these requests, each with the injected credential.
fn check_requests(log: &[Value], expected: &Value, caller: Caller) -> Result<(), String> {
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
    if &json!(seen) != expected {
        return Err(format!(
            "requests the sandbox received: {seen:#?}, expected {expected:#}"
        ));
    }
    let bearer = json!(format!("Bearer {TOKEN}"));
    let carried = |r: &Value| match caller {
        Caller::Account => r["authorization"] == bearer,
        // The partner's own requests (a request it has the sandbox send on an
        // account's behalf carries that account's token).
        Caller::Partner => {
            !r["path"]
                .as_str()
                .unwrap_or_default()
                .starts_with("/v3/partner")
                || r["app"] == json!(crate::partner::CLIENT_ID)
        }
    };
    if !log.iter().all(carried) {
        return Err("a request lacked the injected token".into());
    }
    Ok(())
}

/// Replaces `"{{name.path.to.value}}"` strings with saved values.
pub fn substitute(template: &Value, saved: &Map<String, Value>) -> Value {
    match template {
        Value::String(s) if s.starts_with("{{") && s.ends_with("}}") && !s[2..].contains("{{") => {
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
