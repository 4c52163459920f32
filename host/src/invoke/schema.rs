//! JSON Schema (draft 2020-12) for an activity's input and output, derived
//! from the component's reflected WIT types, with the JSON conventions of
//! [`super::json`].

use serde_json::{json, Map, Value};
use wasmtime::component::Type;

use super::json::{integer_range, json_name};

/// The schema of a value of type `ty`.
pub fn of_type(ty: &Type) -> Value {
    match ty {
        Type::Bool => json!({"type": "boolean"}),
        Type::String => json!({"type": "string"}),
        Type::Char => json!({"type": "string", "minLength": 1, "maxLength": 1}),
        Type::Float32 | Type::Float64 => json!({"type": "number"}),
        Type::List(l) => json!({"type": "array", "items": of_type(&l.ty())}),
        Type::FixedLengthList(l) => {
            json!({"type": "array", "items": of_type(&l.ty()), "minItems": l.len(), "maxItems": l.len()})
        }
        Type::Tuple(t) => {
            let items: Vec<Value> = t.types().map(|t| of_type(&t)).collect();
            json!({"type": "array", "prefixItems": items, "minItems": items.len(), "maxItems": items.len()})
        }
        Type::Record(r) => record(r),
        Type::Enum(e) => {
            json!({"type": "string", "enum": e.names().map(json_name).collect::<Vec<_>>()})
        }
        Type::Flags(f) => json!({
            "type": "array", "uniqueItems": true,
            "items": {"type": "string", "enum": f.names().map(json_name).collect::<Vec<_>>()}
        }),
        Type::Option(o) => json!({"anyOf": [of_type(&o.ty()), {"type": "null"}]}),
        Type::Variant(v) => {
            json!({"oneOf": v.cases().map(|c| case(c.name, c.ty.as_ref())).collect::<Vec<_>>()})
        }
        Type::Result(r) => {
            json!({"oneOf": [case("ok", r.ok().as_ref()), case("err", r.err().as_ref())]})
        }
        ty => match integer_range(ty) {
            // Every integer type's bounds fit these two (the casts are exact).
            Some((min, max)) => {
                json!({"type": "integer", "minimum": min as i64, "maximum": max as u64})
            }
            None => json!({"description": format!("{ty:?} values are not representable in JSON")}),
        },
    }
}

fn record(r: &wasmtime::component::types::Record) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in r.fields() {
        let name = json_name(field.name);
        if !matches!(field.ty, Type::Option(_)) {
            required.push(Value::String(name.clone()));
        }
        properties.insert(name, of_type(&field.ty));
    }
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn case(name: &str, payload: Option<&Type>) -> Value {
    let name = json_name(name);
    match payload {
        None => json!({"const": name}),
        Some(ty) => json!({
            "type": "object", "required": [name.clone()], "additionalProperties": false,
            "properties": {name: of_type(ty)}
        }),
    }
}

/// The schema of a function's input: its single parameter, or an object of
/// its parameters, or an empty object when it takes none.
pub fn of_params(params: &[(String, Type)]) -> Value {
    match params {
        [(_, ty)] => of_type(ty),
        _ => {
            let properties: Map<String, Value> = params
                .iter()
                .map(|(n, t)| (json_name(n), of_type(t)))
                .collect();
            let required: Vec<Value> = params
                .iter()
                .map(|(n, _)| Value::String(json_name(n)))
                .collect();
            json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
        }
    }
}
