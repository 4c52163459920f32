//! JSON ⇄ WIT values, driven by the types reflected from the component.
//!
//! Conventions: record fields are snake_case in JSON (`email_address`) and
//! kebab-case in WIT (`email-address`), both accepted on input; an `option`
//! is `null` or absent; enums and flags are strings; a variant is
//! `{"case": payload}`, or just `"case"` when it has no payload; a `result`
//! is `{"ok": …}` or `{"err": …}`.
//!
//! Input is checked against the type before anything reaches the guest (a
//! mistyped value would trap inside wasmtime and poison the instance); an
//! error names the JSON path and what was expected.

use serde_json::{Map, Value};
use wasmtime::component::{Type, Val};

/// A JSON input that does not fit the activity's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", crate::redact::Untrusted(.path))]
pub struct InputError {
    /// Where, e.g. `input.email_address.address` or `input.lists[2]`.
    pub path: String,
    /// What was wrong, e.g. `expected a string, found a number`.
    pub problem: String,
}

/// The JSON spelling of a WIT name.
pub fn json_name(wit: &str) -> String {
    wit.replace('-', "_")
}

fn matches_name(wit: &str, json: &str) -> bool {
    wit == json || json_name(wit) == json
}

/// Converts `json` to a value of type `ty`; `path` names the root in errors.
///
/// # Errors
///
/// [`InputError`] naming the first offending path.
pub fn to_val(ty: &Type, json: &Value, path: &str) -> Result<Val, InputError> {
    let fail = |problem: String| {
        Err(InputError {
            path: path.to_owned(),
            problem,
        })
    };
    let expected = |what: &str| fail(format!("expected {what}, found {}", kind(json)));
    Ok(match (ty, json) {
        (Type::Bool, Value::Bool(b)) => Val::Bool(*b),
        (Type::String, Value::String(s)) => Val::String(s.clone()),
        (Type::Char, Value::String(s)) if s.chars().count() == 1 => {
            Val::Char(s.chars().next().unwrap_or_default())
        }
        (Type::Float32, Value::Number(n)) => Val::Float32(n.as_f64().unwrap_or_default() as f32),
        (Type::Float64, Value::Number(n)) => Val::Float64(n.as_f64().unwrap_or_default()),
        (ty, Value::Number(_)) if integer_range(ty).is_some() => return integer(ty, json, path),
        (Type::Option(_), Value::Null) => Val::Option(None),
        (Type::Option(o), v) => Val::Option(Some(Box::new(to_val(&o.ty(), v, path)?))),
        (Type::List(l), Value::Array(items)) => Val::List(list(&l.ty(), items, path)?),
        (Type::Tuple(t), Value::Array(items)) if items.len() == t.types().len() => Val::Tuple(
            t.types()
                .zip(items)
                .enumerate()
                .map(|(i, (ty, v))| to_val(&ty, v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Record(r), Value::Object(map)) => return record(r, map, path),
        (Type::Enum(e), Value::String(s)) => match e.names().find(|n| matches_name(n, s)) {
            Some(name) => Val::Enum(name.to_owned()),
            None => {
                return fail(format!(
                    "expected one of {}, found another string",
                    one_of(e.names())
                ))
            }
        },
        (Type::Flags(f), Value::Array(items)) => Val::Flags(flags(f, items, path)?),
        (Type::Variant(v), _) => return variant(v, json, path),
        (Type::Result(r), Value::Object(map)) if map.len() == 1 => return result(r, map, path),
        (Type::Bool, _) => return expected("a boolean"),
        (Type::String, _) => return expected("a string"),
        (Type::Char, _) => return expected("a single character"),
        (Type::Float32 | Type::Float64, _) => return expected("a number"),
        (ty, _) if integer_range(ty).is_some() => return expected("an integer"),
        (Type::List(_) | Type::Flags(_), _) => return expected("an array"),
        (Type::Tuple(t), _) => return expected(&format!("an array of {} items", t.types().len())),
        (Type::Record(_), _) => return expected("an object"),
        (Type::Enum(e), _) => return expected(&format!("one of {}", one_of(e.names()))),
        (Type::Result(_), _) => return expected("{\"ok\": …} or {\"err\": …}"),
        (other, _) => return fail(format!("values of type {other:?} cannot be given as JSON")),
    })
}

fn list(ty: &Type, items: &[Value], path: &str) -> Result<Vec<Val>, InputError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| to_val(ty, v, &format!("{path}[{i}]")))
        .collect()
}

