//! Triggers (sdk 0.3.0): exported poll functions, checked against the
//! contract's shape when the component loads (`trigger` in `wit/sdk/sdk.wit`),
//! so a malformed one fails the load with a reason instead of every poll.
//!
//! The shape: `func(checkpoint: option<string>, since: option<string>,
//! <settings>...) -> result<{events: list<{id: string, occurred-at: string,
//! ..}>, checkpoint: string, more?: bool}, _>`.

use serde_json::{json, Map, Value};
use wasmtime::component::Type;

use super::json::{self, json_name, InputError};
use super::{schema, Activity, Connector};

/// The parameters every trigger takes first, in this order.
const FIXED: [&str; 2] = ["checkpoint", "since"];

/// Why `export` does not have a trigger's shape, or `None` when it does.
pub(super) fn misshapen(export: &Activity) -> Option<String> {
    for (i, wanted) in FIXED.iter().enumerate() {
        match export.params.get(i) {
            Some((name, ty)) if name == wanted && is_optional_string(ty) => {}
            _ => {
                return Some(format!(
                    "parameter {} must be `{wanted}: option<string>`",
                    i + 1
                ))
            }
        }
    }
    let Some(Type::Result(result)) = &export.result else {
        return Some("it must return `result<poll-record, activity-error>`".into());
    };
    let Some(Type::Record(poll)) = result.ok() else {
        return Some("its `ok` type must be a record with `events` and `checkpoint`".into());
    };
    let field = |name: &str| poll.fields().find(|f| f.name == name).map(|f| f.ty);
    if !matches!(field("checkpoint"), Some(Type::String)) {
        return Some("its record must have `checkpoint: string`".into());
    }
    if field("more").is_some_and(|t| !matches!(t, Type::Bool)) {
        return Some("`more`, when present, must be a bool".into());
    }
    let Some(Type::List(events)) = field("events") else {
        return Some("its record must have `events: list<event>`".into());
    };
    let Type::Record(event) = events.ty() else {
        return Some("an event must be a record".into());
    };
    for wanted in ["id", "occurred-at"] {
        if !event
            .fields()
            .any(|f| f.name == wanted && matches!(f.ty, Type::String))
        {
            return Some(format!("an event must have `{wanted}: string`"));
        }
    }
    None
}

fn is_optional_string(ty: &Type) -> bool {
    matches!(ty, Type::Option(o) if matches!(o.ty(), Type::String))
}

impl Connector {
    /// The described trigger `name`, if the connector has one.
    pub fn trigger(&self, name: &str) -> Option<&super::TriggerInfo> {
        self.info.triggers.iter().find(|t| t.name == name)
    }

    /// JSON Schema of a trigger's settings: always an object (empty for a
    /// trigger that takes none).
    pub fn settings_schema(&self, trigger: &str) -> Option<Value> {
        self.trigger(trigger)?;
        let code = self.code();
        let export = code.activities.get(trigger)?;
        let settings = &export.params[FIXED.len()..];
        let properties: Map<String, Value> = settings
            .iter()
            .map(|(n, t)| (json_name(n), schema::of_type(t)))
            .collect();
        let required: Vec<Value> = settings
            .iter()
            .filter(|(_, t)| !matches!(t, Type::Option(_)))
            .map(|(n, _)| Value::String(json_name(n)))
            .collect();
        Some(json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }))
    }

    /// JSON Schema of one event a trigger reports.
    pub fn event_schema(&self, trigger: &str) -> Option<Value> {
        self.trigger(trigger)?;
        let code = self.code();
        let Some(Type::Result(result)) = &code.activities.get(trigger)?.result else {
            return None;
        };
        let Some(Type::Record(poll)) = result.ok() else {
            return None;
        };
        let events = poll.fields().find(|f| f.name == "events").map(|f| f.ty)?;
        match events {
            Type::List(events) => Some(schema::of_type(&events.ty())),
            _ => None,
        }
    }

    /// Checks a trigger's settings as a poll converts them: every key is a
    /// setting, and every setting's value fits its WIT type (a missing one
    /// is `null`, which only an `option` takes). `serve` calls it when a
    /// subscription is made, so a mistake is refused then, not at each poll.
    ///
    /// # Errors
    ///
    /// The setting (`settings.<name>`) and what is wrong with it.
    pub fn check_settings(
        &self,
        trigger: &str,
        settings: &Map<String, Value>,
    ) -> Result<(), InputError> {
        let code = self.code();
        let Some(export) = code
            .activities
            .get(trigger)
            .filter(|_| self.trigger(trigger).is_some())
        else {
            return Ok(());
        };
        let params = &export.params[FIXED.len()..];
        let names: Vec<String> = params.iter().map(|(n, _)| json_name(n)).collect();
        if let Some(key) = settings.keys().find(|k| !names.contains(k)) {
            let known: Vec<&str> = names.iter().map(String::as_str).collect();
            let what = if known.is_empty() {
                "this trigger takes no settings".to_owned()
            } else {
                crate::suggest::hint(key, &known, "its settings are")
            };
            return Err(InputError {
                path: format!("settings.{}", crate::redact::untrusted(key)),
                problem: format!("not a setting of this trigger; {what}"),
            });
        }
        for ((_, ty), name) in params.iter().zip(&names) {
            let value = settings.get(name).unwrap_or(&Value::Null);
            json::to_val(ty, value, &format!("settings.{name}"))?;
        }
        Ok(())
    }
}
