//! The `[at_rest]` table, the same in connection files and `serve.toml`.
//!
//! ```toml
//! [at_rest]
//! key = "transit"                 # or "file" or "plain"; default: a local key made on first use
//! store = "vault"                 # a [stores] entry, for transit
//! transit_mount = "transit"       # default "transit"
//! transit_key = "connector-host"  # default "connector-host"
//! data_key_seconds = 60           # a Transit data key seals for this long (0: one per write)
//! key_file = "/etc/connector-host/at-rest.key"   # for key = "file"
//! ```
//!
//! `CONNECTOR_HOST_AT_REST_KEY_FILE` names the key file when the table does
//! not choose `transit` or `plain`: it replaces the default local key, and
//! `key_file` too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::secrets::vault::VaultConfig;

/// The environment variable that names a key file.
pub const KEY_FILE_ENV: &str = "CONNECTOR_HOST_AT_REST_KEY_FILE";

/// How secrets kept in files outside Vault are protected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtRestSettings {
    /// The default: a key made on first use, `<data dir>/at-rest.key`.
    LocalKey(PathBuf),
    /// A key file the operator provides.
    KeyFile(PathBuf),
    /// Envelope encryption: data keys from Vault Transit.
    Transit {
        /// The `[stores]` entry whose login is used.
        store: String,
        /// The Transit engine's mount.
        mount: String,
        /// The Transit key's name.
        key: String,
        /// How long one data key seals new files (zero: one per write).
        data_key_lifetime: Duration,
    },
    /// Plain files, because the operator said so.
    Plain,
}

impl AtRestSettings {
    /// The `[at_rest]` table that says this, for the connection files
    /// `serve` makes. The default local key is named as a key file: a
    /// worker or the CLI reading the connection with another data
    /// directory then opens its typed secrets with the same key.
    pub fn to_toml(&self) -> String {
        let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
        match self {
            AtRestSettings::Plain => "[at_rest]\nkey = \"plain\"\n".into(),
            AtRestSettings::LocalKey(path) | AtRestSettings::KeyFile(path) => format!(
                "[at_rest]\nkey = \"file\"\nkey_file = {}\n",
                quoted(
                    &std::path::absolute(path)
                        .unwrap_or_else(|_| path.clone())
                        .display()
                        .to_string()
                )
            ),
            AtRestSettings::Transit {
                store,
                mount,
                key,
                data_key_lifetime,
            } => format!(
                "[at_rest]\nkey = \"transit\"\nstore = {}\ntransit_mount = {}\ntransit_key = {}\ndata_key_seconds = {}\n",
                quoted(store),
                quoted(mount),
                quoted(key),
                data_key_lifetime.as_secs()
            ),
        }
    }
}

impl Default for AtRestSettings {
    fn default() -> Self {
        AtRestSettings::LocalKey(crate::at_rest::data_dir().join("at-rest.key"))
    }
}

/// The TOML form.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAtRest {
    key: Option<String>,
    store: Option<String>,
    transit_mount: Option<String>,
    transit_key: Option<String>,
    key_file: Option<PathBuf>,
    data_key_seconds: Option<u64>,
}

