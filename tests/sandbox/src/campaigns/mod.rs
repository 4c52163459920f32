//! Email campaigns (reference §3.5), scope `campaign_data`.
//!
//! - `GET /v3/emails`: every campaign, removed ones included, no activity details;
//!   `limit` 1–500, `before_date`/`after_date` on `updated_at`; cursor-paginated.
//! - `POST /v3/emails`: **200** (not 201) with a `Draft` campaign of type
//!   `CUSTOM_CODE_EMAIL` (26) and two activities, `primary_email` and `permalink`.
//!   Names are unique (409) and ≤80; sender addresses must be CONFIRMED account emails.
//! - `GET /v3/emails/{campaign_id}`: the campaign with its `campaign_activities`.
//! - `PATCH /v3/emails/{campaign_id}`: rename (unique, ≤80).
//! - `DELETE /v3/emails/{campaign_id}`: 204, the campaign becomes `Removed`; refused
//!   while `Scheduled`.
//!
//! `activities` serves the activity endpoints, `schedules` scheduling and test sends,
//! `ab_tests` subject-line A/B tests (a campaign with one is of type A/B Test, 57),
//! `resends` resends to non-openers, `history` previews and send histories, `xrefs`
//! the V2 → V3 id look-up, `validation` the body rules. A campaign's status is its
//! primary activity's, in the campaign's capitalisation (`Draft` / `DRAFT`).

mod ab_tests;
mod activities;
mod history;
mod resends;
mod schedules;
#[cfg(test)]
mod tests;
mod validation;
mod xrefs;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

pub use activities::Activity;
pub use schedules::{settle, TestSends};

use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, JsonBody, Params, PathId};
use crate::state::{Account, Sandbox};

const LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};

/// The status of a campaign or an activity. `Executing` is too brief to simulate and,
/// as nothing is really sent, nothing ends in `Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Draft,
    Scheduled,
    Done,
    Removed,
}

impl Status {
    /// The campaign form: `Draft`.
    fn campaign(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::Scheduled => "Scheduled",
            Status::Done => "Done",
            Status::Removed => "Removed",
        }
    }

    /// The activity form: `DRAFT`.
    fn activity(self) -> &'static str {
        match self {
            Status::Draft => "DRAFT",
            Status::Scheduled => "SCHEDULED",
            Status::Done => "DONE",
            Status::Removed => "REMOVED",
        }
    }
}

/// A stored email campaign.
#[derive(Clone, Debug)]
pub struct Campaign {
    id: Uuid,
    name: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    primary: Uuid,
    permalink: Uuid,
    removed: bool,
    /// Its V2 API id, set through the control API (`xrefs`).
    v2_id: Option<String>,
}

impl Campaign {
    fn status(&self, activities: &[Activity]) -> Status {
        if self.removed {
            return Status::Removed;
        }
        activities
            .iter()
            .find(|a| a.id == self.primary)
            .map_or(Status::Draft, |a| a.status)
    }

    /// The `GET /emails` item (spec `EmailCampaigns`).
    fn summary(&self, activities: &[Activity]) -> Value {
        // An A/B test makes the campaign an A/B Test (57); the spec names the code
        // only, so the type's name is assumed.
        let tested = activities
            .iter()
            .any(|a| a.id == self.primary && a.ab_test.is_some());
        let (kind, code) = if tested {
            ("AB_TEST", 57)
        } else {
            ("CUSTOM_CODE_EMAIL", 26)
        };
        json!({
            "campaign_id": self.id,
            "name": self.name,
            "current_status": self.status(activities).campaign(),
            "type": kind,
            "type_code": code,
            "created_at": clock::format(&self.created_at),
            "updated_at": clock::format(&self.updated_at),
        })
    }

    /// The full campaign (spec `EmailCampaign`).
    fn render(&self, activities: &[Activity]) -> Value {
        let mut body = self.summary(activities);
        // Each with its `document_id`, as the real API answers (recorded, issue 21).
        let reference = |id: Uuid, role: &str| {
            let document = activities
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.document_id);
            json!({ "campaign_activity_id": id, "role": role, "document_id": document })
        };
        body["campaign_activities"] = json!([
            reference(self.primary, "primary_email"),
            reference(self.permalink, "permalink"),
        ]);
        body
    }
}

/// The campaign routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/emails", get(list).post(create))
        .route(
            "/v3/emails/{campaign_id}",
            get(fetch).patch(rename).delete(remove),
        )
        .merge(activities::routes())
        .merge(schedules::routes())
        .merge(ab_tests::routes())
        .merge(resends::routes())
        .merge(history::routes())
        .merge(xrefs::routes())
}

