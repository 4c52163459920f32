//! OAuth2 connections against the sandbox's authorization server: the
//! browser sign-in with an SMS code in real headless Chromium, PKCE and
//! `state` checks, the device flow, refresh on expiry and on 401, the
//! reconnect and scope errors, and several processes sharing one connection
//! through Vault with rotating refresh tokens.

use connector_tests::browser::Browser;
use connector_tests::openbao::OpenBao;
use connector_tests::signin;
use connector_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

fn run_with_tokens(connection: &ConnectionFile, activity: &str, input: &Value) -> Run {
    let (key, dir) = data_env(connection);
    let conn = connection.path.display().to_string();
    let out = host_env(
        &["run", &conn, activity, "--input", &input.to_string()],
        &[(key, dir.as_str())],
    );
    for token in token_values(connection) {
        assert!(
            !out.stdout.contains(&token) && !out.stderr.contains(&token),
            "a real token leaked into output"
        );
    }
    out
}

/// Connects over plain HTTP (the pages the browser test drives), with `args` for connect.
fn connect_over_http(sandbox: &Sandbox, connection: &ConnectionFile, args: &[&str]) -> Run {
    let connecting = Connecting::start(connection, args);
    let location = signin::sign_in(&sandbox.url, &connecting.prompt, "verify");
    ureq::get(&location)
        .call()
        .expect("the loopback redirect answers");
    connecting.finish()
}

fn stats(sandbox: &Sandbox) -> Value {
    ureq::get(&format!("{}/__sandbox/oauth/stats", sandbox.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap()
}

#[test]
fn browser_sign_in_with_an_sms_code_connects_and_the_tokens_work() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    let connecting = Connecting::start(&connection, &[]);
    let browser = Browser::start();
    browser.goto(&connecting.prompt);
    signin::in_browser(&browser, &sandbox.url);
    browser.wait_for_url(|u| u.starts_with(&app.redirect), Duration::from_secs(15));
    assert!(browser.text("#done").contains("Connector host"));
    let out = connecting.finish();
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stderr.contains("connected: granted") && out.stderr.contains("offline_access"),
        "{}",
        out.stderr
    );
    let lists = run_with_tokens(&connection, "list-contact-lists", &json!({})).ok();
    assert!(lists["lists"].is_array());
}

#[test]
fn a_forged_state_is_refused() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    let connecting = Connecting::start(&connection, &[]);
    let _ = ureq::get(&format!("{}?code=stolen&state=forged", app.redirect)).call();
    connecting
        .finish()
        .fails_with(7, &["state does not match", "possible CSRF"]);
}

#[test]
fn refused_client_credentials_and_a_silent_browser_are_clear_errors() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    let text = std::fs::read_to_string(&connection.path)
        .unwrap()
        .replace(CANARIES[1], "not-the-secret");
    std::fs::write(&connection.path, text).unwrap();
    connect_over_http(&sandbox, &connection, &[]).fails_with(
        7,
        &[
            "refused the client credentials (invalid_client)",
            "client_secret",
        ],
    );
    Connecting::start(&connection, &["--timeout", "1"])
        .finish()
        .fails_with(7, &["no answer from the browser within 1 s", "--device"]);
}

#[test]
fn declining_in_the_browser_is_a_clear_error() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    let connecting = Connecting::start(&connection, &[]);
    let location = signin::sign_in(&sandbox.url, &connecting.prompt, "decline");
    assert!(location.contains("error=access_denied"), "{location}");
    let _ = ureq::get(&location).call();
    connecting
        .finish()
        .fails_with(7, &["declined (access_denied)"]);
}

