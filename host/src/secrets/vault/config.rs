//! A Vault credential store's settings, with the Vault CLI's defaults:
//! `VAULT_ADDR`, `VAULT_NAMESPACE`, `VAULT_CACERT`, and for token auth
//! `VAULT_TOKEN` then `~/.vault-token`.
//!
//! ```toml
//! [stores.vault]
//! address = "https://vault.example.com:8200"
//! namespace = "team-a"          # Vault Enterprise / OpenBao namespace
//! mount = "secret"              # the KV secrets engine
//! kv_version = 2
//! path = "connectors"           # assets live at <mount>/[data/]<path>/<asset>
//! ca_cert = "/etc/ssl/vault-ca.pem"
//! mode = "read-only"            # or "read-write" (token write-back)
//! cache_ttl_seconds = 300
//! auth = { method = "approle", role_id = "…", secret_id = { env = "VAULT_SECRET_ID" } }
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::secrets::{AssetRef, FieldSource, RawSource, DEFAULT_TTL};

/// Resolved settings of one Vault store.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// Base address, e.g. `http://127.0.0.1:8200`.
    pub address: String,
    /// Namespace sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// KV mount.
    pub mount: String,
    /// 1 or 2.
    pub kv_version: u8,
    /// Data path under the mount ("" for the mount's root).
    pub path: String,
    /// PEM file with the CA that signed Vault's certificate.
    pub ca_cert: Option<PathBuf>,
    /// Whether tokens may be written back.
    pub read_write: bool,
    /// How long read values are reused.
    pub ttl: Duration,
    /// How to log in.
    pub auth: VaultAuth,
}

/// How the store logs in to Vault.
#[derive(Debug, Clone)]
pub enum VaultAuth {
    /// A token (from the source, else `VAULT_TOKEN`, else `~/.vault-token`).
    Token(FieldSource),
    /// AppRole with role_id and secret_id (optionally a response-wrapping token).
    AppRole {
        /// The role id.
        role_id: FieldSource,
        /// The secret id, or a wrapping token holding it.
        secret_id: FieldSource,
        /// Whether `secret_id` is a response-wrapping token to unwrap first.
        wrapped: bool,
        /// The auth mount, `approle` by default.
        mount: String,
    },
    /// Username and password.
    UserPass {
        /// The user.
        username: FieldSource,
        /// The password.
        password: FieldSource,
        /// The auth mount, `userpass` by default.
        mount: String,
    },
}

impl VaultAuth {
    /// Whether a login credential is typed into the file itself.
    pub fn has_literal(&self) -> bool {
        let literal = |s: &FieldSource| matches!(s, FieldSource::Literal(_));
        match self {
            VaultAuth::Token(t) => literal(t),
            VaultAuth::AppRole {
                role_id, secret_id, ..
            } => literal(role_id) || literal(secret_id),
            VaultAuth::UserPass {
                username, password, ..
            } => literal(username) || literal(password),
        }
    }

