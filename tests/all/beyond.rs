//! Beyond one machine (issue 16), the parts together: a worker on one
//! machine serves the connections a `serve` on another keeps in the
//! credential store, and the API's daily quota holds across `serve` and two
//! workers, with the units a stopping worker did not spend handed back.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use connector_tests::openbao::OpenBao;
use connector_tests::serve::Serve;
use connector_tests::temporal::{Temporal, Worker};
use connector_tests::*;
use serde_json::{json, Value};

use crate::worker::{assert_no_canary_in_history, results, step};

/// A directory standing in for another machine: its own connectors
/// directory (the probe), and a serve config naming the shared store.
fn other_machine(bao: &OpenBao) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("connectors")).unwrap();
    std::fs::copy(
        component("probe_connector"),
        dir.path().join("connectors/probe_connector.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join("worker.toml"), store_config(bao)).unwrap();
    dir
}

/// Connections (and their typed secrets) in OpenBao under `platform`.
fn store_config(bao: &OpenBao) -> String {
    format!(
        "connections_store = \"vault\"\n[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"platform\"\n",
        bao.addr
    )
}

#[test]
fn a_worker_serves_the_connections_serve_keeps_in_the_store() {
    let (bao, temporal) = (OpenBao::start(), Temporal::start());
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let serve = Serve::start(&store_config(&bao), &env);
    let machine = other_machine(&bao);
    let config = machine.path().join("worker.toml").display().to_string();
    let mut worker = Worker::start_with(
        &temporal,
        &["--config", &config],
        &machine.path().join("data"),
        &env,
    );
    // Made on serve's API, its secret typed (and kept in the store).
    let draft = json!({"name": "shared", "connector": "probe",
        "fields": {"probe_key": {"value": CANARIES[0]}}});
    let created = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
    worker.wait_for_line("serving shared on queue", Duration::from_secs(10));
    let queue = worker.queue_of("shared");
    let plan = json!({"task_queue": queue, "workflows": [{"id": "from-store-1",
        "steps": [step("shared.check", json!({}))]}]});
    let report = temporal.run_workflows(&plan);
    assert_eq!(results(&report, 0)[0], json!({"ok": null}), "{report:#}");
    assert_no_canary_in_history(&temporal, &report);
    // Deleted on serve: the worker stops serving it within a rescan.
    assert_eq!(
        serve.call("DELETE", "/api/connections/shared", None).status,
        204
    );
    worker.wait_for_line("stopped serving shared", Duration::from_secs(10));
    let (code, stderr) = worker.stop();
    assert_eq!(code, 0);
    assert!(
        stderr.contains("connections in store 'vault' connections/"),
        "it says where it reads connections: {stderr}"
    );
}

/// A static-token Constant Contact connection whose only limit is a daily
/// quota of `daily` per application, counted in `bao`.
fn quota_connection(sandbox: &Sandbox, bao: &OpenBao, daily: u32) -> String {
    format!(
        "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n[limits]\nrate_limits = [{{ requests = {daily}, per = \"application\", window = {{ daily = 0 }} }}]\n[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
        component("cc_connector").display().to_string(),
        sandbox.url,
        bao.addr
    )
}

/// Calls `q` through `serve` until the quota refuses; counts those that went.
fn serve_until_refused(serve: &Serve, sent: &AtomicU32) {
    loop {
        let answer = serve.call(
            "POST",
            "/api/connections/q/activities/list-user-privileges",
            Some(&json!({})),
        );
        if answer.status != 200 {
            assert_eq!(
                answer.json["error"]["class"], "quota_exhausted",
                "{answer:#?}"
            );
            return;
        }
        sent.fetch_add(1, Ordering::SeqCst);
    }
}

/// Steps that succeeded in workflow `index`; the last must be the quota's
/// refusal, non-retryable (nothing retries into tomorrow).
fn succeeded_until_refused(report: &Value, index: usize) -> u32 {
    let steps = results(report, index);
    let last = &steps.last().expect("a step")["error"];
    assert_eq!(last["type"], "quota_exhausted", "{report:#}");
    assert_eq!(last["non_retryable"], true, "{report:#}");
    let ok = steps.iter().filter(|s| s.get("ok").is_some()).count();
    assert_eq!(ok + 1, steps.len(), "{report:#}");
    u32::try_from(ok).unwrap()
}

#[test]
fn a_daily_quota_holds_across_serve_and_two_workers() {
    let sandbox = Sandbox::start_with(&[
        "--daily-quota",
        "50",
        "--token",
        &format!("{TOKEN}={ALL_SCOPES}"),
    ]);
    sandbox.control("rate-limit", json!({"per_second": 1000}));
    let (bao, temporal) = (OpenBao::start(), Temporal::start());
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let serve = Serve::start("", &env);
    std::fs::write(
        serve.connection_file("q"),
        quota_connection(&sandbox, &bao, 50),
    )
    .unwrap();
    let (connectors, connections) = (
        serve.dir().join("connectors"),
        serve.dir().join("connections"),
    );
    let mut workers = [
        Worker::start(&temporal, &connectors, &connections, &env),
        Worker::start(&temporal, &connectors, &connections, &env),
    ];
    let queue = workers[0].queue_of("q");
    assert_eq!(queue, workers[1].queue_of("q"));
    // Two workflows of up to 40 calls each, and serve, all at once: more
    // than the quota, so every one of them meets its end.
    let calls: Vec<Value> = (0..40)
        .map(|_| step("q.list-user-privileges", json!({})))
        .collect();
    let plan = json!({"task_queue": queue, "workflows": [
        {"id": "quota-a", "steps": calls}, {"id": "quota-b", "steps": calls}]});
    let sent = AtomicU32::new(0);
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            // serve joins once the workers are spending (it would otherwise
            // spend everything while the workflows start).
            while sandbox.requests().len() < 10 {
                std::thread::sleep(Duration::from_millis(20));
            }
            serve_until_refused(&serve, &sent);
        });
        temporal.run_workflows(&plan)
    });
    let by_workflows = succeeded_until_refused(&report, 0) + succeeded_until_refused(&report, 1);
    let by_serve = sent.load(Ordering::SeqCst);
    assert!(by_workflows >= 10, "{by_workflows} by the workers");
    // What the workers reserved and did not spend goes back when they stop,
    // and serve may spend it: the whole quota, not one request more.
    for worker in &mut workers {
        let (code, _) = worker.stop();
        assert_eq!(code, 0);
    }
    serve_until_refused(&serve, &sent);
    let statuses: Vec<u64> = sandbox
        .requests()
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .collect();
    eprintln!(
        "workflows {by_workflows}, serve {by_serve} while they ran and {} after they stopped",
        sent.load(Ordering::SeqCst) - by_serve
    );
    assert_eq!(by_workflows + sent.load(Ordering::SeqCst), 50);
    assert_eq!(statuses.len(), 50, "nothing was sent past the quota");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