#[test]
fn a_pkce_verifier_mismatch_is_refused() {
    use base64::Engine;
    use sha2::Digest;
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", false);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(
        b"the-right-verifier-0123456789012345678901234",
    ));
    let authorize = format!(
        "{}/oauth2/default/v1/authorize?client_id={}&redirect_uri={}&response_type=code&scope=contact_data&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        sandbox.url, app.client_id, app.redirect
    );
    let location = signin::sign_in(&sandbox.url, &authorize, "verify");
    let code = url_param(&location, "code");
    let exchange = |verifier: &str| {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", app.redirect.as_str()),
            ("client_id", app.client_id.as_str()),
            ("code_verifier", verifier),
        ];
        match ureq::post(&format!("{}/oauth2/default/v1/token", sandbox.url)).send_form(&form) {
            Ok(r) => (r.status(), r.into_json::<Value>().unwrap()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_json::<Value>().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    let (status, body) = exchange("a-wrong-verifier-0123456789012345678901234567");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

fn url_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .to_owned()
}

#[test]
fn device_flow_end_to_end_honours_slow_down() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--device-interval", "1"]);
    let app = App::register(&sandbox, "rotating", false);
    let connection = app.connection(&sandbox, "");
    sandbox.control("faults", json!({"path": "/oauth2/default/v1/token", "method": "POST", "status": 400, "body": {"error": "slow_down", "error_description": "poll less often"}, "count": 1}));
    let connecting = Connecting::start(&connection, &["--device"]);
    let user_code = connecting
        .prompt
        .split("enter the code ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("user code")
        .to_owned();
    signin::approve_device(&sandbox.url, &user_code, "approve");
    let out = connecting.finish();
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        run_with_tokens(&connection, "list-contact-lists", &json!({})).ok()["lists"].is_array()
    );
}

#[test]
fn an_expired_access_token_is_refreshed_before_the_call() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    assert_eq!(connect_over_http(&sandbox, &connection, &[]).code, 0);
    std::thread::sleep(Duration::from_millis(2300));
    assert!(
        run_with_tokens(&connection, "list-contact-lists", &json!({})).ok()["lists"].is_array()
    );
    assert_eq!(stats(&sandbox)["refreshes"], 1);
    assert!(
        sandbox.requests().iter().all(|r| r["status"] == 200),
        "no call went out with the expired token"
    );
}

