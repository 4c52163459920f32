//! An email campaign activity's tracking reports and links report (spec
//! `*TrackingActivitiesPage`, `EmailLinks`), scope `campaign_data`, from the sends.
//!
//! - `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/{report}`: one item
//!   per send the report selects, most recent first (the latest recorded first within
//!   one instant): `sends` (every send, `em_sends`), `opens` and `unique_opens` (opened,
//!   `em_opens`, `device_type` `computer`; one open per send, so both agree),
//!   `didnotopens` (delivered, never opened, `em_didnotopens`), `clicks` (one
//!   `em_clicks` per clicker and link, `device_type`, `url_id`, `link_url`; `url_id`
//!   narrows to one link), `forwards` (`em_forwards`), `optouts` (`em_optouts`) and
//!   `bounces` (`em_bounces`, `bounce_code` `B`: every sandbox bounce is a non-existent
//!   address; `bounce_code`, repeated or comma-separated, narrows to those codes).
//!   Items carry the contact's current `email_address`, names and `deleted_at` (a date).
//!   `limit` 1–500 (default 500), cursor-paginated.
//! - `GET /v3/reports/email_reports/{campaign_activity_id}/links`: one
//!   `link_click_counts` item per distinct link of the email, in order, with its
//!   `url_id` and `unique_clicks` (the activity's clickers); links nobody clicked only
//!   with `no_clicks=true`.
//!
//! A malformed id is 400, an id that is no campaign activity 404, an unknown report 404.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{fnv1a, Outcome, Send};
use crate::auth::{CampaignData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, Params};
use crate::state::{Account, Sandbox};

const LIMITS: Limits = Limits {
    default: 500,
    max: 500,
};
/// The spec's bounce codes; the sandbox's bounces are all `B` (non-existent address).
const BOUNCE_CODES: [&str; 7] = ["B", "D", "F", "S", "V", "X", "Z"];

/// The tracking and links routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v3/reports/email_reports/{campaign_activity_id}/tracking/{report}",
            get(report),
        )
        .route(
            "/v3/reports/email_reports/{campaign_activity_id}/links",
            get(links_report),
        )
}

/// The distinct `href="http…"` links of `html`, in order, each with its `url_id`
/// (FNV-1a of the activity id and the URL: stable, and an int64 as the spec wants).
pub fn links(activity: Uuid, html: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let url = part.split('"').next().unwrap_or_default();
        if url.starts_with("http") && !found.iter().any(|(_, u)| u == url) {
            let id = fnv1a(&format!("{activity}{url}"));
            found.push((id.to_string(), url.to_owned()));
        }
    }
    found
}

/// The campaign activity `text` names: 400 when malformed, 404 when unknown.
fn activity<'a>(account: &'a Account, text: &str) -> Result<(Uuid, &'a str), ApiError> {
    let id = request::uuid(Area::General, "campaign_activity_id", text)?;
    account
        .activities
        .iter()
        .find(|a| a.id == id)
        .map(|a| (id, a.html_content()))
        .ok_or_else(|| {
            ApiError::not_found(
                Area::General,
                format!("campaign activity {id} was not found"),
            )
        })
}

/// The fields every tracking item has, from the send and its contact.
fn item(account: &Account, send: &Send, kind: &str) -> Value {
    let mut item = json!({
        "contact_id": send.contact,
        "campaign_activity_id": send.activity,
        "tracking_activity_type": kind,
        "created_time": clock::format(&send.at),
    });
    if let Some(contact) = account.contacts.iter().find(|c| c.id == send.contact) {
        let address = contact.email.as_ref().map(|e| e.address.as_str());
        item["email_address"] = json!(address.unwrap_or_default());
        if let Some(first) = &contact.details.first_name {
            item["first_name"] = json!(first);
        }
        if let Some(last) = &contact.details.last_name {
            item["last_name"] = json!(last);
        }
        if let Some(deleted) = &contact.deleted_at {
            item["deleted_at"] = json!(clock::format_date(deleted));
        }
    }
    item
}

/// The query with repeated `bounce_code`s folded into one csv (so cursors keep them).
fn normalise(raw: Option<String>) -> Result<BTreeMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::bad_request("the query string cannot be decoded"))?;
    let mut query = BTreeMap::new();
    let mut codes = Vec::new();
    for (name, value) in pairs {
        if name == "bounce_code" {
            codes.push(value);
        } else {
            query.insert(name, value);
        }
    }
    if !codes.is_empty() {
        query.insert("bounce_code".to_owned(), codes.join(","));
    }
    Ok(query)
}

