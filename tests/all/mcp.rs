//! Activities as MCP tools, driven by clients we did not write: the official
//! Python SDK (`tests/mcp/client.py`, both the 2026-07-28 stateless revision
//! and the older `initialize` one) and `rmcp`'s own client, over stdio
//! (`connector-host mcp`) and Streamable HTTP (`/mcp` on `serve`).

use connector_tests::serve::{Serve, API_TOKEN};
use connector_tests::*;
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::{serve_client_with_lifecycle, ClientLifecycleMode};
use serde_json::{json, Value};

/// Runs the Python SDK client on `plan` against `server` (its arguments after
/// the plan file); returns its report. Checks its output for canaries.
pub(crate) fn python(plan: &Value, server: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, plan.to_string()).unwrap();
    let output = std::process::Command::new("python3")
        .arg(root().join("tests/mcp/client.py"))
        .arg(&file)
        .args(server)
        .env(
            "CONNECTOR_HOST_CACHE_DIR",
            root().join("target/test-artifact-cache"),
        )
        .env("CONNECTOR_HOST_LOG", TRACE_LOG)
        .output()
        .expect("python3 runs (make test installs the mcp package)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_no_canary(&stdout);
    assert_no_canary(&stderr);
    assert!(
        output.status.success(),
        "the Python MCP client failed:\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

pub(crate) fn stdio(connections: &[&ConnectionFile]) -> Vec<String> {
    let mut args = vec![
        "stdio".to_owned(),
        bin("connector-host").display().to_string(),
        "mcp".to_owned(),
    ];
    args.extend(connections.iter().map(|c| c.path.display().to_string()));
    args
}

fn contact_plan(mode: &str) -> Value {
    json!({"mode": mode, "calls": [
        {"tool": "create-contact-list", "arguments": {"name": "Agents"}},
        {"tool": "create-contact", "arguments": {"email_address": {"address": "ada@example.com"}, "first_name": "Ada", "create_source": "account"}},
        {"tool": "list-contacts", "arguments": {"limit": 10}},
        {"tool": "create-contact", "arguments": {"create_source": "robot"}},
        {"tool": "list-user-privileges", "arguments": {}},
    ]})
}

/// What every report must show: valid schemas, explicit annotations, fixed order.
fn check_tools(report: &Value) -> Vec<String> {
    let tools = report["tools"].as_array().unwrap();
    assert!(!tools.is_empty());
    for tool in tools {
        assert_eq!(tool["input_schema_problem"], Value::Null, "{tool}");
        assert_eq!(tool["output_schema_problem"], Value::Null, "{tool}");
        assert_eq!(tool["input_type"], "object", "{tool}");
        let hints = &tool["annotations"];
        for hint in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(
                hints[hint].is_boolean(),
                "{} lacks {hint}: {tool}",
                tool["name"]
            );
        }
    }
    tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Each tool's hints are its activity's flags as `describe` gives them.
fn annotations_follow_the_flags(report: &Value, described: &Value) {
    let tools = report["tools"].as_array().unwrap();
    for activity in described["activities"].as_array().unwrap() {
        let name = &activity["name"];
        let tool = tools.iter().find(|t| t["name"] == *name).unwrap();
        let hints = &tool["annotations"];
        for (hint, flag) in [
            ("readOnlyHint", "read_only"),
            ("destructiveHint", "destructive"),
            ("idempotentHint", "retry_safe"),
        ] {
            assert_eq!(hints[hint], activity[flag], "{name}: {hint} against {flag}");
        }
    }
}

/// The README's table of the Constant Contact tools is the list the official
/// SDK shows; `README_TOOLS=write` rewrites it after activities change.
fn readme_lists_the_tools(report: &Value) {
    let yes = |v: &Value| if v == true { "yes" } else { "no" };
    let header = "| tool | title | read-only | destructive | idempotent |";
    let mut table = vec![header.to_owned(), "|---|---|---|---|---|".to_owned()];
    for tool in report["tools"].as_array().unwrap() {
        let hints = &tool["annotations"];
        table.push(format!(
            "| `{}` | {} | {} | {} | {} |",
            tool["name"].as_str().unwrap(),
            tool["title"].as_str().unwrap_or_default(),
            yes(&hints["readOnlyHint"]),
            yes(&hints["destructiveHint"]),
            yes(&hints["idempotentHint"]),
        ));
    }
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == header)
        .expect("the README's tool table");
    let end = start
        + lines[start..]
            .iter()
            .take_while(|l| l.starts_with('|'))
            .count();
    if std::env::var_os("README_TOOLS").is_some_and(|v| v == "write") {
        let mut out: Vec<String> = lines[..start].iter().map(|l| (*l).to_owned()).collect();
        out.extend(table);
        out.extend(lines[end..].iter().map(|l| (*l).to_owned()));
        std::fs::write(&path, out.join("\n") + "\n").unwrap();
        return;
    }
    let shown: Vec<&str> = lines[start..end].to_vec();
    assert_eq!(
        shown, table,
        "README.md's tool table is stale: run this test with README_TOOLS=write"
    );
}

fn call(report: &Value, index: usize) -> &Value {
    &report["calls"][index]
}

#[test]
fn the_python_sdk_over_stdio_lists_valid_tools_and_runs_constant_contact() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let args = stdio(&[&connection]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let modern = python(&contact_plan("auto"), &args);
    assert_eq!(modern["protocol"], "2026-07-28");
    let names = check_tools(&modern);
    let described = host(&[
        "describe",
        &component("cc_connector").display().to_string(),
        "--json",
    ])
    .ok();
    let activities: Vec<String> = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names, activities,
        "one tool per activity, in describe's order, named after it"
    );
    let tool = |name: &str| {
        modern["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    // About 450 KB of tools and schemas: more than one page, and a cursor that
    // is not one the server gave is refused.
    assert!(
        modern["pages"].as_u64().unwrap() >= 2,
        "{}",
        modern["pages"]
    );
    assert!(
        modern["bad_cursor"]
            .as_str()
            .unwrap()
            .contains("invalid cursor"),
        "{}",
        modern["bad_cursor"]
    );
    annotations_follow_the_flags(&modern, &described);
    readme_lists_the_tools(&modern);
    assert_eq!(tool("list-contacts")["annotations"]["readOnlyHint"], true);
    assert_eq!(tool("create-contact")["annotations"]["readOnlyHint"], false);
    assert!(tool("create-contact")["description"]
        .as_str()
        .unwrap()
        .contains("Required scopes (checked by the host): contact_data."));
    for i in [0, 1, 2, 4] {
        let c = call(&modern, i);
        assert_eq!(c["is_error"], false, "{c}");
        assert_eq!(
            c["output_valid"], true,
            "structuredContent fits outputSchema: {c}"
        );
        // [value, total, message]: the start, each API request, the end.
        let progress = c["progress"].as_array().unwrap();
        let values: Vec<f64> = progress.iter().map(|p| p[0].as_f64().unwrap()).collect();
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "progress only grows: {c}"
        );
        assert!(
            progress.iter().any(|p| p[2] == "API request 1 sent"),
            "each request is reported: {c}"
        );
        let last = progress.last().unwrap();
        assert_eq!((&last[1], &last[2]), (&last[0], &json!("done")), "{c}");
    }
    assert_eq!(
        call(&modern, 1)["structured"]["email_address"]["address"],
        "ada@example.com"
    );
    assert!(call(&modern, 2)["structured"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["first_name"] == "Ada"));
    let invalid = call(&modern, 3);
    assert_eq!(invalid["is_error"], true);
    assert!(
        invalid["text"]
            .as_str()
            .unwrap()
            .contains("input.create_source")
            && invalid["text"].as_str().unwrap().contains("hint:"),
        "{invalid}"
    );
    // The older revision, with `initialize`: the same tools, in the same order.
    let legacy = python(&json!({"mode": "legacy", "calls": []}), &args);
    assert_eq!(legacy["protocol"], "2025-11-25");
    assert_eq!(check_tools(&legacy), names, "tool names are stable");
}

#[test]
fn tool_errors_say_what_failed_and_what_to_do() {
    let sandbox = Sandbox::start_with(&[
        "--no-rate-limit",
        "--token",
        "reader-token-mcp1=account_read",
    ]);
    let app = App::register(&sandbox, "rotating", true);
    let unconnected = app.connection(&sandbox, "");
    let reader = ConnectionFile::constant_contact_with(&sandbox, "reader-token-mcp1", "");
    // Both files are named connection.toml: their tools' names would clash.
    let clash = host(&[
        "mcp",
        &unconnected.path.display().to_string(),
        &reader.path.display().to_string(),
    ]);
    assert!(
        clash.code != 0 && clash.stderr.contains("tool names would clash"),
        "{clash:#?}"
    );
    let named = |file: &ConnectionFile, name: &str| {
        let path = file.dir().join(format!("{name}.toml"));
        std::fs::copy(&file.path, &path).unwrap();
        path.display().to_string()
    };
    let (u, r) = (named(&unconnected, "unconnected"), named(&reader, "reader"));
    let mut args = stdio(&[]);
    args.extend([u, r]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = json!({"calls": [
        {"tool": "unconnected__list-contact-lists", "arguments": {}},
        {"tool": "reader__list-contact-lists", "arguments": {}},
        {"tool": "reader__list-account-emails", "arguments": {}},
    ]});
    let report = python(&plan, &args);
    let names = check_tools(&report);
    assert!(
        names.contains(&"unconnected__create-contact".to_owned()),
        "a connection that is not connected lists its tools"
    );
    let not_connected = call(&report, 0)["text"].as_str().unwrap().to_owned();
    // Worded for the person behind the agent: what to ask for, never a
    // command line or a path on the server.
    assert!(
        not_connected.contains("not connected")
            && not_connected.contains("hint: ask the user to connect 'unconnected' again")
            && !not_connected.contains("connector-host")
            && !not_connected.contains(&*unconnected.dir().to_string_lossy()),
        "{not_connected}"
    );
    let scope = call(&report, 1);
    assert_eq!(scope["is_error"], true);
    let text = scope["text"].as_str().unwrap();
    assert!(
        text.contains("forbidden") && text.contains("hint:"),
        "{scope}"
    );
    assert_eq!(call(&report, 2)["is_error"], false, "{}", call(&report, 2));
}

#[test]
fn a_hostile_connector_under_mcp_is_contained_as_under_the_cli() {
    let connection = ConnectionFile::new(
        &component("hostile_connector"),
        &format!("[token]\naccess_token = \"{TOKEN}\"\n"),
    );
    let args = stdio(&[&connection]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = json!({"calls": [
        {"tool": "fetch", "arguments": {"url": "http://169.254.169.254/latest/meta-data", "headers": []}},
        {"tool": "huge-result", "arguments": {"count": 3000000}},
        {"tool": "forge-hint", "arguments": {}},
        {"tool": "hoard-headers", "arguments": {"count": 8000, "value_kib": 100}},
    ]});
    let report = python(&plan, &args);
    let text = |i: usize| call(&report, i)["text"].as_str().unwrap().to_owned();
    assert!(text(0).contains("not a public address"), "{}", text(0));
    assert!(
        text(1).contains("output limit") && text(1).contains("hint: ask for less"),
        "{}",
        text(1)
    );
    assert!(
        !text(2).contains('\u{1b}') && text(2).contains("\\u{1b}"),
        "{}",
        text(2)
    );
    assert!(
        !text(2).lines().any(|l| l.starts_with("hint: the fix")),
        "{}",
        text(2)
    );
    assert!(text(3).contains("max_header_kib"), "{}", text(3));
    assert!((0..4).all(|i| call(&report, i)["is_error"] == true));
}

/// `serve` with the probe's origin sent to `sandbox`.
pub(crate) fn serve_for_probe(sandbox: &Sandbox) -> Serve {
    Serve::start(
        &format!(
            "[endpoints]\n\"https://probe.example\" = \"{}\"\n",
            sandbox.url
        ),
        &[],
    )
}

#[test]
fn serve_offers_the_same_tools_at_mcp_behind_its_token() {
    let sandbox = Sandbox::start();
    let serve = serve_for_probe(&sandbox);
    assert_eq!(
        serve
            .call(
                "POST",
                "/api/connections",
                Some(&json!({"name": "p1", "connector": "probe"}))
            )
            .status,
        201
    );
    let url = format!("{}/mcp", serve.url);
    let echo = json!({"tool": "echo", "arguments": {"text": "hi", "count": 1, "offset": -2, "ratio": 0.5,
        "enabled": true, "tags": [], "color": "red", "shape": "nothing", "inner": {"name": "n", "numbers": []},
        "pair": ["a", 1], "permissions": ["read"]}});
    for mode in ["auto", "legacy"] {
        let report = python(
            &json!({"mode": mode, "calls": [echo]}),
            &["http", &url, API_TOKEN],
        );
        check_tools(&report);
        assert_eq!(
            call(&report, 0)["structured"]["greeting"],
            "hello, hi",
            "{report}"
        );
        assert_eq!(call(&report, 0)["output_valid"], true);
    }
    let anonymous = serve.call_as(
        "POST",
        "/mcp",
        Some(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})),
        None,
    );
    assert_eq!(anonymous.status, 401);
    // A page on another origin that a browser lets reach this port (DNS
    // rebinding) is refused even when it holds the token.
    for (header, value) in [("Origin", "https://evil.example"), ("Host", "evil.example")] {
        let response = ureq::post(&url)
            .set("Authorization", &format!("Bearer {API_TOKEN}"))
            .set("Accept", "application/json, text/event-stream")
            .set(header, value)
            .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
        let status = match response {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.status(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(status, 403, "{header}: {value}");
    }
}

/// rmcp's own client: stdio in both lifecycles, and Streamable HTTP.
#[tokio::test(flavor = "multi_thread")]
async fn the_rmcp_client_sees_the_same_tools() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    for (list, lifecycle) in [
        (
            "From rmcp, stateless",
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        ),
        ("From rmcp, initialized", ClientLifecycleMode::Initialize),
    ] {
        let mut command = tokio::process::Command::new(bin("connector-host"));
        command
            .arg("mcp")
            .arg(&connection.path)
            .env("CONNECTOR_HOST_LOG", "error");
        let transport = rmcp::transport::TokioChildProcess::new(command).unwrap();
        let client = serve_client_with_lifecycle(ClientConfig::default(), transport, lifecycle)
            .await
            .unwrap();
        let tools = client.list_all_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "create-contact-list"));
        let created = client
            .call_tool(
                CallToolRequestParams::new("create-contact-list")
                    .with_arguments(json!({"name": list}).as_object().unwrap().clone()),
            )
            .await
            .unwrap();
        assert_eq!(created.is_error, Some(false), "{created:?}");
        assert_eq!(created.structured_content.unwrap()["name"], list);
        client.cancel().await.unwrap();
    }
    let serve = Serve::start(
        &format!(
            "[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
            sandbox.url
        ),
        &[],
    );
    assert_eq!(
        serve
            .call(
                "POST",
                "/api/connections",
                Some(&json!({"name": "p2", "connector": "probe"}))
            )
            .status,
        201
    );
    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            format!("{}/mcp", serve.url),
        )
        .auth_header(API_TOKEN);
    let transport = rmcp::transport::StreamableHttpClientTransport::from_config(config);
    let client = serve_client_with_lifecycle(
        ClientConfig::default(),
        transport,
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    // One tool per activity, in describe's order.
    let probe = component("probe_connector").display().to_string();
    let described = host(&["describe", &probe, "--json"]).ok();
    let activities: Vec<String> = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
        activities
    );
    client.cancel().await.unwrap();
}
