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

use crate::quota::{next_midnight, until_refused};
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

/// A static-token Constant Contact connection `q` whose only limit is a
/// daily quota of `daily` per application, counted in OpenBao, kept in
/// `serve`'s connections directory and served by two workers.
struct QuotaRig {
    sandbox: Sandbox,
    temporal: Temporal,
    serve: Serve,
    workers: [Worker; 2],
    _bao: OpenBao,
}

impl QuotaRig {
    /// The sandbox started with `args` (plus the token).
    fn start(args: &[&str], daily: u32) -> QuotaRig {
        let token = format!("{TOKEN}={ALL_SCOPES}");
        let sandbox = Sandbox::start_with(&[args, &["--token", &token]].concat());
        let (bao, temporal) = (OpenBao::start(), Temporal::start());
        let env = [("VAULT_TOKEN", bao.root_token.as_str())];
        let serve = Serve::start("", &env);
        let text = format!(
            "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n[limits]\nrate_limits = [{{ requests = {daily}, per = \"application\", window = {{ daily = 0 }} }}]\n[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
            component("cc_connector").display().to_string(),
            sandbox.url,
            bao.addr
        );
        std::fs::write(serve.connection_file("q"), text).unwrap();
        let (connectors, connections) = (
            serve.dir().join("connectors"),
            serve.dir().join("connections"),
        );
        let workers = [(); 2].map(|()| Worker::start(&temporal, &connectors, &connections, &env));
        QuotaRig {
            sandbox,
            temporal,
            serve,
            workers,
            _bao: bao,
        }
    }

    /// Two workflows of `calls` list-user-privileges steps each, on `q`'s queue.
    fn plan(&self, id: &str, calls: usize) -> Value {
        let queue = self.workers[0].queue_of("q");
        assert_eq!(
            queue,
            self.workers[1].queue_of("q"),
            "one queue per application"
        );
        let steps: Vec<Value> = (0..calls)
            .map(|_| step("q.list-user-privileges", json!({})))
            .collect();
        json!({"task_queue": queue, "workflows": [
            {"id": format!("{id}-a"), "steps": steps}, {"id": format!("{id}-b"), "steps": steps}]})
    }

    /// SIGTERM to both workers, each of which must exit cleanly.
    fn stop_workers(&mut self) {
        for worker in &mut self.workers {
            assert_eq!(worker.stop().0, 0);
        }
    }

    /// The quota's count in the store, as serve's status shows it.
    fn reserved(&self) -> u64 {
        let status = self
            .serve
            .call("GET", "/api/connections/q/status", None)
            .json;
        status["quotas"][0]["reserved"]
            .as_u64()
            .unwrap_or_else(|| panic!("{status}"))
    }
}

/// Steps that succeeded in workflow `index`; the last must be the quota's
/// refusal, non-retryable (nothing retries into tomorrow), naming its reset.
fn succeeded_until_refused(report: &Value, index: usize, midnight: &str) -> u32 {
    let steps = results(report, index);
    let last = &steps.last().expect("a step")["error"];
    assert_eq!(last["type"], "quota_exhausted", "{report:#}");
    assert_eq!(last["non_retryable"], true, "{report:#}");
    let message = last["message"].as_str().unwrap_or_default();
    assert!(message.contains(midnight), "{report:#}");
    let ok = steps.iter().filter(|s| s.get("ok").is_some()).count();
    assert_eq!(ok + 1, steps.len(), "{report:#}");
    u32::try_from(ok).unwrap()
}

#[test]
fn a_daily_quota_holds_across_serve_and_two_workers() {
    let mut rig = QuotaRig::start(&["--daily-quota", "50"], 50);
    // Only the daily quota: the per-second limit would add 429s to the count.
    rig.sandbox
        .control("rate-limit", json!({"per_second": 1000}));
    // Two workflows of up to 40 calls each, and serve, all at once: more
    // than the quota, so every one of them meets its end.
    let plan = rig.plan("quota", 40);
    let (sent, midnight) = (AtomicU32::new(0), next_midnight());
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            // serve joins once the workers are spending (it would otherwise
            // spend everything while the workflows start).
            while rig.sandbox.requests().len() < 10 {
                std::thread::sleep(Duration::from_millis(20));
            }
            until_refused(&rig.serve, &sent, &midnight);
        });
        rig.temporal.run_workflows(&plan)
    });
    let by_workflows = succeeded_until_refused(&report, 0, &midnight)
        + succeeded_until_refused(&report, 1, &midnight);
    let by_serve = sent.load(Ordering::SeqCst);
    assert!(by_workflows >= 10, "{by_workflows} by the workers");
    // What the workers reserved and did not spend goes back when they stop,
    // and serve may spend it: the whole quota, not one request more.
    rig.stop_workers();
    until_refused(&rig.serve, &sent, &midnight);
    let statuses: Vec<u64> = rig
        .sandbox
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

#[test]
fn a_stopping_worker_hands_back_the_units_it_reserved_and_did_not_spend() {
    let mut rig = QuotaRig::start(&["--no-rate-limit"], 1000);
    let report = rig.temporal.run_workflows(&rig.plan("spend", 10));
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
    let held = rig.reserved();
    assert!(held > 20, "{held} reserved for 20 calls");
    rig.stop_workers();
    assert_eq!(rig.reserved(), 20, "only what was spent stays counted");
    assert_eq!(rig.sandbox.requests().len(), 20);
}
