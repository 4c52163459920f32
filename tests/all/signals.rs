//! Operators' signals (issue 18, item 4): `/healthz`, `/readyz` and
//! `/metrics` on `serve`, and the worker's health and metrics listener.
//! Metrics are checked by Prometheus's own `promtool check metrics`, and
//! their counters against what the sandbox, OpenBao and Temporal saw.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use connector_tests::openbao::OpenBao;
use connector_tests::serve::{Serve, API_TOKEN};
use connector_tests::temporal::{free_port, Temporal, Worker};
use connector_tests::*;
use serde_json::{json, Value};

/// The metrics token serve is started with in these tests.
const METRICS_TOKEN: &str = "test-metrics-token-0b9e7c21d4f6a3852e1f";
/// A connection name that must never be a label value.
const CONNECTION: &str = "conn-name-canary-42";
/// An input value that must never be a label value.
const INPUT_CANARY: &str = "input-canary-5e7d1b";
/// An activity no connector declares.
const MADE_UP: &str = "made-up-activity-xyz";

/// GET `url` with an optional bearer token: status and body.
fn fetch(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = ureq::get(url).timeout(Duration::from_secs(10));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    match request.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// Polls `url` until it answers `status`, or fails after a minute.
fn wait_for(url: &str, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (got, body) = fetch(url, None);
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{url} still answers {got}: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `promtool check metrics` on `text`; any finding fails the test.
fn promtool(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (make tools installs Debian's prometheus package)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {said}\n{text}"
    );
}

/// The sum of series `name` whose labels include every one of `wanted`.
fn sum(text: &str, name: &str, wanted: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, labels) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            (metric == name).then_some(())?;
            let labels: BTreeMap<&str, &str> = labels
                .split("\",")
                .filter_map(|pair| pair.split_once("=\""))
                .map(|(k, v)| (k, v.trim_end_matches('"')))
                .collect();
            let matches = wanted.iter().all(|(k, v)| labels.get(k) == Some(v));
            matches.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Nothing secret, nothing a user typed, no connection name, no address.
fn assert_reveals_nothing(text: &str, also: &[&str]) {
    assert_no_canary(text);
    for needle in [API_TOKEN, METRICS_TOKEN, CONNECTION, INPUT_CANARY, MADE_UP]
        .iter()
        .chain(also)
    {
        assert!(!text.contains(needle), "{needle:?} in: {text}");
    }
}

#[test]
fn readyz_follows_openbao_and_healthz_stays_up_revealing_nothing() {
    let mut bao = OpenBao::start();
    let stores = format!("[stores.vault]\naddress = \"{}\"\n", bao.addr);
    let serve = Serve::start(&stores, &[("VAULT_TOKEN", &bao.root_token)]);
    let (healthz, readyz) = (
        format!("{}/healthz", serve.url),
        format!("{}/readyz", serve.url),
    );
    // No token on either: a load balancer's probe has none.
    assert_eq!(fetch(&healthz, None), (200, "{\"status\":\"ok\"}".into()));
    let ready: Value = serde_json::from_str(&wait_for(&readyz, 200)).unwrap();
    assert_eq!(
        ready,
        json!({"status": "ready", "checks": {"catalogue": "ok", "store:vault": "ok"}})
    );
    bao.stop();
    let down = wait_for(&readyz, 503);
    let body: Value = serde_json::from_str(&down).unwrap();
    assert_eq!(body["status"], "not_ready", "{down}");
    assert_eq!(body["checks"]["store:vault"], "failed", "{down}");
    assert_eq!(body["checks"]["catalogue"], "ok", "{down}");
    let port = bao.addr.rsplit(':').next().unwrap().to_owned();
    for text in [&down, &fetch(&healthz, None).1] {
        assert_reveals_nothing(
            text,
            &[&bao.addr, &port, &bao.root_token, "refused", "rror"],
        );
    }
    assert_eq!(fetch(&healthz, None).0, 200, "alive while not ready");
    bao.restart();
    wait_for(&readyz, 200);
    assert_eq!(fetch(&healthz, None).0, 200);
}

/// Serve with OpenBao holding the access token, and connection
/// [`CONNECTION`] reading it as an asset.
fn metered(sandbox: &Sandbox, bao: &OpenBao) -> Serve {
    bao.kv2_put("secret", "connectors/cc-token", json!({"value": TOKEN}));
    let serve = Serve::start(
        "",
        &[
            ("VAULT_TOKEN", &bao.root_token),
            ("CONNECTOR_HOST_METRICS_TOKEN", METRICS_TOKEN),
        ],
    );
    let text = format!(
        "connector = {:?}\n[token]\naccess_token = {{ asset = \"cc-token\" }}\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n[stores.vault]\naddress = \"{}\"\npath = \"connectors\"\n",
        component("cc_connector").display().to_string(),
        sandbox.url,
        bao.addr
    );
    std::fs::write(serve.connection_file(CONNECTION), text).unwrap();
    serve
}

fn run(serve: &Serve, activity: &str, input: &Value) -> u16 {
    let path = format!("/api/connections/{CONNECTION}/activities/{activity}");
    serve.call("POST", &path, Some(input)).status
}

#[test]
fn metrics_pass_promtool_count_exactly_the_calls_made_and_need_their_own_token() {
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start());
    let serve = metered(&sandbox, &bao);
    let metrics = format!("{}/metrics", serve.url);
    for _ in 0..3 {
        assert_eq!(run(&serve, "list-contact-lists", &json!({})), 200);
    }
    let bad = json!({"create_source": INPUT_CANARY});
    for _ in 0..2 {
        assert_eq!(run(&serve, "create-contact", &bad), 422);
    }
    let unknown = run(&serve, MADE_UP, &json!({"x": INPUT_CANARY}));
    assert!(unknown >= 400, "{unknown}");
    // The API token does not open /metrics, nor does nothing.
    assert_eq!(fetch(&metrics, Some(API_TOKEN)).0, 401);
    assert_eq!(fetch(&metrics, None).0, 401);
    let (status, text) = fetch(&metrics, Some(METRICS_TOKEN));
    assert_eq!(status, 200, "{text}");
    promtool(&text);
    assert_reveals_nothing(&text, &[&sandbox.url, &bao.addr, &bao.root_token]);
    let calls = |activity, result| {
        sum(
            &text,
            "connector_host_calls_total",
            &[
                ("connector", "constant-contact"),
                ("activity", activity),
                ("result", result),
            ],
        )
    };
    assert_eq!(calls("list-contact-lists", "ok"), 3.0, "{text}");
    assert_eq!(calls("create-contact", "invalid_input"), 2.0, "{text}");
    assert_eq!(sum(&text, "connector_host_calls_total", &[]), 6.0, "{text}");
    assert_eq!(
        calls("other", "invalid_input"),
        1.0,
        "the made-up name is `other`: {text}"
    );
    assert_eq!(
        sum(
            &text,
            "connector_host_call_duration_seconds_count",
            &[("activity", "list-contact-lists")]
        ),
        3.0
    );
    // Every request the sandbox saw, and no other, counted by its declared origin.
    let seen = sandbox.requests().len() as f64;
    assert!(seen >= 3.0);
    let origin = [("origin", "https://api.cc.email"), ("status", "2xx")];
    assert_eq!(
        sum(&text, "connector_host_outgoing_requests_total", &origin),
        seen,
        "{text}"
    );
    assert_eq!(
        sum(&text, "connector_host_outgoing_requests_total", &[]),
        seen
    );
    // Store reads counted as OpenBao's audit log counts them.
    let reads = bao.audit_reads("secret/data/connectors/cc-token") as f64;
    assert!(reads >= 1.0);
    let ok_reads = [("store", "vault"), ("result", "ok")];
    assert_eq!(
        sum(&text, "connector_host_secret_reads_total", &ok_reads),
        reads,
        "{text}"
    );
    assert!(
        sum(&text, "connector_host_instance_slots", &[]) > 0.0,
        "{text}"
    );
    assert_eq!(
        sum(&text, "connector_host_instances_in_use", &[]),
        0.0,
        "{text}"
    );
}

#[test]
fn the_workers_listener_counts_the_activities_temporal_reports() {
    let (sandbox, temporal) = (Sandbox::start(), Temporal::start());
    let dir = tempfile::tempdir().unwrap();
    let (connectors, connections) = connector_tests::temporal::worker_dirs(dir.path());
    let text = format!(
        "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
        connectors.join("cc_connector.wasm").display().to_string(),
        sandbox.url
    );
    std::fs::write(connections.join("acme.toml"), text).unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    let (c, d) = (
        connectors.display().to_string(),
        connections.display().to_string(),
    );
    let args = [
        "--connectors",
        &c,
        "--connections",
        &d,
        "--metrics-listen",
        &address,
    ];
    let worker = Worker::start_with(&temporal, &args, &connections.join("data"), &[]);
    let url = format!("http://{address}");
    assert_eq!(fetch(&format!("{url}/healthz"), None).0, 200);
    let step = |activity: &str, input: Value| json!({"activity": activity, "input": input, "retry": {"maximum_attempts": 1}});
    let plan = json!({"task_queue": worker.queue_of("acme"), "workflows": [{"id": "signals-1", "steps": [
        step("acme.list-contact-lists", json!({})),
        step("acme.list-contact-lists", json!({})),
        step("acme.create-contact", json!({"create_source": INPUT_CANARY})),
    ]}]});
    // Scraped while the workflow runs: each scrape is valid.
    let scraping = std::thread::spawn({
        let url = url.clone();
        move || {
            for _ in 0..10 {
                promtool(&fetch(&format!("{url}/metrics"), None).1);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    temporal.run_workflows(&plan);
    scraping.join().unwrap();
    let (status, text) = fetch(&format!("{url}/metrics"), None);
    assert_eq!(status, 200);
    promtool(&text);
    assert_reveals_nothing(&text, &[&sandbox.url, "acme"]);
    let history = temporal.history_json("signals-1").to_string();
    let events = |kind: &str| history.matches(kind).count() as f64;
    let started = events("EVENT_TYPE_ACTIVITY_TASK_STARTED");
    assert_eq!(started, 3.0, "{history}");
    assert_eq!(
        sum(&text, "connector_host_worker_activities_started_total", &[]),
        started,
        "{text}"
    );
    let finished = |result| {
        sum(
            &text,
            "connector_host_worker_activities_finished_total",
            &[("result", result)],
        )
    };
    assert_eq!(
        finished("ok"),
        events("EVENT_TYPE_ACTIVITY_TASK_COMPLETED"),
        "{text}"
    );
    assert_eq!(
        finished("invalid_input"),
        events("EVENT_TYPE_ACTIVITY_TASK_FAILED"),
        "{text}"
    );
    assert_eq!(
        sum(
            &text,
            "connector_host_calls_total",
            &[("activity", "list-contact-lists"), ("result", "ok")]
        ),
        2.0
    );
}

#[test]
fn limit_hits_and_egress_refusals_are_counted_by_setting_and_reason() {
    let sandbox = Sandbox::start();
    let serve = Serve::start("", &[("CONNECTOR_HOST_METRICS_TOKEN", METRICS_TOKEN)]);
    let text = format!(
        "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[limits]\nmax_requests = 3\nmax_concurrent_requests = 10\n[endpoints]\n\"https://api.hostile.example\" = \"{}\"\n",
        component("hostile_connector").display().to_string(),
        sandbox.url
    );
    std::fs::write(serve.connection_file(CONNECTION), text).unwrap();
    let flood = json!({"url": "https://api.hostile.example/v3/slow", "count": 5});
    assert!(run(&serve, "flood", &flood) >= 400);
    let undeclared = json!({"url": "https://undeclared.example/x", "headers": []});
    assert!(run(&serve, "fetch", &undeclared) >= 400);
    let (status, text) = fetch(&format!("{}/metrics", serve.url), Some(METRICS_TOKEN));
    assert_eq!(status, 200, "{text}");
    promtool(&text);
    assert_reveals_nothing(&text, &[&sandbox.url, "undeclared.example"]);
    let hits = [("setting", "max_requests")];
    assert_eq!(
        sum(&text, "connector_host_limit_hits_total", &hits),
        1.0,
        "{text}"
    );
    assert_eq!(
        sum(&text, "connector_host_limit_hits_total", &[]),
        1.0,
        "{text}"
    );
    let refused = |reason| {
        sum(
            &text,
            "connector_host_egress_refusals_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(refused("origin_not_declared"), 1.0, "{text}");
    assert_eq!(
        refused("max_requests"),
        2.0,
        "the 4th and 5th request: {text}"
    );
    let calls = |activity, result| {
        sum(
            &text,
            "connector_host_calls_total",
            &[("activity", activity), ("result", result)],
        )
    };
    assert_eq!(calls("flood", "limit_hit"), 1.0, "{text}");
    assert_eq!(calls("fetch", "connector_broken"), 1.0, "{text}");
    let seen = sandbox.requests().len() as f64;
    assert_eq!(
        sum(&text, "connector_host_outgoing_requests_total", &[]),
        seen,
        "{text}"
    );
}
