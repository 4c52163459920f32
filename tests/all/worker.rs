//! `connector-host worker` on a real Temporal dev server, driven by
//! workflows written with the official Python SDK, against the sandbox
//! (issue 16): activities named `<connection>.<activity>`, failures typed by
//! the host's error classes with the right retries, failover to another
//! worker, at most once for what is not retry-safe, cancellation, the
//! hostile connector contained, and no canary anywhere in Temporal.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use connector_tests::temporal::{Temporal, Worker};
use connector_tests::*;
use serde_json::{json, Value};

/// A connectors directory (the built components) and a connections directory.
struct Dirs {
    root: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Dirs {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("connectors")).unwrap();
        std::fs::create_dir_all(root.path().join("connections")).unwrap();
        for name in ["cc_connector", "hostile_connector", "example_connector"] {
            let to = root.path().join("connectors").join(format!("{name}.wasm"));
            std::fs::copy(component(name), to).unwrap();
        }
        Dirs { root }
    }

    fn connectors(&self) -> PathBuf {
        self.root.path().join("connectors")
    }

    fn connections(&self) -> PathBuf {
        self.root.path().join("connections")
    }

    /// Writes connection `name` to `component` with `body` (TOML).
    fn connection(&self, name: &str, component: &str, body: &str) -> PathBuf {
        let file = self.connections().join(format!("{name}.toml"));
        let connector = self.connectors().join(format!("{component}.wasm"));
        std::fs::write(
            &file,
            format!("connector = {:?}\n{body}", connector.display().to_string()),
        )
        .unwrap();
        file
    }

    /// A Constant Contact connection to `sandbox` with `token`.
    fn constant_contact(&self, name: &str, sandbox: &Sandbox, token: &str) -> PathBuf {
        self.constant_contact_with(name, sandbox, token, "")
    }

    /// As [`Dirs::constant_contact`], with `extra` TOML at the end.
    fn constant_contact_with(
        &self,
        name: &str,
        sandbox: &Sandbox,
        token: &str,
        extra: &str,
    ) -> PathBuf {
        let body = format!(
            "[fields]\nclient_id = \"demo-client\"\nclient_secret = \"{}\"\n\n[token]\naccess_token = \"{token}\"\n\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n{extra}",
            CANARIES[1], sandbox.url
        );
        self.connection(name, "cc_connector", &body)
    }

    fn worker(&self, temporal: &Temporal) -> Worker {
        Worker::start(temporal, &self.connectors(), &self.connections(), &[])
    }
}

/// One step of a workflow plan (see `tests/temporal/driver.py`).
pub(crate) fn step(activity: &str, input: Value) -> Value {
    json!({"activity": activity, "input": input, "retry": {"maximum_attempts": 3, "initial_interval_ms": 100}})
}

/// The step results of workflow `index` of a driver report.
pub(crate) fn results(report: &Value, index: usize) -> &Vec<Value> {
    report["workflows"][index]["results"]
        .as_array()
        .expect("results")
}

/// The attempts the history records for step `index` of a workflow.
fn attempts(report: &Value, workflow: usize, index: usize) -> u64 {
    report["workflows"][workflow]["attempts"][index]["attempt"]
        .as_u64()
        .expect("attempt")
}

pub(crate) fn assert_no_canary_in_history(temporal: &Temporal, report: &Value) {
    for workflow in report["workflows"].as_array().unwrap() {
        let history = temporal.history(workflow["id"].as_str().unwrap());
        assert!(
            history.contains("EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"),
            "{history}"
        );
        // The decoded payloads are there too (the workflow's input, its plan).
        assert!(history.contains("\"task_queue\""), "{history}");
        assert_no_canary(&history);
    }
}

fn run_cli(connection: &Path, activity: &str, input: &Value) -> Value {
    run(
        &ConnectionFile::existing(connection.to_owned()),
        activity,
        input,
    )
    .ok()
}

