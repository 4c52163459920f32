//! `make bench`: activities per second through one and through two
//! `connector-host worker`s against the sandbox (its rate limit off, and so
//! the connection's), and the latency an activity adds over
//! `Session::call` of the same activity measured in the same run.
//!
//! Real processes (release builds of `connector-host` and `cc-sandbox`, a
//! Temporal dev server, workflows in the official Python SDK), over loopback
//! on one machine: the server, the workers and the workflows share its cores.

use std::time::Instant;

use connector_tests::temporal::{Temporal, Worker};
use connector_tests::*;
use serde_json::{json, Value};

/// The activity measured: one GET, a small answer.
const ACTIVITY: &str = "list-user-privileges";
const SEQUENTIAL: usize = 200;
const WORKFLOWS: usize = 20;
const PER_WORKFLOW: usize = 25;

fn percentile(times: &mut [f64], p: f64) -> f64 {
    times.sort_by(f64::total_cmp);
    times[((times.len() as f64 - 1.0) * p) as usize]
}

fn main() {
    let (sandbox, temporal) = (Sandbox::start(), Temporal::start());
    let dir = tempfile::tempdir().unwrap();
    let (connectors, connections) = connector_tests::temporal::worker_dirs(dir.path());
    let file = connections.join("bench.toml");
    let text = format!(
        "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n[limits]\n# The sandbox runs without its rate limit here: so do the client and the queue.\nrate_limits = []\n",
        component("cc_connector").display().to_string(),
        sandbox.url
    );
    std::fs::write(&file, text).unwrap();
    let direct = session_calls(&file);
    let quiet = [("CONNECTOR_HOST_LOG", "error")];
    let first = Worker::start(&temporal, &connectors, &connections, &quiet);
    let queue = first.queue_of("bench");
    let (mut latency, per_step) = sequential(&temporal, &queue);
    let one = throughput(&temporal, &queue, "one");
    let second = Worker::start(&temporal, &connectors, &connections, &quiet);
    let two = throughput(&temporal, &queue, "two");
    drop((first, second));
    let mut direct = direct;
    let (d50, d90) = (percentile(&mut direct, 0.5), percentile(&mut direct, 0.9));
    let (a50, a90) = (percentile(&mut latency, 0.5), percentile(&mut latency, 0.9));
    println!("\nworker: {ACTIVITY} against the sandbox, no rate limit (release build, 2 cores shared by all)");
    println!(
        "  Session::call in-process      p50 {d50:7.2} ms  p90 {d90:7.2} ms  ({SEQUENTIAL} calls)"
    );
    println!(
        "  activity, scheduled→completed p50 {a50:7.2} ms  p90 {a90:7.2} ms  (history event times)"
    );
    println!(
        "  added by Temporal and the worker: p50 {:.2} ms",
        a50 - d50
    );
    println!("  a sequential workflow: {per_step:.2} ms per activity (with its workflow tasks)");
    println!("  throughput, {WORKFLOWS} workflows x {PER_WORKFLOW} activities: one worker {one:.1}/s, two workers {two:.1}/s");
}

/// `SEQUENTIAL` calls through the library, in this process (milliseconds).
fn session_calls(file: &std::path::Path) -> Vec<f64> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let host = connector_host::Runtime::new().unwrap();
        let session = connector_host::Session::open(&host, file).await.unwrap();
        for _ in 0..20 {
            session.call(ACTIVITY, &json!({})).await.unwrap();
        }
        let mut times = Vec::with_capacity(SEQUENTIAL);
        for _ in 0..SEQUENTIAL {
            let started = Instant::now();
            session.call(ACTIVITY, &json!({})).await.unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times
    })
}

fn plan(queue: &str, id: &str, workflows: usize, steps: usize) -> Value {
    let step = json!({"activity": format!("bench.{ACTIVITY}"), "input": {}});
    let workflows: Vec<Value> = (0..workflows)
        .map(|w| json!({"id": format!("{id}-{w}"), "steps": vec![step.clone(); steps]}))
        .collect();
    json!({"task_queue": queue, "workflows": workflows})
}

/// One workflow of `SEQUENTIAL` activities: each one's scheduled→completed
/// time from the history (ms), and the workflow's time per activity.
fn sequential(temporal: &Temporal, queue: &str) -> (Vec<f64>, f64) {
    temporal.run_workflows(&plan(queue, "warm", 1, 20));
    let report = temporal.run_workflows(&plan(queue, "sequential", 1, SEQUENTIAL));
    let per_step = report["workflows"][0]["duration_ms"].as_f64().unwrap() / SEQUENTIAL as f64;
    (
        activity_latencies(&temporal.history_json("sequential-0")),
        per_step,
    )
}

/// Scheduled→completed per activity, from `temporal workflow show --output json`.
fn activity_latencies(history: &Value) -> Vec<f64> {
    let events = history["events"].as_array().cloned().unwrap_or_default();
    let time = |id: &str| {
        events
            .iter()
            .find(|e| e["eventId"] == id)
            .and_then(|e| e["eventTime"].as_str())
            .map(seconds_of_day)
    };
    events
        .iter()
        .filter(|e| e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED")
        .filter_map(|e| {
            let scheduled =
                e["activityTaskCompletedEventAttributes"]["scheduledEventId"].as_str()?;
            let done = seconds_of_day(e["eventTime"].as_str()?);
            Some((done - time(scheduled)?).rem_euclid(86_400.0) * 1000.0)
        })
        .collect()
}

/// `2026-12-07T01:58:01.322429304Z` → seconds since that day's midnight.
fn seconds_of_day(stamp: &str) -> f64 {
    let clock = stamp
        .split('T')
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('Z');
    clock
        .split(':')
        .map(|part| part.parse::<f64>().unwrap_or(0.0))
        .fold(0.0, |total, part| total * 60.0 + part)
}

/// Activities a second over `WORKFLOWS` concurrent workflows.
fn throughput(temporal: &Temporal, queue: &str, name: &str) -> f64 {
    let report = temporal.run_workflows(&plan(queue, name, WORKFLOWS, PER_WORKFLOW));
    let workflows = report["workflows"].as_array().unwrap();
    let first = workflows
        .iter()
        .map(|w| w["finished_ms"].as_f64().unwrap() - w["duration_ms"].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    let last = workflows
        .iter()
        .map(|w| w["finished_ms"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let done = workflows
        .iter()
        .flat_map(|w| w["results"].as_array().unwrap())
        .filter(|r| r["ok"].is_object())
        .count();
    assert_eq!(done, WORKFLOWS * PER_WORKFLOW, "every activity completed");
    done as f64 / ((last - first) / 1000.0)
}
