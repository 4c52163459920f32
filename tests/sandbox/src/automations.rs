//! Automations (spec tag `Automations`), scope `campaign_data`.
//!
//! - `GET /v3/automations/workflows`: filters `channel`, `created_from` (`SCRATCH`,
//!   `TEMPLATE`), `goals` (a `GOAL` tag value), `name` (exact); `sort_direction` by
//!   creation (`DESC` default, `ASC`). Answers **209**, as the spec documents, with
//!   `{"flow_summaries": [...]}`, unpaged.
//! - `POST /v3/automations/workflows?workflowName=`: a `TriggerDefDto` → 201, a DRAFT
//!   workflow whose draft definition holds the trigger.
//! - `GET` / `PUT /v3/automations/workflows/{automation_flow_id}`: 404 for an unknown id
//!   (400 when it is not a UUID). `PUT {"automation_flow": {...}}` takes `name`,
//!   `description` and `draft_definition` (its trigger checked as on create); `id`, when
//!   sent, must be the path's; status and the active definition are not changed by it.
//!
//! A trigger is checked as its description says: a `type`; `action_name` for `Action`
//! and `Date`; `segment_id` for `segment_join`; `trigger_date` fields starting with
//! `record.`; `bounds` as day periods (`P-7D`); each parameter named, its value a string
//! or a list of strings; `list_ids` values must be lists of the account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::lists;
use crate::request::{uuid, JsonBody, Params};
use crate::state::{Account, Sandbox};

/// The spec's status for a successful list.
const LISTED: u16 = 209;

/// One automation workflow.
#[derive(Clone, Debug)]
pub struct Automation {
    id: Uuid,
    name: String,
    description: String,
    name_explicitly_set: bool,
    draft: Value,
    created: Timestamp,
    updated: Timestamp,
}

impl Automation {
    fn tags() -> Value {
        json!([{"key": "GOAL", "value": "goal_undefined", "display_value": "All from-scratch paths"}])
    }

    /// `AutomationCampaign`.
    fn detail(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "status": "DRAFT",
            "name_explicitly_set": self.name_explicitly_set,
            "structured_tags": Automation::tags(),
            "draft_definition": self.draft,
        })
    }

    /// `AutomationFlowSummaryDto`.
    fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "status": "DRAFT",
            "draft_state": "DRAFT",
            "created_by_id": "123456789",
            "created_date": clock::format(&self.created),
            "update_date": clock::format(&self.updated),
            "structured_tags": Automation::tags(),
        })
    }
}

/// The draft definition holding `trigger` (`AutomationWorkflowDefinition`).
fn definition(id: Uuid, name: &str, trigger: Value) -> Value {
    json!({
        "state": "DRAFT",
        "trigger": {"trigger_def": trigger, "trigger_version": "1.0.0"},
        "workflow": {"workflow_def": {
            "parameters": {"automation_flow_id": id, "automation_flow_name": name, "campaign_id": id},
            "tasks": [],
            "status": "DRAFT",
        }},
    })
}

/// The automation routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/automations/workflows", get(list).post(create))
        .route(
            "/v3/automations/workflows/{automation_flow_id}",
            get(fetch).put(update),
        )
}

/// `GET /v3/automations/workflows`: 209.
async fn list(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let param = |name: &str| query.get(name).map(String::as_str);
    let mut p = Problems::default();
    p.one_of("sort_direction", param("sort_direction"), &["ASC", "DESC"]);
    p.one_of(
        "created_from",
        param("created_from"),
        &["SCRATCH", "TEMPLATE"],
    );
    p.finish(Area::General)?;
    let account = sandbox.account();
    // Every workflow here is an email workflow made from scratch, without a goal.
    let keep = |a: &&Automation| {
        param("channel").is_none_or(|c| c.eq_ignore_ascii_case("email"))
            && param("created_from").is_none_or(|c| c == "SCRATCH")
            && param("goals").is_none_or(|g| g == "goal_undefined")
            && param("name").is_none_or(|n| n == a.name)
    };
    let mut found: Vec<&Automation> = account.automations.iter().filter(keep).collect();
    if param("sort_direction") != Some("ASC") {
        found.reverse();
    }
    let summaries: Vec<Value> = found.iter().map(|a| a.summary()).collect();
    let status = StatusCode::from_u16(LISTED).unwrap_or(StatusCode::OK);
    Ok((status, Json(json!({"flow_summaries": summaries}))))
}

