//! What the connection page asks of `serve`, through its JSON API against
//! the real server, OpenBao and the sandbox: Check on a draft that writes
//! nothing, sign-out that ends the page session, and a status that shows
//! the token calls actually use. See: issue 17, item 5.

use std::collections::BTreeSet;
use std::path::Path;

use connector_tests::openbao::OpenBao;
use connector_tests::serve::Serve;
use connector_tests::*;
use serde_json::json;

use crate::serve::{connect, register_app};

use crate::page::config;

/// OpenBao holding the app's client secret as asset `cc-app`, and a `serve`
/// whose read-write store it is.
pub(crate) fn serve_with_app_secret() -> (OpenBao, Serve) {
    let bao = crate::page::bao_with_app_secret();
    let serve = Serve::start(&config(&bao, None), &[("VAULT_TOKEN", &bao.root_token)]);
    (bao, serve)
}

/// Every file and directory under `dir`, with its size.
fn tree(dir: &Path) -> BTreeSet<(String, u64)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(here) = stack.pop() {
        for entry in std::fs::read_dir(&here).into_iter().flatten().flatten() {
            let path = entry.path();
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(path.clone());
            }
            out.insert((path.display().to_string(), meta.len()));
        }
    }
    out
}

/// Every key under `connectors/` in OpenBao's `secret` mount, with its version.
fn store(bao: &OpenBao) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut folders = vec!["connectors/".to_owned()];
    while let Some(folder) = folders.pop() {
        let path = format!("secret/metadata/{folder}");
        let Ok(reply) = bao.call(&bao.root_token, None, "LIST", &path, None) else {
            continue;
        };
        for key in reply.body["data"]["keys"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let key = format!("{folder}{}", key.as_str().unwrap_or_default());
            if key.ends_with('/') {
                folders.push(key);
            } else {
                let meta = bao.root_ok(None, "GET", &format!("secret/metadata/{key}"), None);
                out.insert((key, meta["data"]["current_version"].to_string()));
            }
        }
    }
    out
}

#[test]
fn check_on_a_draft_writes_nothing_and_reports_each_field() {
    let (bao, serve) = serve_with_app_secret();
    let (files, assets) = (tree(serve.dir()), store(&bao));

    // A typed secret (which Save would keep in the store), and an asset.
    for secret in [
        json!({"value": CANARIES[0]}),
        json!({"asset": {"store": "vault", "name": "cc-app", "type": "secret", "key": "client_secret"}}),
    ] {
        let draft = json!({"name": "drafted", "connector": "constant-contact",
            "fields": {"client_id": {"value": "app-draft"}, "client_secret": secret}});
        let answer = serve.call("POST", "/api/connections/check", Some(&draft));
        assert_eq!(answer.status, 200, "{answer:#?}");
        assert_eq!(answer.json["ok"], true, "{:#}", answer.json);
        let lines = answer.json["lines"].to_string();
        assert!(lines.contains("field client_secret"), "{lines}");
        assert_no_canary(&lines);
    }
    // A wrong key is a failed line, still with nothing written.
    let wrong = json!({"connector": "constant-contact", "fields": {"client_id": {"value": "a"},
        "client_secret": {"asset": {"store": "vault", "name": "cc-app", "key": "client_secrte"}}}});
    let answer = serve.call("POST", "/api/connections/check", Some(&wrong));
    assert_eq!(answer.json["ok"], false, "{:#}", answer.json);

    assert_eq!(
        tree(serve.dir()),
        files,
        "Check wrote to the server's directory"
    );
    assert_eq!(store(&bao), assets, "Check wrote to the store");
    let list = serve.call("GET", "/api/connections", None).json;
    assert_eq!(list["connections"], json!([]), "Check made a connection");
}

#[test]
fn check_on_a_draft_of_a_saved_connection_keeps_its_other_fields() {
    let (_bao, serve) = serve_with_app_secret();
    let asset =
        json!({"store": "vault", "name": "cc-app", "type": "secret", "key": "client_secret"});
    let created = serve.call("POST", "/api/connections", Some(&json!({"name": "saved",
        "connector": "constant-contact", "fields": {"client_id": {"value": "app"}, "client_secret": {"asset": asset}}})));
    assert_eq!(created.status, 201, "{created:#?}");
    // The view shows the asset's four parts, for editing in place.
    let fields = created.json["fields"].as_array().unwrap();
    let secret = fields
        .iter()
        .find(|f| f["name"] == "client_secret")
        .unwrap();
    assert_eq!(secret["asset"], asset, "{secret}");
    let file = std::fs::read_to_string(serve.connection_file("saved")).unwrap();

    // Only the key changes (a typo): client_id is kept, the check fails on the key.
    let mut typo = asset.clone();
    typo["key"] = json!("client_secrte");
    let draft = json!({"name": "saved", "connector": "constant-contact",
        "fields": {"client_id": {"keep": true}, "client_secret": {"asset": typo}}});
    let answer = serve.call("POST", "/api/connections/check", Some(&draft));
    assert_eq!(answer.status, 200, "{answer:#?}");
    assert_eq!(answer.json["ok"], false, "{:#}", answer.json);
    assert_eq!(
        std::fs::read_to_string(serve.connection_file("saved")).unwrap(),
        file
    );
    // A connection named `check` is still reachable at its own path.
    let named = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "check", "connector": "probe"})),
    );
    assert_eq!(named.status, 201, "{named:#?}");
    assert_eq!(
        serve.call("GET", "/api/connections/check", None).json["name"],
        "check"
    );
    assert_eq!(
        serve
            .call("GET", "/api/connections/check/status", None)
            .status,
        200
    );
    assert_eq!(
        serve.call("DELETE", "/api/connections/check", None).status,
        204
    );
}