#[test]
fn a_workflow_creates_a_list_and_a_contact_and_pages_as_the_cli_does() {
    let (sandbox, temporal, dirs) = (Sandbox::start(), Temporal::start(), Dirs::new());
    let acme = dirs.constant_contact("acme", &sandbox, TOKEN);
    let worker = dirs.worker(&temporal);
    let queue = worker.queue_of("acme");
    assert!(queue.starts_with("constant-contact."), "{queue}");
    assert!(worker.output().iter().any(|l| l == "  acme.create-contact"));
    let contact = |first: &str| {
        json!({"email_address": {"address": format!("{first}@example.com"), "permission_to_send": "implicit"},
               "first_name": first, "create_source": "account", "list_memberships": ["$0.list_id"]})
    };
    let mut pages = step(
        "acme.list-contacts",
        json!({"lists": ["$0.list_id"], "limit": 1}),
    );
    pages["pages"] = json!(true);
    let plan = json!({"task_queue": queue, "workflows": [{"id": "contacts-1", "steps": [
        step("acme.create-contact-list", json!({"name": "Worker list"})),
        step("acme.create-contact", contact("ada")),
        step("acme.create-contact", contact("grace")),
        pages,
    ]}]});
    let report = temporal.run_workflows(&plan);
    let steps = results(&report, 0);
    let list_id = steps[0]["ok"]["list_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{report:#}"));
    let pages = steps[3]["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(pages.len(), 2, "one contact a page: {report:#}");
    // The same pages through `connector-host run`, cursor for cursor.
    let first = run_cli(
        &acme,
        "list-contacts",
        &json!({"lists": [list_id], "limit": 1}),
    );
    assert_eq!(pages[0], first);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = run_cli(
        &acme,
        "list-contacts",
        &json!({"lists": [list_id], "limit": 1, "cursor": cursor}),
    );
    assert_eq!(pages[1], second);
    let created = run_cli(&acme, "get-contact-list", &json!({"list_id": list_id}));
    assert_eq!(steps[0]["ok"]["name"], created["name"]);
    assert_eq!(steps[1]["ok"]["first_name"], "ada");
    assert_no_canary_in_history(&temporal, &report);

    // A connection file added while it runs is served within a rescan, and a removed one is not.
    dirs.constant_contact("globex", &sandbox, TOKEN);
    worker.wait_for_line("serving globex on queue", Duration::from_secs(10));
    let plan = json!({"task_queue": queue, "workflows": [{"id": "added-1", "steps": [step("globex.list-contact-lists", json!({}))]}]});
    assert!(results(&temporal.run_workflows(&plan), 0)[0]["ok"].is_object());
    std::fs::remove_file(dirs.connections().join("globex.toml")).unwrap();
    worker.wait_for_line("stopped serving globex", Duration::from_secs(10));
    let mut gone = step("globex.list-contact-lists", json!({}));
    gone["retry"] = json!({"maximum_attempts": 2, "initial_interval_ms": 100});
    let report = temporal.run_workflows(
        &json!({"task_queue": queue, "workflows": [{"id": "removed-1", "steps": [gone]}]}),
    );
    assert_eq!(
        results(&report, 0)[0]["error"]["type"],
        "unknown_activity",
        "{report:#}"
    );
}

#[test]
fn a_workflow_polls_a_trigger_with_the_checkpoint_the_last_poll_returned() {
    let (temporal, dirs) = (Temporal::start(), Dirs::new());
    let api = crate::example::NotesApi::start();
    let body = format!(
        "[fields]\ntoken = \"{}\"\n\n[endpoints]\n\"https://notes.example\" = \"{}\"\n",
        crate::example::KEY,
        api.url
    );
    let notes = dirs.connection("notes", "example_connector", &body);
    let worker = dirs.worker(&temporal);
    let queue = worker.queue_of("notes");
    assert!(worker
        .output()
        .iter()
        .any(|l| l == "  notes.note-created (trigger poll)"));
    let poll = |id: &str, input: Value| {
        let plan = json!({"task_queue": queue, "workflows": [{"id": id, "steps": [step("notes.note-created", input)]}]});
        let report = temporal.run_workflows(&plan);
        assert_no_canary_in_history(&temporal, &report);
        results(&report, 0)[0]["ok"].clone()
    };
    let first = poll("poll-1", json!({}));
    assert_eq!(
        first["events"],
        json!([]),
        "a first poll starts now: {first}"
    );
    let made = run_cli(&notes, "create-note", &json!({"text": "from a workflow"}));
    let second = poll("poll-2", json!({"checkpoint": first["checkpoint"]}));
    let events = second["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{second}");
    assert_eq!(
        events[0]["id"],
        format!("created:{}", made["id"].as_str().unwrap())
    );
    assert_eq!(events[0]["note"]["text"], "from a workflow");
    let third = poll("poll-3", json!({"checkpoint": second["checkpoint"]}));
    assert_eq!(third["events"], json!([]), "nothing twice: {third}");
}

#[test]
fn each_error_class_reaches_the_workflow_with_its_retry_behaviour() {
    let sandbox = Sandbox::start_with(&[
        "--no-rate-limit",
        "--token",
        &format!("{TOKEN}={ALL_SCOPES}"),
        "--token",
        "reader-token-w1=account_read",
    ]);
    let (temporal, dirs) = (Temporal::start(), Dirs::new());
    dirs.constant_contact("acme", &sandbox, TOKEN);
    dirs.constant_contact("reader", &sandbox, "reader-token-w1");
    dirs.constant_contact("stranger", &sandbox, "unknown-token-w1");
    let vault = "[token]\naccess_token = { env = \"WORKER_TEST_UNSET_TOKEN\" }\n";
    dirs.connection(
        "sealed",
        "cc_connector",
        &format!(
            "{vault}[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
            sandbox.url
        ),
    );
    let worker = dirs.worker(&temporal);
    // Two 503s, then the list: a retry-safe read is retried until it succeeds.
    sandbox.control(
        "faults",
        json!({"path": "/v3/contact_lists", "method": "GET", "status": 503, "count": 2}),
    );
    // Two 429s: each goes back through the queue (a retry after a pause), and the create goes through.
    sandbox.control(
        "faults",
        json!({"path": "/v3/contacts", "method": "POST", "status": 429, "count": 2}),
    );
    let create = json!({"email_address": {"address": "rate@example.com", "permission_to_send": "implicit"},
                        "create_source": "account"});
    let steps = vec![
        step(
            "acme.create-contact",
            json!({"email_address": {}, "create_source": "account"}),
        ),
        step("acme.create-contact-list", json!({"name": "Twice"})),
        step("acme.create-contact-list", json!({"name": "Twice"})),
        step("acme.list-contact-lists", json!({})),
        step("acme.create-contact", create),
        step("reader.create-contact-list", json!({"name": "Nope"})),
        step("stranger.list-contact-lists", json!({})),
        step("sealed.list-contact-lists", json!({})),
        step("acme.no-such-activity", json!({})),
    ];
    let steps: Vec<Value> = steps
        .into_iter()
        .map(|mut s| {
            s["stop_on_error"] = json!(false);
            s
        })
        .collect();
    let queue = worker.queue_of("acme");
    let mut workflows = vec![json!({"id": "errors-1", "steps": steps})];
    // Connections on other credentials are other applications: other queues.
    for (i, name) in ["reader", "stranger", "sealed"].iter().enumerate() {
        assert_ne!(worker.queue_of(name), queue);
        workflows[0]["steps"][5 + i]["task_queue"] = json!(worker.queue_of(name));
    }
    let report = temporal.run_workflows(&json!({"task_queue": queue, "workflows": workflows}));
    let steps = results(&report, 0);
    let failure = |i: usize| {
        (
            steps[i]["error"]["type"]
                .as_str()
                .unwrap_or("ok")
                .to_owned(),
            steps[i]["error"]["non_retryable"].clone(),
        )
    };
    let expected: [(usize, &str, Value, u64); 9] = [
        (0, "invalid_input", json!(true), 1),
        (1, "ok", Value::Null, 1),
        (2, "api_refused", json!(true), 1),
        (3, "ok", Value::Null, 3),
        (4, "ok", Value::Null, 3),
        (5, "missing_scope", json!(true), 1),
        (6, "needs_connect", json!(true), 1),
        (7, "secret_unresolvable", json!(false), 3),
        (8, "unknown_activity", json!(false), 3),
    ];
    for (i, kind, non_retryable, tries) in expected {
        assert_eq!(failure(i).0, kind, "step {i}: {:#}", steps[i]);
        if kind != "ok" {
            assert_eq!(failure(i).1, non_retryable, "step {i}: {:#}", steps[i]);
        }
        assert_eq!(attempts(&report, 0, i), tries, "step {i}: {report:#}");
    }
    assert_eq!(steps[2]["error"]["details"][0]["status"], 409);
    assert_eq!(steps[2]["error"]["details"][0]["case"], "conflict");
    let posts = sandbox
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v3/contacts");
    let statuses: Vec<u64> = posts.filter_map(|r| r["status"].as_u64()).collect();
    assert_eq!(
        statuses,
        [429, 429, 201],
        "the rate-limited create is applied once"
    );
    drop(worker);
}

#[test]
fn a_killed_worker_loses_no_retry_safe_activity() {
    let (sandbox, temporal, dirs) = (Sandbox::start(), Temporal::start(), Dirs::new());
    // Without the API's rate limit, so many calls are in flight when a worker dies.
    dirs.constant_contact_with("acme", &sandbox, TOKEN, "[limits]\nrate_limits = []\n");
    let mut doomed = dirs.worker(&temporal);
    let survivor = dirs.worker(&temporal);
    let queue = survivor.queue_of("acme");
    // Slow reads, so calls are in flight on both workers when one dies.
    sandbox.control(
        "faults",
        json!({"path": "/v3/contact_lists", "delay_ms": 150, "count": 1000}),
    );
    let mut read = step("acme.list-contact-lists", json!({}));
    read["heartbeat_timeout_ms"] = json!(2000);
    let workflows: Vec<Value> = (0..10)
        .map(|w| json!({"id": format!("failover-{w}"), "steps": vec![read.clone(); 10]}))
        .collect();
    let plan = json!({"task_queue": queue, "workflows": workflows});
    let driver = {
        let (plan, address) = (plan.clone(), temporal.address.clone());
        std::thread::spawn(move || connector_tests::temporal::run_workflows(&address, &plan))
    };
    let begun = Instant::now();
    while sandbox.requests().len() < 40 {
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "the workflows never got going"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed_at = begun.elapsed();
    doomed.kill();
    let report = driver.join().unwrap();
    let total = begun.elapsed();
    let mut finished: Vec<u64> = Vec::new();
    for w in 0..10 {
        let steps = results(&report, w);
        assert_eq!(steps.len(), 10, "{report:#}");
        assert!(
            steps.iter().all(|s| s["ok"].is_object()),
            "every activity completed: {report:#}"
        );
        finished.push(report["workflows"][w]["duration_ms"].as_u64().unwrap());
    }
    let retried: u64 = (0..10)
        .flat_map(|w| (0..10).map(move |i| (w, i)))
        .filter(|&(w, i)| attempts(&report, w, i) > 1)
        .count() as u64;
    eprintln!(
        "failover: 100 activities on two workers, one killed at {killed_at:?} after 40 requests; all done after {total:?}; {retried} retried on the survivor; slowest workflow {} ms",
        finished.iter().max().unwrap()
    );
    assert_no_canary_in_history(&temporal, &report);
}

#[test]
fn a_create_whose_worker_died_after_sending_is_not_sent_again() {
    let (sandbox, temporal, dirs) = (Sandbox::start(), Temporal::start(), Dirs::new());
    dirs.constant_contact("acme", &sandbox, TOKEN);
    let mut first = dirs.worker(&temporal);
    let queue = first.queue_of("acme");
    // The create reaches the API and hangs there until the worker is gone.
    sandbox.control(
        "faults",
        json!({"path": "/v3/contact_lists", "method": "POST", "delay_ms": 8000}),
    );
    let mut create = step("acme.create-contact-list", json!({"name": "Exactly once"}));
    create["heartbeat_timeout_ms"] = json!(1500);
    let plan = json!({"task_queue": queue, "workflows": [{"id": "once-1", "steps": [create]}]});
    let driver = {
        let address = temporal.address.clone();
        std::thread::spawn(move || connector_tests::temporal::run_workflows(&address, &plan))
    };
    let begun = Instant::now();
    let posts = |sandbox: &Sandbox| {
        sandbox
            .requests()
            .into_iter()
            .filter(|r| r["method"] == "POST")
            .count()
    };
    while posts(&sandbox) == 0 {
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "the create was never sent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill();
    let second = dirs.worker(&temporal);
    let report = driver.join().unwrap();
    let error = &results(&report, 0)[0]["error"];
    assert_eq!(error["type"], "may_already_be_applied", "{report:#}");
    assert_eq!(error["non_retryable"], true);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("may already have been applied"));
    assert_eq!(attempts(&report, 0, 0), 2, "{report:#}");
    assert_eq!(
        posts(&sandbox),
        1,
        "the create was sent once: {:#?}",
        sandbox.requests()
    );
    drop(second);
}

#[test]
fn a_cancelled_activity_stops_its_call() {
    let (sandbox, temporal, dirs) = (Sandbox::start(), Temporal::start(), Dirs::new());
    dirs.constant_contact("acme", &sandbox, TOKEN);
    let worker = dirs.worker(&temporal);
    sandbox.control(
        "faults",
        json!({"path": "/v3/contact_lists", "delay_ms": 20000}),
    );
    let mut slow = step("acme.list-contact-lists", json!({}));
    slow["cancel_after_ms"] = json!(500);
    slow["heartbeat_timeout_ms"] = json!(900);
    let plan = json!({"task_queue": worker.queue_of("acme"), "workflows": [{"id": "cancel-1", "steps": [slow]}]});
    let begun = Instant::now();
    let report = temporal.run_workflows(&plan);
    assert_eq!(
        results(&report, 0)[0]["error"]["type"],
        "cancelled",
        "{report:#}"
    );
    assert_eq!(
        report["workflows"][0]["attempts"][0]["outcome"], "canceled",
        "{report:#}"
    );
    assert!(
        begun.elapsed() < Duration::from_secs(15),
        "cancelled long before the API answered"
    );
}

#[test]
fn a_hostile_connector_under_a_worker_is_contained_and_no_canary_reaches_temporal() {
    let (temporal, dirs) = (Temporal::start(), Dirs::new());
    dirs.connection(
        "evil",
        "hostile_connector",
        &format!("[token]\naccess_token = \"{TOKEN}\"\n"),
    );
    let worker = dirs.worker(&temporal);
    let mut steps = vec![
        step(
            "evil.fetch",
            json!({"url": "http://169.254.169.254/latest/meta-data", "headers": []}),
        ),
        step("evil.huge-result", json!({"count": 3000000})),
        step("evil.huge-result", json!({"count": 200000})),
        step("evil.forge-hint", json!({})),
        step(
            "evil.hoard-headers",
            json!({"count": 8000, "value_kib": 100}),
        ),
    ];
    for s in &mut steps {
        s["stop_on_error"] = json!(false);
        s["retry"] = json!({"maximum_attempts": 2, "initial_interval_ms": 100});
    }
    let plan = json!({"task_queue": worker.queue_of("evil"), "workflows": [{"id": "hostile-1", "steps": steps}]});
    let report = temporal.run_workflows(&plan);
    let steps = results(&report, 0);
    let error = |i: usize| steps[i]["error"].clone();
    let message = |i: usize| error(i)["message"].as_str().unwrap_or_default().to_owned();
    assert_eq!(error(0)["type"], "connector_broken", "{report:#}");
    assert!(
        message(0).contains("not a public address"),
        "{}",
        message(0)
    );
    assert_eq!(
        (error(1)["type"].clone(), error(1)["non_retryable"].clone()),
        (json!("limit_hit"), json!(true))
    );
    assert!(message(1).contains("max_output_mib"), "{}", message(1));
    assert!(
        message(2).contains("one Temporal payload"),
        "{}",
        message(2)
    );
    assert!(
        !message(3).contains('\u{1b}') && message(3).contains("\\u{1b}"),
        "{}",
        message(3)
    );
    assert!(
        !message(3).lines().any(|l| l.starts_with("hint: the fix")),
        "{}",
        message(3)
    );
    assert_eq!(
        attempts(&report, 0, 3),
        2,
        "a 5xx of a retry-safe activity is retried"
    );
    assert!(message(4).contains("max_header_kib"), "{}", message(4));
    assert_no_canary_in_history(&temporal, &report);
    drop(worker);
}

/// The largest number of requests in any one-second window starting at a
/// request, over `at` (milliseconds, sorted).
fn largest_window(at: &[f64]) -> usize {
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t < at[i] + 1000.0).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn one_queue_per_application_holds_its_limit_across_three_workers() {
    // The sandbox at the real limit: 4 requests a second per application.
    let sandbox = Sandbox::start_with(&["--token", &format!("{TOKEN}={ALL_SCOPES}")]);
    let (temporal, dirs) = (Temporal::start(), Dirs::new());
    let app = App::register(&sandbox, "long-lived", true);
    for name in ["north", "south", "east"] {
        let body = format!(
            "[fields]\nclient_id = \"{}\"\nclient_secret = \"{}\"\n[oauth]\nredirect_uri = \"{}\"\n[endpoints]\n\"https://api.cc.email\" = \"{url}\"\n\"https://authz.constantcontact.com\" = \"{url}\"\n",
            app.client_id, CANARIES[1], app.redirect, url = sandbox.url
        );
        let file = ConnectionFile::existing(dirs.connection(name, "cc_connector", &body));
        let connecting = Connecting::start(&file, &[]);
        let location = signin::sign_in(&sandbox.url, &connecting.prompt, "verify");
        ureq::get(&location)
            .call()
            .expect("the loopback redirect answers");
        assert_eq!(connecting.finish().code, 0);
    }
    let workers: Vec<Worker> = (0..3).map(|_| dirs.worker(&temporal)).collect();
    let queue = workers[0].queue_of("north");
    assert_eq!(queue, format!("constant-contact.{}", app.client_id));
    assert!(workers.iter().all(|w| ["north", "south", "east"]
        .iter()
        .all(|n| w.queue_of(n) == queue)));
    ureq::delete(&format!("{}/__sandbox/requests", sandbox.url))
        .call()
        .unwrap();
    let workflows: Vec<Value> = (0..20)
        .map(|w| {
            let name = ["north", "south", "east"][w % 3];
            let read = step(&format!("{name}.list-contact-lists"), json!({}));
            json!({"id": format!("app-wide-{w}"), "steps": vec![read; 10]})
        })
        .collect();
    let begun = Instant::now();
    let report = temporal.run_workflows(&json!({"task_queue": queue, "workflows": workflows}));
    let took = begun.elapsed();
    for w in 0..20 {
        assert!(
            results(&report, w).iter().all(|s| s["ok"].is_object()),
            "{report:#}"
        );
    }
    let log: Vec<Value> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r["app"] == app.client_id.as_str())
        .collect();
    let mut at: Vec<f64> = log.iter().map(|r| r["at_ms"].as_f64().unwrap()).collect();
    at.sort_by(f64::total_cmp);
    let start = at[0];
    // The queue hands out about rate + 1 tasks at once after idle: the API
    // refuses the tail of that first burst, and (counting refused requests
    // in its window, as gateways do) one or two just after it. Their retries
    // come back through the queue; after that nothing is refused.
    let ok = log.iter().filter(|r| r["status"] == 200).count();
    let refused: Vec<f64> = log
        .iter()
        .filter(|r| r["status"] != 200)
        .map(|r| r["at_ms"].as_f64().unwrap() - start)
        .collect();
    assert_eq!(ok, 200, "each activity's request answered once: {log:#?}");
    assert!(
        refused.iter().all(|t| *t < 3000.0),
        "refused after the first burst: {refused:?}"
    );
    let after_first_second: Vec<f64> = at
        .iter()
        .copied()
        .filter(|t| *t >= at[0] + 1000.0)
        .collect();
    let largest = largest_window(&after_first_second);
    let sustained = (at.len() - 1) as f64 / ((at[at.len() - 1] - at[0]) / 1000.0);
    eprintln!(
        "app-wide limit: 200 activities, 20 workflows, 3 workers, 3 connections on one app in {took:?}: sustained {sustained:.2} requests/s at the sandbox, largest one-second window after the first second {largest}, in the first second {} ({} refused there and retried through the queue)",
        largest_window(&at[..at.len().min(12)]),
        refused.len()
    );
    assert!(
        largest <= 4,
        "{largest} requests in one second of the app: {at:?}"
    );
}
