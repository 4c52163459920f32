//! One poll of a trigger (sdk 0.3.0): a call like any other (credential and
//! scopes, limits, egress, rate limiter and quotas, audit, metrics), read-only
//! on the wire, whose answer the host checks before anyone relies on it: a
//! checkpoint of bounded size, events with ids and RFC 3339 times.

use serde_json::{Map, Value};

use super::{CallHooks, Session, SessionError};
use crate::invoke::{ActivityInfo, InputError, InvokeError, TriggerInfo};

/// The largest checkpoint a trigger may return. It is kept in files, store
/// documents and workflow histories: a connector must not grow it unbounded.
pub const MAX_CHECKPOINT_BYTES: usize = 16 * 1024;

/// The longest event id (consumers keep ids to drop repeats).
pub const MAX_EVENT_ID_BYTES: usize = 256;

/// What one poll starts from.
#[derive(Debug, Clone, Default)]
pub struct PollRequest {
    /// What the last poll returned; `None` on the first.
    pub checkpoint: Option<String>,
    /// Where a first poll starts (RFC 3339); the current time without it.
    pub since: Option<String>,
    /// The subscription's settings (the trigger's parameters after `since`).
    pub settings: Map<String, Value>,
}

/// What one poll found.
#[derive(Debug, Clone)]
pub struct Polled {
    /// In the order the trigger reported them.
    pub events: Vec<TriggerEvent>,
    /// Give it back on the next poll.
    pub checkpoint: String,
    /// More events are waiting: poll again at once.
    pub more: bool,
}

/// One event.
#[derive(Debug, Clone)]
pub struct TriggerEvent {
    /// Stable: the same change polled twice has the same id.
    pub id: String,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    /// The whole event record, as JSON.
    pub data: Value,
}

impl Session {
    /// Polls `trigger` once from `request`'s checkpoint.
    ///
    /// # Errors
    ///
    /// As [`Session::call`]; [`InvokeError::UnknownTrigger`], an
    /// [`InvokeError::Input`] for a bad `since` or setting, and an
    /// [`InvokeError::Contract`] for an answer that breaks the contract.
    pub async fn poll(&self, trigger: &str, request: &PollRequest) -> Result<Polled, SessionError> {
        self.poll_with(trigger, request, CallHooks::default()).await
    }

    /// [`Session::poll`] with a front end's [`CallHooks`].
    ///
    /// # Errors
    ///
    /// As [`Session::poll`].
    pub async fn poll_with(
        &self,
        trigger: &str,
        request: &PollRequest,
        hooks: CallHooks,
    ) -> Result<Polled, SessionError> {
        let described = self.trigger_call(trigger);
        // An unknown trigger is reported as one (and counted), not as its settings.
        let input = match &described {
            Ok(_) => self.poll_input(trigger, request)?,
            Err(_) => Value::Null,
        };
        let output = self
            .run_described(trigger, described, &input, hooks, true)
            .await?;
        polled(output).map_err(|reason| {
            InvokeError::Contract {
                path: self.connector.path().to_owned(),
                reason: format!("trigger {trigger:?} answered {reason}"),
            }
            .into()
        })
    }

    /// A poll as JSON in and out (the worker's activity):
    /// `{"checkpoint"?, "since"?, "settings"?}` → `{"events": [..],
    /// "checkpoint", "more"}`.
    ///
    /// # Errors
    ///
    /// As [`Session::poll`]; an [`InvokeError::Input`] for any other shape.
    pub async fn poll_json(
        &self,
        trigger: &str,
        input: &Value,
        hooks: CallHooks,
    ) -> Result<Value, SessionError> {
        let request = request_of(input).map_err(|error| InvokeError::Input {
            activity: trigger.to_owned(),
            error,
        })?;
        let polled = self.poll_with(trigger, &request, hooks).await?;
        let events: Vec<Value> = polled.events.into_iter().map(|e| e.data).collect();
        Ok(serde_json::json!({
            "events": events,
            "checkpoint": polled.checkpoint,
            "more": polled.more,
        }))
    }

    /// The described trigger `name`, or the error naming the real ones.
    ///
    /// # Errors
    ///
    /// [`InvokeError::UnknownTrigger`].
    pub fn trigger(&self, name: &str) -> Result<&TriggerInfo, SessionError> {
        let info = self.connector.info();
        self.connector.trigger(name).ok_or_else(|| {
            let names: Vec<&str> = info.triggers.iter().map(|t| t.name.as_str()).collect();
            let hint = if names.is_empty() {
                format!("connector {} has no triggers", info.name)
            } else {
                crate::suggest::hint(name, &names, "its triggers are")
            };
            InvokeError::UnknownTrigger {
                connector: info.name.clone(),
                name: name.to_owned(),
                hint,
            }
            .into()
        })
    }