/// `POST /v3/automations/workflows`: 201.
async fn create(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
    JsonBody(trigger): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    check_trigger(&mut p, &account, &trigger, "");
    let given = query.get("workflowName").map(|n| n.trim().to_owned());
    if given.as_deref() == Some("") {
        p.add("workflowName must not be blank");
    }
    p.finish(Area::General)?;
    let action = trigger["action_name"].as_str().unwrap_or("automation");
    let name = given
        .clone()
        .unwrap_or_else(|| format!("Autogenerated {action}: Basic"));
    let id = Uuid::new_v4();
    let now = clock::now();
    let automation = Automation {
        id,
        draft: definition(id, &name, trigger),
        name,
        description: String::new(),
        name_explicitly_set: given.is_some(),
        created: now,
        updated: now,
    };
    let body = automation.detail();
    account.automations.push(automation);
    Ok((StatusCode::CREATED, Json(body)))
}

/// The automation `id` names: 400 when it is not a UUID, 404 when unknown.
fn find<'a>(account: &'a mut Account, id: &str) -> Result<&'a mut Automation, ApiError> {
    let id = uuid(Area::General, "automation_flow_id", id)?;
    account
        .automations
        .iter_mut()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::not_found(Area::General, format!("automation {id} was not found")))
}

/// `GET /v3/automations/workflows/{automation_flow_id}`.
async fn fetch(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    Ok(Json(find(&mut account, &id)?.detail()))
}

/// `PUT /v3/automations/workflows/{automation_flow_id}`: 200 with the workflow.
async fn update(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let flow = &body["automation_flow"];
    let mut p = Problems::default();
    if !flow.is_object() {
        p.add("automation_flow is missing");
    }
    if flow["id"].as_str().is_some_and(|sent| sent != id) {
        p.add("automation_flow.id does not match the path's automation_flow_id");
    }
    if flow["name"].as_str().is_some_and(|n| n.trim().is_empty()) {
        p.add("automation_flow.name must not be blank");
    }
    let trigger = &flow["draft_definition"]["trigger"]["trigger_def"];
    if !trigger.is_null() {
        check_trigger(
            &mut p,
            &account,
            trigger,
            "automation_flow.draft_definition.trigger.trigger_def.",
        );
    }
    p.finish(Area::General)?;
    let automation = find(&mut account, &id)?;
    if let Some(name) = flow["name"].as_str() {
        automation.name_explicitly_set |= name != automation.name;
        automation.name = name.to_owned();
    }
    if let Some(description) = flow["description"].as_str() {
        automation.description = description.to_owned();
    }
    if !trigger.is_null() {
        automation.draft["trigger"]["trigger_def"] = trigger.clone();
    }
    automation.updated = clock::now();
    Ok(Json(automation.detail()))
}

/// Records what is wrong with a `TriggerDefDto`; `at` prefixes the field names.
fn check_trigger(p: &mut Problems, account: &Account, trigger: &Value, at: &str) {
    let kind = trigger["type"].as_str().unwrap_or_default();
    let text = |field: &str| trigger[field].as_str().filter(|t| !t.is_empty());
    match kind {
        "" => p.add(format!("{at}type is missing")),
        "Action" | "Date" if text("action_name").is_none() => {
            p.add(format!("{at}action_name is required for {kind} triggers"))
        }
        "segment_join" if text("segment_id").is_none() => p.add(format!(
            "{at}segment_id is required for segment_join triggers"
        )),
        _ => {}
    }
    for field in ["date_field", "day_field", "month_field"] {
        if let Some(value) = trigger["trigger_date"][field].as_str() {
            if !value.starts_with("record.") {
                p.add(format!("{at}trigger_date.{field} must start with record."));
            }
        }
    }
    for window in ["after", "before"] {
        if let Some(period) = trigger["bounds"][window].as_str() {
            let days = period.strip_prefix('P').and_then(|d| d.strip_suffix('D'));
            let days = days.map(|d| d.strip_prefix('-').unwrap_or(d));
            if !days.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) {
                p.add(format!(
                    "{at}bounds.{window} is not an ISO-8601 period of days"
                ));
            }
        }
    }
    for (i, parameter) in trigger["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        parameter_problems(p, account, parameter, &format!("{at}parameters[{i}]"));
    }
}

