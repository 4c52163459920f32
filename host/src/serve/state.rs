//! What one `serve` process shares between requests: one engine and loaded
//! connector per component (the catalogue), one [`Session`] per connection
//! (so one resolver cache and one token manager each, with single-flight
//! refresh), the sign-ins in progress and the page's browser sessions.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use secrecy::SecretString;

use super::config::Config;
use super::throttle::Throttle;
use crate::catalogue::Catalogue;
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
    seen: Seen,
    session: Arc<Session>,
}

/// A file's modification time and length, as `catalogue::stat` gives them.
type Seen = (SystemTime, u64);

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
    sessions: Mutex<HashMap<Name, Cached>>,
    /// The connector file each connection file names, as of the file's stat:
    /// the MCP tool list is rebuilt on every call, without parsing them all.
    connectors: Mutex<HashMap<Name, (Seen, PathBuf)>>,
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
        let catalogue = Catalogue::new(runtime.clone(), &config.connectors);
        Ok(State {
            runtime,
            catalogue,
            stores,
            secret_store,
            api_token,
            sessions: Mutex::default(),
            connectors: Mutex::default(),
            sign_ins: Mutex::default(),
            page_sessions: Mutex::default(),
            throttle: Throttle::new(&config.guards),
            config,
        })
    }

    /// The file of connection `name`: `<name>.toml` in the connections
    /// directory (a [`Name`] holds no separator or dot, so it stays there).
    pub fn connection_file(&self, name: &Name) -> PathBuf {
        self.config.connections.join(format!("{name}.toml"))
    }

    /// The connections, by their files' names, sorted; a file whose stem is
    /// not a [`Name`] is not a connection of this server.
    pub fn connection_names(&self) -> Vec<Name> {
        let Ok(dir) = std::fs::read_dir(&self.config.connections) else {
            return Vec::new();
        };
        let mut names: Vec<Name> = dir
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                if path.extension()? != "toml" {
                    return None;
                }
                Name::parse(path.file_stem()?.to_str()?, "connection name").ok()
            })
            .collect();
        names.sort();
        names
    }

    /// The session of connection `name`, opened again when its file changed.
    pub async fn session(&self, name: &Name) -> Result<Arc<Session>, SessionError> {
        let path = self.connection_file(name);
        let seen = std::fs::metadata(&path)
            .and_then(|m| Ok((m.modified()?, m.len())))
            .map_err(|source| crate::ConnectionError::Read {
                path: path.clone(),
                source,
            })?;
        if let Some(cached) = self.lock_sessions().get(name).filter(|c| c.seen == seen) {
            return Ok(cached.session.clone());
        }
        let connection = Connection::load(&path)?;
        connection.read_connector()?; // the pin
        let connector = self
            .catalogue
            .by_file(&connection.connector)
            .await
            .map_err(|reason| crate::InvokeError::Load {
                path: connection.connector.clone(),
                reason,
            })?;
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
        self.connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Name, Cached>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
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
    /// The connector file connection `name` names; its file is parsed again
    /// only when it changed. `None` when it cannot be read or parsed.
    fn connector_file(&self, name: &Name) -> Option<PathBuf> {
        let path = self.connection_file(name);
        let seen = crate::catalogue::stat(&path)?;
        let mut known = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, file)) = known.get(name).filter(|(at, _)| *at == seen) {
            return Some(file.clone());
        }
        let file = Connection::load(&path).ok()?.connector;
        known.insert(name.clone(), (seen, file.clone()));
        Some(file)
    }
}

impl crate::mcp::ToolSource for State {
    async fn connections(&self) -> Vec<crate::mcp::Exposed> {
        let mut exposed = Vec::new();
        for name in self.connection_names() {
            let Some(file) = self.connector_file(&name) else {
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
