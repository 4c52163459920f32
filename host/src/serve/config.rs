//! `serve`'s settings: a TOML file, overridden by command-line flags.
//!
//! ```toml
//! listen = "127.0.0.1:8080"          # loopback by default
//! connectors = "connectors"          # directory of *.wasm, relative to this file
//! connections = "connections"        # directory of connection files (one machine), or
//! connections_store = "vault"        # keep them in this read-write store (replicas share them)
//! public_url = "http://127.0.0.1:8080" # where browsers reach serve (OAuth redirects come back here)
//! api_token = { env = "CONNECTOR_HOST_API_TOKEN" }   # any field source; required beyond loopback
//! header_read_timeout_seconds = 10   # a request head must arrive within this (idle keep-alive too)
//! max_connections_per_client = 2048  # open connections from one address (an IPv6 /64)
//! sign_in_attempts = 5               # wrong API tokens from one address before a lockout
//! sign_in_lockout_seconds = 300      # how long the lockout lasts
//!
//! [stores.vault]                     # credential stores offered on the page; the first
//! address = "http://127.0.0.1:8200"  # read-write one keeps secrets typed on the page
//! mode = "read-write"
//!
//! [endpoints]                        # written into new connections (e.g. the sandbox)
//! "https://api.cc.email" = "http://127.0.0.1:8911"
//!
//! connect_redirects = ["https://app.example.com/connected"]  # where connect links may send people back
//! connect_link_assets = false        # whether a connect link's form may offer "Use credential asset"
//!
//! [names]                            # which file a connector name means when
//! "constant-contact" = "cc_connector.wasm"  # several components claim it
//!
//! [events]                           # subscriptions (see `subscriptions.rs`); all optional
//! webhook_destinations = ["http://127.0.0.1:9000"]  # origins a webhook URL may use although
//!                                    # plain http or not public (loopback, private, metadata)
//! retry_first_ms = 5000              # a failed delivery waits up to this, doubling each time,
//! retry_max_ms = 3600000             # up to this, with jitter;
//! attempts = 12                      # after this many it is a dead letter
//! lease_seconds = 30                 # a replica polls a subscription alone for this long
//! tick_ms = 1000                     # how often the poller looks for work
//! timeout_seconds = 15               # how long a receiver has to answer
//!
//! [at_rest]                          # how typed secrets, webhook secrets, records and
//! key = "transit"                    # token files kept in files are sealed (see
//! store = "vault"                    # `crate::at_rest`); copied into new connections
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::secrets::{FieldSource, RawSource};

/// The settings `serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The connectors directory.
    pub connectors: PathBuf,
    /// The connections directory.
    pub connections: PathBuf,
    /// The store connections are kept in instead (every replica sees them).
    pub connections_store: Option<String>,
    /// The base URL browsers use (the OAuth redirect is `<public_url>/oauth/callback`);
    /// `http://<listen>` when not set.
    pub public_url: Option<String>,
    /// Where the API token comes from; `None`: a random one, printed (loopback only).
    pub api_token: Option<FieldSource>,
    /// `[stores]` as TOML text, copied into the connections the page creates.
    pub stores_toml: String,
    /// `[endpoints]` as TOML text, copied into the connections the page creates.
    pub endpoints_toml: String,
    /// How `serve` guards itself against its clients.
    pub guards: Guards,
    /// Where a connect link may send its person back (exact URLs).
    pub connect_redirects: Vec<String>,
    /// Whether a connect link may offer its person "Use credential asset"
    /// (off: people outside the platform never name the operator's assets).
    pub connect_link_assets: bool,
    /// `[names]`: connector name → the file in the connectors directory that
    /// has it when several components claim it.
    pub names: BTreeMap<String, String>,
    /// `/metrics` and where it is offered (flags only).
    pub signals: super::signals::Settings,
    /// Subscriptions: where webhooks may go, retries, leases.
    pub events: super::subscriptions_config::EventSettings,
    /// `[signatures]`: whose connectors this server loads; `None`: the
    /// host-wide policy (`CONNECTOR_HOST_TRUSTED_KEYS`).
    pub trust: Option<crate::signing::TrustPolicy>,
    /// `[at_rest]`: how everything `serve` keeps in files is sealed,
    /// including the token files of the connections it opens.
    pub at_rest: crate::at_rest::AtRestSettings,
}

