//! One logged-in conversation with Vault, on the store's own thread.
//!
//! `hashicorp_vault` is blocking (reqwest's blocking client must not be
//! created, used or dropped on an async runtime thread), so a session lives
//! on a dedicated thread (see [`super::VaultStore`]). Reads and token lookups
//! go through the crate; logins use the same reqwest client because the
//! crate's login constructors cannot carry the namespace header or CA.
//!
//! The token is renewed before it expires; when renewal is refused, the
//! session logs in again if its method can. How it logs in is
//! [`super::login`]'s business; a Vault Agent's token is never renewed here
//! (the Agent owns it): the session follows the Agent's file instead.

use std::time::{Duration, Instant};

use hashicorp_vault::client::{EndpointResponse, HttpVerb, TokenData};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::config::{VaultAuth, VaultConfig};
use super::login;
use crate::secrets::{AssetRef, SecretData, StoreError};

/// Renew when less than this much of the token's life is left.
const RENEW_MARGIN: Duration = Duration::from_secs(30);

/// A logged-in Vault client.
pub(super) struct Session {
    config: VaultConfig,
    http: reqwest::blocking::Client,
    client: Option<hashicorp_vault::Client<TokenData>>,
    /// When the token expires; `None` for tokens without a TTL (root).
    expires_at: Option<Instant>,
    renewable: bool,
    /// What logins keep between one another (an unwrapped secret_id, the
    /// Agent's file stamp).
    pub(super) memory: login::Memory,
}

