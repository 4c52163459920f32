//! A running `connector-host serve` for the tests: its own connectors and
//! connections directories, an API token, and a JSON client. Stopped (with
//! SIGTERM, so shutdown is graceful) when dropped; what it wrote to stderr
//! (at trace level) is checked for canaries then.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::{assert_no_canary, bin, component, drain, root, TRACE_LOG};

/// The API token every test server is started with (serve refuses one
/// shorter than 32 characters).
pub const API_TOKEN: &str = "test-api-token-6f2c41d09a7b58e3c1d2f4a6";

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
        let mut child = spawn(&dir, config, env);
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

    /// Starts serve expecting it to refuse: its exit code and stderr
    /// (checked for canaries).
    pub fn refuses_to_start(config: &str, env: &[(&str, &str)]) -> (i32, String) {
        let dir = Dir::Own(tempfile::tempdir().expect("temp dir"));
        let child = spawn(&dir, config, env);
        let output = child.wait_with_output().expect("wait for serve");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.trim().is_empty(), "serve started: {stdout}");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_no_canary(&stderr);
        (output.status.code().unwrap_or(-1), stderr)
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

    /// Signs in on the page as a browser would (the form's POST): the page
    /// session the answer gives.
    pub fn page_session(&self) -> PageSession {
        let answer = self.sign_in(API_TOKEN, None);
        assert_eq!(answer.status(), 200, "the right token signs in");
        let cookie = answer
            .header("set-cookie")
            .expect("a session cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let page = answer.into_string().unwrap();
        let secret = between(&page, "name=\"csrf-token\" content=\"", "\"").to_owned();
        assert_eq!(secret.len(), 64, "the secret is in the answer: {page}");
        PageSession { cookie, secret }
    }

    /// `POST /sign-in` with `token` in the form (and `cookie`, if given).
    pub fn sign_in(&self, token: &str, cookie: Option<&str>) -> ureq::Response {
        let mut request = agent().post(&format!("{}/sign-in", self.url));
        if let Some(cookie) = cookie {
            request = request.set("Cookie", cookie);
        }
        match request.send_form(&[("token", token)]) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST /sign-in: {e}"),
        }
    }

    /// A call as a page session: its cookie, and its secret in
    /// `X-CSRF-Token` when `secret` is given. The status and the JSON body.
    pub fn page_call(
        &self,
        method: &str,
        path: &str,
        cookie: &str,
        secret: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = agent()
            .request(method, &format!("{}{path}", self.url))
            .set("Cookie", cookie);
        if let Some(secret) = secret {
            request = request.set("X-CSRF-Token", secret);
        }
        let response = match body {
            Some(b) => request.send_json(b),
            None => request.call(),
        };
        let response = match response {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        (
            response.status(),
            response.into_json().unwrap_or(Value::Null),
        )
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

/// A page session as a browser holds it: the cookie (`name=value`) and the
/// secret the sign-in answer gave the tab.
#[derive(Debug, Clone)]
pub struct PageSession {
    /// `ch_session=…`.
    pub cookie: String,
    /// What the page sends in `X-CSRF-Token`.
    pub secret: String,
}

/// An agent that does not follow redirects (a test looks at each answer).
pub fn agent() -> ureq::Agent {
    ureq::builder().redirects(0).build()
}

/// `GET url` with `cookie` (if any), whatever the status.
pub fn get(url: &str, cookie: Option<&str>) -> ureq::Response {
    let mut request = agent().get(url);
    if let Some(cookie) = cookie {
        request = request.set("Cookie", cookie);
    }
    match request.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// Opens an API-started sign-in's one-time start link as a browser would:
/// the binding cookie it sets (`name=value`) and the provider URL it sends
/// the browser to.
pub fn open_start_link(link: &str) -> (String, String) {
    let answer = get(link, None);
    assert_eq!(answer.status(), 303, "the start link redirects");
    let cookie = answer
        .header("set-cookie")
        .expect("a binding cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let provider = answer.header("location").expect("a location").to_owned();
    (cookie, provider)
}

/// The text of `page` between `start` and the next `end`.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} is not in {page}"))
        + start.len();
    page[from..].split(end).next().unwrap_or_default()
}

/// Starts `connector-host serve` in `dir` with `config` (after a loopback
/// `listen`), the test API token and `env`, its output piped.
fn spawn(dir: &Dir, config: &str, env: &[(&str, &str)]) -> Child {
    let path = match dir {
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
    std::process::Command::new(bin("connector-host"))
        .args(["serve", "--config", &file.display().to_string()])
        .env("CONNECTOR_HOST_API_TOKEN", API_TOKEN)
        .env(
            "CONNECTOR_HOST_CACHE_DIR",
            root().join("target/test-artifact-cache"),
        )
        .env("CONNECTOR_HOST_DATA_DIR", path.join("data"))
        .env("CONNECTOR_HOST_LOG", TRACE_LOG)
        // The health monitor renews tokens on its own; tests that count
        // refreshes or watch a token expire turn it on only when they mean to.
        .env("CONNECTOR_HOST_HEALTH_SECONDS", "0")
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start connector-host serve")
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