#[test]
fn sign_out_ends_the_page_session_for_every_tab() {
    let serve = Serve::start("", &[]);
    let session = serve.page_session();
    let (cookie, secret) = (session.cookie.as_str(), Some(session.secret.as_str()));
    assert_eq!(
        serve
            .page_call("GET", "/api/connections", cookie, secret, None)
            .0,
        200
    );
    // Without the tab's secret, a sign-out is refused (no other site can sign a person out).
    assert_eq!(
        serve
            .page_call("DELETE", "/api/session", cookie, None, None)
            .0,
        403
    );
    assert_eq!(
        serve
            .page_call("GET", "/api/connections", cookie, secret, None)
            .0,
        200
    );

    let out = connector_tests::serve::agent()
        .delete(&format!("{}/api/session", serve.url))
        .set("Cookie", cookie)
        .set("X-CSRF-Token", &session.secret)
        .call()
        .expect("sign out");
    assert_eq!(out.status(), 204);
    let cleared = out.header("set-cookie").unwrap_or_default().to_owned();
    assert!(
        cleared.contains("Max-Age=0"),
        "the cookie is cleared: {cleared}"
    );
    let (status, body) = serve.page_call("GET", "/api/connections", cookie, secret, None);
    assert_eq!(
        status, 401,
        "the old cookie and secret open nothing: {body}"
    );
    let page = connector_tests::serve::get(&serve.url, Some(cookie))
        .into_string()
        .unwrap();
    assert!(
        page.contains("id=\"token\""),
        "the page asks for the token again"
    );
    // An API client has no session to end.
    assert_eq!(serve.call("DELETE", "/api/session", None).status, 422);
}

#[test]
fn status_shows_the_token_calls_use_after_a_refresh_elsewhere() {
    let sandbox = Sandbox::start();
    let bao = OpenBao::start();
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let serve = Serve::start(&config(&bao, Some(&sandbox)), &env);
    register_app(&sandbox, &serve, "app-status");
    crate::serve::create_cc(&serve, "fresh", "app-status", json!({}));
    // Tokens that expire at once, then long ones for every refresh after.
    sandbox.control("oauth", json!({"access_token_lifetime": 1}));
    connect(&serve, &sandbox, "fresh");
    sandbox.control("oauth", json!({"access_token_lifetime": 3600}));
    let stored = || {
        let record = bao.root_ok(None, "GET", "secret/data/connectors/tokens/fresh", None);
        let at: i64 = record["data"]["data"]["expires_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        (at, record["data"]["metadata"]["version"].clone())
    };
    while stored().0 > now_ms() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Expired, and nobody renewed it: the status renews it, as a call
    // would, instead of saying "expired" while calls succeed.
    let status = serve
        .call("GET", "/api/connections/fresh/status", None)
        .json;
    assert_eq!(status["connected"], true, "{status:#}");
    let shown = status["expires_in_seconds"].as_i64().unwrap();
    assert!(
        shown > 3000,
        "the status shows the token calls use: {status:#}"
    );
    let call = serve.call(
        "POST",
        "/api/connections/fresh/activities/list-account-emails",
        Some(&json!({})),
    );
    assert_eq!(call.status, 200, "{call:#?}");

    // Expired again; another process (the CLI, same connection) renews it.
    let record = bao.root_ok(None, "GET", "secret/data/connectors/tokens/fresh", None);
    let mut data = record["data"]["data"].clone();
    data["expires_at"] = json!((now_ms() - 1000).to_string());
    bao.kv2_put("secret", "connectors/tokens/fresh", data);
    let file = serve.connection_file("fresh");
    let run = host_env(
        &[
            "run",
            file.to_str().unwrap(),
            "list-account-emails",
            "--input",
            "{}",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let (expires_at, version) = stored();
    assert!(expires_at > now_ms(), "the CLI renewed the token");
    let status = serve
        .call("GET", "/api/connections/fresh/status", None)
        .json;
    let shown = status["expires_in_seconds"].as_i64().unwrap();
    assert!(
        (shown - (expires_at - now_ms()) / 1000).abs() <= 2,
        "the status shows the other process's token ({shown} s): {status:#}"
    );
    assert_eq!(
        stored().1,
        version,
        "reading the status renewed nothing more"
    );
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}
