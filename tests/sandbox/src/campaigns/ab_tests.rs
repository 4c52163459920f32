//! Subject-line A/B tests of a campaign's email (spec `ABTestData`).
//!
//! - `GET /v3/emails/activities/{id}/abtest`: the test; 404 when the activity has none.
//! - `POST …/abtest` → **201** with the test. Only a `primary_email` activity in DRAFT,
//!   one test each (409); `alternative_subject` required, `test_size` 5–50 (percent of
//!   recipients per subject), `winner_wait_duration` 6, 12, 24 or 48 (hours). The
//!   campaign's type becomes A/B Test (`type_code` 57).
//! - `DELETE …/abtest` → **204**, only in DRAFT; the campaign's type is restored.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::activities::{ensure_primary, find, Activity};
use super::{touch, Status};
use crate::auth::{CampaignData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::{JsonBody, PathId};
use crate::state::Sandbox;

/// The hours the spec allows before a winner is picked.
const WAIT_HOURS: [i64; 4] = [6, 12, 24, 48];

/// A stored A/B test.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AbTest {
    alternative_subject: String,
    test_size: i64,
    winner_wait_duration: i64,
}

/// A `POST …/abtest` body, every field optional so that a missing one is a 400 naming it.
#[derive(Debug, Deserialize)]
struct AbTestInput {
    alternative_subject: Option<String>,
    test_size: Option<i64>,
    winner_wait_duration: Option<i64>,
}

/// The A/B test routes.
pub fn routes() -> Router<Sandbox> {
    Router::new().route(
        "/v3/emails/activities/{campaign_activity_id}/abtest",
        get(fetch).post(create).delete(remove),
    )
}

/// Checks a body against the spec's bounds; every failure in one 400.
fn check(input: AbTestInput) -> Result<AbTest, ApiError> {
    let mut p = Problems::default();
    p.required("alternative_subject", input.alternative_subject.as_deref());
    match input.test_size {
        None => p.add("test_size is missing"),
        Some(size) if !(5..=50).contains(&size) => p.add("test_size must be from 5 to 50"),
        Some(_) => {}
    }
    match input.winner_wait_duration {
        None => p.add("winner_wait_duration is missing"),
        Some(hours) if !WAIT_HOURS.contains(&hours) => {
            p.add("winner_wait_duration must be 6, 12, 24 or 48")
        }
        Some(_) => {}
    }
    p.finish(Area::General)?;
    Ok(AbTest {
        alternative_subject: input.alternative_subject.unwrap_or_default(),
        test_size: input.test_size.unwrap_or_default(),
        winner_wait_duration: input.winner_wait_duration.unwrap_or_default(),
    })
}

/// 400 unless the activity is a DRAFT `primary_email` one (`what` names the action).
fn ensure_draft_primary(activity: &Activity, what: &str) -> Result<(), ApiError> {
    ensure_primary(activity, what)?;
    if activity.status != Status::Draft {
        let message = format!(
            "the activity is {}: A/B tests can only be {what} in DRAFT",
            activity.status.activity()
        );
        return Err(ApiError::validation(Area::General, message));
    }
    Ok(())
}

fn no_test(activity: &Activity) -> ApiError {
    ApiError::not_found(
        Area::General,
        format!("campaign activity {} has no A/B test", activity.id),
    )
}

/// `GET …/abtest`.
async fn fetch(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let activity = &account.activities[find(&account, &id)?];
    let test = activity.ab_test.as_ref().ok_or_else(|| no_test(activity))?;
    Ok(Json(json!(test)))
}

/// `POST …/abtest`: 201 with the test.
async fn create(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<AbTestInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let activity = &mut account.activities[index];
    ensure_draft_primary(activity, "created")?;
    if activity.ab_test.is_some() {
        return Err(ApiError::conflict(
            Area::General,
            "the activity already has an A/B test: delete it first",
        ));
    }
    let test = check(input)?;
    let body = json!(test);
    activity.ab_test = Some(test);
    let campaign_id = activity.campaign_id;
    touch(&mut account, campaign_id, clock::now());
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE …/abtest`: 204.
async fn remove(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let activity = &mut account.activities[index];
    if activity.ab_test.is_none() {
        return Err(no_test(activity));
    }
    ensure_draft_primary(activity, "deleted")?;
    activity.ab_test = None;
    let campaign_id = activity.campaign_id;
    touch(&mut account, campaign_id, clock::now());
    Ok(StatusCode::NO_CONTENT)
}
