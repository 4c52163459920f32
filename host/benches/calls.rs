//! `make bench`: what the host costs, as ratios against native baselines
//! measured in the same run (release build, the probe connector).
//!
//! 1. Loading a connector: compiling it versus loading the cached artifact.
//! 2. One activity without I/O (`echo`): fresh store, instantiate, JSON ⇄ WIT,
//!    call — versus the same JSON round trip done natively.
//! 3. One activity with HTTP (`fetch`) through the egress hook to a local
//!    server — versus a native hyper GET to the same server (both open a new
//!    connection per request, as the host does today).

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use connector_host::{CallOptions, Limits, Origin, Runtime};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn median<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[runs / 2])
}

/// A local HTTP server answering `{}` to everything, one connection per request.
async fn server() -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    Ok(port)
}

/// The native baseline for `fetch`: connect, handshake, GET, read the body.
async fn native_get(port: u16) -> anyhow::Result<()> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = http::Request::get("/v3/x")
        .header("host", "probe.example")
        .body(http_body_util::Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    response.into_body().collect().await?;
    Ok(())
}

fn row(what: &str, host: Duration, baseline: &str, native: Duration) {
    let ratio = host.as_secs_f64() / native.as_secs_f64().max(1e-9);
    println!(
        "{what:<34} {:>12.1?} {baseline:<28} {:>12.1?} {ratio:>8.1}x",
        host, native
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?;
    let probe = root.join("target/wasm32-wasip2/component/probe_connector.wasm");
    let bytes =
        std::fs::read(&probe).context("the probe component is missing: run `make components`")?;
    let cache = std::env::temp_dir().join(format!("connector-host-bench-{}", std::process::id()));
    std::env::set_var("CONNECTOR_HOST_CACHE_DIR", &cache);
    let runtime = Runtime::new()?;

    let compile = median(1, || async {
        runtime
            .load(&probe, &bytes, &Limits::default())
            .await
            .map(drop)
            .map_err(Into::into)
    })
    .await?;
    let cached = median(21, || async {
        runtime
            .load(&probe, &bytes, &Limits::default())
            .await
            .map(drop)
            .map_err(Into::into)
    })
    .await?;
    let connector = runtime.load(&probe, &bytes, &Limits::default()).await?;

    let input = json!({
        "text": "hello", "count": 7, "offset": -3, "ratio": 0.5, "enabled": true, "note": null,
        "tags": ["a", "b"], "color": "blue", "shape": {"box": [2, 3]},
        "inner": {"name": "in", "numbers": [1, 2], "maybe": null}, "pair": ["p", 9], "permissions": ["read"]
    });
    let options = CallOptions::default();
    let echo = median(501, || async {
        connector
            .call("echo", &input, &options)
            .await
            .map(drop)
            .map_err(Into::into)
    })
    .await?;
    let text = input.to_string();
    let native_echo = median(501, || async {
        let value: serde_json::Value = serde_json::from_str(&text)?;
        std::hint::black_box(serde_json::to_string(
            &json!({"greeting": "hello, hello", "echoed": value}),
        )?);
        Ok(())
    })
    .await?;

    let port = server().await?;
    let fetch_options = CallOptions {
        overrides: vec![(
            Origin::parse("https://probe.example").map_err(anyhow::Error::msg)?,
            Origin::parse(&format!("http://127.0.0.1:{port}")).map_err(anyhow::Error::msg)?,
        )],
        ..CallOptions::default()
    };
    let fetch_input = json!({"url": "https://probe.example/v3/x", "headers": []});
    let fetch = median(201, || async {
        connector
            .call("fetch", &fetch_input, &fetch_options)
            .await
            .map(drop)
            .map_err(Into::into)
    })
    .await?;
    let native_fetch = median(201, || native_get(port)).await?;

    println!(
        "{:<34} {:>12} {:<28} {:>12} {:>9}",
        "what (medians)", "host", "baseline", "", "ratio"
    );
    row(
        "load connector: compile",
        compile,
        "load the cached artifact",
        cached,
    );
    row(
        "echo: new store + call, no I/O",
        echo,
        "serde_json round trip",
        native_echo,
    );
    row(
        "fetch: call + egress + HTTP",
        fetch,
        "hyper GET, new connection",
        native_fetch,
    );
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}
