//! MCP set-ups as real clients use them (issue 17, item 2): the official
//! MCP Inspector's CLI (npm, `tests/node/inspector`, installed by `make
//! tools`) against `connector-host mcp` over stdio and `/mcp` on `serve`;
//! a broken connection among good ones; nothing servable; subsets; and the
//! configurations `--print-config` prints, started as each client would.

use std::path::Path;

use connector_tests::serve::API_TOKEN;
use connector_tests::*;
use serde_json::{json, Value};

/// Runs the Inspector's CLI with `args`: (exit code, its JSON answer — the
/// result on stdout, else the error envelope on stderr — and stderr).
fn inspector(args: &[&str]) -> (i32, Value, String) {
    let output = std::process::Command::new(
        root().join("tests/node/inspector/node_modules/.bin/mcp-inspector"),
    )
    .args(["--cli", "--format", "json", "-q"])
    .args(args)
    .output()
    .expect("the MCP Inspector runs (make tools installs it)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert_no_canary(&stdout);
    assert_no_canary(&stderr);
    let answer = serde_json::from_str(stdout.trim())
        .or_else(|_| serde_json::from_str(stderr.trim().lines().last().unwrap_or("")))
        .unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), answer, stderr)
}

/// The Inspector's arguments that start `connector-host mcp` on `files` (with `extra` flags).
fn stdio<'a>(files: &'a [&'a Path], extra: &[&'a str]) -> Vec<String> {
    let mut args = vec![
        "-e".to_owned(),
        format!(
            "CONNECTOR_HOST_CACHE_DIR={}",
            target_dir().join("test-artifact-cache").display()
        ),
        bin("connector-host").display().to_string(),
        "mcp".to_owned(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn with<'a>(args: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    args.iter()
        .map(String::as_str)
        .chain(more.iter().copied())
        .collect()
}

/// A Constant Contact connection file `<name>.toml` in `dir` on `sandbox`, with `extra` TOML.
fn cc(dir: &Path, name: &str, sandbox: &Sandbox, fields: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "connector = {:?}\n[fields]\n{fields}\n{extra}\n[endpoints]\n\"https://api.cc.email\" = \"{url}\"\n\"https://authz.constantcontact.com\" = \"{url}\"\n",
        component("cc_connector").display().to_string(),
        url = sandbox.url
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A connection that opens: a literal token (the canary) and client secret.
fn good(dir: &Path, name: &str, sandbox: &Sandbox) -> std::path::PathBuf {
    let fields = format!(
        "client_id = \"demo-client\"\nclient_secret = \"{}\"",
        CANARIES[1]
    );
    cc(
        dir,
        name,
        sandbox,
        &fields,
        &format!("[token]\naccess_token = \"{TOKEN}\""),
    )
}

fn names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The Constant Contact activities, from `describe`: (name, read-only).
fn activities() -> Vec<(String, bool)> {
    let described = host(&[
        "describe",
        &component("cc_connector").display().to_string(),
        "--json",
    ])
    .ok();
    described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["read_only"] == true,
            )
        })
        .collect()
}

