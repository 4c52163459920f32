//! The JSON API: connectors, connections, check, status, activity calls and
//! all pages as NDJSON. Each handler parses its input, calls the library
//! (the catalogue, [`crate::Session::call`], [`crate::check`]) and renders
//! the answer; errors go through [`ApiError`].

use crate::audit;
use axum::body::Body;
use axum::extract::{Path, RawQuery};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde_json::{json, Value};

use super::connections::{self, Draft};
use super::errors::ApiError;
use super::space::Scope;
use crate::documents::Stamp;
use crate::name::Name;
use crate::oauth::store::now;
use crate::oauth::OAuthError;
use crate::redact;
use crate::{Connection, SessionError};

type Answer = Result<Response, ApiError>;

fn ok(value: Value) -> Answer {
    Ok(Json(value).into_response())
}

fn unknown_connection(name: &str, like: Option<&str>) -> ApiError {
    let hint = match like {
        Some(like) => format!("did you mean \"{like}\"? GET /api/connections lists them"),
        None => "GET /api/connections lists them".into(),
    };
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no connection named {}\nhint: {hint}",
            crate::redact::untrusted(name)
        ),
    )
}

/// The connection `name` names: 404, as for any connection that does not
/// exist, unless it is a [`Name`] and its file is there (so a path trick
/// learns nothing a wrong name would not).
pub(super) async fn known(scope: &Scope, name: &str) -> Result<Name, ApiError> {
    let name = Name::parse(name, "connection name").map_err(|_| unknown_connection(name, None))?;
    if scope.stamp(&name).await?.is_none() {
        // Only a well-formed name gets a suggestion: a path trick learns
        // nothing a wrong name would not.
        let names = scope.connection_names().await;
        let like = crate::suggest::closest(&name, names.iter().map(Name::as_str));
        return Err(unknown_connection(&name, like));
    }
    Ok(name)
}

/// Connection `name` as it is now: parsed, with its text and stamp (a
/// change writes back against that stamp).
pub(super) struct Loaded {
    pub name: Name,
    pub connection: Connection,
    pub text: String,
    pub stamp: Stamp,
}

/// Connection `name`, read and parsed.
pub(super) async fn load(scope: &Scope, name: &str) -> Result<Loaded, ApiError> {
    let name = known(scope, name).await?;
    let found = scope
        .documents()
        .read(&name)
        .await
        .map_err(|e| ApiError::from(SessionError::from(e)))?;
    let (text, stamp) = found.ok_or_else(|| unknown_connection(&name, None))?;
    let connection = scope
        .documents()
        .parse(&name, &text)
        .map_err(|e| ApiError::from(SessionError::from(e)))?;
    Ok(Loaded {
        name,
        connection,
        text,
        stamp,
    })
}

/// `GET /api/connectors`: every component, with its sha256.
pub async fn list_connectors(scope: Scope) -> Answer {
    let entries = scope.catalogue.entries().await;
    let list: Vec<Value> = entries
        .iter()
        .map(crate::catalogue::Entry::summary)
        .collect();
    ok(json!({ "connectors": list }))
}

/// `GET /api/connectors/{name}`: its description with every schema.
pub async fn describe_connector(scope: Scope, Path(name): Path<String>) -> Answer {
    let (entry, connector) = connections::connector(&scope, &name).await?;
    let mut description = connector.description();
    description["sha256"] = Value::String(entry.sha256);
    description["file"] = Value::String(crate::catalogue::file_name(&entry.file).to_owned());
    // Baseline code runs slower: say so while the optimized code is compiled.
    description["compiled"] = Value::from(connector.tier().name());
    ok(description)
}

/// `GET /api/stores`: the credential stores the page offers for "Use
/// credential asset", and which one keeps secrets typed on the page.
pub async fn list_stores(scope: Scope) -> Answer {
    let keeper = scope.secret_store.as_ref().map(|(name, _)| name.as_str());
    let list: Vec<Value> = scope
        .stores
        .iter()
        .map(|(name, config)| {
            json!({"name": name, "description": config.describe(),
                "read_write": config.read_write, "keeps_typed_secrets": keeper == Some(name.as_str())})
        })
        .collect();
    ok(json!({ "stores": list }))
}

