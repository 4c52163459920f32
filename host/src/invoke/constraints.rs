//! The API's bounds a connector states in `describe` (`constraint`, sdk
//! 0.3.0): added to the activity's input JSON Schema, so forms, agents and
//! MCP clients learn them before calling, and checked before the guest runs,
//! so a value out of bounds costs no request and no instance.
//!
//! A path is JSON field names joined by `.`; it goes through lists on its
//! way, and a bound on single values that meets a list applies to each item
//! (as the SDK's `check` does). A path that names no input field stops the
//! connector at load: a typo would otherwise bound nothing.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use wasmtime::component::Type;

use super::json::{json_name, InputError};

/// `constraint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// Where in the input.
    pub path: String,
    /// Smallest number.
    pub minimum: Option<f64>,
    /// Largest number.
    pub maximum: Option<f64>,
    /// Fewest characters of a string.
    pub min_length: Option<u32>,
    /// Most characters of a string.
    pub max_length: Option<u32>,
    /// Fewest items of a list.
    pub min_items: Option<u32>,
    /// Most items of a list.
    pub max_items: Option<u32>,
    /// `date-time`, `date`, `email` or `uuid`.
    pub format: Option<String>,
    /// The list activity valid values come from.
    pub source: Option<ValueSource>,
}

/// `value-source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSource {
    /// A list activity of the same connector.
    pub activity: String,
    /// The key of its result that holds the records.
    pub items: String,
    /// Each record's key of the value.
    pub value: String,
    /// Each record's key of a name for people.
    pub label: String,
}

/// The formats a constraint may name.
const FORMATS: [&str; 4] = ["date-time", "date", "email", "uuid"];

/// Adds `constraints` to `schema` (an input schema).
///
/// # Errors
///
/// A sentence naming the first constraint whose path names no field of the
/// input, or whose format is unknown.
pub fn apply(schema: &mut Value, constraints: &[Constraint]) -> Result<(), String> {
    for (index, constraint) in constraints.iter().enumerate() {
        known_format(index, constraint)?;
        let place = find(schema, &constraint.path).ok_or_else(|| no_field(index, constraint))?;
        annotate(place, constraint);
    }
    Ok(())
}

/// What [`apply`] refuses, found by walking the WIT types of an activity's
/// parameters instead of building its schema (a tenth of the work): the
/// load-time check of every constraint.
///
/// # Errors
///
/// [`apply`]'s sentence for the first constraint it would refuse.
pub fn check_paths(params: &[(String, Type)], constraints: &[Constraint]) -> Result<(), String> {
    for (index, constraint) in constraints.iter().enumerate() {
        known_format(index, constraint)?;
        if !names_a_field(params, &constraint.path) {
            return Err(no_field(index, constraint));
        }
    }
    Ok(())
}

/// Refuses a format the host does not know.
fn known_format(index: usize, constraint: &Constraint) -> Result<(), String> {
    match &constraint.format {
        Some(format) if !FORMATS.contains(&format.as_str()) => Err(format!(
            "constraints[{index}] names format {format:?}; the host knows {}",
            FORMATS.join(", ")
        )),
        _ => Ok(()),
    }
}

fn no_field(index: usize, constraint: &Constraint) -> String {
    format!(
        "constraints[{index}].path {:?} names no field of the input",
        constraint.path
    )
}

/// Whether `path` names a field of the input, as [`find`] reads the
/// schema: a single parameter is the input itself, several are its fields.
fn names_a_field(params: &[(String, Type)], path: &str) -> bool {
    let mut keys = path.split('.');
    let first = keys.next().unwrap_or_default();
    let mut here = match params {
        [(_, ty)] => field(ty.clone(), first),
        _ => params
            .iter()
            .find(|(name, _)| json_name(name) == first)
            .map(|(_, ty)| ty.clone()),
    };
    for key in keys {
        here = here.and_then(|ty| field(ty, key));
    }
    here.is_some()
}

/// The type of `key` in `ty`, through lists and options: a record's field,
/// or the payload of a variant's (or result's) case of that name.
fn field(ty: Type, key: &str) -> Option<Type> {
    match inside(ty) {
        Type::Record(record) => record
            .fields()
            .find(|f| json_name(f.name) == key)
            .map(|f| f.ty),
        Type::Variant(variant) => variant
            .cases()
            .find(|c| json_name(c.name) == key)
            .and_then(|c| c.ty),
        Type::Result(result) => match key {
            "ok" => result.ok(),
            "err" => result.err(),
            _ => None,
        },
        _ => None,
    }
}

/// What a list or option holds, all the way down ([`through`]).
fn inside(ty: Type) -> Type {
    match ty {
        Type::Option(option) => inside(option.ty()),
        Type::List(list) => inside(list.ty()),
        Type::FixedLengthList(list) => inside(list.ty()),
        ty => ty,
    }
}

