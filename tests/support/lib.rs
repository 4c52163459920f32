//! Test support: start the real sandbox, write connection files, run the
//! real `connector-host` CLI, and check that no canary secret ever shows up.
//!
//! Everything here starts real processes and talks over loopback; nothing is
//! mocked. Binaries come from `debug/` and components from
//! `wasm32-wasip2/component/` in Cargo's output directory, `target/` or
//! `$CARGO_TARGET_DIR` (`make test` builds both first).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod axe;
pub mod browser;
pub mod generated;
pub mod ldap;
pub mod openapi;
pub mod openbao;
pub mod origin;
pub mod proxy;
pub mod recorder;
pub mod serve;
pub mod signin;
pub mod temporal;

/// Secret values planted in connections; no output may ever contain them.
/// The third is the partner API key (`x-api-key`, `partner` tests).
pub const CANARIES: &[&str] = &[
    "canary-access-token-5b1e0c",
    "canary-client-secret-9d42aa",
    "canary-partner-api-key-3f81b2",
];

/// The access token the sandbox accepts with every scope.
pub const TOKEN: &str = CANARIES[0];

/// Every scope of the Constant Contact connector.
pub const ALL_SCOPES: &str =
    "account_read,account_update,contact_data,campaign_data,offline_access";

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// A binary of this workspace in `target/debug` (next to the test binary).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/debug/deps/…");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `make test` (it builds the binaries first)",
        path.display()
    );
    path
}

/// Cargo's output directory (`target/`, or `$CARGO_TARGET_DIR`): where this
/// test binary was built, `<dir>/debug/deps/`, so it is right however Cargo was
/// told.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/debug/deps/")
        .to_owned()
}

/// A built component, e.g. `cc_connector`.
pub fn component(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/component")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `make components`",
        path.display()
    );
    path
}

/// A running `cc-sandbox`, stopped when dropped.
pub struct Sandbox {
    child: Child,
    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
}

impl Sandbox {
    /// Starts the sandbox without its rate limit, accepting [`TOKEN`] with every scope.
    pub fn start() -> Sandbox {
        Sandbox::start_with(&[
            "--no-rate-limit",
            "--token",
            &format!("{TOKEN}={ALL_SCOPES}"),
        ])
    }

    /// Starts the sandbox with these arguments (plus `--port 0`).
    pub fn start_with(args: &[&str]) -> Sandbox {
        let mut child = Command::new(bin("cc-sandbox"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cc-sandbox");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("sandbox prints its URL");
        let sandbox = Sandbox {
            child,
            url: line.trim().to_owned(),
        };
        assert!(
            sandbox.url.starts_with("http://127.0.0.1:"),
            "unexpected first line {line:?}"
        );
        sandbox.wait_ready();
        sandbox
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while ureq::get(&format!("{}/__sandbox/health", self.url))
            .call()
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "sandbox at {} never became ready",
                self.url
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// POSTs to the control API (`/__sandbox/...`).
    pub fn control(&self, path: &str, body: Value) {
        ureq::post(&format!("{}/__sandbox/{path}", self.url))
            .send_json(body)
            .expect("sandbox control call");
    }

    /// The requests the sandbox received, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let log: Value = ureq::get(&format!("{}/__sandbox/requests", self.url))
            .call()
            .expect("request log")
            .into_json()
            .expect("json");
        log.as_array().cloned().unwrap_or_default()
    }

    /// Calls the V3 API directly with [`TOKEN`] (to set up or inspect state).
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let request = ureq::request(method, &format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {TOKEN}"));
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match response {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_json().unwrap_or(Value::Null),
            Err(e) => panic!("sandbox {method} {path}: {e}"),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection file in a temporary directory (removed when the owner is dropped).
pub struct ConnectionFile {
    _dir: Option<tempfile::TempDir>,
    /// The file's path.
    pub path: PathBuf,
}

impl ConnectionFile {
    /// A connection to `connector` with the given extra TOML (token, endpoints, …).
    pub fn new(connector: &Path, extra: &str) -> ConnectionFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("connection.toml");
        let text = format!("connector = {:?}\n{extra}", connector.display().to_string());
        std::fs::write(&path, text).expect("write connection");
        ConnectionFile {
            _dir: Some(dir),
            path,
        }
    }

    /// The Constant Contact connector pointed at `sandbox` with [`TOKEN`].
    pub fn constant_contact(sandbox: &Sandbox) -> ConnectionFile {
        Self::constant_contact_with(sandbox, TOKEN, "")
    }

    /// As [`Self::constant_contact`] with another token and extra TOML.
    pub fn constant_contact_with(sandbox: &Sandbox, token: &str, extra: &str) -> ConnectionFile {
        let text = format!(
            "[fields]\nclient_id = \"demo-client\"\nclient_secret = \"{}\"\n\n[token]\naccess_token = \"{token}\"\n\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n{extra}",
            CANARIES[1], sandbox.url
        );
        Self::new(&component("cc_connector"), &text)
    }

    /// The directory holding the file (for other files a test writes).
    pub fn dir(&self) -> &Path {
        self.path
            .parent()
            .expect("connection files live in a directory")
    }
}

/// What one CLI run produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON; panics with the run's output when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// Asserts success and returns stdout as JSON.
    pub fn ok(&self) -> Value {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self.json()
    }

    /// Asserts the exit code and that stderr mentions every `needle`.
    pub fn fails_with(&self, code: i32, needles: &[&str]) {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}: {self:#?}"
            );
        }
    }
}

/// Runs `connector-host` with `args`; asserts no canary reaches its output.
pub fn host(args: &[&str]) -> Run {
    host_env(args, &[])
}

/// `CONNECTOR_HOST_LOG` for every test run: everything at trace but
/// wasmtime's type registry (which never sees a secret); the compiler's
/// targets stay at info by the host's own default.
pub const TRACE_LOG: &str = "trace,wasmtime=debug";

/// The `connector-host` command with the test environment (Vault variables cleared).
pub fn host_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(bin("connector-host"));
    command
        .args(args)
        .env(
            "CONNECTOR_HOST_CACHE_DIR",
            target_dir().join("test-artifact-cache"),
        )
        // Every test runs at trace level, so every canary check also proves
        // that no secret reaches the log at any level (issue 7). Only the
        // compiler's own chatter is held back: it is megabytes per component.
        .env("CONNECTOR_HOST_LOG", TRACE_LOG)
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("VAULT_NAMESPACE")
        .env_remove("VAULT_CACERT")
        .envs(env.iter().copied());
    command
}

