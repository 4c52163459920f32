//! `connector-host serve` through its JSON API: the token, the catalogue,
//! connections (typed secrets never echoed nor written in plain text),
//! Connect through the sandbox's sign-in, activity calls with every error
//! class as an HTTP status, NDJSON pages, concurrency, replicas, shutdown.
//! Page sessions and sign-ins are in `signin`; the listener in `listen`.

use connector_tests::openbao::OpenBao;
use connector_tests::serve::{get, open_start_link, Serve, API_TOKEN};
use connector_tests::signin;
use connector_tests::*;
use serde_json::{json, Value};

/// The sandbox with an app whose redirect is `serve`'s callback (known only
/// once serve runs, so the app is registered afterwards).
pub(crate) fn endpoints(sandbox: &Sandbox) -> String {
    format!(
        "[endpoints]\n\"https://api.cc.email\" = \"{url}\"\n\"https://authz.constantcontact.com\" = \"{url}\"\n",
        url = sandbox.url
    )
}

pub(crate) fn register_app(sandbox: &Sandbox, serve: &Serve, client_id: &str) {
    sandbox.control(
        "apps",
        json!({"client_id": client_id, "client_secret": CANARIES[1],
               "redirect_uris": [format!("{}/oauth/callback", serve.url)], "refresh_mode": "rotating"}),
    );
}

