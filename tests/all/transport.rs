//! The pooled transport, end to end (issue 10): TLS trust with a test CA,
//! proxies from the environment, and keep-alive reuse. The probe connector
//! declares `https://probe.example`; connections map it to a loopback
//! origin that counts its connections, and a loopback proxy records the
//! tunnels it is asked for.

use connector_tests::origin::{Origin, TestCa};
use connector_tests::proxy::Proxy;
use connector_tests::*;
use serde_json::{json, Value};

/// Proxy credentials: secrets, which no output may show.
const PROXY_USER: &str = "proxy-user-canary-61d0";
const PROXY_PASSWORD: &str = "proxy-password-canary-93fe";

fn probe_to(target: &str, extra: &str) -> ConnectionFile {
    let text = format!("[endpoints]\n\"https://probe.example\" = \"{target}\"\n{extra}");
    ConnectionFile::new(&component("probe_connector"), &text)
}

fn get_args(connection: &ConnectionFile) -> Vec<String> {
    let input = json!({"url": "https://probe.example/v3/ping", "headers": []});
    let path = connection.path.display().to_string();
    ["run", &path, "fetch", "--input", &input.to_string()]
        .map(str::to_owned)
        .to_vec()
}

/// One `fetch` of `https://probe.example/v3/ping` with `env`.
fn get(connection: &ConnectionFile, env: &[(&str, &str)]) -> Run {
    let args = get_args(connection);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = host_env(&args, env);
    for secret in [PROXY_USER, PROXY_PASSWORD] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "a proxy credential reached the output"
        );
    }
    out
}

