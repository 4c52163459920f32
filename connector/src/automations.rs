//! Automations: email workflows that a trigger starts for each contact (joined a
//! list, has a birthday, visited a page…).
//!
//! An automation has a draft definition (what is being edited) and, once
//! activated in Constant Contact, an active one. Each holds a trigger and a
//! workflow of nested tasks. WIT records cannot nest without end, so the trigger
//! is a record and the nested parts (the workflow, the trigger's filter rules)
//! are JSON text; `update-automation` writes back what it read, so nothing of
//! them is lost on the way.

use connector_sdk::json::{merge, to_value};
use connector_sdk::serde_json::{json, Value};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta, Reply};

use crate::exports::constant_contact::connector::automations::{
    Automation, AutomationsList, CreateAutomationInput, GetAutomationInput, Guest,
    ListAutomationsInput, TriggerDef, UpdateAutomationInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-automations",
        category: "Automations",
        description: "Lists the account's automation workflows, filtered by channel, origin, goal or name.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Not paged: the API has no page parameters and answers every workflow at once.",
            "The user needs the customer-journey:read privilege as well as the scope.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-automation",
        category: "Automations",
        description: "Creates a DRAFT automation workflow from a trigger, e.g. a contact joining a list.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "action_name is required for Action and Date triggers; a list_join trigger names its lists in a LIST parameter list_ids.",
            "Date fields of a trigger start with record. (record.birthday_month); bounds are ISO-8601 periods such as P-7D.",
            "The workflow starts as a draft: activating it happens in Constant Contact.",
        ],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "get-automation",
        category: "Automations",
        description: "Gets one automation workflow with its draft and active definitions.",
        scopes: &["campaign_data"],
        pitfalls: &["The workflow's tasks and the trigger's filter come as JSON text (they nest)."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-automation",
        category: "Automations",
        description: "Renames an automation, changes its description, or replaces its draft trigger.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Two requests: the workflow is read, then written back whole with the changes (the API's PUT replaces).",
            "A trigger given replaces the draft's trigger; the active definition changes only when activated in Constant Contact.",
        ],
        ..ActivityMeta::UPDATE
    },
];

impl Guest for Connector {
    /// Lists automation workflows (the spec documents status 209 for it).
    ///
    /// `GET /v3/automations/workflows` — <https://developer.constantcontact.com/api_reference/index.html#!/Automations/listAutomations>.
    /// Scope `campaign_data` (privilege `customer-journey:read`). Retry-safe and
    /// read-only: a read.
    fn list_automations(input: ListAutomationsInput) -> Result<AutomationsList, ActivityError> {
        CC.get("/v3/automations/workflows")
            .queries(&input, &["sort_direction", "created_from"])
            .query("sort_direction", &input.sort_direction.map(|c| upper(&c)))
            .query("created_from", &input.created_from.map(|c| upper(&c)))
            .json()
    }

    /// Creates a draft automation from a trigger.
    ///
    /// `POST /v3/automations/workflows?workflowName=` (201) — <https://developer.constantcontact.com/api_reference/index.html#!/Automations/createAutomationCampaignUsingPost>.
    /// Scope `campaign_data` (privilege `customer-journey:create`). Not retry-safe:
    /// a repeat makes a second workflow. Not destructive: it only adds.
    fn create_automation(input: CreateAutomationInput) -> Result<Automation, ActivityError> {
        let body = trigger_json(&input.trigger)?;
        let reply = CC
            .post("/v3/automations/workflows")
            .query("workflowName", &input.workflow_name)
            .body(&body)
            .send()?;
        automation(&reply)
    }

    /// Gets one automation.
    ///
    /// `GET /v3/automations/workflows/{automation_flow_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Automations/retrieveAutomationCampaignUsingGet>.
    /// Scope `campaign_data` (privilege `customer-journey:read`). Retry-safe and
    /// read-only: a read.
    fn get_automation(input: GetAutomationInput) -> Result<Automation, ActivityError> {
        automation(&read(&input.automation_flow_id)?)
    }

