//! Time as the V3 API writes and reads it.
//!
//! Responses carry ISO-8601 UTC timestamps with milliseconds (`2026-11-23T10:00:00.000Z`,
//! reference §2.5); `deleted_at` on contacts is a bare date. Query filters
//! (`updated_after`, `before_date`) and `scheduled_date` accept a date-time or a date.
//! Stored times are cut to milliseconds so a value a client read back compares equal
//! to the stored one when it is used as a filter.
//!
//! The sandbox clock is the wall clock plus an offset that only grows: `POST
//! /__sandbox/clock {"advance_seconds": n}` moves it forward, so a test can pass a
//! campaign's `scheduled_date` (and have its sends recorded) without sleeping.
//! `{"freeze": true}` stops it at the current millisecond (advancing still moves it)
//! and `{"freeze": false}` lets it run on from the wall clock, so a test can make
//! several changes share one millisecond, as they can on the real API.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use serde::Serializer;

/// A point in time, always UTC.
pub type Timestamp = DateTime<Utc>;

// The binary has one sandbox per process, so one offset for the process. Unit tests run
// many sandboxes at once, each on its own current-thread runtime: a per-thread offset
// keeps one test's clock from moving another's.
#[cfg(not(test))]
static OFFSET_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
#[cfg(test)]
thread_local! {
    static OFFSET_MS: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

// The wall-clock millisecond the clock is frozen at; `i64::MIN` while it runs.
#[cfg(not(test))]
static FROZEN_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MIN);
#[cfg(test)]
thread_local! {
    static FROZEN_MS: std::cell::Cell<i64> = const { std::cell::Cell::new(i64::MIN) };
}

#[cfg(not(test))]
fn frozen_ms() -> i64 {
    FROZEN_MS.load(std::sync::atomic::Ordering::SeqCst)
}
#[cfg(test)]
fn frozen_ms() -> i64 {
    FROZEN_MS.with(std::cell::Cell::get)
}

/// Stops the clock at the current millisecond (`true`) or lets it run on (`false`).
/// Running on jumps to the wall clock, which is later: stored times stay in order.
pub fn freeze(frozen: bool) {
    let value = if frozen {
        Utc::now().timestamp_millis()
    } else {
        i64::MIN
    };
    #[cfg(not(test))]
    FROZEN_MS.store(value, std::sync::atomic::Ordering::SeqCst);
    #[cfg(test)]
    FROZEN_MS.with(|f| f.set(value));
}

/// Whether the clock is frozen.
pub fn is_frozen() -> bool {
    frozen_ms() != i64::MIN
}

#[cfg(not(test))]
fn offset_ms() -> i64 {
    OFFSET_MS.load(std::sync::atomic::Ordering::SeqCst)
}
#[cfg(test)]
fn offset_ms() -> i64 {
    OFFSET_MS.with(std::cell::Cell::get)
}

/// The current sandbox time, cut to milliseconds.
pub fn now() -> Timestamp {
    let wall = match frozen_ms() {
        i64::MIN => Utc::now(),
        // A value `freeze` took from `Utc::now()`, so always in range.
        ms => DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now),
    };
    (wall + Duration::milliseconds(offset_ms())).trunc_subsecs(3)
}

/// Moves the sandbox clock forward by `seconds` (never back: stored times stay in
/// order); returns how far ahead of the wall clock it now is, in seconds.
pub fn advance(seconds: u32) -> i64 {
    let delta = i64::from(seconds) * 1000;
    #[cfg(not(test))]
    let total = OFFSET_MS.fetch_add(delta, std::sync::atomic::Ordering::SeqCst) + delta;
    #[cfg(test)]
    let total = OFFSET_MS.with(|o| {
        o.set(o.get() + delta);
        o.get()
    });
    total / 1000
}

/// How far ahead of the wall clock the sandbox clock is, in seconds.
pub fn offset_seconds() -> i64 {
    offset_ms() / 1000
}

/// `2026-11-23T10:00:00.000Z`.
pub fn format(at: &Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2026-11-23`, the form of a contact's `deleted_at`.
pub fn format_date(at: &Timestamp) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Serde `serialize_with` for a [`Timestamp`].
pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(at))
}

/// Serde `serialize_with` for an optional [`Timestamp`] (pair it with `skip_serializing_if`).
pub fn serialize_opt<S: Serializer>(
    at: &Option<Timestamp>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// Parses an ISO-8601 date-time (with or without offset, taken as UTC without) or a date
/// (midnight UTC). `None` when the text is neither.
pub fn parse(text: &str) -> Option<Timestamp> {
    // A `+01:00` offset sent unencoded in a query string arrives as ` 01:00`.
    let text = &text.trim().replace(' ', "+");
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(at.and_utc());
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        let at = parse("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(format(&at), "2026-11-23T10:00:00.000Z");
        assert_eq!(format_date(&at), "2026-11-23");
    }

    #[test]
    fn parses_offsets_naive_times_and_dates() {
        let offset = parse("2016-03-03T10:53:04-05:00").unwrap();
        assert_eq!(format(&offset), "2016-03-03T15:53:04.000Z");
        assert_eq!(
            parse("2016-03-03T10:53:04 01:00"),
            parse("2016-03-03T09:53:04Z")
        );
        assert_eq!(
            format(&parse("2016-03-03T10:53:04.5").unwrap()),
            "2016-03-03T10:53:04.500Z"
        );
        assert_eq!(
            format(&parse("2016-03-03").unwrap()),
            "2016-03-03T00:00:00.000Z"
        );
        assert!(parse("yesterday").is_none());
    }

    #[test]
    fn a_frozen_clock_stays_on_one_millisecond_until_advanced_or_let_go() {
        freeze(true);
        let first = now();
        std::thread::sleep(std::time::Duration::from_millis(3));
        assert_eq!(now(), first);
        advance(1);
        assert_eq!(now(), first + Duration::seconds(1));
        freeze(false);
        assert!(!is_frozen() && now() > first);
    }
}