/// A TLS origin for `localhost` signed by a fresh test CA, and a connection
/// to it that trusts that CA through `[tls] ca_file`.
fn private_ca_origin() -> (TestCa, Origin, ConnectionFile) {
    let ca = TestCa::new("connector-host test CA");
    let origin = Origin::tls(&ca, &["localhost"], r#"{"pong": true}"#);
    let connection = probe_to(
        &format!("https://localhost:{}", origin.port),
        "[tls]\nca_file = \"certs/ca.pem\"\n",
    );
    std::fs::create_dir(connection.dir().join("certs")).unwrap();
    ca.write(&connection.dir().join("certs"), "ca.pem");
    (ca, origin, connection)
}

#[test]
fn an_origin_behind_a_private_ca_is_refused_without_its_ca_file_and_works_with_it() {
    let (ca, origin, trusting) = private_ca_origin();
    let target = format!("https://localhost:{}", origin.port);
    let plain = probe_to(&target, "");
    get(&plain, &[]).fails_with(
        1,
        &[
            "TLS to https://probe.example failed",
            "not signed by a CA this host trusts",
            "hint:",
            "[tls] ca_file",
        ],
    );
    let out = get(&trusting, &[]).ok();
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body"], r#"{"pong": true}"#);
    // The host-wide CA file does the same for every connection.
    let ca_path = ca.write(plain.dir(), "host-ca.pem");
    let host_wide = get(
        &plain,
        &[("CONNECTOR_HOST_CA_FILE", ca_path.to_str().unwrap())],
    );
    assert_eq!(host_wide.ok()["status"], 200);
    // Hostname verification stays on: the certificate names `localhost` only.
    let by_address = probe_to(
        &format!("https://127.0.0.1:{}", origin.port),
        "[tls]\nca_file = \"ca.pem\"\n",
    );
    ca.write(by_address.dir(), "ca.pem");
    get(&by_address, &[]).fails_with(1, &["TLS to", "does not name this host"]);
    // A CA file that cannot be used is named, with the setting that named it.
    let missing = probe_to(&target, "[tls]\nca_file = \"absent.pem\"\n");
    get(&missing, &[]).fails_with(
        1,
        &["absent.pem", "([tls] ca_file) cannot be used", "hint:"],
    );
    let not_pem = probe_to(&target, "[tls]\nca_file = \"ca.pem\"\n");
    std::fs::write(not_pem.dir().join("ca.pem"), "not a certificate").unwrap();
    get(&not_pem, &[]).fails_with(1, &["holds no PEM certificate"]);
    assert_eq!(
        origin.requests(),
        2,
        "only the trusting calls were answered"
    );
}

#[test]
fn https_proxy_tunnels_to_the_checked_address_and_no_proxy_skips_it() {
    let (_ca, origin, connection) = private_ca_origin();
    let proxy = Proxy::start(PROXY_USER, PROXY_PASSWORD);
    let url = proxy.url(PROXY_USER, PROXY_PASSWORD);
    let through = [("HTTPS_PROXY", url.as_str()), ("NO_PROXY", "")];
    assert_eq!(get(&connection, &through).ok()["status"], 200);
    let tunnels = proxy.tunnels();
    assert_eq!(tunnels.len(), 1, "{tunnels:?}");
    // The host resolved `localhost` and checked it; the proxy got the address.
    assert_eq!(tunnels[0].target, format!("127.0.0.1:{}", origin.port));
    assert!(tunnels[0].authorized, "the proxy credentials were not sent");
    // Lowercase variables count too, and NO_PROXY sends the request direct.
    let skipped = [("https_proxy", url.as_str()), ("NO_PROXY", "localhost")];
    assert_eq!(get(&connection, &skipped).ok()["status"], 200);
    assert_eq!(proxy.tunnels().len(), 1, "NO_PROXY was not honoured");
    assert_eq!(origin.requests(), 2);
}

#[test]
fn wrong_proxy_credentials_are_reported_without_showing_any() {
    let (_ca, origin, connection) = private_ca_origin();
    let proxy = Proxy::start(PROXY_USER, "the-right-password-1");
    let url = proxy.url(PROXY_USER, PROXY_PASSWORD);
    let out = get(
        &connection,
        &[("HTTPS_PROXY", url.as_str()), ("NO_PROXY", "")],
    );
    out.fails_with(
        1,
        &[
            &format!(
                "the proxy http://127.0.0.1:{} could not open a tunnel to https://probe.example",
                proxy.port
            ),
            "HTTP 407",
            "hint:",
        ],
    );
    assert_eq!(origin.requests(), 0);
}

#[test]
fn a_proxy_cannot_be_used_to_reach_the_hosts_own_network() {
    let proxy = Proxy::start(PROXY_USER, PROXY_PASSWORD);
    let url = proxy.url(PROXY_USER, PROXY_PASSWORD);
    let env = [
        ("HTTP_PROXY", url.as_str()),
        ("HTTPS_PROXY", url.as_str()),
        ("NO_PROXY", ""),
    ];
    // The hostile connector declares these; no override points there.
    let hostile = ConnectionFile::new(&component("hostile_connector"), "");
    for (target, address) in [
        ("http://localhost:29417/x", "127.0.0.1"),
        ("http://127.0.0.1:29417/x", "127.0.0.1"),
        (
            "http://169.254.169.254/latest/meta-data/iam",
            "169.254.169.254",
        ),
    ] {
        let input = json!({"url": target, "headers": []}).to_string();
        let path = hostile.path.display().to_string();
        host_env(&["run", &path, "fetch", "--input", &input], &env)
            .fails_with(4, &["was refused", address, "not a public address"]);
    }
    assert!(
        proxy.tunnels().is_empty(),
        "the proxy was asked for a tunnel to a refused address: {:?}",
        proxy.tunnels()
    );
}

/// 100 `fetch` calls in one batch; every one answered 200.
fn batch_of_100(connection: &ConnectionFile, env: &[(&str, &str)]) {
    let mut batch = Batch::start(connection, "fetch", env);
    let input = json!({"url": "https://probe.example/v3/ping", "headers": []});
    for _ in 0..100 {
        let line: Value = batch.call(&input);
        assert_eq!(line["ok"]["status"], 200, "{line}");
    }
    let (code, stderr) = batch.finish();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_batch_of_100_calls_reuses_its_connections() {
    let origin = Origin::plain("{}");
    let connection = probe_to(&format!("http://127.0.0.1:{}", origin.port), "");
    batch_of_100(&connection, &[]);
    assert_eq!(origin.requests(), 100);
    assert!(
        origin.connections() <= 2,
        "{} connections",
        origin.connections()
    );
    // TLS sessions are kept alive too.
    let (_ca, tls_origin, tls_connection) = private_ca_origin();
    batch_of_100(&tls_connection, &[]);
    assert!(
        tls_origin.connections() <= 2,
        "{} connections",
        tls_origin.connections()
    );
    // Without idle connections kept, each call opens its own: the count is real.
    let unpooled = Origin::plain("{}");
    let connection = probe_to(&format!("http://127.0.0.1:{}", unpooled.port), "");
    batch_of_100(&connection, &[("CONNECTOR_HOST_MAX_IDLE_PER_ORIGIN", "0")]);
    assert_eq!(unpooled.connections(), 100);
}

#[test]
fn http2_is_used_where_the_server_offers_it_and_one_connection_serves_the_batch() {
    let ca = TestCa::new("connector-host h2 CA");
    let origin = Origin::tls_h2(&ca, &["localhost"], "{}");
    let connection = probe_to(
        &format!("https://localhost:{}", origin.port),
        "[tls]\nca_file = \"ca.pem\"\n",
    );
    ca.write(connection.dir(), "ca.pem");
    batch_of_100(&connection, &[]);
    assert_eq!(origin.requests(), 100, "some requests were not HTTP/2");
    assert_eq!(origin.connections(), 1);
}

#[test]
fn connections_the_server_dropped_are_not_reused() {
    // The origin closes each connection after one answer without saying so:
    // every pooled connection is broken by the time the next call comes.
    let origin = Origin::plain_dropping("{}");
    let connection = probe_to(&format!("http://127.0.0.1:{}", origin.port), "");
    let mut batch = Batch::start(&connection, "fetch", &[]);
    let input = json!({"url": "https://probe.example/v3/ping", "headers": []});
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let line = batch.call(&input);
        assert_eq!(line["ok"]["status"], 200, "{line}");
    }
    assert_eq!(batch.finish().0, 0);
    assert_eq!(origin.connections(), 20);
}