/// `GET /api/connections`: each connection's name, connector file and, when
/// the catalogue has that file, the connector's name.
pub async fn list_connections(scope: Scope, RawQuery(query): RawQuery) -> Answer {
    let wanted = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "end_user")
            .map(|(_, v)| v.into_owned())
    });
    let entries = scope.catalogue.current();
    let mut list = Vec::new();
    for name in scope.connection_names().await {
        let (file, end_user) = match scope.documents().load(&name).await {
            Ok(Some((connection, _))) => (Some(connection.connector), connection.end_user),
            _ => (None, None),
        };
        if wanted.is_some() && wanted != end_user {
            continue;
        }
        let connector = file.as_ref().and_then(|f| connector_name(&entries, f));
        // A file name, never the server's path to it.
        let file = file.as_deref().map(crate::catalogue::file_name);
        let status = list_status(&scope, &name).await;
        let health = super::health::view(&scope, &name).await;
        list.push(
            json!({"name": name, "connector": connector, "connector_file": file, "status": status, "health": health, "end_user": end_user}),
        );
    }
    ok(json!({ "connections": list }))
}

/// A connection's scope for the list: `ready` (static credentials),
/// `connected` or `not_connected` (OAuth), or `broken` with the error's
/// class (what `status` and a call would say in full).
async fn list_status(scope: &Scope, name: &Name) -> Value {
    let session = match scope.session(name).await {
        Ok(session) => session,
        Err(error) => return json!({"state": "broken", "class": error.class().name()}),
    };
    let Some(tokens) = session.tokens() else {
        return json!({"state": "ready"});
    };
    match tokens.current().await {
        Ok(_) => json!({"state": "connected"}),
        Err(OAuthError::NotConnected { .. }) => json!({"state": "not_connected"}),
        Err(error) => {
            json!({"state": "broken", "class": SessionError::from(error).class().name()})
        }
    }
}

/// The name of the loaded connector whose component is `file`.
fn connector_name(entries: &[crate::catalogue::Entry], file: &std::path::Path) -> Option<String> {
    let file = std::fs::canonicalize(file).ok()?;
    entries
        .iter()
        .find(|e| std::fs::canonicalize(&e.file).ok().as_ref() == Some(&file))
        .and_then(|e| e.loaded.as_ref().ok())
        .map(|c| c.info().name.clone())
}

/// `POST /api/connections`: creates one from a [`Draft`].
pub async fn create_connection(scope: Scope, Json(draft): Json<Draft>) -> Answer {
    let invalid =
        |text: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", text);
    let text = draft
        .name
        .as_deref()
        .ok_or_else(|| invalid("name: required".into()))?;
    let name = Name::parse(text, "connection name").map_err(|e| invalid(format!("name: {e}")))?;
    if scope.stamp(&name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "a connection named {name} exists\nhint: PUT /api/connections/{name} changes it"
            ),
        ));
    }
    let connector = draft.connector.clone();
    connections::write(&scope, &name, draft, None).await?;
    audit::connection_changed(audit::Change::Created, name.as_str(), Some(&connector));
    let mut response = read_view(&scope, &name).await?;
    *response.status_mut() = StatusCode::CREATED;
    response.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_str(&format!("/api/connections/{name}"))
            .expect("names are header-safe"),
    );
    Ok(response)
}

/// `GET /api/connections/{name}`: where each field comes from (never a secret).
pub async fn get_connection(scope: Scope, Path(name): Path<String>) -> Answer {
    read_view(&scope, &name).await
}

async fn read_view(scope: &Scope, name: &str) -> Answer {
    let Loaded {
        name, connection, ..
    } = load(scope, name).await?;
    let entry = scope.catalogue.current().into_iter().find(|e| {
        std::fs::canonicalize(&e.file).ok() == std::fs::canonicalize(&connection.connector).ok()
    });
    let declared = entry
        .as_ref()
        .and_then(|e| e.loaded.as_ref().ok())
        .map(|c| c.info().fields.clone())
        .unwrap_or_default();
    let mut view = connections::view(&name, &connection, &declared, entry.as_ref());
    view["health"] = super::health::view(scope, &name).await;
    ok(view)
}

/// `PUT /api/connections/{name}`: replaces its fields (`{"keep": true}` keeps one).
pub async fn update_connection(
    scope: Scope,
    Path(name): Path<String>,
    Json(draft): Json<Draft>,
) -> Answer {
    let existing = load(&scope, &name).await?;
    let connector = draft.connector.clone();
    connections::write(&scope, &existing.name, draft, Some(&existing)).await?;
    let name = existing.name.as_str();
    audit::connection_changed(audit::Change::Changed, name, Some(&connector));
    read_view(&scope, &existing.name).await
}

