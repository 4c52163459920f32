//! The trust boundary, tried as an attacker would (issue 7): the hostile
//! connector (`tests/connectors/hostile`) and hand-made components attack the
//! host; each test asserts the attack is contained with a clear error and
//! that no canary reaches any output (every run is at trace log level, see
//! `connector_tests::TRACE_LOG`). `SECURITY.md` maps each promise to its test.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use connector_tests::openbao::OpenBao;
use connector_tests::*;
use serde_json::{json, Value};

/// The port the hostile connector names as its own server (`TRAP_PORT` there).
const TRAP_PORT: u16 = 29417;

/// A listener on the trap port that counts connections and what they sent.
/// Tests using it take the lock, so they see only their own traffic.
struct Trap {
    connections: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<u8>>>,
}

fn trap() -> std::sync::MutexGuard<'static, Trap> {
    static TRAP: OnceLock<Mutex<Trap>> = OnceLock::new();
    let trap = TRAP.get_or_init(|| {
        let listener = TcpListener::bind(("127.0.0.1", TRAP_PORT))
            .unwrap_or_else(|e| panic!("port {TRAP_PORT} (the hostile connector's) is taken: {e}"));
        let connections = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (count, bytes) = (connections.clone(), received.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(200)));
                let mut buffer = [0u8; 4096];
                if let Ok(n) = stream.read(&mut buffer) {
                    bytes.lock().unwrap().extend_from_slice(&buffer[..n]);
                }
            }
        });
        Mutex::new(Trap {
            connections,
            received,
        })
    });
    let guard = trap.lock().unwrap_or_else(|e| e.into_inner());
    guard.connections.store(0, Ordering::SeqCst);
    guard.received.lock().unwrap().clear();
    guard
}

impl Trap {
    fn assert_untouched(&self) {
        let received = self.received.lock().unwrap();
        assert_no_canary(&String::from_utf8_lossy(&received));
        assert_eq!(
            self.connections.load(Ordering::SeqCst),
            0,
            "the hostile connector's server was reached"
        );
    }
}

fn hostile(extra: &str) -> ConnectionFile {
    ConnectionFile::new(&component("hostile_connector"), extra)
}

/// A hostile connection with the canary token and every https origin (and
/// the plain-http one) mapped to the sandbox.
fn hostile_on(sandbox: &Sandbox, extra: &str) -> ConnectionFile {
    hostile(&format!(
        "[token]\naccess_token = \"{TOKEN}\"\n{extra}\n[endpoints]\n\"https://api.hostile.example\" = \"{url}\"\n\"https://other.hostile.example\" = \"{url}\"\n",
        url = sandbox.url
    ))
}

fn fetch(connection: &ConnectionFile, url: &str) -> Run {
    run(connection, "fetch", &json!({"url": url, "headers": []}))
}

/// Asserts no control character reached stderr, and no line the guest forged.
fn assert_terminal_safe(out: &Run) {
    assert!(
        !out.stderr.contains(['\u{1b}', '\r', '\u{7}']),
        "raw control characters reached the terminal: {out:#?}"
    );
    assert!(
        !out.stderr
            .lines()
            .any(|l| l.starts_with("hint: the fix") || l.starts_with("hint: run `curl")),
        "the guest forged a hint line: {out:#?}"
    );
}

#[test]
fn a_connector_cannot_choose_where_the_client_secret_goes() {
    let trap = trap();
    let oauth = format!(
        "[fields]\nclient_id = \"app\"\nclient_secret = \"{}\"\n[oauth]\nredirect_uri = \"http://127.0.0.1:1/callback\"\n",
        CANARIES[1]
    );
    // Its describe proposes its own plain-http token URL: refused before anything is sent.
    let connection = hostile(&oauth);
    let out = host(&[
        "connect",
        &connection.path.display().to_string(),
        "--no-browser",
        "--timeout",
        "2",
    ]);
    out.fails_with(3, &["http://127.0.0.1:29417/", "not https", "hint:"]);
    // Pinned by the operator, a different proposal is refused naming both.
    let pinned = hostile(&format!(
        "{oauth}authorize_url = \"https://authz.hostile.example/authorize\"\ntoken_url = \"https://authz.hostile.example/token\"\n"
    ));
    let out = run(&pinned, "claim-unauthorized", &json!({}));
    out.fails_with(
        3,
        &[
            "https://authz.hostile.example/authorize",
            "http://127.0.0.1:29417/authorize",
            "nothing was sent",
        ],
    );
    trap.assert_untouched();
}

