//! Events (spec tag `Events`), scope `campaign_data`.
//!
//! - `GET /v3/events`: `event_status` (one of the six statuses), `search_text` (name,
//!   title or description), `sort_by` (`name`, `start_time`, `end_time`,
//!   `created_time`, `updated_time`), `sort_order` (`ASC` default, `DESC`), `limit`
//!   1–100 (default 100). Pages carry `next_cursor` and `_links.next.href`
//!   (`/v3/events?next=<cursor>`): the API's cursor parameter is `next`, not `cursor`.
//!   DELETED events are listed only when asked for by status.
//! - `POST /v3/events/default?name&start_time&end_time&placeholder_campaign_id`: 201, a
//!   DRAFT event with one track (its registration form); names are unique (400).
//! - `GET /v3/events/{event_id}` (`include=true` adds `event_settings`), 404 when unknown.
//! - `PATCH /v3/events/{event_id}`: 204; only the fields sent change (`patch`); DRAFT
//!   and ACTIVE events only.
//! - `POST /v3/events/{event_id}/copy`: a new DRAFT event; 207 when a
//!   `source_campaign_activities` id is not one of the event's (listed in
//!   `failed_campaign_activities`), 400 for a DELETED source or a taken name.
//! - Registrations and check-in: `registrations`.
//!
//! Publishing happens in Constant Contact's pages, not the API, so the control API
//! sets an event's status: `POST /__sandbox/events/{event_id}/status {"status"}`.

mod patch;
mod registrations;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as URL_SAFE;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::pagination::{Limits, Page, PageRequest};
use crate::request::{flag, JsonBody, Params};
use crate::state::{Account, Sandbox};

pub use registrations::Registration;

/// The statuses an event can have (`event_status`).
const STATUSES: &[&str] = &[
    "ACTIVE",
    "DRAFT",
    "COMPLETE",
    "DELETED",
    "CANCELLED",
    "ERROR",
];

/// One event.
#[derive(Clone, Debug)]
pub struct Event {
    id: Uuid,
    /// The writable `EventDto` fields, as last set (`name`, `event_start`, `contact`…).
    fields: Map<String, Value>,
    status: String,
    created: Timestamp,
    updated: Timestamp,
    track: Track,
}

/// The event's one registration form (`default_track`).
#[derive(Clone, Debug)]
pub struct Track {
    id: String,
    campaign_activity_id: Uuid,
    conf_email_campaign_activity_id: Uuid,
    registrations: Vec<Registration>,
}

impl Track {
    fn new() -> Track {
        // Track keys are six lowercase letters and digits (`s8zabc`).
        let key: String = Uuid::new_v4().simple().to_string()[..6].to_owned();
        Track {
            id: key,
            campaign_activity_id: Uuid::new_v4(),
            conf_email_campaign_activity_id: Uuid::new_v4(),
            registrations: Vec::new(),
        }
    }
}

impl Event {
    fn name(&self) -> &str {
        self.fields["name"].as_str().unwrap_or_default()
    }

    fn text(&self, field: &str) -> &str {
        self.fields
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn urls(&self) -> Value {
        let eso = URL_SAFE.encode(self.id.as_bytes());
        json!({
            "registration_url": format!("https://lp.constantcontactpages.com/ev/reg/{}", self.track.id),
            "event_calendar_url": format!("https://lp.constantcontactpages.com/ev/calendar/{eso}"),
            "event_widget_url": format!("https://eventsfeed.constantcontact.com/widget/myevents.js?eso={eso}"),
        })
    }

    /// `EventDto`.
    fn detail(&self, include: bool) -> Value {
        let mut body = Value::Object(self.fields.clone());
        let paid = self.track.registrations.iter().any(Registration::is_paid);
        merge(&mut body, self.urls());
        merge(
            &mut body,
            json!({
                "event_id": self.id,
                "campaign_id": self.id,
                "status": self.status,
                "time_zone_abbreviation": "EST",
                "create_time": clock::format(&self.created),
                "last_update_time": clock::format(&self.updated),
                "default_track": {
                    "track_id": self.track.id,
                    "campaign_activity_id": self.track.campaign_activity_id,
                    "conf_email_campaign_activity_id": self.track.conf_email_campaign_activity_id,
                    "registration_type": "TICKET",
                    "tickets_header": "Tickets",
                    "create_time": clock::format(&self.created),
                    "last_update_time": clock::format(&self.updated),
                },
                "event_metadata": {"paid_event": paid, "items_enabled": false, "promo_codes_enabled": false},
            }),
        );
        if include {
            body["event_settings"] = json!({
                "event_requires_payments": paid, "payment_configured": paid,
                "online_payment_configured": false, "item_configured": false,
                "promo_code_configured": false, "ticket_configured": true,
            });
        }
        body
    }

    /// `EventListingDto`.
    fn listing(&self) -> Value {
        let registrations = &self.track.registrations;
        let tickets: usize = registrations.iter().map(|r| r.tickets.len()).sum();
        json!({
            "event_id": self.id,
            "name": self.name(),
            "title": self.fields.get("title"),
            "description": self.fields.get("description"),
            "start_time": self.fields.get("event_start"),
            "end_time": self.fields.get("event_end"),
            "status": self.status,
            "registration_url": self.urls()["registration_url"],
            "event_type": self.fields.get("event_type"),
            "location_type": self.fields.get("location_type"),
            "time_zone_type": "EST",
            "address": self.fields.get("address"),
            "event_registration_summary_metrics": {
                "registration_count": registrations.len(), "ticket_sold": tickets, "item_sold": 0,
            },
            "create_time": clock::format(&self.created),
        })
    }
}

/// Lays `changes`' fields over the object `base`.
fn merge(base: &mut Value, changes: Value) {
    if let (Some(base), Value::Object(changes)) = (base.as_object_mut(), changes) {
        base.extend(changes);
    }
}

/// The event routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/events", get(list))
        .route("/v3/events/default", post(create_default))
        .route("/v3/events/{event_id}", get(fetch).patch(patch::update))
        .route("/v3/events/{event_id}/copy", post(copy))
        .merge(registrations::routes())
}

