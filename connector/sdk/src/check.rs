//! The API's bounds, checked before anything is sent.
//!
//! A request the API would refuse still costs one request of the rate limit (for
//! Constant Contact, 4 a second and 10,000 a day), and its 400 is often vaguer
//! than what we know beforehand. So each activity lists the bounds its spec
//! declares, as data, and checks its input against them first:
//!
//! ```
//! use connector_sdk::check::{check, max_len, range};
//! # #[derive(serde::Serialize)] struct Input { name: String, limit: Option<u16> }
//! # let input = Input { name: "VIP".into(), limit: Some(10) };
//! check(&input, &[max_len("name", 255), range("limit", 1, 500)])?;
//! # Ok::<(), connector_sdk::types::ActivityError>(())
//! ```
//!
//! Paths are the input's JSON field names, dotted (`email_address.address`);
//! through a list they apply to every item (`custom_fields.value`). An absent
//! value passes: whether a field is required is the WIT type's business (the host
//! checks it), except for [`any_of`]. A failure is `invalid-input` naming the field
//! and the bound, never the value.

use serde::Serialize;
use serde_json::Value;

use crate::error::invalid_input;
use crate::json;
use crate::types::{ActivityError, Constraint, ValueSource};

/// One bound from the API's spec.
#[derive(Clone, Copy, Debug)]
pub enum Bound {
    /// Between this many characters (`minLength`, `maxLength`).
    Len(&'static str, usize, usize),
    /// Between this many items (`minItems`, `maxItems`).
    Items(&'static str, usize, usize),
    /// An integer between these (`minimum`, `maximum`).
    Range(&'static str, i64, i64),
    /// An RFC 3339 / ISO-8601 date-time such as `2024-05-17T16:37:59Z` (`format: date-time`).
    DateTime(&'static str),
    /// An email address: something, `@`, something with a dot (`format: email`).
    Email(&'static str),
    /// At least one of these fields is given.
    AnyOf(&'static [&'static str]),
    /// Valid values are listed by another activity (for pickers; not
    /// checked): (path, activity, the result's key of the items, each item's
    /// key of the value, of the label).
    Source(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
}

/// Values of `path` are listed by `activity`: its result holds them under
/// `items`, each item's `value` the value and `label` its name.
pub const fn listed_by(
    path: &'static str,
    activity: &'static str,
    items: &'static str,
    value: &'static str,
    label: &'static str,
) -> Bound {
    Bound::Source(path, activity, items, value, label)
}

impl Bound {
    /// The `constraint` record `describe` states, if this bound is one
    /// (`AnyOf` spans fields, so it is the activity's to check alone).
    pub fn constraint(&self) -> Option<Constraint> {
        let at = |path: &str| Constraint {
            path: path.into(),
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            min_items: None,
            max_items: None,
            format: None,
            source: None,
        };
        let count = |n: usize| u32::try_from(n).ok();
        Some(match *self {
            Bound::Len(p, min, max) => Constraint {
                min_length: count(min).filter(|m| *m > 0),
                max_length: count(max),
                ..at(p)
            },
            Bound::Items(p, min, max) => Constraint {
                min_items: count(min).filter(|m| *m > 0),
                max_items: count(max),
                ..at(p)
            },
            #[allow(clippy::cast_precision_loss)] // API bounds are far below 2^53
            Bound::Range(p, min, max) => Constraint {
                minimum: Some(min as f64),
                maximum: Some(max as f64),
                ..at(p)
            },
            Bound::DateTime(p) => Constraint {
                format: Some("date-time".into()),
                ..at(p)
            },
            Bound::Email(p) => Constraint {
                format: Some("email".into()),
                ..at(p)
            },
            Bound::Source(p, activity, items, value, label) => Constraint {
                source: Some(ValueSource {
                    activity: activity.into(),
                    items: items.into(),
                    value: value.into(),
                    label: label.into(),
                }),
                ..at(p)
            },
            Bound::AnyOf(_) => return None,
        })
    }
}

/// `maxLength`.
pub const fn max_len(path: &'static str, max: usize) -> Bound {
    Bound::Len(path, 0, max)
}

/// `minLength` and `maxLength`, e.g. a name that must not be empty.
pub const fn len(path: &'static str, min: usize, max: usize) -> Bound {
    Bound::Len(path, min, max)
}

/// `minItems` and `maxItems`.
pub const fn items(path: &'static str, min: usize, max: usize) -> Bound {
    Bound::Items(path, min, max)
}

/// `minimum` and `maximum` of an integer.
pub const fn range(path: &'static str, min: i64, max: i64) -> Bound {
    Bound::Range(path, min, max)
}

/// `format: date-time`.
pub const fn date_time(path: &'static str) -> Bound {
    Bound::DateTime(path)
}

/// `format: email` (a plausible address; the API has the last word).
pub const fn email(path: &'static str) -> Bound {
    Bound::Email(path)
}

/// At least one of `paths` is given (e.g. an email address or a name).
pub const fn any_of(paths: &'static [&'static str]) -> Bound {
    Bound::AnyOf(paths)
}

/// Checks `input` (serialized as it would be sent) against `bounds`.
///
/// # Errors
///
/// `invalid-input` naming the first field out of bounds, and the bound.
pub fn check<T: Serialize + ?Sized>(input: &T, bounds: &[Bound]) -> Result<(), ActivityError> {
    let value = json::to_value(input)?;
    check_value(&value, bounds)
}

/// As [`check`], on JSON already at hand.
///
/// # Errors
///
/// As [`check`].
pub fn check_value(value: &Value, bounds: &[Bound]) -> Result<(), ActivityError> {
    bounds.iter().try_for_each(|bound| check_one(value, bound))
}

fn check_one(value: &Value, bound: &Bound) -> Result<(), ActivityError> {
    let path = match *bound {
        Bound::AnyOf(paths) if paths.iter().all(|p| values(value, p).is_empty()) => {
            let fields = paths.join("`, `");
            return Err(invalid_input(format!("give at least one of `{fields}`")));
        }
        Bound::AnyOf(_) => return Ok(()),
        Bound::Items(p, ..) => p,
        Bound::Len(p, ..) | Bound::Range(p, ..) | Bound::DateTime(p) | Bound::Email(p) => p,
        Bound::Source(..) => return Ok(()),
    };
    for (at, found) in values(value, path) {
        // A bound on one value applies to each item of a list of them.
        let items = match (bound, found) {
            (Bound::Items(..), _) | (_, Value::Object(_)) => vec![(at, found)],
            (_, Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{at}[{i}]"), v))
                .collect(),
            _ => vec![(at, found)],
        };
        for (at, found) in items {
            if let Some(problem) = problem(bound, found) {
                return Err(invalid_input(format!("`{at}` {problem}")));
            }
        }
    }
    Ok(())
}

/// What is wrong with `value` for `bound`, if anything.
fn problem(bound: &Bound, value: &Value) -> Option<String> {
    match (*bound, value) {
        (Bound::Len(_, _, max), Value::String(s)) if s.chars().count() > max => {
            Some(format!("is longer than {max} characters"))
        }
        (Bound::Len(_, min, _), Value::String(s)) if s.trim().chars().count() < min => {
            Some(format!("is shorter than {min} character{}", if min == 1 { "" } else { "s" }))
        }
        (Bound::Items(_, min, max), Value::Array(a)) if a.len() < min || a.len() > max => {
            Some(match (min, max) {
                (0, max) => format!("has {} items; at most {max} are allowed", a.len()),
                (min, max) => format!("has {} items; {min} to {max} are allowed", a.len()),
            })
        }
        (Bound::Range(_, min, max), Value::Number(n)) => n
            .as_i64()
            .filter(|n| (min..=max).contains(n))
            .is_none()
            .then(|| format!("must be from {min} to {max}")),
        (Bound::Email(_), Value::String(s)) if !is_email(s) => {
            Some("is not an email address".into())
        }
        (Bound::DateTime(_), Value::String(s)) if !is_date_time(s) => Some(
            "is not an ISO-8601 date-time such as 2024-05-17T16:37:59Z or 2024-05-17T16:37:59.000-05:00"
                .into(),
        ),
        _ => None,
    }
}

/// The values at `path` with their full paths (`custom_fields[1].value`); `null`s skipped.
fn values<'v>(value: &'v Value, path: &str) -> Vec<(String, &'v Value)> {
    let mut found = Vec::new();
    collect(value, path, String::new(), &mut found);
    found
}

fn collect<'v>(value: &'v Value, path: &str, at: String, found: &mut Vec<(String, &'v Value)>) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let Some(inner) = value.get(head).filter(|v| !v.is_null()) else {
        return;
    };
    let at = if at.is_empty() {
        head.to_owned()
    } else {
        format!("{at}.{head}")
    };
    match (rest, inner) {
        (None, _) => found.push((at, inner)),
        (Some(rest), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, rest, format!("{at}[{i}]"), found);
            }
        }
        (Some(rest), _) => collect(inner, rest, at, found),
    }
}

/// `local@domain.tld`, without spaces.
fn is_email(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.split('.').count() >= 2
                && domain.split('.').all(|part| !part.is_empty())
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM` (RFC 3339).
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    let number = |s: &str, max: u32| s.len() == 2 && s.parse::<u32>().is_ok_and(|n| n <= max);
    let in_range = number(&s[5..7], 12)
        && number(&s[8..10], 31)
        && number(&s[11..13], 23)
        && number(&s[14..16], 59)
        && number(&s[17..19], 60);
    in_range
        && rest.is_ascii()
        && match rest.as_bytes() {
            [b'Z' | b'z'] => true,
            [b'+' | b'-', _, _, b':', _, _] => number(&rest[1..3], 23) && number(&rest[4..6], 59),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(result: Result<(), ActivityError>) -> String {
        match result {
            Err(ActivityError::InvalidInput(e)) => e.message,
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }

    #[test]
    fn each_bound_names_the_field_and_the_limit() {
        let input = json!({
            "name": "x".repeat(81), "limit": 501, "lists": ["a", "b", "c"],
            "updated_after": "yesterday",
            "custom_fields": [{"value": "ok"}, {"value": "y".repeat(256)}]
        });
        let cases = [
            (max_len("name", 80), "`name` is longer than 80 characters"),
            (range("limit", 1, 500), "`limit` must be from 1 to 500"),
            (
                items("lists", 0, 2),
                "`lists` has 3 items; at most 2 are allowed",
            ),
            (
                items("lists", 4, 9),
                "`lists` has 3 items; 4 to 9 are allowed",
            ),
            (
                date_time("updated_after"),
                "`updated_after` is not an ISO-8601 date-time",
            ),
            (
                max_len("custom_fields.value", 255),
                "`custom_fields[1].value` is longer than 255",
            ),
            (
                any_of(&["email", "first_name"]),
                "give at least one of `email`, `first_name`",
            ),
            (email("name"), "`name` is not an email address"),
            (len("name", 82, 90), "`name` is shorter than 82 characters"),
            (
                max_len("lists", 0),
                "`lists[0]` is longer than 0 characters",
            ),
        ];
        for (bound, expected) in cases {
            let got = message(check_value(&input, &[bound]));
            assert!(
                got.starts_with(expected),
                "{got:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn values_within_bounds_and_absent_values_pass() {
        let input = json!({"name": "é".repeat(80), "limit": 500, "lists": [], "when": null});
        let bounds = [
            max_len("name", 80),
            range("limit", 1, 500),
            items("lists", 0, 25),
            date_time("when"),
            max_len("absent.deeper", 1),
            len("name", 1, 80),
            any_of(&["name"]),
        ];
        assert!(check_value(&input, &bounds).is_ok());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for good in ["a@example.com", "first.last+tag@mail.example.co.uk"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@example.com",
            "a@example",
            "a@example.",
            "a b@example.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn date_times_follow_rfc_3339() {
        for good in [
            "2024-05-17T16:37:59Z",
            "2024-05-17T16:37:59.091Z",
            "2016-03-03T10:53:04-05:00",
            "2030-01-15t09:00:00+01:00",
        ] {
            assert!(is_date_time(good), "{good}");
        }
        for bad in [
            "2024-05-17",
            "2024-05-17T16:37:59",
            "2024-13-17T16:37:59Z",
            "2024-05-17 16:37:59Z",
            "2024-05-17T16:37:59.Z",
            "2024-05-17T16:37:59+5:00",
            "yesterday",
            "2024-05-17T16:37:59Zjunk",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }
}
