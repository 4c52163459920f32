//! Checking a connection before using it: resolve every field and report,
//! per field, where its value comes from and whether it resolves — never the
//! value. For credential stores it also logs in and asks Vault
//! (`sys/capabilities-self`) whether the policy allows what the connection
//! needs on each path. `connector-host check` prints the report; `serve`
//! answers it as JSON.

use serde::Serialize;

use crate::egress::bound_origins;
use crate::invoke::{ConnectionField, Connector, Limits, Runtime};
use crate::secrets::{AssetRef, FieldSource, Resolver};
use crate::session::overrides;
use crate::Connection;

/// What a check found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The connection file.
    pub connection: String,
    /// Each credential store: name and one line describing it.
    pub stores: Vec<(String, String)>,
    /// One line per thing checked.
    pub lines: Vec<Line>,
}

/// One line of the report.
#[derive(Debug, Serialize)]
pub struct Line {
    /// What was checked, e.g. `field client_secret`.
    pub what: String,
    /// Where its value comes from (never the value).
    pub source: String,
    /// `Ok(detail)` or `Err(reason with hint)`.
    pub outcome: Result<String, String>,
}

impl Report {
    /// How many lines failed.
    pub fn failures(&self) -> usize {
        self.lines.iter().filter(|l| l.outcome.is_err()).count()
    }
}

/// Checks `connection`: its connector, every field, the required fields the
/// connector declares, and the token store.
pub async fn check(runtime: &Runtime, connection: &Connection) -> Report {
    let (connector, loaded) = connector_line(runtime, connection).await;
    let declared = loaded
        .as_ref()
        .map(|c| c.info().fields.clone())
        .unwrap_or_default();
    let mut lines = vec![connector];
    if let Some(connector) = &loaded {
        lines.extend(endpoints_line(connection, connector));
        lines.extend(token_origins_line(connection, connector));
    }
    let resolver = connection.resolver();
    for (name, source) in entries(connection) {
        lines.push(field_line(&resolver, connection, &name, source).await);
    }
    lines.extend(required_fields(connection, &declared));
    if let Some(line) = token_store_line(&resolver, connection).await {
        lines.push(line);
    }
    if let Some(connector) = &loaded {
        lines.extend(client_credentials_line(&resolver, connection, connector).await);
    }
    Report {
        connection: connection.path.display().to_string(),
        stores: resolver
            .stores()
            .iter()
            .map(|(name, store)| (name.clone(), store.describe()))
            .collect(),
        lines,
    }
}

