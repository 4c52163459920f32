//! An event track's registrations and ticket check-in.
//!
//! - `GET …/tracks/{track_id}/registrations`: filters `registration_status`,
//!   `payment_status` (the spec's enums), `search_text` (first or last name, email);
//!   `sort_by` (the spec's seven fields), `sort_order`; `limit` or `page_size` (equal
//!   when both, default 50); `next` cursor, as events.
//! - `GET …/registrations/{registration_id}`: `DetailedRegistrationDto`, its tickets with
//!   their `order_ticket_key`.
//! - `PUT …/registrations` and `…/registrations/payment_status`: 200 without a body
//!   when every id changed, 207 `{"failed_registration_ids"}` naming unknown ids.
//!   Registrations without a payment method are skipped by the payment update.
//! - `POST /v3/events/{event_id}/check_in/tickets` and `undo_check_in/tickets`:
//!   `order_ticket_keys`; the event must be ACTIVE or COMPLETE; a canceled
//!   registration's tickets cannot be checked in; 204.
//!
//! Registrations come from the public registration page, so the control API makes
//! them: `POST /__sandbox/events/{event_id}/registrations {first_name, last_name,
//! email_address, tickets?: [{ticket_name, price}], payment_method?, payment_status?,
//! registration_status?}` → 201 with the `DetailedRegistrationDto`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::pagination::Limits;
use crate::request::{flag, JsonBody, Params};
use crate::state::Sandbox;

use super::{find, link, page_request, Event};

const REGISTRATION_STATUSES: &[&str] = &[
    "PENDING",
    "REGISTERED",
    "CANCELED",
    "EXPIRED",
    "IN_PROGRESS",
    "FAILED",
];
const PAYMENT_STATUSES: &[&str] = &[
    "PENDING",
    "PAID",
    "REFUNDED",
    "CANCELLED",
    "FAILED",
    "CHARGED_BACK",
];

/// One registration.
#[derive(Clone, Debug)]
pub struct Registration {
    id: Uuid,
    contact_id: Uuid,
    first_name: String,
    last_name: String,
    email_address: String,
    status: String,
    payment_status: Option<String>,
    payment_method: Option<String>,
    time: Timestamp,
    pub(super) tickets: Vec<Ticket>,
}

/// One ticket of a registration.
#[derive(Clone, Debug)]
pub struct Ticket {
    key: String,
    name: String,
    price: f64,
    checked_in: Option<Timestamp>,
}

impl Registration {
    /// Whether it was paid for (a payment method is set).
    pub fn is_paid(&self) -> bool {
        self.payment_method.is_some()
    }

    fn total(&self) -> f64 {
        self.tickets.iter().map(|t| t.price).sum()
    }

    /// `checkedIn_tickets`, `checkin_status`, `eligible_checkin_tickets`.
    fn check_in(&self) -> Value {
        let done = self
            .tickets
            .iter()
            .filter(|t| t.checked_in.is_some())
            .count();
        let status = match done {
            0 => "NOT_CHECKED_IN",
            n if n == self.tickets.len() => "CHECKED_IN",
            _ => "PARTIALLY_CHECKED_IN",
        };
        let eligible = if self.status == "CANCELED" {
            0
        } else {
            self.tickets.len()
        };
        json!({"checkedIn_tickets": done, "checkin_status": status, "eligible_checkin_tickets": eligible})
    }

    /// `RegistrantInformationLiteDto`.
    fn summary(&self, track: &str) -> Value {
        let mut body = json!({
            "registration_id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email_address": self.email_address,
            "registration_status": self.status,
            "payment_status": self.payment_status,
            "registration_time": clock::format(&self.time),
            "tickets": self.tickets.len(),
            "total": self.total(),
            "track_key": track,
            "new_contact": true,
        });
        super::merge(&mut body, self.check_in());
        body
    }

