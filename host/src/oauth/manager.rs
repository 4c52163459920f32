//! Keeping a connection's access token fresh, safely across processes.
//!
//! Before each call the manager loads the token record. When the access
//! token expires within a margin (or the API just refused it), one process
//! refreshes while the others wait:
//!
//! 1. inside a process, refreshes are serialised by a mutex;
//! 2. across processes, a refresher first *claims* the record with a
//!    check-and-set write (KV v2 `cas`, or the token file's version under a
//!    lock). Losing that race means someone else is refreshing: wait, re-read
//!    and use the token they store. Only the claim holder spends the refresh
//!    token, so a rotating refresh token is never used twice (no
//!    `invalid_grant`), and the new one is written back with `cas` again.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::store::{now, TokenRecord, TokenStore};
use super::{flow, OAuthError, OAuthSettings};

/// How long a claim protects a refresh in progress (milliseconds).
const CLAIM_MS: u64 = 20_000;
/// How long to wait for another process's refresh before giving up.
const WAIT_ROUNDS: u32 = 400;

/// Refreshes and scope checks for one connection.
pub struct TokenManager {
    settings: OAuthSettings,
    store: TokenStore,
    connection: String,
    claim_id: String,
    lock: tokio::sync::Mutex<()>,
    /// The record last read or written: reused while its access token is
    /// fresh, so a busy connection does not read the store on every call.
    known: std::sync::Mutex<Option<TokenRecord>>,
}

impl TokenManager {
    /// A manager for the connection file at `connection` (used in hints).
    pub fn new(settings: OAuthSettings, store: TokenStore, connection: String) -> TokenManager {
        let claim_id = format!("{}-{:x}", std::process::id(), now());
        TokenManager {
            settings,
            store,
            connection,
            claim_id,
            lock: tokio::sync::Mutex::new(()),
            known: std::sync::Mutex::new(None),
        }
    }

    /// Where tokens live, for people.
    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    /// The authorization server settings.
    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    fn command(&self) -> String {
        format!("connector-host connect {}", self.connection)
    }

    fn reconnect(&self, reason: &str) -> OAuthError {
        OAuthError::Reconnect {
            reason: reason.into(),
            command: self.command(),
        }
    }

    /// The stored record, or `NotConnected`.
    pub async fn current(&self) -> Result<(TokenRecord, u64), OAuthError> {
        self.store
            .load()
            .await?
            .ok_or_else(|| OAuthError::NotConnected {
                store: self.store.describe(),
                command: self.command(),
            })
    }

    /// Stores tokens from `connect`, replacing whatever was there.
    pub async fn replace(&self, record: &TokenRecord) -> Result<(), OAuthError> {
        for _ in 0..WAIT_ROUNDS {
            let version = self.store.load().await?.map_or(0, |(_, v)| v);
            if self.store.save(record, version).await?.is_some() {
                self.remember(record);
                return Ok(());
            }
        }
        Err(OAuthError::Config(
            "the token store kept changing while saving; try again".into(),
        ))
    }

    /// Fails unless the connection was granted every scope in `required`.
    pub fn check_scopes(
        &self,
        record: &TokenRecord,
        activity: &str,
        required: &[String],
    ) -> Result<(), OAuthError> {
        let missing: Vec<&String> = required
            .iter()
            .filter(|s| !record.scopes.contains(s))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut wanted = record.scopes.clone();
        wanted.extend(missing.iter().map(|s| s.to_string()));
        Err(OAuthError::MissingScope {
            activity: activity.into(),
            needed: missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            granted: record.scopes.join(" "),
            command: format!("{} --scopes \"{}\"", self.command(), wanted.join(" ")),
        })
    }

    /// A record whose access token is fresh; `rejected` is a token the API
    /// just answered 401 for, which forces a refresh unless someone already did.
    pub async fn fresh(&self, rejected: Option<&SecretString>) -> Result<TokenRecord, OAuthError> {
        self.renewed(rejected, 0).await
    }

    /// A record whose access token lives at least `lead_ms` more: the
    /// background refresher's step, ahead of any call. The same protocol as
    /// [`TokenManager::fresh`]: the record is read again under the claim, so
    /// when another process or replica renewed it meanwhile nothing is spent.
    pub async fn fresh_for(&self, lead_ms: u64) -> Result<TokenRecord, OAuthError> {
        self.renewed(None, lead_ms).await
    }

