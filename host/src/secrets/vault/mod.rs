//! The HashiCorp Vault (and OpenBao) credential store.
//!
//! Asset semantics follow UiPath Orchestrator's Vault credential store: the
//! asset's name, or its external name, is appended to the store's data path;
//! a Secret asset holds one value (key `value` unless the reference names
//! another key), a Credential asset holds `username` and `password`. KV v1
//! and v2 mounts, KV v2 version pins, namespaces, a custom CA, and token,
//! AppRole (plain or response-wrapped secret_id), userpass, LDAP, JWT/OIDC,
//! TLS certificate and Vault Agent token file logins.

mod config;
mod login;
mod session;
mod transit;

use std::sync::mpsc;
use std::time::Duration;

pub(crate) use config::RawVaultConfig;
pub use config::{VaultAuth, VaultConfig};
use session::Session;

use super::{AssetRef, BoxFuture, CredentialStore, SecretData, StoreError};

type Job = Box<dyn FnOnce(&mut Option<Session>) + Send>;

/// A Vault store. Its blocking client lives on a thread of its own; calls are
/// sent there and awaited, so the async runtime never blocks.
pub struct VaultStore {
    config: VaultConfig,
    jobs: mpsc::Sender<Job>,
}

impl VaultStore {
    /// A store for `config`; nothing is contacted until the first read.
    pub fn new(config: VaultConfig) -> VaultStore {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("vault".into())
            .spawn(move || {
                let mut session = None;
                for job in queue {
                    job(&mut session);
                }
            })
            .expect("spawn the vault thread");
        VaultStore { config, jobs }
    }

    /// The settings.
    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    /// Runs `work` on the store's thread with a session (created on first use).
    fn run<T, F>(&self, work: F) -> BoxFuture<'_, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: Fn(&mut Session) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let config = self.config.clone();
        let job: Job = Box::new(move |slot| {
            let result = match slot {
                Some(session) => retried(session, &work),
                None => {
                    Session::new(config).and_then(|session| retried(slot.insert(session), &work))
                }
            };
            let _ = reply.send(result);
        });
        // Sent only when polled: a cache hit drops this future unpolled, and
        // Vault must then not be asked.
        let jobs = self.jobs.clone();
        Box::pin(async move {
            let stopped = || StoreError::Config("the vault thread has stopped".into());
            jobs.send(job).map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        })
    }
}

/// Runs `work`, and once more when it was denied because a Vault Agent
/// had put a new token in its file (the old one revoked).
fn retried<T>(
    session: &mut Session,
    work: &impl Fn(&mut Session) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match work(session) {
        Err(StoreError::PermissionDenied { .. }) if session.relogin_after_denial() => work(session),
        result => result,
    }
}

impl VaultStore {
    /// Whether the store is reachable and its token good: a token
    /// lookup-self (logging in first when needed), for readiness probes.
    pub fn probe(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(Session::lookup_self)
    }

    /// Reads a record (e.g. OAuth tokens) and its KV v2 version, bypassing the cache.
    pub fn read_record<'a>(
        &'a self,
        asset: &'a AssetRef,
    ) -> BoxFuture<'a, Result<Option<(SecretData, u64)>, StoreError>> {
        let asset = asset.clone();
        self.run(move |session| session.read_record(&asset))
    }

    /// Creates or replaces the secret behind `asset` (KV v1 or v2).
    pub fn write_secret<'a>(
        &'a self,
        asset: &'a AssetRef,
        data: SecretData,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let asset = asset.clone();
        self.run(move |session| session.write_secret(&asset, &data))
    }

    /// Deletes the secret behind `asset`, every version (an absent one is fine).
    pub fn delete_secret<'a>(
        &'a self,
        asset: &'a AssetRef,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let asset = asset.clone();
        self.run(move |session| session.delete_secret(&asset))
    }

    /// The keys directly below the folder `folder` names (`/`-suffixed for
    /// sub-folders); none when it does not exist.
    pub fn list<'a>(
        &'a self,
        folder: &'a AssetRef,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let folder = folder.clone();
        self.run(move |session| session.list(&folder))
    }

    /// Writes a record with check-and-set; `Ok(None)` on a version conflict.
    pub fn write_record<'a>(
        &'a self,
        asset: &'a AssetRef,
        data: SecretData,
        cas: u64,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        let asset = asset.clone();
        self.run(move |session| session.write_record(&asset, &data, cas))
    }
}

impl CredentialStore for VaultStore {
    fn describe(&self) -> String {
        self.config.describe()
    }

    fn location(&self, asset: &AssetRef) -> String {
        self.config.location(asset)
    }

    fn ttl(&self) -> Duration {
        self.config.ttl
    }

    fn writable(&self) -> bool {
        self.config.read_write
    }

    fn read<'a>(&'a self, asset: &'a AssetRef) -> BoxFuture<'a, Result<SecretData, StoreError>> {
        let asset = asset.clone();
        self.run(move |session| session.read(&asset))
    }

    fn capabilities<'a>(
        &'a self,
        assets: &'a [AssetRef],
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, StoreError>> {
        let paths: Vec<String> = assets.iter().map(|a| self.config.secret_path(a)).collect();
        self.run(move |session| session.capabilities(&paths))
    }
}