    /// How it logs in, for errors: which token (`a token from VAULT_TOKEN`,
    /// `a token from ~/.vault-token`, …), or the method's name.
    pub fn login(&self) -> String {
        let VaultAuth::Token(source) = self else {
            return self.method().into();
        };
        match source {
            FieldSource::Env(var) => format!("a token from {var}"),
            FieldSource::File(path) if path.ends_with(".vault-token") => {
                "a token from ~/.vault-token (the Vault CLI's last login)".into()
            }
            FieldSource::File(path) => format!(
                "a token from file {}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ),
            FieldSource::Literal(_) => "a token written in the connection file".into(),
            FieldSource::Asset(asset) => format!("a token from asset '{}'", asset.name),
        }
    }

    /// `token`, `approle` or `userpass`.
    pub fn method(&self) -> &'static str {
        match self {
            VaultAuth::Token(_) => "token",
            VaultAuth::AppRole { .. } => "approle",
            VaultAuth::UserPass { .. } => "userpass",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVaultConfig {
    kind: Option<String>,
    address: Option<String>,
    namespace: Option<String>,
    mount: Option<String>,
    kv_version: Option<u8>,
    path: Option<String>,
    ca_cert: Option<PathBuf>,
    mode: Option<String>,
    cache_ttl_seconds: Option<u64>,
    auth: Option<RawAuth>,
}

#[derive(Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
enum RawAuth {
    Token {
        token: Option<RawSource>,
    },
    Approle {
        role_id: RawSource,
        secret_id: RawSource,
        secret_id_wrapped: Option<bool>,
        mount: Option<String>,
    },
    Userpass {
        username: RawSource,
        password: RawSource,
        mount: Option<String>,
    },
}

impl RawVaultConfig {
    /// Fills defaults from the environment; the error says which setting is wrong.
    pub(crate) fn resolve(self) -> Result<VaultConfig, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if self.kind.as_deref().is_some_and(|k| k != "vault") {
            return Err("kind must be \"vault\", the only kind of store there is".into());
        }
        let address = self
            .address
            .or_else(|| env("VAULT_ADDR"))
            .ok_or("no address: set address or VAULT_ADDR")?;
        let kv_version = self.kv_version.unwrap_or(2);
        if kv_version != 1 && kv_version != 2 {
            return Err("kv_version must be 1 or 2".into());
        }
        let read_write = match self.mode.as_deref().unwrap_or("read-only") {
            "read-only" => false,
            "read-write" => true,
            _ => return Err("mode must be \"read-only\" or \"read-write\"".into()),
        };
        Ok(VaultConfig {
            address: address.trim_end_matches('/').to_owned(),
            namespace: self
                .namespace
                .or_else(|| env("VAULT_NAMESPACE"))
                .map(|n| n.trim_matches('/').to_owned()),
            mount: self
                .mount
                .unwrap_or_else(|| "secret".into())
                .trim_matches('/')
                .to_owned(),
            kv_version,
            path: self.path.unwrap_or_default().trim_matches('/').to_owned(),
            ca_cert: self
                .ca_cert
                .or_else(|| env("VAULT_CACERT").map(PathBuf::from)),
            read_write,
            ttl: self
                .cache_ttl_seconds
                .map_or(DEFAULT_TTL, Duration::from_secs),
            auth: resolve_auth(self.auth)?,
        })
    }
}

fn resolve_auth(raw: Option<RawAuth>) -> Result<VaultAuth, String> {
    // Credentials for the store itself cannot come from the store.
    let plain = |what: &str, raw: RawSource| match raw.into_source()? {
        FieldSource::Asset(_) => Err(format!("auth {what} cannot be a credential asset")),
        source => Ok(source),
    };
    Ok(match raw.unwrap_or(RawAuth::Token { token: None }) {
        RawAuth::Token { token: Some(t) } => VaultAuth::Token(plain("token", t)?),
        RawAuth::Token { token: None } => VaultAuth::Token(default_token()),
        RawAuth::Approle {
            role_id,
            secret_id,
            secret_id_wrapped,
            mount,
        } => VaultAuth::AppRole {
            role_id: plain("role_id", role_id)?,
            secret_id: plain("secret_id", secret_id)?,
            wrapped: secret_id_wrapped.unwrap_or(false),
            mount: mount.unwrap_or_else(|| "approle".into()),
        },
        RawAuth::Userpass {
            username,
            password,
            mount,
        } => VaultAuth::UserPass {
            username: plain("username", username)?,
            password: plain("password", password)?,
            mount: mount.unwrap_or_else(|| "userpass".into()),
        },
    })
}

/// As the Vault CLI: `VAULT_TOKEN`, else the token helper's `~/.vault-token`.
fn default_token() -> FieldSource {
    if std::env::var_os("VAULT_TOKEN").is_some() {
        return FieldSource::Env("VAULT_TOKEN".into());
    }
    FieldSource::File(dirs::home_dir().unwrap_or_default().join(".vault-token"))
}

impl VaultConfig {
    /// One line for people: address, namespace, mount, mode, login method
    /// (what [`CredentialStore::describe`](crate::secrets::CredentialStore::describe) says).
    pub fn describe(&self) -> String {
        let namespace = self
            .namespace
            .as_ref()
            .map(|n| format!(", namespace {n}"))
            .unwrap_or_default();
        let mode = if self.read_write {
            "read-write"
        } else {
            "read-only"
        };
        format!(
            "Vault at {}{namespace}, KV v{} mount {}, {mode}, login {}",
            crate::redact::without_userinfo(&self.address),
            self.kv_version,
            self.mount,
            self.auth.method()
        )
    }

    /// The API path of an asset's secret, relative to `/v1/`, without the namespace.
    pub fn secret_path(&self, asset: &AssetRef) -> String {
        let mut parts = vec![self.mount.as_str()];
        if self.kv_version == 2 {
            parts.push("data");
        }
        if !self.path.is_empty() {
            parts.push(&self.path);
        }
        parts.push(asset.stored_name());
        parts.join("/")
    }

    /// The path that holds an asset's every version: KV v2's metadata path,
    /// or the secret itself in KV v1.
    pub fn metadata_path(&self, asset: &AssetRef) -> String {
        let data = self.secret_path(asset);
        match self.kv_version {
            2 => data.replacen(
                &format!("{}/data/", self.mount),
                &format!("{}/metadata/", self.mount),
                1,
            ),
            _ => data,
        }
    }

    /// Where an asset lives, for people: path, KV version, mount, namespace.
    pub fn location(&self, asset: &AssetRef) -> String {
        let version = asset
            .version
            .map(|v| format!(", version {v}"))
            .unwrap_or_default();
        let namespace = self
            .namespace
            .as_ref()
            .map(|n| format!(", namespace {n}"))
            .unwrap_or_default();
        format!(
            "{} (KV v{}, mount {}{namespace}{version})",
            self.secret_path(asset),
            self.kv_version,
            self.mount
        )
    }
}