/// The schema of the values at `path` (a list's at the end), through
/// objects' properties, lists' items, optional values and variants' cases
/// (`source.contact_ids` is the `contact-ids` case of variant `source`).
fn find<'s>(schema: &'s mut Value, path: &str) -> Option<&'s mut Value> {
    let mut here = schema;
    for key in path.split('.') {
        here = property(through(here)?, key)?;
    }
    Some(here)
}

/// `key` among an object's properties, or among those of its cases.
fn property<'s>(schema: &'s mut Value, key: &str) -> Option<&'s mut Value> {
    if schema
        .get("properties")
        .is_some_and(|p| p.get(key).is_some())
    {
        return schema.get_mut("properties")?.get_mut(key);
    }
    schema
        .get_mut("oneOf")?
        .as_array_mut()?
        .iter_mut()
        .find(|case| case.get("properties").is_some_and(|p| p.get(key).is_some()))?
        .get_mut("properties")?
        .get_mut(key)
}

/// The object schema under lists and optionals, to step into.
fn through(schema: &mut Value) -> Option<&mut Value> {
    if schema.get("anyOf").is_some() {
        let first = schema.get_mut("anyOf")?.get_mut(0)?;
        return through(first);
    }
    if schema.get("type") == Some(&json!("array")) {
        return through(schema.get_mut("items")?);
    }
    Some(schema)
}

/// Writes the bounds where they belong: list bounds on the list, the rest
/// on the single values (a list's items, an optional's value).
fn annotate(schema: &mut Value, c: &Constraint) {
    let mut list = Map::new();
    list.extend(c.min_items.map(|n| ("minItems".to_owned(), json!(n))));
    list.extend(c.max_items.map(|n| ("maxItems".to_owned(), json!(n))));
    let mut single = Map::new();
    single.extend(c.minimum.map(|n| ("minimum".to_owned(), json!(n))));
    single.extend(c.maximum.map(|n| ("maximum".to_owned(), json!(n))));
    single.extend(c.min_length.map(|n| ("minLength".to_owned(), json!(n))));
    single.extend(c.max_length.map(|n| ("maxLength".to_owned(), json!(n))));
    single.extend(c.format.as_ref().map(|f| ("format".to_owned(), json!(f))));
    single.extend(c.source.as_ref().map(|s| ("x-source".to_owned(), json!(s))));
    let value = unwrap_optional(schema);
    if value.get("type") == Some(&json!("array")) {
        merge(value, list);
        if let Some(items) = value.get_mut("items") {
            merge(unwrap_optional(items), single);
        }
    } else {
        merge(value, single);
    }
}

fn unwrap_optional(schema: &mut Value) -> &mut Value {
    if schema.get("anyOf").is_some() {
        return unwrap_optional(&mut schema["anyOf"][0]);
    }
    schema
}

fn merge(schema: &mut Value, entries: Map<String, Value>) {
    if let Some(object) = schema.as_object_mut() {
        object.extend(entries);
    }
}

/// An optional property as its plain type (`{"type": "integer"}`, not
/// `anyOf [integer, null]`): MCP clients and forms fill only plain types.
/// The host still takes `null` for it.
pub fn plain_optionals(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            let required: Vec<Value> = object
                .get("required")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Object(properties)) = object.get_mut("properties") {
                for (name, property) in properties.iter_mut() {
                    if !required.contains(&json!(name)) {
                        unnull(property);
                    }
                }
            }
            object.values_mut().for_each(plain_optionals);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_optionals),
        _ => {}
    }
}

/// `anyOf [T, {type: null}]` → `T`.
fn unnull(schema: &mut Value) {
    let Some([first, second]) = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    else {
        return;
    };
    if second == &json!({"type": "null"}) {
        *schema = first.clone();
    }
}

/// Checks `input` against `constraints`.
///
/// # Errors
///
/// The first value out of bounds: its path (`input.limit`,
/// `input.lists[3]`) and the bound, never the value.
pub fn check(input: &Value, constraints: &[Constraint]) -> Result<(), InputError> {
    for constraint in constraints {
        let mut found = Vec::new();
        collect(input, &constraint.path, "input".to_owned(), &mut found);
        for (at, value) in found {
            if let Some(problem) = problem(constraint, &value_or_items(&at, value)) {
                return Err(InputError {
                    path: problem.0,
                    problem: problem.1,
                });
            }
        }
    }
    Ok(())
}

/// The value itself, and for a list each item with its place.
fn value_or_items<'v>(at: &str, value: &'v Value) -> Vec<(String, &'v Value)> {
    let mut all = vec![(at.to_owned(), value)];
    if let Value::Array(items) = value {
        all.extend(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{at}[{i}]"), v)),
        );
    }
    all
}

