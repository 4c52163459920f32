//! What one `serve` process shares between requests: one engine and loaded
//! connector per component (the catalogue), each tenant's space (with one
//! [`crate::Session`] per connection: one resolver cache and one token
//! manager each, with single-flight refresh), the tenants' tokens, the
//! sign-ins in progress and the page's browser sessions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use secrecy::SecretString;

use super::config::Config;
use super::space::Space;
use super::tenants::{Principal, TenantTokens};
use super::throttle::Throttle;
use crate::at_rest::AtRest;
use crate::catalogue::Catalogue;
use crate::documents::Documents;
use crate::name::Name;
use crate::oauth::Authorization;
use crate::secrets::vault::{VaultConfig, VaultStore};
use crate::{Connection, Runtime};

/// A sign-in started by Connect, waiting for the provider's redirect.
pub struct PendingSignIn {
    /// The tenant whose connection it is.
    pub tenant: Name,
    /// Who started it.
    pub principal: Principal,
    /// The connection.
    pub connection: Name,
    /// Which browser may finish it.
    pub bound_to: Binding,
    /// The sign-in (state and PKCE verifier).
    pub authorization: Authorization,
    /// Where a connect link's person goes once it ends (`None`: not a
    /// connect link's sign-in).
    pub after: Option<super::links::After>,
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
    /// Whose token it was made from (it ends when that token is revoked).
    pub principal: Principal,
    /// The CSRF token its requests must carry.
    pub csrf: String,
    /// When it was made.
    pub started: Instant,
}

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
    /// How what is kept in files is sealed (`[at_rest]`).
    pub at_rest: Arc<AtRest>,
    /// What API clients must present.
    pub api_token: SecretString,
    /// Where the default tenant's connections are (a directory, or a
    /// store's documents); every other tenant's are beside them.
    documents: Documents,
    /// Each tenant's places and open sessions, made when first used.
    spaces: Mutex<HashMap<Name, Arc<Space>>>,
    /// The tenants' API tokens.
    pub tenant_tokens: TenantTokens,
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
        let at_rest = Arc::new(AtRest::new(&config.at_rest, &stores));
        super::record::seal_with(at_rest.clone());
        Ok(State {
            at_rest,
            runtime,
            catalogue,
            stores,
            secret_store,
            api_token,
            tenant_tokens: TenantTokens::beside(&documents),
            documents,
            spaces: Mutex::default(),
            sign_ins: Mutex::default(),
            page_sessions: Mutex::default(),
            throttle: Throttle::new(&config.guards),
            config,
        })
    }

    /// Where the default tenant's connections are (records such as connect
    /// links are kept beside them).
    pub fn home_documents(&self) -> Documents {
        self.documents.clone()
    }

    /// Tenant `tenant`'s space (its places and open sessions).
    pub fn space(&self, tenant: &Name) -> Arc<Space> {
        let mut spaces = self.spaces.lock().unwrap_or_else(|e| e.into_inner());
        spaces
            .entry(tenant.clone())
            .or_insert_with(|| {
                Arc::new(Space::new(
                    tenant.clone(),
                    &self.documents,
                    &self.config.connections,
                ))
            })
            .clone()
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
