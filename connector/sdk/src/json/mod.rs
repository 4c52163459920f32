//! The API's JSON ⇄ the WIT-generated Rust types, with no mirror structs.
//!
//! A connector asks wit-bindgen to derive `serde::Serialize` and `Deserialize` on
//! its generated records (`additional_derives`). Their field names are the WIT
//! names in snake_case, which is how most JSON APIs spell them. What derive alone
//! gets wrong, these two converters get right, for every type at once:
//!
//! | WIT / Rust | derive alone | here |
//! |---|---|---|
//! | `option<T>` that is `none` | `"field": null` | left out |
//! | `%type` (Rust `type_`) | `"type_"` | `"type"` |
//! | enum case `not-set` (Rust `NotSet`) | `"NotSet"` | `"not_set"` (sent); any spelling read |
//! | `list<T>` absent or `null` in an answer | error | empty list |
//!
//! Both go through [`serde_json::Value`], so the JSON parser and printer are
//! compiled once for all types rather than once per type: that keeps the
//! component small. Unknown fields in answers are ignored (APIs add fields).
//!
//! Because every field of a record is offered to serde, present or not, serde's
//! `#[serde(default)]` and `alias` are not needed and not seen; `rename` works.

mod de;
mod ser;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Error, Value};

use crate::error::invalid_input;
use crate::types::ActivityError;

/// Serializes a WIT value (or any `Serialize`) to the API's JSON: `none` fields
/// left out, enum cases in snake_case, `type_` as `type`.
///
/// # Errors
///
/// `invalid-input` only for map keys that are not strings (WIT has no maps).
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ActivityError> {
    value
        .serialize(ser::Ser)
        .map_err(|e| invalid_input(format!("cannot encode the request: {e}")))
}

/// Reads a WIT value (or any `Deserialize`) from the API's JSON: absent or `null`
/// lists are empty, enum cases match in any spelling (`NOT_SET`, `not-set`), JSON
/// `type` fills `type_`; unknown fields are ignored.
///
/// # Errors
///
/// A required field that is absent, or a value of the wrong type.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(de::De {
        value: Some(value),
        field: "value",
    })
}

/// The snake_case name of a WIT enum case (`NotSet` → `not_set`), as sent in JSON.
pub fn case_name<T: Serialize>(case: &T) -> String {
    match to_value(case) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Lays `changes`' fields over `base` (both objects): fields in `changes` win,
/// fields only in `base` stay. Not recursive: a nested object is replaced whole.
pub fn merge(base: &mut Value, changes: Value) {
    if let (Value::Object(base), Value::Object(changes)) = (base, changes) {
        base.extend(changes);
    }
}

/// The fields of `value` named in `keys` (those present and not `null`), as a new
/// object: what a read-modify-write keeps of what it read, when the API's PUT
/// takes only a few of the fields its GET returns.
pub fn pick(value: &Value, keys: &[&str]) -> Value {
    let mut picked = serde_json::Map::new();
    for key in keys {
        if let Some(found) = value.get(*key).filter(|v| !v.is_null()) {
            picked.insert((*key).to_owned(), found.clone());
        }
    }
    Value::Object(picked)
}

/// Sets `key` on the object `value` when it is absent or `null`: a default for
/// what an API sometimes leaves out.
pub fn fill(value: &mut Value, key: &str, default: impl Into<Value>) {
    if let Value::Object(map) = value {
        if map.get(key).is_none_or(Value::is_null) {
            map.insert(key.to_owned(), default.into());
        }
    }
}

/// Removes the fields at `paths` (`"campaign_id"`, `"physical_address_in_footer.state_name"`),
/// looking into every item of the lists on the way: what a read-modify-write does
/// with the read-only fields of what it read.
pub fn remove(value: &mut Value, paths: &[&str]) {
    for path in paths {
        remove_path(value, path);
    }
}

fn remove_path(value: &mut Value, path: &str) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| remove_path(item, path)),
        Value::Object(map) => match path.split_once('.') {
            None if map.contains_key(path) => {
                // Rebuilt rather than `Map::remove`d: the B-tree's removal and
                // rebalancing code is a few kilobytes the component need not carry.
                for (key, value) in std::mem::take(map) {
                    if key != path {
                        map.insert(key, value);
                    }
                }
            }
            None => {}
            Some((head, rest)) => {
                if let Some(inner) = map.get_mut(head) {
                    remove_path(inner, rest);
                }
            }
        },
        _ => {}
    }
}

