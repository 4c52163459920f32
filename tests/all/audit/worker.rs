//! The worker's trail: activities Temporal hands it run in tasks the worker
//! spawns, and are still recorded as the worker's identity.

use connector_tests::temporal::{Temporal, Worker};
use connector_tests::*;
use serde_json::json;

use super::{event, lines, verify};
use crate::worker::{results, step};

#[test]
fn a_workers_activities_are_audited_as_its_identity() {
    let (sandbox, temporal) = (Sandbox::start(), Temporal::start());
    let dir = tempfile::tempdir().unwrap();
    let (connectors, connections) = connector_tests::temporal::worker_dirs(dir.path());
    let component_file = connectors.join("cc_connector.wasm");
    let body = format!(
        "connector = {:?}\n[fields]\nclient_id = \"demo-client\"\nclient_secret = \"{}\"\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
        component_file.display().to_string(),
        CANARIES[1],
        sandbox.url
    );
    std::fs::write(connections.join("acme.toml"), body).unwrap();
    let audit = dir.path().join("worker.log");
    let trail = audit.display().to_string();
    let env = [
        ("CONNECTOR_HOST_AUDIT_LOG", trail.as_str()),
        ("TEMPORAL_IDENTITY", "audit-worker-1"),
    ];
    let mut worker = Worker::start(&temporal, &connectors, &connections, &env);
    let queue = worker.queue_of("acme");
    let plan = json!({"task_queue": queue, "workflows": [{"id": "audited-1", "steps": [
        step("acme.list-user-privileges", json!({})),
    ]}]});
    let report = temporal.run_workflows(&plan);
    assert!(
        results(&report, 0)[0]["ok"]["privileges"].is_array(),
        "{report:#}"
    );
    let (code, stderr) = worker.stop();
    assert_eq!(code, 0, "{stderr}");
    let lines = lines(&audit);
    let run = event(
        &lines,
        "activity.run",
        &json!({"connection": "acme", "activity": "list-user-privileges", "result": "ok"}),
    );
    assert_eq!(
        run["actor"],
        json!({"kind": "worker", "identity": "audit-worker-1"})
    );
    assert_eq!(run["process"]["front_end"], "worker");
    assert_eq!(verify(&[&audit], &[]).code, 0);
}
