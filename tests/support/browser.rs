//! A real headless Chromium for end-to-end tests, driven through
//! chromedriver's W3C WebDriver HTTP API (plain ureq + serde_json calls, no
//! WebDriver crate).
//!
//! [`Browser::start`] runs `chromedriver --port=<free loopback port>` (its
//! output going to `chromedriver.log` in a temporary directory), waits until
//! its `/status` says it is ready, and opens a session on
//! `/usr/bin/chromium` with a fresh profile in that directory. The helpers
//! take CSS selectors and wait for what they need: [`Browser::wait_for`],
//! [`Browser::fill`], [`Browser::click`] and [`Browser::text`] poll for up to
//! [`WAIT`], and [`Browser::wait_for_url`] polls the current URL, which is
//! how a test sees a redirect to a loopback callback land. Every timeout
//! panics with the selector (or the last URL), the page's URL and its title.
//!
//! Dropping the value deletes the session (Chromium quits), then kills
//! chromedriver's whole process group, then any process left whose command
//! line names the temporary directory, and waits until none is left.
//! chromedriver runs with `XDG_CONFIG_HOME` and `XDG_CACHE_HOME` in that
//! directory, so Chromium writes nothing to `~/.config` or `~/.cache`, and
//! its crash handler (`chrome_crashpad_handler`, which detaches into a
//! session of its own, out of reach of the group kill) gets a
//! `--database=<temporary directory>/…` argument by which it is found.
//! Chromium's `--disable-crashpad-for-testing` is no way out: with it, every
//! navigation hangs ("Timed out receiving message from renderer").
//!
//! Nothing here knows what it automates: any page served on 127.0.0.1 works,
//! plain HTML forms with POST submits and 302/303 redirects included. Only
//! Debian's `chromium` and `chromium-driver` packages are needed (`make test`
//! installs them).

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

/// How long the element helpers wait for an element (and retry an action
/// that the page was not ready for).
pub const WAIT: Duration = Duration::from_secs(10);

/// The Chromium binary (Debian's `chromium` package).
const CHROMIUM: &str = "/usr/bin/chromium";

/// The chromedriver binary (Debian's `chromium-driver` package).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The panic message when either binary is missing.
const MISSING: &str =
    "chromium/chromedriver not found: run `make test` (it installs Debian's chromium and chromium-driver)";

/// chromedriver's log file, in the browser's temporary directory.
const LOG: &str = "chromedriver.log";

/// How long chromedriver may take to answer `/status` as ready.
const STARTUP: Duration = Duration::from_secs(20);

/// How many times a start is tried: chromedriver exits when another process
/// took its port between choosing and binding it, and a busy machine can make
/// Chromium miss chromedriver's start deadline.
const ATTEMPTS: usize = 3;

/// The pause between two polls.
const POLL: Duration = Duration::from_millis(50);

/// The longest one WebDriver call may take (a navigation waits for the page
/// load, which the session bounds at 30 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long Drop lets the session close before killing everything.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The key of a web element reference in WebDriver JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver errors after which an element helper looks again and retries
/// (the page is still loading, re-rendering or navigating).
const TRANSIENT: &[&str] = &[
    "no such element",
    "stale element reference",
    "element not interactable",
    "element click intercepted",
    "unknown error",
];

/// An error answered by chromedriver (or a failed HTTP exchange with it).
#[derive(Debug)]
struct WdError {
    /// The W3C error code, such as `no such element`; `transport` when no
    /// answer came.
    error: String,
    /// chromedriver's message.
    message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // chromedriver's message starts with the error code already.
        let first = self.message.lines().next().unwrap_or("");
        if first.starts_with(&self.error) {
            write!(f, "{first}")
        } else {
            write!(f, "{}: {first}", self.error)
        }
    }
}

/// A headless Chromium session; dropping it quits Chromium and chromedriver.
pub struct Browser {
    agent: ureq::Agent,
    /// The session id.
    session: String,
    /// Dropped before `dir`, so no process still writes there when it goes.
    driver: Driver,
    /// Holds `chromedriver.log` and the Chromium profiles.
    dir: TempDir,
}

