//! One contact's email summaries over a date range, scope `contact_data`:
//!
//! - `GET /v3/reports/contact_reports/{contact_id}/open_and_click_rates` (spec
//!   `ContactOpenAndClickRates`): over the sends to the contact in the range,
//!   `included_activities_count` (how many), `average_open_rate` and
//!   `average_click_rate` (opened or clicked sends over them, 0 to 1; 0 without sends).
//! - `GET /v3/reports/contact_reports/{contact_id}/activity_summary` (spec
//!   `ContactCampaignActivitiesSummary`): one `campaign_activities` item per send in the
//!   range, newest first, at most 200: `start_on` (the send time) and the contact's
//!   counts `em_sends` (1), `em_opens`, `em_clicks`, `em_bounces`, `em_forwards`,
//!   `em_unsubscribes` (0 or 1 each).
//!
//! `start` and `end` are required ISO-8601 date-times (`-05:00` and `-0500` offsets
//! both), `end` not before `start`, at most 5 years apart: else 400. A malformed
//! contact id is 400, an unknown one 404.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Outcome, Send};
use crate::auth::{ContactData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::request::{self, Params};
use crate::state::{Account, Sandbox};

/// The most recent campaigns the summary covers (spec).
const MAX_SUMMARIES: usize = 200;

/// A required date query parameter, in either offset spelling.
fn date(query: &Params, name: &str) -> Result<Timestamp, ApiError> {
    let text = query
        .0
        .get(name)
        .ok_or_else(|| ApiError::validation(Area::General, format!("{name} is required")))?;
    clock::parse(text)
        .or_else(|| {
            let text = text.trim().replace(' ', "+");
            DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z")
                .ok()
                .map(|at| at.with_timezone(&Utc))
        })
        .ok_or_else(|| {
            ApiError::validation(
                Area::General,
                format!("{name} must be an ISO-8601 date-time, e.g. 2019-01-01T00:00:00-0500"),
            )
        })
}

/// The contact and the sends to it between `start` and `end`, newest first.
fn sends_in_range<'a>(
    account: &'a Account,
    id: &str,
    query: &Params,
) -> Result<(Uuid, Vec<&'a Send>), ApiError> {
    let contact = request::uuid(Area::General, "contact_id", id)?;
    let (start, end) = (date(query, "start")?, date(query, "end")?);
    if end < start {
        return Err(ApiError::validation(
            Area::General,
            "end must not be before start",
        ));
    }
    if end - start > Duration::days(5 * 365 + 1) {
        return Err(ApiError::validation(
            Area::General,
            "the range from start to end cannot exceed 5 years",
        ));
    }
    if !account.contacts.iter().any(|c| c.id == contact) {
        return Err(ApiError::not_found(
            Area::General,
            format!("contact {contact} was not found"),
        ));
    }
    let mut sends: Vec<&Send> = account
        .sends
        .iter()
        .filter(|s| s.contact == contact && s.at >= start && s.at <= end)
        .collect();
    sends.reverse();
    sends.sort_by_key(|s| std::cmp::Reverse(s.at));
    Ok((contact, sends))
}

fn rate(part: usize, whole: usize) -> f64 {
    match whole {
        0 => 0.0,
        // Four decimals, as a rate the API shows would be read.
        _ => (part as f64 * 10_000.0 / whole as f64).round() / 10_000.0,
    }
}

/// `GET /v3/reports/contact_reports/{contact_id}/open_and_click_rates`.
pub async fn open_and_click_rates(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let (contact, sends) = sends_in_range(&account, &id, &query)?;
    let opened = sends.iter().filter(|s| s.outcome.opened()).count();
    let clicked = sends.iter().filter(|s| s.outcome == Outcome::Click).count();
    Ok(Json(json!({
        "contact_id": contact,
        "included_activities_count": sends.len(),
        "average_open_rate": rate(opened, sends.len()),
        "average_click_rate": rate(clicked, sends.len()),
    })))
}

/// `GET /v3/reports/contact_reports/{contact_id}/activity_summary`.
pub async fn activity_summary(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let (contact, sends) = sends_in_range(&account, &id, &query)?;
    let count = |s: &Send, outcome: Outcome| usize::from(s.outcome == outcome);
    let items: Vec<Value> = sends
        .iter()
        .take(MAX_SUMMARIES)
        .map(|s| {
            json!({
                "campaign_activity_id": s.activity,
                "start_on": clock::format(&s.at),
                "em_sends": 1,
                "em_opens": usize::from(s.outcome.opened()),
                "em_clicks": count(s, Outcome::Click),
                "em_bounces": count(s, Outcome::Bounce),
                "em_forwards": count(s, Outcome::Forward),
                "em_unsubscribes": count(s, Outcome::OptOut),
            })
        })
        .collect();
    Ok(Json(
        json!({"contact_id": contact, "campaign_activities": items}),
    ))
}
