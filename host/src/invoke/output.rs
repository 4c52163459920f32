//! WIT values a guest returned, as JSON: converted under the output cap and
//! inside the call's deadline, with any secret the host holds blanked.
//!
//! Conventions are those of [`super::json`]: record fields in snake_case, an
//! `option` is `null`, enums and flags are strings, a variant is `{"case":
//! payload}` (or `"case"`), a `result` is `{"ok": …}` / `{"err": …}`.
//!
//! The value is consumed as it is converted, so the lifted `Val`s are freed
//! while the JSON grows; the JSON's size is counted as its text would be.

use std::time::Instant;

use serde_json::{Map, Value};
use wasmtime::component::Val;

use crate::redact::SecretScan;

/// How often (in values converted) the deadline is looked at.
const DEADLINE_EVERY: u32 = 4096;

/// Why a conversion stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The JSON would pass the output cap.
    TooLarge,
    /// The call's deadline passed.
    Deadline,
}

/// What one conversion may still spend, and the secrets it blanks.
pub(crate) struct Budget {
    bytes_left: u64,
    deadline: Instant,
    until_check: u32,
    secrets: SecretScan,
}

impl Budget {
    /// At most `max_bytes` of JSON text, done before `deadline`.
    pub(crate) fn new(max_bytes: u64, deadline: Instant) -> Budget {
        Budget {
            bytes_left: max_bytes,
            deadline,
            until_check: DEADLINE_EVERY,
            secrets: SecretScan::now(),
        }
    }

    fn spend(&mut self, bytes: usize) -> Result<(), Stop> {
        self.bytes_left = self
            .bytes_left
            .checked_sub(bytes as u64)
            .ok_or(Stop::TooLarge)?;
        self.until_check -= 1;
        if self.until_check == 0 {
            self.until_check = DEADLINE_EVERY;
            if Instant::now() >= self.deadline {
                return Err(Stop::Deadline);
            }
        }
        Ok(())
    }
}

/// Converts `val` within `budget`.
pub(crate) fn to_json(val: Val, budget: &mut Budget) -> Result<Value, Stop> {
    // Each arm spends about what its JSON text costs: the value itself,
    // with punctuation, quotes and separators.
    Ok(match val {
        Val::Bool(b) => {
            budget.spend(5)?;
            Value::Bool(b)
        }
        Val::S8(n) => number(budget, n)?,
        Val::U8(n) => number(budget, n)?,
        Val::S16(n) => number(budget, n)?,
        Val::U16(n) => number(budget, n)?,
        Val::S32(n) => number(budget, n)?,
        Val::U32(n) => number(budget, n)?,
        Val::S64(n) => number(budget, n)?,
        Val::U64(n) => number(budget, n)?,
        Val::Float32(f) => float(budget, f64::from(f))?,
        Val::Float64(f) => float(budget, f)?,
        Val::Char(c) => string(budget, c.to_string())?,
        Val::String(s) => string(budget, s)?,
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            budget.spend(2)?;
            let mut out = Vec::with_capacity(items.len().min(1024));
            for item in items {
                budget.spend(1)?;
                out.push(to_json(item, budget)?);
            }
            Value::Array(out)
        }
        Val::Record(fields) => {
            budget.spend(2)?;
            let mut out = Map::with_capacity(fields.len());
            for (name, value) in fields {
                let key = json_name(name);
                budget.spend(key.len() + 4)?;
                out.insert(key, to_json(value, budget)?);
            }
            Value::Object(out)
        }
        Val::Variant(case, None) | Val::Enum(case) => string(budget, json_name(case))?,
        Val::Variant(case, Some(v)) => keyed(budget, json_name(case), Some(*v))?,
        Val::Option(v) => match v {
            Some(v) => to_json(*v, budget)?,
            None => null(budget)?,
        },
        Val::Result(Ok(v)) => keyed(budget, "ok".into(), v.map(|v| *v))?,
        Val::Result(Err(v)) => keyed(budget, "err".into(), v.map(|v| *v))?,
        Val::Flags(names) => {
            budget.spend(2)?;
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                out.push(string(budget, json_name(name))?);
            }
            Value::Array(out)
        }
        Val::Map(pairs) => {
            budget.spend(2)?;
            let mut out = Vec::with_capacity(pairs.len().min(1024));
            for (k, v) in pairs {
                budget.spend(4)?;
                out.push(Value::Array(vec![to_json(k, budget)?, to_json(v, budget)?]));
            }
            Value::Array(out)
        }
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => null(budget)?,
    })
}

