//! `make bench`: 1,000 API calls through `connector-host serve` against the
//! sandbox, at concurrency 1 and 16, beside the same calls through the CLI's
//! `run --batch` in the same run; and how often Vault was read meanwhile
//! (the access token is a credential asset with a 300 s cache TTL); and the
//! memory `serve` holds for 1,000 idle client connections.
//!
//! Real processes (release builds of `connector-host` and `cc-sandbox`, an
//! OpenBao dev server), over loopback.

use std::io::Write;
use std::time::{Duration, Instant};

use connector_tests::openbao::OpenBao;
use connector_tests::serve::{Serve, API_TOKEN};
use connector_tests::*;
use serde_json::json;

#[path = "serve/audit.rs"]
mod audit;

const CALLS: usize = 1000;
const ASSET: &str = "secret/data/connectors/bench-token";

fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort();
    times[((times.len() as f64 - 1.0) * p) as usize]
}

/// The benchmark's activity on connection `bench` of `serve`.
fn bench_url(serve: &Serve) -> String {
    format!(
        "{}/api/connections/bench/activities/list-user-privileges",
        serve.url
    )
}

/// An agent keeping up to 32 connections to a host open (16-way runs).
fn pooled_agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .max_idle_connections_per_host(32)
        .build()
}

/// One call through serve at `url` with the API token: how long it took.
fn timed_call(agent: &ureq::Agent, url: &str) -> Duration {
    let started = Instant::now();
    let response = agent
        .post(url)
        .set("Authorization", &format!("Bearer {API_TOKEN}"))
        .send_json(json!({}))
        .expect("a call through serve");
    assert_eq!(response.status(), 200);
    started.elapsed()
}

fn main() {
    let bao = OpenBao::start();
    bao.kv2_put("secret", "connectors/bench-token", json!({"value": TOKEN}));
    let sandbox = Sandbox::start();
    // Logging off: the tests' trace level would be what this measures.
    let quiet = [
        ("VAULT_TOKEN", bao.root_token.as_str()),
        ("CONNECTOR_HOST_LOG", "error"),
    ];
    let serve = Serve::start("", &quiet);
    let text = format!(
        "connector = {:?}\n[token]\naccess_token = {{ asset = \"bench-token\" }}\n[stores.vault]\naddress = \"{}\"\npath = \"connectors\"\ncache_ttl_seconds = 300\nauth = {{ method = \"token\", token = {{ env = \"VAULT_TOKEN\" }} }}\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n[limits]\n# The sandbox runs without its rate limit here: so does the client.\nrate_limits = []\n",
        component("cc_connector").display().to_string(),
        bao.addr,
        sandbox.url
    );
    let file = serve.connection_file("bench");
    std::fs::write(&file, &text).unwrap();
    let agent = pooled_agent();
    let url = bench_url(&serve);
    let call = |agent: &ureq::Agent| timed_call(agent, &url);
    let reads_before = bao.audit_reads(ASSET);
    for _ in 0..20 {
        call(&agent);
    }
    let mut serial: Vec<Duration> = (0..CALLS).map(|_| call(&agent)).collect();
    let started = Instant::now();
    let mut parallel: Vec<Duration> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..16)
            .map(|_| s.spawn(|| (0..CALLS / 16).map(|_| call(&agent)).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let parallel_wall = started.elapsed();
    let reads = bao.audit_reads(ASSET) - reads_before;

    // The CLI: one process, one line at a time (latency per call), then 16 at once.
    let connection = ConnectionFile::existing(file.clone());
    let mut batch = Batch::start(&connection, "list-user-privileges", &quiet);
    for _ in 0..20 {
        batch.call(&json!({}));
    }
    let mut cli_serial: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let started = Instant::now();
            assert!(batch.call(&json!({}))["ok"].is_object());
            started.elapsed()
        })
        .collect();
    batch.finish();
    let lines = connection.dir().join("bench-lines.ndjson");
    std::fs::File::create(&lines)
        .unwrap()
        .write_all("{}\n".repeat(CALLS).as_bytes())
        .unwrap();
    let started = Instant::now();
    let out = host_env(
        &[
            "run",
            &file.display().to_string(),
            "list-user-privileges",
            "--batch",
            "--concurrency",
            "16",
            "--input",
            &format!("@{}", lines.display()),
        ],
        &quiet,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cli_parallel_wall = started.elapsed();

    let (s50, s99) = (percentile(&mut serial, 0.5), percentile(&mut serial, 0.99));
    let (p50, p99) = (
        percentile(&mut parallel, 0.5),
        percentile(&mut parallel, 0.99),
    );
    let (c50, c99) = (
        percentile(&mut cli_serial, 0.5),
        percentile(&mut cli_serial, 0.99),
    );
    let rate = |n: usize, wall: Duration| n as f64 / wall.as_secs_f64();
    println!("\nserve: {CALLS} calls of list-user-privileges against the sandbox (release build)");
    println!("{:<40} {:>10} {:>10} {:>12}", "", "p50", "p99", "calls/s");
    println!(
        "{:<40} {:>10.2?} {:>10.2?}",
        "serve, concurrency 1", s50, s99
    );
    println!(
        "{:<40} {:>10.2?} {:>10.2?}",
        "CLI run --batch, concurrency 1", c50, c99
    );
    println!(
        "{:<40} {:>10.2?} {:>10.2?} {:>12.0}",
        "serve, concurrency 16",
        p50,
        p99,
        rate(parallel.len(), parallel_wall)
    );
    println!(
        "{:<40} {:>10} {:>10} {:>12.0}",
        "CLI run --batch --concurrency 16",
        "",
        "",
        rate(CALLS, cli_parallel_wall)
    );
    println!(
        "latency ratio serve / CLI at concurrency 1: p50 {:.2}x, p99 {:.2}x",
        s50.as_secs_f64() / c50.as_secs_f64(),
        s99.as_secs_f64() / c99.as_secs_f64()
    );
    println!("Vault reads of the token asset during {} calls through serve: {reads} (goal: 1 per distinct asset)", 20 + serial.len() + parallel.len());
    idle_connections(&serve);
    audit::audit_on_and_off(&quiet, &text);
    metrics_overhead(&text, &quiet);
}

