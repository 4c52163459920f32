//! `make bench`: what MCP adds to one call — the same `echo` on the probe
//! connector through `Session::call` and through an MCP tool call (rmcp
//! client ⇄ the host's MCP server over an in-memory pipe, JSON-RPC both
//! ways), measured in the same run (release build).
//!
//! Twice: on one runtime thread, where the figure is the protocol's own
//! work (both sides' JSON-RPC, rmcp's tasks); and on tokio's multi-thread
//! runtime, as `serve` and `mcp` run, where client and server tasks also
//! hand each request across threads (about five context switches per call
//! on this 2-core machine, `perf stat`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use connector_host::mcp::{Server, Sessions};
use connector_host::{Runtime, Session};
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::ServiceExt;
use serde_json::{json, Value};

const CALLS: usize = 2000;

fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort();
    times[((times.len() as f64 - 1.0) * p) as usize]
}

fn probe() -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let probe = target.join("wasm32-wasip2/component/probe_connector.wasm");
    anyhow::ensure!(
        probe.exists(),
        "{} is missing: run `make components`",
        probe.display()
    );
    Ok(probe)
}

fn echo_input() -> Value {
    json!({"text": "hi", "count": 1, "offset": -2, "ratio": 0.5, "enabled": true, "tags": ["a"],
        "color": "red", "shape": "nothing", "inner": {"name": "n", "numbers": [1, 2]},
        "pair": ["a", 1], "permissions": ["read"]})
}

fn main() -> anyhow::Result<()> {
    println!("\nMCP: one `echo` call, {CALLS} calls each, same process");
    println!("{:<44} {:>12} {:>12}", "", "p50", "p99");
    let one = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    one.block_on(measure("one thread"))?;
    drop(one);
    let many = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    many.block_on(measure("multi-thread"))
}

/// Both paths on the runtime this runs on, printed as three rows.
async fn measure(flavor: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("probe.toml");
    std::fs::write(
        &file,
        format!("connector = {:?}\n", probe()?.display().to_string()),
    )?;
    let runtime = Runtime::new()?;
    let session = Arc::new(
        Session::open(&runtime, &file)
            .await
            .context("opening the probe")?,
    );
    let input = echo_input();
    // Warm up both paths (compiled artifact, allocator, first JSON-RPC round).
    for _ in 0..50 {
        session.call("echo", &input).await?;
    }
    let mut direct = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        session.call("echo", &input).await?;
        direct.push(started.elapsed());
    }
    let (server_side, client_side) = tokio::io::duplex(1 << 20);
    let name = connector_host::Name::parse("probe", "connection name").expect("a name");
    let server = Server::new(Arc::new(Sessions(vec![(name, session.clone())])));
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_side).await {
            let _ = running.waiting().await;
        }
    });
    let client = ClientConfig::default().serve(client_side).await?;
    let arguments = input.as_object().context("an object")?.clone();
    let request = || CallToolRequestParams::new("echo").with_arguments(arguments.clone());
    for _ in 0..50 {
        client.call_tool(request()).await?;
    }
    let mut through_mcp = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        let result = client.call_tool(request()).await?;
        anyhow::ensure!(result.is_error != Some(true), "the tool call failed");
        through_mcp.push(started.elapsed());
    }
    client.cancel().await?;
    let (d50, d99) = (percentile(&mut direct, 0.5), percentile(&mut direct, 0.99));
    let (m50, m99) = (
        percentile(&mut through_mcp, 0.5),
        percentile(&mut through_mcp, 0.99),
    );
    let rows = [
        ("Session::call", d50, d99),
        ("MCP tools/call (rmcp)", m50, m99),
        (
            "added by MCP",
            m50.saturating_sub(d50),
            m99.saturating_sub(d99),
        ),
    ];
    for (what, p50, p99) in rows {
        println!(
            "{:<44} {:>12.1?} {:>12.1?}",
            format!("{what}, {flavor}"),
            p50,
            p99
        );
    }
    Ok(())
}
