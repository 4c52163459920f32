//! Polling triggers: the checkpoint, the clock, and one poll over a "changed
//! after" filter.
//!
//! A trigger (see `trigger` in `wit/sdk/sdk.wit`) is a poll: it asks the API
//! for records changed after the last poll's checkpoint and reports each change
//! once. [`poll`] does the bookkeeping every such trigger shares; a trigger
//! gives it a function that reads one page and a function that says when each
//! record changed:
//!
//! ```ignore
//! let polled = trigger::poll(checkpoint, since, |after, cursor| {
//!     let page: ThingsPage = API.get("/v1/things").query("changed_after", after)
//!         .cursor(cursor).page()?;
//!     Ok((page.things, page.next_cursor))
//! }, |thing| Some(Change::event(&thing.id, thing.changed_at.as_deref()?)))?;
//! ```
//!
//! What it keeps (the invariants a consumer relies on):
//! - **Nothing lost, nothing repeated at a shared millisecond.** APIs compare
//!   "after" exclusively and stamp changes to the millisecond, so the next query
//!   asks for changes after the millisecond *before* the newest one reported,
//!   and the checkpoint remembers the ids already reported at that millisecond
//!   ([`Mark`]). It remembers at most [`MAX_IDS`]; past that (a bulk change)
//!   the millisecond is closed: ids are compared with the largest one
//!   forgotten (`floor`) and the next query starts after that millisecond,
//!   which can miss only a change that lands in it after the poll read it,
//!   among more than [`MAX_IDS`] others.
//! - **No order assumed.** The API may list records in any order, so a poll
//!   never moves the mark before it has read to the last page. When a poll stops
//!   at [`MAX_PAGES`], the checkpoint keeps the next page's cursor (a [`Walk`])
//!   and the poll says `more`: the next poll goes on from there.
//! - **Stable ids**: `<record id>@<time of the change>`, the same every time the
//!   same change is read.
//! - **The first poll** starts at `since` when given. Without it, the first poll
//!   reports nothing: it reads quietly what changed in the last
//!   [`LOOKBACK_MS`] before the guest's clock and starts after the newest of
//!   those (or at that point, when there are none). So a remote clock ahead of
//!   the guest's (any amount) or behind it (up to the lookback) neither reports
//!   a change made before the subscription nor loses one made after it.
//! - **Small**: a checkpoint is a short JSON text with at most `2 × MAX_IDS` ids
//!   and one cursor.

use serde::{Deserialize, Serialize};

mod time;

pub use time::{format_ms, now_ms, parse_ms};

use crate::error::invalid_input;
use crate::types::ActivityError;

/// The most pages one poll reads; the rest waits for the next poll (`more`).
pub const MAX_PAGES: usize = 3;
/// The most ids a [`Mark`] remembers at its millisecond.
pub const MAX_IDS: usize = 100;
/// How far back a first poll without `since` looks (see the module doc).
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// One record changed: its id, when, and whether this trigger reports it (a
/// change that is not an event still moves the checkpoint past it).
pub struct Change<'a> {
    /// The record's id.
    pub id: &'a str,
    /// The time of the change, RFC 3339.
    pub at: &'a str,
    /// Whether the trigger reports it.
    pub event: bool,
}

impl<'a> Change<'a> {
    /// A change the trigger reports.
    pub fn event(id: &'a str, at: &'a str) -> Self {
        Change {
            id,
            at,
            event: true,
        }
    }
    /// A change the trigger only moves past (e.g. a draft for "campaign sent").
    pub fn skip(id: &'a str, at: &'a str) -> Self {
        Change {
            id,
            at,
            event: false,
        }
    }
}

/// One event found: its stable id, when it happened (RFC 3339) and the record.
pub struct Found<T> {
    /// `<record id>@<occurred_at>`.
    pub id: String,
    /// RFC 3339 with milliseconds, UTC.
    pub occurred_at: String,
    /// The record as the API answered it.
    pub record: T,
}

/// What one poll returns: the events in time order, the next checkpoint, and
/// whether more are waiting.
pub struct Polled<T> {
    /// The events, oldest first.
    pub events: Vec<Found<T>>,
    /// Give it back on the next poll.
    pub checkpoint: String,
    /// More pages are waiting: poll again at once.
    pub more: bool,
}

/// Everything at or before `at` has been reported: every change before that
/// millisecond, and at it those in `ids` or not above `floor`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// RFC 3339 with milliseconds (kept as text so a checkpoint reads well).
    pub at: String,
    /// Ids reported at `at`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// Ids at `at` up to this one count as reported (see [`MAX_IDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
}

/// A query read part of the way: where it goes on, and the newest change it met.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Walk {
    /// The cursor of the next page.
    pub next: String,
    /// The newest change read so far in this query.
    pub newest: Mark,
    /// A first poll's look back: what it reads is not reported.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quiet: bool,
}

/// The checkpoint a trigger returns and takes back, as JSON text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Reported up to here; queries ask for changes from this millisecond on.
    pub done: Mark,
    /// A query not yet read to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk: Option<Walk>,
}

impl Mark {
    /// A mark at `at_ms` with nothing reported at that millisecond.
    fn at(at_ms: i64) -> Mark {
        Mark {
            at: format_ms(at_ms),
            ..Mark::default()
        }
    }

    fn ms(&self) -> i64 {
        parse_ms(&self.at).unwrap_or(i64::MIN)
    }