    /// `DetailedRegistrationDto`.
    fn detail(&self, event: &str) -> Value {
        let field = |order: u32, name: &str, label: &str, value: &str| {
            json!({"display_order": order, "field_name": name, "field_label": label,
                   "field_type": "TEXT", "field_value": value})
        };
        let tickets: Vec<Value> = self
            .tickets
            .iter()
            .map(|t| {
                json!({
                    "order_ticket_key": t.key, "ticket_name": t.name, "price": t.price,
                    "checked_in_time": t.checked_in.as_ref().map(clock::format),
                    "editable": false, "fields": [],
                })
            })
            .collect();
        let lines: Vec<Value> = self
            .tickets
            .iter()
            .map(|t| {
                json!({
                    "name": t.name, "line_item_type": "TICKET",
                    "amount": format!("${:.2}", t.price), "amount_unformatted": t.price,
                })
            })
            .collect();
        let mut body = json!({
            "registration_id": self.id,
            "contact_id": self.contact_id,
            "registration_date": clock::format(&self.time),
            "registration_status": self.status,
            "display_physical_tickets": true,
            "contact": [
                field(1, "CONTACT_FIRST_NAME", "First Name", &self.first_name),
                field(2, "CONTACT_LAST_NAME", "Last Name", &self.last_name),
                field(3, "CONTACT_EMAIL_ADDRESS", "Email Address", &self.email_address),
            ],
            "tickets": tickets,
            "order_summary": {
                "number": self.id.simple().to_string()[..10].to_owned(),
                "title": event,
                "payment_method": self.payment_method,
                "payment_status": self.payment_status,
                "details": lines,
            },
        });
        super::merge(&mut body, self.check_in());
        body
    }
}

/// The registration and check-in routes.
pub fn routes() -> Router<Sandbox> {
    let track = "/v3/events/{event_id}/tracks/{track_id}/registrations";
    Router::new()
        .route(track, get(list).put(set_status))
        .route(&format!("{track}/payment_status"), put(set_payment))
        .route(&format!("{track}/{{registration_id}}"), get(fetch))
        .route("/v3/events/{event_id}/check_in/tickets", post(check_in))
        .route(
            "/v3/events/{event_id}/undo_check_in/tickets",
            post(undo_check_in),
        )
}

/// The control route that registers someone.
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route("/__sandbox/events/{event_id}/registrations", post(register))
}

/// The event and its track, or 404 for either.
fn track<'a>(event: &'a mut Event, track: &str) -> Result<&'a mut super::Track, ApiError> {
    if event.track.id != track {
        return Err(ApiError::not_found(
            Area::General,
            format!("track {track} was not found"),
        ));
    }
    Ok(&mut event.track)
}

/// `GET …/registrations`.
async fn list(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path((event_id, track_id)): Path<(String, String)>,
    Params(mut query): Params,
) -> Result<Json<Value>, ApiError> {
    if let Some(size) = query.remove("page_size") {
        if query.get("limit").is_some_and(|l| *l != size) {
            return Err(ApiError::bad_request(
                "limit and page_size must be the same value",
            ));
        }
        query.insert("limit".into(), size);
    }
    let collection = format!("events/{event_id}/tracks/{track_id}/registrations");
    let limits = Limits {
        default: 50,
        max: 65_535,
    };
    let request = page_request(collection, query, limits)?;
    let mut p = Problems::default();
    p.one_of(
        "registration_status",
        request.param("registration_status"),
        REGISTRATION_STATUSES,
    );
    p.one_of(
        "payment_status",
        request.param("payment_status"),
        PAYMENT_STATUSES,
    );
    let sorts = [
        "first_name",
        "last_name",
        "email_address",
        "registration_status",
        "payment_status",
        "tickets",
        "total",
    ];
    p.one_of("sort_by", request.param("sort_by"), &sorts);
    p.one_of("sort_order", request.param("sort_order"), &["ASC", "DESC"]);
    p.finish(Area::General)?;
    let mut account = sandbox.account();
    let track = track(find(&mut account, &event_id)?, &track_id)?;
    let text = request.param("search_text").map(str::to_lowercase);
    let keep = |r: &&Registration| {
        request
            .param("registration_status")
            .is_none_or(|s| r.status == s)
            && request
                .param("payment_status")
                .is_none_or(|s| r.payment_status.as_deref() == Some(s))
            && text.as_deref().is_none_or(|t| {
                [&r.first_name, &r.last_name, &r.email_address]
                    .iter()
                    .any(|f| f.to_lowercase().contains(t))
            })
    };
    let mut found: Vec<&Registration> = track.registrations.iter().filter(keep).collect();
    sort(
        &mut found,
        request.param("sort_by"),
        request.param("sort_order"),
    );
    let page = request.page(&found, |_| true);
    let records: Vec<Value> = page.items.iter().map(|r| r.summary(&track.id)).collect();
    let mut body = json!({"records": records, "total_records": found.len()});
    link(&page, &mut body);
    Ok(Json(body))
}

