//! `http-request` and `http-read`: any path of the V3 API with the connection's
//! credential, and nothing outside it.
//!
//! What a user depends on: the request reaches the API with the host's token
//! (the connector never holds it), an input that would leave `/v3/`, reach
//! another origin, carry a credential or an oversized body is refused before
//! anything is sent, and no credential comes back in the answer, even from a
//! server that echoes it.

use connector_tests::*;
use serde_json::{json, Value};

fn sandbox_and_connection() -> (Sandbox, ConnectionFile) {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    (sandbox, connection)
}

/// The one request the sandbox logged.
fn only_request(sandbox: &Sandbox) -> Value {
    let log = sandbox.requests();
    assert_eq!(log.len(), 1, "{log:#?}");
    log[0].clone()
}

/// As `run`, with the input on stdin (a 1 MiB input is too long for argv).
fn run_stdin(connection: &ConnectionFile, activity: &str, input: &Value) -> Run {
    use std::io::Write;
    let conn = connection.path.display().to_string();
    let mut child = host_command(&["run", &conn, activity, "--input", "-"], &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run connector-host");
    let mut stdin = child.stdin.take().unwrap();
    let text = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output().expect("connector-host output");
    writer.join().unwrap().expect("write the input");
    Run::checked(&output)
}

#[test]
fn a_get_and_a_post_reach_the_api_with_the_connections_credential() {
    let (sandbox, connection) = sandbox_and_connection();
    let created = run(
        &connection,
        "http-request",
        &json!({"method": "post", "path": "contact_tags",
                "headers": [{"name": "If-None-Match", "value": "*"}],
                "body": r#"{"name": "Raw tag"}"#}),
    )
    .ok();
    assert_eq!(created["status"], 201, "{created:#}");
    let tag: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    assert_eq!(tag["name"], "Raw tag");
    let headers = created["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "content-type" && h["value"].as_str().unwrap().contains("json")),
        "{headers:?}"
    );
    let post = only_request(&sandbox);
    assert_eq!(post["method"], "POST");
    assert_eq!(post["path"], "/v3/contact_tags");
    assert_eq!(post["body"], json!({"name": "Raw tag"}));
    assert_eq!(post["authorization"], format!("Bearer {TOKEN}"));

    ureq::delete(&format!("{}/__sandbox/requests", sandbox.url))
        .call()
        .unwrap();
    let id = tag["tag_id"].as_str().unwrap();
    let read = run(
        &connection,
        "http-read",
        &json!({"path": format!("/v3/contact_tags/{id}"),
                "query": [{"name": "include_count", "value": "true"}]}),
    )
    .ok();
    assert_eq!(read["status"], 200);
    assert!(
        read["body"].as_str().unwrap().contains("Raw tag"),
        "{read:#}"
    );
    let get = only_request(&sandbox);
    assert_eq!(get["method"], "GET");
    assert_eq!(get["path"], format!("/v3/contact_tags/{id}"));
    assert_eq!(get["query"], "include_count=true");
    assert_eq!(get["authorization"], format!("Bearer {TOKEN}"));
}

#[test]
fn an_error_status_is_the_activitys_error_as_for_every_activity() {
    let (_sandbox, connection) = sandbox_and_connection();
    let missing = "3f2c1c3e-5d5e-4b8e-9a55-000000000000";
    run(
        &connection,
        "http-read",
        &json!({"path": format!("contacts/{missing}")}),
    )
    .fails_with(1, &["not found", "HTTP 404"]);
}

#[test]
fn inputs_that_would_leave_the_api_or_carry_a_credential_are_refused_before_sending() {
    let (sandbox, connection) = sandbox_and_connection();
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1 << 20));
    let cases = [
        (
            json!({"method": "get", "path": "/v3/../v2/contacts"}),
            "`.` or `..` segments",
        ),
        (
            json!({"method": "get", "path": "../admin"}),
            "`.` or `..` segments",
        ),
        (
            json!({"method": "get", "path": "/v3/contacts/%2e%2e/x"}),
            "encoded",
        ),
        (
            json!({"method": "get", "path": "/v3/contacts%2Fabc"}),
            "encoded",
        ),
        (
            json!({"method": "get", "path": "/v2/contacts"}),
            "must start with /v3/",
        ),
        (
            json!({"method": "get", "path": "https://evil.example/v3/contacts"}),
            "must not be a URL",
        ),
        (
            json!({"method": "get", "path": "//evil.example/v3/contacts"}),
            "must not be a URL",
        ),
        (
            json!({"method": "get", "path": "/v3/contacts?limit=1"}),
            "give the query as `query`",
        ),
        (
            json!({"method": "get", "path": "contacts",
                   "headers": [{"name": "Authorization", "value": "Bearer stolen"}]}),
            "header `Authorization` cannot be set",
        ),
        (
            json!({"method": "get", "path": "contacts",
                   "headers": [{"name": "x-api-key", "value": "k"}]}),
            "header `x-api-key` cannot be set",
        ),
        (
            json!({"method": "get", "path": "contacts",
                   "headers": [{"name": "X-Test", "value": "a\r\nAuthorization: x"}]}),
            "printable ASCII",
        ),
        (
            json!({"method": "post", "path": "contact_tags", "body": big}),
            "more than the 1048576",
        ),
        (
            json!({"method": "post", "path": "contact_tags", "body": "{not json"}),
            "is not JSON",
        ),
        (
            json!({"method": "get", "path": "contacts", "body": "{}"}),
            "only sent with post",
        ),
    ];
    for (input, said) in cases {
        let out = run_stdin(&connection, "http-request", &input);
        assert_eq!(out.code, 1, "{input}: {out:#?}");
        assert!(
            out.stderr.contains("invalid input") && out.stderr.contains(said),
            "{input}: expected {said:?}: {}",
            out.stderr
        );
    }
    let read = run(
        &connection,
        "http-read",
        &json!({"path": "https://evil.example/v3/contacts"}),
    );
    assert_eq!(read.code, 1, "{read:#?}");
    assert!(
        sandbox.requests().is_empty(),
        "a refused input reached the API: {:#?}",
        sandbox.requests()
    );
}

/// A server that echoes the credential (or anything holding it) in a header or
/// the body: the host's output scan removes it, and `set-cookie` never passes.
#[test]
fn a_credential_echoed_by_the_server_never_reaches_the_output() {
    let (sandbox, connection) = sandbox_and_connection();
    sandbox.control(
        "faults",
        json!({"path": "/v3/echo", "status": 200,
               "body": {"you_sent": format!("Bearer {TOKEN}"), "ok": true}}),
    );
    // `run` asserts that no canary is in stdout or stderr (at trace level).
    let out = run(&connection, "http-read", &json!({"path": "echo"})).ok();
    let body = out["body"].as_str().unwrap();
    assert!(
        body.contains("Bearer [redacted]") && body.contains("\"ok\":true"),
        "{out:#}"
    );
    let log = sandbox.requests();
    assert_eq!(log.len(), 1, "{log:#?}");
}
