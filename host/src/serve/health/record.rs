//! The health record kept beside each connection (a 0600 file under the
//! lock of [`Record`], or a KV v2 document written with check-and-set where
//! connections live in a store), so every replica sees one history of it.
//!
//! A change of state is written by exactly one process: the one whose
//! check-and-set moved the record from the old state to the new. Only that
//! process announces the change, so replicas that all notice a revoked
//! refresh token still send one `connection.needs_reauth` between them.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::super::record::Record;
use super::super::space::Space;
use crate::name::Name;

/// A connection's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Usable: its credential resolves, its access token is fresh or renewable.
    Ok,
    /// A person must connect again: the refresh token was refused or
    /// revoked, or a credential asset is missing.
    NeedsReauth,
    /// A transient failure (the token endpoint or a store did not answer);
    /// tried again without anybody's help.
    Unreachable,
    /// An OAuth connection nobody has connected yet.
    NotConnected,
    /// Unusable as configured (refused client credentials, a connection
    /// file that does not open): the operator must change something.
    Broken,
    /// The connection was deleted (a record is never removed, only marked).
    Removed,
}

impl Condition {
    /// The state's word in answers, events, audit lines and metric labels.
    pub fn word(self) -> &'static str {
        match self {
            Condition::Ok => "ok",
            Condition::NeedsReauth => "needs_reauth",
            Condition::Unreachable => "unreachable",
            Condition::NotConnected => "not_connected",
            Condition::Broken => "broken",
            Condition::Removed => "removed",
        }
    }
}

/// What the record says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The state.
    pub state: Condition,
    /// Why, in the host's own words (names, never a value or a path).
    pub reason: String,
    /// Since when (unix milliseconds).
    pub since: u64,
    /// `connection.needs_reauth` was announced and `connection.recovered`
    /// not yet: kept through transient states until the connection is ok.
    #[serde(default)]
    pub announced: bool,
    /// When the token record this was read from was written (an OAuth
    /// look: the access token's issue time when ok, the refusal's time when
    /// refused), else 0. A look that read an older token record than the
    /// one this record was settled from is stale and changes nothing: a
    /// replica that read the tokens just before another was refused must
    /// not say `ok` again (nor one that read them just before a reconnect,
    /// `needs_reauth`).
    #[serde(default)]
    pub evidence: u64,
}

/// A change one process made to the record.
#[derive(Debug, Clone)]
pub struct Change {
    /// The state before (`None`: no record, or a deleted connection's).
    pub from: Option<Condition>,
    /// The record now.
    pub to: Health,
    /// The event to announce, if any.
    pub event: Option<&'static str>,
}

/// The health record of connection `name` in `space`: `.health/<name>.json`
/// beside its connection file, or `health/<name>` in the tenant's records.
pub fn of(space: &Space, name: &Name) -> Record<Health> {
    let file = Path::new(".health").join(format!("{name}.json"));
    Record::beside(&space.documents, &file, space.asset("health", &[name]))
}

/// Writes `seen` when the record says another state; the change this
/// process made, or `None` when the record already said so (or another
/// replica got there first).
///
/// # Errors
///
/// A sentence when the record cannot be read or written.
pub async fn settle(record: &Record<Health>, seen: Health) -> Result<Option<Change>, String> {
    record
        .change(move |current| {
            let before = current.clone().filter(|h| h.state != Condition::Removed);
            if before
                .as_ref()
                .is_some_and(|h| h.state == seen.state || stale(h, &seen))
            {
                return (false, None);
            }
            let change = transition(before.as_ref(), seen.clone());
            *current = Some(change.to.clone());
            (true, Some(change))
        })
        .await
}

/// Whether `seen` was read from older tokens than `current` was settled from.
fn stale(current: &Health, seen: &Health) -> bool {
    current.evidence > 0 && seen.evidence > 0 && seen.evidence < current.evidence
}

/// The record after `seen`, and what to announce: `connection.needs_reauth`
/// on entering that state, `connection.recovered` on reaching `ok` after it
/// was announced (whatever transient states came between).
fn transition(before: Option<&Health>, mut seen: Health) -> Change {
    let announced = before.is_some_and(|h| h.announced);
    let event = match seen.state {
        Condition::NeedsReauth if !announced => Some("connection.needs_reauth"),
        Condition::Ok if announced => Some("connection.recovered"),
        _ => None,
    };
    // The newest tokens any look has read stay the bar a later look must meet.
    seen.evidence = seen.evidence.max(before.map_or(0, |h| h.evidence));
    seen.announced = match seen.state {
        Condition::NeedsReauth => true,
        Condition::Ok | Condition::Removed => false,
        _ => announced,
    };
    Change {
        from: before.map(|h| h.state),
        to: seen,
        event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(state: Condition, announced: bool) -> Health {
        Health {
            state,
            reason: String::new(),
            since: 1,
            announced,
            evidence: 0,
        }
    }

    #[test]
    fn needs_reauth_is_announced_once_and_recovered_follows_through_transient_states() {
        let steps = [
            (Condition::Ok, None),
            (Condition::NeedsReauth, Some("connection.needs_reauth")),
            (Condition::Unreachable, None),
            (Condition::NeedsReauth, None),
            (Condition::NotConnected, None),
            (Condition::Ok, Some("connection.recovered")),
            (Condition::Unreachable, None),
            (Condition::Ok, None),
        ];
        let mut current: Option<Health> = None;
        for (state, expected) in steps {
            let change = transition(current.as_ref(), health(state, false));
            assert_eq!(change.event, expected, "entering {state:?}");
            current = Some(change.to);
        }
    }

    #[test]
    fn a_look_at_older_tokens_than_the_records_changes_nothing() {
        let refused = Health {
            evidence: 20,
            ..health(Condition::NeedsReauth, true)
        };
        let earlier_ok = Health {
            evidence: 10,
            ..health(Condition::Ok, false)
        };
        let reconnected = Health {
            evidence: 30,
            ..health(Condition::Ok, false)
        };
        assert!(stale(&refused, &earlier_ok));
        assert!(!stale(&refused, &reconnected));
        assert!(stale(&reconnected, &refused));
        assert!(!stale(&refused, &health(Condition::Unreachable, false)));
    }

    #[test]
    fn a_deleted_connections_record_announces_nothing_to_its_successor() {
        let removed = health(Condition::Removed, false);
        let change = transition(Some(&removed), health(Condition::Ok, false));
        assert_eq!(change.event, None);
        let first = transition(None, health(Condition::NeedsReauth, false));
        assert_eq!(first.event, Some("connection.needs_reauth"));
    }
}
