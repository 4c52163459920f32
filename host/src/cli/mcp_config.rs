//! `connector-host mcp --print-config CLIENT`: the configuration an MCP
//! client needs to start `connector-host mcp` (or reach `serve`'s `/mcp`),
//! in that client's own shape.
//!
//! - `claude-desktop`, `claude-code`, `cursor`: `{"mcpServers": {name: {…}}}`
//!   (Claude Code and Cursor with an explicit `type`);
//! - `vscode`: `.vscode/mcp.json`, `{"servers": {name: {"type": "stdio", …}}}`,
//!   secrets asked for through `inputs` (kept by VS Code, never in the file);
//! - `http`, or any client with `--url`: Streamable HTTP to `serve`'s `/mcp`
//!   with an `Authorization: Bearer` header whose value is a placeholder.
//!
//! The command is this binary's absolute path and the connection files are
//! absolute (clients start servers from a directory of their own, with a
//! small environment, so nothing is found on PATH or relative to a shell).
//!
//! Invariant: nothing printed is a secret. The `env` block names the
//! variables the connections read (their `{ env = … }` fields, and
//! `VAULT_ADDR`/`VAULT_TOKEN` for a Vault store that relies on them) with
//! placeholder values, whatever the variables hold now; files are not
//! resolved, stores are not contacted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use connector_host::mcp::subset::Subset;
use serde_json::{json, Map, Value};

/// The clients whose configuration `--print-config` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    /// Claude Desktop's `claude_desktop_config.json`.
    ClaudeDesktop,
    /// Claude Code's `.mcp.json` (or `claude mcp add-json`).
    ClaudeCode,
    /// Cursor's `.cursor/mcp.json`.
    Cursor,
    /// VS Code's `.vscode/mcp.json`.
    Vscode,
    /// Streamable HTTP to `serve`'s `/mcp`, in the generic `mcpServers` shape.
    Http,
}

/// The configuration for `client` as pretty JSON with a final newline.
///
/// # Errors
///
/// When a connection file cannot be found or read as TOML, or `--url` is
/// missing, not an `http(s)` URL, or carries credentials.
pub fn print(
    client: Client,
    files: &[PathBuf],
    subset: &Subset,
    url: Option<&str>,
) -> anyhow::Result<String> {
    let config = match (client, url) {
        (Client::ClaudeDesktop, Some(_)) => anyhow::bail!(
            "Claude Desktop takes remote servers in Settings > Connectors, not in its configuration file\nhint: print the stdio configuration (no --url), or use --print-config http for Claude Code"
        ),
        (_, Some(url)) => http(client, &mcp_url(url, subset)?),
        (Client::Http, None) => anyhow::bail!(
            "--print-config http needs --url, serve's /mcp address\nhint: e.g. --url https://connectors.example.com/mcp"
        ),
        (_, None) => stdio(client, files, subset)?,
    };
    Ok(format!("{}\n", serde_json::to_string_pretty(&config)?))
}

/// The server's name in the client: the connection's, or `connector-host`.
fn server_name(files: &[PathBuf]) -> String {
    match files {
        [one] => one
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "connector-host".into()),
        _ => "connector-host".into(),
    }
}

fn stdio(client: Client, files: &[PathBuf], subset: &Subset) -> anyhow::Result<Value> {
    let command =
        std::env::current_exe().context("cannot tell where this connector-host binary is")?;
    let mut args = vec!["mcp".to_owned()];
    let mut variables = BTreeMap::new();
    for file in files {
        let absolute = std::fs::canonicalize(file).with_context(|| {
            format!("connection file {}: cannot be found\nhint: give the path of an existing .toml file", file.display())
        })?;
        variables.extend(read_variables(&absolute)?);
        args.push(absolute.display().to_string());
    }
    args.extend(filter_args(subset));
    let mut server = Map::new();
    if matches!(client, Client::ClaudeCode | Client::Vscode) {
        server.insert("type".into(), json!("stdio"));
    }
    server.insert("command".into(), json!(command.display().to_string()));
    server.insert("args".into(), json!(args));
    let mut inputs = Vec::new();
    if !variables.is_empty() {
        let env: Map<String, Value> = variables
            .iter()
            .map(|(name, about)| {
                let value = if client == Client::Vscode {
                    inputs.push(json!({"type": "promptString", "id": name, "description": about, "password": true}));
                    format!("${{input:{name}}}")
                } else {
                    format!("<{about}>")
                };
                (name.clone(), json!(value))
            })
            .collect();
        server.insert("env".into(), Value::Object(env));
    }
    Ok(wrap(
        client,
        &server_name(files),
        Value::Object(server),
        inputs,
    ))
}

