//! Campaign reports (spec `BulkEmailCampaignSummariesPage`,
//! `CampaignActivityStatsQueryResultEmail`), scope `campaign_data`.
//!
//! - `GET /v3/reports/summary_reports/email_campaign_summaries`: one item per campaign
//!   with at least one send, most recently sent first (`last_sent_date`); `limit` 1–500
//!   (default 50), cursor-paginated. `unique_counts` {sends, opens, clicks, forwards (0),
//!   optouts, abuse (0), bounces, not_opened = sends − bounces − opens}.
//!   `aggregate_percents` over every campaign with sends, rounded to one decimal:
//!   `bounce` = bounces / sends; `open`, `click`, `did_not_open` (not_opened) and
//!   `unsubscribe` (optouts) are over delivered = sends − bounces; 0 when there is
//!   nothing to divide by. (A campaign sent while a client pages moves to the front, so
//!   pages fetched across a send may repeat or skip one.)
//! - `GET /v3/reports/stats/email_campaign_activities/{ids}`: up to 10 comma-separated
//!   ids (more → 400); a malformed id → 404 for the whole request, as the spec says. Each
//!   activity with sends gets a `results` item (`stats`: `em_sends`, `em_opens`,
//!   `em_clicks`, `em_bounces`, `em_optouts`, `em_not_opened`, `em_forwards` and
//!   `em_abuse` 0; `*_all` equal the unique counts; device splits count everything as
//!   `_computer`; bounce kinds count everything as `em_bounces_nonexistent_address`;
//!   `last_refresh_time` = its last send); the others get an `errors` item.

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

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

fn unique_counts(c: &Counts) -> Value {
    json!({
        "sends": c.sends, "opens": c.opens, "clicks": c.clicks, "forwards": 0,
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
        "em_optouts": c.optouts, "em_not_opened": c.not_opened(), "em_forwards": 0, "em_abuse": 0,
    })
}

/// `GET /v3/reports/stats/email_campaign_activities/{campaign_activity_ids}`.
pub async fn stats_of(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(ids): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let texts: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if texts.is_empty() || texts.len() > MAX_IDS {
        return Err(ApiError::validation(
            Area::General,
            format!("campaign_activity_ids must name from 1 to {MAX_IDS} activities"),
        ));
    }
    let mut wanted = Vec::new();
    for text in texts {
        match Uuid::try_parse(text) {
            Ok(id) if text.len() == 36 => wanted.push(id),
            _ => {
                return Err(ApiError::not_found(
                    Area::General,
                    format!("campaign_activity_ids contains {text}, which is not a valid id"),
                ))
            }
        }
    }
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