/// Creates CC connection `name` with the app's client id and (typed) secret.
pub(crate) fn create_cc(serve: &Serve, name: &str, client_id: &str, extra: Value) -> Value {
    let mut draft = json!({"name": name, "connector": "constant-contact",
        "fields": {"client_id": {"value": client_id}, "client_secret": {"value": CANARIES[1]}}});
    if let (Some(d), Some(e)) = (draft.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    let created = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
    created.json
}

/// Connect through the API, as its person does: the one-time start link
/// opened in a browser (which it binds), the sandbox's pages, the redirect
/// back to that browser.
pub(crate) fn connect(serve: &Serve, sandbox: &Sandbox, name: &str) {
    let started = serve.call("POST", &format!("/api/connections/{name}/connect"), None);
    assert_eq!(started.status, 200, "{started:#?}");
    let link = started.json["authorize_url"].as_str().unwrap();
    let (binding, provider) = open_start_link(link);
    let location = signin::sign_in(&sandbox.url, &provider, "verify");
    assert!(
        location.starts_with(&format!("{}/oauth/callback", serve.url)),
        "{location}"
    );
    let back = get(&location, Some(&binding));
    assert_eq!(
        back.status(),
        200,
        "the browser that opened the link finishes the sign-in"
    );
}

fn run(serve: &Serve, name: &str, activity: &str, input: &Value) -> connector_tests::serve::Answer {
    serve.call(
        "POST",
        &format!("/api/connections/{name}/activities/{activity}"),
        Some(input),
    )
}

#[test]
fn every_api_call_needs_the_api_token() {
    let serve = Serve::start("", &[]);
    for token in [None, Some("not-the-token-1234567890")] {
        let answer = serve.call_as("GET", "/api/connectors", None, token);
        assert_eq!(answer.status, 401, "{answer:#?}");
        assert_eq!(answer.json["error"]["class"], "unauthenticated");
    }
    assert_eq!(serve.call("GET", "/api/connectors", None).status, 200);
    let openapi = serve.call_as("GET", "/openapi.json", None, None);
    assert_eq!(openapi.status, 200);
    assert_eq!(openapi.json["openapi"], "3.1.0");
    assert!(openapi.json["paths"]["/api/connections/{name}/activities/{activity}"].is_object());
    assert!(openapi.json["paths"]["/api/stores"]["get"].is_object());
}

#[test]
fn pages_forbid_framing_sniffing_caching_and_any_script_but_the_hosts() {
    let serve = Serve::start("", &[]);
    for path in ["/", "/js/app.js"] {
        let response = ureq::get(&format!("{}{path}", serve.url))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let header = |name: &str| response.header(name).unwrap_or_default().to_owned();
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        let policy = header("content-security-policy");
        for rule in [
            "script-src 'self'",
            "frame-ancestors 'none'",
            "default-src 'self'",
        ] {
            assert!(policy.contains(rule), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
    }
}

#[test]
fn the_catalogue_shows_sha256_and_picks_up_new_components_without_a_restart() {
    let serve = Serve::start("", &[]);
    let names = |serve: &Serve| -> Vec<String> {
        let list = serve.call("GET", "/api/connectors", None).json;
        list["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(names(&serve), ["constant-contact", "probe"]);
    let listed = serve.call("GET", "/api/connectors", None).json;
    let sha = listed["connectors"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    use sha2::Digest;
    let bytes = std::fs::read(component("cc_connector")).unwrap();
    assert_eq!(sha, format!("{:x}", sha2::Sha256::digest(&bytes)));
    std::fs::copy(
        component("legacy_connector"),
        serve.dir().join("connectors/legacy.wasm"),
    )
    .unwrap();
    assert!(
        names(&serve).contains(&"legacy".to_owned()),
        "a component added while running appears"
    );
    let described = serve
        .call("GET", "/api/connectors/constant-contact", None)
        .json;
    assert!(described["activities"][0]["input_schema"].is_object());
    let unknown = serve.call("GET", "/api/connectors/nope", None);
    assert_eq!(
        (unknown.status, unknown.json["error"]["class"].clone()),
        (404, json!("not_found"))
    );
}

#[test]
fn a_connection_made_through_the_api_runs_on_the_cli_too() {
    let serve = Serve::start("", &[]);
    let created = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "probe-1", "connector": "probe"})),
    );
    assert_eq!(created.status, 201, "{created:#?}");
    let listed = serve.call("GET", "/api/connections", None).json;
    assert_eq!(listed["connections"][0]["name"], "probe-1");
    assert_eq!(listed["connections"][0]["connector"], "probe");
    let input = json!({"text": "hi", "count": 1, "offset": -2, "ratio": 0.5, "enabled": true,
        "tags": [], "color": "red", "shape": "nothing", "inner": {"name": "n", "numbers": []},
        "pair": ["a", 1], "permissions": ["read"]});
    let echoed = run(&serve, "probe-1", "echo", &input);
    assert_eq!(
        (echoed.status, echoed.json["greeting"].clone()),
        (200, json!("hello, hi")),
        "{echoed:#?}"
    );
    let file = serve.connection_file("probe-1");
    let cli = host(&[
        "run",
        &file.display().to_string(),
        "echo",
        "--input",
        &input.to_string(),
    ])
    .ok();
    assert_eq!(cli["greeting"], "hello, hi");
    // The API's own errors.
    let exists = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "probe-1", "connector": "probe"})),
    );
    assert_eq!(exists.status, 409);
    let bad_name = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "../x", "connector": "probe"})),
    );
    assert_eq!(bad_name.status, 422);
    let unknown = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "x", "connector": "nope"})),
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(
        serve
            .call("DELETE", "/api/connections/probe-1", None)
            .status,
        204
    );
    assert_eq!(
        serve.call("GET", "/api/connections/probe-1", None).status,
        404
    );
}

