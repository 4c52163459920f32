//! Tenants in `serve`, against the real binary, OpenBao and the sandbox:
//! the operator issues tenant tokens (kept as digests, shown once); each
//! tenant sees, runs, connects and changes only its own connections
//! (connection names are per tenant), whatever name, path or `?tenant=` it
//! sends; its typed secrets and OAuth tokens live in its own places; `/mcp`
//! lists only its tools; a revoked token, and every page session made from
//! it, is refused without a restart, on another replica too. See: issue 18,
//! item 1.

use connector_tests::openbao::OpenBao;
use connector_tests::serve::{get, open_start_link, Answer, Serve, API_TOKEN};
use connector_tests::signin;
use connector_tests::*;
use serde_json::{json, Value};

use crate::serve::{endpoints, register_app};

/// The operator issues a token for `tenant`: its value (shown this once).
pub(crate) fn issue(serve: &Serve, tenant: &str) -> String {
    let path = format!("/api/tenants/{tenant}/tokens");
    let issued = serve.call("POST", &path, Some(&json!({"label": "test"})));
    assert_eq!(issued.status, 201, "{issued:#?}");
    let token = issued.json["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cht_") && token.len() == 68, "{token}");
    remember(&token);
    token
}

/// Tenant tokens are secrets: no output may hold one (as for the canaries).
fn remember(token: &str) {
    TOKENS.lock().unwrap().push(token.to_owned());
}

static TOKENS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

pub(crate) fn assert_no_token(text: &str) {
    for token in TOKENS.lock().unwrap().iter() {
        assert!(
            !text.contains(token.as_str()),
            "a tenant token leaked: {text}"
        );
    }
}

