//! Scheduling and test sends of a campaign activity (reference §3.5).
//!
//! - `POST /v3/emails/activities/{id}/schedules` `{"scheduled_date": ...}`: a future
//!   date or date-time schedules (201 `[{"scheduled_date": ...}]`, SCHEDULED), `"0"`
//!   sends now (201 `[]`, DONE). Only `primary_email` activities in DRAFT, DONE or ERROR
//!   with recipients set (reference §4 item 6).
//! - `GET` → the same array (empty unless SCHEDULED); `DELETE` → 204, only while
//!   SCHEDULED, back to the status before.
//! - `POST /v3/emails/activities/{id}/tests` `{"email_addresses": [1–5], ...}` → 204;
//!   each address counts toward 50 test emails a day.
//!
//! No email leaves the sandbox, but sends are recorded for the reports: `"0"` sends at
//! once, and a schedule whose time has come (sandbox clock, see `clock`) is sent the
//! next time any endpoint locks the account (DONE, sends recorded at the scheduled
//! time). `POST /__sandbox/campaigns/{campaign_activity_id}/send` sends one at once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::activities::{ensure_primary, find};
use super::{touch, Status};
use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::reports;
use crate::request::{JsonBody, PathId};
use crate::state::{Account, Sandbox};

/// Test emails allowed per day (reference §3.5).
const TESTS_PER_DAY: usize = 50;
/// Recipients allowed per test send.
const TESTS_PER_REQUEST: usize = 5;

/// Test emails sent on the current UTC day.
#[derive(Debug, Default)]
pub struct TestSends {
    day: Option<NaiveDate>,
    count: usize,
}

/// The schedule and test routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v3/emails/activities/{campaign_activity_id}/schedules",
            get(fetch).post(schedule).delete(unschedule),
        )
        .route(
            "/v3/emails/activities/{campaign_activity_id}/tests",
            post(test_send),
        )
}

/// The control route that sends an activity at once.
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route(
        "/__sandbox/campaigns/{campaign_activity_id}/send",
        post(control_send),
    )
}

/// `POST /__sandbox/campaigns/{campaign_activity_id}/send`: as a schedule of `"0"`, in
/// any status but REMOVED (a SCHEDULED activity is sent early); 201
/// `{"campaign_activity_id", "sends"}` with the number of sends recorded now.
async fn control_send(
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let activity = &account.activities[index];
    ensure_primary(activity, "sent")?;
    if !activity.has_recipients() {
        return Err(ApiError::validation(
            Area::General,
            "the activity has no recipients: set contact_list_ids or segment_ids first",
        ));
    }
    let activity_id = activity.id;
    let sends = send_now(&mut account, index, clock::now());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "campaign_activity_id": activity_id, "sends": sends })),
    ))
}

/// Sends every activity whose schedule has come (sandbox clock): DONE, with its sends
/// recorded at the scheduled time.
pub fn settle(account: &mut Account, now: Timestamp) {
    let due: Vec<(usize, Timestamp)> = account
        .activities
        .iter()
        .enumerate()
        .filter(|(_, a)| a.status == Status::Scheduled)
        .filter_map(|(i, a)| a.scheduled_date.filter(|at| *at <= now).map(|at| (i, at)))
        .collect();
    for (index, at) in due {
        send_now(account, index, at);
    }
}

/// Sends activity `index` at `at`: DONE, no schedule, one send recorded per recipient
/// that has not had it yet (see `reports`); returns how many sends were recorded.
pub fn send_now(account: &mut Account, index: usize, at: Timestamp) -> usize {
    let activity = &mut account.activities[index];
    activity.status = Status::Done;
    activity.before_schedule = None;
    activity.scheduled_date = None;
    let campaign_id = activity.campaign_id;
    let sent = reports::record(account, index, at);
    account.activities[index].record_send(at, sent);
    touch(account, campaign_id, at);
    sent
}

#[derive(Debug, Deserialize)]
struct ScheduleInput {
    scheduled_date: Option<Value>,
}