/// The control routes: an event's status, its registrations.
pub fn control_routes() -> Router<Sandbox> {
    Router::new()
        .route("/__sandbox/events/{event_id}/status", post(set_status))
        .merge(registrations::control_routes())
}

/// The event `id` names, or 404.
fn find<'a>(account: &'a mut Account, id: &str) -> Result<&'a mut Event, ApiError> {
    account
        .events
        .iter_mut()
        .find(|e| e.id.to_string() == id.trim().to_ascii_lowercase())
        .ok_or_else(|| ApiError::not_found(Area::General, format!("event {id} was not found")))
}

/// 400 when `name` is taken by another live event (names are unique per account).
fn ensure_unique(account: &Account, name: &str, except: Option<Uuid>) -> Result<(), ApiError> {
    let taken = account.events.iter().any(|e| {
        Some(e.id) != except && e.status != "DELETED" && e.name().eq_ignore_ascii_case(name)
    });
    if taken {
        return Err(ApiError::validation(
            Area::General,
            format!("an event named {name} already exists"),
        ));
    }
    Ok(())
}

/// A `PageRequest` for a collection whose cursor parameter is `next` (events and
/// registrations): the shared cursor code calls it `cursor`.
fn page_request(
    collection: String,
    mut query: BTreeMap<String, String>,
    limits: Limits,
) -> Result<PageRequest, ApiError> {
    if query.contains_key("prev") {
        return Err(ApiError::bad_request(
            "prev is not a cursor of this page: follow _links.next.href",
        ));
    }
    if let Some(next) = query.remove("next") {
        query.insert("cursor".into(), next);
    }
    PageRequest::from_query(collection, query, limits, Area::General)
}

/// `next_cursor` and `_links.next.href` (`/v3/<collection>?next=<cursor>`).
fn link<T>(page: &Page<T>, body: &mut Value) {
    let Some((path, cursor)) = page.next.as_deref().and_then(|h| h.split_once("?cursor=")) else {
        return;
    };
    body["next_cursor"] = json!(cursor);
    body["_links"] = json!({"next": {"href": format!("{path}?next={cursor}")}});
}

/// `GET /v3/events`.
async fn list(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let limits = Limits {
        default: 100,
        max: 100,
    };
    let request = page_request("events".into(), query, limits)?;
    let mut p = Problems::default();
    p.one_of("event_status", request.param("event_status"), STATUSES);
    let sorts = [
        "name",
        "start_time",
        "end_time",
        "created_time",
        "updated_time",
    ];
    p.one_of("sort_by", request.param("sort_by"), &sorts);
    p.one_of("sort_order", request.param("sort_order"), &["ASC", "DESC"]);
    p.finish(Area::General)?;
    let account = sandbox.account();
    let status = request.param("event_status");
    let text = request.param("search_text").map(str::to_lowercase);
    let keep = |e: &&Event| {
        status.map_or(e.status != "DELETED", |s| e.status == s)
            && text.as_deref().is_none_or(|t| {
                ["name", "title", "description"]
                    .iter()
                    .any(|f| e.text(f).to_lowercase().contains(t))
            })
    };
    let mut events: Vec<&Event> = account.events.iter().filter(keep).collect();
    sort(
        &mut events,
        request.param("sort_by"),
        request.param("sort_order"),
    );
    let page = request.page(&events, |_| true);
    let records: Vec<Value> = page.items.iter().map(|e| e.listing()).collect();
    let mut body = json!({"records": records, "total_records": events.len()});
    link(&page, &mut body);
    Ok(Json(body))
}

/// Orders `events` by `sort_by` (creation order when absent), `DESC` reversed.
fn sort(events: &mut [&Event], sort_by: Option<&str>, order: Option<&str>) {
    match sort_by {
        Some("name") => events.sort_by_key(|e| e.name().to_lowercase()),
        Some("start_time") => events.sort_by_key(|e| e.text("event_start").to_owned()),
        Some("end_time") => events.sort_by_key(|e| e.text("event_end").to_owned()),
        Some("updated_time") => events.sort_by_key(|e| e.updated),
        _ => events.sort_by_key(|e| e.created),
    }
    if order == Some("DESC") {
        events.reverse();
    }
}