/// As [`host`], with extra environment variables.
pub fn host_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = host_command(args, env)
        .output()
        .expect("run connector-host");
    Run::checked(&output)
}

impl Run {
    /// A finished `connector-host`'s exit code and output; asserts no canary
    /// reached either stream.
    pub fn checked(output: &std::process::Output) -> Run {
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_no_canary(&run.stdout);
        assert_no_canary(&run.stderr);
        run
    }
}

/// Runs an activity of `connection` with a JSON input.
pub fn run(connection: &ConnectionFile, activity: &str, input: &Value) -> Run {
    host(&[
        "run",
        &connection.path.display().to_string(),
        activity,
        "--input",
        &input.to_string(),
    ])
}

/// Panics if `text` contains a canary secret (without printing the secret).
pub fn assert_no_canary(text: &str) {
    for (i, canary) in CANARIES.iter().enumerate() {
        assert!(
            !text.contains(canary),
            "canary secret #{i} leaked into output"
        );
    }
}

/// Reads a child's stderr to the end on a thread of its own: at trace level
/// the host writes more than a pipe holds, and a full pipe would stall it.
pub(crate) fn drain(
    mut stderr: impl std::io::Read + Send + 'static,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A `connector-host run --batch --input -` process fed one line at a time.
pub struct Batch {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    stderr: std::thread::JoinHandle<String>,
}

impl Batch {
    /// Starts a batch run of `activity` on `connection`.
    pub fn start(connection: &ConnectionFile, activity: &str, env: &[(&str, &str)]) -> Batch {
        let conn = connection.path.display().to_string();
        let mut child = host_command(&["run", &conn, activity, "--batch", "--input", "-"], env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start connector-host");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let stderr = drain(child.stderr.take().expect("piped"));
        Batch {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Sends one input and returns its result line (`{"ok": …}` or `{"error": …}`).
    pub fn call(&mut self, input: &Value) -> Value {
        use std::io::Write;
        writeln!(self.stdin, "{input}").expect("write input line");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read result line");
        assert_no_canary(&line);
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("result line is not JSON ({e}): {line:?}"))
    }

    /// Closes stdin, waits, and returns the exit code and stderr (checked for canaries).
    pub fn finish(self) -> (i32, String) {
        let Batch {
            mut child,
            stdin,
            stderr,
            ..
        } = self;
        drop(stdin);
        let status = child.wait().expect("wait for connector-host");
        let stderr = stderr.join().expect("stderr reader");
        assert_no_canary(&stderr);
        (status.code().unwrap_or(-1), stderr)
    }
}

/// An app registered with the sandbox's authorization server, and its loopback redirect.
pub struct App {
    /// The client id.
    pub client_id: String,
    /// The registered redirect URI (a free loopback port).
    pub redirect: String,
    /// Whether it has a client secret ([`CANARIES`]`[1]`).
    pub confidential: bool,
}

impl App {
    /// Registers an app (`refresh_mode` is `rotating` or `long-lived`).
    pub fn register(sandbox: &Sandbox, refresh_mode: &str, confidential: bool) -> App {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let app = App {
            client_id: format!("app-{port}"),
            redirect: format!("http://127.0.0.1:{port}/callback"),
            confidential,
        };
        let mut body = serde_json::json!({"client_id": app.client_id, "redirect_uris": [app.redirect], "refresh_mode": refresh_mode});
        if confidential {
            body["client_secret"] = Value::String(CANARIES[1].into());
        }
        sandbox.control("apps", body);
        app
    }

    /// A Constant Contact connection using this app; tokens go to the connection's directory.
    pub fn connection(&self, sandbox: &Sandbox, extra: &str) -> ConnectionFile {
        let secret = if self.confidential {
            format!("client_secret = \"{}\"\n", CANARIES[1])
        } else {
            String::new()
        };
        let text = format!(
            "[fields]\nclient_id = \"{}\"\n{secret}\n[oauth]\nredirect_uri = \"{}\"\n\n[endpoints]\n\"https://api.cc.email\" = \"{url}\"\n\"https://authz.constantcontact.com\" = \"{url}\"\n{extra}",
            self.client_id,
            self.redirect,
            url = sandbox.url
        );
        ConnectionFile::new(&component("cc_connector"), &text)
    }
}

/// The environment that keeps a connection's token file in its own directory.
pub fn data_env(connection: &ConnectionFile) -> (&'static str, String) {
    (
        "CONNECTOR_HOST_DATA_DIR",
        connection.dir().join("data").display().to_string(),
    )
}

/// A running `connector-host connect`, stopped at the line that tells the person what to do.
pub struct Connecting {
    child: Child,
    /// What `connect` wrote before its prompt.
    before: String,
    stderr: std::thread::JoinHandle<String>,
    /// The authorize URL (browser flow) or the device line (`--device`).
    pub prompt: String,
}

impl Connecting {
    /// Starts `connect` with `args` and waits for its prompt line.
    pub fn start(connection: &ConnectionFile, args: &[&str]) -> Connecting {
        Connecting::start_env(connection, args, &[])
    }

    /// [`Connecting::start`] with more environment variables.
    pub fn start_env(
        connection: &ConnectionFile,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Connecting {
        let (key, dir) = data_env(connection);
        let conn = connection.path.display().to_string();
        let mut all = vec!["connect", conn.as_str(), "--no-browser"];
        if !args.contains(&"--timeout") {
            all.extend(["--timeout", "60"]);
        }
        all.extend_from_slice(args);
        let mut vars = vec![(key, dir.as_str())];
        vars.extend_from_slice(env);
        let mut child = host_command(&all, &vars)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start connect");
        let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
        let (mut line, mut before) = (String::new(), String::new());
        let prompt = loop {
            line.clear();
            if stderr.read_line(&mut line).expect("read connect output") == 0 {
                panic!("connect ended before prompting: {before}");
            }
            let trimmed = line.trim();
            if trimmed.starts_with("http") || trimmed.contains("enter the code") {
                break trimmed.to_owned();
            }
            before.push_str(&line);
        };
        assert_no_canary(&prompt);
        assert_no_canary(&before);
        Connecting {
            child,
            before,
            stderr: drain(stderr),
            prompt,
        }
    }

    /// Waits for `connect` to end; its exit code and the rest of stderr.
    pub fn finish(mut self) -> Run {
        let status = self.child.wait().expect("wait for connect");
        let rest = self.stderr.join().expect("stderr reader");
        assert_no_canary(&rest);
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::new(),
            stderr: self.before + &rest,
        }
    }
}

/// The plain text of a file the host sealed with the default key of its
/// data directory `data` (an OAuth token file in `<data>/tokens`, or one of
/// `serve`'s files); a plain file as it is.
pub fn unsealed(file: &Path, data: &Path) -> String {
    use connector_host::at_rest::{file_binding, token_binding, AtRest, AtRestSettings};
    let keys = AtRest::new(
        &AtRestSettings::LocalKey(data.join("at-rest.key")),
        &Default::default(),
    );
    let binding = if file.parent() == Some(data.join("tokens").as_path()) {
        token_binding(file)
    } else {
        file_binding(file)
    };
    let opened = block_on(keys.read(file, &binding))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{} does not exist", file.display()));
    String::from_utf8(opened.plain.to_vec()).expect("text")
}

/// Writes `plain` to one of `serve`'s files, sealed as the host seals it
/// with the default key of its data directory `data`.
pub fn sealed_write(file: &Path, data: &Path, plain: &[u8]) {
    use connector_host::at_rest::{file_binding, AtRest, AtRestSettings};
    let keys = AtRest::new(
        &AtRestSettings::LocalKey(data.join("at-rest.key")),
        &Default::default(),
    );
    block_on(keys.write(file, &file_binding(file), plain)).unwrap_or_else(|e| panic!("{e}"));
}

/// The token file `connect` wrote for `connection` (for canary checks on real tokens).
pub fn token_values(connection: &ConnectionFile) -> Vec<String> {
    let dir = connection.dir().join("data/tokens");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for entry in entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
    {
        let record: Value =
            serde_json::from_str(&unsealed(&entry.path(), &connection.dir().join("data"))).unwrap();
        for key in ["access_token", "refresh_token"] {
            if let Some(v) = record[key].as_str() {
                values.push(v.to_owned());
            }
        }
    }
    values
}

impl ConnectionFile {
    /// Another handle on an existing connection file (the directory is not removed by it).
    pub fn existing(path: PathBuf) -> ConnectionFile {
        ConnectionFile { _dir: None, path }
    }
}

/// Runs `future` to its end on a runtime of its own (for tests that use the
/// library directly, e.g. `Session::poll`).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}
