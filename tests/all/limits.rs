//! Every call has limits: a wall-clock deadline and a memory cap.

use connector_tests::*;
use serde_json::json;

fn probe_with_limits(limits: &str) -> ConnectionFile {
    ConnectionFile::new(
        &component("probe_connector"),
        &format!("[limits]\n{limits}\n"),
    )
}

#[test]
fn looping_connector_is_stopped_at_its_deadline() {
    let connection = probe_with_limits("timeout_seconds = 1");
    let started = std::time::Instant::now();
    let out = run(&connection, "spin", &json!({}));
    out.fails_with(
        5,
        &[
            "\"spin\" was stopped after its deadline of 1s",
            "timeout_seconds",
        ],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the deadline did not stop the loop promptly"
    );
}

#[test]
fn memory_hungry_connector_is_stopped_by_the_cap() {
    let connection = probe_with_limits("memory_mib = 32");
    let out = run(&connection, "allocate", &json!({"megabytes": 256}));
    out.fails_with(5, &["\"allocate\"", "memory limit of 32 MiB", "memory_mib"]);
}

#[test]
fn work_within_the_limits_completes() {
    let connection = probe_with_limits("memory_mib = 32\ntimeout_seconds = 10");
    assert_eq!(
        run(&connection, "allocate", &json!({"megabytes": 4})).ok()["allocated"],
        4
    );
    assert!(run(&connection, "spin", &json!({"iterations": 1000})).code == 0);
}

#[test]
fn oversized_response_is_cut_off_with_a_clear_error() {
    let sandbox = Sandbox::start();
    let big = "x".repeat(1536 << 10);
    sandbox.control(
        "faults",
        json!({"path": "/v3/big", "status": 200, "body": {"data": big}, "count": 1}),
    );
    let extra = format!(
        "[endpoints]\n\"https://probe.example\" = \"{}\"\n[limits]\nmax_response_mib = 1\n",
        sandbox.url
    );
    let connection = ConnectionFile::new(&component("probe_connector"), &extra);
    let out = run(
        &connection,
        "fetch",
        &json!({"url": "https://probe.example/v3/big", "headers": []}),
    );
    out.fails_with(
        1,
        &["larger than the limit of 1048576 bytes", "max_response_mib"],
    );
}
