//! Envelope encryption with Vault Transit: files are sealed with data keys
//! that Transit makes and wraps; only the wrapped form is written (in each
//! file's header), and plain data keys live in memory only, wiped on drop.
//!
//! A data key seals new files for `data_key_lifetime` (one minute by
//! default), then a new one is asked for: Transit wraps it with the newest
//! key version, so after `transit/keys/<key>/rotate` new files use the new
//! version within that time, while older files still open (Transit decrypts
//! with every version not trimmed away). Data keys seen while opening are
//! remembered (unwrapped once per process).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::format::{Key, KeyRef};
use crate::secrets::vault::VaultStore;
use crate::secrets::StoreError;

/// At most this many unwrapped data keys are remembered; then the memory starts afresh.
const REMEMBERED: usize = 1024;

/// The Transit key and the data keys in use.
pub(super) struct Envelope {
    pub(super) store_name: String,
    store: VaultStore,
    pub(super) mount: String,
    pub(super) key: String,
    lifetime: Duration,
    current: Mutex<Option<(Instant, Arc<Key>, KeyRef)>>,
    known: Mutex<HashMap<String, Arc<Key>>>,
}

impl Envelope {
    pub(super) fn new(
        store_name: String,
        store: VaultStore,
        mount: String,
        key: String,
        lifetime: Duration,
    ) -> Envelope {
        Envelope {
            store_name,
            store,
            mount,
            key,
            lifetime,
            current: Mutex::default(),
            known: Mutex::default(),
        }
    }

    /// The data key to seal with now, and its reference.
    pub(super) async fn sealing_key(&self) -> Result<(Arc<Key>, KeyRef), StoreError> {
        if let Some((made, key, key_ref)) = &*lock(&self.current) {
            if made.elapsed() < self.lifetime {
                return Ok((key.clone(), key_ref.clone()));
            }
        }
        let (key, wrapped) = self.store.transit_data_key(&self.mount, &self.key).await?;
        let key = Arc::new(key);
        let key_ref = KeyRef::Transit {
            mount: self.mount.clone(),
            key: self.key.clone(),
            wrapped: wrapped.clone(),
        };
        self.remember(wrapped, key.clone());
        *lock(&self.current) = Some((Instant::now(), key.clone(), key_ref.clone()));
        Ok((key, key_ref))
    }

    /// The data key `wrapped` stands for (Transit is asked once per process).
    pub(super) async fn opening_key(&self, wrapped: &str) -> Result<Arc<Key>, StoreError> {
        if let Some(key) = lock(&self.known).get(wrapped) {
            return Ok(key.clone());
        }
        let key = Arc::new(
            self.store
                .transit_unwrap(&self.mount, &self.key, wrapped)
                .await?,
        );
        self.remember(wrapped.to_owned(), key.clone());
        Ok(key)
    }

    fn remember(&self, wrapped: String, key: Arc<Key>) {
        let mut known = lock(&self.known);
        if known.len() >= REMEMBERED {
            known.clear();
        }
        known.insert(wrapped, key);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