    /// Changes an automation: reads it, lays the changes over it, writes it back.
    ///
    /// `GET`, then `PUT /v3/automations/workflows/{automation_flow_id}` with
    /// `{"automation_flow": …}` — <https://developer.constantcontact.com/api_reference/index.html#!/Automations/updateAutomationCampaignUsingPut>.
    /// Scope `campaign_data` (privilege `customer-journey:update`). Retry-safe: it
    /// writes the same values each time. Destructive: what it replaces is gone.
    fn update_automation(input: UpdateAutomationInput) -> Result<Automation, ActivityError> {
        let mut flow = read(&input.automation_flow_id)?.value()?;
        let changes = json!({"name": input.name, "description": input.description});
        merge(&mut flow, without_nulls(changes));
        if let Some(trigger) = &input.trigger {
            flow["draft_definition"]["trigger"]["trigger_def"] = trigger_json(trigger)?;
        }
        let reply = CC
            .put("/v3/automations/workflows")
            .id("automation_flow_id", &input.automation_flow_id)
            .body(&json!({"automation_flow": flow}))
            .send()?;
        automation(&reply)
    }
}

fn read(id: &str) -> Result<Reply<'static>, ActivityError> {
    CC.get("/v3/automations/workflows")
        .id("automation_flow_id", id)
        .send()
}

/// The fields of `value` that are not `null`.
fn without_nulls(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    value
}

/// A trigger as the API takes it (`TriggerDefDto`), after the checks its
/// description states. Each parameter's `values` becomes `parameter_value`: the
/// string itself for a `STRING` parameter, the list otherwise.
fn trigger_json(trigger: &TriggerDef) -> Result<Value, ActivityError> {
    // The spec requires no field, but a trigger without a type cannot be evaluated.
    let Some(kind) = trigger.type_.as_deref().filter(|t| !t.is_empty()) else {
        return Err(invalid_input(
            "give the trigger's `type` (Action, Date, segment_join…)",
        ));
    };
    let needs_action = matches!(kind, "Action" | "Date");
    if needs_action && trigger.action_name.as_deref().is_none_or(str::is_empty) {
        return Err(invalid_input(format!(
            "`action_name` is required for a `{kind}` trigger"
        )));
    }
    let mut body = to_value(trigger)?;
    if let Some(date) = body.get("trigger_date").and_then(Value::as_object) {
        let fields = ["date_field", "day_field", "month_field"];
        for field in fields.iter().filter(|f| date.get(**f).is_some()) {
            if !date[*field]
                .as_str()
                .is_some_and(|f| f.starts_with("record."))
            {
                return Err(invalid_input(format!(
                    "`trigger_date.{field}` must start with `record.` (e.g. record.birthday_month)"
                )));
            }
        }
    }
    for window in ["after", "before"] {
        if let Some(period) = body["bounds"][window].as_str() {
            if !is_period(period) {
                return Err(invalid_input(format!(
                    "`bounds.{window}` must be an ISO-8601 period of days such as P0D or P-7D"
                )));
            }
        }
    }
    // `get_mut`, not `body["parameters"]`: indexing would add a `null` when absent.
    if let Some(parameters) = body.get_mut("parameters").and_then(Value::as_array_mut) {
        parameters.iter_mut().try_for_each(parameter_value)?;
    }
    Ok(body)
}

/// `values` → `parameter_value`.
fn parameter_value(parameter: &mut Value) -> Result<(), ActivityError> {
    let values = parameter["values"].take();
    let single = parameter["type"].as_str() == Some("STRING");
    let value = match values.as_array().map(Vec::as_slice) {
        Some([one]) if single => one.clone(),
        Some(_) if single => {
            let name = parameter["parameter_name"].as_str().unwrap_or_default();
            return Err(invalid_input(format!(
                "the STRING parameter `{name}` takes exactly one value"
            )));
        }
        _ => values,
    };
    if let Some(map) = parameter.as_object_mut() {
        map.remove("values");
        map.insert("parameter_value".into(), value);
    }
    Ok(())
}

