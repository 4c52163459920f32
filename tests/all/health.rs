//! Connection health (issue 19): `serve` renews OAuth tokens in the
//! background, so an idle connection stays usable; a revoked grant shows as
//! `needs_reauth` (and is announced once), a reconnect recovers it, and an
//! outage of the token endpoint is `unreachable`, never `needs_reauth`.
//! Against the sandbox's real token endpoint with 2-second access tokens.

use std::time::{Duration, Instant};

use connector_tests::browser::Browser;
use connector_tests::openbao::OpenBao;
use connector_tests::serve::Serve;
use connector_tests::signin;
use connector_tests::*;
use serde_json::{json, Value};

use crate::serve::{connect, create_cc, endpoints, register_app};

/// How often the monitor looks at each connection in these tests.
const MONITOR: (&str, &str) = ("CONNECTOR_HOST_HEALTH_SECONDS", "1");

/// The sandbox's token endpoint counters.
fn stats(sandbox: &Sandbox) -> Value {
    ureq::get(&format!("{}/__sandbox/oauth/stats", sandbox.url))
        .call()
        .expect("oauth stats")
        .into_json()
        .expect("json")
}

fn count(sandbox: &Sandbox, counter: &str) -> u64 {
    stats(sandbox)[counter].as_u64().expect("a counter")
}

/// `GET /api/connections/{name}`'s health.
fn health(serve: &Serve, name: &str) -> Value {
    let answer = serve.call("GET", &format!("/api/connections/{name}"), None);
    assert_eq!(answer.status, 200, "{answer:#?}");
    answer.json["health"].clone()
}

/// Polls until `name`'s health is `state` (at most `limit`); every state
/// seen on the way, and how long it took.
fn until_state(serve: &Serve, name: &str, state: &str, limit: Duration) -> (Vec<String>, Duration) {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let now = health(serve, name)["state"]
            .as_str()
            .unwrap_or("none")
            .to_owned();
        if seen.last() != Some(&now) {
            seen.push(now.clone());
        }
        if now == state {
            return (seen, start.elapsed());
        }
        assert!(
            start.elapsed() < limit,
            "{name} never became {state}; saw {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A sandbox with 2-second access tokens and a `serve` with the monitor on,
/// with connection `name` connected through the sandbox's sign-in.
fn connected(name: &str, app: &str) -> (Sandbox, Serve) {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let serve = Serve::start(&endpoints(&sandbox), &[MONITOR]);
    register_app(&sandbox, &serve, app);
    create_cc(&serve, name, app, json!({}));
    connect(&serve, &sandbox, name);
    until_state(&serve, name, "ok", Duration::from_secs(10));
    (sandbox, serve)
}

fn call(serve: &Serve, name: &str) -> u16 {
    let path = format!("/api/connections/{name}/activities/list-user-privileges");
    serve.call("POST", &path, Some(&json!({}))).status
}

/// The Standard Webhooks receiver (`tests/webhooks/receiver.py`, which
/// verifies each delivery with the official library), stopped when dropped.
struct Receiver {
    child: std::process::Child,
    url: String,
    secret: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start() -> Receiver {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "").unwrap();
        let mut child = std::process::Command::new("python3")
            .arg(root().join("tests/webhooks/receiver.py"))
            .arg("--secret-file")
            .arg(&secret)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the webhook receiver");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the receiver prints its URL");
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line:?}");
        Receiver {
            child,
            url,
            secret,
            _dir: dir,
        }
    }

    /// Verifies deliveries with `secret` from now on.
    fn trust(&self, secret: &str) {
        std::fs::write(&self.secret, secret).unwrap();
    }

    fn deliveries(&self) -> Vec<Value> {
        let all: Value = ureq::get(&format!("{}/_deliveries", self.url))
            .call()
            .expect("deliveries")
            .into_json()
            .expect("json");
        for delivery in all.as_array().unwrap() {
            assert_no_canary(&delivery.to_string());
            assert_eq!(delivery["verified"], true, "{delivery}");
        }
        all.as_array().cloned().unwrap_or_default()
    }

    /// The first verified event of type `kind`, waiting up to `limit`.
    fn event(&self, kind: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let found = self
                .deliveries()
                .into_iter()
                .find(|d| d["event"]["type"] == kind);
            if let Some(delivery) = found {
                return delivery["event"].clone();
            }
            assert!(
                start.elapsed() < limit,
                "no {kind} delivered within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many log lines announce `kind` (the event's log line carries the envelope).
fn announced(log: &str, kind: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains("connection health event") && l.contains(&format!("\"type\":\"{kind}\""))
        })
        .count()
}