pub(crate) fn call(
    serve: &Serve,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Answer {
    let answer = serve.call_as(method, path, body, Some(token));
    assert_no_token(&answer.text);
    answer
}

/// Creates CC connection `name` in `token`'s tenant.
fn create(serve: &Serve, token: &str, name: &str, client_id: &str) -> Answer {
    let draft = json!({"name": name, "connector": "constant-contact",
        "fields": {"client_id": {"value": client_id}, "client_secret": {"value": CANARIES[1]}}});
    call(serve, token, "POST", "/api/connections", Some(&draft))
}

/// Connect through the API with `token`, as the tenant's person does.
fn connect(serve: &Serve, sandbox: &Sandbox, token: &str, name: &str) {
    let path = format!("/api/connections/{name}/connect");
    let started = call(serve, token, "POST", &path, None);
    assert_eq!(started.status, 200, "{started:#?}");
    let (binding, provider) = open_start_link(started.json["authorize_url"].as_str().unwrap());
    let location = signin::sign_in(&sandbox.url, &provider, "verify");
    let back = get(&location, Some(&binding));
    assert_eq!(back.status(), 200, "the sign-in finishes in its tenant");
}

fn run(serve: &Serve, token: &str, name: &str) -> Answer {
    let path = format!("/api/connections/{name}/activities/list-contact-lists");
    call(serve, token, "POST", &path, Some(&json!({})))
}

/// Every route a tenant may name a connection on: (method, path, body).
fn routes(name: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let base = format!("/api/connections/{name}");
    let update = json!({"connector": "constant-contact", "fields": {"client_id": {"value": "x"}}});
    vec![
        ("GET", base.clone(), None),
        ("PUT", base.clone(), Some(update)),
        ("POST", format!("{base}/check"), None),
        ("GET", format!("{base}/status"), None),
        ("POST", format!("{base}/connect"), None),
        (
            "POST",
            format!("{base}/activities/list-contact-lists"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("{base}/activities/list-contact-lists/pages"),
            Some(json!({})),
        ),
        ("DELETE", base, None),
    ]
}

/// What a name that was never made gets, and what `name` gets, on `route`.
fn same_as_missing(serve: &Serve, token: &str, name: &str) {
    for ((method, path, body), (_, missing, _)) in routes(name).iter().zip(routes("never-made")) {
        let tried = call(serve, token, method, path, body.as_ref());
        let absent = call(serve, token, method, &missing, body.as_ref());
        assert_eq!(tried.status, 404, "{method} {path}: {tried:#?}");
        assert_eq!(tried.status, absent.status, "{method} {path}");
        // Word for word, but for the name sent.
        assert_eq!(
            tried.text.replace(name, "never-made"),
            absent.text,
            "{method} {path}"
        );
    }
}

#[test]
fn each_tenant_sees_runs_and_changes_only_its_own_connections_whatever_it_sends() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit"]);
    let bao = OpenBao::start();
    let config = format!(
        "[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n{}",
        bao.addr,
        endpoints(&sandbox)
    );
    let serve = Serve::start(&config, &[("VAULT_TOKEN", &bao.root_token)]);
    register_app(&sandbox, &serve, "app-1");
    let (acme, globex) = (issue(&serve, "acme"), issue(&serve, "globex"));

    // The same name in two tenants is two connections.
    for token in [&acme, &globex] {
        assert_eq!(create(&serve, token, "shop", "app-1").status, 201);
        connect(&serve, &sandbox, token, "shop");
        assert_eq!(run(&serve, token, "shop").status, 200);
    }
    assert_eq!(create(&serve, &globex, "only-globex", "app-1").status, 201);
    assert_eq!(
        create(&serve, &acme, "shop", "app-1").status,
        409,
        "unique per tenant"
    );

    // Each list holds its own; the operator chooses a tenant with ?tenant=.
    let names = |answer: Answer| -> Vec<String> {
        answer.json["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(call(&serve, &acme, "GET", "/api/connections", None)),
        ["shop"]
    );
    assert_eq!(
        names(call(&serve, &globex, "GET", "/api/connections", None)),
        ["only-globex", "shop"]
    );
    assert_eq!(
        names(serve.call("GET", "/api/connections?tenant=globex", None)),
        ["only-globex", "shop"]
    );
    assert!(
        names(serve.call("GET", "/api/connections", None)).is_empty(),
        "default is its own tenant"
    );

    // Another tenant's connection is as absent as one never made, by name,
    // by path tricks, and by asking for the other tenant.
    same_as_missing(&serve, &acme, "only-globex");
    for trick in [
        "..%2Ftenants%2Fglobex%2Fonly-globex",
        "tenants%2Fglobex%2Fonly-globex",
        "%2e%2e%2fglobex%2fonly-globex",
        "ONLY-GLOBEX",
        "only-globex%00",
        "only-globex.toml",
        "only-gl%D0%BEbex",     // a Cyrillic o
        "%EF%BD%8Fnly-globex",  // a fullwidth o
        "only-globex%E2%80%8B", // a zero-width space
    ] {
        let answer = call(
            &serve,
            &acme,
            "GET",
            &format!("/api/connections/{trick}"),
            None,
        );
        assert_eq!(answer.status, 404, "{trick}: {answer:#?}");
    }
    for path in [
        "/api/connections?tenant=globex",
        "/api/connections/only-globex?tenant=globex",
    ] {
        let answer = call(&serve, &acme, "GET", path, None);
        assert_eq!(
            (answer.status, answer.json["error"]["class"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }

    // A tenant cannot name the host's own records as a credential asset.
    for asset in [
        "tenants/globex/secrets/shop/client_secret",
        "tokens/shop",
        "Tenants/globex/tokens/shop",
        "secrets/shop/client_secret",
    ] {
        let draft = json!({"name": "thief", "connector": "constant-contact",
            "fields": {"client_id": {"value": "app-1"}, "client_secret": {"asset": {"store": "vault", "name": asset}}}});
        let answer = call(&serve, &acme, "POST", "/api/connections", Some(&draft));
        assert_eq!(answer.status, 422, "{asset}: {answer:#?}");
        assert!(
            answer.text.contains("keeps its own records"),
            "{}",
            answer.text
        );
    }

    // Each tenant's typed secret and token record are in its own places.
    for tenant in ["acme", "globex"] {
        let secret = bao.root_ok(
            None,
            "GET",
            &format!("secret/data/connectors/tenants/{tenant}/secrets/shop/client_secret"),
            None,
        );
        assert_eq!(secret["data"]["data"]["value"], json!(CANARIES[1]));
        bao.root_ok(
            None,
            "GET",
            &format!("secret/data/connectors/tenants/{tenant}/tokens/shop"),
            None,
        );
        assert!(serve
            .dir()
            .join(format!("connections/tenants/{tenant}/shop.toml"))
            .is_file());
    }

    // The operator's routes are the operator's.
    for (method, path) in [
        ("GET", "/api/tenants"),
        ("GET", "/api/tenants/acme/tokens"),
        ("POST", "/api/tenants/acme/tokens"),
    ] {
        let answer = call(&serve, &acme, method, path, Some(&json!({})));
        assert_eq!(answer.status, 403, "{method} {path}");
    }
    let tenants = serve.call("GET", "/api/tenants", None).json;
    assert_eq!(
        tenants["tenants"],
        json!([{"name": "acme", "tokens": 1}, {"name": "default", "tokens": 0}, {"name": "globex", "tokens": 1}])
    );

    // Deleting acme's shop leaves globex's shop, its secret and its token.
    assert_eq!(
        call(&serve, &acme, "DELETE", "/api/connections/shop", None).status,
        204
    );
    assert_eq!(run(&serve, &globex, "shop").status, 200);
    bao.root_ok(
        None,
        "GET",
        "secret/data/connectors/tenants/globex/tokens/shop",
        None,
    );
    let gone = bao
        .call(
            &bao.root_token,
            None,
            "GET",
            "secret/data/connectors/tenants/acme/tokens/shop",
            None,
        )
        .unwrap();
    assert_eq!(
        gone.status, 404,
        "acme's token record is deleted with its connection"
    );

    // Neither the token file nor the server's output holds a token.
    let kept = String::from_utf8_lossy(
        &std::fs::read(serve.dir().join("connections/.api-tokens.json")).unwrap(),
    )
    .into_owned();
    assert_no_token(&kept);
    assert_no_canary(&kept);
    let mut serve = serve;
    let (_, stderr) = serve.stop();
    assert_no_token(&stderr);
}

/// The names of the tools an MCP client report lists.
fn tool_names(report: &Value) -> Vec<&str> {
    let tools = report["tools"].as_array().unwrap();
    tools.iter().map(|t| t["name"].as_str().unwrap()).collect()
}

#[test]
fn mcp_with_a_tenant_token_lists_and_calls_only_that_tenants_tools() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit"]);
    let serve = Serve::start(&endpoints(&sandbox), &[]);
    register_app(&sandbox, &serve, "app-1");
    let (acme, globex) = (issue(&serve, "acme"), issue(&serve, "globex"));
    create(&serve, &acme, "acme-shop", "app-1");
    connect(&serve, &sandbox, &acme, "acme-shop");
    for name in ["globex-shop", "globex-eu"] {
        create(&serve, &globex, name, "app-1");
    }
    let url = format!("{}/mcp", serve.url);
    let plan = json!({"calls": [{"tool": "list-contact-lists", "arguments": {}}]});
    let report = crate::mcp::python(&plan, &["http", &url, &acme]);
    let tools = tool_names(&report);
    // One connection: its tools keep the activities' own names.
    assert!(tools.contains(&"list-contact-lists"), "{tools:?}");
    assert!(tools.iter().all(|t| !t.contains("globex")), "{tools:?}");
    assert_eq!(report["calls"][0]["is_error"], false, "{report}");
    // globex's two connections: prefixed by its own names only.
    let report = crate::mcp::python(&json!({"calls": []}), &["http", &url, &globex]);
    let tools = tool_names(&report);
    assert!(tools.iter().all(|t| t.starts_with("globex-")), "{tools:?}");
    // Asking for another tenant in the URL shows nothing of it.
    let report = crate::mcp::python(
        &json!({"calls": []}),
        &["http", &format!("{url}?tenant=globex"), &acme],
    );
    assert_eq!(report["tools"], json!([]), "{report}");
    // The operator chooses a tenant in the URL.
    let report = crate::mcp::python(
        &json!({"calls": []}),
        &["http", &format!("{url}?tenant=acme"), API_TOKEN],
    );
    assert!(!report["tools"].as_array().unwrap().is_empty());
}

#[test]
fn a_revoked_token_and_its_page_sessions_are_refused_without_a_restart_on_every_replica() {
    let serve = Serve::start("", &[]);
    let replica = Serve::replica(&serve, "", &[]);
    let token = issue(&serve, "acme");
    let listed = serve.call("GET", "/api/tenants/acme/tokens", None).json;
    let id = listed["tokens"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        !listed.to_string().contains(&token),
        "a token is shown once"
    );
    // The replica reads the same list.
    assert_eq!(
        call(&replica, &token, "GET", "/api/connections", None).status,
        200
    );
    // A page session made from the tenant's token.
    let answer = serve.sign_in(&token, None);
    assert_eq!(answer.status(), 200);
    let cookie = answer
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = answer.into_string().unwrap();
    let secret = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let (status, _) = serve.page_call("GET", "/api/connections", &cookie, Some(&secret), None);
    assert_eq!(status, 200);

    let revoked = serve.call("DELETE", &format!("/api/tenants/acme/tokens/{id}"), None);
    assert_eq!(revoked.status, 204, "{revoked:#?}");
    assert_eq!(
        call(&serve, &token, "GET", "/api/connections", None).status,
        401
    );
    let (status, _) = serve.page_call("GET", "/api/connections", &cookie, Some(&secret), None);
    assert_eq!(status, 401, "the page session ends with its token");
    // The replica trusts its list for at most two seconds.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(
        call(&replica, &token, "GET", "/api/connections", None).status,
        401
    );
    let again = serve.call("DELETE", &format!("/api/tenants/acme/tokens/{id}"), None);
    assert_eq!(again.status, 404, "{again:#?}");
}

#[test]
fn one_worker_serves_every_tenants_connections_each_under_its_tenants_name() {
    use connector_tests::temporal::{Temporal, Worker};
    use std::time::Duration;
    let temporal = Temporal::start();
    let serve = Serve::start("", &[]);
    let acme = issue(&serve, "acme");
    let draft = |key: &str| json!({"name": "shop", "connector": "probe", "fields": {"probe_key": {"value": key}}});
    let made = serve.call("POST", "/api/connections", Some(&draft(CANARIES[0])));
    assert_eq!(made.status, 201, "{made:#?}");
    let made = call(
        &serve,
        &acme,
        "POST",
        "/api/connections",
        Some(&draft(CANARIES[1])),
    );
    assert_eq!(made.status, 201, "{made:#?}");
    let dir = serve.dir();
    let mut worker = Worker::start(
        &temporal,
        &dir.join("connectors"),
        &dir.join("connections"),
        &[],
    );
    let within = Duration::from_secs(10);
    worker.wait_for_line("serving acme.shop on queue", within);
    worker.wait_for_line("serving shop on queue", within);
    // Each tenant's connection under its own activity names.
    for (name, id) in [("acme.shop", "acme-1"), ("shop", "default-1")] {
        let plan = json!({"task_queue": worker.queue_of(name), "workflows": [{"id": id,
            "steps": [crate::worker::step(&format!("{name}.check"), json!({}))]}]});
        let report = temporal.run_workflows(&plan);
        assert_eq!(
            crate::worker::results(&report, 0)[0],
            json!({"ok": null}),
            "{report:#}"
        );
        crate::worker::assert_no_canary_in_history(&temporal, &report);
    }
    // acme deletes its shop: only acme's stops being served.
    assert_eq!(
        call(&serve, &acme, "DELETE", "/api/connections/shop", None).status,
        204
    );
    worker.wait_for_line("stopped serving acme.shop", within);
    assert!(
        !worker
            .output()
            .iter()
            .any(|l| l == "stopped serving shop: its connection is gone"),
        "{:?}",
        worker.output()
    );
    let plan = json!({"task_queue": worker.queue_of("shop"), "workflows": [{"id": "default-2",
        "steps": [crate::worker::step("shop.check", json!({}))]}]});
    let report = temporal.run_workflows(&plan);
    assert_eq!(
        crate::worker::results(&report, 0)[0],
        json!({"ok": null}),
        "{report:#}"
    );
    let (code, stderr) = worker.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_no_token(&stderr);
}
