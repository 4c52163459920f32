//! A tenant's space: where its connections, typed secrets and OAuth token
//! records are, and the sessions opened for them.
//!
//! Every place is built from the tenant's [`Name`] and the connection's:
//!
//! | what          | `default`                      | tenant `t`                                 |
//! |---------------|--------------------------------|--------------------------------------------|
//! | connections   | `<connections>/<c>.toml`       | `<connections>/tenants/t/<c>.toml`         |
//! | (in a store)  | `connections/<c>`              | `tenants/t/connections/<c>`                |
//! | typed secrets | `secrets/<c>/<f>` or `.secrets/<c>/<f>` | `tenants/t/secrets/<c>/<f>` or `tenants/t/.secrets/<c>/<f>` |
//! | OAuth tokens  | `tokens/<c>`                   | `tenants/t/tokens/<c>`                     |
//!
//! No name holds a `/` or starts with a dot, so no tenant's place is inside
//! another's, and a connection is only ever looked up in the space of the
//! request's own tenant ([`Scope`]): another tenant's connection is as
//! absent as one that was never made.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::auth::Caller;
use super::errors::ApiError;
use super::state::State;
use super::tenants::{Principal, DEFAULT_TENANT, FRESH};
use crate::documents::{Documents, Stamp, TENANTS};
use crate::name::{AssetName, Name};
use crate::{Session, SessionError};

struct Cached {
    seen: Stamp,
    session: Arc<Session>,
}

/// One tenant's places and open sessions.
pub struct Space {
    /// The tenant.
    pub tenant: Name,
    /// Its connections.
    pub documents: Documents,
    /// Where its typed secrets go when no store keeps them.
    secrets_dir: PathBuf,
    /// The store folder its own records are below (`None`: the store's root).
    prefix: Option<[Name; 2]>,
    sessions: Mutex<HashMap<Name, Cached>>,
    /// The connector file each connection names, as of its stamp: the MCP
    /// tool list is rebuilt on every call, without parsing them all.
    connectors: Mutex<HashMap<Name, (Stamp, PathBuf)>>,
    /// Store documents' stamps as last read, and when.
    stamps: Mutex<HashMap<Name, (Instant, Option<Stamp>)>>,
}

impl Space {
    /// Tenant `tenant`'s space, its places derived from the default
    /// tenant's `documents` and connections directory `dir`.
    pub fn new(tenant: Name, documents: &Documents, dir: &std::path::Path) -> Space {
        let default = tenant.as_str() == DEFAULT_TENANT;
        let (documents, home, prefix) = if default {
            (documents.clone(), dir.to_owned(), None)
        } else {
            let tenants = Name::parse(TENANTS, "folder").expect("a fixed name");
            (
                documents.for_tenant(&tenant),
                dir.join(TENANTS).join(tenant.as_str()),
                Some([tenants, tenant.clone()]),
            )
        };
        Space {
            tenant,
            documents,
            secrets_dir: home.join(".secrets"),
            prefix,
            sessions: Mutex::default(),
            connectors: Mutex::default(),
            stamps: Mutex::default(),
        }
    }

    /// The store path of a record of this tenant's: `<kind>/<names…>`,
    /// below `tenants/<tenant>/` for any tenant but the default.
    pub fn asset(&self, kind: &str, names: &[&Name]) -> AssetName {
        let kind = Name::parse(kind, "path segment").expect("the host's own kinds are names");
        let mut segments: Vec<&Name> = self.prefix.iter().flatten().collect();
        segments.push(&kind);
        segments.extend_from_slice(names);
        AssetName::join(&segments)
    }

    /// The directory of `connection`'s typed secrets kept in files.
    pub fn secrets_dir(&self, connection: &Name) -> PathBuf {
        self.secrets_dir.join(connection.as_str())
    }
}

