//! Where a field's value comes from, as written in the connection file.
//!
//! ```toml
//! [fields]
//! client_id = "0b7c…"                                  # direct input
//! client_secret = { env = "CC_CLIENT_SECRET" }         # environment variable
//! client_secret = { file = "/run/secrets/cc" }         # first line of a file
//! client_secret = { asset = "cc-app", key = "client_secret" }                 # Secret asset
//! client_secret = { asset = "cc-login", type = "credential", part = "password" } # Credential asset
//! ```
//!
//! An asset reference may also name its `store`, an `external_name` (the name
//! in Vault, when it differs from the asset's) and a KV v2 `version`.

use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::name::AssetName;

/// One field's source.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FieldSource {
    /// Typed into the connection file.
    Literal(SecretString),
    /// An environment variable of the host process.
    Env(String),
    /// The first line of a file, trimmed (secrets mounted by an orchestrator).
    File(PathBuf),
    /// A credential asset in a credential store.
    Asset(AssetRef),
}

/// A "use credential asset" reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssetRef {
    /// The asset's name: a path below the store's data path that cannot
    /// climb out of it.
    pub name: AssetName,
    /// The name in the store, when it differs from `name`.
    pub external_name: Option<AssetName>,
    /// The store, when the connection has several.
    pub store: Option<String>,
    /// What the asset holds and which part this field takes.
    pub kind: AssetKind,
    /// A KV v2 version; the latest when absent.
    pub version: Option<u64>,
}

/// A Secret asset holds one value; a Credential asset a username and a password.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AssetKind {
    /// One value under `key` (`value` unless the reference names another).
    Secret {
        /// The key inside the secret.
        key: String,
    },
    /// `username` or `password`.
    Credential {
        /// `username` or `password`.
        part: String,
    },
}

impl AssetRef {
    /// The name appended to the store's data path.
    pub fn stored_name(&self) -> &str {
        self.external_name.as_deref().unwrap_or(&self.name)
    }

    /// The key read inside the secret.
    pub fn key(&self) -> &str {
        match &self.kind {
            AssetKind::Secret { key } => key,
            AssetKind::Credential { part } => part,
        }
    }
}

impl fmt::Display for FieldSource {
    /// Says where a value comes from, never what it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldSource::Literal(_) => write!(f, "direct input"),
            FieldSource::Env(var) => write!(f, "environment variable {var}"),
            FieldSource::File(path) => write!(f, "file {}", path.display()),
            FieldSource::Asset(a) => {
                write!(f, "credential asset '{}'", a.name)?;
                if let Some(store) = &a.store {
                    write!(f, " in store '{store}'")?;
                }
                Ok(())
            }
        }
    }
}

/// The TOML form: a string, or a table with one of `env`, `file`, `asset`.
pub(crate) enum RawSource {
    Literal(String),
    Table(RawTable),
}

