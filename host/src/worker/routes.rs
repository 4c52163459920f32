//! The connections a worker serves right now: each one's opened session,
//! the stamp it was opened at, and its task queue. Pollers read it for
//! every attempt; the rescan replaces entries as files come, change and go.
//!
//! Invariants: an attempt runs only on the queue of its connection's
//! application, so an activity name sent to the wrong queue cannot slip
//! past that application's rate limit; and only on the connection of the
//! tenant its name says (one queue serves every tenant of an application,
//! since the provider's limits are the application's).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use super::source::Stamp;
use crate::name::Name;
use crate::Session;

/// A served connection, as activity types name it: `<connection>` in the
/// default tenant, `<tenant>.<connection>` in another. Names hold no dot,
/// so a type reads only one way.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The tenant (`None`: the default one).
    pub tenant: Option<Name>,
    /// The connection.
    pub connection: Name,
}

impl Key {
    /// `text` as a key, if it is one.
    pub fn parse(text: &str) -> Option<Key> {
        let name = |t: &str| Name::parse(t, "name").ok();
        match text.split_once('.') {
            Some((tenant, connection)) => Some(Key {
                tenant: Some(name(tenant)?),
                connection: name(connection)?,
            }),
            None => Some(Key {
                tenant: None,
                connection: name(text)?,
            }),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tenant {
            Some(tenant) => write!(f, "{tenant}.{}", self.connection),
            None => write!(f, "{}", self.connection),
        }
    }
}

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
    served: RwLock<BTreeMap<Key, Served>>,
}

impl Routes {
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Key, Served>> {
        self.served.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The session of `connection` (a [`Key`]), if it is served on `queue`.
    pub fn session(&self, connection: &str, queue: &str) -> Option<Arc<Session>> {
        let name = Key::parse(connection)?;
        let served = self.read();
        let entry = served.get(&name).filter(|s| s.queue == queue)?;
        Some(entry.session.clone())
    }

    /// Every `<key>.<activity>` served on `queue`, sorted.
    pub fn activity_types(&self, queue: &str) -> Vec<String> {
        let served = self.read();
        let mut types: Vec<String> = served
            .iter()
            .filter(|(_, s)| s.queue == queue)
            .flat_map(|(name, s)| {
                let info = s.session.connector().info();
                let activities = info.activities.iter().map(|a| &a.name);
                let triggers = info.triggers.iter().map(|t| &t.name);
                activities
                    .chain(triggers)
                    .map(move |a| format!("{name}.{a}"))
            })
            .collect();
        types.sort();
        types
    }

    /// The stamp connection `name` was opened at.
    pub fn stamp(&self, name: &Key) -> Option<Stamp> {
        self.read().get(name).map(|s| s.stamp.clone())
    }

    /// Every served connection's name.
    pub fn names(&self) -> Vec<Key> {
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
    pub fn insert(&self, name: Key, served: Served) {
        self.served
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, served);
    }

    /// Stops serving `name`; calls already running finish on their session.
    pub fn remove(&self, name: &Key) -> Option<Served> {
        self.served
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
    }
}

#[cfg(test)]
mod tests {
    use super::Key;

    #[test]
    fn a_key_reads_one_way_and_names_its_tenant() {
        let acme = Key::parse("acme.shop").unwrap();
        assert_eq!(
            (acme.tenant.as_deref(), acme.connection.as_str()),
            (Some("acme"), "shop")
        );
        assert_eq!(acme.to_string(), "acme.shop");
        let default = Key::parse("shop").unwrap();
        assert_eq!(default.to_string(), "shop");
        assert!(default.tenant.is_none());
        for bad in [
            "",
            ".shop",
            "acme.",
            "a.b.c",
            "Acme.shop",
            "acme/shop",
            "../shop",
        ] {
            assert!(Key::parse(bad).is_none(), "{bad}");
        }
    }
}
