//! A running `connector-host serve` for the tests: its own connectors and
//! connections directories, an API token, and a JSON client. Stopped (with
//! SIGTERM, so shutdown is graceful) when dropped; what it wrote to stderr
//! (at trace level) is checked for canaries then.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::{assert_no_canary, bin, component, drain, root, TRACE_LOG};

/// The API token every test server is started with.
pub const API_TOKEN: &str = "test-api-token-6f2c41d09a7b";

/// Where a server keeps its directories: its own, or another's (a replica).
enum Dir {
    Own(tempfile::TempDir),
    Shared(PathBuf),
}

/// A `serve` process.
pub struct Serve {
    child: Option<Child>,
    stderr: Option<std::thread::JoinHandle<String>>,
    dir: Dir,
    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
}

/// What one API call answered.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`null` when empty or not JSON).
    pub json: Value,
    /// The body as text.
    pub text: String,
}

impl Serve {
    /// Starts serve with the Constant Contact and probe connectors and the
    /// given extra serve-config TOML (stores, endpoints).
    pub fn start(config: &str, env: &[(&str, &str)]) -> Serve {
        let dir = tempfile::tempdir().expect("temp dir");
        Serve::start_in(Dir::Own(dir), config, env)
    }

    /// A second replica: the same connectors and connections directories as `other`.
    pub fn replica(other: &Serve, config: &str, env: &[(&str, &str)]) -> Serve {
        Serve::start_in(Dir::Shared(other.dir().to_owned()), config, env)
    }

    fn start_in(dir: Dir, config: &str, env: &[(&str, &str)]) -> Serve {
        let path = match &dir {
            Dir::Own(d) => d.path().to_owned(),
            Dir::Shared(p) => p.clone(),
        };
        let connectors = path.join("connectors");
        std::fs::create_dir_all(&connectors).unwrap();
        for name in ["cc_connector", "probe_connector"] {
            let target = connectors.join(format!("{name}.wasm"));
            if !target.exists() {
                std::fs::copy(component(name), target).unwrap();
            }
        }
        let file = path.join(format!("serve-{}.toml", rand_suffix()));
        std::fs::write(&file, format!("listen = \"127.0.0.1:0\"\n{config}")).unwrap();
        let mut child = std::process::Command::new(bin("connector-host"))
            .args(["serve", "--config", &file.display().to_string()])
            .env("CONNECTOR_HOST_API_TOKEN", API_TOKEN)
            .env(
                "CONNECTOR_HOST_CACHE_DIR",
                root().join("target/test-artifact-cache"),
            )
            .env("CONNECTOR_HOST_DATA_DIR", path.join("data"))
            .env("CONNECTOR_HOST_LOG", TRACE_LOG)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start connector-host serve");
        let stderr = drain(child.stderr.take().expect("piped"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("serve prints its URL");
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "serve did not start: {line:?}"
        );
        Serve {
            child: Some(child),
            stderr: Some(stderr),
            dir,
            url,
        }
    }

    /// The directory holding `connectors/`, `connections/`, `data/`.
    pub fn dir(&self) -> &Path {
        match &self.dir {
            Dir::Own(d) => d.path(),
            Dir::Shared(p) => p,
        }
    }

    /// The connection file of `name`.
    pub fn connection_file(&self, name: &str) -> PathBuf {
        self.dir().join("connections").join(format!("{name}.toml"))
    }

    /// A call with the API token.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.call_as(method, path, body, Some(API_TOKEN))
    }

    /// A call with `token` (or none).
    pub fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Answer {
        let agent = ureq::builder().redirects(0).build();
        let mut request = agent.request(method, &format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        let response = match body {
            Some(body) => request.send_json(body.clone()),
            None => request.call(),
        };
        let response = match response {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let text = response.into_string().unwrap_or_default();
        assert_no_canary(&text);
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, json, text }
    }

    /// A call with a raw body (for malformed input); the status.
    pub fn call_raw(&self, method: &str, path: &str, body: &str) -> u16 {
        let response = ureq::request(method, &format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {API_TOKEN}"))
            .set("Content-Type", "application/json")
            .send_string(body);
        match response {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.status(),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// The server's process id (for the benchmark's memory figures).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server with SIGTERM and returns its exit code and stderr
    /// (checked for canaries).
    pub fn stop(&mut self) -> (i32, String) {
        let Some(mut child) = self.child.take() else {
            return (0, String::new());
        };
        // SAFETY: sends a signal to our own child process.
        unsafe { libc_kill(child.id() as i32, 15) };
        let status = child.wait().expect("wait for serve");
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        assert_no_canary(&stderr);
        (status.code().unwrap_or(-1), stderr)
    }
}

/// Distinct per server started by this test process.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

impl Drop for Serve {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.stop();
        } else if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