#[test]
fn an_idle_connection_stays_usable_as_its_tokens_are_renewed_in_the_background() {
    let (sandbox, mut serve) = connected("idle", "app-idle");
    let before = count(&sandbox, "refreshes");
    // Three token lifetimes, no call.
    std::thread::sleep(Duration::from_secs(6));
    let renewed = count(&sandbox, "refreshes") - before;
    assert!(
        renewed >= 3,
        "the monitor renewed the token {renewed} times in 6 s"
    );
    assert_eq!(count(&sandbox, "invalid_grant"), 0, "{}", stats(&sandbox));
    // Right after a renewal, a call finds a fresh token: no refresh in it.
    let last = count(&sandbox, "refreshes");
    while count(&sandbox, "refreshes") == last {
        std::thread::sleep(Duration::from_millis(20));
    }
    let at_call = count(&sandbox, "refreshes");
    assert_eq!(call(&serve, "idle"), 200);
    assert_eq!(
        count(&sandbox, "refreshes"),
        at_call,
        "the call needed no refresh"
    );
    let shown = health(&serve, "idle");
    assert_eq!(shown["state"], "ok", "{shown}");
    assert!(shown["since"].as_str().unwrap().ends_with('Z'), "{shown}");
    let status = serve.call("GET", "/api/connections/idle/status", None).json;
    assert_eq!(status["health"]["state"], "ok", "{status}");
    let (_, log) = serve.stop();
    assert_eq!(announced(&log, "connection.needs_reauth"), 0);
}