    /// Whether the change `id` at `at_ms` is already reported.
    pub fn covers(&self, at_ms: i64, id: &str) -> bool {
        let at = self.ms();
        at_ms < at
            || (at_ms == at
                && (self.floor.as_deref().is_some_and(|f| id <= f)
                    || self.ids.binary_search_by(|i| i.as_str().cmp(id)).is_ok()))
    }

    /// Moves the mark to cover the change `id` at `at_ms` too.
    pub fn add(&mut self, at_ms: i64, id: &str) {
        let at = self.ms();
        if at_ms < at || self.covers(at_ms, id) {
            return;
        }
        if at_ms > at {
            *self = Mark::at(at_ms);
        }
        if let Err(place) = self.ids.binary_search_by(|i| i.as_str().cmp(id)) {
            self.ids.insert(place, id.to_owned());
        }
        if self.ids.len() > MAX_IDS {
            // Forget the smallest: ids up to it now count through `floor`.
            self.floor = Some(self.ids.remove(0));
        }
    }

    /// The mark covering both `self` and `other`.
    fn merge(mut self, other: &Mark) -> Mark {
        match other.ms().cmp(&self.ms()) {
            std::cmp::Ordering::Greater => other.clone(),
            std::cmp::Ordering::Less => self,
            std::cmp::Ordering::Equal => {
                let at = self.ms();
                self.floor = self.floor.max(other.floor.clone());
                for id in &other.ids {
                    self.add(at, id);
                }
                self
            }
        }
    }
}

/// One poll: reads the pages `page` gives for changes after a time (the text
/// to put in the API's "after" filter) or at a cursor, and reports each change
/// `change` calls an event once. See the module doc.
///
/// # Errors
///
/// `invalid-input` for a checkpoint this function did not write or a `since`
/// that is not RFC 3339; else the first error `page` returns.
pub fn poll<T>(
    checkpoint: Option<&str>,
    since: Option<&str>,
    mut page: impl FnMut(&str, Option<&str>) -> Result<(Vec<T>, Option<String>), ActivityError>,
    change: impl Fn(&T) -> Option<Change<'_>>,
) -> Result<Polled<T>, ActivityError> {
    let Checkpoint { done, walk } = start(checkpoint, since)?;
    let quiet = walk.as_ref().is_some_and(|w| w.quiet);
    let mut newest = walk
        .as_ref()
        .map_or_else(|| done.clone(), |w| w.newest.clone());
    let mut cursor = walk.map(|w| w.next).filter(|next| !next.is_empty());
    // "After" is exclusive: ask from the millisecond before, so the mark's own
    // millisecond is read again and its unreported changes are found; unless
    // that millisecond is full (`floor`): re-reading a bulk change of thousands
    // would cost pages on every poll, and the floor already closes it.
    let closed = i64::from(done.floor.is_none());
    let after = format_ms(done.ms().saturating_sub(closed));
    let mut found = Vec::new();
    for _ in 0..MAX_PAGES {
        let (records, next) = page(&after, cursor.as_deref())?;
        for record in records {
            let Some((at, id, event)) =
                change(&record).and_then(|c| Some((parse_ms(c.at)?, c.id.to_owned(), c.event)))
            else {
                continue;
            };
            if !done.covers(at, &id) {
                newest.add(at, &id);
                if event && !quiet {
                    found.push((at, id, record));
                }
            }
        }
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    let next = match cursor {
        Some(next) => Checkpoint {
            done,
            walk: Some(Walk {
                next,
                newest,
                quiet,
            }),
        },
        None => Checkpoint {
            done: done.merge(&newest),
            walk: None,
        },
    };
    Ok(polled(found, &next))
}

/// The events in time order (then by id), with their stable ids.
fn polled<T>(mut found: Vec<(i64, String, T)>, next: &Checkpoint) -> Polled<T> {
    found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let events = found
        .into_iter()
        .map(|(at, id, record)| Found {
            id: format!("{id}@{}", format_ms(at)),
            occurred_at: format_ms(at),
            record,
        })
        .collect();
    Polled {
        events,
        more: next.walk.is_some(),
        // Printing a struct of strings cannot fail.
        checkpoint: serde_json::to_string(next).unwrap_or_default(),
    }
}

/// Where a poll starts: the checkpoint, else `since`, else a quiet look back.
fn start(checkpoint: Option<&str>, since: Option<&str>) -> Result<Checkpoint, ActivityError> {
    if let Some(text) = checkpoint.filter(|c| !c.is_empty()) {
        let bad = || invalid_input("`checkpoint` must be a checkpoint this trigger returned");
        let state: Checkpoint = serde_json::from_str(text).map_err(|_| bad())?;
        let marks = [Some(&state.done), state.walk.as_ref().map(|w| &w.newest)];
        if marks
            .into_iter()
            .flatten()
            .any(|m| parse_ms(&m.at).is_none())
        {
            return Err(bad());
        }
        return Ok(state);
    }
    if let Some(since) = since {
        let at = parse_ms(since)
            .ok_or_else(|| invalid_input("`since` must be an RFC 3339 date-time"))?;
        return Ok(Checkpoint {
            done: Mark::at(at),
            walk: None,
        });
    }
    let back = Mark::at(now_ms() - LOOKBACK_MS);
    Ok(Checkpoint {
        done: back.clone(),
        // A walk with no cursor yet: the first page is the query itself.
        walk: Some(Walk {
            next: String::new(),
            newest: back,
            quiet: true,
        }),
    })
}

#[cfg(test)]
mod tests;