/// By hand rather than `#[serde(untagged)]`, whose one error ("data did not
/// match any variant") hides which key inside the table is wrong.
impl<'de> Deserialize<'de> for RawSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or a table with one of `env`, `file` or `asset`")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<RawSource, E> {
                Ok(RawSource::Literal(value.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawSource, A::Error> {
                let table = serde::de::value::MapAccessDeserializer::new(map);
                RawTable::deserialize(table).map(RawSource::Table)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    env: Option<String>,
    file: Option<PathBuf>,
    asset: Option<String>,
    store: Option<String>,
    external_name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    key: Option<String>,
    part: Option<String>,
    version: Option<u64>,
}

impl RawSource {
    /// Checks the table's combination of keys; the error says what to write.
    pub(crate) fn into_source(self) -> Result<FieldSource, String> {
        let t = match self {
            RawSource::Literal(value) => return Ok(FieldSource::Literal(value.into())),
            RawSource::Table(t) => t,
        };
        let asset_keys = t.store.is_some()
            || t.external_name.is_some()
            || t.kind.is_some()
            || t.key.is_some()
            || t.part.is_some()
            || t.version.is_some();
        match (t.env, t.file, t.asset) {
            (Some(var), None, None) if !asset_keys => Ok(FieldSource::Env(var)),
            (None, Some(path), None) if !asset_keys => Ok(FieldSource::File(path)),
            (None, None, Some(name)) => {
                let kind = asset_kind(t.kind.as_deref(), t.key, t.part)?;
                let asset_name = |text: &str, what| {
                    AssetName::parse(text, what).map_err(|e| {
                        format!("{e}\nhint: an asset name is a path below the store's `path`; it cannot leave it")
                    })
                };
                let asset = AssetRef {
                    name: asset_name(&name, "asset name")?,
                    external_name: t
                        .external_name
                        .as_deref()
                        .map(|n| asset_name(n, "external_name"))
                        .transpose()?,
                    store: t.store,
                    kind,
                    version: t.version,
                };
                Ok(FieldSource::Asset(asset))
            }
            _ => Err(
                "a field is a string, or a table with exactly one of `env`, `file` or `asset` \
                      (store, external_name, type, key, part and version go with `asset`)"
                    .into(),
            ),
        }
    }
}

fn asset_kind(
    kind: Option<&str>,
    key: Option<String>,
    part: Option<String>,
) -> Result<AssetKind, String> {
    match (kind.unwrap_or("secret"), key, part) {
        ("secret", key, None) => Ok(AssetKind::Secret {
            key: key.unwrap_or_else(|| "value".into()),
        }),
        ("credential", None, Some(part)) if part == "username" || part == "password" => {
            Ok(AssetKind::Credential { part })
        }
        ("credential", None, _) => {
            Err("a credential asset needs part = \"username\" or \"password\"".into())
        }
        ("secret" | "credential", _, _) => {
            Err("`key` goes with type = \"secret\", `part` with type = \"credential\"".into())
        }
        (_, _, _) => Err("an asset's type is \"secret\" or \"credential\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_value: &str) -> Result<FieldSource, String> {
        #[derive(Deserialize)]
        struct Wrap {
            f: RawSource,
        }
        let w: Wrap = toml::from_str(&format!("f = {toml_value}")).map_err(|e| e.to_string())?;
        w.f.into_source()
    }

    #[test]
    fn every_form_parses() {
        assert!(matches!(parse("\"x\"").unwrap(), FieldSource::Literal(_)));
        assert!(matches!(parse("{ env = \"A\" }").unwrap(), FieldSource::Env(v) if v == "A"));
        assert!(matches!(
            parse("{ file = \"/run/s\" }").unwrap(),
            FieldSource::File(_)
        ));
        let FieldSource::Asset(a) =
            parse("{ asset = \"cc\", version = 3, external_name = \"cc-prod\" }").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (a.stored_name(), a.key(), a.version),
            ("cc-prod", "value", Some(3))
        );
        let FieldSource::Asset(c) =
            parse("{ asset = \"login\", type = \"credential\", part = \"username\" }").unwrap()
        else {
            panic!()
        };
        assert_eq!(c.key(), "username");
    }

    #[test]
    fn bad_combinations_are_explained() {
        assert!(parse("{ env = \"A\", file = \"b\" }")
            .unwrap_err()
            .contains("exactly one of"));
        assert!(parse("{ asset = \"a\", type = \"credential\" }")
            .unwrap_err()
            .contains("part"));
        let unknown_type = parse("{ asset = \"a\", type = \"blob\" }").unwrap_err();
        assert!(
            unknown_type.contains("\"secret\" or \"credential\"") && !unknown_type.contains("blob"),
            "{unknown_type}"
        );
        assert!(parse("{ env = \"A\", key = \"k\" }")
            .unwrap_err()
            .contains("go with `asset`"));
    }

    #[test]
    fn display_never_shows_a_literal() {
        assert_eq!(parse("\"CANARY\"").unwrap().to_string(), "direct input");
    }
}