/// `P7D`, `P-7D`, `P0D`: the periods the trigger's `bounds` take.
fn is_period(period: &str) -> bool {
    let days = period
        .strip_prefix('P')
        .and_then(|p| p.strip_suffix('D'))
        .map(|d| d.strip_prefix('-').unwrap_or(d));
    days.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// An `AutomationCampaign` answer as the WIT record: each definition's trigger
/// made a record, its nested parts JSON text.
fn automation(reply: &Reply<'_>) -> Result<Automation, ActivityError> {
    let mut value = reply.value()?;
    for key in ["active_definition", "draft_definition"] {
        if value[key].is_object() {
            value[key] = definition(&value[key]);
        }
    }
    reply.parse(value)
}

fn definition(api: &Value) -> Value {
    let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
    let mut trigger = api["trigger"]["trigger_def"].clone();
    if let Some(parameters) = trigger["parameters"].as_array_mut() {
        parameters.iter_mut().for_each(values_of);
    }
    json!({
        "state": api["state"],
        "trigger": if trigger.is_object() { trigger } else { Value::Null },
        "trigger_version": api["trigger"]["trigger_version"],
        "trigger_filter": text(&api["trigger"]["trigger_filter"]),
        "workflow": text(&api["workflow"]),
    })
}

/// A parameter's value(s) as `values`, from `parameter_value` or the deprecated
/// `parameter_string_value` / `parameter_list_value`.
fn values_of(parameter: &mut Value) {
    let strings = |v: &Value| -> Vec<Value> {
        match v {
            Value::String(_) => vec![v.clone()],
            Value::Array(items) => items.iter().filter(|i| i.is_string()).cloned().collect(),
            _ => Vec::new(),
        }
    };
    let mut values = strings(&parameter["parameter_value"]);
    for old in ["parameter_list_value", "parameter_string_value"] {
        if values.is_empty() {
            values = strings(&parameter[old]);
        }
    }
    parameter["values"] = Value::Array(values);
}

/// An enum case as the API spells it: `scratch` → `SCRATCH`.
fn upper<T: serde::Serialize>(case: &T) -> String {
    connector_sdk::json::case_name(case).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_values_are_a_string_or_a_list_as_their_type_says() {
        let mut list = json!({"parameter_name": "list_ids", "type": "LIST", "values": ["a", "b"]});
        parameter_value(&mut list).unwrap();
        assert_eq!(
            list,
            json!({"parameter_name": "list_ids", "type": "LIST", "parameter_value": ["a", "b"]})
        );
        let mut one = json!({"parameter_name": "url", "type": "STRING", "values": ["x"]});
        parameter_value(&mut one).unwrap();
        assert_eq!(one["parameter_value"], "x");
        let mut two = json!({"parameter_name": "url", "type": "STRING", "values": ["x", "y"]});
        assert!(parameter_value(&mut two).is_err());
    }

    #[test]
    fn answers_give_values_from_any_of_the_three_fields() {
        for parameter in [
            json!({"parameter_value": ["a"]}),
            json!({"parameter_value": "a"}),
            json!({"parameter_list_value": ["a"]}),
            json!({"parameter_string_value": "a"}),
        ] {
            let mut parameter = parameter;
            values_of(&mut parameter);
            assert_eq!(parameter["values"], json!(["a"]), "{parameter}");
        }
    }

    #[test]
    fn nested_definitions_become_json_text() {
        let api = json!({"state": "DRAFT", "trigger": {"trigger_def": {"type": "Action"}, "trigger_version": "1.0.0"},
                         "workflow": {"workflow_def": {"tasks": []}}});
        let wit = definition(&api);
        assert_eq!(wit["workflow"], r#"{"workflow_def":{"tasks":[]}}"#);
        assert_eq!(wit["trigger"]["type"], "Action");
        assert!(wit["trigger_filter"].is_null());
    }

    #[test]
    fn periods_are_whole_days() {
        for good in ["P0D", "P7D", "P-7D"] {
            assert!(is_period(good), "{good}");
        }
        for bad in ["7D", "P", "PD", "P1W", "P-D"] {
            assert!(!is_period(bad), "{bad}");
        }
    }
}
