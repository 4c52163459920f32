//! The Technology Partners connector end to end: the OAuth2 client-credentials
//! grant (`connector:sdk@0.4.0`) and a second credential (`x-api-key`) beside it.
//!
//! The partner app is registered with the sandbox's partner token endpoint
//! (`POST /oauth2/token`) with [`CANARIES`]`[1]` as its client secret and
//! [`CANARIES`]`[2]` as its API key, so every CLI run here (trace logs
//! included) is checked for both; the tokens the sandbox issued are looked for
//! in output and files too.

use std::time::Duration;

use connector_tests::openbao::OpenBao;
use connector_tests::*;
use serde_json::{json, Value};

/// The partner app's client id.
pub const CLIENT_ID: &str = "cc-partner";
/// The partner connector's component.
pub const COMPONENT: &str = "cc_partner_connector";
/// The token URL the connector proposes (spec `ctctPartnerAuthorizer`).
const TOKEN_URL: &str = "https://v3api-partner.auth.us-east-1.amazoncognito.com/oauth2/token";
const AUTH_ORIGIN: &str = "https://v3api-partner.auth.us-east-1.amazoncognito.com";

/// Registers the partner app (client credentials, secret and API key canaries).
pub fn register(sandbox: &Sandbox) {
    sandbox.control(
        "apps",
        json!({"client_id": CLIENT_ID, "client_secret": CANARIES[1],
               "flows": ["client_credentials"], "api_key": CANARIES[2]}),
    );
}

/// A partner connection to `sandbox`, its token URL pinned, with the secret and
/// the key as literals; `extra` is more TOML (after `[endpoints]`).
pub fn connection(sandbox: &Sandbox, extra: &str) -> ConnectionFile {
    let fields = format!(
        "client_secret = \"{}\"\napi_key = \"{}\"\n",
        CANARIES[1], CANARIES[2]
    );
    with_fields(
        sandbox,
        &fields,
        &format!("token_url = \"{TOKEN_URL}\"\n"),
        extra,
    )
}

/// A partner connection with these `[fields]` lines (beside `client_id`) and
/// `[oauth]` lines.
fn with_fields(sandbox: &Sandbox, fields: &str, oauth: &str, extra: &str) -> ConnectionFile {
    let text = format!(
        "[fields]\nclient_id = \"{CLIENT_ID}\"\n{fields}\n[oauth]\n{oauth}\n[endpoints]\n\"https://api.cc.email\" = \"{url}\"\n\"{AUTH_ORIGIN}\" = \"{url}\"\n{extra}",
        url = sandbox.url
    );
    ConnectionFile::new(&component(COMPONENT), &text)
}

/// The sandbox's token endpoint counters.
fn stats(sandbox: &Sandbox) -> Value {
    ureq::get(&format!("{}/__sandbox/oauth/stats", sandbox.url))
        .call()
        .expect("stats")
        .into_json()
        .expect("json")
}

/// The partner tokens the sandbox saw, in order, and the statuses it answered.
fn seen(sandbox: &Sandbox) -> Vec<(String, u64)> {
    sandbox
        .requests()
        .iter()
        .map(|r| {
            let token = r["authorization"].as_str().unwrap_or_default();
            (token.to_owned(), r["status"].as_u64().unwrap_or(0))
        })
        .collect()
}

/// Asserts none of `tokens` (the bearer values the sandbox saw) is in `text`.
fn assert_no_token(text: &str, tokens: &[(String, u64)]) {
    for (token, _) in tokens {
        let value = token.trim_start_matches("Bearer ");
        assert!(
            !value.is_empty() && !text.contains(value),
            "an issued partner token leaked"
        );
    }
}

fn list(connection: &ConnectionFile) -> Run {
    run(connection, "list-webhook-subscriptions", &json!({}))
}

#[test]
fn one_token_serves_several_calls_and_both_credentials_reach_only_the_api() {
    let sandbox = Sandbox::start();
    register(&sandbox);
    let connection = connection(&sandbox, "");
    let mut batch = Batch::start(&connection, "list-client-accounts", &[]);
    for _ in 0..3 {
        let line = batch.call(&json!({"limit": 10}));
        assert!(line.get("ok").is_some(), "{line}");
    }
    let (code, stderr) = batch.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stats(&sandbox)["client_credentials"],
        1,
        "one token for three calls"
    );
    let seen = seen(&sandbox);
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|(t, s)| *t == seen[0].0 && *s == 200),
        "{seen:?}"
    );
    assert!(sandbox
        .requests()
        .iter()
        .all(|r| r["app"] == json!(CLIENT_ID)));
    assert_no_token(&stderr, &seen);
}

