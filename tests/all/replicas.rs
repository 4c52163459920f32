//! Connections kept in the credential store (issue 16): two `serve`
//! processes that share no directory (as on two machines) share their
//! connections through OpenBao, and see each other's creates, changes and
//! deletes within seconds, with no file copied.

use std::time::{Duration, Instant};

use connector_tests::openbao::OpenBao;
use connector_tests::serve::Serve;
use connector_tests::*;
use serde_json::json;

/// The serve config both replicas use: connections and typed secrets in
/// OpenBao, the sandbox standing in for the API.
fn config(bao: &OpenBao, sandbox: &Sandbox) -> String {
    format!(
        "connections_store = \"vault\"\n[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"platform\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
        bao.addr, sandbox.url
    )
}

/// Polls `check` every 100 ms for up to 10 s; how long it took.
fn within_seconds(what: &str, check: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what} never happened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

#[test]
fn a_connection_made_on_one_replica_is_used_changed_and_deleted_on_another() {
    let sandbox = Sandbox::start();
    let bao = OpenBao::start();
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let first = Serve::start(&config(&bao, &sandbox), &env);
    let second = Serve::start(&config(&bao, &sandbox), &env);
    assert_ne!(first.dir(), second.dir(), "no directory is shared");
    // A static-token probe connection made on the first: its secret field
    // goes to the store too.
    let draft = json!({"name": "shared", "connector": "probe",
        "fields": {"probe_key": {"value": "replica-key-6c1d0e"}}});
    let created = first.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
    assert!(
        !first.connection_file("shared").exists(),
        "no file is written"
    );
    let stored = bao.root_ok(None, "GET", "secret/data/platform/connections/shared", None);
    let text = stored["data"]["data"]["connection"].as_str().unwrap();
    assert!(
        text.contains("connector = \"probe_connector.wasm\""),
        "named relative to each machine's connectors: {text}"
    );
    assert!(
        !text.contains("replica-key"),
        "no secret in the document: {text}"
    );
    // The second sees it, lists it, and runs it.
    let seen = within_seconds("the second replica seeing it", || {
        second.call("GET", "/api/connections/shared", None).status == 200
    });
    let listed = second.call("GET", "/api/connections", None).json;
    assert_eq!(listed["connections"][0]["name"], "shared", "{listed}");
    assert_eq!(listed["connections"][0]["connector"], "probe", "{listed}");
    let run = second.call(
        "POST",
        "/api/connections/shared/activities/check",
        Some(&json!({})),
    );
    assert_eq!(run.status, 200, "{run:#?}");
    // A change on the second reaches the first.
    let change =
        json!({"connector": "probe", "fields": {"probe_key": {"value": "replica-key-7d2e1f"}}});
    assert_eq!(
        second
            .call("PUT", "/api/connections/shared", Some(&change))
            .status,
        200
    );
    let secret = bao.root_ok(
        None,
        "GET",
        "secret/data/platform/secrets/shared/probe_key",
        None,
    );
    assert_eq!(secret["data"]["data"]["value"], "replica-key-7d2e1f");
    // Deleted on the first: gone on the second within seconds.
    assert_eq!(
        first.call("DELETE", "/api/connections/shared", None).status,
        204
    );
    let gone = within_seconds("the delete reaching the second replica", || {
        second.call("GET", "/api/connections/shared", None).status == 404
            && second
                .call(
                    "POST",
                    "/api/connections/shared/activities/check",
                    Some(&json!({})),
                )
                .status
                == 404
    });
    eprintln!("seen after {seen:?}, gone after {gone:?}");
    let after = bao
        .call(
            &bao.root_token,
            None,
            "GET",
            "secret/data/platform/secrets/shared/probe_key",
            None,
        )
        .unwrap();
    assert!(!after.is_success(), "its secret went with it");
}

#[test]
fn a_connections_store_must_be_read_write() {
    let bao = OpenBao::start();
    let (code, stderr) = Serve::refuses_to_start(
        &format!(
            "connections_store = \"vault\"\n[stores.vault]\naddress = \"{}\"\n",
            bao.addr
        ),
        &[("VAULT_TOKEN", bao.root_token.as_str())],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("connections_store \"vault\" must be a read-write KV v2 store"),
        "{stderr}"
    );
}