/// A running chromedriver, killed with its whole process group on drop.
struct Driver {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    base: String,
    /// The browser's temporary directory (log and profiles).
    dir: PathBuf,
    /// Whether chromedriver was already reaped (so its pid may be reused).
    reaped: bool,
}

/// An element found by [`Browser::wait_for`].
pub struct Element<'a> {
    browser: &'a Browser,
    css: String,
    id: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; panics when the
    /// binaries are missing or the browser does not come up.
    pub fn start() -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(Path::new(path).exists(), "{MISSING} ({path} is missing)");
        }
        let dir = tempfile::Builder::new()
            .prefix("browser-")
            .tempdir()
            .expect("create a temporary directory for the browser");
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout(CALL_TIMEOUT)
            .build();
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let Some(driver) = Driver::start(dir.path()) else {
                last = "chromedriver exited at once (its port was taken?)".into();
                continue;
            };
            let profile = dir.path().join(format!("profile-{attempt}"));
            match new_session(&agent, &driver.base, &profile) {
                Ok(session) => {
                    return Browser {
                        agent,
                        session,
                        driver,
                        dir,
                    }
                }
                Err(e) => last = e.to_string(),
            }
            eprintln!("browser: try {attempt} of {ATTEMPTS} failed: {last}");
        }
        let log = log_tail(&dir.path().join(LOG));
        panic!("could not start Chromium after {ATTEMPTS} tries: {last}\nchromedriver log:\n{log}")
    }

    /// Navigates to `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        if let Err(e) = self.call("POST", "/url", Some(json!({ "url": url }))) {
            panic!("could not open {url}: {e}");
        }
    }

    /// The URL of the current page.
    pub fn current_url(&self) -> String {
        let url = self.command("GET", "/url", None);
        url.as_str().unwrap_or_default().to_owned()
    }

    /// The title of the current page.
    pub fn title(&self) -> String {
        let title = self.command("GET", "/title", None);
        title.as_str().unwrap_or_default().to_owned()
    }

    /// The HTML of the current page (as the DOM is now).
    pub fn page_source(&self) -> String {
        let source = self.command("GET", "/source", None);
        source.as_str().unwrap_or_default().to_owned()
    }

    /// Waits up to [`WAIT`] for an element matching `css`; panics naming the
    /// selector, the page's URL and its title.
    pub fn wait_for(&self, css: &str) -> Element<'_> {
        self.retry(css, Ok)
    }

    /// Clears the input matching `css` and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) {
        self.retry(css, |element| {
            let path = format!("/element/{}", element.id);
            self.call("POST", &format!("{path}/clear"), Some(json!({})))?;
            self.call(
                "POST",
                &format!("{path}/value"),
                Some(json!({ "text": text })),
            )
        });
    }

    /// Clicks the element matching `css` (waiting until it can be clicked).
    pub fn click(&self, css: &str) {
        self.retry(css, |element| {
            self.call(
                "POST",
                &format!("/element/{}/click", element.id),
                Some(json!({})),
            )
        });
    }

    /// The rendered text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        self.retry(css, |element| {
            let text = self.call("GET", &format!("/element/{}/text", element.id), None)?;
            Ok(text.as_str().unwrap_or_default().to_owned())
        })
    }

    /// Polls the current URL until `predicate` accepts it (or `timeout`
    /// passes, which panics with the last URL) and returns it.
    pub fn wait_for_url(&self, predicate: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.call("GET", "/url", None) {
                Ok(Value::String(url)) if predicate(&url) => return url,
                Ok(url) => format!("{:?}", url.as_str().unwrap_or_default()),
                Err(e) => format!("unreadable ({e})"),
            };
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for a matching URL; last URL {last} ({})",
                    self.here()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Runs `script` (a function body; `return` gives the value) in the
    /// current page and returns what it returned.
    pub fn execute(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.command("POST", "/execute/sync", Some(body))
    }

    /// Runs `script` as an asynchronous function body: it calls its last
    /// argument with the value to return (WebDriver's execute/async).
    pub fn execute_async(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.command("POST", "/execute/async", Some(body))
    }

    /// Resizes the browser's window to `width` × `height` CSS pixels (a
    /// phone's width, say).
    pub fn resize(&self, width: u32, height: u32) {
        let rect = json!({ "width": width, "height": height });
        self.command("POST", "/window/rect", Some(rect));
    }

    /// Makes the page see `prefers-color-scheme: dark` (or light) through
    /// chromedriver's DevTools passthrough (Emulation.setEmulatedMedia).
    pub fn color_scheme(&self, scheme: &str) {
        let features = json!([{ "name": "prefers-color-scheme", "value": scheme }]);
        let body =
            json!({ "cmd": "Emulation.setEmulatedMedia", "params": { "features": features } });
        self.command("POST", "/goog/cdp/execute", Some(body));
    }

    /// Saves a PNG screenshot of the viewport to `path` (for debugging).
    pub fn screenshot(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let data = self.command("GET", "/screenshot", None);
        let png = decode_base64(data.as_str().unwrap_or_default());
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("write screenshot {}: {e}", path.display()));
    }

    /// chromedriver's log file (kept until the value is dropped).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG)
    }

    /// Finds the element matching `css` and runs `action` on it, looking
    /// again while the error is transient, for up to [`WAIT`].
    fn retry<'a, T>(
        &'a self,
        css: &str,
        mut action: impl FnMut(Element<'a>) -> Result<T, WdError>,
    ) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let error = match self.find(css).and_then(&mut action) {
                Ok(value) => return value,
                Err(e) if TRANSIENT.contains(&e.error.as_str()) => e,
                Err(e) => panic!("{css:?}: {e} ({})", self.here()),
            };
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {WAIT:?} waiting for {css:?} ({error}; {})",
                    self.here()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The first element matching `css`, now.
    fn find(&self, css: &str) -> Result<Element<'_>, WdError> {
        let body = json!({ "using": "css selector", "value": css });
        let found = self.call("POST", "/element", Some(body))?;
        let id = found[ELEMENT_KEY].as_str().unwrap_or_default().to_owned();
        Ok(Element {
            browser: self,
            css: css.to_owned(),
            id,
        })
    }

    /// "URL …, title …" of the current page, for panic messages.
    fn here(&self) -> String {
        let text = |path| match self.call("GET", path, None) {
            Ok(value) => format!("{:?}", value.as_str().unwrap_or_default()),
            Err(e) => format!("unknown ({e})"),
        };
        format!("page URL {}, title {}", text("/url"), text("/title"))
    }

    /// A session command that must succeed; panics with chromedriver's error.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}"))
    }

    /// Sends a command of the session (`path` is relative to it) and returns
    /// the answer's `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let url = format!("{}/session/{}{path}", self.driver.base, self.session);
        request(&self.agent, method, &url, body)
    }

    /// The last lines of chromedriver's log.
    fn log_tail(&self) -> String {
        log_tail(&self.log_path())
    }
}