/// `{"mcpServers": …}`, or VS Code's `{"inputs": …, "servers": …}`.
fn wrap(client: Client, name: &str, server: Value, inputs: Vec<Value>) -> Value {
    if client != Client::Vscode {
        return json!({ "mcpServers": { name: server } });
    }
    let mut config = Map::new();
    if !inputs.is_empty() {
        config.insert("inputs".into(), json!(inputs));
    }
    config.insert("servers".into(), json!({ name: server }));
    Value::Object(config)
}

/// The `mcp` flags that select `subset`.
fn filter_args(subset: &Subset) -> Vec<String> {
    let mut args = Vec::new();
    if !subset.connections.is_empty() {
        let names: Vec<&str> = subset.connections.iter().map(|n| n.as_str()).collect();
        args.extend(["--only".to_owned(), names.join(",")]);
    }
    if !subset.tools.is_empty() {
        args.extend(["--tools".to_owned(), subset.tools.join(",")]);
    }
    if subset.read_only {
        args.push("--read-only".to_owned());
    }
    args
}

/// The `/mcp` URL with `subset` as its query.
fn mcp_url(url: &str, subset: &Subset) -> anyhow::Result<String> {
    let mut url = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| anyhow::anyhow!("--url is not an http(s) URL\nhint: give serve's /mcp address, e.g. https://connectors.example.com/mcp"))?;
    if !url.username().is_empty() || url.password().is_some() {
        anyhow::bail!("--url carries credentials, which would be printed\nhint: give the URL without user:password@; the API token goes in the Authorization header");
    }
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut query = url.query_pairs_mut();
        let names: Vec<&str> = subset.connections.iter().map(|n| n.as_str()).collect();
        if !names.is_empty() {
            query.append_pair("connections", &names.join(","));
        }
        if !subset.tools.is_empty() {
            query.append_pair("tools", &subset.tools.join(","));
        }
        if subset.read_only {
            query.append_pair("read_only", "true");
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url.to_string())
}

/// Streamable HTTP in `client`'s shape, the token as each client's placeholder.
fn http(client: Client, url: &str) -> Value {
    const TOKEN: &str = "CONNECTOR_HOST_API_TOKEN";
    let (kind, bearer, inputs) = match client {
        // VS Code asks once and keeps the answer in its secret storage.
        Client::Vscode => (
            Some("http"),
            format!("Bearer ${{input:{TOKEN}}}"),
            vec![
                json!({"type": "promptString", "id": TOKEN, "description": "serve's API token", "password": true}),
            ],
        ),
        // Cursor interpolates ${env:NAME}; Claude Code ${NAME}.
        Client::Cursor => (None, format!("Bearer ${{env:{TOKEN}}}"), vec![]),
        _ => (Some("http"), format!("Bearer ${{{TOKEN}}}"), vec![]),
    };
    let mut server = Map::new();
    if let Some(kind) = kind {
        server.insert("type".into(), json!(kind));
    }
    server.insert("url".into(), json!(url));
    server.insert("headers".into(), json!({ "Authorization": bearer }));
    wrap(client, "connector-host", Value::Object(server), inputs)
}

/// The environment variables a connection file reads, each with what to
/// put there. Read as plain TOML: nothing is resolved.
fn read_variables(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("connection file {}: cannot be read", path.display()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        anyhow::anyhow!(
            "connection file {}: not TOML: {}\nhint: run connector-host check on it",
            path.display(),
            e.message()
        )
    })?;
    let mut variables = BTreeMap::new();
    collect_env(&toml::Value::Table(table.clone()), &mut variables);
    let stores = table.get("stores").and_then(toml::Value::as_table);
    for store in stores.into_iter().flat_map(|s| s.values()) {
        if store.get("address").is_none() {
            variables.insert(
                "VAULT_ADDR".into(),
                "Vault's address, e.g. https://vault.example.com:8200".into(),
            );
        }
        let auth = store.get("auth");
        let method = auth
            .and_then(|a| a.get("method"))
            .and_then(toml::Value::as_str);
        let token_given = auth.and_then(|a| a.get("token")).is_some();
        if matches!(method, None | Some("token")) && !token_given {
            variables.insert(
                "VAULT_TOKEN".into(),
                "a Vault token that may read the connection's assets".into(),
            );
        }
    }
    Ok(variables)
}

/// Every `{ env = "NAME" }` in `value`.
fn collect_env(value: &toml::Value, into: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            if let Some(toml::Value::String(name)) = table.get("env") {
                into.insert(name.clone(), format!("the value of {name}"));
            }
            table.values().for_each(|v| collect_env(v, into));
        }
        toml::Value::Array(items) => items.iter().for_each(|v| collect_env(v, into)),
        _ => {}
    }
}
