//! `GET /v3/reports/summary_reports/sms_campaign_summaries` (spec
//! `SmsCampaignSummariesPage`), scope `campaign_data`, from the SMS campaigns seeded
//! through `POST /__sandbox/sms_campaigns`.
//!
//! `start_at` is required, `end_at` optional (ISO-8601; else 400): campaigns last sent
//! between them, most recently sent first. `limit` 1–50 (default 50), cursor-paginated.
//! Each item: `campaign_id`, `campaign_name`, `campaign_type` (`SMS`), `last_sent_date`,
//! `unique_counts` {sends, delivers, clicks, optouts}. `aggregate_percents` over the
//! page's campaigns, one decimal: `deliver` = delivers / sends, `bounce` = the rest of
//! the sends, `click` and `unsubscribe` over delivers; 0 when there is nothing to divide.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::seed::SmsCampaign;
use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request::Params;
use crate::state::Sandbox;

const LIMITS: Limits = Limits {
    default: 50,
    max: 50,
};

/// One campaign's summary item.
pub fn summary(campaign: &SmsCampaign) -> Value {
    json!({
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "campaign_type": "SMS",
        "last_sent_date": clock::format(&campaign.last_sent),
        "unique_counts": {
            "sends": campaign.sends, "delivers": campaign.delivers,
            "clicks": campaign.clicks, "optouts": campaign.optouts,
        },
    })
}

fn percent(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0
}

fn date(request: &PageRequest, name: &str) -> Result<Option<Timestamp>, ApiError> {
    request
        .param(name)
        .map(|text| {
            clock::parse(text).ok_or_else(|| {
                ApiError::validation(
                    Area::General,
                    format!("{name} must be an ISO-8601 date-time"),
                )
            })
        })
        .transpose()
}

/// `GET /v3/reports/summary_reports/sms_campaign_summaries`.
pub async fn summaries(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query(
        "reports/summary_reports/sms_campaign_summaries",
        query,
        LIMITS,
        Area::General,
    )?;
    let start = date(&request, "start_at")?
        .ok_or_else(|| ApiError::validation(Area::General, "start_at is required"))?;
    let end = date(&request, "end_at")?;
    let account = sandbox.account();
    let mut sent: Vec<&SmsCampaign> = account
        .tracking
        .sms
        .iter()
        .filter(|c| c.last_sent >= start && end.is_none_or(|end| c.last_sent <= end))
        .collect();
    sent.sort_by_key(|c| std::cmp::Reverse(c.last_sent));
    let page = request.page(&sent, |_| true);
    let total = |f: fn(&SmsCampaign) -> u32| page.items.iter().map(|c| f(c)).sum::<u32>();
    let (sends, delivers) = (total(|c| c.sends), total(|c| c.delivers));
    let mut body = json!({
        "bulk_sms_campaign_summaries": page.items.iter().map(|c| summary(c)).collect::<Vec<_>>(),
        "aggregate_percents": {
            "deliver": percent(delivers, sends),
            "bounce": percent(sends - delivers, sends),
            "click": percent(total(|c| c.clicks), delivers),
            "unsubscribe": percent(total(|c| c.optouts), delivers),
        },
    });
    page.link(&mut body);
    Ok(Json(body))
}