    /// The trigger as the pipeline's activity description: read-only and
    /// retry-safe, with its scopes.
    pub(crate) fn trigger_call(&self, name: &str) -> Result<ActivityInfo, SessionError> {
        let trigger = self.trigger(name)?;
        Ok(ActivityInfo {
            name: trigger.name.clone(),
            display_name: trigger.display_name.clone(),
            category: "Triggers".into(),
            description: trigger.description.clone(),
            required_scopes: trigger.required_scopes.clone(),
            retry_safe: true,
            read_only: true,
            destructive: false,
            pitfalls: Vec::new(),
            constraints: Vec::new(),
        })
    }

    fn poll_input(&self, trigger: &str, request: &PollRequest) -> Result<Value, SessionError> {
        let refuse = |path: String, problem: String| -> SessionError {
            InvokeError::Input {
                activity: trigger.to_owned(),
                error: InputError { path, problem },
            }
            .into()
        };
        if let Some(since) = &request.since {
            chrono::DateTime::parse_from_rfc3339(since).map_err(|_| {
                refuse(
                    "since".into(),
                    "expected an RFC 3339 date-time such as 2026-12-01T00:00:00Z".into(),
                )
            })?;
        }
        self.connector
            .check_settings(trigger, &request.settings)
            .map_err(|error| InvokeError::Input {
                activity: trigger.to_owned(),
                error,
            })?;
        let mut input = request.settings.clone();
        input.insert("checkpoint".into(), request.checkpoint.clone().into());
        input.insert("since".into(), request.since.clone().into());
        Ok(Value::Object(input))
    }
}

/// The poll's answer, checked.
fn polled(mut output: Value) -> Result<Polled, String> {
    let checkpoint = match output.get_mut("checkpoint").map(Value::take) {
        Some(Value::String(c)) if c.len() <= MAX_CHECKPOINT_BYTES => c,
        Some(Value::String(c)) => {
            return Err(format!(
            "a checkpoint of {} bytes, more than the {MAX_CHECKPOINT_BYTES} a checkpoint may have",
            c.len()
        ))
        }
        _ => return Err("without a checkpoint".into()),
    };
    let more = output.get("more").and_then(Value::as_bool).unwrap_or(false);
    let Some(Value::Array(found)) = output.get_mut("events").map(Value::take) else {
        return Err("without an events list".into());
    };
    let events = found
        .into_iter()
        .enumerate()
        .map(|(i, data)| event(data).map_err(|e| format!("event {i}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(Polled {
        events,
        checkpoint,
        more,
    })
}

/// A poll request from JSON: only `checkpoint`, `since` (strings or null)
/// and `settings` (an object).
fn request_of(input: &Value) -> Result<PollRequest, InputError> {
    let refuse = |path: &str, problem: &str| InputError {
        path: path.into(),
        problem: problem.into(),
    };
    let empty = Map::new();
    let fields = match input {
        Value::Null => &empty,
        Value::Object(fields) => fields,
        _ => {
            return Err(refuse(
                "input",
                "expected {\"checkpoint\", \"since\", \"settings\"}",
            ))
        }
    };
    let text = |key: &str| match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(refuse(key, "expected a string or null")),
    };
    if let Some(other) = fields
        .keys()
        .find(|k| !["checkpoint", "since", "settings"].contains(&k.as_str()))
    {
        return Err(refuse(
            &crate::redact::untrusted(other),
            "not a poll field; expected checkpoint, since and settings",
        ));
    }
    let settings = match fields.get("settings") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(settings)) => settings.clone(),
        Some(_) => return Err(refuse("settings", "expected an object")),
    };
    Ok(PollRequest {
        checkpoint: text("checkpoint")?,
        since: text("since")?,
        settings,
    })
}

/// One event, checked: a usable id and an RFC 3339 time.
fn event(data: Value) -> Result<TriggerEvent, String> {
    let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = text("id").unwrap_or_default();
    if id.is_empty() || id.len() > MAX_EVENT_ID_BYTES || id.chars().any(char::is_control) {
        return Err(format!(
            "an id that is empty, longer than {MAX_EVENT_ID_BYTES} bytes or has control characters"
        ));
    }
    let occurred_at = text("occurred_at").unwrap_or_default();
    if chrono::DateTime::parse_from_rfc3339(&occurred_at).is_err() {
        return Err("an occurred_at that is not an RFC 3339 date-time".into());
    }
    Ok(TriggerEvent {
        id,
        occurred_at,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_needs_a_usable_id_and_an_rfc3339_time() {
        let ok = event(
            json!({"id": "c1@2026-12-01T00:00:00.000Z", "occurred_at": "2026-12-01T00:00:00.000Z", "x": 1}),
        );
        assert_eq!(ok.unwrap().id, "c1@2026-12-01T00:00:00.000Z");
        for bad in [
            json!({"id": "", "occurred_at": "2026-12-01T00:00:00Z"}),
            json!({"id": "a\nb", "occurred_at": "2026-12-01T00:00:00Z"}),
            json!({"id": "x".repeat(MAX_EVENT_ID_BYTES + 1), "occurred_at": "2026-12-01T00:00:00Z"}),
            json!({"id": "a", "occurred_at": "yesterday"}),
            json!({"occurred_at": "2026-12-01T00:00:00Z"}),
        ] {
            assert!(event(bad.clone()).is_err(), "{bad}");
        }
    }
}
