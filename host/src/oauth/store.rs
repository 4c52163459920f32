//! Where a connection's OAuth tokens live: a local file (mode 0600, in the
//! user's data directory) or a read-write Vault KV v2 store.
//!
//! Both give versioned records with check-and-set writes, which is what lets
//! several processes share one connection without losing a rotating refresh
//! token (see [`super::manager`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};

use super::OAuthError;
use crate::secrets::vault::VaultStore;
use crate::secrets::{AssetRef, SecretData};

/// The tokens of one connection.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    /// The bearer token.
    pub access_token: SecretString,
    /// Present when `offline_access` was granted.
    pub refresh_token: Option<SecretString>,
    /// Unix milliseconds.
    pub issued_at: u64,
    /// Unix milliseconds.
    pub expires_at: u64,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// While a process refreshes, others wait until this time (unix milliseconds).
    pub claim_until: u64,
    /// Who holds the claim.
    pub claim_id: String,
    /// The (pinned) token URL that issued these tokens; their refresh token
    /// is sent nowhere else. `None` in records from before pinning.
    pub token_url: Option<String>,
    /// When the authorization server refused this record's refresh token
    /// (`invalid_grant`; unix milliseconds), 0 if it never did: nobody spends
    /// that token again, in this process or another, until a reconnect
    /// replaces the record.
    pub refused_at: u64,
}

/// Now, in unix milliseconds (access tokens may live only seconds in tests).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl TokenRecord {
    fn to_data(&self) -> SecretData {
        let plain = |s: String| SecretString::from(s);
        let mut data = BTreeMap::from([
            ("access_token".to_owned(), self.access_token.clone()),
            ("issued_at".to_owned(), plain(self.issued_at.to_string())),
            ("expires_at".to_owned(), plain(self.expires_at.to_string())),
            ("scope".to_owned(), plain(self.scopes.join(" "))),
            (
                "claim_until".to_owned(),
                plain(self.claim_until.to_string()),
            ),
            ("claim_id".to_owned(), plain(self.claim_id.clone())),
        ]);
        if let Some(refresh) = &self.refresh_token {
            data.insert("refresh_token".into(), refresh.clone());
        }
        if let Some(url) = &self.token_url {
            data.insert("token_url".into(), plain(url.clone()));
        }
        if self.refused_at != 0 {
            data.insert("refused_at".into(), plain(self.refused_at.to_string()));
        }
        data
    }

    /// Remembers both tokens for the log guard ([`crate::redact::remember`]).
    pub(crate) fn remember(&self) {
        crate::redact::remember(&self.access_token);
        if let Some(refresh) = &self.refresh_token {
            crate::redact::remember(refresh);
        }
    }

    fn from_data(data: &SecretData) -> Option<TokenRecord> {
        let text = |k: &str| data.get(k).map(|v| v.expose_secret().to_owned());
        let number = |k: &str| text(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        let record = TokenRecord {
            access_token: data.get("access_token")?.clone(),
            refresh_token: data.get("refresh_token").cloned(),
            issued_at: number("issued_at"),
            expires_at: number("expires_at"),
            scopes: text("scope")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            claim_until: number("claim_until"),
            claim_id: text("claim_id").unwrap_or_default(),
            token_url: text("token_url"),
            refused_at: number("refused_at"),
        };
        record.remember();
        Some(record)
    }
}

/// A token store.
pub enum TokenStore {
    /// A JSON file, mode 0600.
    File(PathBuf),
    /// A record in a read-write Vault KV v2 store.
    Vault {
        /// The store's name in the connection.
        name: String,
        /// The store.
        store: Arc<VaultStore>,
        /// The record's asset (name under the store's path).
        asset: AssetRef,
    },
}

impl TokenStore {
    /// For people: where tokens live (never the tokens).
    pub fn describe(&self) -> String {
        match self {
            TokenStore::File(path) => format!("local file {}", path.display()),
            TokenStore::Vault { name, store, asset } => {
                format!("Vault store '{name}' at {}", store.config().location(asset))
            }
        }
    }