fn record(
    ty: &wasmtime::component::types::Record,
    map: &Map<String, Value>,
    path: &str,
) -> Result<Val, InputError> {
    if let Some(unknown) = map
        .keys()
        .find(|k| !ty.fields().any(|f| matches_name(f.name, k)))
    {
        return Err(InputError {
            path: format!("{path}.{unknown}"),
            problem: format!(
                "unknown field; expected one of {}",
                one_of(ty.fields().map(|f| f.name))
            ),
        });
    }
    let mut fields = Vec::new();
    for field in ty.fields() {
        let child = format!("{path}.{}", json_name(field.name));
        let value = map
            .get(field.name)
            .or_else(|| map.get(&json_name(field.name)));
        let val = match (value, &field.ty) {
            (Some(v), ty) => to_val(ty, v, &child)?,
            (None, Type::Option(_)) => Val::Option(None),
            (None, ty) => {
                return Err(InputError {
                    path: child,
                    problem: format!("required field is missing (expected {})", describe(ty)),
                })
            }
        };
        fields.push((field.name.to_owned(), val));
    }
    Ok(Val::Record(fields))
}

fn variant(
    ty: &wasmtime::component::types::Variant,
    json: &Value,
    path: &str,
) -> Result<Val, InputError> {
    let (name, payload) = match json {
        Value::String(s) => (s.as_str(), None),
        Value::Object(map) if map.len() == 1 => map
            .iter()
            .next()
            .map(|(k, v)| (k.as_str(), Some(v)))
            .unwrap_or_default(),
        _ => {
            return Err(InputError {
                path: path.to_owned(),
                problem: format!(
                    "expected {{\"case\": value}} with a case among {}, found {}",
                    one_of(ty.cases().map(|c| c.name)),
                    kind(json)
                ),
            })
        }
    };
    let Some(case) = ty.cases().find(|c| matches_name(c.name, name)) else {
        return Err(InputError {
            path: path.to_owned(),
            problem: format!(
                "expected a case among {}, found another",
                one_of(ty.cases().map(|c| c.name))
            ),
        });
    };
    let child = format!("{path}.{}", json_name(case.name));
    let value = match (case.ty, payload) {
        (None, None | Some(Value::Null)) => None,
        (None, Some(v)) => {
            return Err(InputError {
                path: child,
                problem: format!("this case takes no value, found {}", kind(v)),
            })
        }
        (Some(ty), Some(v)) => Some(Box::new(to_val(&ty, v, &child)?)),
        (Some(ty), None) => {
            return Err(InputError {
                path: child,
                problem: format!("this case needs a value ({})", describe(&ty)),
            })
        }
    };
    Ok(Val::Variant(case.name.to_owned(), value))
}

fn result(
    ty: &wasmtime::component::types::ResultType,
    map: &Map<String, Value>,
    path: &str,
) -> Result<Val, InputError> {
    let (key, value) = map.iter().next().expect("checked: one entry");
    let convert = |t: Option<Type>| -> Result<Option<Box<Val>>, InputError> {
        t.map(|t| to_val(&t, value, &format!("{path}.{key}")).map(Box::new))
            .transpose()
    };
    match key.as_str() {
        "ok" => Ok(Val::Result(Ok(convert(ty.ok())?))),
        "err" => Ok(Val::Result(Err(convert(ty.err())?))),
        _ => Err(InputError {
            path: path.to_owned(),
            problem: "expected \"ok\" or \"err\" as the only key".into(),
        }),
    }
}