impl Session {
    pub(super) fn new(config: VaultConfig) -> Result<Session, StoreError> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(ns) = &config.namespace {
            let value = reqwest::header::HeaderValue::from_str(ns).map_err(|_| {
                StoreError::Config("namespace holds characters a header cannot carry".into())
            })?;
            headers.insert("X-Vault-Namespace", value);
        }
        let mut builder = reqwest::blocking::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(15));
        if let Some(path) = &config.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                StoreError::Config(format!("cannot read ca_cert {}: {e}", path.display()))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                StoreError::Config(format!(
                    "ca_cert {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        if let Some(identity) = login::identity(&config.auth)? {
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .map_err(|e| StoreError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Session {
            config,
            http,
            client: None,
            expires_at: None,
            renewable: false,
            memory: login::Memory::default(),
        })
    }

    /// The settings.
    pub(super) fn config(&self) -> &VaultConfig {
        &self.config
    }

    /// After a 403: logs in again when a Vault Agent's file holds a new
    /// token (then the request is worth retrying once); false otherwise.
    pub(super) fn relogin_after_denial(&mut self) -> bool {
        if !login::agent_token_replaced(self) {
            return false;
        }
        tracing::info!("vault agent token file holds a new token; using it");
        let ok = self.login().is_ok();
        if !ok {
            self.client = None;
        }
        ok
    }

    /// Reads an asset's whole secret.
    pub(super) fn read(&mut self, asset: &AssetRef) -> Result<SecretData, StoreError> {
        let mut path = self.config.secret_path(asset);
        if let (2, Some(v)) = (self.config.kv_version, asset.version) {
            path.push_str(&format!("?version={v}"));
        }
        let location = self.config.location(asset);
        let reply = self
            .client()?
            .call_endpoint::<Value>(HttpVerb::GET, &path, None, None);
        let data = match reply {
            Ok(EndpointResponse::VaultResponse(r)) => r.data.unwrap_or(Value::Null),
            Ok(EndpointResponse::Empty) => Value::Null,
            Err(e) => return Err(self.explain_read_error(e, &location)),
        };
        let secret = if self.config.kv_version == 2 {
            &data["data"]
        } else {
            &data
        };
        let map = secret
            .as_object()
            .ok_or(StoreError::NotFound { location })?;
        Ok(map
            .iter()
            .map(|(k, v)| (k.clone(), SecretString::from(plain_text(v))))
            .collect())
    }

    /// Reads a KV v2 record and its version; `None` when there is none yet.
    pub(super) fn read_record(
        &mut self,
        asset: &AssetRef,
    ) -> Result<Option<(SecretData, u64)>, StoreError> {
        let location = self.config.location(asset);
        let path = self.config.secret_path(asset);
        let reply = self
            .client()?
            .call_endpoint::<Value>(HttpVerb::GET, &path, None, None);
        let data = match reply {
            Ok(EndpointResponse::VaultResponse(r)) => r.data.unwrap_or(Value::Null),
            Ok(EndpointResponse::Empty) => return Ok(None),
            Err(e) => {
                return match self.explain_read_error(e, &location) {
                    StoreError::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let version = data["metadata"]["version"].as_u64().unwrap_or(0);
        let Some(map) = data["data"].as_object() else {
            return Ok(None);
        };
        Ok(Some((
            map.iter()
                .map(|(k, v)| (k.clone(), SecretString::from(plain_text(v))))
                .collect(),
            version,
        )))
    }

    /// Writes a KV v2 record only if its current version is `cas` (0: only if
    /// absent); `Ok(None)` when another writer got there first.
    pub(super) fn write_record(
        &mut self,
        asset: &AssetRef,
        data: &SecretData,
        cas: u64,
    ) -> Result<Option<u64>, StoreError> {
        if self.config.kv_version != 2 {
            return Err(StoreError::Config(
                "keeping tokens needs a KV v2 mount (check-and-set)".into(),
            ));
        }
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.expose_secret().to_owned())))
            .collect();
        let body = json!({ "options": { "cas": cas }, "data": data }).to_string();
        let location = self.config.location(asset);
        let path = self.config.secret_path(asset);
        match self
            .client()?
            .call_endpoint::<Value>(HttpVerb::POST, &path, None, Some(&body))
        {
            Ok(EndpointResponse::VaultResponse(r)) => Ok(Some(
                r.data
                    .and_then(|d| d["version"].as_u64())
                    .unwrap_or(cas + 1),
            )),
            Ok(EndpointResponse::Empty) => Ok(Some(cas + 1)),
            Err(e) => match self.error(e, &location) {
                StoreError::Other {
                    status: 400,
                    message,
                } if message.contains("check-and-set") => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Writes (creates or replaces) a secret: the value of a field typed on
    /// a page, kept as a credential asset instead of in a file.
    pub(super) fn write_secret(
        &mut self,
        asset: &AssetRef,
        data: &SecretData,
    ) -> Result<(), StoreError> {
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.expose_secret().to_owned())))
            .collect();
        let body = if self.config.kv_version == 2 {
            json!({ "data": data })
        } else {
            Value::Object(data)
        }
        .to_string();
        let location = self.config.location(asset);
        let path = self.config.secret_path(asset);
        match self
            .client()?
            .call_endpoint::<Value>(HttpVerb::POST, &path, None, Some(&body))
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.error(e, &location)),
        }
    }

    /// Deletes a secret with every version of it (KV v2: its metadata; KV
    /// v1: the secret). A secret that is not there is not an error.
    pub(super) fn delete_secret(&mut self, asset: &AssetRef) -> Result<(), StoreError> {
        let location = self.config.location(asset);
        let path = self.config.metadata_path(asset);
        match self
            .client()?
            .call_endpoint::<Value>(HttpVerb::DELETE, &path, None, None)
        {
            Ok(_) => Ok(()),
            Err(e) => match self.error(e, &location) {
                StoreError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// The keys directly below `folder` (a path below the store's data
    /// path; KV v2 metadata or KV v1), `/`-suffixed for sub-folders; none
    /// when the folder does not exist.
    pub(super) fn list(&mut self, folder: &AssetRef) -> Result<Vec<String>, StoreError> {
        let location = self.config.location(folder);
        let path = self.config.metadata_path(folder);
        let reply = self
            .client()?
            .call_endpoint::<Value>(HttpVerb::LIST, &path, None, None);
        let data = match reply {
            Ok(EndpointResponse::VaultResponse(r)) => r.data.unwrap_or(Value::Null),
            Ok(EndpointResponse::Empty) => return Ok(Vec::new()),
            Err(e) => {
                return match self.explain_read_error(e, &location) {
                    StoreError::NotFound { .. } => Ok(Vec::new()),
                    other => Err(other),
                }
            }
        };
        Ok(data["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect())
    }

    /// Looks the token up; on failure the client is dropped, so the next
    /// use logs in again (a restarted server, a revoked token).
    pub(super) fn lookup_self(&mut self) -> Result<(), StoreError> {
        let looked_up = self.client()?.lookup();
        looked_up.map(drop).map_err(|e| {
            let error = self.error(e, "auth/token/lookup-self");
            self.client = None;
            error
        })
    }

    /// What the token's policy allows on each path.
    pub(super) fn capabilities(
        &mut self,
        paths: &[String],
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let body = json!({ "paths": paths }).to_string();
        let reply = self.client()?.call_endpoint::<Value>(
            HttpVerb::POST,
            "sys/capabilities-self",
            None,
            Some(&body),
        );
        let data = match reply {
            Ok(EndpointResponse::VaultResponse(r)) => r.data.unwrap_or(Value::Null),
            Ok(EndpointResponse::Empty) => Value::Null,
            Err(e) => return Err(self.error(e, "sys/capabilities-self")),
        };
        Ok(paths
            .iter()
            .map(|p| {
                data[p]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .collect())
    }

    /// A POST with the session's token to `path` (logging in or renewing
    /// first when needed): the Transit calls of [`super::transit`]. The
    /// answer's `data`.
    pub(super) fn post_logged_in(&mut self, path: &str, body: &Value) -> Result<Value, StoreError> {
        let body = body.to_string();
        let reply = self
            .client()?
            .call_endpoint::<Value>(HttpVerb::POST, path, None, Some(&body));
        match reply {
            Ok(EndpointResponse::VaultResponse(r)) => Ok(r.data.unwrap_or(Value::Null)),
            Ok(EndpointResponse::Empty) => Ok(Value::Null),
            Err(e) => Err(self.error(e, path)),
        }
    }

    /// The client, logged in and with a token that is not about to expire.
    fn client(&mut self) -> Result<&hashicorp_vault::Client<TokenData>, StoreError> {
        let due = self
            .expires_at
            .is_some_and(|at| at.saturating_duration_since(Instant::now()) < RENEW_MARGIN);
        // Log in when there is no client yet, or when the token is due and
        // cannot be renewed (not renewable, or Vault refused).
        if self.client.is_none()
            || (due && !(self.renewable && self.renew()))
            || login::agent_file_changed(self)
        {
            // Fail closed: a refused login leaves no earlier token in use
            // (an Agent's file may have moved on from it).
            if let Err(error) = self.login() {
                self.client = None;
                return Err(error);
            }
        }
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Config("no Vault client after login".into()))
    }

    /// Renews the token; false when Vault refuses.
    fn renew(&mut self) -> bool {
        let Some(client) = self.client.as_mut() else {
            return false;
        };
        match client.renew() {
            Ok(()) => {
                let auth = client.data.as_ref().and_then(|d| d.auth.as_ref());
                let lease = auth
                    .and_then(|a| a.lease_duration.as_ref())
                    .map(|l| l.0)
                    .unwrap_or_default();
                self.expires_at = (!lease.is_zero()).then(|| Instant::now() + lease);
                tracing::debug!("vault token renewed");
                true
            }
            Err(e) => {
                tracing::info!(
                    "vault token renewal refused; logging in again: {}",
                    short(&e)
                );
                false
            }
        }
    }

    fn login(&mut self) -> Result<(), StoreError> {
        let method = self.config.auth.login();
        let token = login::token(self)?;
        let client = hashicorp_vault::Client::new_from_reqwest(
            self.config.address.as_str(),
            token.expose_secret(),
            self.http.clone(),
        )
        .map_err(|e| match self.error(e, "auth/token/lookup-self") {
            StoreError::PermissionDenied { .. } => StoreError::AuthFailed {
                method: method.clone(),
                reason: "the token is invalid, expired or revoked".into(),
            },
            other => other,
        })?;
        let data = client.data.as_ref().and_then(|d| d.data.as_ref());
        let ttl = data.map(|d| d.ttl.0).unwrap_or_default();
        // The Agent renews its token and rewrites its file; renewing it here
        // too would race it, so its token is never due.
        let agent = matches!(self.config.auth, VaultAuth::Agent { .. });
        self.renewable = !agent && data.and_then(|d| d.renewable).unwrap_or(false);
        self.expires_at = (!agent && !ttl.is_zero()).then(|| Instant::now() + ttl);
        self.client = Some(client);
        tracing::debug!(method = self.config.auth.method(), "logged in to vault");
        Ok(())
    }

    /// A raw POST for logins and unwrapping; 400 and 403 mean the credentials were refused.
    pub(super) fn post(
        &self,
        path: &str,
        token: Option<&SecretString>,
        body: &Value,
        method: &str,
    ) -> Result<Value, StoreError> {
        let mut request = self
            .http
            .post(format!("{}/v1/{path}", self.config.address))
            .json(body);
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token.expose_secret());
        }
        let response = request.send().map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let reply: Value = response.json().unwrap_or(Value::Null);
        // A userpass login's path ends in the user name: not for errors.
        let shown = match path.split_once("/login/") {
            Some((mount, _)) => format!("{mount}/login/…"),
            None => path.to_owned(),
        };
        match (status, self.classify(status, &reply, &shown)) {
            (200..=299, _) => Ok(reply),
            (400 | 403, StoreError::PermissionDenied { .. } | StoreError::Other { .. }) => {
                Err(StoreError::AuthFailed {
                    method: method.into(),
                    reason: vault_errors(&reply),
                })
            }
            (_, error) => Err(error),
        }
    }

    /// A read failed: a 404 may really be a KV version mismatch, which the
    /// mount's own description tells.
    fn explain_read_error(&mut self, error: hashicorp_vault::Error, location: &str) -> StoreError {
        let error = self.error(error, location);
        if !matches!(error, StoreError::NotFound { .. }) {
            return error;
        }
        let mount = self.config.mount.clone();
        let Some(client) = self.client.as_ref() else {
            return error;
        };
        let path = format!("sys/internal/ui/mounts/{mount}");
        let actual = match client.call_endpoint::<Value>(HttpVerb::GET, &path, None, None) {
            Ok(EndpointResponse::VaultResponse(r)) => r.data.and_then(|d| {
                d["options"]["version"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
            }),
            _ => None,
        };
        match actual {
            Some(actual) if actual != self.config.kv_version => StoreError::WrongKvVersion {
                mount,
                configured: self.config.kv_version,
                actual,
            },
            _ => error,
        }
    }

    /// Maps the crate's error to what it means for the person.
    fn error(&self, error: hashicorp_vault::Error, location: &str) -> StoreError {
        match error {
            hashicorp_vault::Error::Reqwest(e) => self.unreachable(&e),
            hashicorp_vault::Error::VaultResponse(message, response) => {
                // The crate's message ends with the body in backquotes, followed
                // (a quirk of 2.1.1) by "Could not read vault response.": take
                // the first JSON value only.
                let body = message
                    .split_once("error message: `")
                    .map_or("", |(_, b)| b);
                let reply = serde_json::Deserializer::from_str(body)
                    .into_iter::<Value>()
                    .next()
                    .and_then(Result::ok);
                let reply = reply.unwrap_or(Value::Null);
                tracing::debug!(status = response.status().as_u16(), "vault error");
                self.classify(response.status().as_u16(), &reply, location)
            }
            other => StoreError::Other {
                status: 0,
                message: short(&other),
            },
        }
    }

    fn classify(&self, status: u16, reply: &Value, location: &str) -> StoreError {
        let errors = vault_errors(reply);
        match status {
            503 if errors.contains("sealed") => StoreError::Sealed {
                address: self.config.address.clone(),
            },
            404 if errors.contains("namespace not found") => StoreError::UnknownNamespace {
                namespace: self.config.namespace.clone().unwrap_or_default(),
            },
            403 => StoreError::PermissionDenied {
                location: location.into(),
            },
            404 => StoreError::NotFound {
                location: location.into(),
            },
            _ => StoreError::Other {
                status,
                message: errors,
            },
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> StoreError {
        let reason = if error.is_connect() {
            "connection refused or no route".into()
        } else if error.is_timeout() {
            "timed out".into()
        } else {
            // Not `error.to_string()`: reqwest puts the URL in it, and a
            // userpass login's URL holds the user name.
            let mut causes = Vec::new();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                causes.push(crate::redact::urls_in(&cause.to_string()));
                source = cause.source();
            }
            if causes.is_empty() {
                "the request failed".into()
            } else {
                causes.join(": ")
            }
        };
        StoreError::Unreachable {
            address: self.config.address.clone(),
            reason,
        }
    }
}

/// Vault's `errors` array as one line (Vault never echoes secrets there).
fn vault_errors(reply: &Value) -> String {
    let errors: Vec<&str> = reply["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    errors
        .join("; ")
        .replace(['\n', '\t'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn plain_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// The crate's own messages can be long; the first line says enough.
fn short(error: &hashicorp_vault::Error) -> String {
    crate::redact::urls_in(&error.to_string())
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}
