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
//!   ([`Mark`]). It remembers at most [`MAX_IDS`]; past that, ids are compared
//!   with the largest one forgotten (`floor`), which can miss only a change that
//!   lands at that same millisecond after the poll read it, among more than
//!   [`MAX_IDS`] others.
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
    let state = start(checkpoint, since)?;
    let Checkpoint { done, walk } = state;
    let quiet = walk.as_ref().is_some_and(|w| w.quiet);
    let mut newest = walk
        .as_ref()
        .map_or_else(|| done.clone(), |w| w.newest.clone());
    let mut cursor = walk.map(|w| w.next).filter(|next| !next.is_empty());
    // "After" is exclusive: ask from the millisecond before, so the mark's own
    // millisecond is read again and its unreported changes are found.
    let after = format_ms(done.ms().saturating_sub(1));
    let mut found = Vec::new();
    for _ in 0..MAX_PAGES {
        let (records, next) = page(&after, cursor.as_deref())?;
        for record in records {
            let Some((at, id, event)) =
                change(&record).and_then(|c| Some((parse_ms(c.at)?, c.id.to_owned(), c.event)))
            else {
                continue;
            };
            if done.covers(at, &id) {
                continue;
            }
            newest.add(at, &id);
            if event && !quiet {
                found.push((at, id, record));
            }
        }
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let events = found
        .into_iter()
        .map(|(at, id, record)| Found {
            id: format!("{id}@{}", format_ms(at)),
            occurred_at: format_ms(at),
            record,
        })
        .collect();
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
    Ok(Polled {
        events,
        more: next.walk.is_some(),
        // Printing a struct of strings cannot fail.
        checkpoint: serde_json::to_string(&next).unwrap_or_default(),
    })
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

/// The guest's wall clock (`wasi:clocks/wall-clock`), in ms since 1970.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since 1970 as `2026-11-23T10:00:00.000Z`.
pub fn format_ms(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// An RFC 3339 date-time (`Z` or `±hh:mm`, any fraction, cut to milliseconds)
/// or a date (midnight UTC) as milliseconds since 1970; `None` otherwise.
pub fn parse_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let valid = text.get(4..5) == Some("-") && text.get(7..8) == Some("-");
    if !valid || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day_ms = days_from_civil(y, m, d) * 86_400_000;
    if text.len() == 10 {
        return Some(day_ms);
    }
    let sep = text.get(10..11)?;
    if !sep.eq_ignore_ascii_case("t") || text.get(13..14)? != ":" || text.get(16..17)? != ":" {
        return None;
    }
    let (h, min, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || min > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut milli = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        milli = padded.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.get(3..4) == Some(":") => {
            let sign = match rest.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let (oh, om): (i64, i64) = (rest[1..3].parse().ok()?, rest[4..6].parse().ok()?);
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    Some(day_ms + ((h * 60 + min - offset_min) * 60 + s) * 1000 + milli)
}

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian, exact for
// every i64 day we meet): <https://howardhinnant.github.io/date_algorithms.html>.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests;