fn collect<'v>(value: &'v Value, path: &str, at: String, found: &mut Vec<(String, &'v Value)>) {
    if let Value::Array(items) = value {
        for (i, item) in items.iter().enumerate() {
            collect(item, path, format!("{at}[{i}]"), found);
        }
        return;
    }
    let (head, rest) = path
        .split_once('.')
        .map_or((path, None), |(h, r)| (h, Some(r)));
    let Some(inner) = value.get(head).filter(|v| !v.is_null()) else {
        return;
    };
    let at = format!("{at}.{head}");
    match rest {
        None => found.push((at, inner)),
        Some(rest) => collect(inner, rest, at, found),
    }
}

/// The first bound `places` break: (where, what).
fn problem(c: &Constraint, places: &[(String, &Value)]) -> Option<(String, String)> {
    let (at, whole) = &places[0];
    if let Value::Array(items) = whole {
        let n = u32::try_from(items.len()).unwrap_or(u32::MAX);
        if let Some(min) = c.min_items.filter(|m| n < *m) {
            return Some((at.clone(), format!("at least {min} items (minItems)")));
        }
        if let Some(max) = c.max_items.filter(|m| n > *m) {
            return Some((at.clone(), format!("at most {max} items (maxItems)")));
        }
        return places[1..]
            .iter()
            .find_map(|(at, v)| single(c, v).map(|p| (at.clone(), p)));
    }
    single(c, whole).map(|p| (at.clone(), p))
}

/// What is wrong with one value, if anything.
fn single(c: &Constraint, value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => {
            let n = n.as_f64()?;
            if let Some(min) = c.minimum.filter(|m| n < *m) {
                return Some(format!("at least {min} (minimum)"));
            }
            c.maximum
                .filter(|m| n > *m)
                .map(|max| format!("at most {max} (maximum)"))
        }
        Value::String(s) => {
            let n = u32::try_from(s.chars().count()).unwrap_or(u32::MAX);
            if let Some(min) = c.min_length.filter(|m| n < *m) {
                let s = if min == 1 { "" } else { "s" };
                return Some(format!("at least {min} character{s} (minLength)"));
            }
            if let Some(max) = c.max_length.filter(|m| n > *m) {
                return Some(format!("at most {max} characters (maxLength)"));
            }
            c.format
                .as_deref()
                .filter(|f| !in_format(f, s))
                .map(|f| format!("not a valid {f} (format)"))
        }
        _ => None,
    }
}

