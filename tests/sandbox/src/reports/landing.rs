//! Landing-page reports (spec `PContact*TrackingActivitiesPage`), scope `campaign_data`,
//! from the events seeded through `POST /__sandbox/landing_pages/{id}/events`.
//!
//! `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/{report}`,
//! most recent first:
//!
//! | report | lists | `tracking_activity_type` |
//! |---|---|---|
//! | `p_contact_opens` | every open | `p_contact_opens` |
//! | `p_unique_contact_opens` | each contact's last open | `p_contact_opens` |
//! | `p_unique_contact_clicks` | each contact's last click per link (`url_id`, `link_url`) | `p_contact_click` |
//! | `p_unique_contact_updates` | each contact's last update | `p_contact_updates` |
//! | `p_unique_contact_adds` | each contact's last add | `p_contact_adds` |
//! | `p_unique_contact_sms_optins` | each contact's last SMS opt-in | `p_contact_sms_optins` |
//!
//! Items carry the contact's `email_address`, names and `deleted_at`; opens and clicks
//! `device_type` `computer`. `contacts_filter` keeps contacts whose first or last name or
//! address contains it (ignoring case). `limit` 1–500 (default 50), cursor-paginated. A
//! malformed id is 400, an id that is no campaign activity 404.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::fnv1a;
use super::seed::{LandingEvent, LandingKind};
use crate::auth::{CampaignData, Needs};
use crate::clock;
use crate::contacts::Contact;
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, Params};
use crate::state::{Account, Sandbox};

const LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};

/// A report: the events it lists, their item type, and whether it keeps only each
/// contact's (and link's) latest.
fn report_of(name: &str) -> Option<(LandingKind, &'static str, bool)> {
    Some(match name {
        "p_contact_opens" => (LandingKind::Open, "p_contact_opens", false),
        "p_unique_contact_opens" => (LandingKind::Open, "p_contact_opens", true),
        "p_unique_contact_clicks" => (LandingKind::Click, "p_contact_click", true),
        "p_unique_contact_updates" => (LandingKind::Update, "p_contact_updates", true),
        "p_unique_contact_adds" => (LandingKind::Add, "p_contact_adds", true),
        "p_unique_contact_sms_optins" => (LandingKind::SmsOptIn, "p_contact_sms_optins", true),
        _ => return None,
    })
}

/// Whether `filter` is in the contact's first or last name or address, ignoring case.
fn matches(contact: &Contact, filter: &str) -> bool {
    let filter = filter.to_lowercase();
    let address = contact.email.as_ref().map(|e| e.address.as_str());
    [
        contact.details.first_name.as_deref(),
        contact.details.last_name.as_deref(),
        address,
    ]
    .into_iter()
    .flatten()
    .any(|text| text.to_lowercase().contains(&filter))
}

fn item(contact: &Contact, event: &LandingEvent, kind: &str) -> Value {
    let mut item = json!({
        "contact_id": contact.id,
        "campaign_activity_id": event.activity,
        "tracking_activity_type": kind,
        "email_address": contact.email.as_ref().map(|e| e.address.as_str()).unwrap_or_default(),
        "created_time": clock::format(&event.at),
    });
    if let Some(first) = &contact.details.first_name {
        item["first_name"] = json!(first);
    }
    if let Some(last) = &contact.details.last_name {
        item["last_name"] = json!(last);
    }
    if let Some(deleted) = &contact.deleted_at {
        item["deleted_at"] = json!(clock::format_date(deleted));
    }
    if matches!(event.kind, LandingKind::Open | LandingKind::Click) {
        item["device_type"] = json!("computer");
    }
    if let Some(url) = &event.link_url {
        item["url_id"] = json!(fnv1a(&format!("{}{url}", event.activity)).to_string());
        item["link_url"] = json!(url);
    }
    item
}

/// The report's items, newest first.
fn items(account: &Account, activity: Uuid, report: &str, filter: Option<&str>) -> Vec<Value> {
    let Some((kind, name, unique)) = report_of(report) else {
        return Vec::new();
    };
    let mut seen: Vec<(Uuid, Option<&str>)> = Vec::new();
    let mut items = Vec::new();
    for event in account.tracking.landing.iter().rev() {
        if event.activity != activity || event.kind != kind {
            continue;
        }
        let key = (event.contact, event.link_url.as_deref());
        if unique && seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Some(contact) = account.contacts.iter().find(|c| c.id == event.contact) else {
            continue;
        };
        if filter.is_none_or(|f| matches(contact, f)) {
            items.push(item(contact, event, name));
        }
    }
    items
}

/// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/{report}`.
pub async fn report(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path((id, report)): Path<(String, String)>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    if report_of(&report).is_none() {
        return Err(ApiError::no_route());
    }
    let activity = request::uuid(Area::General, "campaign_activity_id", &id)?;
    let collection = format!("reports/landing_pages/campaign_details/{id}/{report}");
    let request = PageRequest::from_query(collection, query, LIMITS, Area::General)?;
    let account = sandbox.account();
    if !account.activities.iter().any(|a| a.id == activity) {
        return Err(ApiError::not_found(
            Area::General,
            format!("campaign activity {activity} was not found"),
        ));
    }
    let items = items(
        &account,
        activity,
        &report,
        request.param("contacts_filter"),
    );
    let page = request.page(&items, |_| true);
    let mut body = json!({ "tracking_activities": page.items });
    page.link(&mut body);
    Ok(Json(body))
}