#[test]
fn the_first_connect_pins_the_endpoints_and_tokens_remember_their_issuer() {
    // See: issue 7 ("the connector chooses where the host sends OAuth secrets").
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    let out = connect_over_http(&sandbox, &connection, &[]);
    assert!(
        out.stderr.contains("pinned the OAuth endpoints"),
        "{out:#?}"
    );
    let token_url = "https://authz.constantcontact.com/oauth2/default/v1/token";
    let text = std::fs::read_to_string(&connection.path).unwrap();
    assert!(
        text.contains(&format!("token_url = \"{token_url}\"")),
        "{text}"
    );
    let conn = connection.path.display().to_string();
    let (key, dir) = data_env(&connection);
    let status = host_env(&["status", &conn], &[(key, dir.as_str())]);
    assert!(status.stdout.contains("pinned: authorize"), "{status:#?}");
    let file = std::fs::read_dir(connection.dir().join("data/tokens"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a token file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "token files are private");
    }
    let record = unsealed(&file, &connection.dir().join("data"));
    assert!(
        record.contains(token_url),
        "the record remembers its issuer"
    );
    // Tokens from another issuer are not refreshed at the pinned one.
    std::fs::write(
        &file,
        record.replace(token_url, "https://elsewhere.example/token"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(2300));
    run_with_tokens(&connection, "list-contact-lists", &json!({})).fails_with(
        7,
        &[
            "issued by https://elsewhere.example/token",
            token_url,
            "reconnect",
        ],
    );
    assert_eq!(stats(&sandbox)["refreshes"], 0, "no refresh token was sent");
}

#[test]
fn the_host_provider_list_pins_the_endpoints_before_any_connect() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit"]);
    let app = App::register(&sandbox, "rotating", true);
    let list = tempfile::NamedTempFile::new().unwrap();
    let path = list.path().display().to_string();
    let entry = |token_url: &str| {
        format!("[constant-contact]\nauthorize_url = \"https://authz.constantcontact.com/oauth2/default/v1/authorize\"\ntoken_url = \"{token_url}\"\ndevice_authorize_url = \"https://authz.constantcontact.com/oauth2/default/v1/device/authorize\"\n")
    };
    let cc_token = "https://authz.constantcontact.com/oauth2/default/v1/token";

    // The list names what the connector proposes: connect pins it, saying where it came from.
    std::fs::write(list.path(), entry(cc_token)).unwrap();
    let connection = app.connection(&sandbox, "");
    let connecting =
        Connecting::start_env(&connection, &[], &[("CONNECTOR_HOST_PROVIDERS", &path)]);
    let location = signin::sign_in(&sandbox.url, &connecting.prompt, "verify");
    ureq::get(&location).call().unwrap();
    let out = connecting.finish();
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stderr
            .contains(&format!("the provider list {path} names")),
        "{out:#?}"
    );
    let text = std::fs::read_to_string(&connection.path).unwrap();
    assert!(
        text.contains(&format!("token_url = \"{cc_token}\"")),
        "{text}"
    );

    // The list names another token URL than the connector: nothing is sent.
    std::fs::write(list.path(), entry("https://tokens.example/token")).unwrap();
    let fresh = app.connection(&sandbox, "");
    let conn = fresh.path.display().to_string();
    let (key, dir) = data_env(&fresh);
    let before = stats(&sandbox)["token_requests"].clone();
    host_env(
        &["connect", &conn, "--no-browser", "--timeout", "5"],
        &[(key, dir.as_str()), ("CONNECTOR_HOST_PROVIDERS", &path)],
    )
    .fails_with(
        3,
        &[
            "token_url",
            "https://tokens.example/token",
            cc_token,
            &path,
            "nothing was sent",
        ],
    );
    assert_eq!(
        stats(&sandbox)["token_requests"],
        before,
        "no token request"
    );

    // A broken list is an error naming it, not a silent fallback to the proposal.
    std::fs::write(list.path(), "[constant-contact]\ntoken_url = 5\n").unwrap();
    host_env(
        &["connect", &conn, "--no-browser", "--timeout", "5"],
        &[(key, dir.as_str()), ("CONNECTOR_HOST_PROVIDERS", &path)],
    )
    .fails_with(3, &["provider list", &path, "line 2"]);
}

#[test]
fn a_401_refreshes_and_retries_once() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    assert_eq!(connect_over_http(&sandbox, &connection, &[]).code, 0);
    let access = token_values(&connection)
        .into_iter()
        .next()
        .expect("an access token");
    sandbox.control("tokens/revoke", json!({"token": access}));
    assert!(
        run_with_tokens(&connection, "list-contact-lists", &json!({})).ok()["lists"].is_array()
    );
    assert_eq!(stats(&sandbox)["refreshes"], 1);
    let statuses: Vec<Value> = sandbox
        .requests()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(401), json!(200)]);
}

#[test]
fn without_offline_access_an_expired_token_asks_to_reconnect() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    assert_eq!(
        connect_over_http(&sandbox, &connection, &["--scopes", "contact_data"]).code,
        0
    );
    std::thread::sleep(Duration::from_millis(2300));
    let out = run_with_tokens(&connection, "list-contact-lists", &json!({}));
    out.fails_with(
        7,
        &[
            "no refresh token",
            "offline_access",
            "reconnect with `connector-host connect",
        ],
    );
}

#[test]
fn a_missing_scope_is_refused_before_the_connector_runs() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    assert_eq!(
        connect_over_http(
            &sandbox,
            &connection,
            &["--scopes", "account_read offline_access"]
        )
        .code,
        0
    );
    let out = run_with_tokens(&connection, "create-contact-list", &json!({"name": "x"}));
    out.fails_with(
        7,
        &[
            "activity create-contact-list needs scope contact_data",
            "granted account_read offline_access",
            "--scopes \"account_read offline_access contact_data\"",
        ],
    );
    assert!(sandbox.requests().is_empty(), "nothing was sent");
    let (key, dir) = data_env(&connection);
    let status = host_env(
        &["status", &connection.path.display().to_string()],
        &[(key, dir.as_str())],
    );
    assert!(
        status.stdout.contains("connected")
            && status.stdout.contains("account_read offline_access"),
        "{status:#?}"
    );
}

