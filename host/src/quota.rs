//! Calendar quotas: "10,000 requests a day per application, resetting at
//! 00:00 UTC", counted across every process and machine that shares the
//! application, so that a platform never finds out from the API that every
//! tenant is refused until midnight.
//!
//! The count lives in the credential store the deployment already runs (a
//! KV v2 document per application and day, changed with check-and-set).
//! A process reserves a small block of requests at a time and spends it
//! locally, so the store is written once per block, not per request.
//!
//! Invariants:
//! - the quota is never passed: a block is granted only from what is left,
//!   and a request is sent only with a reserved unit in hand; a call that
//!   would pass it fails before anything is sent ([`Exhausted`] names the
//!   quota, the application and the reset time);
//! - under-use is bounded: what a process reserved and did not spend before
//!   it died is lost until the reset, at most [`MAX_BLOCK`] per process
//!   (blocks shrink as the quota runs out); a process that stops cleanly
//!   hands its unspent units back ([`release_all`]); `status` reports both;
//! - a connection without a read-write store counts in its own process only,
//!   and says so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::name::AssetName;
use crate::secrets::vault::{VaultConfig, VaultStore};
use crate::secrets::{AssetKind, AssetRef, SecretData, StoreError};

/// The most a process reserves at once: the most it can leave unspent.
pub const MAX_BLOCK: u32 = 25;
/// Check-and-set conflicts tolerated in one reservation (other processes
/// reserving at the same moment) before giving up.
const CAS_ROUNDS: usize = 20;

/// Where a quota is counted.
#[derive(Clone)]
pub enum Counter {
    /// In a credential store's KV v2 mount: one count for every process.
    Store {
        /// The store's name in the connection.
        name: String,
        /// The store.
        store: Arc<VaultStore>,
    },
    /// In this process alone (the connection has no read-write store).
    Process,
}

/// One calendar quota of one application (or account) in this process.
pub struct Quota {
    requests: u32,
    /// Seconds after 00:00 UTC at which the day starts.
    offset: u32,
    /// What it counts against, for people (never a secret).
    app: String,
    /// The store path of its documents, without the day.
    base: String,
    counter: Counter,
    local: tokio::sync::Mutex<Local>,
    /// The day this process found the quota spent in, if it did: lets a
    /// call fail before it starts, without the store.
    spent_day: Mutex<Option<NaiveDate>>,
}

impl std::fmt::Debug for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quota")
            .field("requests", &self.requests)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// This process's part of the current day.
#[derive(Default)]
struct Local {
    day: Option<NaiveDate>,
    /// Reserved and not yet spent.
    held: u32,
    /// Spent by this process.
    spent: u32,
    /// The store's count when this process last wrote or read it.
    reserved: u32,
    /// Blocks reserved today: each is twice the last (up to [`block`]'s
    /// size), so a process that sends one request reserves one.
    blocks: u32,
}

/// The quota is spent until `resets_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    /// The quota.
    pub requests: u32,
    /// What it counts against.
    pub app: String,
    /// When it resets.
    pub resets_at: DateTime<Utc>,
}

/// Why a request may not go.
#[derive(Debug)]
pub enum QuotaError {
    /// The quota is spent.
    Exhausted(Exhausted),
    /// The store that counts it cannot be read or written (fail closed).
    Store {
        /// The store's name.
        store: String,
        /// What went wrong.
        error: StoreError,
    },
}

/// A quota as `status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuotaState {
    /// Requests a day.
    pub requests: u32,
    /// What it counts against.
    pub app: String,
    /// Where it is counted: `store 'vault'` or `this process only`.
    pub counted_in: String,
    /// Reserved by every process so far today (an upper bound of what was sent).
    pub reserved: u32,
    /// Reserved by this process and not spent (lost if it dies).
    pub held_here: u32,
    /// Sent by this process today.
    pub spent_here: u32,
    /// When the day ends (RFC 3339).
    pub resets_at: String,
}

impl Quota {
    /// The process's quota of `requests` a day (starting `offset` seconds
    /// after midnight UTC) for `key`, counted by `counter`; every connection
    /// with the same key shares it. `app` names it for people, `base` is its
    /// store path (built from names, so it stays below the store's path).
    pub fn shared(
        key: [u8; 32],
        requests: u32,
        offset: u32,
        app: String,
        base: &AssetName,
        store: Option<(&str, &VaultConfig)>,
    ) -> Arc<Quota> {
        let id = (key, requests, offset, counter_id(store.map(|(_, c)| c)));
        let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(quota) = registry.get(&id) {
            return quota.clone();
        }
        let counter = match store {
            Some((name, config)) => Counter::Store {
                name: name.to_owned(),
                store: Arc::new(VaultStore::new(config.clone())),
            },
            None => Counter::Process,
        };
        let quota = Arc::new(Quota {
            requests,
            offset,
            app,
            base: base.to_string(),
            counter,
            local: tokio::sync::Mutex::default(),
            spent_day: Mutex::default(),
        });
        registry.insert(id, quota.clone());
        quota
    }