fn tool_text(answer: &Value) -> String {
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_inspector_cli_lists_tools_and_passes_typed_and_nested_arguments_over_stdio() {
    let sandbox = Sandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let (acme, beta) = (
        good(dir.path(), "acme", &sandbox),
        good(dir.path(), "beta", &sandbox),
    );
    let args = stdio(&[&acme, &beta], &[]);
    let (code, list, stderr) = inspector(&with(&args, &["--method", "tools/list"]));
    assert_eq!(code, 0, "{stderr}");
    let listed = names(&list);
    assert_eq!(listed.len(), 2 * activities().len());
    assert!(listed.contains(&"acme__list-contacts".to_owned()));
    for address in ["x@example.com", "y@example.com", "z@example.com"] {
        let email = format!(
            "email_address={{\"address\":\"{address}\",\"permission_to_send\":\"implicit\"}}"
        );
        let (code, created, stderr) = inspector(&with(
            &args,
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "acme__create-contact",
                "--tool-arg",
                &email,
                "--tool-arg",
                "create_source=account",
            ],
        ));
        assert_eq!(
            code, 0,
            "a nested object argument arrives as an object: {created} {stderr}"
        );
        assert_eq!(created["result"]["isError"], false, "{created}");
    }
    let found = sandbox.api("GET", "/v3/contacts?email=x@example.com", None);
    assert_eq!(
        found["contacts"][0]["email_address"]["address"], "x@example.com",
        "{found}"
    );
    let (code, listed, stderr) = inspector(&with(
        &args,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "acme__list-contacts",
            "--tool-arg",
            "limit=2",
        ],
    ));
    assert_eq!(code, 0, "limit=2 arrives as a number: {listed} {stderr}");
    let contacts = &listed["result"]["structuredContent"]["contacts"];
    assert_eq!(contacts.as_array().map(Vec::len), Some(2), "{listed}");
}

#[test]
fn mcp_with_a_broken_connection_serves_the_others_and_its_tools_say_what_to_fix() {
    let sandbox = Sandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let acme = good(dir.path(), "acme", &sandbox);
    // An OAuth connection whose client id comes from a variable nobody set:
    // before, `mcp` refused to start over it.
    let broken = cc(
        dir.path(),
        "broken",
        &sandbox,
        "client_id = { env = \"CC_BROKEN_CLIENT_ID\" }",
        "[oauth]\nredirect_uri = \"http://127.0.0.1:9/callback\"",
    );
    let args = stdio(&[&acme, &broken], &[]);
    let (code, list, stderr) = inspector(&with(&args, &["--method", "tools/list"]));
    assert_eq!(code, 0, "{stderr}");
    let listed = names(&list);
    assert!(
        listed.contains(&"broken__list-contacts".to_owned()),
        "{listed:?}"
    );
    assert!(listed.contains(&"acme__list-contacts".to_owned()));
    let (_, failed, _) = inspector(&with(
        &args,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "broken__list-contacts",
        ],
    ));
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    let text = tool_text(&failed);
    assert!(
        text.contains("client_id") && text.contains("CC_BROKEN_CLIENT_ID"),
        "{text}"
    );
    assert!(text.contains("hint:"), "{text}");
    assert!(
        !text.contains(&dir.path().display().to_string()) && !text.contains(".toml"),
        "no server path: {text}"
    );
    assert!(!text.contains("connector-host "), "no command line: {text}");
    let (_, fine, _) = inspector(&with(
        &args,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "acme__list-contacts",
            "--tool-arg",
            "limit=1",
        ],
    ));
    assert_eq!(
        fine["result"]["isError"], false,
        "the good connection still works: {fine}"
    );
}

#[test]
fn with_nothing_servable_the_client_is_told_why() {
    let sandbox = Sandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.toml");
    let acme = good(dir.path(), "acme", &sandbox);
    for (files, extra, expected) in [
        (vec![missing.as_path()], vec![], "connection \"gone\""),
        (
            vec![acme.as_path()],
            vec!["--tools", "nothing-*"],
            "the filter (tools nothing-*) leaves none",
        ),
    ] {
        let args = stdio(&files, &extra);
        let (code, answer, stderr) = inspector(&with(&args, &["--method", "tools/list"]));
        assert_ne!(code, 0);
        let message = answer["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error envelope: {answer} {stderr}"));
        assert!(
            message.contains("serves no tool") && message.contains(expected),
            "{message}"
        );
        assert!(
            !message.contains(&dir.path().display().to_string()),
            "no server path: {message}"
        );
    }
}