/// The control routes: send an activity now, give a campaign a V2 id.
pub fn control_routes() -> Router<Sandbox> {
    schedules::control_routes().merge(xrefs::control_routes())
}

fn find(account: &Account, id: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::General, "campaign_id", id)?;
    account
        .campaigns
        .iter()
        .position(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(Area::General, format!("campaign {id} was not found")))
}

/// 409 when another campaign that is not removed has `name` (reference §4 item 4).
fn ensure_unique(account: &Account, name: &str, except: Option<Uuid>) -> Result<(), ApiError> {
    let others = account
        .campaigns
        .iter()
        .filter(|c| !c.removed && Some(c.id) != except);
    ApiError::unless_unique(
        Area::General,
        "campaign",
        name,
        others.map(|c| c.name.as_str()),
    )
}

/// `GET /v3/emails`: `{"campaigns": [...], "_links": ...}`.
async fn list(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query("emails", query, LIMITS, Area::General)?;
    let date = |name: &str| match request.param(name) {
        None => Ok(None),
        Some(text) => clock::parse(text).map(Some).ok_or_else(|| {
            ApiError::validation(
                Area::General,
                format!("{name} is not an ISO-8601 date-time"),
            )
        }),
    };
    let (before, after) = (date("before_date")?, date("after_date")?);
    let keep = |c: &Campaign| {
        before.is_none_or(|b| c.updated_at < b) && after.is_none_or(|a| c.updated_at > a)
    };
    let account = sandbox.account();
    let page = request.page(&account.campaigns, keep);
    let campaigns: Vec<Value> = page
        .items
        .iter()
        .map(|c| c.summary(&account.activities))
        .collect();
    let mut body = json!({ "campaigns": campaigns });
    page.link(&mut body);
    Ok(Json(body))
}

/// `POST /v3/emails`: 200 with the new campaign.
async fn create(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<validation::CampaignInput>,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let (name, content) = validation::check_campaign(input, &account)?;
    ensure_unique(&account, &name, None)?;
    let now = clock::now();
    let id = Uuid::new_v4();
    let primary = Activity::new(id, "primary_email", content.clone());
    let permalink = Activity::new(id, "permalink", content);
    let campaign = Campaign {
        id,
        name,
        created_at: now,
        updated_at: now,
        primary: primary.id,
        permalink: permalink.id,
        removed: false,
        v2_id: None,
    };
    account.activities.extend([primary, permalink]);
    let body = campaign.render(&account.activities);
    account.campaigns.push(campaign);
    Ok(Json(body))
}

/// `GET /v3/emails/{campaign_id}`.
async fn fetch(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let index = find(&account, &id)?;
    Ok(Json(account.campaigns[index].render(&account.activities)))
}

/// `PATCH /v3/emails/{campaign_id}`: `{"name": ...}`.
async fn rename(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<validation::NameInput>,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let name = validation::check_name(input)?;
    if account.campaigns[index].removed {
        return Err(ApiError::validation(
            Area::General,
            "a removed campaign cannot be renamed",
        ));
    }
    ensure_unique(&account, &name, Some(account.campaigns[index].id))?;
    let campaign = &mut account.campaigns[index];
    campaign.name = name;
    campaign.updated_at = clock::now();
    Ok(Json(account.campaigns[index].render(&account.activities)))
}

/// `DELETE /v3/emails/{campaign_id}`: 204; the campaign and its activities are removed.
async fn remove(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let campaign_id = account.campaigns[index].id;
    match account.campaigns[index].status(&account.activities) {
        Status::Removed => {
            return Err(ApiError::not_found(
                Area::General,
                format!("campaign {campaign_id} was not found"),
            ))
        }
        Status::Scheduled => {
            return Err(ApiError::validation(
                Area::General,
                "a scheduled campaign cannot be deleted: unschedule it first",
            ))
        }
        _ => {}
    }
    let now = clock::now();
    for activity in account
        .activities
        .iter_mut()
        .filter(|a| a.campaign_id == campaign_id)
    {
        activity.status = Status::Removed;
    }
    let campaign = &mut account.campaigns[index];
    campaign.removed = true;
    campaign.updated_at = now;
    Ok(StatusCode::NO_CONTENT)
}

/// The name of campaign `campaign_id` (reports name activities after their campaign).
pub fn campaign_name(account: &Account, campaign_id: Uuid) -> Option<&str> {
    account
        .campaigns
        .iter()
        .find(|c| c.id == campaign_id)
        .map(|c| c.name.as_str())
}

/// Marks the campaign owning an activity as changed at `now`.
pub fn touch(account: &mut Account, campaign_id: Uuid, now: Timestamp) {
    if let Some(campaign) = account.campaigns.iter_mut().find(|c| c.id == campaign_id) {
        campaign.updated_at = now;
    }
}