fn flags(
    ty: &wasmtime::component::types::Flags,
    items: &[Value],
    path: &str,
) -> Result<Vec<String>, InputError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            match v
                .as_str()
                .and_then(|s| ty.names().find(|n| matches_name(n, s)))
            {
                Some(name) => Ok(name.to_owned()),
                None => Err(InputError {
                    path: format!("{path}[{i}]"),
                    problem: format!(
                        "expected one of {}, found {}",
                        one_of(ty.names()),
                        if v.is_string() {
                            "another string"
                        } else {
                            kind(v)
                        }
                    ),
                }),
            }
        })
        .collect()
}

/// The inclusive range of an integer type, `None` for other types.
pub(crate) fn integer_range(ty: &Type) -> Option<(i128, i128)> {
    Some(match ty {
        Type::U8 => (0, u8::MAX.into()),
        Type::U16 => (0, u16::MAX.into()),
        Type::U32 => (0, u32::MAX.into()),
        Type::U64 => (0, u64::MAX.into()),
        Type::S8 => (i8::MIN.into(), i8::MAX.into()),
        Type::S16 => (i16::MIN.into(), i16::MAX.into()),
        Type::S32 => (i32::MIN.into(), i32::MAX.into()),
        Type::S64 => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    })
}

fn integer(ty: &Type, json: &Value, path: &str) -> Result<Val, InputError> {
    let (min, max) = integer_range(ty).expect("caller checked");
    let n = json
        .as_i64()
        .map(i128::from)
        .or_else(|| json.as_u64().map(i128::from));
    let Some(n) = n.filter(|n| (min..=max).contains(n)) else {
        return Err(InputError {
            path: path.to_owned(),
            problem: format!(
                "expected an integer from {min} to {max}, found {}",
                if json.is_i64() || json.is_u64() {
                    "one out of range"
                } else {
                    "a fraction"
                }
            ),
        });
    };
    // The range check above makes every narrowing below exact.
    Ok(match ty {
        Type::U8 => Val::U8(n as u8),
        Type::U16 => Val::U16(n as u16),
        Type::U32 => Val::U32(n as u32),
        Type::U64 => Val::U64(n as u64),
        Type::S8 => Val::S8(n as i8),
        Type::S16 => Val::S16(n as i16),
        Type::S32 => Val::S32(n as i32),
        _ => Val::S64(n as i64),
    })
}

/// Converts a value the guest returned to JSON.
pub fn from_val(val: &Val) -> Value {
    match val {
        Val::Bool(b) => Value::Bool(*b),
        Val::S8(n) => (*n).into(),
        Val::U8(n) => (*n).into(),
        Val::S16(n) => (*n).into(),
        Val::U16(n) => (*n).into(),
        Val::S32(n) => (*n).into(),
        Val::U32(n) => (*n).into(),
        Val::S64(n) => (*n).into(),
        Val::U64(n) => (*n).into(),
        Val::Float32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number)
        }
        Val::Float64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Val::Char(c) => Value::String(c.to_string()),
        Val::String(s) => Value::String(s.clone()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            items.iter().map(from_val).collect()
        }
        Val::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (json_name(k), from_val(v)))
                .collect(),
        ),
        Val::Variant(case, None) | Val::Enum(case) => Value::String(json_name(case)),
        Val::Variant(case, Some(v)) => {
            Value::Object(Map::from_iter([(json_name(case), from_val(v))]))
        }
        Val::Option(v) => v.as_deref().map_or(Value::Null, from_val),
        Val::Result(Ok(v)) => Value::Object(Map::from_iter([(
            "ok".into(),
            v.as_deref().map_or(Value::Null, from_val),
        )])),
        Val::Result(Err(v)) => Value::Object(Map::from_iter([(
            "err".into(),
            v.as_deref().map_or(Value::Null, from_val),
        )])),
        Val::Flags(names) => names.iter().map(|n| Value::String(json_name(n))).collect(),
        Val::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| Value::Array(vec![from_val(k), from_val(v)]))
            .collect(),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => Value::Null,
    }
}