/// Issue 18: serve with metrics off and on (recorded and scraped), the
/// same connection, in alternating rounds so drift hits both alike.
fn metrics_overhead(connection: &str, quiet: &[(&str, &str)]) {
    const TOKEN_VAR: (&str, &str) = (
        "CONNECTOR_HOST_METRICS_TOKEN",
        "bench-metrics-token-2c9a7e41f0b3d856",
    );
    let off = Serve::start("", quiet);
    let on = Serve::start("", &[quiet, &[TOKEN_VAR]].concat());
    let agent = pooled_agent();
    for serve in [&off, &on] {
        std::fs::write(serve.connection_file("bench"), connection).unwrap();
    }
    let mut times: [(Vec<Duration>, Vec<Duration>, Duration); 2] = Default::default();
    for round in 0..8 {
        for (i, serve) in [&off, &on].into_iter().enumerate() {
            let url = bench_url(serve);
            let call = || timed_call(&agent, &url);
            let warm: Vec<Duration> = (0..CALLS / 8).map(|_| call()).collect();
            if round == 0 {
                continue; // warm-up round
            }
            times[i].0.extend(warm);
            let started = Instant::now();
            let parallel: Vec<Duration> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..16)
                    .map(|_| s.spawn(|| (0..CALLS / 128).map(|_| call()).collect::<Vec<_>>()))
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().unwrap())
                    .collect()
            });
            times[i].2 += started.elapsed();
            times[i].1.extend(parallel);
        }
        // The scraper's share: one scrape a round, as Prometheus would.
        let scrape = agent
            .get(&format!("{}/metrics", on.url))
            .set("Authorization", &format!("Bearer {}", TOKEN_VAR.1))
            .call();
        assert_eq!(scrape.expect("a scrape").status(), 200);
    }
    println!(
        "
serve with metrics off and on, {} calls each (alternating rounds)",
        times[0].0.len()
    );
    println!(
        "{:<40} {:>10} {:>10} {:>10} {:>12}",
        "", "p50 c=1", "p99 c=1", "p50 c=16", "calls/s c=16"
    );
    let mut rows = Vec::new();
    for ((serial, parallel, wall), name) in times
        .iter_mut()
        .zip(["metrics off", "metrics on (recorded, scraped)"])
    {
        let row = (
            percentile(serial, 0.5),
            percentile(serial, 0.99),
            percentile(parallel, 0.5),
            parallel.len() as f64 / wall.as_secs_f64(),
        );
        println!(
            "{:<40} {:>10.2?} {:>10.2?} {:>10.2?} {:>12.0}",
            name, row.0, row.1, row.2, row.3
        );
        rows.push(row);
    }
    println!(
        "metrics on / off: p50 c=1 {:.3}x, p50 c=16 {:.3}x, calls/s c=16 {:.3}x",
        rows[1].0.as_secs_f64() / rows[0].0.as_secs_f64(),
        rows[1].2.as_secs_f64() / rows[0].2.as_secs_f64(),
        rows[1].3 / rows[0].3
    );
}

/// Issue 10 (d): what `serve` holds for open client connections, each idle
/// after one answered request (keep-alive).
fn idle_connections(serve: &Serve) {
    const OPEN: usize = 1000;
    let pid = serve.pid().expect("serve runs");
    let address = serve.url.trim_start_matches("http://").to_owned();
    let before = rss_kib(pid);
    let connections: Vec<std::net::TcpStream> = (0..OPEN)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&address).expect("connect to serve");
            stream
                .write_all(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .unwrap();
            let mut seen = [0u8; 16];
            std::io::Read::read_exact(&mut stream, &mut seen).expect("an answer");
            assert!(
                seen.starts_with(b"HTTP/1.1 200"),
                "{:?}",
                String::from_utf8_lossy(&seen)
            );
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let held = rss_kib(pid);
    println!(
        "serve RSS: {:.1} MiB before, {:.1} MiB holding {OPEN} idle keep-alive connections: {:.1} MiB per 1,000",
        before as f64 / 1024.0,
        held as f64 / 1024.0,
        (held.saturating_sub(before)) as f64 / 1024.0 * 1000.0 / OPEN as f64
    );
    drop(connections);
}

/// A process's resident set, from `/proc` (Linux).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
