//! The CLI's contract: describe output, input validation, exit codes, and a
//! second, unrelated connector running in the same host binary.

use connector_tests::*;
use serde_json::{json, Value};

/// The activities `describe` reports, as JSON (`connector-host describe --json`).
fn described(component_name: &str) -> Value {
    host(&[
        "describe",
        &component(component_name).display().to_string(),
        "--json",
    ])
    .ok()
}

/// The names of the activities that have a fixture in `tests/fixtures/activities.json`.
/// The activities of `activities.json` and of every `activities/*.json`.
fn fixture_activities() -> std::collections::BTreeSet<String> {
    let files = crate::activities::fixture_files("activities");
    let steps: Vec<Value> = files
        .iter()
        .flat_map(|(_, text)| serde_json::from_str::<Vec<Value>>(text).unwrap())
        .collect();
    // Steps without an activity set the scene through the sandbox's control API.
    steps
        .iter()
        .filter_map(|s| s["activity"].as_str().map(str::to_owned))
        .collect()
}

fn cc_path() -> String {
    component("cc_connector").display().to_string()
}

#[test]
fn every_described_activity_has_scopes_flags_schemas_and_a_fixture() {
    let out = described("cc_connector");
    assert_eq!(out["name"], "constant-contact");
    assert_eq!(out["egress_origins"], json!(["https://api.cc.email"]));
    // 4 requests a second and 10,000 a day per application, the day
    // resetting at 00:00 UTC (reference §2.3).
    assert_eq!(
        out["rate_limits"],
        json!([{"requests": 4, "per": "application", "window": {"sliding": 1}},
               {"requests": 10000, "per": "application", "window": {"daily": 0}}])
    );
    let offered = out["auth"]["oauth2"]["scopes"].as_array().unwrap().clone();
    assert!(offered.contains(&json!("offline_access")));
    let fixtures = fixture_activities();
    let activities = out["activities"].as_array().expect("activities array");
    assert!(!activities.is_empty());
    for a in activities {
        let name = a["name"].as_str().unwrap();
        for key in ["display_name", "category", "description"] {
            assert!(
                a[key].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: {key}"
            );
        }
        let scopes = a["required_scopes"].as_array().unwrap();
        assert!(
            scopes.iter().all(|s| offered.contains(s)),
            "{name}: {scopes:?}"
        );
        let flag = |key: &str| a[key].as_bool().unwrap_or_else(|| panic!("{name}: {key}"));
        let (retry_safe, read_only, destructive) =
            (flag("retry_safe"), flag("read_only"), flag("destructive"));
        // A read changes nothing, so repeating it is safe and it destroys nothing.
        assert!(!read_only || (retry_safe && !destructive), "{name}: flags");
        let pitfalls = a["pitfalls"].as_array().unwrap();
        assert!(!pitfalls.is_empty(), "{name}: what do callers get wrong?");
        assert_eq!(a["input_schema"]["type"], "object", "{name}");
        // An activity with no output (`result<_, activity-error>`) has a null schema.
        assert!(
            a["output_schema"].is_object() || a["output_schema"].is_null(),
            "{name}"
        );
        assert!(
            fixtures.contains(name),
            "{name} has no fixture in activities.json"
        );
    }
    let create = activities
        .iter()
        .find(|a| a["name"] == "create-contact")
        .unwrap();
    assert_eq!(create["input_schema"]["required"], json!(["create_source"]));
    assert_eq!(
        create["input_schema"]["properties"]["create_source"]["enum"],
        json!(["account", "contact"])
    );
    assert_eq!(
        create["output_schema"]["properties"]["contact_id"]["type"],
        "string"
    );
    let secret = out["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "client_secret")
        .unwrap();
    assert_eq!(secret["secret"], true);
}

#[test]
fn describe_prints_a_readable_summary() {
    let out = host(&["describe", &cc_path()]);
    assert_eq!(out.code, 0, "{out:#?}");
    for activity in described("cc_connector")["activities"].as_array().unwrap() {
        let name = activity["name"].as_str().unwrap();
        // The activity's line, then its input and pitfalls, up to the next activity.
        let start = out.stdout.find(&format!("  {name} ")).unwrap_or_else(|| {
            panic!("{name} missing from:\n{}", out.stdout);
        });
        let block = &out.stdout[start..];
        let line = block.lines().next().unwrap();
        let flag = |key: &str, text: &str| !activity[key].as_bool().unwrap() || line.contains(text);
        assert!(
            flag("read_only", "read-only") && flag("destructive", "destructive"),
            "{line}"
        );
        let first_pitfall = activity["pitfalls"][0].as_str();
        assert!(
            first_pitfall.is_none_or(|p| block.contains(&format!("pitfall: {p}"))),
            "{name}: its pitfalls are shown"
        );
    }
    assert!(
        out.stdout.contains("input: {contact_id, include?}"),
        "{}",
        out.stdout
    );
    // The API's limits, with what they count against.
    assert!(
        out.stdout
            .contains("limit:  4 requests per 1 s per application\n")
            && out
                .stdout
                .contains("limit:  10000 requests a day per application, resetting at 00:00 UTC\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_input_names_the_json_path_and_never_reaches_the_api() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let cases: &[(Value, &str)] = &[
        (
            json!({"email_address": {"address": 5}, "create_source": "account"}),
            "input.email_address.address: expected a string, found a number",
        ),
        (
            json!({"first_name": "Ada"}),
            "input.create_source: required field is missing",
        ),
        (
            json!({"create_source": "robot"}),
            "input.create_source: expected one of \"account\", \"contact\", found another string",
        ),
        (
            json!({"create_source": "account", "frist_name": "Ada"}),
            "input.frist_name: unknown field",
        ),
        (
            json!({"create_source": "account", "birthday_month": 300}),
            "input.birthday_month: at most 12 (maximum)",
        ),
        (
            json!({"create_source": "account", "list_memberships": ["a", 7]}),
            "input.list_memberships[1]: expected a string",
        ),
    ];
    for (input, message) in cases {
        let out = run(&connection, "create-contact", input);
        out.fails_with(2, &[message]);
        // Input may be personal data: errors name the path, never the value.
        assert!(
            !out.stderr.contains("\"robot\"") && !out.stderr.contains("found 300"),
            "{out:#?}"
        );
    }
    assert!(
        sandbox.requests().is_empty(),
        "invalid input reached the API"
    );
}

#[test]
fn input_can_come_from_a_file_or_stdin_and_bad_json_is_refused() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let file = connection.dir().join("input.json");
    std::fs::write(&file, r#"{"name": "From a file"}"#).unwrap();
    let conn = connection.path.display().to_string();
    let out = host(&[
        "run",
        &conn,
        "create-contact-list",
        "--input",
        &format!("@{}", file.display()),
    ])
    .ok();
    assert_eq!(out["name"], "From a file");
    host(&["run", &conn, "create-contact-list", "--input", "{name:"])
        .fails_with(2, &["--input is not valid JSON"]);
}

#[test]
fn unknown_activity_lists_the_real_ones() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    run(&connection, "delete-everything", &json!({}))
        .fails_with(2, &["no activity \"delete-everything\"", "create-contact"]);
}

#[test]
fn connector_pin_mismatch_is_refused() {
    let connection = ConnectionFile::new(
        &component("cc_connector"),
        &format!("connector_sha256 = \"{}\"\n", "0".repeat(64)),
    );
    let out = host(&[
        "run",
        &connection.path.display().to_string(),
        "list-user-privileges",
    ]);
    out.fails_with(3, &["has sha256", "pins 0000", "connector_sha256"]);
}

#[test]
fn a_file_that_is_not_a_component_is_a_clear_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"\0asm not really").unwrap();
    host(&["describe", &bogus.display().to_string()])
        .fails_with(4, &["cannot load connector", "bogus.wasm"]);
}