/// How `serve` guards itself against its clients: slow or idle
/// connections, many connections from one address, and token guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guards {
    /// A connection must send a whole request head within this of opening
    /// or of its last answer (so it also bounds an idle keep-alive).
    pub header_read_timeout: Duration,
    /// Connections open at once from one client address (an IPv6 /64).
    pub max_connections_per_client: usize,
    /// Wrong API tokens one client address may send before a lockout.
    pub sign_in_attempts: u32,
    /// How long a lockout lasts.
    pub sign_in_lockout: Duration,
}

impl Default for Guards {
    fn default() -> Guards {
        Guards {
            header_read_timeout: Duration::from_secs(10),
            // On loopback every local client is one address: `make bench`
            // holds 1,000 idle keep-alive connections from 127.0.0.1 beside
            // its client's pool, and a platform in front of serve as many.
            max_connections_per_client: 2048,
            sign_in_attempts: 5,
            sign_in_lockout: Duration::from_secs(300),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<SocketAddr>,
    connectors: Option<PathBuf>,
    connections: Option<PathBuf>,
    connections_store: Option<String>,
    public_url: Option<String>,
    api_token: Option<RawSource>,
    #[serde(default)]
    stores: BTreeMap<String, toml::Value>,
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    header_read_timeout_seconds: Option<u64>,
    max_connections_per_client: Option<usize>,
    sign_in_attempts: Option<u32>,
    sign_in_lockout_seconds: Option<u64>,
    #[serde(default)]
    connect_redirects: Vec<String>,
    #[serde(default)]
    connect_link_assets: bool,
    #[serde(default)]
    names: BTreeMap<String, String>,
    #[serde(default)]
    events: super::subscriptions_config::RawEvents,
    signatures: Option<RawSignatures>,
    #[serde(default)]
    at_rest: crate::at_rest::RawAtRest,
}

/// `[signatures]`: `trusted_keys = ["keys/acme.pub", "/etc/connector-host/keys"]`
/// (files, or directories of `*.pub` files), `allow_unsigned = false`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignatures {
    trusted_keys: Vec<PathBuf>,
    #[serde(default)]
    allow_unsigned: bool,
}

impl Config {
    /// The base URL browsers use.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The runtime settings of the environment (`CONNECTOR_HOST_*`), with
    /// this file's `[signatures]` in place of the host-wide trust policy:
    /// what `serve` and `worker` load connectors with.
    ///
    /// # Errors
    ///
    /// As [`crate::RuntimeSettings::from_env`].
    pub fn runtime_settings(&self) -> Result<crate::RuntimeSettings, crate::InvokeError> {
        let mut settings = crate::RuntimeSettings::from_env()?;
        if let Some(trust) = &self.trust {
            settings.loading.trust = trust.clone();
        }
        Ok(settings)
    }