#[test]
fn a_replaced_connector_naming_other_oauth_urls_is_refused() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    // The operator pinned another token URL than the connector now proposes
    // (as if the component had been replaced).
    let pins = "[oauth]\nauthorize_url = \"https://authz.constantcontact.com/oauth2/default/v1/authorize\"\ntoken_url = \"https://tokens.example/token\"\n";
    let text = std::fs::read_to_string(&connection.path)
        .unwrap()
        .replacen("[oauth]\n", pins, 1);
    std::fs::write(&connection.path, text).unwrap();
    let out = run(&connection, "list-contact-lists", &json!({}));
    out.fails_with(
        3,
        &[
            "token_url",
            "https://tokens.example/token",
            "https://authz.constantcontact.com/oauth2/default/v1/token",
            "nothing was sent",
        ],
    );
    let stats: Value = ureq::get(&format!("{}/__sandbox/oauth/stats", sandbox.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(stats["token_requests"], 0, "{stats}");
}

#[test]
fn the_credential_goes_only_to_the_origins_it_is_bound_to() {
    let trap = trap();
    let sandbox = Sandbox::start();
    let bound = |path: &str| {
        sandbox
            .requests()
            .iter()
            .rev()
            .find(|r| r["path"] == path)
            .map(|r| r["authorization"] == json!(format!("Bearer {TOKEN}")))
    };
    let narrowed = hostile_on(&sandbox, "origins = [\"https://api.hostile.example\"]");
    assert_eq!(fetch(&narrowed, "https://api.hostile.example/v3/a").code, 0);
    assert_eq!(
        bound("/v3/a"),
        Some(true),
        "the bound origin gets the token"
    );
    assert_eq!(
        fetch(&narrowed, "https://other.hostile.example/v3/b").code,
        0
    );
    assert_eq!(
        bound("/v3/b"),
        Some(false),
        "an origin outside [token] origins gets none"
    );
    // Its own plain-http loopback server, which would echo the token back.
    let echo = fetch(&narrowed, "http://127.0.0.1:29417/echo");
    echo.fails_with(4, &["http://127.0.0.1:29417", "not a public address"]);
    trap.assert_untouched();
    // Binding to an origin that may not carry it is a configuration error.
    let wrong = hostile_on(&sandbox, "origins = [\"http://plain.hostile.example\"]");
    fetch(&wrong, "https://api.hostile.example/v3/c")
        .fails_with(3, &["[token] origins", "plain http"]);
}

#[test]
fn names_that_resolve_to_the_hosts_own_network_are_refused() {
    let trap = trap();
    let connection = hostile(&format!("[token]\naccess_token = \"{TOKEN}\"\n"));
    for (url, address) in [
        ("http://127.0.0.1:29417/x", "127.0.0.1"),
        ("http://localhost:29417/x", "127.0.0.1"),
        ("http://[::1]:29417/x", "::1"),
        (
            "http://169.254.169.254/latest/meta-data/iam",
            "169.254.169.254",
        ),
    ] {
        fetch(&connection, url).fails_with(
            4,
            &[
                "was refused",
                address,
                "not a public address",
                "[endpoints]",
            ],
        );
    }
    trap.assert_untouched();
}

#[test]
fn a_connector_claiming_a_401_does_not_get_the_credential_renewed() {
    let sandbox = Sandbox::start();
    let bao = OpenBao::start();
    bao.kv2_put("secret", "connectors/tok", json!({"value": TOKEN}));
    let connection = hostile_on(
        &sandbox,
        &format!(
            "[stores.vault]\naddress = \"{}\"\npath = \"connectors\"\nauth = {{ method = \"token\", token = \"{}\" }}\n",
            bao.addr, bao.root_token
        ),
    );
    let text = std::fs::read_to_string(&connection.path).unwrap().replace(
        &format!("access_token = \"{TOKEN}\""),
        "access_token = { asset = \"tok\" }",
    );
    std::fs::write(&connection.path, text).unwrap();
    let out = run(&connection, "claim-unauthorized", &json!({}));
    out.fails_with(
        7,
        &[
            "unauthorized",
            "refused none of its requests",
            "not renewed",
        ],
    );
    assert_eq!(
        bao.audit_reads("secret/data/connectors/tok"),
        1,
        "the asset was read again"
    );
}

/// A component of `modules` core modules, each instantiated once, with a
/// `describe` that answers a number (the host never gets that far).
fn component_with(module: &str, instances: usize) -> ConnectionFile {
    let mut wat = format!("(component\n  (core module $m {module})\n");
    for _ in 0..instances {
        wat.push_str("  (core instance (instantiate $m))\n");
    }
    wat.push_str(
        "  (core module $main (func (export \"describe\") (result i32) i32.const 0))
  (core instance $main (instantiate $main))
  (func $describe (result u32) (canon lift (core func $main \"describe\")))
  (instance $meta (export \"describe\" (func $describe)))
  (export \"connector:sdk/metadata@0.1.0\" (instance $meta)))",
    );
    let bytes = wat::parse_str(&wat).expect("the test component assembles");
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("made.wasm");
    std::fs::write(&wasm, bytes).unwrap();
    let connection = ConnectionFile::new(&wasm, "");
    std::mem::forget(dir); // the connection's own temp dir outlives the test; this one is tiny
    connection
}

#[test]
fn memory_is_capped_across_all_memories_and_wasm_state_is_counted() {
    let describe = |c: &ConnectionFile| host(&["describe", &c.path.display().to_string()]);
    // 32 memories of 63 MiB each: each under the 64 MiB cap, together 2 GiB.
    describe(&component_with("(memory 1008)", 32)).fails_with(
        5,
        &[
            "memory limit of 64 MiB",
            "all its linear memories together",
            "memory_mib",
        ],
    );
    describe(&component_with("(memory 1)", 8))
        .fails_with(5, &["more than 4 linear memories", "max_memories"]);
    describe(&component_with("(table 1 funcref)", 20))
        .fails_with(5, &["more than 16 tables", "max_tables"]);
    describe(&component_with("(table 60000 funcref)", 2))
        .fails_with(5, &["more than 100000 elements", "max_table_elements"]);
    describe(&component_with("(func)", 40))
        .fails_with(5, &["more than 32 instances", "max_instances"]);
}

#[test]
fn host_side_resources_a_guest_creates_are_bounded() {
    let connection = hostile("");
    let hoard = |count: u32, kib: u32| {
        run(
            &connection,
            "hoard-headers",
            &json!({"count": count, "value_kib": kib}),
        )
    };
    // 8,000 header sets of 100 KiB would make the host hold 800 MiB.
    hoard(8000, 100).fails_with(5, &["a header set grew past 64 KiB", "max_header_kib"]);
    hoard(8000, 60).fails_with(5, &["more than 256 host resources", "max_resources"]);
    assert_eq!(
        hoard(100, 60).ok()["created"],
        100,
        "work within the limits completes"
    );
}

#[test]
fn a_result_that_explodes_when_lifted_is_stopped_by_the_output_limit() {
    let connection = hostile("");
    let huge =
        |count: u32, conn: &ConnectionFile| run(conn, "huge-result", &json!({"count": count}));
    // 3 MB in the guest; lifted and as JSON, more than a GiB.
    let started = std::time::Instant::now();
    huge(3_000_000, &connection).fails_with(5, &["output limit of 16 MiB", "max_output_mib"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // Small enough to lift, too large as JSON: the conversion's own cap.
    let small = hostile("[limits]\nmax_output_mib = 1\n");
    huge(100_000, &small).fails_with(5, &["output limit of 1 MiB", "max_output_mib"]);
    assert_eq!(
        huge(1000, &connection).ok().as_array().map(Vec::len),
        Some(1000)
    );
}

#[test]
fn simultaneous_outgoing_requests_are_capped() {
    let sandbox = Sandbox::start();
    sandbox.control(
        "faults",
        json!({"path": "/v3/slow", "status": 200, "body": {}, "delay_ms": 500, "count": 100}),
    );
    let connection = hostile_on(&sandbox, "");
    let flood = |count: u32| {
        run(
            &connection,
            "flood",
            &json!({"url": "https://api.hostile.example/v3/slow", "count": count}),
        )
    };
    flood(20).fails_with(
        5,
        &[
            "more than 8 requests in flight at once",
            "max_concurrent_requests",
        ],
    );
    assert_eq!(
        sandbox.requests().len(),
        8,
        "only the first 8 reached the network"
    );
    // 1,500 at once (the attack) meets the resource cap first.
    flood(1500).fails_with(5, &["max_resources"]);
    let limited = hostile_on(
        &sandbox,
        "[limits]\nmax_requests = 3\nmax_concurrent_requests = 10\n",
    );
    run(
        &limited,
        "flood",
        &json!({"url": "https://api.hostile.example/v3/slow", "count": 5}),
    )
    .fails_with(5, &["more than 3 requests in one call", "max_requests"]);
}

#[test]
fn guest_text_cannot_drive_the_terminal_or_forge_a_hint() {
    let connection = hostile("");
    let out = run(&connection, "forge-hint", &json!({}));
    out.fails_with(1, &["upstream", "\\u{1b}[2J", "\\r\\nhint: the fix"]);
    assert_terminal_safe(&out);
    let out = run(&connection, "panic-escapes", &json!({}));
    out.fails_with(4, &["crashed inside the connector", "\\u{1b}[2J"]);
    assert_terminal_safe(&out);
    let out = host(&[
        "describe",
        &component("hostile_connector").display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(!out.stdout.contains(['\u{1b}', '\r']), "{}", out.stdout);
    assert!(out.stdout.contains("\\u{1b}[2J"), "{}", out.stdout);
}

#[test]
fn an_export_left_out_of_describe_is_reported_and_cannot_be_called() {
    let out = host(&[
        "describe",
        &component("hostile_connector").display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stderr.contains("warning: hostile exports hidden"),
        "{}",
        out.stderr
    );
    let connection = hostile("");
    run(&connection, "hidden", &json!({})).fails_with(2, &["has no activity \"hidden\""]);
}
