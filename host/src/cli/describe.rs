//! `connector-host describe`: what a connector offers, for people or programs.

use std::path::PathBuf;

use clap::Args;
use connector_host::invoke::AuthScheme;
use connector_host::{Connection, Connector};
use serde_json::Value;

/// Show a connector's metadata and each activity's input and output schema.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host describe target/wasm32-wasip2/component/cc_connector.wasm
  connector-host describe my-connection.toml
  connector-host describe cc_connector.wasm --json | jq '.activities[].name'")]
pub struct Describe {
    /// A connector component (.wasm) or a connection file (.toml) naming one.
    path: PathBuf,
    /// Print one JSON object (with JSON Schemas) instead of text.
    #[arg(long)]
    json: bool,
}

impl Describe {
    /// Loads the connector and prints its description.
    pub async fn execute(self) -> anyhow::Result<()> {
        let connector = load(&self.path).await?;
        if !connector.undescribed().is_empty() {
            eprintln!(
                "warning: {} exports {} but its describe does not list {}; they cannot be called\nhint: add them to describe (their ACTIVITIES entry), or stop exporting them",
                connector.info().name,
                connector.undescribed().join(", "),
                if connector.undescribed().len() == 1 { "it" } else { "them" }
            );
        }
        let text = if self.json {
            serde_json::to_string_pretty(&connector.description())? + "\n"
        } else {
            as_text(&connector)
        };
        super::print_stdout(&text)
    }
}

/// Loads a connector from a .wasm file or from the connection file naming it.
pub async fn load(path: &std::path::Path) -> anyhow::Result<Connector> {
    let (wasm, bytes, limits) = if path.extension().is_some_and(|e| e == "toml") {
        let connection = Connection::load(path)?;
        let bytes = connection.read_connector()?;
        (connection.connector, bytes, connection.limits)
    } else {
        let bytes = std::fs::read(path).map_err(|source| {
            connector_host::ConnectionError::ReadConnector {
                path: path.to_owned(),
                source,
            }
        })?;
        (path.to_owned(), bytes, connector_host::Limits::default())
    };
    super::load_connector(&wasm, &bytes, &limits).await
}

/// "4 requests per 1 s per application", "10000 requests a day per
/// application, resetting at 00:00 UTC".
fn limit_text(limit: &connector_host::invoke::RateLimit) -> String {
    use connector_host::invoke::{LimitScope, LimitWindow};
    let per = match limit.per {
        LimitScope::Application => "application",
        LimitScope::Account => "account",
        LimitScope::Token => "access token",
    };
    match limit.window {
        LimitWindow::Sliding(seconds) => {
            format!("{} requests per {seconds} s per {per}", limit.requests)
        }
        LimitWindow::Daily(offset) => format!(
            "{} requests a day per {per}, resetting at {:02}:{:02} UTC",
            limit.requests,
            offset / 3600,
            offset % 3600 / 60
        ),
    }
}