/// For a client-credentials connector (sdk 0.4.0): asks the pinned token
/// URL for a token, which proves the client id and secret (the token is
/// kept in memory only, and dropped).
async fn client_credentials_line(
    resolver: &Resolver,
    connection: &Connection,
    connector: &Connector,
) -> Option<Line> {
    let crate::invoke::AuthScheme::Oauth2ClientCredentials(scheme) = &connector.info().auth else {
        return None;
    };
    let source = connection
        .oauth
        .as_ref()
        .and_then(|o| o.token_url.clone())
        .map_or_else(
            || {
                format!(
                    "proposed {} (not pinned yet)",
                    crate::redact::untrusted(&scheme.token_url)
                )
            },
            |pinned| format!("[oauth] token_url {}", crate::redact::url(&pinned)),
        );
    let outcome = match crate::session::client_grant(connection, connector, resolver).await {
        Ok(grant) => grant
            .fresh(None)
            .await
            .map(|record| format!("a token was issued, granting {}", record.scopes.join(" ")))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    Some(Line {
        what: "client credentials".into(),
        source,
        outcome,
    })
}

/// Every field, then the access token, in file order.
fn entries(connection: &Connection) -> Vec<(String, &FieldSource)> {
    let fields = connection
        .fields
        .iter()
        .map(|(n, s)| (format!("field {n}"), s));
    let token = connection
        .access_token
        .iter()
        .map(|s| ("token access_token".to_owned(), s));
    fields.chain(token).collect()
}

/// `[endpoints]`, when there are any: each key must be an origin the
/// connector reaches (a typo would otherwise redirect nothing).
fn endpoints_line(connection: &Connection, connector: &Connector) -> Option<Line> {
    if connection.endpoints.is_empty() {
        return None;
    }
    let redirects: Vec<String> = connection
        .endpoints
        .iter()
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    Some(Line {
        what: "endpoints".into(),
        source: "[endpoints]".into(),
        outcome: overrides::check(connection, connector).map(|()| redirects.join(", ")),
    })
}

/// `[token] origins`, when set: origins the connector declares, https or
/// redirected.
fn token_origins_line(connection: &Connection, connector: &Connector) -> Option<Line> {
    let narrowed = connection.token_origins.as_deref()?;
    let outcome =
        bound_origins(connector.origins(), &connection.endpoints, Some(narrowed)).map(|bound| {
            let names: Vec<String> = bound.iter().map(ToString::to_string).collect();
            format!("the credential goes only to {}", names.join(", "))
        });
    Some(Line {
        what: "token origins".into(),
        source: "[token] origins".into(),
        outcome,
    })
}

/// Loads the connector (checking its pin).
async fn connector_line(runtime: &Runtime, connection: &Connection) -> (Line, Option<Connector>) {
    let limits: &Limits = &connection.limits;
    let loaded = match connection.read_connector() {
        Ok(bytes) => runtime
            .load(&connection.connector, &bytes, limits)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let (outcome, connector) = match loaded {
        Ok(c) => {
            let info = c.info();
            let summary = format!(
                "{} {}, {} activities",
                info.name,
                info.version,
                info.activities.len()
            );
            (Ok(summary), Some(c))
        }
        Err(e) => (Err(e), None),
    };
    let pin = if connection.connector_sha256.is_some() {
        " (sha256 pinned)"
    } else {
        ""
    };
    let line = Line {
        what: "connector".into(),
        source: format!("{}{pin}", connection.connector.display()),
        outcome,
    };
    (line, connector)
}

async fn field_line(
    resolver: &Resolver,
    connection: &Connection,
    name: &str,
    source: &FieldSource,
) -> Line {
    let field = name.split_whitespace().last().unwrap_or(name);
    let mut line = Line {
        what: name.to_owned(),
        source: source.to_string(),
        outcome: Ok("resolves".into()),
    };
    if let Err(e) = resolver.resolve(field, source).await {
        line.outcome = Err(e.to_string());
        return line;
    }
    if let FieldSource::Asset(asset) = source {
        line.outcome = policy_check(resolver, connection, name, asset).await;
        if let Ok((_, store)) = resolver.store_for(field, asset) {
            line.source = format!("{} → {}", line.source, store.location(asset));
        }
    }
    line
}

/// Asks the store what its policy allows on the asset's path: `read` always,
/// `update` too when tokens are written back there.
async fn policy_check(
    resolver: &Resolver,
    connection: &Connection,
    name: &str,
    asset: &AssetRef,
) -> Result<String, String> {
    let (store_name, store) = resolver.store_for(name, asset).map_err(|e| e.to_string())?;
    let caps = store
        .capabilities(std::slice::from_ref(asset))
        .await
        .map_err(|e| format!("{e}\nhint: {}", e.hint()))?;
    let caps = caps.into_iter().next().unwrap_or_default();
    let has = |c: &str| caps.iter().any(|x| x == c || x == "root");
    let writes = name.starts_with("token") && connection.token_store.as_deref() == Some(store_name);
    let needed: &[&str] = if writes {
        &["read", "update"]
    } else {
        &["read"]
    };
    match needed.iter().find(|c| !has(c)) {
        None => Ok(format!("resolves; policy allows {}", needed.join(" and "))),
        Some(missing) => Err(format!(
            "resolves, but the policy lacks `{missing}` on this path (has: {})\nhint: grant {} on {}",
            if caps.is_empty() { "nothing".into() } else { caps.join(", ") },
            needed.join(" and "),
            store.location(asset)
        )),
    }
}

/// When OAuth tokens live in a store, its policy must allow reading and
/// writing them back (check-and-set updates).
async fn token_store_line(resolver: &Resolver, connection: &Connection) -> Option<Line> {
    let asset = connection.token_record()?;
    let (_, store) = resolver.store_for("tokens", &asset).ok()?;
    let source = format!("OAuth tokens → {}", store.location(&asset));
    let outcome = match store.capabilities(std::slice::from_ref(&asset)).await {
        Ok(caps) => {
            let caps = caps.into_iter().next().unwrap_or_default();
            let has = |c: &str| caps.iter().any(|x| x == c || x == "root");
            if has("read") && (has("update") || has("create")) {
                Ok("policy allows read and write-back".to_owned())
            } else {
                Err(format!(
                    "the policy must allow read, create and update here (has: {})",
                    caps.join(", ")
                ))
            }
        }
        Err(e) => Err(format!("{e}\nhint: {}", e.hint())),
    };
    Some(Line {
        what: "token store".into(),
        source,
        outcome,
    })
}

/// Fields the connector requires that the connection does not set.
fn required_fields(connection: &Connection, declared: &[ConnectionField]) -> Vec<Line> {
    declared
        .iter()
        .filter(|f| f.required && !connection.fields.contains_key(&f.name))
        .map(|f| Line {
            what: format!("field {}", f.name),
            source: "not set".into(),
            outcome: Err(format!(
                "the connector requires it ({})\nhint: add it under [fields]",
                f.label
            )),
        })
        .collect()
}