fn in_format(format: &str, text: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "email" => text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !text.contains(char::is_whitespace)
        }),
        "uuid" => {
            text.len() == 36
                && text.char_indices().all(|(i, c)| match i {
                    8 | 13 | 18 | 23 => c == '-',
                    _ => c.is_ascii_hexdigit(),
                })
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters of a component function taking a record with every
    /// shape a path goes through: option, list, tuple, variant, result.
    fn typed_params() -> Vec<(String, Type)> {
        let wat = r#"(component
            (core module $m
                (memory (export "mem") 1)
                (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
                (func (export "f") (param i32) unreachable))
            (core instance $i (instantiate $m))
            (type $inner' (record (field "name" string) (field "numbers" (list u32))))
            (export $inner "inner" (type $inner'))
            (type $shape' (variant (case "nothing") (case "circle" $inner)))
            (export $shape "shape" (type $shape'))
            (type $input' (record (field "text" string) (field "opt" (option $inner))
                (field "items" (list $inner)) (field "the-shape" $shape)
                (field "pair" (tuple string u32)) (field "res" (result $inner (error string)))))
            (export $input "input" (type $input'))
            (func (export "f") (param "input" $input)
                (canon lift (core func $i "f") (memory (core memory $i "mem"))
                    (realloc (core func $i "realloc")))))"#;
        let engine = wasmtime::Engine::new(&super::super::engine::config_for(
            super::super::Tier::Optimized,
        ))
        .unwrap();
        let component =
            wasmtime::component::Component::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let ty = component.component_type();
        let (_, item) = ty.exports(&engine).find(|(name, _)| *name == "f").unwrap();
        let wasmtime::component::types::ComponentItem::ComponentFunc(func) = item.ty else {
            panic!("f is not a function")
        };
        func.params().map(|(n, t)| (n.to_owned(), t)).collect()
    }

    #[test]
    fn the_type_walk_refuses_exactly_what_the_schema_refuses() {
        let params = typed_params();
        let paths = [
            ("text", true),
            ("opt.name", true),
            ("opt.numbers", true),
            ("items.numbers", true),
            ("the_shape.circle.name", true),
            ("res.ok.name", true),
            ("res.err", true),
            ("pair", true),
            ("the-shape", false),
            ("the_shape.nothing", false),
            ("pair.0", false),
            ("res.ok.missing", false),
            ("text.more", false),
            ("opt..name", false),
            ("", false),
            ("nothing", false),
        ];
        for (path, names) in paths {
            let walked = check_paths(&params, &[bound(path)]);
            let built = apply(
                &mut super::super::schema::of_params(&params),
                &[bound(path)],
            );
            assert_eq!(walked.is_ok(), names, "{path}: {walked:?}");
            assert_eq!(walked, built, "{path}");
        }
    }

    fn bound(path: &str) -> Constraint {
        Constraint {
            path: path.into(),
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            min_items: None,
            max_items: None,
            format: None,
            source: None,
        }
    }

    fn schema() -> Value {
        json!({"type": "object", "required": [], "additionalProperties": false, "properties": {
            "limit": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 65535}, {"type": "null"}]},
            "lists": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
            "people": {"type": "array", "items": {"type": "object", "properties": {"email": {"type": "string"}}}}
        }})
    }

    #[test]
    fn bounds_land_on_the_values_and_list_bounds_on_the_list() {
        let mut s = schema();
        let limit = Constraint {
            minimum: Some(1.0),
            maximum: Some(500.0),
            ..bound("limit")
        };
        let lists = Constraint {
            max_items: Some(25),
            max_length: Some(36),
            ..bound("lists")
        };
        let email = Constraint {
            format: Some("email".into()),
            ..bound("people.email")
        };
        apply(&mut s, &[limit, lists, email]).unwrap();
        plain_optionals(&mut s);
        let p = &s["properties"];
        assert_eq!(
            p["limit"],
            json!({"type": "integer", "minimum": 1.0, "maximum": 500.0})
        );
        assert_eq!(p["lists"]["maxItems"], 25);
        assert_eq!(p["lists"]["items"]["maxLength"], 36);
        assert_eq!(
            p["people"]["items"]["properties"]["email"]["format"],
            "email"
        );
    }

    #[test]
    fn a_path_goes_into_the_case_of_a_variant_that_has_the_key() {
        let mut s = json!({"type": "object", "required": ["source"], "properties": {
            "source": {"oneOf": [
                {"type": "object", "properties": {"contact_ids": {"type": "array", "items": {"type": "string"}}}},
                {"const": "all_active_contacts"}
            ]}
        }});
        let ids = Constraint {
            max_items: Some(500),
            ..bound("source.contact_ids")
        };
        apply(&mut s, &[ids]).unwrap();
        assert_eq!(
            s["properties"]["source"]["oneOf"][0]["properties"]["contact_ids"]["maxItems"],
            500
        );
    }

    #[test]
    fn a_path_to_no_field_or_an_unknown_format_is_refused() {
        let typo = apply(&mut schema(), &[bound("limt")]).unwrap_err();
        assert!(typo.contains("\"limt\" names no field"), "{typo}");
        let format = Constraint {
            format: Some("ipv9".into()),
            ..bound("limit")
        };
        assert!(apply(&mut schema(), &[format])
            .unwrap_err()
            .contains("ipv9"));
    }

    #[test]
    fn values_out_of_bounds_are_named_by_their_place_never_their_value() {
        let limit = Constraint {
            minimum: Some(1.0),
            maximum: Some(500.0),
            ..bound("limit")
        };
        let lists = Constraint {
            max_items: Some(2),
            max_length: Some(3),
            ..bound("lists")
        };
        let email = Constraint {
            format: Some("email".into()),
            ..bound("people.email")
        };
        let all = [limit, lists, email];
        assert!(check(&json!({"limit": 500, "lists": ["a"], "people": []}), &all).is_ok());
        assert!(check(&json!({"limit": null}), &all).is_ok());
        let e = check(&json!({"limit": 0}), &all).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.problem.as_str()),
            ("input.limit", "at least 1 (minimum)")
        );
        let e = check(&json!({"lists": ["a", "b", "c"]}), &all).unwrap_err();
        assert_eq!(e.path, "input.lists");
        let e = check(&json!({"lists": ["secret-value"]}), &all).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.problem.as_str()),
            ("input.lists[0]", "at most 3 characters (maxLength)")
        );
        let e = check(
            &json!({"people": [{"email": "a@b.co"}, {"email": "nope"}]}),
            &all,
        )
        .unwrap_err();
        assert_eq!(e.path, "input.people[1].email");
        assert!(!e.problem.contains("nope"));
    }

    #[test]
    fn formats_are_checked_as_named() {
        assert!(in_format("date-time", "2026-12-07T10:00:00Z"));
        assert!(!in_format("date-time", "2026-12-07"));
        assert!(in_format("date", "2026-12-07"));
        assert!(in_format("uuid", "123e4567-e89b-12d3-a456-426614174000"));
        assert!(!in_format("uuid", "123e4567e89b12d3a456426614174000"));
        assert!(!in_format("email", "a b@c.d"));
    }
}