/// The quota's count in the store, as serve's status shows it.
fn reserved(serve: &Serve) -> u64 {
    let status = serve.call("GET", "/api/connections/q/status", None).json;
    status["quotas"][0]["reserved"]
        .as_u64()
        .unwrap_or_else(|| panic!("{status}"))
}

#[test]
fn a_stopping_worker_hands_back_the_units_it_reserved_and_did_not_spend() {
    let sandbox = Sandbox::start_with(&[
        "--no-rate-limit",
        "--token",
        &format!("{TOKEN}={ALL_SCOPES}"),
    ]);
    let (bao, temporal) = (OpenBao::start(), Temporal::start());
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let serve = Serve::start("", &env);
    std::fs::write(
        serve.connection_file("q"),
        quota_connection(&sandbox, &bao, 1000),
    )
    .unwrap();
    let (connectors, connections) = (
        serve.dir().join("connectors"),
        serve.dir().join("connections"),
    );
    let mut workers = [
        Worker::start(&temporal, &connectors, &connections, &env),
        Worker::start(&temporal, &connectors, &connections, &env),
    ];
    let calls: Vec<Value> = (0..10)
        .map(|_| step("q.list-user-privileges", json!({})))
        .collect();
    let plan = json!({"task_queue": workers[0].queue_of("q"), "workflows": [
        {"id": "spend-a", "steps": calls}, {"id": "spend-b", "steps": calls}]});
    let report = temporal.run_workflows(&plan);
    for index in 0..2 {
        assert!(
            results(&report, index)
                .iter()
                .all(|s| s.get("ok").is_some()),
            "{report:#}"
        );
    }
    // Blocks double (1, 2, 4, ...): however the 20 calls were split, the
    // workers hold more than they spent.
    let held = reserved(&serve);
    assert!(held > 20, "{held} reserved for 20 calls");
    for worker in &mut workers {
        assert_eq!(worker.stop().0, 0);
    }
    assert_eq!(reserved(&serve), 20, "only what was spent stays counted");
    assert_eq!(sandbox.requests().len(), 20);
}