fn kind(json: &Value) -> &'static str {
    match json {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short English description of a type, for "expected …" messages.
fn describe(ty: &Type) -> String {
    match ty {
        Type::Bool => "a boolean".into(),
        Type::String => "a string".into(),
        Type::Char => "a single character".into(),
        Type::Float32 | Type::Float64 => "a number".into(),
        Type::List(_) | Type::Tuple(_) | Type::Flags(_) => "an array".into(),
        Type::Record(_) | Type::Result(_) => "an object".into(),
        Type::Enum(e) => format!("one of {}", one_of(e.names())),
        Type::Variant(v) => format!("a case among {}", one_of(v.cases().map(|c| c.name))),
        ty if integer_range(ty).is_some() => "an integer".into(),
        _ => "a value".into(),
    }
}

fn one_of<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("\"{}\"", json_name(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    //! Property tests: any JSON input is either converted or refused with an
    //! error naming the path (never the value, never a panic), and every
    //! value that fits the type converts to WIT and back unchanged.

    use super::*;
    use crate::invoke::output::{to_json, Budget};
    use proptest::prelude::*;
    use serde_json::json;
    use wasmtime::component::types::ComponentItem;
    use wasmtime::component::Component;
    use wasmtime::{Config, Engine};

    const CANARY: &str = "CANARY-INPUT-7d1f";

    /// A function type with most WIT types, reflected from a real component.
    fn input_type() -> Type {
        // Types in an import's signature must themselves be imported by name.
        let wat = r#"(component
            (type $color0 (enum "red" "green" "dark-blue"))
            (import "color" (type $color (eq $color0)))
            (type $perms0 (flags "read" "write"))
            (import "perms" (type $perms (eq $perms0)))
            (type $shape0 (variant (case "nothing") (case "count" u32) (case "label" string)))
            (import "shape" (type $shape (eq $shape0)))
            (type $inner0 (record (field "name" string) (field "maybe" (option s64))))
            (import "inner" (type $inner (eq $inner0)))
            (type $input0 (record
                (field "text" string) (field "small" u8) (field "big" s64) (field "ratio" float64)
                (field "on" bool) (field "note" (option string)) (field "nums" (list u32))
                (field "color" $color) (field "perms" $perms) (field "shape" $shape)
                (field "pair" (tuple string u16)) (field "outcome" (result string (error u8)))
                (field "letter" char) (field "inner" $inner) (field "inners" (list $inner))))
            (import "input" (type $input (eq $input0)))
            (import "f" (func (param "input" $input)))
        )"#;
        let engine = Engine::new(Config::new().wasm_component_model(true)).unwrap();
        let component = Component::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let ty = component.component_type();
        let (_, item) = ty.imports(&engine).find(|(name, _)| *name == "f").unwrap();
        let ComponentItem::ComponentFunc(f) = item.ty else {
            panic!("a function")
        };
        let param = f.params().next().unwrap().1;
        param
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(CANARY.to_owned()),
            "[a-z\\u{1b}\\n ]{0,8}",
            any::<String>()
        ]
    }

    /// Any JSON at all, with the canary among its strings (keys are drawn from
    /// the type's own names and a few wrong ones: keys may be named in errors).
    fn any_json() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("text"),
            Just("small"),
            Just("big"),
            Just("ratio"),
            Just("on"),
            Just("note"),
            Just("nums"),
            Just("color"),
            Just("perms"),
            Just("shape"),
            Just("pair"),
            Just("outcome"),
            Just("letter"),
            Just("inner"),
            Just("inners"),
            Just("name"),
            Just("maybe"),
            Just("ok"),
            Just("err"),
            Just("count"),
            Just("label"),
            Just("wrong"),
        ]
        .prop_map(str::to_owned);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..16)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// JSON that fits `input_type()`, as the output conversion writes it.
    fn fitting_json() -> impl Strategy<Value = Value> {
        let inner = || {
            (text(), prop::option::of(any::<i64>()))
                .prop_map(|(name, maybe)| json!({"name": name, "maybe": maybe}))
        };
        let shape = prop_oneof![
            Just(json!("nothing")),
            any::<u32>().prop_map(|n| json!({"count": n})),
            text().prop_map(|s| json!({"label": s})),
        ];
        let outcome = prop_oneof![
            text().prop_map(|s| json!({"ok": s})),
            any::<u8>().prop_map(|n| json!({"err": n}))
        ];
        let perms = prop::sample::subsequence(vec!["read", "write"], 0..=2);
        let color = prop::sample::select(vec!["red", "green", "dark_blue"]);
        (
            (text(), any::<u8>(), any::<i64>(), -1e9f64..1e9, any::<bool>(), prop::option::of(text())),
            (prop::collection::vec(any::<u32>(), 0..5), color, perms, shape),
            ((text(), any::<u16>()), outcome, any::<char>(), inner(), prop::collection::vec(inner(), 0..3)),
        )
            .prop_map(|((text, small, big, ratio, on, note), (nums, color, perms, shape), (pair, outcome, letter, inner, inners))| {
                json!({"text": text, "small": small, "big": big, "ratio": ratio, "on": on, "note": note,
                    "nums": nums, "color": color, "perms": perms, "shape": shape, "pair": [pair.0, pair.1],
                    "outcome": outcome, "letter": letter.to_string(), "inner": inner, "inners": inners})
            })
    }

    /// Every value inside `value`, as JSON pointers.
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    pointers(item, format!("{at}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    pointers(item, format!("{at}/{key}"), out);
                }
            }
            _ => {}
        }
    }

    /// Fitting input with one value anywhere in it replaced by arbitrary JSON,
    /// so the conversion is tried deep inside the type, not only at its top.
    fn spoiled_json() -> impl Strategy<Value = Value> {
        let junk = prop_oneof![
            3 => Just(Value::String(CANARY.to_owned())),
            1 => Just(json!([CANARY])),
            1 => Just(json!({"wrong": CANARY})),
            1 => any::<i64>().prop_map(Value::from),
            2 => any_json(),
        ];
        (fitting_json(), any::<prop::sample::Index>(), junk).prop_map(|(mut value, index, junk)| {
            let mut all = Vec::new();
            pointers(&value, String::new(), &mut all);
            let at = index.get(&all).clone();
            match value.pointer_mut(&at) {
                Some(slot) => *slot = junk,
                None => value = junk,
            }
            value
        })
    }

    /// Converts `input`; a refusal must name the path and neither echo the
    /// value nor carry control characters that could forge log lines.
    fn refused_cleanly_if_at_all(input: &serde_json::Value) -> Result<(), TestCaseError> {
        if let Err(error) = to_val(&input_type(), input, "input") {
            let shown = error.to_string();
            prop_assert!(!shown.contains(CANARY), "{shown}");
            prop_assert!(shown.starts_with("input"), "{shown}");
            prop_assert!(
                !shown.contains('\u{1b}') && !shown.contains('\n'),
                "{shown}"
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn spoiled_input_is_refused_naming_the_path_without_echoing_it(input in spoiled_json()) {
            refused_cleanly_if_at_all(&input)?;
        }

        #[test]
        fn any_input_converts_or_names_the_path_without_echoing_it(input in any_json()) {
            refused_cleanly_if_at_all(&input)?;
        }

        #[test]
        fn fitting_input_round_trips(input in fitting_json()) {
            let val = to_val(&input_type(), &input, "input").unwrap();
            let far = std::time::Instant::now() + std::time::Duration::from_secs(60);
            let back = to_json(val, &mut Budget::new(u64::MAX, far)).unwrap();
            prop_assert_eq!(back, input);
        }
    }
}
