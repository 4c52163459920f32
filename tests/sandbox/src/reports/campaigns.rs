//! Campaign reports (spec `BulkEmailCampaignSummariesPage`,
//! `CampaignActivityStatsQueryResultEmail`), scope `campaign_data`.
//!
//! - `GET /v3/reports/summary_reports/email_campaign_summaries`: one item per campaign
//!   with at least one send, most recently sent first (`last_sent_date`); `limit` 1–500
//!   (default 50), cursor-paginated. `unique_counts` {sends, opens, clicks, forwards,
//!   optouts, abuse (0), bounces, not_opened = sends − bounces − opens}.
//!   `aggregate_percents` over every campaign with sends, rounded to one decimal:
//!   `bounce` = bounces / sends; `open`, `click`, `did_not_open` (not_opened) and
//!   `unsubscribe` (optouts) are over delivered = sends − bounces; 0 when there is
//!   nothing to divide by. (A campaign sent while a client pages moves to the front, so
//!   pages fetched across a send may repeat or skip one.)
//! - `GET /v3/reports/stats/email_campaign_activities/{ids}`: up to 10 comma-separated
//!   ids (more → 400); a malformed id → 404 for the whole request, as the spec says. Each
//!   activity with sends gets a `results` item (`stats`: `em_sends`, `em_opens`,
//!   `em_clicks`, `em_bounces`, `em_optouts`, `em_not_opened`, `em_forwards`;
//!   `em_abuse` 0; `*_all` equal the unique counts; device splits count everything as
//!   `_computer`; bounce kinds count everything as `em_bounces_nonexistent_address`;
//!   `last_refresh_time` = its last send); the others get an `errors` item.
//! - `GET /v3/reports/stats/email_campaigns/{campaign_ids}`: the same per campaign, up
//!   to 150 ids: `stats` (`StatsEmail`: no abuse, no bounce kinds), `percents` as
//!   `aggregate_percents` (`desktop_*` = all, `mobile_*` 0).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::Counts;
use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request::Params;
use crate::state::Sandbox;

const LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};
/// At most this many activities per stats request (spec).
const MAX_IDS: usize = 10;
/// At most this many campaigns per stats request (the spec's `maximum: 150`).
const MAX_CAMPAIGNS: usize = 150;

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

fn unique_counts(c: &Counts) -> Value {
    json!({
        "sends": c.sends, "opens": c.opens, "clicks": c.clicks, "forwards": c.forwards,
        "optouts": c.optouts, "abuse": 0, "bounces": c.bounces, "not_opened": c.not_opened(),
    })
}

/// `GET /v3/reports/summary_reports/email_campaign_summaries`.
pub async fn summaries(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query(
        "reports/summary_reports/email_campaign_summaries",
        query,
        LIMITS,
        Area::General,
    )?;
    let account = sandbox.account();
    let mut sent: Vec<(Uuid, Timestamp)> = Vec::new();
    for send in &account.sends {
        match sent.iter_mut().find(|(c, _)| *c == send.campaign) {
            Some((_, last)) => *last = (*last).max(send.at),
            None => sent.push((send.campaign, send.at)),
        }
    }
    sent.sort_by_key(|(_, last)| std::cmp::Reverse(*last));
    let page = request.page(&sent, |_| true);
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|(campaign, last)| {
            let counts = Counts::of(account.sends.iter().filter(|s| s.campaign == *campaign));
            json!({
                "campaign_id": campaign,
                "campaign_type": "CUSTOM_CODE_EMAIL",
                "last_sent_date": clock::format(last),
                "unique_counts": unique_counts(&counts),
            })
        })
        .collect();
    let all = Counts::of(account.sends.iter());
    let delivered = all.sends - all.bounces;
    let mut body = json!({
        "bulk_email_campaign_summaries": items,
        "aggregate_percents": {
            "click": percent(all.clicks, delivered),
            "open": percent(all.opens, delivered),
            "did_not_open": percent(all.not_opened(), delivered),
            "bounce": percent(all.bounces, all.sends),
            "unsubscribe": percent(all.optouts, delivered),
        },
    });
    page.link(&mut body);
    Ok(Json(body))
}