/// What one report lists: each selected send's items, given the filters in force.
fn report_items(
    account: &Account,
    activity: (Uuid, &str),
    report: &str,
    request: &PageRequest,
) -> Result<Vec<Value>, ApiError> {
    let sends = account
        .sends
        .iter()
        .rev()
        .filter(|s| s.activity == activity.0);
    let simple = |kind: &str, keep: fn(Outcome) -> bool| -> Vec<Value> {
        sends
            .clone()
            .filter(|s| keep(s.outcome))
            .map(|s| item(account, s, kind))
            .collect()
    };
    Ok(match report {
        "sends" => simple("em_sends", |_| true),
        "opens" | "unique_opens" => {
            let mut items = simple("em_opens", Outcome::opened);
            items
                .iter_mut()
                .for_each(|i| i["device_type"] = json!("computer"));
            items
        }
        "didnotopens" => simple("em_didnotopens", |o| o == Outcome::NotOpened),
        "forwards" => simple("em_forwards", |o| o == Outcome::Forward),
        "optouts" => simple("em_optouts", |o| o == Outcome::OptOut),
        "clicks" => {
            let links = clicked_links(activity, request.param("url_id"))?;
            let clickers = sends.filter(|s| s.outcome == Outcome::Click);
            clickers
                .flat_map(|s| links.iter().map(move |link| (s, link)))
                .map(|(s, (id, url))| {
                    let mut item = item(account, s, "em_clicks");
                    item["device_type"] = json!("computer");
                    item["url_id"] = json!(id);
                    item["link_url"] = json!(url);
                    item
                })
                .collect()
        }
        "bounces" => {
            let codes = request::csv(
                Area::General,
                "bounce_code",
                request.param("bounce_code"),
                &BOUNCE_CODES,
            )?;
            if !codes.is_empty() && !codes.contains(&"B") {
                return Ok(Vec::new());
            }
            let mut items = simple("em_bounces", |o| o == Outcome::Bounce);
            items.iter_mut().for_each(|i| i["bounce_code"] = json!("B"));
            items
        }
        _ => return Err(ApiError::no_route()),
    })
}

/// The email's links, or the one `url_id` names (an int64, else 400).
fn clicked_links(
    activity: (Uuid, &str),
    url_id: Option<&str>,
) -> Result<Vec<(String, String)>, ApiError> {
    let links = links(activity.0, activity.1);
    let Some(wanted) = url_id else {
        return Ok(links);
    };
    let wanted: i64 = wanted
        .trim()
        .parse()
        .map_err(|_| ApiError::validation(Area::General, "url_id must be an integer (int64)"))?;
    Ok(links
        .into_iter()
        .filter(|(id, _)| id.parse() == Ok(wanted))
        .collect())
}

/// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/{report}`.
pub async fn report(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path((id, report)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let collection = format!("reports/email_reports/{id}/tracking/{report}");
    let request = PageRequest::from_query(collection, normalise(raw)?, LIMITS, Area::General)?;
    let account = sandbox.account();
    let activity = activity(&account, &id)?;
    let items = report_items(&account, activity, &report, &request)?;
    let page = request.page(&items, |_| true);
    let mut body = json!({ "tracking_activities": page.items });
    page.link(&mut body);
    Ok(Json(body))
}

/// `GET /v3/reports/email_reports/{campaign_activity_id}/links`.
pub async fn links_report(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let no_clicks = request::flag(
        Area::General,
        "no_clicks",
        query.get("no_clicks").map(String::as_str),
    )?;
    let account = sandbox.account();
    let (id, html) = activity(&account, &id)?;
    let clickers = account
        .sends
        .iter()
        .filter(|s| s.activity == id && s.outcome == Outcome::Click)
        .count();
    let counts: Vec<Value> = links(id, html)
        .into_iter()
        .filter(|_| no_clicks || clickers > 0)
        .map(|(url_id, url)| json!({"link_url": url, "url_id": url_id, "unique_clicks": clickers}))
        .collect();
    Ok(Json(
        json!({"campaign_activity_id": id, "link_click_counts": counts}),
    ))
}