#[test]
fn a_subset_leaves_exactly_the_named_tools_over_stdio_and_at_mcp() {
    let sandbox = Sandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let (acme, beta) = (
        good(dir.path(), "acme", &sandbox),
        good(dir.path(), "beta", &sandbox),
    );
    let args = stdio(
        &[&acme, &beta],
        &[
            "--only",
            "acme",
            "--tools",
            "list-*,get-account*",
            "--read-only",
        ],
    );
    let (code, list, stderr) = inspector(&with(&args, &["--method", "tools/list"]));
    assert_eq!(code, 0, "{stderr}");
    let expected: Vec<String> = activities()
        .into_iter()
        .filter(|(name, read_only)| {
            *read_only && (name.starts_with("list-") || name.starts_with("get-account"))
        })
        .map(|(name, _)| format!("acme__{name}"))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(names(&list), expected);
    // A tool outside the subset cannot be called by its name.
    let (_, outside, _) = inspector(&with(
        &args,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "beta__list-contacts",
        ],
    ));
    // The Inspector checks the list first; the server refuses it too (`call_tool`).
    let outside = outside.to_string();
    assert!(
        outside.contains("no tool named") || outside.contains("tool_not_found"),
        "{outside}"
    );

    let serve = crate::mcp::serve_for_probe(&sandbox);
    for name in ["p1", "p2"] {
        let made = serve.call(
            "POST",
            "/api/connections",
            Some(&json!({"name": name, "connector": "probe"})),
        );
        assert_eq!(made.status, 201);
    }
    let bearer = format!("Authorization: Bearer {API_TOKEN}");
    let at = |query: &str| {
        let url = format!("{}/mcp{query}", serve.url);
        inspector(&[
            "--transport",
            "http",
            "--server-url",
            &url,
            "--header",
            &bearer,
            "--method",
            "tools/list",
        ])
    };
    let (_, all, _) = at("");
    let every = names(&all);
    let (code, some, stderr) = at("?connections=p1&tools=echo*");
    assert_eq!(code, 0, "{stderr}");
    let wanted: Vec<String> = every
        .iter()
        .filter(|n| n.starts_with("p1__echo"))
        .cloned()
        .collect();
    assert!(!wanted.is_empty(), "{every:?}");
    assert_eq!(names(&some), wanted, "names do not change with the subset");
    let (code, refused, _) = at("?tool=echo");
    assert_ne!(code, 0);
    assert!(
        refused.to_string().contains("unknown parameter"),
        "a misspelt filter is refused, not widened: {refused}"
    );
}

/// The one server entry of a printed configuration, in `client`'s shape.
fn entry(client: &str, config: &Value) -> Value {
    let servers = if client == "vscode" {
        &config["servers"]
    } else {
        &config["mcpServers"]
    };
    let map = servers
        .as_object()
        .unwrap_or_else(|| panic!("{client}: {config}"));
    assert_eq!(map.len(), 1, "{config}");
    map.values().next().unwrap().clone()
}

#[test]
fn print_config_is_each_clients_shape_and_starts_the_server_it_names() {
    let sandbox = Sandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let acme = good(dir.path(), "acme", &sandbox);
    let relative = acme.strip_prefix(dir.path()).unwrap().display().to_string();
    for client in ["claude-desktop", "claude-code", "cursor", "vscode"] {
        let run = std::process::Command::new(bin("connector-host"))
            .current_dir(dir.path())
            .args([
                "mcp",
                "--print-config",
                client,
                &relative,
                "--tools",
                "list-*",
            ])
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_no_canary(&printed);
        let config: Value = serde_json::from_str(&printed).unwrap();
        let server = entry(client, &config);
        let command = server["command"].as_str().unwrap();
        assert!(Path::new(command).is_absolute());
        use std::os::unix::fs::PermissionsExt;
        assert!(std::fs::metadata(command).unwrap().permissions().mode() & 0o111 != 0);
        assert_eq!(
            server["args"][1],
            acme.canonicalize().unwrap().display().to_string(),
            "absolute path"
        );
        if matches!(client, "claude-code" | "vscode") {
            assert_eq!(server["type"], "stdio");
        }
        // The Inspector reads an mcpServers file itself: start what it names.
        let file = dir.path().join(format!("{client}.json"));
        let mut server = server.clone();
        server["env"] = json!({"CONNECTOR_HOST_CACHE_DIR": target_dir().join("test-artifact-cache").display().to_string()});
        std::fs::write(&file, json!({"mcpServers": {"acme": server}}).to_string()).unwrap();
        let (code, list, stderr) = inspector(&[
            "--config",
            &file.display().to_string(),
            "--server",
            "acme",
            "--method",
            "tools/list",
        ]);
        assert_eq!(code, 0, "{client}: {stderr}");
        let listed = names(&list);
        assert!(
            !listed.is_empty() && listed.iter().all(|n| n.starts_with("list-")),
            "{client}: {listed:?}"
        );
    }
}