#[test]
fn a_token_is_renewed_ahead_of_its_expiry_and_after_a_401() {
    let sandbox = Sandbox::start();
    register(&sandbox);
    sandbox.control("oauth", json!({"access_token_lifetime": 2}));
    let connection = connection(&sandbox, "");
    let mut batch = Batch::start(&connection, "list-webhook-subscriptions", &[]);
    assert!(batch.call(&json!({})).get("ok").is_some());
    // Within the last quarter of its life: the host asks for a new one first.
    std::thread::sleep(Duration::from_millis(1700));
    assert!(batch.call(&json!({})).get("ok").is_some());
    let ahead = seen(&sandbox);
    assert_eq!(ahead.len(), 2, "no request was refused: {ahead:?}");
    assert_ne!(ahead[0].0, ahead[1].0, "the token was renewed");
    assert_eq!(stats(&sandbox)["client_credentials"], 2);

    // Revoked behind the host's back: the API's 401 makes it ask again, once.
    sandbox.control("oauth", json!({"access_token_lifetime": 3600}));
    assert!(batch.call(&json!({})).get("ok").is_some());
    sandbox.control("oauth/expire", json!({"client_id": CLIENT_ID}));
    let line = batch.call(&json!({}));
    assert!(line.get("ok").is_some(), "{line}");
    let (code, stderr) = batch.finish();
    assert_eq!(code, 0, "{stderr}");
    let all = seen(&sandbox);
    let statuses: Vec<u64> = all.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [200, 200, 200, 401, 200], "{all:?}");
    assert_eq!(all[2].0, all[3].0, "the revoked token was the one in use");
    assert_ne!(all[3].0, all[4].0, "the retry carried a new token");
    // One token request per token used: none wasted, none repeated.
    let distinct: std::collections::BTreeSet<&String> = all.iter().map(|(t, _)| t).collect();
    assert_eq!(stats(&sandbox)["client_credentials"], distinct.len());
    assert_no_token(&stderr, &all);
}

#[test]
fn the_client_secret_and_key_come_from_openbao_and_no_secret_lands_in_a_file() {
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start());
    register(&sandbox);
    bao.kv2_put(
        "secret",
        "connectors/partner-app",
        json!({"value": CANARIES[1]}),
    );
    bao.kv2_put(
        "secret",
        "connectors/partner-key",
        json!({"value": CANARIES[2]}),
    );
    let fields =
        "client_secret = { asset = \"partner-app\" }\napi_key = { asset = \"partner-key\" }\n";
    let store = format!(
        "[stores.vault]\naddress = \"{}\"\npath = \"connectors\"\nauth = {{ method = \"token\", token = \"{}\" }}\n",
        bao.addr, bao.root_token
    );
    // Not pinned yet: `connect` pins the proposal and fetches a token (no browser).
    let connection = with_fields(&sandbox, fields, "", &store);
    let (key, dir) = data_env(&connection);
    let env = [(key, dir.as_str())];
    let path = connection.path.display().to_string();
    let refused = host_env(&["run", &path, "list-webhook-subscriptions"], &env);
    refused.fails_with(
        7,
        &[
            "has not pinned its OAuth token URL",
            "connector-host connect",
        ],
    );
    assert_eq!(
        stats(&sandbox)["token_requests"],
        0,
        "nothing was sent before the pin"
    );
    let connected = host_env(&["connect", &path], &env);
    assert_eq!(connected.code, 0, "{connected:#?}");
    assert!(
        connected.stderr.contains("pinned the OAuth token URL"),
        "{connected:#?}"
    );
    let text = std::fs::read_to_string(&connection.path).unwrap();
    assert!(
        text.contains(&format!("token_url = \"{TOKEN_URL}\"")),
        "{text}"
    );
    let out = host_env(&["run", &path, "list-webhook-subscriptions"], &env);
    assert_eq!(out.ok(), json!({"subscriptions": []}));
    let checked = host_env(&["check", &path], &env);
    assert_eq!(checked.code, 0, "{checked:#?}");
    assert!(
        checked.stdout.contains("a token was issued"),
        "{checked:#?}"
    );
    // Read from OpenBao, not from anywhere on disk.
    assert!(bao.audit_reads("secret/data/connectors/partner-app") >= 1);
    let tokens = seen(&sandbox);
    for file in files(connection.dir()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert_no_canary(&text);
        assert_no_token(&text, &tokens);
    }
}