    async fn renewed(
        &self,
        rejected: Option<&SecretString>,
        lead_ms: u64,
    ) -> Result<TokenRecord, OAuthError> {
        let refused = |record: &TokenRecord| {
            rejected.is_some_and(|r| r.expose_secret() == record.access_token.expose_secret())
        };
        let usable = |record: &TokenRecord| !refused(record) && !due(record, lead_ms);
        if let Some(known) = self.known().filter(usable) {
            return Ok(known);
        }
        let _one_at_a_time = self.lock.lock().await;
        for _ in 0..WAIT_ROUNDS {
            let (record, version) = self.current().await?;
            if usable(&record) {
                self.remember(&record);
                return Ok(record);
            }
            if record.refresh_token.is_none() {
                return Err(self.reconnect("the access token has expired and this connection has no refresh token (offline_access was not granted)"));
            }
            if record.refused_at != 0 {
                // Someone (maybe another replica) was told this refresh token
                // is dead: asking again would only be refused again.
                return Err(self.reconnect(REFUSED));
            }
            self.check_refresh_target(&record)?;
            if record.claim_until > now() && record.claim_id != self.claim_id {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let mut claimed = record.clone();
            (claimed.claim_until, claimed.claim_id) = (now() + CLAIM_MS, self.claim_id.clone());
            match self.store.save(&claimed, version).await? {
                Some(claimed_version) => {
                    return self.refresh_claimed(&record, claimed_version).await
                }
                None => {
                    tracing::info!(
                        "token record changed under us (check-and-set conflict); reading it again"
                    );
                }
            }
        }
        Err(OAuthError::Config(
            "another process kept the token refresh claimed for too long; try again".into(),
        ))
    }

    fn known(&self) -> Option<TokenRecord> {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn remember(&self, record: &TokenRecord) {
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Some(record.clone());
    }

    /// Refuses to send the refresh token anywhere but the pinned token URL
    /// that issued it.
    fn check_refresh_target(&self, record: &TokenRecord) -> Result<(), OAuthError> {
        if !self.settings.pinned {
            return Err(OAuthError::NotPinned {
                command: self.command(),
            });
        }
        let pinned = self.settings.endpoints.token.as_str();
        match &record.token_url {
            Some(issued_by) if issued_by != pinned => Err(OAuthError::TokenUrlChanged {
                issued_by: crate::redact::untrusted(issued_by),
                pinned: pinned.to_owned(),
                command: self.command(),
            }),
            _ => Ok(()),
        }
    }

    /// We hold the claim: spend the refresh token and store the result.
    async fn refresh_claimed(
        &self,
        record: &TokenRecord,
        claimed_version: u64,
    ) -> Result<TokenRecord, OAuthError> {
        match crate::metrics::refreshed(flow::refresh(&self.settings, record).await) {
            Ok(new) => {
                tracing::info!("access token refreshed");
                crate::audit::token_refreshed(&self.connection);
                if self.store.save(&new, claimed_version).await?.is_none() {
                    tracing::warn!("token record changed while we held the refresh claim");
                }
                self.remember(&new);
                Ok(new)
            }
            Err(error) => {
                let dead =
                    matches!(&error, OAuthError::Server { error, .. } if error == "invalid_grant");
                // Release the claim so others do not wait for it; a refused
                // refresh token is marked so that nobody spends it again.
                let mut released = record.clone();
                if dead {
                    released.refused_at = now();
                }
                let _ = self.store.save(&released, claimed_version).await;
                crate::audit::token_refused(&self.connection, refusal(&error));
                if dead {
                    return Err(self.reconnect(REFUSED));
                }
                Err(error)
            }
        }
    }
}

/// Why a connection whose refresh token was refused needs a reconnect.
const REFUSED: &str = "the refresh token was refused (invalid_grant): it expired or was revoked";

/// True when less than a quarter of the token's life (at most a minute) is left.
fn expiring(record: &TokenRecord) -> bool {
    let lifetime = record.expires_at.saturating_sub(record.issued_at);
    let margin = (lifetime / 4).min(60_000);
    now() + margin >= record.expires_at
}

/// True when the token should be renewed before use: it is expiring, or
/// lives less than `lead_ms` more.
pub(super) fn due(record: &TokenRecord, lead_ms: u64) -> bool {
    expiring(record) || now() + lead_ms >= record.expires_at
}

/// The token endpoint's error code for a failed refresh, for the audit trail.
fn refusal(error: &OAuthError) -> &str {
    match error {
        OAuthError::Server { error, .. } => error,
        _ => "no_answer",
    }
}