    /// The current record and its version, if connected.
    pub async fn load(&self) -> Result<Option<(TokenRecord, u64)>, OAuthError> {
        match self {
            TokenStore::File(path) => Ok(read_file(path)?),
            TokenStore::Vault { store, asset, .. } => {
                let found = store
                    .read_record(asset)
                    .await
                    .map_err(|error| OAuthError::Store { error })?;
                Ok(found.and_then(|(data, version)| {
                    TokenRecord::from_data(&data).map(|r| (r, version))
                }))
            }
        }
    }

    /// Writes `record` if the stored version is still `expected` (0: none
    /// yet); `Ok(None)` when another process wrote first.
    pub async fn save(
        &self,
        record: &TokenRecord,
        expected: u64,
    ) -> Result<Option<u64>, OAuthError> {
        match self {
            TokenStore::File(path) => write_file(path, record, expected),
            TokenStore::Vault { store, asset, .. } => store
                .write_record(asset, record.to_data(), expected)
                .await
                .map_err(|error| OAuthError::Store { error }),
        }
    }
}

fn read_file(path: &std::path::Path) -> Result<Option<(TokenRecord, u64)>, OAuthError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => zeroize::Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(OAuthError::Config(format!(
                "cannot read token file {}: {e}",
                path.display()
            )))
        }
    };
    let map: BTreeMap<String, String> = serde_json::from_str(&text).map_err(|_| {
        OAuthError::Config(format!(
            "token file {} is damaged; run connect again",
            path.display()
        ))
    })?;
    let version = map.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let data: SecretData = map
        .into_iter()
        .map(|(k, v)| (k, SecretString::from(v)))
        .collect();
    Ok(TokenRecord::from_data(&data).map(|r| (r, version)))
}

/// Check-and-set on a file: the version is compared and the file replaced
/// under an exclusive lock, so processes on one machine take turns.
fn write_file(
    path: &std::path::Path,
    record: &TokenRecord,
    expected: u64,
) -> Result<Option<u64>, OAuthError> {
    let io = |e: std::io::Error| {
        OAuthError::Config(format!("cannot write token file {}: {e}", path.display()))
    };
    let dir = path.parent().expect("token files live in a directory");
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)?;
    let lock = std::fs::File::create(path.with_extension("lock")).map_err(io)?;
    lock.lock().map_err(io)?;
    let current = read_file(path)?.map_or(0, |(_, v)| v);
    if current != expected {
        return Ok(None);
    }
    let mut map: BTreeMap<String, String> = record
        .to_data()
        .into_iter()
        .map(|(k, v)| (k, v.expose_secret().to_owned()))
        .collect();
    map.insert("version".into(), (expected + 1).to_string());
    let text =
        zeroize::Zeroizing::new(serde_json::to_string_pretty(&map).expect("strings serialize"));
    map.values_mut().for_each(zeroize::Zeroize::zeroize);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    // A file left over from a crashed run may have any mode, and `mode()`
    // applies only to files it creates: remove it, then create afresh.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    #[cfg(unix)]
    {
        // The umask cannot widen 0600, but be explicit about the result.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(Some(expected + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TokenRecord {
        TokenRecord {
            access_token: SecretString::from("a".repeat(12)),
            refresh_token: None,
            issued_at: 1,
            expires_at: 2,
            scopes: vec!["contact_data".into()],
            claim_until: 0,
            claim_id: String::new(),
            token_url: None,
            refused_at: 0,
        }
    }

    #[cfg(unix)]
    #[test]
    fn token_files_are_0600_whatever_an_earlier_run_left_behind() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens").join("t.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        for leftover in [
            path.clone(),
            path.with_extension(format!("tmp-{}", std::process::id())),
        ] {
            std::fs::write(&leftover, "{}").unwrap();
            std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(write_file(&path, &record(), 0).unwrap(), Some(1));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            write_file(&path, &record(), 0).unwrap(),
            None,
            "stale version"
        );
    }
}