/// One trigger parameter: a name, and a value that is a string or a list of strings;
/// `list_ids` name lists of the account.
fn parameter_problems(p: &mut Problems, account: &Account, parameter: &Value, at: &str) {
    if parameter["parameter_name"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        p.add(format!("{at}.parameter_name is missing"));
    }
    let values: Vec<&Value> = match &parameter["parameter_value"] {
        Value::Null => Vec::new(),
        one @ Value::String(_) => vec![one],
        Value::Array(items) => items.iter().collect(),
        _ => {
            p.add(format!(
                "{at}.parameter_value must be a string or a list of strings"
            ));
            return;
        }
    };
    for value in values {
        let Some(text) = value.as_str() else {
            p.add(format!(
                "{at}.parameter_value must be a string or a list of strings"
            ));
            return;
        };
        let unknown_list = parameter["parameter_name"] == "list_ids"
            && Uuid::try_parse(text).map_or(true, |id| !lists::exists(&account.lists, &id));
        if unknown_list {
            p.add(format!(
                "{at}.parameter_value contains {text}, which is not a list"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    use crate::lists::SEEDED;
    use crate::testing::{message, Client};

    fn list_join(list: &str) -> serde_json::Value {
        json!({"type": "Action", "action_name": "list_join", "unique_by": "list_ids",
               "parameters": [{"parameter_name": "list_ids", "type": "LIST", "parameter_value": [list]}]})
    }

    #[tokio::test]
    async fn automations_are_created_listed_and_updated() {
        let client = Client::new();
        let path = "/v3/automations/workflows?workflowName=Welcome";
        let (status, welcome) = client.post(path, list_join(SEEDED[0].0)).await;
        assert_eq!(status, StatusCode::CREATED, "{welcome}");
        assert_eq!(
            (
                welcome["name"].as_str(),
                welcome["name_explicitly_set"].as_bool()
            ),
            (Some("Welcome"), Some(true))
        );
        let trigger = &welcome["draft_definition"]["trigger"]["trigger_def"];
        assert_eq!(trigger["action_name"], "list_join");
        let birthday = json!({"type": "Date", "action_name": "calendar_date", "bounds": {"after": "P0D", "before": "P1D"},
                              "trigger_date": {"type": "Profile", "month_field": "record.birthday_month", "day_field": "record.birthday_day"}});
        let (status, auto) = client.post("/v3/automations/workflows", birthday).await;
        assert_eq!(status, StatusCode::CREATED, "{auto}");
        assert_eq!(auto["name"], "Autogenerated calendar_date: Basic");

        let (status, list) = client.get("/v3/automations/workflows").await;
        assert_eq!(status.as_u16(), 209);
        assert_eq!(
            list["flow_summaries"][0]["name"],
            "Autogenerated calendar_date: Basic"
        );
        let (_, named) = client
            .get("/v3/automations/workflows?name=Welcome&sort_direction=ASC")
            .await;
        assert_eq!(named["flow_summaries"].as_array().unwrap().len(), 1);
        assert_eq!(
            client
                .get("/v3/automations/workflows?created_from=COPY")
                .await
                .0,
            StatusCode::BAD_REQUEST
        );

        let id = welcome["id"].as_str().unwrap();
        let one = format!("/v3/automations/workflows/{id}");
        let change =
            json!({"automation_flow": {"id": id, "name": "Hello", "description": "New members"}});
        let (status, updated) = client.put(&one, change).await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(
            (updated["name"].as_str(), updated["description"].as_str()),
            (Some("Hello"), Some("New members"))
        );
        assert_eq!(
            updated["draft_definition"]["trigger"]["trigger_def"]["action_name"],
            "list_join"
        );
        let (_, read) = client.get(&one).await;
        assert_eq!(read["name"], "Hello");
        let other =
            json!({"automation_flow": {"id": "8c7e7a44-6a8d-4f32-9c9e-3a4b5c6d7e8f", "name": "X"}});
        assert_eq!(client.put(&one, other).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(
            client
                .get("/v3/automations/workflows/8c7e7a44-6a8d-4f32-9c9e-3a4b5c6d7e8f")
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            client.get("/v3/automations/workflows/nope").await.0,
            StatusCode::BAD_REQUEST
        );
        let forbidden = client
            .send(
                "contact_data",
                Method::GET,
                "/v3/automations/workflows",
                None,
            )
            .await;
        assert_eq!(forbidden.0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn triggers_are_checked_as_their_description_says() {
        let client = Client::new();
        for (trigger, why) in [
            (json!({"action_name": "list_join"}), "type is missing"),
            (json!({"type": "Action"}), "action_name is required"),
            (json!({"type": "segment_join"}), "segment_id is required"),
            (
                json!({"type": "Date", "action_name": "calendar_date", "trigger_date": {"month_field": "birthday_month"}}),
                "must start with record.",
            ),
            (
                json!({"type": "Date", "action_name": "calendar_date", "bounds": {"after": "7 days"}}),
                "period of days",
            ),
            (
                list_join("00000000-0000-0000-0000-000000000000"),
                "which is not a list",
            ),
            (
                json!({"type": "Action", "action_name": "visits_page", "parameters": [{"parameter_name": "url", "parameter_value": 5}]}),
                "string or a list",
            ),
        ] {
            let (status, body) = client.post("/v3/automations/workflows", trigger).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
            assert!(message(&body).contains(why), "{why}: {body}");
        }
    }
}