fn stats(c: &Counts) -> Value {
    json!({
        "em_sends": c.sends, "em_opens": c.opens, "em_opens_all": c.opens,
        "em_opens_all_computer": c.opens, "em_opens_all_mobile": 0, "em_opens_all_tablet": 0,
        "em_opens_all_other": 0, "em_opens_all_none": 0,
        "em_clicks": c.clicks, "em_clicks_all": c.clicks, "em_clicks_all_computer": c.clicks,
        "em_clicks_all_mobile": 0, "em_clicks_all_tablet": 0, "em_clicks_all_other": 0,
        "em_clicks_all_none": 0,
        "em_bounces": c.bounces, "em_bounces_nonexistent_address": c.bounces,
        "em_bounces_blocked": 0, "em_bounces_mailbox_full": 0, "em_bounces_other": 0,
        "em_bounces_suspended": 0, "em_bounces_undeliverable": 0, "em_bounces_vacation": 0,
        "em_optouts": c.optouts, "em_not_opened": c.not_opened(), "em_forwards": c.forwards,
        "em_abuse": 0,
    })
}

/// The comma-separated ids of a stats path: 1 to `max` (else 400), each a hyphenated
/// uuid (else 404 for the whole request, as the spec says).
fn path_ids(ids: &str, name: &str, max: usize) -> Result<Vec<Uuid>, ApiError> {
    let texts: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if texts.is_empty() || texts.len() > max {
        return Err(ApiError::validation(
            Area::General,
            format!("{name} must name from 1 to {max} ids"),
        ));
    }
    texts
        .into_iter()
        .map(|text| match Uuid::try_parse(text) {
            Ok(id) if text.len() == 36 => Ok(id),
            _ => Err(ApiError::not_found(
                Area::General,
                format!("{name} contains {text}, which is not a valid id"),
            )),
        })
        .collect()
}

/// `GET /v3/reports/stats/email_campaign_activities/{campaign_activity_ids}`.
pub async fn stats_of(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(ids): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let wanted = path_ids(&ids, "campaign_activity_ids", MAX_IDS)?;
    let account = sandbox.account();
    let (mut results, mut errors) = (Vec::new(), Vec::new());
    for id in wanted {
        let sends: Vec<_> = account.sends.iter().filter(|s| s.activity == id).collect();
        match sends.iter().map(|s| s.at).max() {
            Some(last) => results.push(json!({
                "campaign_id": sends[0].campaign,
                "campaign_activity_id": id,
                "stats": stats(&Counts::of(sends.iter().copied())),
                "last_refresh_time": clock::format(&last),
            })),
            None => errors.push(json!({
                "error_key": "reportingsvc.not_found.invalid_path_param.campaign_activity_ids",
                "error_message": format!("Could not find any stats for campaign activity {id}."),
            })),
        }
    }
    let mut body = json!({ "results": results });
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    Ok(Json(body))
}

/// A campaign's `StatsEmail`: as an activity's, without abuse and bounce kinds.
fn campaign_stats(c: &Counts) -> Value {
    let mut stats = stats(c);
    if let Value::Object(map) = &mut stats {
        map.retain(|k, _| k != "em_abuse" && !k.starts_with("em_bounces_"));
    }
    stats
}

/// A campaign's `PercentsEmail`: every open and click is on a computer.
fn campaign_percents(c: &Counts) -> Value {
    let delivered = c.sends - c.bounces;
    let (open, click) = (percent(c.opens, delivered), percent(c.clicks, delivered));
    json!({
        "bounce": percent(c.bounces, c.sends), "open": open, "click": click,
        "desktop_open": open, "desktop_click": click, "mobile_open": 0.0, "mobile_click": 0.0,
        "did_not_open": percent(c.not_opened(), delivered),
        "unsubscribe": percent(c.optouts, delivered),
    })
}

/// `GET /v3/reports/stats/email_campaigns/{campaign_ids}`.
pub async fn stats_of_campaigns(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(ids): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let wanted = path_ids(&ids, "campaign_ids", MAX_CAMPAIGNS)?;
    let account = sandbox.account();
    let (mut results, mut errors) = (Vec::new(), Vec::new());
    for id in wanted {
        let sends: Vec<_> = account.sends.iter().filter(|s| s.campaign == id).collect();
        match sends.iter().map(|s| s.at).max() {
            Some(last) => {
                let counts = Counts::of(sends.iter().copied());
                results.push(json!({
                    "campaign_id": id,
                    "stats": campaign_stats(&counts),
                    "percents": campaign_percents(&counts),
                    "last_refresh_time": clock::format(&last),
                }));
            }
            None => errors.push(json!({
                "error_key": "reportingsvc.not_found.invalid_path_param.campaign_ids",
                "error_message": format!("Could not find any stats for campaign {id}."),
            })),
        }
    }
    let mut body = json!({ "results": results });
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    Ok(Json(body))
}
