//! What one `serve` process shares between requests: one engine and loaded
//! connector per component (the catalogue), one [`Session`] per connection
//! (so one resolver cache and one token manager each, with single-flight
//! refresh), the sign-ins in progress and the page's browser sessions.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::config::Config;
use super::throttle::Throttle;
use crate::catalogue::Catalogue;
use crate::documents::{Documents, Stamp};
use crate::name::Name;
use crate::oauth::Authorization;
use crate::secrets::vault::{VaultConfig, VaultStore};
use crate::{Connection, Runtime, Session, SessionError};

/// A sign-in started by Connect, waiting for the provider's redirect.
pub struct PendingSignIn {
    /// The connection.
    pub connection: Name,
    /// Which browser may finish it.
    pub bound_to: Binding,
    /// The sign-in (state and PKCE verifier).
    pub authorization: Authorization,
    /// When it was started (pending sign-ins expire).
    pub started: Instant,
}

/// Which browser may finish a sign-in.
pub enum Binding {
    /// The page session that started it (its cookie's value).
    Page(String),
    /// An API client started it: the first browser to open the one-time
    /// start link `/oauth/start/{link}` gets cookie `ch_signin_{link}`
    /// (with the value kept here) and only that browser may finish it.
    Link {
        /// The start link's id (random, given only to the API client).
        link: String,
        /// The binding cookie's value, once a browser opened the link.
        opened: Option<String>,
    },
}

/// A browser's session on the page.
pub struct PageSession {
    /// The CSRF token its requests must carry.
    pub csrf: String,
    /// When it was made.
    pub started: Instant,
}

struct Cached {
    seen: Stamp,
    session: Arc<Session>,
}

/// How long a store document's stamp is trusted before it is read again:
/// a change on another replica is seen within this.
const STAMP_FRESH: Duration = Duration::from_secs(2);

/// The process's shared state.
pub struct State {
    /// The settings.
    pub config: Config,
    /// The engine every connector runs in.
    pub runtime: Arc<Runtime>,
    /// The connectors directory.
    pub catalogue: Catalogue,
    /// The credential stores offered on the page.
    pub stores: BTreeMap<String, VaultConfig>,
    /// The store typed secrets go to (the first read-write one), if any.
    pub secret_store: Option<(String, Arc<VaultStore>)>,
    /// What API clients must present.
    pub api_token: SecretString,
    /// Where the connections are: a directory, or a store's documents.
    pub documents: Documents,
    sessions: Mutex<HashMap<Name, Cached>>,
    /// The connector file each connection names, as of its stamp: the MCP
    /// tool list is rebuilt on every call, without parsing them all.
    connectors: Mutex<HashMap<Name, (Stamp, PathBuf)>>,
    /// Store documents' stamps as last read, and when.
    stamps: Mutex<HashMap<Name, (Instant, Option<Stamp>)>>,
    /// Sign-ins by their `state`.
    pub sign_ins: Mutex<HashMap<String, PendingSignIn>>,
    /// Page sessions by their cookie's value.
    pub page_sessions: Mutex<HashMap<String, PageSession>>,
    /// Wrong API tokens and lockouts by client address.
    pub throttle: Throttle,
}

impl State {
    /// The shared state for `config`.
    ///
    /// # Errors
    ///
    /// A sentence when the stores are unusable.
    pub fn new(
        config: Config,
        runtime: Arc<Runtime>,
        api_token: SecretString,
    ) -> Result<State, String> {
        let stores = parse_stores(&config)?;
        let secret_store = stores
            .iter()
            .find(|(_, c)| c.read_write)
            .map(|(name, c)| (name.clone(), Arc::new(VaultStore::new(c.clone()))));
        let catalogue =
            Catalogue::new(runtime.clone(), &config.connectors).with_names(config.names.clone());
        let documents = documents(&config, &stores)?;
        Ok(State {
            runtime,
            catalogue,
            stores,
            secret_store,
            api_token,
            documents,
            sessions: Mutex::default(),
            connectors: Mutex::default(),
            stamps: Mutex::default(),
            sign_ins: Mutex::default(),
            page_sessions: Mutex::default(),
            throttle: Throttle::new(&config.guards),
            config,
        })
    }

    /// The connections, sorted (none when they cannot be listed).
    pub async fn connection_names(&self) -> Vec<Name> {
        match self.documents.names().await {
            Ok(names) => names,
            Err(error) => {
                tracing::warn!(%error, "cannot list the connections");
                Vec::new()
            }
        }
    }