/// Orders registrations by `sort_by` (registration order when absent).
fn sort(found: &mut [&Registration], sort_by: Option<&str>, order: Option<&str>) {
    let text = |r: &Registration| -> String {
        match sort_by {
            Some("first_name") => r.first_name.to_lowercase(),
            Some("last_name") => r.last_name.to_lowercase(),
            Some("email_address") => r.email_address.to_lowercase(),
            Some("registration_status") => r.status.clone(),
            Some("payment_status") => r.payment_status.clone().unwrap_or_default(),
            // Numbers as fixed-width text sort as numbers.
            Some("tickets") => format!("{:08}", r.tickets.len()),
            Some("total") => format!("{:016.2}", r.total()),
            _ => String::new(),
        }
    };
    found.sort_by_key(|r| text(r));
    if order == Some("DESC") {
        found.reverse();
    }
}

/// `GET …/registrations/{registration_id}`.
async fn fetch(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path((event_id, track_id, id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let event = find(&mut account, &event_id)?;
    let name = event.name().to_owned();
    let registration = track(event, &track_id)?
        .registrations
        .iter()
        .find(|r| r.id.to_string() == id)
        .ok_or_else(|| {
            ApiError::not_found(Area::General, format!("registration {id} was not found"))
        })?;
    Ok(Json(registration.detail(&name)))
}

#[derive(Debug, Deserialize)]
struct StatusUpdate {
    #[serde(default)]
    registration_ids: Vec<String>,
    registration_status: Option<String>,
    payment_status: Option<String>,
}

/// `PUT …/registrations`: sets `registration_status`.
async fn set_status(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path((event_id, track_id)): Path<(String, String)>,
    Params(query): Params,
    JsonBody(input): JsonBody<StatusUpdate>,
) -> Result<Response, ApiError> {
    for name in [
        "increase_count",
        "increase_item_count",
        "return_items_to_inventory",
    ] {
        flag(Area::General, name, query.get(name).map(String::as_str))?;
    }
    let status = input.registration_status.clone();
    let mut p = Problems::default();
    p.required("registration_status", status.as_deref());
    p.one_of(
        "registration_status",
        status.as_deref(),
        REGISTRATION_STATUSES,
    );
    update(
        &sandbox,
        &event_id,
        &track_id,
        input.registration_ids,
        p,
        |r| {
            r.status = status.clone().unwrap_or_default();
        },
    )
}

/// `PUT …/registrations/payment_status`: sets `payment_status` of paid registrations.
async fn set_payment(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path((event_id, track_id)): Path<(String, String)>,
    JsonBody(input): JsonBody<StatusUpdate>,
) -> Result<Response, ApiError> {
    let status = input.payment_status.clone();
    let mut p = Problems::default();
    p.required("payment_status", status.as_deref());
    p.one_of("payment_status", status.as_deref(), PAYMENT_STATUSES);
    update(
        &sandbox,
        &event_id,
        &track_id,
        input.registration_ids,
        p,
        |r| {
            // Free registrations are skipped silently (spec), not reported as failed.
            if r.is_paid() {
                r.payment_status.clone_from(&status);
            }
        },
    )
}

/// Applies `change` to each registration of `ids`: 200 without a body when all
/// exist, else 207 naming the ones that do not.
fn update(
    sandbox: &Sandbox,
    event_id: &str,
    track_id: &str,
    ids: Vec<String>,
    mut p: Problems,
    change: impl Fn(&mut Registration),
) -> Result<Response, ApiError> {
    if ids.is_empty() {
        p.add("registration_ids is missing");
    }
    p.finish(Area::General)?;
    let mut account = sandbox.account();
    let track = track(find(&mut account, event_id)?, track_id)?;
    let mut failed = Vec::new();
    for id in ids {
        match track
            .registrations
            .iter_mut()
            .find(|r| r.id.to_string() == id)
        {
            Some(registration) => change(registration),
            None => failed.push(id),
        }
    }
    if failed.is_empty() {
        return Ok(StatusCode::OK.into_response());
    }
    let body = json!({"failed_registration_ids": failed});
    Ok((StatusCode::MULTI_STATUS, Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
struct TicketKeys {
    #[serde(default)]
    order_ticket_keys: Vec<String>,
}

/// `POST /v3/events/{event_id}/check_in/tickets`: 204.
async fn check_in(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(event_id): Path<String>,
    JsonBody(input): JsonBody<TicketKeys>,
) -> Result<StatusCode, ApiError> {
    tickets(
        &sandbox,
        &event_id,
        input.order_ticket_keys,
        Some(clock::now()),
    )
}

/// `POST /v3/events/{event_id}/undo_check_in/tickets`: 204.
async fn undo_check_in(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(event_id): Path<String>,
    JsonBody(input): JsonBody<TicketKeys>,
) -> Result<StatusCode, ApiError> {
    tickets(&sandbox, &event_id, input.order_ticket_keys, None)
}

/// Sets the check-in time of every ticket of `keys` (`None`: not checked in); all
/// or nothing.
fn tickets(
    sandbox: &Sandbox,
    event_id: &str,
    keys: Vec<String>,
    at: Option<Timestamp>,
) -> Result<StatusCode, ApiError> {
    if keys.is_empty() {
        return Err(ApiError::validation(
            Area::General,
            "order_ticket_keys is missing",
        ));
    }
    let mut account = sandbox.account();
    let event = find(&mut account, event_id)?;
    if !matches!(event.status.as_str(), "ACTIVE" | "COMPLETE") {
        let message = format!(
            "tickets of a {} event cannot be checked in; the event must be ACTIVE or COMPLETE",
            event.status
        );
        return Err(ApiError::validation(Area::General, message));
    }
    let mut p = Problems::default();
    for key in &keys {
        let owner = event
            .track
            .registrations
            .iter()
            .find(|r| r.tickets.iter().any(|t| &t.key == key));
        match owner {
            None => p.add(format!(
                "order_ticket_keys contains {key}, which is not a ticket of this event"
            )),
            Some(r) if at.is_some() && r.status == "CANCELED" => p.add(format!(
                "ticket {key} belongs to a CANCELED registration and cannot be checked in"
            )),
            Some(_) => {}
        }
    }
    p.finish(Area::General)?;
    let all = event
        .track
        .registrations
        .iter_mut()
        .flat_map(|r| r.tickets.iter_mut());
    for ticket in all.filter(|t| keys.contains(&t.key)) {
        ticket.checked_in = at;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct TicketInput {
    ticket_name: String,
    #[serde(default)]
    price: f64,
}

#[derive(Debug, Deserialize)]
struct RegisterInput {
    first_name: String,
    last_name: String,
    email_address: String,
    tickets: Option<Vec<TicketInput>>,
    payment_method: Option<String>,
    payment_status: Option<String>,
    registration_status: Option<String>,
}

/// `POST /__sandbox/events/{event_id}/registrations`: 201 with the registration.
async fn register(
    State(sandbox): State<Sandbox>,
    Path(event_id): Path<String>,
    JsonBody(input): JsonBody<RegisterInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut p = Problems::default();
    p.email("email_address", Some(&input.email_address));
    p.one_of(
        "registration_status",
        input.registration_status.as_deref(),
        REGISTRATION_STATUSES,
    );
    p.one_of(
        "payment_status",
        input.payment_status.as_deref(),
        PAYMENT_STATUSES,
    );
    p.finish(Area::General)?;
    let tickets = input.tickets.unwrap_or_else(|| {
        vec![TicketInput {
            ticket_name: "General Admission".into(),
            price: 0.0,
        }]
    });
    let registration = Registration {
        id: Uuid::new_v4(),
        contact_id: Uuid::new_v4(),
        first_name: input.first_name,
        last_name: input.last_name,
        email_address: input.email_address,
        status: input
            .registration_status
            .unwrap_or_else(|| "REGISTERED".into()),
        payment_status: input
            .payment_status
            .or_else(|| input.payment_method.as_ref().map(|_| "PENDING".into())),
        payment_method: input.payment_method,
        time: clock::now(),
        tickets: tickets
            .into_iter()
            .map(|t| Ticket {
                key: Uuid::new_v4().simple().to_string()[..6].to_owned(),
                name: t.ticket_name,
                price: t.price,
                checked_in: None,
            })
            .collect(),
    };
    let mut account = sandbox.account();
    let event = find(&mut account, &event_id)?;
    let body = registration.detail(event.name());
    event.track.registrations.push(registration);
    Ok((StatusCode::CREATED, Json(body)))
}