/// When `serve` starts: makes sure its key file exists (connections it
/// makes name it) and seals the plain typed and webhook secrets from
/// before (`.secrets/` of every tenant below `connections`); how many.
///
/// # Errors
///
/// A sentence naming the first file that could not be sealed.
pub async fn seal_kept_secrets(
    at_rest: &crate::at_rest::AtRest,
    connections: &std::path::Path,
) -> Result<usize, String> {
    at_rest.ready().map_err(|e| e.to_string())?;
    let mut homes = vec![connections.to_owned()];
    if let Ok(tenants) = std::fs::read_dir(connections.join(TENANTS)) {
        homes.extend(tenants.flatten().map(|t| t.path()));
    }
    let mut sealed = 0;
    for home in homes {
        sealed += at_rest
            .seal_plain_files(&home.join(".secrets"))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(sealed)
}

/// A request's tenant: the server's state and the space it may use.
#[derive(Clone)]
pub struct Scope {
    /// The server's state.
    pub state: Arc<State>,
    /// The tenant's space.
    pub space: Arc<Space>,
    /// Who sent the request.
    pub principal: Principal,
}

impl std::ops::Deref for Scope {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl Scope {
    /// The scope of `principal` in `tenant`.
    pub fn new(state: Arc<State>, principal: Principal, tenant: &Name) -> Scope {
        let space = state.space(tenant);
        Scope {
            state,
            space,
            principal,
        }
    }

    /// The tenant's connections.
    pub fn documents(&self) -> &Documents {
        &self.space.documents
    }

    /// The connections, sorted (none when they cannot be listed).
    pub async fn connection_names(&self) -> Vec<Name> {
        match self.space.documents.names().await {
            Ok(names) => names,
            Err(error) => {
                tracing::warn!(%error, "cannot list the connections");
                Vec::new()
            }
        }
    }

    /// Connection `name`'s stamp: a file's every time, a store document's
    /// as read within the last [`FRESH`]. `None` when it does not exist.
    pub async fn stamp(&self, name: &Name) -> Result<Option<Stamp>, SessionError> {
        let space = &self.space;
        if let Documents::Directory(_) = space.documents {
            return Ok(space.documents.stamp(name).await?);
        }
        let known = lock(&space.stamps).get(name).copied();
        if let Some((_, stamp)) = known.filter(|(at, _)| at.elapsed() < FRESH) {
            return Ok(stamp);
        }
        let stamp = space.documents.stamp(name).await?;
        lock(&space.stamps).insert(name.clone(), (Instant::now(), stamp));
        Ok(stamp)
    }

    /// The session of connection `name`, opened again when it changed.
    pub async fn session(&self, name: &Name) -> Result<Arc<Session>, SessionError> {
        let documents = &self.space.documents;
        let missing = || crate::ConnectionError::Read {
            path: documents.label(name),
            source: std::io::ErrorKind::NotFound.into(),
        };
        let seen = self.stamp(name).await?.ok_or_else(missing)?;
        if let Some(cached) = lock(&self.space.sessions)
            .get(name)
            .filter(|c| c.seen == seen)
        {
            return Ok(cached.session.clone());
        }
        let (mut connection, seen) = documents.load(name).await?.ok_or_else(missing)?;
        // serve's own [at_rest] seals what it keeps, token files included.
        connection.at_rest = self.config.at_rest.clone();
        // Checks the pin against the bytes the catalogue compiled.
        let connector = self.catalogue.for_connection(&connection).await?;
        let session = Arc::new(Session::with_connector(connection, connector).await?);
        lock(&self.space.sessions).insert(
            name.clone(),
            Cached {
                seen,
                session: session.clone(),
            },
        );
        Ok(session)
    }

    /// Forgets the cached session of `name` (its file was written or removed).
    pub fn forget_session(&self, name: &Name) {
        lock(&self.space.sessions).remove(name);
        lock(&self.space.stamps).remove(name);
        lock(&self.space.connectors).remove(name);
    }

    /// The connector file connection `name` names; it is parsed again only
    /// when it changed. `None` when it cannot be read or parsed.
    async fn connector_file(&self, name: &Name) -> Option<PathBuf> {
        let seen = self.stamp(name).await.ok()??;
        let known = lock(&self.space.connectors)
            .get(name)
            .filter(|(at, _)| *at == seen)
            .map(|(_, file)| file.clone());
        if known.is_some() {
            return known;
        }
        let (connection, seen) = self.space.documents.load(name).await.ok()??;
        let file = connection.connector;
        lock(&self.space.connectors).insert(name.clone(), (seen, file.clone()));
        Some(file)
    }

    /// The connections whose activities are MCP tools.
    pub async fn exposed(&self) -> Vec<crate::mcp::Exposed> {
        let mut exposed = Vec::new();
        for name in self.connection_names().await {
            let Some(file) = self.connector_file(&name).await else {
                continue;
            };
            if let Ok(connector) = self.catalogue.by_file(&file).await {
                exposed.push(crate::mcp::Exposed { name, connector });
            }
        }
        exposed
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `tenant` query parameter, if the request has one.
pub fn asked_tenant(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == "tenant")
        .map(|(_, value)| value.into_owned())
}

/// The caller's principal and the tenant the request works in, or the 404
/// a tenant that does not exist would get.
pub fn scope_of(
    state: &Arc<State>,
    caller: &Caller,
    query: Option<&str>,
) -> Result<Scope, ApiError> {
    let principal = caller.principal().clone();
    let asked = asked_tenant(query);
    let tenant = principal.tenant(asked.as_deref()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no tenant named {}",
                crate::redact::untrusted(asked.as_deref().unwrap_or(""))
            ),
        )
    })?;
    Ok(Scope::new(state.clone(), principal, &tenant))
}

impl FromRequestParts<Arc<State>> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Scope, ApiError> {
        let caller = parts.extensions.get::<Caller>().ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
        })?;
        scope_of(state, caller, parts.uri.query())
    }
}

/// `/mcp`'s tools: the connections of the request's own tenant.
pub struct McpSource(pub Arc<State>);

impl McpSource {
    /// The scope of an MCP request (rmcp hands each request its HTTP
    /// request's `Parts`, which carry the caller the middleware set).
    fn scope(&self, request: &rmcp::model::Extensions) -> Option<Scope> {
        let parts = request.get::<Parts>()?;
        let caller = parts.extensions.get::<Caller>()?;
        scope_of(&self.0, caller, parts.uri.query()).ok()
    }
}

impl crate::mcp::ToolSource for McpSource {
    async fn connections(&self, request: &rmcp::model::Extensions) -> Vec<crate::mcp::Exposed> {
        match self.scope(request) {
            Some(scope) => scope.exposed().await,
            None => Vec::new(),
        }
    }

    async fn session(
        &self,
        name: &Name,
        request: &rmcp::model::Extensions,
    ) -> Result<Arc<Session>, SessionError> {
        let missing = || crate::ConnectionError::Read {
            path: PathBuf::from(name.as_str()),
            source: std::io::ErrorKind::NotFound.into(),
        };
        self.scope(request).ok_or_else(missing)?.session(name).await
    }
}