impl RawAtRest {
    /// The settings, relative paths resolved against `base`; `stores` are the
    /// file's own (a Transit store must be one of them). The error is the
    /// problem only: the caller says which file and table.
    pub(crate) fn resolve(
        self,
        base: &Path,
        stores: &BTreeMap<String, VaultConfig>,
    ) -> Result<AtRestSettings, String> {
        let env = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty());
        let transit_only = self.store.is_some()
            || self.transit_mount.is_some()
            || self.transit_key.is_some()
            || self.data_key_seconds.is_some();
        let key = self.key.clone();
        match key.as_deref() {
            None | Some("file") if transit_only => Err(
                "store, transit_mount, transit_key and data_key_seconds go with key = \"transit\"".into(),
            ),
            None if env.is_none() && self.key_file.is_some() => {
                Err("key_file goes with key = \"file\"".into())
            }
            None => Ok(env.map_or_else(AtRestSettings::default, |p| {
                AtRestSettings::KeyFile(PathBuf::from(p))
            })),
            Some("file") => match (env, self.key_file) {
                (Some(path), _) => Ok(AtRestSettings::KeyFile(PathBuf::from(path))),
                (None, Some(path)) => Ok(AtRestSettings::KeyFile(base.join(path))),
                (None, None) => Err(format!(
                    "key = \"file\" needs key_file = \"…\" (or {KEY_FILE_ENV})"
                )),
            },
            Some("plain") if transit_only || self.key_file.is_some() => {
                Err("key = \"plain\" takes no other setting".into())
            }
            Some("plain") => Ok(AtRestSettings::Plain),
            Some("transit") if self.key_file.is_some() => {
                Err("key_file goes with key = \"file\"".into())
            }
            Some("transit") => self.transit(stores),
            Some(_) => Err("key is \"transit\", \"file\" or \"plain\" (or absent: a local key made on first use)".into()),
        }
    }

    fn transit(self, stores: &BTreeMap<String, VaultConfig>) -> Result<AtRestSettings, String> {
        let known = || stores.keys().cloned().collect::<Vec<_>>().join(", ");
        let store = match self.store {
            Some(name) if stores.contains_key(&name) => name,
            Some(_) => {
                return Err(format!(
                    "store names a store that is not defined under [stores] (defined: {})",
                    known()
                ))
            }
            None if stores.len() == 1 => stores.keys().next().cloned().expect("one store"),
            None => {
                return Err(format!(
                    "key = \"transit\" needs store = \"NAME\", one of [stores] (defined: {})",
                    known()
                ))
            }
        };
        let name = |value: Option<String>, what: &str| {
            let value = value.unwrap_or_else(|| default_name(what).into());
            let fine = !value.is_empty()
                && value.len() <= 128
                && !value.starts_with('/')
                && !value.ends_with('/')
                && value.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || b"-_.".contains(&b)
                        || (b == b'/' && what == "transit_mount")
                })
                && !value.split('/').any(|s| s == "." || s == "..");
            fine.then_some(value).ok_or_else(|| {
                format!("{what} is 1 to 128 letters, digits, - _ . (and / in a mount)")
            })
        };
        let seconds = crate::serve::config::within(
            "[at_rest]",
            "data_key_seconds",
            self.data_key_seconds,
            (0, 3600),
            60,
        )?;
        Ok(AtRestSettings::Transit {
            store,
            mount: name(self.transit_mount, "transit_mount")?,
            key: name(self.transit_key, "transit_key")?,
            data_key_lifetime: Duration::from_secs(seconds),
        })
    }
}

fn default_name(what: &str) -> &'static str {
    if what == "transit_mount" {
        "transit"
    } else {
        "connector-host"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AtRestSettings, String> {
        let raw: RawAtRest = toml::from_str(text).map_err(|e| e.to_string())?;
        let stores = BTreeMap::from([("vault".to_owned(), vault())]);
        raw.resolve(Path::new("/etc/ch"), &stores)
    }

    fn vault() -> VaultConfig {
        let text = "connector = \"x.wasm\"\n[stores.vault]\naddress = \"http://127.0.0.1:1\"\nauth = { method = \"token\", token = { env = \"T\" } }\n";
        let connection = crate::connection::Connection::parse(Path::new("/c.toml"), text).unwrap();
        connection.stores["vault"].clone()
    }

    #[test]
    fn each_key_parses_and_wrong_combinations_are_explained() {
        // The environment is shared by the tests in this process: only
        // cases that do not depend on it.
        if std::env::var_os(KEY_FILE_ENV).is_some() {
            return;
        }
        assert!(matches!(parse("").unwrap(), AtRestSettings::LocalKey(_)));
        assert_eq!(parse("key = \"plain\"").unwrap(), AtRestSettings::Plain);
        assert_eq!(
            parse("key = \"file\"\nkey_file = \"k\"").unwrap(),
            AtRestSettings::KeyFile("/etc/ch/k".into())
        );
        assert_eq!(
            parse("key = \"transit\"").unwrap(),
            AtRestSettings::Transit {
                store: "vault".into(),
                mount: "transit".into(),
                key: "connector-host".into(),
                data_key_lifetime: Duration::from_secs(60),
            }
        );
        for (text, needle) in [
            ("key = \"file\"", "needs key_file"),
            (
                "key = \"transit\"\nstore = \"nope\"",
                "not defined under [stores]",
            ),
            ("key = \"transit\"\ntransit_key = \"a b\"", "transit_key is"),
            (
                "key = \"transit\"\ntransit_mount = \"../sys\"",
                "transit_mount is",
            ),
            ("key = \"plain\"\nkey_file = \"k\"", "no other setting"),
            ("store = \"vault\"", "go with key = \"transit\""),
            ("key = \"rot13\"", "\"transit\", \"file\" or \"plain\""),
            (
                "key = \"transit\"\ndata_key_seconds = 99999",
                "out of bounds",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}
