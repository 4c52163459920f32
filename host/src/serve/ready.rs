//! Readiness: the catalogue has finished loading, and each credential
//! store of the serve config answers a token lookup-self within a short
//! deadline. The answer is kept for [`FRESH`], and one probe runs at a
//! time, so however often probes come, Vault sees at most one lookup per
//! store per [`FRESH`].
//!
//! Invariant: the report names checks only (`catalogue`, `store:<name>`
//! from the operator's own config), never an address, a path, a version,
//! a connection or the text of an error.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::catalogue::{Catalogue, Status};
use crate::secrets::vault::{VaultConfig, VaultStore};

/// How long an answer is reused.
const FRESH: Duration = Duration::from_secs(2);
/// How long a store has to answer its lookup.
const DEADLINE: Duration = Duration::from_secs(2);

/// The checks and their last answer.
pub struct Readiness {
    /// A store of its own per configured store: probes never queue behind
    /// a call's reads on the same thread, nor reads behind probes.
    stores: Vec<(String, Arc<VaultStore>)>,
    last: Mutex<Option<(Instant, Report)>>,
    probing: tokio::sync::Mutex<()>,
}

/// Each check's name and whether it passed.
#[derive(Clone, Debug)]
pub struct Report(Vec<(String, bool)>);

impl Report {
    /// Whether every check passed.
    pub fn ready(&self) -> bool {
        self.0.iter().all(|(_, ok)| *ok)
    }

    /// The JSON answer: status, and each check as `ok` or `failed`.
    pub fn body(&self) -> Value {
        let checks: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(name, ok)| (name.clone(), json!(if *ok { "ok" } else { "failed" })))
            .collect();
        let status = if self.ready() { "ready" } else { "not_ready" };
        json!({ "status": status, "checks": checks })
    }
}

impl Readiness {
    /// Checks for the serve config's stores.
    pub fn new(stores: &BTreeMap<String, VaultConfig>) -> Readiness {
        Readiness {
            stores: stores
                .iter()
                .map(|(name, c)| (name.clone(), Arc::new(VaultStore::new(c.clone()))))
                .collect(),
            last: Mutex::default(),
            probing: tokio::sync::Mutex::const_new(()),
        }
    }

    /// The report, probed again when the last one is older than [`FRESH`].
    pub async fn report(&self, catalogue: &Catalogue) -> Report {
        if let Some(report) = self.fresh() {
            return report;
        }
        let _one_at_a_time = self.probing.lock().await;
        // Someone else may have probed while we waited.
        if let Some(report) = self.fresh() {
            return report;
        }
        let loading = catalogue
            .current()
            .iter()
            .any(|e| e.status == Status::Loading);
        let mut checks = vec![("catalogue".to_owned(), !loading)];
        let probes = self.stores.iter().map(|(name, store)| async move {
            let answered = tokio::time::timeout(DEADLINE, store.probe()).await;
            let ok = matches!(answered, Ok(Ok(())));
            if !ok {
                // The reason stays in the log of the operator's own process.
                tracing::warn!(store = %name, "readiness: the store did not answer a token lookup");
            }
            (format!("store:{name}"), ok)
        });
        checks.extend(futures::future::join_all(probes).await);
        let report = Report(checks);
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), report.clone()));
        report
    }

    fn fresh(&self) -> Option<Report> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < FRESH)
            .map(|(_, report)| report.clone())
    }
}
