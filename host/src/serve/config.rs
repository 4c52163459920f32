//! `serve`'s settings: a TOML file, overridden by command-line flags.
//!
//! ```toml
//! listen = "127.0.0.1:8080"          # loopback by default
//! connectors = "connectors"          # directory of *.wasm, relative to this file
//! connections = "connections"        # directory of connection files
//! public_url = "http://127.0.0.1:8080" # where browsers reach serve (OAuth redirects come back here)
//! api_token = { env = "CONNECTOR_HOST_API_TOKEN" }   # any field source; required beyond loopback
//!
//! [stores.vault]                     # credential stores offered on the page; the first
//! address = "http://127.0.0.1:8200"  # read-write one keeps secrets typed on the page
//! mode = "read-write"
//!
//! [endpoints]                        # written into new connections (e.g. the sandbox)
//! "https://api.cc.email" = "http://127.0.0.1:8911"
//!
//! [names]                            # which file a connector name means when
//! "constant-contact" = "cc_connector.wasm"  # several components claim it
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// The base URL browsers use (the OAuth redirect is `<public_url>/oauth/callback`);
    /// `http://<listen>` when not set.
    pub public_url: Option<String>,
    /// Where the API token comes from; `None`: a random one, printed (loopback only).
    pub api_token: Option<FieldSource>,
    /// `[stores]` as TOML text, copied into the connections the page creates.
    pub stores_toml: String,
    /// `[endpoints]` as TOML text, copied into the connections the page creates.
    pub endpoints_toml: String,
    /// `[names]`: connector name → the file in the connectors directory that
    /// has it when several components claim it.
    pub names: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<SocketAddr>,
    connectors: Option<PathBuf>,
    connections: Option<PathBuf>,
    public_url: Option<String>,
    api_token: Option<RawSource>,
    #[serde(default)]
    stores: BTreeMap<String, toml::Value>,
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
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
        Ok(Config {
            listen,
            connectors: base.join(raw.connectors.unwrap_or_else(|| "connectors".into())),
            connections: base.join(raw.connections.unwrap_or_else(|| "connections".into())),
            public_url: raw.public_url,
            api_token,
            stores_toml: table("stores", &raw.stores),
            endpoints_toml: table("endpoints", &raw.endpoints),
            names: raw.names,
        })
    }
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