#[test]
fn a_typed_secret_goes_into_the_store_or_a_private_file_and_is_never_echoed() {
    let sandbox = Sandbox::start();
    let bao = OpenBao::start();
    let stores = format!(
        "[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
        bao.addr
    );
    let with_store = Serve::start(
        &format!("{stores}{}", endpoints(&sandbox)),
        &[("VAULT_TOKEN", &bao.root_token)],
    );
    // The stores offered for "Use credential asset"; this one keeps typed secrets.
    let stores = with_store.call("GET", "/api/stores", None).json;
    assert_eq!(stores["stores"][0]["name"], "vault", "{stores}");
    assert_eq!(stores["stores"][0]["keeps_typed_secrets"], true);
    let description = stores["stores"][0]["description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!(
            "Vault at {}, KV v2 mount secret, read-write",
            bao.addr
        )),
        "{description}"
    );
    let view = create_cc(&with_store, "cc-vault", "app-1", json!({}));
    let secret = view["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "client_secret")
        .unwrap()
        .clone();
    assert_eq!(secret["value"], Value::Null);
    assert!(
        secret["source"]
            .as_str()
            .unwrap()
            .contains("credential asset 'secrets/cc-vault/client_secret'"),
        "{secret}"
    );
    let text = std::fs::read_to_string(with_store.connection_file("cc-vault")).unwrap();
    assert_no_canary(&text);
    assert!(
        text.contains("asset = \"secrets/cc-vault/client_secret\""),
        "{text}"
    );
    let stored = bao.root_ok(
        None,
        "GET",
        "secret/data/connectors/secrets/cc-vault/client_secret",
        None,
    );
    assert!(
        stored["data"]["data"]["value"] == json!(CANARIES[1]),
        "the secret is in the store"
    );
    // Without a read-write store: a 0600 file beside the connections.
    let without = Serve::start(&endpoints(&sandbox), &[]);
    let none = without.call("GET", "/api/stores", None).json;
    assert_eq!(none, json!({"stores": []}));
    create_cc(&without, "cc-file", "app-1", json!({}));
    let text = std::fs::read_to_string(without.connection_file("cc-file")).unwrap();
    assert_no_canary(&text);
    let secret_file = without
        .dir()
        .join("connections/.secrets/cc-file/client_secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Kept on update, without typing it again.
    let update = json!({"connector": "constant-contact",
        "fields": {"client_id": {"value": "app-2"}, "client_secret": {"keep": true}}});
    let updated = without.call("PUT", "/api/connections/cc-file", Some(&update));
    assert_eq!(updated.status, 200, "{updated:#?}");
    assert_eq!(
        unsealed(&secret_file, &without.dir().join("data")),
        CANARIES[1]
    );
}

#[test]
fn connect_then_run_with_every_error_class_as_a_status() {
    let sandbox = Sandbox::start();
    let serve = Serve::start(&endpoints(&sandbox), &[]);
    register_app(&sandbox, &serve, "app-serve");
    create_cc(&serve, "cc", "app-serve", json!({}));
    let status = serve.call("GET", "/api/connections/cc/status", None).json;
    assert_eq!(status["connected"], false);
    // Not connected: 409 and what to do.
    let early = run(&serve, "cc", "list-contact-lists", &json!({}));
    assert_eq!(
        (early.status, early.json["error"]["class"].clone()),
        (409, json!("needs_connect")),
        "{early:#?}"
    );
    assert!(early.json["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("connect"));
    connect(&serve, &sandbox, "cc");
    let status = serve.call("GET", "/api/connections/cc/status", None).json;
    assert_eq!(status["connected"], true, "{status}");
    assert!(status["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("contact_data")));
    assert!(status["endpoints"]["token_url"]
        .as_str()
        .unwrap()
        .starts_with("https://authz.constantcontact.com"));
    let created = run(
        &serve,
        "cc",
        "create-contact-list",
        &json!({"name": "From serve"}),
    );
    assert_eq!(
        (created.status, created.json["name"].clone()),
        (200, json!("From serve")),
        "{created:#?}"
    );
    let bad = run(
        &serve,
        "cc",
        "create-contact",
        &json!({"create_source": "robot"}),
    );
    assert_eq!(
        (bad.status, bad.json["error"]["class"].clone()),
        (422, json!("invalid_input"))
    );
    assert!(
        bad.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("input.create_source"),
        "{bad:#?}"
    );
    let unknown = run(&serve, "cc", "no-such-activity", &json!({}));
    assert_eq!(unknown.status, 404);
    let missing = run(
        &serve,
        "cc",
        "get-contact",
        &json!({"contact_id": "00000000-0000-0000-0000-000000000000"}),
    );
    assert_eq!(
        (missing.status, missing.json["error"]["class"].clone()),
        (404, json!("api_refused")),
        "{missing:#?}"
    );
    let not_json = serve.call_raw(
        "POST",
        "/api/connections/cc/activities/list-contact-lists",
        "{nope",
    );
    assert_eq!(not_json, 400);
}

#[test]
fn a_missing_scope_and_an_unreachable_vault_are_their_own_classes() {
    let sandbox = Sandbox::start();
    let mut bao = OpenBao::start();
    let stores = format!(
        "[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
        bao.addr
    );
    let serve = Serve::start(
        &format!("{stores}{}", endpoints(&sandbox)),
        &[("VAULT_TOKEN", &bao.root_token)],
    );
    register_app(&sandbox, &serve, "app-scope");
    create_cc(
        &serve,
        "narrow",
        "app-scope",
        json!({"scopes": ["contact_data", "offline_access"]}),
    );
    connect(&serve, &sandbox, "narrow");
    let denied = run(&serve, "narrow", "list-email-campaigns", &json!({}));
    assert_eq!(
        (denied.status, denied.json["error"]["class"].clone()),
        (403, json!("missing_scope")),
        "{denied:#?}"
    );
    assert!(denied.json["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("campaign_data"));
    // A connection whose secret lives in a Vault that is gone.
    create_cc(&serve, "gone", "app-scope", json!({}));
    bao.stop();
    let gone = run(&serve, "gone", "list-contact-lists", &json!({}));
    assert_eq!(
        (gone.status, gone.json["error"]["class"].clone()),
        (503, json!("secret_unresolvable")),
        "{gone:#?}"
    );
    assert!(
        gone.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{gone:#?}"
    );
}

#[test]
fn all_pages_stream_as_ndjson() {
    let sandbox = Sandbox::start();
    let serve = Serve::start(&endpoints(&sandbox), &[]);
    register_app(&sandbox, &serve, "app-pages");
    create_cc(&serve, "pages", "app-pages", json!({}));
    connect(&serve, &sandbox, "pages");
    for i in 0..5 {
        assert_eq!(
            run(
                &serve,
                "pages",
                "create-contact-list",
                &json!({"name": format!("L{i}")})
            )
            .status,
            200
        );
    }
    let answer = serve.call(
        "POST",
        "/api/connections/pages/activities/list-contact-lists/pages",
        Some(&json!({"limit": 2})),
    );
    assert_eq!(answer.status, 200, "{answer:#?}");
    let lines: Vec<Value> = answer
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 5, "{lines:?}");
    assert!(lines.iter().all(|l| l["list_id"].is_string()), "{lines:?}");
    let unpaged = serve.call(
        "POST",
        "/api/connections/pages/activities/list-user-privileges/pages",
        None,
    );
    assert_eq!(unpaged.status, 422, "{unpaged:#?}");
    assert!(
        unpaged.text.contains("cannot be followed page by page"),
        "{unpaged:#?}"
    );
}

#[test]
fn fifty_simultaneous_calls_while_the_token_expires_make_one_refresh() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "3"]);
    let serve = Serve::start(&format!("{}\n", endpoints(&sandbox)), &[]);
    register_app(&sandbox, &serve, "app-busy");
    create_cc(&serve, "busy", "app-busy", json!({}));
    let text = std::fs::read_to_string(serve.connection_file("busy")).unwrap();
    // Let the client go as fast as the sandbox, which runs without its limit here.
    std::fs::write(
        serve.connection_file("busy"),
        format!("{text}\n[limits]\nrate_limits = []\n"),
    )
    .unwrap();
    connect(&serve, &sandbox, "busy");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let failures: usize = std::thread::scope(|s| {
        let calls: Vec<_> = (0..50)
            .map(|_| s.spawn(|| run(&serve, "busy", "list-user-privileges", &json!({})).status))
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().unwrap())
            .filter(|s| *s != 200)
            .count()
    });
    assert_eq!(failures, 0);
    let stats: Value = ureq::get(&format!("{}/__sandbox/oauth/stats", sandbox.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(stats["refreshes"], 1, "{stats}");
    assert_eq!(stats["invalid_grant"], 0, "{stats}");
}

#[test]
fn shutdown_lets_the_calls_in_flight_finish() {
    let sandbox = Sandbox::start();
    let config = format!(
        "{}\"https://probe.example\" = \"{}\"\n",
        endpoints(&sandbox),
        sandbox.url
    );
    let mut serve = Serve::start(&config, &[]);
    serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "slow", "connector": "probe"})),
    );
    sandbox.control(
        "faults",
        json!({"path": "/v3/slow", "status": 200, "body": {"ok": 1}, "delay_ms": 1500, "count": 1}),
    );
    let url = serve.url.clone();
    let call = std::thread::spawn(move || {
        ureq::post(&format!("{url}/api/connections/slow/activities/fetch"))
            .set("Authorization", &format!("Bearer {API_TOKEN}"))
            .send_json(json!({"url": "https://probe.example/v3/slow", "headers": []}))
            .map(|r| r.status())
            .ok()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, stderr) = serve.stop();
    assert_eq!(
        call.join().unwrap(),
        Some(200),
        "the call in flight finished"
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("every call in flight finished"), "{stderr}");
}

#[test]
fn two_replicas_share_a_connection_without_losing_its_refresh_token_or_showing_a_429() {
    // The sandbox's real limit (4 per second per token) and 2-second access tokens.
    let sandbox = Sandbox::start_with(&["--access-token-lifetime", "2"]);
    let bao = OpenBao::start();
    let config = format!(
        "[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n{}",
        bao.addr,
        endpoints(&sandbox)
    );
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let first = Serve::start(&config, &env);
    let second = Serve::replica(&first, &config, &env);
    register_app(&sandbox, &first, "app-shared");
    create_cc(&first, "shared", "app-shared", json!({}));
    assert!(std::fs::read_to_string(first.connection_file("shared"))
        .unwrap()
        .contains("store = \"vault\""));
    connect(&first, &sandbox, "shared");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = [&first, &first, &second, &second]
            .into_iter()
            .map(|serve| {
                s.spawn(move || {
                    (0..8)
                        .map(|_| {
                            std::thread::sleep(std::time::Duration::from_millis(300));
                            run(serve, "shared", "list-user-privileges", &json!({})).status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every call succeeded, none saw a 429: {statuses:?}"
    );
    // Two replicas keep 4 per second each, so the API did refuse some: the
    // host sent those again instead of passing the 429 on.
    assert!(
        sandbox.requests().iter().any(|r| r["status"] == 429),
        "the test never hit the shared limit"
    );
    let stats: Value = ureq::get(&format!("{}/__sandbox/oauth/stats", sandbox.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(stats["refreshes"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(
        stats["invalid_grant"], 0,
        "no refresh token was used twice: {stats}"
    );
    // The refresh token left in Vault still works: one more call after expiry.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert_eq!(
        run(&second, "shared", "list-user-privileges", &json!({})).status,
        200
    );
}

#[test]
fn the_api_token_may_be_a_credential_asset_and_unknown_paths_are_plain_404s() {
    let bao = OpenBao::start();
    bao.kv2_put("secret", "serve/api", json!({"value": API_TOKEN}));
    let config = format!(
        "api_token = {{ asset = \"api\", store = \"vault\" }}\n[stores.vault]\naddress = \"{}\"\npath = \"serve\"\n",
        bao.addr
    );
    // The harness also sets CONNECTOR_HOST_API_TOKEN; the config's source wins.
    let serve = Serve::start(
        &config,
        &[
            ("VAULT_TOKEN", &bao.root_token),
            (
                "CONNECTOR_HOST_API_TOKEN",
                "another-token-0000000000-1b2c3d4e5f6a7b8c",
            ),
        ],
    );
    assert_eq!(serve.call("GET", "/api/connectors", None).status, 200);
    assert_eq!(
        serve
            .call_as(
                "GET",
                "/api/connectors",
                None,
                Some("another-token-0000000000-1b2c3d4e5f6a7b8c")
            )
            .status,
        401
    );
    assert_eq!(serve.call_as("GET", "/favicon.ico", None, None).status, 404);
}
