//! `GET /v3/reports/contact_reports/{contact_id}/activity_details` (spec
//! `ContactTrackingActivitiesPage`), scope `contact_data`.
//!
//! Exactly one of `tracking_activities_list` (csv) and `tracking_activity_type`
//! (repeated; commas accepted too) names the types wanted, else 400; each type must be
//! one of the spec's (`em_sends, em_opens, em_clicks, em_bounces, em_optouts,
//! em_forwards, p_contact_open, p_contact_click, p_contact_add, p_contact_update`).
//! `include_campaign_activity_names` (default true) adds `campaign_activity_name`, the
//! campaign's name. `limit` 1–100 (default 100), cursor-paginated. 404 for an unknown
//! contact.
//!
//! Each send yields `em_sends`, then as its outcome says `em_bounces`, `em_opens`,
//! `em_clicks`, `em_forwards`, `em_optouts`, all at the send time. Items are newest send first and,
//! within a send, in the order opt-out, click, open, bounce, send (latest in the funnel
//! first). Landing-page (`p_*`) activities never occur here.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Outcome, Send};
use crate::auth::{ContactData, Needs};
use crate::campaigns;
use crate::clock;
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request;
use crate::state::{Account, Sandbox};

const LIMITS: Limits = Limits {
    default: 100,
    max: 100,
};
const TYPES: [&str; 10] = [
    "em_sends",
    "em_opens",
    "em_clicks",
    "em_bounces",
    "em_optouts",
    "em_forwards",
    "p_contact_open",
    "p_contact_click",
    "p_contact_add",
    "p_contact_update",
];
/// Where the normalised type list travels in the query (and so in cursors).
const NORMALISED: &str = "tracking_activities_list";

/// The query with the two ways of naming types folded into one csv; 400 when both or
/// neither are given.
fn normalise(raw: Option<String>) -> Result<BTreeMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::bad_request("the query string cannot be decoded"))?;
    let mut query = BTreeMap::new();
    let mut array = Vec::new();
    for (name, value) in pairs {
        if name == "tracking_activity_type" {
            array.push(value);
        } else {
            query.insert(name, value);
        }
    }
    if query.contains_key("cursor") {
        return Ok(query);
    }
    match (query.contains_key(NORMALISED), array.is_empty()) {
        (true, false) => Err(ApiError::validation(
            Area::General,
            "tracking_activities_list and tracking_activity_type are mutually exclusive",
        )),
        (false, true) => Err(ApiError::validation(
            Area::General,
            "tracking_activities_list or tracking_activity_type is required",
        )),
        (false, false) => {
            query.insert(NORMALISED.to_owned(), array.join(","));
            Ok(query)
        }
        (true, true) => Ok(query),
    }
}

/// The tracking items of one send, latest in the funnel first.
fn events(send: &Send) -> Vec<&'static str> {
    let mut events = Vec::new();
    match send.outcome {
        Outcome::OptOut => events.extend(["em_optouts", "em_opens"]),
        Outcome::Click => events.extend(["em_clicks", "em_opens"]),
        Outcome::Forward => events.extend(["em_forwards", "em_opens"]),
        Outcome::Open => events.push("em_opens"),
        Outcome::Bounce => events.push("em_bounces"),
        Outcome::NotOpened => {}
    }
    events.push("em_sends");
    events
}

fn items(account: &Account, contact: Uuid, types: &[&str], names: bool) -> Vec<Value> {
    let mut sends: Vec<&Send> = account
        .sends
        .iter()
        .filter(|s| s.contact == contact)
        .collect();
    // Newest first; the sort is stable, so sends at one instant keep their order.
    sends.sort_by_key(|s| std::cmp::Reverse(s.at));
    let mut items = Vec::new();
    for send in sends {
        for kind in events(send).into_iter().filter(|k| types.contains(k)) {
            let mut item = json!({
                "contact_id": contact,
                "campaign_activity_id": send.activity,
                "created_time": clock::format(&send.at),
                "tracking_activity_type": kind,
            });
            if names {
                item["campaign_activity_name"] =
                    json!(campaigns::campaign_name(account, send.campaign));
            }
            items.push(item);
        }
    }
    items
}

/// `GET /v3/reports/contact_reports/{contact_id}/activity_details`.
pub async fn activity_details(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Path(contact_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let contact = request::uuid(Area::General, "contact_id", &contact_id)?;
    let collection = format!("reports/contact_reports/{contact}/activity_details");
    let request = PageRequest::from_query(collection, normalise(raw)?, LIMITS, Area::General)?;
    let types = request::csv(Area::General, NORMALISED, request.param(NORMALISED), &TYPES)?;
    let names = request.param("include_campaign_activity_names").is_none()
        || request::flag(
            Area::General,
            "include_campaign_activity_names",
            request.param("include_campaign_activity_names"),
        )?;
    let account = sandbox.account();
    if !account.contacts.iter().any(|c| c.id == contact) {
        return Err(ApiError::not_found(
            Area::General,
            format!("contact {contact} was not found"),
        ));
    }
    let items = items(&account, contact, &types, names);
    let page = request.page(&items, |_| true);
    let mut body = json!({ "tracking_activities": page.items });
    page.link(&mut body);
    Ok(Json(body))
}