#[test]
fn print_config_names_the_variables_a_connection_reads_never_their_values() {
    let sandbox = Sandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let vaulted = cc(
        dir.path(),
        "vaulted",
        &sandbox,
        "client_id = \"demo-client\"\nclient_secret = { asset = \"cc-app\" }",
        "[token]\naccess_token = { env = \"CC_ACCESS_TOKEN\" }\n[stores.vault]\nmount = \"secret\"",
    );
    let file = vaulted.display().to_string();
    // The variables hold canaries here: none may be printed.
    let env = [
        ("VAULT_TOKEN", CANARIES[0]),
        ("CC_ACCESS_TOKEN", CANARIES[1]),
        ("VAULT_ADDR", "http://127.0.0.1:8200"),
    ];
    for client in ["claude-desktop", "vscode"] {
        let run = host_env(&["mcp", "--print-config", client, &file], &env);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let config: Value = serde_json::from_str(&run.stdout).unwrap();
        let server = entry(client, &config);
        let keys: Vec<&String> = server["env"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["CC_ACCESS_TOKEN", "VAULT_ADDR", "VAULT_TOKEN"],
            "{config}"
        );
        if client == "vscode" {
            assert_eq!(server["env"]["VAULT_TOKEN"], "${input:VAULT_TOKEN}");
            assert_eq!(config["inputs"][2]["password"], true, "{config}");
        }
    }
    let run = host(&[
        "mcp",
        "--print-config",
        "http",
        "--url",
        "https://user:pw@host.example/mcp",
    ]);
    assert_ne!(run.code, 0);
    assert!(
        !run.stdout.contains("pw") && run.stderr.contains("credentials"),
        "{}",
        run.stderr
    );
}

#[test]
fn print_config_http_reaches_serve_with_the_token_put_in_its_placeholder() {
    let sandbox = Sandbox::start();
    let serve = crate::mcp::serve_for_probe(&sandbox);
    let made = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "p1", "connector": "probe"})),
    );
    assert_eq!(made.status, 201);
    let url = format!("{}/mcp", serve.url);
    for client in ["http", "claude-code", "cursor", "vscode"] {
        let run = host(&[
            "mcp",
            "--print-config",
            client,
            "--url",
            &url,
            "--read-only",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stdout.contains(API_TOKEN));
        let config: Value = serde_json::from_str(&run.stdout).unwrap();
        let server = entry(client, &config);
        let printed_url = server["url"].as_str().unwrap();
        assert_eq!(printed_url, format!("{url}?read_only=true"));
        let header = server["headers"]["Authorization"].as_str().unwrap();
        assert!(
            header.starts_with("Bearer ${") && header.ends_with('}'),
            "{header}"
        );
        // What the user does once: put the token where the placeholder is.
        let bearer = format!("Authorization: Bearer {API_TOKEN}");
        let (code, list, stderr) = inspector(&[
            "--transport",
            "http",
            "--server-url",
            printed_url,
            "--header",
            &bearer,
            "--method",
            "tools/list",
        ]);
        assert_eq!(code, 0, "{client}: {stderr}");
        assert!(!names(&list).is_empty());
    }
    let refused = host(&["mcp", "--print-config", "claude-desktop", "--url", &url]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("Connectors"), "{}", refused.stderr);
}