    /// Fails at once, without the store, when this process already found
    /// the quota spent today.
    ///
    /// # Errors
    ///
    /// [`Exhausted`].
    pub fn check(&self) -> Result<(), Exhausted> {
        let today = self.day(Utc::now());
        let spent = *self.spent_day.lock().unwrap_or_else(|e| e.into_inner());
        match spent == Some(today) {
            true => Err(self.exhausted(today)),
            false => Ok(()),
        }
    }

    /// Takes one request from the quota (reserving a block when this
    /// process holds none).
    ///
    /// # Errors
    ///
    /// [`QuotaError::Exhausted`] when none is left today, [`QuotaError::Store`]
    /// when the count cannot be read or written.
    pub async fn take(&self) -> Result<(), QuotaError> {
        let today = self.day(Utc::now());
        let mut local = self.local.lock().await;
        if local.day != Some(today) {
            *local = Local {
                day: Some(today),
                ..Local::default()
            };
        }
        if local.held == 0 {
            local.held = self.reserve(today, &mut local).await?;
            if local.held == 0 {
                *self.spent_day.lock().unwrap_or_else(|e| e.into_inner()) = Some(today);
                return Err(QuotaError::Exhausted(self.exhausted(today)));
            }
        }
        local.held -= 1;
        local.spent += 1;
        crate::metrics::quota_left(
            self.app.rsplit(' ').next().unwrap_or_default(),
            self.requests
                .saturating_sub(local.reserved.saturating_sub(local.held)),
        );
        Ok(())
    }

    /// What is left, as `status` shows it (reads the store's count).
    pub async fn state(&self) -> QuotaState {
        let today = self.day(Utc::now());
        let local = self.local.lock().await;
        let mine = local.day == Some(today);
        let reserved = match self.read(today).await {
            Ok(Some((count, _))) => count,
            Ok(None) => 0,
            Err(_) => local.reserved,
        };
        QuotaState {
            requests: self.requests,
            app: self.app.clone(),
            counted_in: match &self.counter {
                Counter::Store { name, .. } => format!("store '{name}'"),
                Counter::Process => "this process only".into(),
            },
            reserved,
            held_here: if mine { local.held } else { 0 },
            spent_here: if mine { local.spent } else { 0 },
            resets_at: self.resets_at(today).to_rfc3339(),
        }
    }

    /// Hands back what this process reserved and did not spend.
    async fn release(&self) {
        let mut local = self.local.lock().await;
        let (Some(day), held) = (local.day, local.held) else {
            return;
        };
        if held == 0 || !matches!(self.counter, Counter::Store { .. }) {
            return;
        }
        for _ in 0..CAS_ROUNDS {
            let Ok(Some((count, version))) = self.read(day).await else {
                return;
            };
            match self.write(day, count.saturating_sub(held), version).await {
                Ok(true) => {
                    local.held = 0;
                    return;
                }
                Ok(false) => continue,
                Err(_) => return,
            }
        }
    }

    /// Reserves a block from the store's count (or this process's): how
    /// many requests were granted, 0 when the quota is spent.
    async fn reserve(&self, day: NaiveDate, local: &mut Local) -> Result<u32, QuotaError> {
        if matches!(self.counter, Counter::Process) {
            let granted = u32::from(local.reserved < self.requests);
            local.reserved += granted;
            return Ok(granted);
        }
        for _ in 0..CAS_ROUNDS {
            let (count, version) = self.read(day).await?.unwrap_or((0, 0));
            if count >= self.requests {
                local.reserved = count;
                return Ok(0);
            }
            let block = block(self.requests - count).min(1 << local.blocks.min(5));
            if self.write(day, count + block, version).await? {
                local.blocks += 1;
                local.reserved = count + block;
                if version == 0 {
                    self.forget_yesterday(day).await;
                }
                return Ok(block);
            }
            // Another process reserved meanwhile: read its count and retry.
        }
        Err(QuotaError::Store {
            store: self.store_name(),
            error: StoreError::Config(
                "the quota's count kept changing under check-and-set; try again".into(),
            ),
        })
    }

    /// The store's count for `day` and its version; `None` before any.
    async fn read(&self, day: NaiveDate) -> Result<Option<(u32, u64)>, QuotaError> {
        let Counter::Store { store, .. } = &self.counter else {
            return Ok(None);
        };
        let found = store
            .read_record(&self.document(day))
            .await
            .map_err(|error| self.store_error(error))?;
        Ok(found.map(|(data, version)| {
            let count = data
                .get("reserved")
                .and_then(|v| v.expose_secret().parse().ok())
                .unwrap_or(self.requests);
            (count, version)
        }))
    }

    /// Sets the store's count for `day` if its version is still `version`.
    async fn write(&self, day: NaiveDate, count: u32, version: u64) -> Result<bool, QuotaError> {
        let Counter::Store { store, .. } = &self.counter else {
            return Ok(true);
        };
        let data = SecretData::from([
            ("reserved".to_owned(), SecretString::from(count.to_string())),
            (
                "requests".to_owned(),
                SecretString::from(self.requests.to_string()),
            ),
            ("app".to_owned(), SecretString::from(self.app.clone())),
        ]);
        let written = store
            .write_record(&self.document(day), data, version)
            .await
            .map_err(|error| self.store_error(error))?;
        Ok(written.is_some())
    }