/// When to send: `None` for now (`"0"`), else a future time.
fn when(input: ScheduleInput, now: Timestamp) -> Result<Option<Timestamp>, ApiError> {
    let invalid = |message: &str| Err(ApiError::validation(Area::General, message.to_owned()));
    let text = match input.scheduled_date {
        None | Some(Value::Null) => return invalid("scheduled_date is missing"),
        Some(Value::String(text)) => text,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => return Ok(None),
        Some(_) => {
            return invalid("scheduled_date must be an ISO-8601 date-time, a date, or \"0\"")
        }
    };
    if text.trim() == "0" {
        return Ok(None);
    }
    match clock::parse(text.trim()) {
        None => invalid("scheduled_date must be an ISO-8601 date-time, a date, or \"0\""),
        Some(at) if at <= now => {
            invalid("scheduled_date must be in the future; use \"0\" to send now")
        }
        Some(at) => Ok(Some(at)),
    }
}

fn schedule_body(scheduled_date: Option<Timestamp>) -> Value {
    match scheduled_date {
        Some(at) => json!([{ "scheduled_date": clock::format(&at) }]),
        None => json!([]),
    }
}

/// `POST .../schedules`: 201 with the schedule.
async fn schedule(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<ScheduleInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = clock::now();
    let when = when(input, now)?;
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let activity = &mut account.activities[index];
    ensure_primary(activity, "scheduled")?;
    if !matches!(activity.status, Status::Draft | Status::Done) {
        let message = format!(
            "the activity is {}: only DRAFT, DONE or ERROR activities can be scheduled",
            activity.status.activity()
        );
        return Err(ApiError::validation(Area::General, message));
    }
    if !activity.has_recipients() {
        return Err(ApiError::validation(Area::General, "the activity has no recipients: set contact_list_ids with PUT /emails/activities/{id} first"));
    }
    match when {
        None => {
            send_now(&mut account, index, now);
        }
        Some(_) => {
            activity.before_schedule = Some(activity.status);
            activity.status = Status::Scheduled;
            activity.scheduled_date = when;
            let campaign_id = activity.campaign_id;
            touch(&mut account, campaign_id, now);
        }
    }
    Ok((StatusCode::CREATED, Json(schedule_body(when))))
}

/// `GET .../schedules`: `[{"scheduled_date"}]` while SCHEDULED, else `[]`.
async fn fetch(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let activity = &account.activities[find(&account, &id)?];
    let scheduled = activity
        .scheduled_date
        .filter(|_| activity.status == Status::Scheduled);
    Ok(Json(schedule_body(scheduled)))
}

/// `DELETE .../schedules`: 204; back to the status before scheduling.
async fn unschedule(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let activity = &mut account.activities[index];
    if activity.status != Status::Scheduled {
        return Err(ApiError::validation(
            Area::General,
            format!(
                "the activity is {}: only a SCHEDULED activity can be unscheduled",
                activity.status.activity()
            ),
        ));
    }
    activity.status = activity.before_schedule.take().unwrap_or(Status::Draft);
    activity.scheduled_date = None;
    let campaign_id = activity.campaign_id;
    touch(&mut account, campaign_id, clock::now());
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct TestInput {
    email_addresses: Option<Vec<String>>,
    personal_message: Option<String>,
}

/// `POST .../tests`: 204; nothing is sent, the daily count goes up.
async fn test_send(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<TestInput>,
) -> Result<StatusCode, ApiError> {
    let addresses = input.email_addresses.unwrap_or_default();
    let mut p = Problems::default();
    if addresses.is_empty() || addresses.len() > TESTS_PER_REQUEST {
        p.add(format!(
            "email_addresses must contain from 1 to {TESTS_PER_REQUEST} addresses"
        ));
    }
    for address in &addresses {
        p.email("email_addresses", Some(address.as_str()));
    }
    p.max_len("personal_message", input.personal_message.as_deref(), 2000);
    p.finish(Area::General)?;
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    ensure_primary(&account.activities[index], "test sent")?;
    let today = clock::now().date_naive();
    let sends = &mut account.test_sends;
    if sends.day != Some(today) {
        *sends = TestSends {
            day: Some(today),
            count: 0,
        };
    }
    if sends.count + addresses.len() > TESTS_PER_DAY {
        return Err(ApiError::validation(
            Area::General,
            format!("the daily limit of {TESTS_PER_DAY} test emails would be exceeded"),
        ));
    }
    sends.count += addresses.len();
    Ok(StatusCode::NO_CONTENT)
}
