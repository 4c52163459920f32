//! A subscription's trigger settings checked against the trigger's settings
//! schema ([`crate::Connector::settings_schema`], reflected from its WIT
//! parameters) when the subscription is made, so a mistake is a 422 then and
//! not a failing poll later. The poll converts them again from the
//! reflected types; this check says early which setting is wrong.

use serde_json::{Map, Value};

/// Checks `settings` against `schema` (an object schema; `null`: no settings).
///
/// # Errors
///
/// A sentence naming the setting and what it should be.
pub fn check(schema: &Value, settings: &Map<String, Value>) -> Result<(), String> {
    let properties = schema["properties"].as_object();
    for (key, value) in settings {
        let Some(property) = properties.and_then(|p| p.get(key)) else {
            let names: Vec<&str> = properties
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(format!(
                "settings.{}: the trigger has no such setting\nhint: {}",
                crate::redact::untrusted(key),
                crate::suggest::hint(key, &names, "its settings are")
            ));
        };
        if !fits(property, value) {
            return Err(format!("settings.{key}: expected {}", expected(property)));
        }
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let Some(name) = required.as_str() else {
            continue;
        };
        // `checkpoint` and `since` are the host's, never a setting.
        if !settings.contains_key(name) && !matches!(name, "checkpoint" | "since") {
            return Err(format!("settings.{name}: required"));
        }
    }
    Ok(())
}

/// Whether `value` has one of the schema's types (and is in its `enum`).
fn fits(schema: &Value, value: &Value) -> bool {
    if let Some(options) = schema["enum"].as_array() {
        return options.contains(value);
    }
    if let Some(any) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
        return any.iter().any(|s| fits(s, value));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    types.iter().any(|t| match *t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    })
}

fn expected(schema: &Value) -> String {
    if let Some(options) = schema["enum"].as_array() {
        let names: Vec<String> = options.iter().map(Value::to_string).collect();
        return format!("one of {}", names.join(", "));
    }
    match &schema["type"] {
        Value::String(t) => format!("a value of type {t}"),
        Value::Array(list) => format!("a value of type {}", Value::Array(list.clone())),
        _ => "another value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn settings_must_be_declared_and_typed() {
        let schema = json!({"type": "object", "properties": {
            "list": {"type": "string"}, "limit": {"type": ["integer", "null"]},
            "status": {"enum": ["a", "b"]}}, "required": ["list", "checkpoint"]});
        assert!(check(&schema, &settings(json!({"list": "x"}))).is_ok());
        assert!(check(
            &schema,
            &settings(json!({"list": "x", "limit": 3, "status": "b"}))
        )
        .is_ok());
        let wrong = check(&schema, &settings(json!({"list": 3}))).unwrap_err();
        assert!(wrong.starts_with("settings.list: expected"), "{wrong}");
        assert!(check(&schema, &settings(json!({"list": "x", "status": "c"}))).is_err());
        assert!(check(&schema, &settings(json!({"lst": "x"}))).is_err());
        assert_eq!(
            check(&schema, &settings(json!({}))).unwrap_err(),
            "settings.list: required"
        );
        assert!(check(&Value::Null, &settings(json!({}))).is_ok());
        assert!(check(&Value::Null, &settings(json!({"x": 1}))).is_err());
    }
}