/// A Rust field name as JSON spells it: wit-bindgen writes WIT keywords with a
/// trailing underscore (`%type` → `type_`).
fn json_key(field: &'static str) -> &'static str {
    field.strip_suffix('_').unwrap_or(field)
}

/// `NotSet` → `not_set`, `ReplyTo` → `reply_to`, `Account` → `account`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Whether two case names are the same but for case, `_` and `-`.
fn same_case(a: &str, b: &str) -> bool {
    let letters = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    letters(a) == letters(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    // Shaped like wit-bindgen's output: keyword fields end in `_`, cases are CamelCase.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Permission {
        Implicit,
        NotSet,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Filter {
        RoleCode(Permission),
        EmailAddress(String),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        address: String,
        count: Option<u8>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Record {
        name: String,
        type_: Option<String>,
        permission: Option<Permission>,
        tags: Vec<String>,
        inner: Option<Inner>,
        filter: Option<Filter>,
        pair: Option<(String, u32)>,
    }

    fn record() -> Record {
        Record {
            name: "n".into(),
            type_: Some("string".into()),
            permission: Some(Permission::NotSet),
            tags: vec!["a".into()],
            inner: Some(Inner {
                address: "x@example.com".into(),
                count: None,
            }),
            filter: Some(Filter::RoleCode(Permission::Implicit)),
            pair: Some(("p".into(), 2)),
        }
    }

    #[test]
    fn none_is_left_out_keywords_lose_their_underscore_and_cases_are_snake_case() {
        let value = to_value(&record()).unwrap();
        assert_eq!(
            value,
            json!({"name": "n", "type": "string", "permission": "not_set", "tags": ["a"],
                   "inner": {"address": "x@example.com"}, "filter": {"role_code": "implicit"},
                   "pair": ["p", 2]})
        );
        assert_eq!(from_value::<Record>(value).unwrap(), record());
    }

    #[test]
    fn absent_lists_are_empty_and_unknown_fields_are_ignored() {
        let read: Record =
            from_value(json!({"name": "n", "tags": null, "added_later": 1})).unwrap();
        assert_eq!(read.tags, Vec::<String>::new());
        assert_eq!((read.type_, read.inner), (None, None));
        let read: Record = from_value(json!({"name": "n"})).unwrap();
        assert!(read.tags.is_empty());
    }

    #[test]
    fn enum_cases_are_read_in_any_spelling() {
        for spelling in ["not_set", "NOT_SET", "not-set", "NotSet"] {
            let read: Record = from_value(json!({"name": "n", "permission": spelling})).unwrap();
            assert_eq!(read.permission, Some(Permission::NotSet), "{spelling}");
        }
        let error = from_value::<Record>(json!({"name": "n", "permission": "maybe"})).unwrap_err();
        assert!(
            error.to_string().contains("unknown variant `maybe`"),
            "{error}"
        );
    }

    #[test]
    fn missing_required_fields_and_wrong_types_are_errors() {
        let error = from_value::<Record>(json!({"tags": []})).unwrap_err();
        assert!(
            error.to_string().contains("missing field `name`"),
            "{error}"
        );
        let error = from_value::<Record>(json!({"name": 5})).unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
        let error = from_value::<Inner>(json!({"address": "a", "count": 300})).unwrap_err();
        assert!(error.to_string().contains("300"), "{error}");
    }

    #[test]
    fn case_names_merge_fill_and_remove() {
        assert_eq!(case_name(&Permission::NotSet), "not_set");
        let mut base = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [{"x": 1, "y": 2}]});
        merge(&mut base, json!({"a": 5, "e": 6}));
        fill(&mut base, "e", 7);
        fill(&mut base, "f", 8);
        assert_eq!(pick(&base, &["a", "e", "nothing"]), json!({"a": 5, "e": 6}));
        remove(&mut base, &["b.c", "l.x", "missing.path"]);
        assert_eq!(
            base,
            json!({"a": 5, "b": {"d": 3}, "e": 6, "f": 8, "l": [{"y": 2}]})
        );
    }
}