/// Every file below `dir`.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_token_url_other_than_the_pinned_one_is_refused_before_anything_is_sent() {
    let sandbox = Sandbox::start();
    register(&sandbox);
    let fields = format!(
        "client_secret = \"{}\"\napi_key = \"{}\"\n",
        CANARIES[1], CANARIES[2]
    );
    let elsewhere = "token_url = \"https://login.partner.example/oauth2/token\"\n";
    let connection = with_fields(&sandbox, &fields, elsewhere, "");
    let out = list(&connection);
    assert_ne!(out.code, 0, "{out:#?}");
    for needle in [
        "https://login.partner.example/oauth2/token",
        TOKEN_URL,
        "nothing was sent",
    ] {
        assert!(
            out.stderr.contains(needle),
            "stderr lacks {needle}: {out:#?}"
        );
    }
    assert_eq!(stats(&sandbox)["token_requests"], 0);
    assert!(sandbox.requests().is_empty());
}

#[test]
fn a_wrong_secret_or_key_is_named_and_never_shown() {
    let sandbox = Sandbox::start();
    register(&sandbox);
    let wrong_secret = format!(
        "client_secret = \"not-{}\"\napi_key = \"{}\"\n",
        CANARIES[1], CANARIES[2]
    );
    let pinned = format!("token_url = \"{TOKEN_URL}\"\n");
    let out = list(&with_fields(&sandbox, &wrong_secret, &pinned, ""));
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("invalid_client"), "{out:#?}");
    assert!(out.stderr.contains("client_secret"), "{out:#?}");
    assert!(
        !out.stderr.contains("not-canary"),
        "the wrong secret is not echoed"
    );
    let wrong_key = format!(
        "client_secret = \"{}\"\napi_key = \"not-the-key\"\n",
        CANARIES[1]
    );
    let out = list(&with_fields(&sandbox, &wrong_key, &pinned, ""));
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("403"), "{out:#?}");
    assert!(!out.stderr.contains("not-the-key"), "{out:#?}");
}

#[test]
fn client_accounts_page_with_cursors() {
    let sandbox = Sandbox::start();
    register(&sandbox);
    let token: Value = ureq::post(&format!("{}/oauth2/token", sandbox.url))
        .send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CANARIES[1]),
        ])
        .expect("partner token")
        .into_json()
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    for i in 0..25 {
        let body = json!({"contact_email": "c@example.com", "country_code": "US",
                          "state_code": "MA", "login_name": format!("paged_{i:02}")});
        ureq::post(&format!("{}/v3/partner/accounts", sandbox.url))
            .set("authorization", &bearer)
            .set("x-api-key", CANARIES[2])
            .send_json(body)
            .expect("provision");
    }
    let connection = connection(&sandbox, "");
    let (mut sizes, mut cursor, mut names) = (Vec::new(), None::<String>, Vec::new());
    loop {
        let mut input = json!({"limit": 10});
        if let Some(c) = &cursor {
            input["cursor"] = json!(c);
        }
        let page = run(&connection, "list-client-accounts", &input).ok();
        let accounts = page["site_owner_list"].as_array().unwrap();
        sizes.push(accounts.len());
        names.extend(accounts.iter().map(|a| a["site_owner_name"].clone()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(names.first(), Some(&json!("paged_00")));
    assert_eq!(names.last(), Some(&json!("paged_24")));
    let below = run(&connection, "list-client-accounts", &json!({"limit": 5}));
    assert_ne!(below.code, 0, "limit 5 is below the spec's 10: {below:#?}");
}

/// `connector:sdk@0.4.0` changed `auth-scheme` and `connector-info`: a
/// component built against 0.3.0 (`tests/connectors/previous`) still loads,
/// describes (its API-key scheme read by 0.3.0's case order) and runs.
#[test]
fn a_connector_built_against_sdk_0_3_0_still_loads_describes_and_runs() {
    let path = component("previous_connector").display().to_string();
    let described = host(&["describe", &path, "--json"]).ok();
    assert_eq!(described["name"], "previous");
    assert_eq!(described["auth"]["api_key"]["name"], "x-api-key");
    assert_eq!(described["extra_keys"], json!([]));
    assert_eq!(
        described["activities"][0]["pitfalls"],
        json!(["Nothing is sent anywhere."])
    );
    let connection = ConnectionFile::new(&component("previous_connector"), "");
    let out = run(&connection, "whisper", &json!({"text": "HÉLLO"})).ok();
    assert_eq!(out, json!({"whispered": "héllo"}));
}