#[test]
fn a_revoked_grant_is_needs_reauth_announced_once_and_a_reconnect_recovers_it() {
    let receiver = Receiver::start();
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let config = format!(
        "[events]\nwebhook_destinations = [\"{}\"]\n{}",
        receiver.url,
        endpoints(&sandbox)
    );
    let mut serve = Serve::start(&config, &[MONITOR]);
    register_app(&sandbox, &serve, "app-revoked");
    create_cc(&serve, "revoked", "app-revoked", json!({}));
    connect(&serve, &sandbox, "revoked");
    until_state(&serve, "revoked", "ok", Duration::from_secs(10));
    let subscription =
        json!({"trigger": "connection.health", "url": format!("{}/hooks", receiver.url)});
    let created = serve.call(
        "POST",
        "/api/connections/revoked/subscriptions",
        Some(&subscription),
    );
    assert_eq!(created.status, 201, "{created:#?}");
    receiver.trust(created.json["secret"].as_str().expect("the signing secret"));

    let revoked_at = Instant::now();
    sandbox.control("oauth/revoke", json!({"client_id": "app-revoked"}));
    // A 2-second token is renewed at 1 s: the refusal comes within one renewal.
    let (_, took) = until_state(&serve, "revoked", "needs_reauth", Duration::from_secs(10));
    let event = receiver.event("connection.needs_reauth", Duration::from_secs(20));
    eprintln!(
        "needs_reauth shown {took:?}, delivered {:?} after the revocation",
        revoked_at.elapsed()
    );
    assert_eq!(event["connection"], "revoked", "{event}");
    assert!(
        event.get("tenant").is_none(),
        "the default tenant is omitted: {event}"
    );
    assert_eq!(event["data"]["state"], "needs_reauth", "{event}");
    let shown = health(&serve, "revoked");
    assert!(
        shown["reason"].as_str().unwrap().contains("invalid_grant"),
        "{shown}"
    );
    assert_eq!(event["data"]["reason"], shown["reason"]);
    assert_eq!(event["timestamp"], shown["since"]);
    let listed = serve.call("GET", "/api/connections", None).json;
    assert_eq!(
        listed["connections"][0]["health"]["state"], "needs_reauth",
        "{listed}"
    );
    // Nobody spends the refused refresh token again (nor does a call).
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(call(&serve, "revoked"), 409, "the call says connect again");
    assert_eq!(count(&sandbox, "invalid_grant"), 1, "{}", stats(&sandbox));

    reconnect_on_the_page(&serve, &sandbox, "revoked");
    let event = receiver.event("connection.recovered", Duration::from_secs(20));
    assert_eq!(event["data"]["state"], "ok", "{event}");
    assert_eq!(health(&serve, "revoked")["state"], "ok");
    assert_eq!(call(&serve, "revoked"), 200);
    let (_, log) = serve.stop();
    let kinds: Vec<String> = receiver
        .deliveries()
        .iter()
        .map(|d| {
            d["event"]["type"]
                .as_str()
                .unwrap_or("unverified")
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        ["connection.needs_reauth", "connection.recovered"],
        "each once, in order"
    );
    assert_eq!(
        announced(&log, "connection.needs_reauth"),
        1,
        "announced once"
    );
    assert_eq!(announced(&log, "connection.recovered"), 1);
}

/// The page shows the state and a Reconnect button, which runs the usual
/// connect flow (the sandbox's sign-in in a real browser).
fn reconnect_on_the_page(serve: &Serve, sandbox: &Sandbox, name: &str) {
    let browser = Browser::start();
    crate::page::sign_in(&browser, serve);
    browser.goto(&format!("{}/#connection={name}", serve.url));
    browser.wait_for("#connection-status[data-state='needs-reauth']");
    let shown = browser.text("#status-health");
    assert!(shown.starts_with("Needs reconnecting since"), "{shown}");
    assert!(shown.contains("invalid_grant"), "{shown}");
    assert_eq!(browser.text("#connect"), "Reconnect");
    browser.click("#connect");
    browser.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    browser.wait_for("#username");
    signin::in_browser(&browser, &sandbox.url);
    let back = format!("{}/#connection={name}", serve.url);
    browser.wait_for_url(|u| u.starts_with(&back), Duration::from_secs(15));
    browser.wait_for("#connection-status[data-state='connected']");
    assert_no_canary(&browser.page_source());
}

#[test]
fn an_outage_of_the_token_endpoint_is_unreachable_not_needs_reauth() {
    let (sandbox, mut serve) = connected("outage", "app-outage");
    sandbox.control(
        "faults",
        json!({"path": "/oauth2/default/v1/token", "status": 503, "count": 10000}),
    );
    let (seen, _) = until_state(&serve, "outage", "unreachable", Duration::from_secs(10));
    assert_eq!(seen.first().map(String::as_str), Some("ok"), "{seen:?}");
    let shown = health(&serve, "outage");
    assert!(
        shown["reason"].as_str().unwrap().contains("did not answer"),
        "{shown}"
    );
    ureq::delete(&format!("{}/__sandbox/faults", sandbox.url))
        .call()
        .expect("clear faults");
    let (seen, _) = until_state(&serve, "outage", "ok", Duration::from_secs(15));
    assert!(!seen.iter().any(|s| s == "needs_reauth"), "{seen:?}");
    assert_eq!(call(&serve, "outage"), 200);
    assert_eq!(count(&sandbox, "invalid_grant"), 0, "{}", stats(&sandbox));
    let (_, log) = serve.stop();
    assert_eq!(announced(&log, "connection.needs_reauth"), 0);
    assert_eq!(announced(&log, "connection.recovered"), 0);
}

#[test]
fn a_missing_credential_asset_is_needs_reauth_and_putting_it_back_recovers() {
    let sandbox = Sandbox::start();
    let bao = OpenBao::start();
    bao.kv2_put(
        "secret",
        "apps/probe-key",
        json!({"value": "probe-key-3e81f0"}),
    );
    let config = format!(
        "[stores.vault]\naddress = \"{}\"\npath = \"apps\"\ncache_ttl_seconds = 1\n[endpoints]\n\"https://probe.example\" = \"{}\"\n",
        bao.addr, sandbox.url
    );
    let mut serve = Serve::start(
        &config,
        &[MONITOR, ("VAULT_TOKEN", bao.root_token.as_str())],
    );
    let draft = json!({"name": "keyed", "connector": "probe",
        "fields": {"probe_key": {"asset": {"store": "vault", "name": "probe-key"}}}});
    let created = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
    until_state(&serve, "keyed", "ok", Duration::from_secs(10));
    bao.root_ok(None, "DELETE", "secret/metadata/apps/probe-key", None);
    // The resolver's cache holds the value for its TTL (1 s); then a look finds it gone.
    let (_, took) = until_state(&serve, "keyed", "needs_reauth", Duration::from_secs(10));
    eprintln!("missing asset shown {took:?} after its deletion");
    let shown = health(&serve, "keyed");
    let reason = shown["reason"].as_str().unwrap();
    assert!(
        reason.contains("'probe-key'") && reason.contains("missing"),
        "{shown}"
    );
    bao.kv2_put(
        "secret",
        "apps/probe-key",
        json!({"value": "probe-key-3e81f0"}),
    );
    until_state(&serve, "keyed", "ok", Duration::from_secs(30));
    let (_, log) = serve.stop();
    assert!(
        !log.contains("probe-key-3e81f0"),
        "the asset's value is never logged"
    );
    assert_eq!(announced(&log, "connection.needs_reauth"), 1);
    assert_eq!(announced(&log, "connection.recovered"), 1);
}

#[test]
fn two_replicas_renew_a_token_once_per_lifetime_and_announce_a_revocation_once() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let bao = OpenBao::start();
    let config = format!(
        "connections_store = \"vault\"\n[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"platform\"\n{}",
        bao.addr,
        endpoints(&sandbox)
    );
    let env = [MONITOR, ("VAULT_TOKEN", bao.root_token.as_str())];
    let mut first = Serve::start(&config, &env);
    let mut second = Serve::start(&config, &env);
    register_app(&sandbox, &first, "app-replicas");
    create_cc(&first, "shared", "app-replicas", json!({}));
    connect(&first, &sandbox, "shared");
    until_state(&second, "shared", "ok", Duration::from_secs(10));
    let before = count(&sandbox, "refreshes");
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(6));
    let renewed = count(&sandbox, "refreshes") - before;
    let elapsed = start.elapsed().as_secs_f64();
    // One renewal per half lifetime (1 s) between them; each replica
    // renewing on its own would make twice as many.
    assert!(
        (renewed as f64) <= elapsed + 2.0,
        "{renewed} renewals in {elapsed:.1} s by two replicas"
    );
    assert!(renewed >= 3, "{renewed} renewals in {elapsed:.1} s");
    assert_eq!(count(&sandbox, "invalid_grant"), 0, "{}", stats(&sandbox));
    sandbox.control("oauth/revoke", json!({"client_id": "app-replicas"}));
    until_state(&first, "shared", "needs_reauth", Duration::from_secs(10));
    until_state(&second, "shared", "needs_reauth", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&sandbox, "invalid_grant"), 1, "{}", stats(&sandbox));
    let (_, one) = first.stop();
    let (_, two) = second.stop();
    let total =
        announced(&one, "connection.needs_reauth") + announced(&two, "connection.needs_reauth");
    assert_eq!(total, 1, "one announcement between the replicas");
}
