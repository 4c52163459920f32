//! The connections a worker serves right now: each one's opened session,
//! the stamp it was opened at, and its task queue. Pollers read it for
//! every attempt; the rescan replaces entries as files come, change and go.
//!
//! Invariant: an attempt runs only on the queue of its connection's
//! application, so an activity name sent to the wrong queue cannot slip
//! past that application's rate limit.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use super::source::Stamp;
use crate::name::Name;
use crate::Session;

/// One served connection.
pub struct Served {
    /// Its opened session.
    pub session: Arc<Session>,
    /// The stamp its document had when it was opened.
    pub stamp: Stamp,
    /// Its application's task queue.
    pub queue: String,
}

/// The served connections by name.
#[derive(Default)]
pub struct Routes {
    served: RwLock<BTreeMap<Name, Served>>,
}

impl Routes {
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Name, Served>> {
        self.served.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The session of `connection`, if it is served on `queue`.
    pub fn session(&self, connection: &str, queue: &str) -> Option<Arc<Session>> {
        let name = Name::parse(connection, "connection name").ok()?;
        let served = self.read();
        let entry = served.get(&name).filter(|s| s.queue == queue)?;
        Some(entry.session.clone())
    }

    /// Every `<connection>.<activity>` served on `queue`, sorted.
    pub fn activity_types(&self, queue: &str) -> Vec<String> {
        let served = self.read();
        let mut types: Vec<String> = served
            .iter()
            .filter(|(_, s)| s.queue == queue)
            .flat_map(|(name, s)| {
                let activities = &s.session.connector().info().activities;
                activities.iter().map(move |a| format!("{name}.{}", a.name))
            })
            .collect();
        types.sort();
        types
    }

    /// The stamp connection `name` was opened at.
    pub fn stamp(&self, name: &Name) -> Option<Stamp> {
        self.read().get(name).map(|s| s.stamp.clone())
    }

    /// Every served connection's name.
    pub fn names(&self) -> Vec<Name> {
        self.read().keys().cloned().collect()
    }

    /// The queues in use, each with the per-second limit of one of its
    /// sessions (they share an application, so they share its limits).
    pub fn queues(&self) -> BTreeMap<String, Arc<Session>> {
        let served = self.read();
        served
            .values()
            .map(|s| (s.queue.clone(), s.session.clone()))
            .collect()
    }

    /// Serves `name` from now on (replacing what it was).
    pub fn insert(&self, name: Name, served: Served) {
        self.served
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, served);
    }

    /// Stops serving `name`; calls already running finish on their session.
    pub fn remove(&self, name: &Name) -> Option<Served> {
        self.served
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
    }
}