/// `POST /v3/events/default`: everything comes in the query.
async fn create_default(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut p = Problems::default();
    let name = query.get("name").map(|n| n.trim().to_owned());
    if name
        .as_deref()
        .is_some_and(|n| n.is_empty() || n.chars().count() > 100)
    {
        p.add("name must be 1 to 100 characters");
    }
    let now = clock::now();
    let start = time(&mut p, "start_time", query.get("start_time"));
    let start = start.unwrap_or(now + chrono::Duration::days(7));
    let end = time(&mut p, "end_time", query.get("end_time"));
    let end = end.unwrap_or(start + chrono::Duration::hours(1));
    if end < start {
        p.add("end_time must not be before start_time");
    }
    p.finish(Area::General)?;
    let mut account = sandbox.account();
    let name = name.unwrap_or_else(|| format!("Untitled Event {}", account.events.len() + 1));
    ensure_unique(&account, &name, None)?;
    let fields = json!({
        "name": name, "title": name, "description": "",
        "event_start": clock::format(&start), "event_end": clock::format(&end),
        "event_type": "OTHER", "location_type": "TBD", "time_zone": "US/Eastern",
        "notify_owner_on_reg": true, "display_on_calendar_flag": true,
    });
    let event = Event {
        id: Uuid::new_v4(),
        fields: fields.as_object().cloned().unwrap_or_default(),
        status: "DRAFT".into(),
        created: now,
        updated: now,
        track: Track::new(),
    };
    let body = event.detail(false);
    account.events.push(event);
    Ok((StatusCode::CREATED, Json(body)))
}

/// A date-time query parameter, or a problem recorded.
fn time(p: &mut Problems, name: &str, text: Option<&String>) -> Option<Timestamp> {
    let text = text?;
    let parsed = clock::parse(text).filter(|_| text.contains('T'));
    if parsed.is_none() {
        p.add(format!("{name} is not an ISO-8601 date-time"));
    }
    parsed
}

/// `GET /v3/events/{event_id}`.
async fn fetch(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let include = flag(
        Area::General,
        "include",
        query.get("include").map(String::as_str),
    )?;
    let mut account = sandbox.account();
    Ok(Json(find(&mut account, &id)?.detail(include)))
}

#[derive(Debug, Deserialize)]
struct CopyInput {
    target_event_name: Option<String>,
    #[serde(default)]
    source_campaign_activities: Vec<String>,
}

/// `POST /v3/events/{event_id}/copy`: 200, or 207 naming the activities not copied.
async fn copy(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<CopyInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut p = Problems::default();
    let name = input.target_event_name.as_deref().map(str::trim);
    p.required("target_event_name", name);
    p.max_len("target_event_name", name, 100);
    let wanted: Vec<Uuid> = input
        .source_campaign_activities
        .iter()
        .filter_map(|a| {
            Uuid::try_parse(a)
                .map_err(|_| {
                    p.add(format!(
                        "source_campaign_activities contains {a}, which is not a UUID"
                    ))
                })
                .ok()
        })
        .collect();
    p.finish(Area::General)?;
    let name = name.unwrap_or_default().to_owned();
    let mut account = sandbox.account();
    let source = find(&mut account, &id)?.clone();
    if source.status == "DELETED" {
        return Err(ApiError::validation(
            Area::General,
            "a DELETED event cannot be copied",
        ));
    }
    ensure_unique(&account, &name, None)?;
    let own = [
        source.track.campaign_activity_id,
        source.track.conf_email_campaign_activity_id,
    ];
    let failed: Vec<Uuid> = wanted.into_iter().filter(|a| !own.contains(a)).collect();
    let now = clock::now();
    let mut fields = source.fields.clone();
    fields.insert("name".into(), json!(name));
    let copy = Event {
        id: Uuid::new_v4(),
        fields,
        status: "DRAFT".into(),
        created: now,
        updated: now,
        track: Track::new(),
    };
    let mut body = copy.detail(false);
    account.events.push(copy);
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        body["failed_campaign_activities"] = json!(failed);
        StatusCode::MULTI_STATUS
    };
    Ok((status, Json(body)))
}

#[derive(Debug, Deserialize)]
struct StatusInput {
    status: String,
}

/// `POST /__sandbox/events/{event_id}/status {"status": "ACTIVE"}`: what publishing,
/// cancelling or completing in Constant Contact's pages does.
async fn set_status(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<StatusInput>,
) -> Result<Json<Value>, ApiError> {
    let mut p = Problems::default();
    p.one_of("status", Some(&input.status), STATUSES);
    p.finish(Area::General)?;
    let mut account = sandbox.account();
    let event = find(&mut account, &id)?;
    event.status = input.status;
    event.updated = clock::now();
    Ok(Json(event.detail(false)))
}