impl Drop for Browser {
    /// Deletes the session (Chromium quits); then `driver` is dropped.
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.base, self.session);
        if let Err(e) = self.agent.delete(&url).timeout(QUIT_TIMEOUT).call() {
            eprintln!("browser: could not delete the session: {e}");
        }
        if std::thread::panicking() {
            eprintln!("browser: chromedriver log tail:\n{}", self.log_tail());
        }
    }
}

impl Element<'_> {
    /// The element's rendered text.
    pub fn text(&self) -> String {
        let text = self.get("text");
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The element's attribute `name`, if it has it.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.get(&format!("attribute/{name}"))
            .as_str()
            .map(str::to_owned)
    }

    /// The element's DOM property `name` (such as an input's current `value`).
    pub fn property(&self, name: &str) -> Value {
        self.get(&format!("property/{name}"))
    }

    /// Clicks the element.
    pub fn click(&self) {
        let path = format!("/element/{}/click", self.id);
        self.browser
            .call("POST", &path, Some(json!({})))
            .unwrap_or_else(|e| self.fail(e));
    }

    /// Reads `/element/<id>/<what>`, panicking with the selector.
    fn get(&self, what: &str) -> Value {
        let path = format!("/element/{}/{what}", self.id);
        self.browser
            .call("GET", &path, None)
            .unwrap_or_else(|e| self.fail(e))
    }

    /// Panics naming the element's selector and the page.
    fn fail(&self, error: WdError) -> ! {
        panic!("{:?}: {error} ({})", self.css, self.browser.here())
    }
}