/// A WIT name as JSON spells it (`first-name` → `first_name`), reusing the
/// string the value was lifted with.
fn json_name(wit: String) -> String {
    let mut bytes = wit.into_bytes();
    for b in &mut bytes {
        if *b == b'-' {
            *b = b'_';
        }
    }
    // One ASCII byte for another keeps UTF-8 valid; the fallback never runs.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn number<N: Into<Value> + Into<i128> + Copy>(budget: &mut Budget, n: N) -> Result<Value, Stop> {
    let wide: i128 = n.into();
    let digits = wide.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 1;
    budget.spend(digits + usize::from(wide < 0))?;
    Ok(n.into())
}

fn float(budget: &mut Budget, f: f64) -> Result<Value, Stop> {
    budget.spend(24)?;
    Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
}

fn null(budget: &mut Budget) -> Result<Value, Stop> {
    budget.spend(4)?;
    Ok(Value::Null)
}

/// A string from the guest; a secret the host holds is never handed on
/// (an API that echoes the credential must not pass it to the caller).
fn string(budget: &mut Budget, s: String) -> Result<Value, Stop> {
    budget.spend(s.len() + 2)?;
    if budget.secrets.finds(&s) {
        tracing::warn!("a value the connector returned held a secret of this host; it was blanked");
        return Ok(Value::String(budget.secrets.removed(&s)));
    }
    Ok(Value::String(s))
}

fn keyed(budget: &mut Budget, key: String, value: Option<Val>) -> Result<Value, Stop> {
    budget.spend(key.len() + 4)?;
    let value = match value {
        Some(v) => to_json(v, budget)?,
        None => null(budget)?,
    };
    Ok(Value::Object(Map::from_iter([(key, value)])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn convert(val: Val, max: u64) -> Result<Value, Stop> {
        to_json(
            val,
            &mut Budget::new(max, Instant::now() + Duration::from_secs(5)),
        )
    }

    #[test]
    fn values_convert_by_the_json_conventions() {
        let val = Val::Record(vec![
            ("first-name".into(), Val::String("Ada".into())),
            ("status".into(), Val::Enum("not-set".into())),
            ("age".into(), Val::Option(None)),
            ("tags".into(), Val::List(vec![Val::U32(7)])),
            ("r".into(), Val::Result(Ok(None))),
            (
                "shape".into(),
                Val::Variant("circle".into(), Some(Box::new(Val::Float64(1.5)))),
            ),
        ]);
        let json = convert(val, 1 << 20).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"first_name": "Ada", "status": "not_set", "age": null,
                "tags": [7], "r": {"ok": null}, "shape": {"circle": 1.5}})
        );
    }

    #[test]
    fn the_cap_counts_about_what_the_text_would_take() {
        let list = |n| Val::List((0..n).map(|_| Val::Result(Ok(None))).collect());
        // `{"ok":null}` is 11 bytes, plus a comma.
        assert!(convert(list(1000), 13_000).is_ok());
        assert_eq!(convert(list(1000), 11_000).unwrap_err(), Stop::TooLarge);
        // `-12345,` is 7 bytes: numbers count their digits and sign.
        let numbers = Val::List((0..1000).map(|_| Val::S32(-12345)).collect());
        assert!(convert(numbers.clone(), 7_002).is_ok());
        assert_eq!(convert(numbers, 6_900).unwrap_err(), Stop::TooLarge);
    }

    #[test]
    fn a_secret_of_the_host_in_a_result_is_blanked() {
        let canary = "canary-output-7d1f93";
        crate::redact::remember(&secrecy::SecretString::from(canary.to_owned()));
        let val = Val::Record(vec![(
            "echoed-header".into(),
            Val::String(format!("Bearer {canary}")),
        )]);
        let json = convert(val, 1 << 20).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"echoed_header": "Bearer [redacted]"})
        );
    }

    #[test]
    fn the_deadline_stops_a_long_conversion() {
        let list = Val::List((0..10_000).map(Val::U32).collect());
        let mut budget = Budget::new(u64::MAX, Instant::now());
        assert_eq!(to_json(list, &mut budget).unwrap_err(), Stop::Deadline);
    }
}