    /// The first process of a day removes the day before's document.
    async fn forget_yesterday(&self, day: NaiveDate) {
        if let (Counter::Store { store, .. }, Some(before)) = (&self.counter, day.pred_opt()) {
            let _ = store.delete_secret(&self.document(before)).await;
        }
    }

    fn document(&self, day: NaiveDate) -> AssetRef {
        let name = format!("{}/{}", self.base, day.format("%Y-%m-%d"));
        AssetRef {
            name: AssetName::parse(&name, "quota document").expect("built from names and a date"),
            external_name: None,
            store: Some(self.store_name()),
            kind: AssetKind::Secret {
                key: "reserved".into(),
            },
            version: None,
        }
    }

    fn store_name(&self) -> String {
        match &self.counter {
            Counter::Store { name, .. } => name.clone(),
            Counter::Process => String::new(),
        }
    }

    fn store_error(&self, error: StoreError) -> QuotaError {
        QuotaError::Store {
            store: self.store_name(),
            error,
        }
    }

    /// The day (as its start date) that `at` falls in.
    fn day(&self, at: DateTime<Utc>) -> NaiveDate {
        (at - Duration::seconds(i64::from(self.offset))).date_naive()
    }

    fn resets_at(&self, day: NaiveDate) -> DateTime<Utc> {
        let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        start + Duration::days(1) + Duration::seconds(i64::from(self.offset))
    }

    fn exhausted(&self, day: NaiveDate) -> Exhausted {
        Exhausted {
            requests: self.requests,
            app: self.app.clone(),
            resets_at: self.resets_at(day),
        }
    }
}

/// The most to reserve when `left` remain: small blocks, smaller near the
/// end, so that what processes hold unspent stays a small part of it.
fn block(left: u32) -> u32 {
    (left / 20).clamp(1, MAX_BLOCK).min(left)
}

/// Held for the life of the process (one entry per quota and store, so
/// few): units reserved by a session that has since been dropped (a
/// connection changed or removed, a worker's fleet stopped) stay with the
/// next session of the same quota, and [`release_all`] still finds them.
type Registry = Mutex<HashMap<([u8; 32], u32, u32, String), Arc<Quota>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// Quotas counted in one store (address, namespace, mount and path) share
/// a count in this process too; counted by no store, one per process.
fn counter_id(store: Option<&VaultConfig>) -> String {
    store.map_or_else(String::new, |c| {
        format!("{}|{:?}|{}|{}", c.address, c.namespace, c.mount, c.path)
    })
}

/// Hands back every quota unit this process reserved and did not spend:
/// front ends call it as they stop, so a clean stop strands nothing.
pub async fn release_all() {
    let quotas: Vec<Arc<Quota>> = registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .cloned()
        .collect();
    for quota in quotas {
        quota.release().await;
    }
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let left = self.resets_at - Utc::now();
        write!(
            f,
            "the API's quota of {} requests a day for {} is spent; it resets at {} (in {} h {} min)",
            self.requests,
            self.app,
            self.resets_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            left.num_hours(),
            left.num_minutes() % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(requests: u32, offset: u32) -> Arc<Quota> {
        let base = AssetName::parse("quotas/test/app", "base").unwrap();
        let key = rand_key();
        Quota::shared(key, requests, offset, "app x".into(), &base, None)
    }

    fn rand_key() -> [u8; 32] {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        key
    }

    #[test]
    fn blocks_are_small_and_shrink_near_the_end() {
        assert_eq!(block(10_000), MAX_BLOCK);
        assert_eq!(block(200), 10);
        assert_eq!(block(50), 2);
        assert_eq!(block(19), 1);
        assert_eq!(block(1), 1);
    }

    #[test]
    fn the_day_starts_at_its_offset_after_midnight_utc() {
        let q = quota(10, 3600);
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let day = q.day(at("2026-12-07T00:30:00Z"));
        assert_eq!(
            day.to_string(),
            "2026-12-06",
            "before 01:00 it is still yesterday"
        );
        assert_eq!(q.resets_at(day).to_rfc3339(), "2026-12-07T01:00:00+00:00");
        let midnight = quota(10, 0);
        assert_eq!(
            midnight
                .resets_at(midnight.day(at("2026-12-07T23:59:59Z")))
                .to_rfc3339(),
            "2026-12-08T00:00:00+00:00"
        );
    }

    #[tokio::test]
    async fn a_process_quota_is_never_passed_and_says_when_it_resets() {
        let q = quota(3, 0);
        for _ in 0..3 {
            q.take().await.unwrap();
        }
        let Err(QuotaError::Exhausted(e)) = q.take().await else {
            panic!("the fourth request passed the quota");
        };
        assert_eq!(e.requests, 3);
        assert!(q.check().is_err(), "later calls fail before they start");
        let text = e.to_string();
        assert!(
            text.contains("quota of 3 requests a day for app x is spent; it resets at"),
            "{text}"
        );
    }
}
