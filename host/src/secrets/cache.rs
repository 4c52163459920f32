//! The in-memory cache of values read from credential stores.
//!
//! One entry per secret (store, path, version), kept for the store's TTL.
//! Each entry has its own async lock, so concurrent callers wanting the same
//! secret wait for one fetch instead of each asking Vault (single flight).
//! Failures are not cached: the next caller tries again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::SecretData;

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<SecretData>)>>>;

/// TTL cache with one fetch at a time per key.
#[derive(Default)]
pub struct Cache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl Cache {
    fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key.to_owned()).or_default().clone()
    }

    /// The cached value if younger than `ttl`, else the result of `fetch`
    /// (stored on success).
    pub async fn get_or_fetch<E, F>(
        &self,
        key: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Arc<SecretData>, E>
    where
        F: Future<Output = Result<SecretData, E>>,
    {
        let slot = self.slot(key);
        let mut entry = slot.lock().await;
        if let Some((at, data)) = entry.as_ref() {
            if at.elapsed() < ttl {
                return Ok(data.clone());
            }
        }
        let data = Arc::new(fetch.await?);
        *entry = Some((Instant::now(), data.clone()));
        Ok(data)
    }

    /// Forgets `key` (its value was rejected or rotated).
    pub async fn invalidate(&self, key: &str) {
        *self.slot(key).lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn data() -> SecretData {
        SecretData::from([("value".to_owned(), "v".to_owned().into())])
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_ttl_expiry_refetches() {
        let cache = Arc::new(Cache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let fetch = |fetches: Arc<AtomicUsize>| async move {
            fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, ()>(data())
        };
        let calls = (0..50).map(|_| {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tokio::spawn(async move {
                cache
                    .get_or_fetch("k", Duration::from_secs(60), fetch(fetches))
                    .await
            })
        });
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        cache
            .get_or_fetch("k", Duration::ZERO, fetch(fetches.clone()))
            .await
            .unwrap();
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "an expired entry is fetched again"
        );
        cache.invalidate("k").await;
        cache
            .get_or_fetch("k", Duration::from_secs(60), fetch(fetches.clone()))
            .await
            .unwrap();
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            3,
            "an invalidated entry is fetched again"
        );
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let cache = Cache::default();
        let failed = cache
            .get_or_fetch("k", Duration::from_secs(60), async {
                Err::<SecretData, _>("down")
            })
            .await;
        assert!(failed.is_err());
        assert!(cache
            .get_or_fetch("k", Duration::from_secs(60), async { Ok::<_, ()>(data()) })
            .await
            .is_ok());
    }
}
