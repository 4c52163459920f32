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
//!
//! The other logins (see [`super::login`]):
//!
//! ```toml
//! auth = { method = "ldap", username = "svc-cc", password = { env = "LDAP_PASSWORD" } }
//! auth = { method = "jwt", role = "connector-host", jwt = { file = "/var/run/secrets/tokens/vault" } }
//! auth = { method = "cert", cert_file = "client.pem", key_file = "client.key", name = "connector-host" }
//! auth = { method = "agent", token_file = "/run/vault-agent/token" }
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
    /// An LDAP directory's user, through Vault's LDAP auth method.
    Ldap {
        /// The user.
        username: FieldSource,
        /// The password.
        password: FieldSource,
        /// The auth mount, `ldap` by default.
        mount: String,
    },
    /// A JWT/OIDC workload identity (a Kubernetes service account or CI job
    /// token), read again at every login, so a rotated one is used.
    Jwt {
        /// The Vault role.
        role: String,
        /// Where the JWT is: a file or an environment variable.
        jwt: FieldSource,
        /// The auth mount, `jwt` by default.
        mount: String,
    },
    /// A TLS client certificate, presented on the connection to Vault.
    Cert {
        /// PEM certificate (chain), leaf first.
        cert_file: PathBuf,
        /// PEM private key; readable by its owner only.
        key_file: PathBuf,
        /// The certificate role to log in as; Vault picks one when absent.
        name: Option<String>,
        /// The auth mount, `cert` by default.
        mount: String,
    },
    /// The token file a Vault Agent's auto-auth sink keeps current; read
    /// again whenever it changes, never renewed or revoked by the host.
    Agent {
        /// The sink file.
        token_file: PathBuf,
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
            }
            | VaultAuth::Ldap {
                username, password, ..
            } => literal(username) || literal(password),
            VaultAuth::Jwt { jwt, .. } => literal(jwt),
            VaultAuth::Cert { .. } | VaultAuth::Agent { .. } => false,
        }
    }

    /// How it logs in, for errors: which token (`a token from VAULT_TOKEN`,
    /// `a token from ~/.vault-token`, …), or the method's name.
    pub fn login(&self) -> String {
        let VaultAuth::Token(source) = self else {
            return self.summary();
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

    /// `token`, `approle`, `userpass`, `ldap`, `jwt`, `cert` or `agent`.
    pub fn method(&self) -> &'static str {
        match self {
            VaultAuth::Token(_) => "token",
            VaultAuth::AppRole { .. } => "approle",
            VaultAuth::UserPass { .. } => "userpass",
            VaultAuth::Ldap { .. } => "ldap",
            VaultAuth::Jwt { .. } => "jwt",
            VaultAuth::Cert { .. } => "cert",
            VaultAuth::Agent { .. } => "agent",
        }
    }

    /// The method with its mount and role, never a credential:
    /// `jwt (mount jwt, role connector-host)`, `agent (token file token)`.
    pub fn summary(&self) -> String {
        let method = self.method();
        match self {
            VaultAuth::Ldap { mount, .. } => format!("{method} (mount {mount})"),
            VaultAuth::Jwt { role, mount, .. } => format!("{method} (mount {mount}, role {role})"),
            VaultAuth::Cert {
                name: Some(name),
                mount,
                ..
            } => format!("{method} (mount {mount}, role {name})"),
            VaultAuth::Cert { mount, .. } => format!("{method} (mount {mount}, any role)"),
            VaultAuth::Agent { token_file } => format!(
                "{method} (token file {})",
                token_file.file_name().unwrap_or_default().to_string_lossy()
            ),
            _ => method.into(),
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
    Ldap {
        username: RawSource,
        password: RawSource,
        mount: Option<String>,
    },
    Jwt {
        role: String,
        jwt: RawSource,
        mount: Option<String>,
    },
    Cert {
        cert_file: PathBuf,
        key_file: PathBuf,
        name: Option<String>,
        mount: Option<String>,
    },
    Agent {
        token_file: PathBuf,
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
        RawAuth::Ldap {
            username,
            password,
            mount,
        } => VaultAuth::Ldap {
            username: plain("username", username)?,
            password: plain("password", password)?,
            mount: mount.unwrap_or_else(|| "ldap".into()),
        },
        RawAuth::Jwt { role, jwt, mount } => VaultAuth::Jwt {
            role,
            jwt: match plain("jwt", jwt)? {
                // A workload identity token expires within hours: one
                // typed into the file would stop working unnoticed.
                FieldSource::Literal(_) => {
                    return Err("auth jwt must be { file = \"…\" } or { env = \"…\" }: a workload identity token rotates".into())
                }
                source => source,
            },
            mount: mount.unwrap_or_else(|| "jwt".into()),
        },
        RawAuth::Cert {
            cert_file,
            key_file,
            name,
            mount,
        } => VaultAuth::Cert {
            cert_file,
            key_file,
            name,
            mount: mount.unwrap_or_else(|| "cert".into()),
        },
        RawAuth::Agent { token_file } => VaultAuth::Agent { token_file },
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
            self.auth.summary()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(text: &str) -> Result<VaultAuth, String> {
        let raw: RawVaultConfig = toml::from_str(&format!("address = \"http://v\"\nauth = {text}"))
            .map_err(|e| e.to_string())?;
        raw.resolve().map(|c| c.auth)
    }

    #[test]
    fn each_login_names_its_method_mount_and_role_only() {
        let summary = |text: &str| auth(text).unwrap().summary();
        assert_eq!(
            summary("{ method = \"ldap\", username = \"u\", password = { env = \"P\" } }"),
            "ldap (mount ldap)"
        );
        assert_eq!(
            summary("{ method = \"jwt\", role = \"r\", jwt = { file = \"/t\" }, mount = \"k8s\" }"),
            "jwt (mount k8s, role r)"
        );
        assert_eq!(
            summary("{ method = \"cert\", cert_file = \"c\", key_file = \"k\", name = \"r\" }"),
            "cert (mount cert, role r)"
        );
        assert_eq!(
            summary("{ method = \"agent\", token_file = \"/run/agent/sink\" }"),
            "agent (token file sink)"
        );
        assert_eq!(
            summary("{ method = \"userpass\", username = \"u\", password = \"p\" }"),
            "userpass"
        );
    }

    #[test]
    fn a_jwt_typed_into_the_file_is_refused() {
        let refused = auth("{ method = \"jwt\", role = \"r\", jwt = \"eyJ.x.y\" }").unwrap_err();
        assert!(refused.contains("rotates"), "{refused}");
        assert!(!refused.contains("eyJ"), "{refused}");
    }
}
