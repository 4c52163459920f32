//! Resends to non-openers (spec `ResendToNonOpenersInput`, `ResendToNonOpeners`).
//!
//! - `GET /v3/emails/activities/{id}/non_opener_resends`: `[]`, or the one resend.
//! - `POST …/non_opener_resends` → **201** `ResendToNonOpenersObject`. Only a
//!   `primary_email` activity in DRAFT, SCHEDULED or DONE; one resend per campaign
//!   (409). `resend_subject` required; a delay of `delay_days` 1–10 or
//!   `delay_minutes` 720–14,400 (one of them: the sandbox requires a delay, the spec
//!   is silent); with both, `delay_minutes` is ignored, as documented.
//! - `DELETE …/non_opener_resends/{resend_request_id}` → **204**; the id is `DRAFT`
//!   while the email is a draft, else the number the resend was given (404 otherwise).
//!
//! `delay_days` is returned when the delay is a whole number of days. The resend is
//! never sent (`resend_status` stays `SCHEDULED` once the email is scheduled or sent),
//! and no `resend` role activity is added to the campaign.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::activities::{ensure_primary, find, Activity};
use super::{touch, Status};
use crate::auth::{CampaignData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::{JsonBody, PathId};
use crate::state::{Account, Sandbox};

const MINUTES_A_DAY: i64 = 1440;

/// A stored resend to non-openers.
#[derive(Clone, Debug)]
pub struct Resend {
    subject: String,
    delay_minutes: i64,
    /// Its id once the email is no longer a draft.
    number: u64,
}

impl Resend {
    /// The resend as the API shows it, for an email in `status`.
    fn render(&self, status: Status) -> Value {
        let mut body = json!({
            "resend_subject": self.subject,
            "delay_minutes": self.delay_minutes,
            "resend_request_id": self.request_id(status),
        });
        if self.delay_minutes % MINUTES_A_DAY == 0 {
            body["delay_days"] = json!(self.delay_minutes / MINUTES_A_DAY);
        }
        if status != Status::Draft {
            body["resend_status"] = json!("SCHEDULED");
        }
        body
    }

    /// `DRAFT` while the email is a draft, else the resend's number.
    fn request_id(&self, status: Status) -> String {
        match status {
            Status::Draft => "DRAFT".to_owned(),
            _ => self.number.to_string(),
        }
    }
}

/// A `POST` body; every field optional so that a missing one is a 400 naming it.
#[derive(Debug, Deserialize)]
struct ResendInput {
    resend_subject: Option<String>,
    delay_days: Option<i64>,
    delay_minutes: Option<i64>,
}

/// The resend routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v3/emails/activities/{campaign_activity_id}/non_opener_resends",
            get(list).post(create),
        )
        .route(
            "/v3/emails/activities/{campaign_activity_id}/non_opener_resends/{resend_request_id}",
            delete(remove),
        )
}

/// Checks a body against the spec's bounds; the delay in minutes.
fn check(input: ResendInput) -> Result<Resend, ApiError> {
    let mut p = Problems::default();
    p.required("resend_subject", input.resend_subject.as_deref());
    // "If you set both delay_days or delay_minutes, delay_minutes is ignored."
    let minutes = match (input.delay_days, input.delay_minutes) {
        (Some(days), _) if !(1..=10).contains(&days) => {
            p.add("delay_days must be from 1 to 10");
            0
        }
        (Some(days), _) => days * MINUTES_A_DAY,
        (None, Some(m)) if !(720..=14_400).contains(&m) => {
            p.add("delay_minutes must be from 720 to 14400");
            0
        }
        (None, Some(minutes)) => minutes,
        (None, None) => {
            p.add("delay_days or delay_minutes is missing");
            0
        }
    };
    p.finish(Area::General)?;
    Ok(Resend {
        subject: input.resend_subject.unwrap_or_default(),
        delay_minutes: minutes,
        number: 0,
    })
}

/// The primary activity `id` (404 unknown, 400 another role); its index.
fn primary(account: &Account, id: &str, what: &str) -> Result<usize, ApiError> {
    let index = find(account, id)?;
    ensure_primary(&account.activities[index], what)?;
    Ok(index)
}

/// Whether another activity of the campaign already has a resend.
fn campaign_has_resend(account: &Account, activity: &Activity) -> bool {
    account
        .activities
        .iter()
        .any(|a| a.campaign_id == activity.campaign_id && a.resend.is_some())
}

/// `GET …/non_opener_resends`: `[]` or `[resend]`.
async fn list(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let activity = &account.activities[primary(&account, &id, "resent")?];
    let resends: Vec<Value> = activity
        .resend
        .iter()
        .map(|r| r.render(activity.status))
        .collect();
    Ok(Json(json!(resends)))
}

/// `POST …/non_opener_resends`: 201 with the resend.
async fn create(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<ResendInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let index = primary(&account, &id, "resent")?;
    let activity = &account.activities[index];
    if campaign_has_resend(&account, activity) {
        return Err(ApiError::conflict(
            Area::General,
            "the campaign already has a resend to non-openers: only one is allowed",
        ));
    }
    let mut resend = check(input)?;
    // A six-digit number, as the documented example (`389093`).
    resend.number = 100_000 + (activity.id.as_u128() % 900_000) as u64;
    let body = resend.render(activity.status);
    let campaign_id = activity.campaign_id;
    account.activities[index].resend = Some(resend);
    touch(&mut account, campaign_id, clock::now());
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE …/non_opener_resends/{resend_request_id}`: 204.
async fn remove(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path((id, request_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let mut account = sandbox.account();
    let index = primary(&account, &id, "resent")?;
    let activity = &mut account.activities[index];
    let matches = activity
        .resend
        .as_ref()
        .is_some_and(|r| r.request_id(activity.status) == request_id);
    if !matches {
        return Err(ApiError::not_found(
            Area::General,
            format!(
                "resend {request_id} of campaign activity {} was not found",
                activity.id
            ),
        ));
    }
    activity.resend = None;
    let campaign_id = activity.campaign_id;
    touch(&mut account, campaign_id, clock::now());
    Ok(StatusCode::NO_CONTENT)
}