fn as_text(connector: &Connector) -> String {
    let info = connector.info();
    let mut out = format!(
        "{} {}\n  {}\n\nsigned by: {}\n",
        info.name,
        info.version,
        info.description,
        connector.signer()
    );
    match &info.auth {
        AuthScheme::None => out.push_str("auth: none\n"),
        AuthScheme::Oauth2(o) => out.push_str(&format!(
            "auth: OAuth2{}, client authentication {}\n  authorize {}\n  token     {}\n  scopes    {}\n",
            if o.pkce { " with PKCE" } else { "" },
            o.client_auth,
            o.authorize_url,
            o.token_url,
            o.scopes.join(" ")
        )),
        AuthScheme::Bearer(field) => out.push_str(&format!("auth: bearer token from field {field}\n")),
        AuthScheme::ApiKey(k) => out.push_str(&format!(
            "auth: API key from field {} in {} {}\n",
            k.field,
            match k.placement {
                connector_host::invoke::KeyPlacement::Header => "header",
                connector_host::invoke::KeyPlacement::Query => "query parameter",
            },
            k.name
        )),
        AuthScheme::Basic(b) => out.push_str(&format!(
            "auth: HTTP Basic from fields {} and {}\n",
            b.username_field, b.password_field
        )),
        AuthScheme::Oauth2ClientCredentials(c) => out.push_str(&format!(
            "auth: OAuth2 client credentials (fields client_id, client_secret), client authentication {}\n  token     {}\n  scopes    {}\n",
            c.client_auth,
            c.token_url,
            c.scopes.join(" ")
        )),
    }
    for k in &info.extra_keys {
        out.push_str(&format!(
            "  and an API key from field {} in {} {}\n",
            k.field,
            match k.placement {
                connector_host::invoke::KeyPlacement::Header => "header",
                connector_host::invoke::KeyPlacement::Query => "query parameter",
            },
            k.name
        ));
    }
    if !info.fields.is_empty() {
        out.push_str("fields:\n");
        for f in &info.fields {
            let flags = [
                f.required.then_some("required"),
                f.secret.then_some("secret"),
            ];
            let flags: Vec<_> = flags.into_iter().flatten().collect();
            out.push_str(&format!(
                "  {:<16} {:<18} {}\n",
                f.name,
                flags.join(", "),
                f.description
            ));
        }
    }
    out.push_str(&format!("egress: {}\n", info.egress_origins.join(", ")));
    for limit in &info.rate_limits {
        out.push_str(&format!("limit:  {}\n", limit_text(limit)));
    }
    out.push_str("\nactivities:\n");
    for a in &info.activities {
        let scopes = if a.required_scopes.is_empty() {
            "none".into()
        } else {
            a.required_scopes.join(" ")
        };
        let flags = [
            Some(if a.retry_safe {
                "retry-safe"
            } else {
                "not retry-safe"
            }),
            a.read_only.then_some("read-only"),
            a.destructive.then_some("destructive"),
        ];
        let flags: Vec<_> = flags.into_iter().flatten().collect();
        out.push_str(&format!(
            "  {:<26} [{}] {} (scopes: {scopes}; {})\n",
            a.name,
            a.category,
            a.display_name,
            flags.join(", ")
        ));
        out.push_str(&format!(
            "  {:<26} input: {}\n",
            "",
            input_summary(&connector.input_schema(&a.name))
        ));
        for pitfall in &a.pitfalls {
            out.push_str(&format!("  {:<26} pitfall: {pitfall}\n", ""));
        }
    }
    triggers_text(connector, &mut out);
    out.push_str("\nUse --json for the full input and output schemas.\n");
    out
}

/// The triggers: what each reports, its scopes, settings and intervals.
fn triggers_text(connector: &Connector, out: &mut String) {
    let triggers = &connector.info().triggers;
    if triggers.is_empty() {
        return;
    }
    out.push_str("\ntriggers (connector-host watch <connection> <trigger>):\n");
    for t in triggers {
        let scopes = if t.required_scopes.is_empty() {
            "none".into()
        } else {
            t.required_scopes.join(" ")
        };
        out.push_str(&format!(
            "  {:<26} {} (scopes: {scopes}; every {} s by default, at least {} s)\n",
            t.name, t.display_name, t.default_interval_seconds, t.minimum_interval_seconds
        ));
        out.push_str(&format!("  {:<26} {}\n", "", t.description));
        out.push_str(&format!(
            "  {:<26} settings: {}\n",
            "",
            input_summary(&connector.settings_schema(&t.name))
        ));
    }
}

/// `{contact_id, include?}`: required fields bare, optional ones with `?`.
fn input_summary(schema: &Option<Value>) -> String {
    let Some(schema) = schema else {
        return "?".into();
    };
    let props = schema.get("properties").and_then(Value::as_object);
    let Some(props) = props.filter(|p| !p.is_empty()) else {
        return "none".into();
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let names: Vec<String> = props
        .keys()
        .map(|k| {
            if required.contains(&k.as_str()) {
                k.clone()
            } else {
                format!("{k}?")
            }
        })
        .collect();
    format!("{{{}}}", names.join(", "))
}