#[test]
fn second_connector_with_other_activities_runs_in_the_same_host() {
    let probe = component("probe_connector").display().to_string();
    let described = host(&["describe", &probe, "--json"]).ok();
    assert_eq!(described["name"], "probe");
    let names: Vec<&str> = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    for name in ["echo", "fetch", "spin", "allocate", "check"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let connection = ConnectionFile::new(&component("probe_connector"), "");
    let input = json!({
        "text": "héllo", "count": 7, "offset": -3, "ratio": 0.5, "enabled": true, "note": null,
        "tags": ["a", "b"], "color": "blue", "shape": {"box": [2, 3]},
        "inner": {"name": "in", "numbers": [1, 2], "maybe": null}, "pair": ["p", 9],
        "permissions": ["read", "execute"]
    });
    let out = run(&connection, "echo", &input).ok();
    assert_eq!(out["greeting"], "hello, héllo");
    assert_eq!(
        out["echoed"], input,
        "every WIT type survives JSON -> WIT -> JSON"
    );
    let mut other = input.clone();
    other["shape"] = json!("nothing");
    other["inner"]["maybe"] = json!(-9_000_000_000_i64);
    other["note"] = json!("n");
    assert_eq!(run(&connection, "echo", &other).ok()["echoed"], other);
}

#[test]
fn an_activity_without_output_is_described_and_runs() {
    let described = described("probe_connector");
    let check = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "check")
        .expect("the probe's check activity");
    assert_eq!(check["output_schema"], Value::Null, "{check:#}");
    assert_eq!(
        (check["read_only"].clone(), check["retry_safe"].clone()),
        (json!(true), json!(true))
    );
    let fetch = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "fetch");
    assert_eq!(fetch.unwrap()["destructive"], true);
    let connection = ConnectionFile::new(&component("probe_connector"), "");
    let out = run(&connection, "check", &json!({}));
    assert_eq!((out.code, out.stdout.trim()), (0, "null"), "{out:#?}");
    run(&connection, "check", &json!({"fail_with": "told to fail"}))
        .fails_with(1, &["invalid input", "told to fail"]);
}