#[test]
fn four_processes_share_a_rotating_refresh_token_through_vault() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let bao = OpenBao::start();
    let app = App::register(&sandbox, "rotating", true);
    let store = format!(
        "[token]\nstore = \"vault\"\nasset = \"cc-oauth\"\n\n[stores.vault]\naddress = \"{}\"\npath = \"connectors\"\nmode = \"read-write\"\nauth = {{ method = \"token\", token = \"{}\" }}\n",
        bao.addr, bao.root_token
    );
    let connection = app.connection(&sandbox, &store);
    assert_eq!(connect_over_http(&sandbox, &connection, &[]).code, 0);
    let (processes, calls) = (4, 20);
    let workers: Vec<_> = (0..processes)
        .map(|_| {
            let path = connection.path.clone();
            std::thread::spawn(move || {
                let file = ConnectionFile::existing(path);
                let mut batch = Batch::start(&file, "list-contact-lists", &[]);
                let ok = (0..calls)
                    .filter(|_| {
                        std::thread::sleep(Duration::from_millis(300));
                        batch.call(&json!({}))["ok"].is_object()
                    })
                    .count();
                let (code, stderr) = batch.finish();
                (ok, code, stderr.matches("check-and-set conflict").count())
            })
        })
        .collect();
    let results: Vec<(usize, i32, usize)> =
        workers.into_iter().map(|w| w.join().unwrap()).collect();
    let stats = stats(&sandbox);
    let conflicts: usize = results.iter().map(|r| r.2).sum();
    eprintln!("race: {processes} processes x {calls} calls; results {results:?}; sandbox {stats}; CAS conflicts resolved {conflicts}");
    assert!(
        results
            .iter()
            .all(|(ok, code, _)| *ok == calls && *code == 0),
        "{results:?}"
    );
    assert_eq!(stats["invalid_grant"], 0, "no refresh token was used twice");
    assert!(
        stats["refreshes"].as_u64().unwrap() >= 2,
        "the tokens were refreshed across several lifetimes: {stats}"
    );
    let record = bao.root_ok(None, "GET", "secret/data/connectors/cc-oauth", None);
    let refresh = record["data"]["data"]["refresh_token"]
        .as_str()
        .expect("a refresh token in Vault")
        .to_owned();
    let still_works = ureq::post(&format!("{}/oauth2/default/v1/token", sandbox.url))
        .set(
            "Authorization",
            &format!("Basic {}", basic(&app.client_id, CANARIES[1])),
        )
        .send_form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert!(
        still_works.is_ok(),
        "the refresh token left in Vault still works"
    );
}

#[test]
fn processes_sharing_a_local_token_file_never_reuse_a_refresh_token() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    assert_eq!(connect_over_http(&sandbox, &connection, &[]).code, 0);
    let (key, dir) = data_env(&connection);
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (path, dir) = (connection.path.clone(), dir.clone());
            std::thread::spawn(move || {
                let mut batch = Batch::start(
                    &ConnectionFile::existing(path),
                    "list-contact-lists",
                    &[(key, dir.as_str())],
                );
                let ok = (0..10)
                    .filter(|_| {
                        std::thread::sleep(Duration::from_millis(300));
                        batch.call(&json!({}))["ok"].is_object()
                    })
                    .count();
                (ok, batch.finish().0)
            })
        })
        .collect();
    let results: Vec<(usize, i32)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(results.iter().all(|r| *r == (10, 0)), "{results:?}");
    let stats = stats(&sandbox);
    assert_eq!(stats["invalid_grant"], 0, "no refresh token was used twice");
    // One refresh per 2 s lifetime, not one per process per lifetime.
    let lifetimes = started.elapsed().as_secs() / 2 + 1;
    let refreshes = stats["refreshes"].as_u64().unwrap();
    assert!(
        (1..=lifetimes).contains(&refreshes),
        "{refreshes} refreshes in {lifetimes} lifetimes: {stats}"
    );
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
