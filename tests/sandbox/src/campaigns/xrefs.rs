//! V2 → V3 campaign ids (spec `CrossReferenceResponse`).
//!
//! - `GET /v3/emails/campaign_id_xrefs?v2_email_campaign_ids=…`: required, a
//!   comma-separated list of 1 to 50 V2 ids (digits); `{"xrefs": [...]}` with the V3
//!   `campaign_id` and primary `campaign_activity_id` of each known one, in the order
//!   asked. Unknown V2 ids are left out.
//! - `POST /__sandbox/campaign_xrefs` `{"campaign_id", "v2_email_campaign_id"}` (control
//!   API): gives a campaign its V2 id, which the V3 API cannot; 201 with the xref, 409
//!   when another campaign has that V2 id.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{find, Campaign};
use crate::auth::{CampaignData, Needs};
use crate::errors::{ApiError, Area, Problems};
use crate::request::{JsonBody, Params};
use crate::state::Sandbox;

/// V2 ids a request may list (spec: "up to 50").
const MAX_IDS: usize = 50;

/// The look-up route.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/v3/emails/campaign_id_xrefs", get(xrefs))
}

/// The control route that sets a campaign's V2 id.
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route("/__sandbox/campaign_xrefs", post(set_v2_id))
}

fn render(campaign: &Campaign, v2_id: &str) -> Value {
    json!({
        "v2_email_campaign_id": v2_id,
        "campaign_id": campaign.id,
        "campaign_activity_id": campaign.primary,
    })
}

/// The V2 ids of the query: 1 to 50, each all digits.
fn v2_ids(text: Option<&str>) -> Result<Vec<&str>, ApiError> {
    let ids: Vec<&str> = text
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    let mut p = Problems::default();
    if ids.is_empty() {
        p.add("v2_email_campaign_ids is missing");
    }
    if ids.len() > MAX_IDS {
        p.add(format!(
            "v2_email_campaign_ids may list at most {MAX_IDS} ids"
        ));
    }
    if ids.iter().any(|id| !id.bytes().all(|b| b.is_ascii_digit())) {
        p.add("v2_email_campaign_ids must be numeric V2 campaign ids");
    }
    p.finish(Area::General)?;
    Ok(ids)
}

/// `GET /v3/emails/campaign_id_xrefs`.
async fn xrefs(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let ids = v2_ids(query.get("v2_email_campaign_ids").map(String::as_str))?;
    let account = sandbox.account();
    let found: Vec<Value> = ids
        .iter()
        .filter_map(|id| {
            let campaign = account
                .campaigns
                .iter()
                .find(|c| c.v2_id.as_deref() == Some(*id))?;
            Some(render(campaign, id))
        })
        .collect();
    Ok(Json(json!({ "xrefs": found })))
}

#[derive(Debug, Deserialize)]
struct V2IdInput {
    campaign_id: String,
    v2_email_campaign_id: String,
}

/// `POST /__sandbox/campaign_xrefs`: 201 with the xref.
async fn set_v2_id(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<V2IdInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let v2_id = match v2_ids(Some(&input.v2_email_campaign_id))?.as_slice() {
        [one] => (*one).to_owned(),
        _ => {
            let message = "give one v2_email_campaign_id";
            return Err(ApiError::validation(Area::General, message));
        }
    };
    let mut account = sandbox.account();
    let index = find(&account, &input.campaign_id)?;
    let taken = account
        .campaigns
        .iter()
        .enumerate()
        .any(|(i, c)| i != index && c.v2_id.as_deref() == Some(v2_id.as_str()));
    if taken {
        return Err(ApiError::conflict(
            Area::General,
            format!("V2 id {v2_id} belongs to another campaign"),
        ));
    }
    let campaign = &mut account.campaigns[index];
    campaign.v2_id = Some(v2_id.clone());
    Ok((StatusCode::CREATED, Json(render(campaign, &v2_id))))
}