    /// Reads `file` (when given), resolving its relative paths against it.
    ///
    /// # Errors
    ///
    /// A sentence naming the file and what is wrong (never a value).
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let (raw, base) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read serve config {}: {e}", path.display()))?;
                let raw: RawConfig = toml::from_str(&text).map_err(|e| {
                    format!(
                        "serve config {}: {}",
                        path.display(),
                        crate::redact::parser_message(e.message())
                    )
                })?;
                (raw, path.parent().unwrap_or(Path::new(".")).to_owned())
            }
            None => (RawConfig::default(), PathBuf::from(".")),
        };
        let listen = raw
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let guards = guards(&raw)?;
        let api_token = raw
            .api_token
            .map(|r| r.into_source())
            .transpose()
            .map_err(|p| format!("serve config: api_token: {p}"))?;
        for (name, file) in &raw.names {
            let plain = Path::new(file)
                .file_name()
                .is_some_and(|f| f == file.as_str());
            if !plain || !file.ends_with(".wasm") {
                return Err(format!(
                    "serve config [names] {name:?} = {file:?}: give the name of a *.wasm file in the connectors directory, without a directory"
                ));
            }
        }
        for url in &raw.connect_redirects {
            let parsed = url::Url::parse(url).ok();
            let web = parsed.as_ref().is_some_and(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.username().is_empty()
                    && u.password().is_none()
                    && u.fragment().is_none()
            });
            if !web {
                return Err(format!(
                    "serve config: connect_redirects: {} is not an http(s) URL without user name, password or fragment",
                    crate::redact::url(url)
                ));
            }
        }
        let mut config = Config {
            connect_redirects: raw.connect_redirects,
            connect_link_assets: raw.connect_link_assets,
            guards,
            listen,
            connectors: base.join(raw.connectors.unwrap_or_else(|| "connectors".into())),
            connections: base.join(raw.connections.unwrap_or_else(|| "connections".into())),
            connections_store: raw.connections_store,
            public_url: raw.public_url,
            api_token,
            stores_toml: table("stores", &raw.stores),
            endpoints_toml: table("endpoints", &raw.endpoints),
            names: raw.names,
            signals: super::signals::Settings::default(),
            events: raw.events.settings()?,
            trust: raw
                .signatures
                .map(|s| {
                    let keys: Vec<_> = s.trusted_keys.iter().map(|k| base.join(k)).collect();
                    if keys.is_empty() {
                        return Err("serve config [signatures]: trusted_keys is empty\nhint: name the publishers' public key files, or remove [signatures] to use CONNECTOR_HOST_TRUSTED_KEYS".to_owned());
                    }
                    crate::signing::TrustPolicy::from_paths(&keys, s.allow_unsigned, "serve config [signatures]")
                })
                .transpose()?,
            at_rest: crate::at_rest::AtRestSettings::Plain,
        };
        let stores = super::state::parse_stores(&config)?;
        config.at_rest = raw
            .at_rest
            .resolve(&base, &stores)
            .map_err(|p| format!("serve config [at_rest]: {p}"))?;
        Ok(config)
    }
}

/// A setting of the file (`place`: `serve config` or `serve config
/// [events]`), or its default, if it is within `low..=high`.
pub(crate) fn within(
    place: &str,
    key: &str,
    value: Option<u64>,
    (low, high): (u64, u64),
    default: u64,
) -> Result<u64, String> {
    let value = value.unwrap_or(default);
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{place}: {key} = {value} is out of bounds\nhint: use a value from {low} to {high}"
        ))
    }
}

/// The guards the file sets, each checked to be within its bounds.
fn guards(raw: &RawConfig) -> Result<Guards, String> {
    let default = Guards::default();
    let bounded = |key: &str, value: Option<u64>, low: u64, high: u64, default: u64| {
        within("serve config", key, value, (low, high), default)
    };
    let seconds = |key, value, high, default: Duration| {
        bounded(key, value, 1, high, default.as_secs()).map(Duration::from_secs)
    };
    Ok(Guards {
        header_read_timeout: seconds(
            "header_read_timeout_seconds",
            raw.header_read_timeout_seconds,
            600,
            default.header_read_timeout,
        )?,
        max_connections_per_client: bounded(
            "max_connections_per_client",
            raw.max_connections_per_client.map(|n| n as u64),
            1,
            1 << 20,
            default.max_connections_per_client as u64,
        )? as usize,
        sign_in_attempts: bounded(
            "sign_in_attempts",
            raw.sign_in_attempts.map(u64::from),
            1,
            1000,
            u64::from(default.sign_in_attempts),
        )? as u32,
        sign_in_lockout: seconds(
            "sign_in_lockout_seconds",
            raw.sign_in_lockout_seconds,
            86_400,
            default.sign_in_lockout,
        )?,
    })
}

/// `[name.key]` tables (stores) or `[name]` with `"key" = value` lines (endpoints), as TOML.
fn table<V: serde::Serialize>(name: &str, entries: &BTreeMap<String, V>) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let mut wrapper = toml::map::Map::new();
    wrapper.insert(
        name.to_owned(),
        toml::Value::try_from(entries).expect("config values serialize"),
    );
    toml::to_string(&wrapper).expect("config tables serialize")
}
