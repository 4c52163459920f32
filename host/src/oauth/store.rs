//! Where a connection's OAuth tokens live: a local file (sealed, mode 0600,
//! in the user's data directory: [`super::token_file`]) or a read-write
//! Vault KV v2 store.
//!
//! Both give versioned records with check-and-set writes, which is what lets
//! several processes share one connection without losing a rotating refresh
//! token (see [`super::manager`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};

use super::OAuthError;
use crate::at_rest::AtRest;
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
    pub(super) fn to_data(&self) -> SecretData {
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

    pub(super) fn from_data(data: &SecretData) -> Option<TokenRecord> {
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
    /// A JSON file, sealed with the connection's `[at_rest]` key, mode 0600.
    File {
        /// The file.
        path: PathBuf,
        /// How it is sealed.
        at_rest: Arc<AtRest>,
    },
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
            TokenStore::File { path, at_rest } if at_rest.is_plain() => {
                format!(
                    "local file {} (plain: [at_rest] key = \"plain\")",
                    path.display()
                )
            }
            TokenStore::File { path, .. } => format!("local file {} (sealed)", path.display()),
            TokenStore::Vault { name, store, asset } => {
                format!("Vault store '{name}' at {}", store.config().location(asset))
            }
        }
    }

    /// The current record and its version, if connected.
    pub async fn load(&self) -> Result<Option<(TokenRecord, u64)>, OAuthError> {
        match self {
            TokenStore::File { path, at_rest } => super::token_file::read(path, at_rest).await,
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
            TokenStore::File { path, at_rest } => {
                super::token_file::write(path, at_rest, record, expected).await
            }
            TokenStore::Vault { store, asset, .. } => store
                .write_record(asset, record.to_data(), expected)
                .await
                .map_err(|error| OAuthError::Store { error }),
        }
    }
}
