//! The CLI's contract: describe output, input validation, exit codes, and a
//! second, unrelated connector running in the same host binary.

use connector_tests::*;
use serde_json::{json, Value};

/// Every Constant Contact activity with the scopes it needs.
const CC_ACTIVITIES: &[(&str, &[&str])] = &[
    ("list-account-emails", &["account_read"]),
    ("list-user-privileges", &[]),
    ("add-account-email", &["account_update"]),
    ("create-contact", &["contact_data"]),
    ("update-contact", &["contact_data"]),
    ("get-contact", &["contact_data"]),
    ("list-contacts", &["contact_data"]),
    ("create-custom-field", &["contact_data"]),
    ("submit-sign-up-form", &["contact_data"]),
    ("list-contact-lists", &["contact_data"]),
    ("create-contact-list", &["contact_data"]),
    ("list-email-campaigns", &["campaign_data"]),
    ("get-email-campaign", &["campaign_data"]),
    ("create-email-campaign", &["campaign_data"]),
    ("update-email-campaign", &["campaign_data"]),
    ("schedule-email-campaign", &["campaign_data"]),
    ("send-test-email", &["campaign_data"]),
];

fn cc_path() -> String {
    component("cc_connector").display().to_string()
}

#[test]
fn describe_json_lists_every_activity_with_scopes_and_schemas() {
    let out = host(&["describe", &cc_path(), "--json"]).ok();
    assert_eq!(out["name"], "constant-contact");
    assert_eq!(out["egress_origins"], json!(["https://api.cc.email"]));
    let activities = out["activities"].as_array().expect("activities array");
    assert_eq!(activities.len(), CC_ACTIVITIES.len(), "{activities:#?}");
    for (name, scopes) in CC_ACTIVITIES {
        let a = activities
            .iter()
            .find(|a| a["name"] == *name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(a["required_scopes"], json!(scopes), "{name}");
        assert_eq!(a["input_schema"]["type"], "object", "{name}");
        assert!(a["output_schema"].is_object(), "{name}");
        assert!(a["retry_safe"].is_boolean(), "{name}");
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
    let oauth = &out["auth"]["oauth2"];
    assert!(oauth["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("offline_access")));
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
    for (name, _) in CC_ACTIVITIES {
        assert!(
            out.stdout.contains(name),
            "{name} missing from:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("input: {contact_id, include?}"),
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
            "input.birthday_month: expected an integer from 0 to 255, found one out of range",
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
    for name in ["echo", "fetch", "spin", "allocate"] {
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