/// `DELETE /api/connections/{name}`.
pub async fn delete_connection(scope: Scope, Path(name): Path<String>) -> Answer {
    let name = known(&scope, &name).await?;
    connections::remove(&scope, &name).await?;
    audit::connection_changed(audit::Change::Deleted, name.as_str(), None);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/connections/{name}/check`: the check report (never a value).
pub async fn check_connection(scope: Scope, Path(name): Path<String>) -> Answer {
    let connection = load(&scope, &name).await?.connection;
    let report = crate::check::check(&scope.runtime, &connection).await;
    ok(super::check::report_json(&report))
}

/// `GET /api/connections/{name}/status`: connected, scopes, expiry, endpoints.
pub async fn status(scope: Scope, Path(name): Path<String>) -> Answer {
    let name = known(&scope, &name).await?;
    let session = scope.session(&name).await.map_err(ApiError::on(&name))?;
    let quotas = session.quotas().await;
    let Some(tokens) = session.tokens() else {
        let health = super::health::view(&scope, &name).await;
        return ok(json!({"oauth": false, "connected": true, "quotas": quotas, "health": health}));
    };
    let endpoints = &tokens.settings().endpoints;
    let pinned = tokens.settings().pinned.then(|| {
        json!({"authorize_url": redact::without_userinfo(endpoints.authorize.as_str()),
            "token_url": redact::without_userinfo(endpoints.token.as_str())})
    });
    let used = in_use(tokens).await;
    let health = match &used {
        Ok(record) => super::health::view_after(&scope, &name, record.issued_at).await,
        Err(_) => super::health::view(&scope, &name).await,
    };
    match used {
        Ok(record) => ok(json!({
            "oauth": true, "connected": true, "scopes": record.scopes,
            "expires_in_seconds": (record.expires_at as i64 - now() as i64) / 1000,
            "refresh_token": record.refresh_token.is_some(), "tokens": redact::without_paths(&tokens.store().describe()),
            "endpoints": pinned, "quotas": quotas, "health": health,
        })),
        Err(OAuthError::NotConnected { .. }) => ok(json!({
            "oauth": true, "connected": false, "tokens": redact::without_paths(&tokens.store().describe()), "endpoints": pinned,
            "quotas": quotas, "health": health,
        })),
        Err(other @ OAuthError::Reconnect { .. }) => ok(json!({
            "oauth": true, "connected": false, "tokens": redact::without_paths(&tokens.store().describe()), "endpoints": pinned,
            "quotas": quotas, "reason": ApiError::from(SessionError::from(other)).body()["error"], "health": health,
        })),
        Err(other) => Err(SessionError::from(other).into()),
    }
}

/// The token a call would use now: the stored record (the newest: another
/// process or replica may have renewed it), or, when that one has expired
/// and can be renewed, the one the renewal gives, as a call's own step
/// would (one refresh at a time across processes; `Reconnect` when the
/// refresh token is refused). So the status never says "expired" while
/// calls succeed, nor "connected" while they would fail.
async fn in_use(
    tokens: &crate::oauth::TokenManager,
) -> Result<crate::oauth::store::TokenRecord, OAuthError> {
    let (record, _) = tokens.current().await?;
    if record.expires_at > now() || record.refresh_token.is_none() {
        return Ok(record);
    }
    tokens.fresh(None).await
}

/// `POST /api/connections/{name}/activities/{activity}`: the body is the input.
pub async fn run(
    scope: Scope,
    Path((name, activity)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Answer {
    let name = known(&scope, &name).await?;
    let input = parse_input(&body)?;
    let session = scope.session(&name).await.map_err(ApiError::on(&name))?;
    let output = session
        .call(&activity, &input)
        .await
        .map_err(ApiError::on(&name))?;
    ok(output)
}

/// `POST /api/connections/{name}/activities/{activity}/pages`: follows
/// `next_cursor`, one record per NDJSON line; an error ends the stream with
/// a last `{"error": …}` line.
pub async fn all_pages(
    scope: Scope,
    Path((name, activity)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Answer {
    let name = known(&scope, &name).await?;
    let input = parse_input(&body)?;
    let session = scope.session(&name).await.map_err(ApiError::on(&name))?;
    session
        .check_paged(&activity, &input)
        .map_err(ApiError::on(&name))?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
    tokio::spawn(audit::carry(async move {
        let Ok(records) = session.records(&activity, input) else {
            return; // checked above
        };
        let mut records = std::pin::pin!(records);
        while let Some(record) = records.next().await {
            let line = match record {
                Ok(record) => format!("{record}\n"),
                Err(error) => format!("{}\n", ApiError::on(&name)(error).body()),
            };
            if sender.send(Ok(line)).await.is_err() {
                return; // the client went away
            }
        }
    }));
    let stream =
        futures::stream::unfold(
            receiver,
            |mut r| async move { r.recv().await.map(|l| (l, r)) },
        );
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn parse_input(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            format!(
                "the body is not JSON: {}",
                crate::redact::parser_message(&e.to_string())
            ),
        )
    })
}