impl Driver {
    /// Runs chromedriver on a free loopback port, in its own process group,
    /// and waits until it is ready; `None` when it exits first (another
    /// process took the port).
    fn start(dir: &Path) -> Option<Driver> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(dir.join(LOG))
            .expect("open chromedriver.log");
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file handle"))
            .stderr(log)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{MISSING} (running {CHROMEDRIVER}: {e})"));
        let base = format!("http://127.0.0.1:{port}");
        let mut driver = Driver {
            child,
            base,
            dir: dir.to_owned(),
            reaped: false,
        };
        driver.wait_ready().then_some(driver)
    }

    /// Polls `/status` until it says ready (`true`) or chromedriver exits
    /// (`false`); panics after [`STARTUP`].
    fn wait_ready(&mut self) -> bool {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        let deadline = Instant::now() + STARTUP;
        loop {
            let status = request(&agent, "GET", &format!("{}/status", self.base), None);
            if status.is_ok_and(|status| status["ready"] == true) {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                self.reaped = true;
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver was not ready after {STARTUP:?}; its log:\n{}",
                log_tail(&self.dir.join(LOG))
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Driver {
    /// Kills chromedriver's process group (Chromium is in it), reaps
    /// chromedriver, then kills what is left that names the directory (the
    /// crash handler) and waits until it is gone.
    fn drop(&mut self) {
        if !self.reaped {
            // chromedriver leads its group; until it is reaped below, its pid
            // (so the group id) cannot belong to anyone else.
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        wait_gone(&self.dir);
    }
}

/// Opens a WebDriver session on a headless Chromium with the profile
/// `profile`; returns the session id.
fn new_session(agent: &ureq::Agent, base: &str, profile: &Path) -> Result<String, WdError> {
    let answer = request(
        agent,
        "POST",
        &format!("{base}/session"),
        Some(capabilities(profile)),
    )?;
    match answer["sessionId"].as_str() {
        Some(id) => Ok(id.to_owned()),
        None => Err(WdError {
            error: "no session id".into(),
            message: answer.to_string(),
        }),
    }
}

/// The capabilities of a new session.
fn capabilities(profile: &Path) -> Value {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        // Shared memory in the temp dir: /dev/shm is small in containers.
        "--disable-dev-shm-usage",
        "--window-size=1280,1024",
    ];
    let mut args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "acceptInsecureCerts": true,
        "pageLoadStrategy": "normal",
        "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    } } })
}

/// Sends one WebDriver request and returns the answer's `value`, or the
/// WebDriver error it carries.
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, WdError> {
    let request = agent.request(method, url);
    let answer = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match answer {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(e) => {
            return Err(WdError {
                error: "transport".into(),
                message: e.to_string(),
            })
        }
    };
    let status = response.status();
    let mut json: Value = response.into_json().map_err(|e| WdError {
        error: "bad answer".into(),
        message: format!("HTTP {status}: {e}"),
    })?;
    let value = json["value"].take();
    match value["error"].as_str() {
        Some(error) if status >= 400 => Err(WdError {
            error: error.to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        }),
        _ => Ok(value),
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("bound address").port()
}

/// The last 40 lines of the file at `path`.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Kills every live process that has `dir` on its command line and waits
/// (up to 10 s) until none is left, then warns about any that is.
fn wait_gone(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_using(&needle);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            eprintln!("browser: processes still using {needle}: {left:?}");
            return;
        }
        let pids: Vec<String> = left.iter().map(u32::to_string).collect();
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(POLL);
    }
}

/// The pids whose command line contains `needle` (zombies have none).
fn processes_using(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}

/// Decodes standard base64 (as in WebDriver screenshots).
fn decode_base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let digit = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => panic!("screenshot: invalid base64 byte {byte:#04x}"),
        };
        acc = (acc << 6) | u32::from(digit);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
