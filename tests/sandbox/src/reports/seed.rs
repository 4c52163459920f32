//! The control routes that seed tracking data the simulated API cannot make itself.
//!
//! | Route | Effect |
//! |---|---|
//! | `POST /__sandbox/email_reports/{campaign_activity_id}/sends` | `{"contact_ids"}` → 201 `{"sends"}`: the activity sent now to those contacts (those not sent it yet, with an address), their outcomes as for any send (module `reports`); the activity's status does not change |
//! | `POST /__sandbox/landing_pages/{campaign_activity_id}/events` | `{"contact_id", "type", "link_url"?}` → 201 the event: a landing-page `open`, `click` (needs `link_url`), `update`, `add` or `sms_optin` by the contact, now |
//! | `POST /__sandbox/sms_campaigns` | `{"name", "sends", "delivers"?, "clicks"?, "optouts"?, "last_sent_date"?}` → 201 the campaign summary: an SMS campaign sent (delivers default to sends, clicks and opt-outs to 0, the date to now) |
//!
//! The sandbox has no landing-page campaigns: any campaign activity it knows stands in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::request::{self, JsonBody};
use crate::state::{Account, Sandbox};

/// What a contact did on a landing page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LandingKind {
    Open,
    Click,
    Update,
    Add,
    SmsOptIn,
}

impl LandingKind {
    const NAMES: [(&'static str, LandingKind); 5] = [
        ("open", LandingKind::Open),
        ("click", LandingKind::Click),
        ("update", LandingKind::Update),
        ("add", LandingKind::Add),
        ("sms_optin", LandingKind::SmsOptIn),
    ];
}

/// One landing-page event.
#[derive(Clone, Debug)]
pub struct LandingEvent {
    pub activity: Uuid,
    pub contact: Uuid,
    pub kind: LandingKind,
    pub link_url: Option<String>,
    pub at: Timestamp,
}

/// One SMS campaign's totals.
#[derive(Clone, Debug)]
pub struct SmsCampaign {
    pub id: Uuid,
    pub name: String,
    pub sends: u32,
    pub delivers: u32,
    pub clicks: u32,
    pub optouts: u32,
    pub last_sent: Timestamp,
}

/// Tracking the API records but the sandbox cannot produce: seeded through these routes.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Landing-page events, oldest first.
    pub landing: Vec<LandingEvent>,
    /// SMS campaigns, oldest first.
    pub sms: Vec<SmsCampaign>,
}

/// The seeding routes.
pub fn control_routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/__sandbox/email_reports/{campaign_activity_id}/sends",
            post(sends),
        )
        .route(
            "/__sandbox/landing_pages/{campaign_activity_id}/events",
            post(landing_event),
        )
        .route("/__sandbox/sms_campaigns", post(sms_campaign))
}

/// The index of the campaign activity `text` names (400 malformed, 404 unknown).
fn activity_index(account: &Account, text: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::General, "campaign_activity_id", text)?;
    account
        .activities
        .iter()
        .position(|a| a.id == id)
        .ok_or_else(|| {
            ApiError::not_found(
                Area::General,
                format!("campaign activity {id} was not found"),
            )
        })
}

/// A contact id of the account (400 malformed, 404 unknown).
fn contact(account: &Account, text: &str) -> Result<Uuid, ApiError> {
    let id = request::uuid(Area::General, "contact_id", text)?;
    match account.contacts.iter().any(|c| c.id == id) {
        true => Ok(id),
        false => Err(ApiError::not_found(
            Area::General,
            format!("contact {id} was not found"),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct SendsInput {
    contact_ids: Vec<String>,
}

async fn sends(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SendsInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let index = activity_index(&account, &id)?;
    let contacts = input
        .contact_ids
        .iter()
        .map(|c| contact(&account, c))
        .collect::<Result<Vec<_>, _>>()?;
    let sent = super::record_to(&mut account, index, contacts, clock::now());
    Ok((StatusCode::CREATED, Json(json!({ "sends": sent }))))
}

#[derive(Debug, Deserialize)]
struct EventInput {
    contact_id: String,
    #[serde(rename = "type")]
    kind: String,
    link_url: Option<String>,
}

async fn landing_event(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let index = activity_index(&account, &id)?;
    let contact = contact(&account, &input.contact_id)?;
    let Some((_, kind)) = LandingKind::NAMES.iter().find(|(n, _)| *n == input.kind) else {
        return Err(ApiError::bad_request(
            "type must be one of open, click, update, add, sms_optin",
        ));
    };
    if (*kind == LandingKind::Click) != input.link_url.is_some() {
        return Err(ApiError::bad_request(
            "link_url is required for a click and only for a click",
        ));
    }
    let event = LandingEvent {
        activity: account.activities[index].id,
        contact,
        kind: *kind,
        link_url: input.link_url,
        at: clock::now(),
    };
    let body = json!({"campaign_activity_id": event.activity, "contact_id": contact,
        "type": input.kind, "link_url": event.link_url, "created_time": clock::format(&event.at)});
    account.tracking.landing.push(event);
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize)]
struct SmsInput {
    name: String,
    sends: u32,
    delivers: Option<u32>,
    clicks: Option<u32>,
    optouts: Option<u32>,
    last_sent_date: Option<String>,
}

async fn sms_campaign(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<SmsInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let delivers = input.delivers.unwrap_or(input.sends);
    let (clicks, optouts) = (input.clicks.unwrap_or(0), input.optouts.unwrap_or(0));
    if delivers > input.sends || clicks > delivers || optouts > delivers {
        return Err(ApiError::bad_request(
            "delivers must not exceed sends, nor clicks and optouts delivers",
        ));
    }
    let last_sent = match input.last_sent_date.as_deref() {
        None => clock::now(),
        Some(text) => clock::parse(text)
            .ok_or_else(|| ApiError::bad_request("last_sent_date must be an ISO-8601 date-time"))?,
    };
    let campaign = SmsCampaign {
        id: Uuid::new_v4(),
        name: input.name,
        sends: input.sends,
        delivers,
        clicks,
        optouts,
        last_sent,
    };
    let body = super::sms::summary(&campaign);
    sandbox.account().tracking.sms.push(campaign);
    Ok((StatusCode::CREATED, Json(body)))
}