    /// Connection `name`'s stamp: a file's every time, a store document's
    /// as read within the last [`STAMP_FRESH`]. `None` when it does not exist.
    pub async fn stamp(&self, name: &Name) -> Result<Option<Stamp>, SessionError> {
        if let Documents::Directory(_) = self.documents {
            return Ok(self.documents.stamp(name).await?);
        }
        let known = self.lock_stamps().get(name).copied();
        if let Some((_, stamp)) = known.filter(|(at, _)| at.elapsed() < STAMP_FRESH) {
            return Ok(stamp);
        }
        let stamp = self.documents.stamp(name).await?;
        self.lock_stamps()
            .insert(name.clone(), (Instant::now(), stamp));
        Ok(stamp)
    }

    /// The session of connection `name`, opened again when it changed.
    pub async fn session(&self, name: &Name) -> Result<Arc<Session>, SessionError> {
        let missing = || crate::ConnectionError::Read {
            path: self.documents.label(name),
            source: std::io::ErrorKind::NotFound.into(),
        };
        let seen = self.stamp(name).await?.ok_or_else(missing)?;
        if let Some(cached) = self.lock_sessions().get(name).filter(|c| c.seen == seen) {
            return Ok(cached.session.clone());
        }
        let (connection, seen) = self.documents.load(name).await?.ok_or_else(missing)?;
        // Checks the pin against the bytes the catalogue compiled.
        let connector = self.catalogue.for_connection(&connection).await?;
        let session = Arc::new(Session::with_connector(connection, connector).await?);
        self.lock_sessions().insert(
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
        self.lock_sessions().remove(name);
        self.lock_stamps().remove(name);
        self.connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Name, Cached>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_stamps(&self) -> std::sync::MutexGuard<'_, HashMap<Name, (Instant, Option<Stamp>)>> {
        self.stamps.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where the config keeps connections: its `connections_store` (a
/// read-write KV v2 store of `[stores]`), else its connections directory.
pub(crate) fn documents(
    config: &Config,
    stores: &BTreeMap<String, VaultConfig>,
) -> Result<Documents, String> {
    let Some(name) = &config.connections_store else {
        return Ok(Documents::Directory(config.connections.clone()));
    };
    let store = stores.get(name).ok_or_else(|| {
        format!(
            "serve config: connections_store {name:?} is not defined under [stores] (defined: {})",
            stores.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    if !store.read_write || store.kv_version != 2 {
        return Err(format!(
            "serve config: connections_store {name:?} must be a read-write KV v2 store (connections are written with check-and-set)\nhint: set mode = \"read-write\" on [stores.{name}], on a KV v2 mount"
        ));
    }
    Ok(Documents::in_store(name, store, &config.connectors))
}

/// The config's `[stores]`, parsed as a connection file would parse them.
/// A store whose login credentials are literals is refused: its table is
/// copied into every connection the page creates.
pub(crate) fn parse_stores(config: &Config) -> Result<BTreeMap<String, VaultConfig>, String> {
    if config.stores_toml.is_empty() {
        return Ok(BTreeMap::new());
    }
    let text = format!("connector = \"none.wasm\"\n{}", config.stores_toml);
    let connection = Connection::parse(&config.connections.join("serve.toml"), &text)
        .map_err(|e| format!("serve config [stores]: {e}"))?;
    for (name, store) in &connection.stores {
        if store.auth.has_literal() {
            return Err(format!(
                "serve config [stores.{name}]: the store's login credentials are typed into the file; they are copied into every connection, so give them as {{ env = … }} or {{ file = … }}"
            ));
        }
    }
    Ok(connection.stores)
}

impl State {
    /// The connector file connection `name` names; it is parsed again only
    /// when it changed. `None` when it cannot be read or parsed.
    async fn connector_file(&self, name: &Name) -> Option<PathBuf> {
        let seen = self.stamp(name).await.ok()??;
        let known = self
            .connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .filter(|(at, _)| *at == seen)
            .map(|(_, file)| file.clone());
        if known.is_some() {
            return known;
        }
        let (connection, seen) = self.documents.load(name).await.ok()??;
        let file = connection.connector;
        self.connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), (seen, file.clone()));
        Some(file)
    }
}

impl crate::mcp::ToolSource for State {
    async fn connections(&self) -> Vec<crate::mcp::Exposed> {
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

    async fn session(&self, name: &Name) -> Result<Arc<Session>, SessionError> {
        State::session(self, name).await
    }
}