/// A component built against `connector:sdk@0.1.0` (no flags, pitfalls or rate
/// limits), without the SDK, still loads, describes and runs.
#[test]
fn a_connector_built_against_sdk_0_1_0_still_loads_describes_and_runs() {
    let described = described("legacy_connector");
    assert_eq!(described["name"], "legacy");
    let activities = described["activities"].as_array().unwrap();
    assert_eq!(activities.len(), 1, "{activities:#?}");
    let shout = &activities[0];
    assert_eq!(shout["name"], "shout");
    assert_eq!(shout["retry_safe"], true);
    // 0.1.0 has no flags: the host assumes the worst of what is not retry-safe.
    assert_eq!(
        (shout["read_only"].clone(), shout["destructive"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(shout["pitfalls"], json!([]));
    assert_eq!(described["rate_limits"], json!([]));
    assert_eq!(shout["input_schema"]["required"], json!(["text"]));
    let readable = host(&[
        "describe",
        &component("legacy_connector").display().to_string(),
    ]);
    assert!(readable.stdout.contains("shout"), "{readable:#?}");
    let connection = ConnectionFile::new(&component("legacy_connector"), "");
    let out = run(&connection, "shout", &json!({"text": "héllo"})).ok();
    assert_eq!(out, json!({"shouted": "HÉLLO"}));
}

#[test]
fn the_compiler_does_not_flood_the_log_at_trace() {
    // At trace, Cranelift printed every function it compiled: 1.1 GB in
    // three minutes. It stays at info unless the filter names it. See: issue 15.
    let cache = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(bin("connector-host"))
        .args(["describe", &cc_path()])
        .env("CONNECTOR_HOST_LOG", "trace")
        .env("CONNECTOR_HOST_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("TRACE"), "the filter was trace");
    assert!(
        !log.contains("cranelift") && !log.contains("regalloc2"),
        "a compiler line reached the log"
    );
    assert!(
        log.len() < 1 << 20,
        "{} bytes of log for one describe",
        log.len()
    );
}
