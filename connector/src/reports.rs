//! Reports: what recipients did with the campaigns sent, and SMS summaries.
//!
//! Counts come per campaign (`list-campaign-summaries`), per campaign activity
//! (`get-campaign-activity-stats`: the email a campaign sends is its
//! `primary_email` activity) and per contact (`get-contact-activity-details`, and
//! over a date range `get-contact-open-click-rates`, `get-contact-activity-summary`).
//! The API computes them some time after a send; they only ever grow. One email's
//! tracking reports are in `email_reports`, landing pages' in `landing_page_reports`.
//! SMS campaigns are summarised by `list-sms-campaign-summaries`.

use connector_sdk::check::{check, date_time, items, range, Bound};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::reports::{
    CampaignActivityStats, CampaignSummariesPage, ContactActivityPage, ContactActivitySummary,
    ContactDateRangeInput, ContactOpenClickRates, GetCampaignActivityStatsInput,
    GetContactActivityDetailsInput, Guest, ListCampaignSummariesInput,
    ListSmsCampaignSummariesInput, SmsCampaignSummariesPage,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
const LIST_SUMMARIES: &[Bound] = &[range("limit", 1, 500)];

/// `get-contact-activity-details`' bounds.
const CONTACT_ACTIVITY: &[Bound] = &[
    items("tracking_activities_list", 1, 10),
    range("limit", 1, 100),
];

/// At most ten activities at once.
const STATS: &[Bound] = &[items("campaign_activity_ids", 1, 10)];

/// A contact's date range: ISO-8601 both ends (the API also bounds it to 5 years).
const CONTACT_RANGE: &[Bound] = &[date_time("start"), date_time("end")];

/// `list-sms-campaign-summaries`' bounds.
const SMS_SUMMARIES: &[Bound] = &[
    range("limit", 1, 50),
    date_time("start_at"),
    date_time("end_at"),
];

const RANGE_PITFALL: &str = "start and end are required and at most 5 years apart (else 400).";

pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-campaign-summaries",
        category: "Reports",
        description: "Lists sent campaigns with their sends, opens, clicks, bounces and opt-outs.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Only campaigns sent at least once are listed, most recently sent first.",
            "aggregate_percents covers every campaign, not just this page.",
        ],
        bounds: &[LIST_SUMMARIES],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-campaign-activity-stats",
        category: "Reports",
        description: "Gets sends, opens, clicks, bounces and opt-outs for up to 10 campaign emails.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Takes campaign activity ids (the primary_email of get-email-campaign), not campaign ids.",
            "An id without stats (never sent) is reported in errors, not as a failure.",
        ],
        bounds: &[STATS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-contact-activity-details",
        category: "Reports",
        description: "Lists what one contact did with the emails sent to them, newest first.",
        scopes: &["contact_data"],
        pitfalls: &["Name at least one kind of activity in tracking_activities_list."],
        bounds: &[CONTACT_ACTIVITY],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-contact-open-click-rates",
        category: "Reports",
        description: "Gets a contact's average open and click rates over the emails sent in a date range.",
        scopes: &["contact_data"],
        pitfalls: &[
            RANGE_PITFALL,
            "Rates are fractions from 0 to 1; both are 0 when no email falls in the range.",
        ],
        bounds: &[CONTACT_RANGE],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-contact-activity-summary",
        category: "Reports",
        description: "Lists the emails sent to a contact in a date range with what they did with each.",
        scopes: &["contact_data"],
        pitfalls: &[
            RANGE_PITFALL,
            "Only the most recent 200 emails are summarised.",
        ],
        bounds: &[CONTACT_RANGE],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "list-sms-campaign-summaries",
        category: "Reports",
        description: "Lists SMS campaigns sent in a date range with their sends, deliveries, clicks and opt-outs.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "start_at is required by the API.",
            "aggregate_percents covers the campaigns of this page only.",
        ],
        bounds: &[SMS_SUMMARIES],
        ..ActivityMeta::READ
    },
];

impl Guest for Connector {
    /// Lists sent campaigns with their unique counts.
    ///
    /// `GET /v3/reports/summary_reports/email_campaign_summaries` — <https://developer.constantcontact.com/api_guide/email_bulk_campaign_summary_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_campaign_summaries(
        input: ListCampaignSummariesInput,
    ) -> Result<CampaignSummariesPage, ActivityError> {
        check(&input, LIST_SUMMARIES)?;
        CC.get("/v3/reports/summary_reports/email_campaign_summaries")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Gets the counts of up to 10 campaign activities.
    ///
    /// `GET /v3/reports/stats/email_campaign_activities/{campaign_activity_ids}` — <https://developer.constantcontact.com/api_guide/email_campaign_activity_stats_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_campaign_activity_stats(
        input: GetCampaignActivityStatsInput,
    ) -> Result<CampaignActivityStats, ActivityError> {
        check(&input, STATS)?;
        // The ids go into the path, comma-separated (`,` is kept as is).
        CC.get("/v3/reports/stats/email_campaign_activities")
            .id(
                "campaign_activity_ids",
                &input.campaign_activity_ids.join(","),
            )
            .json()
    }

    /// Lists one contact's tracking activities, one page per call.
    ///
    /// `GET /v3/reports/contact_reports/{contact_id}/activity_details` — <https://developer.constantcontact.com/api_guide/contact_tracking_activities_report.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact_activity_details(
        input: GetContactActivityDetailsInput,
    ) -> Result<ContactActivityPage, ActivityError> {
        check(&input, CONTACT_ACTIVITY)?;
        CC.get("/v3/reports/contact_reports")
            .id("contact_id", &input.contact_id)
            .path("/activity_details")
            .queries(&input, &["contact_id", "cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Gets a contact's average open and click rates over a date range.
    ///
    /// `GET /v3/reports/contact_reports/{contact_id}/open_and_click_rates` — <https://developer.constantcontact.com/api_guide/contact_tracking_avg_open_click_rate.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact_open_click_rates(
        input: ContactDateRangeInput,
    ) -> Result<ContactOpenClickRates, ActivityError> {
        check(&input, CONTACT_RANGE)?;
        CC.get("/v3/reports/contact_reports")
            .id("contact_id", &input.contact_id)
            .path("/open_and_click_rates")
            .queries(&input, &["contact_id"])
            .json()
    }

    /// Summarises what a contact did with each email sent in a date range.
    ///
    /// `GET /v3/reports/contact_reports/{contact_id}/activity_summary` — <https://developer.constantcontact.com/api_guide/contact_tracking_summary_report.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact_activity_summary(
        input: ContactDateRangeInput,
    ) -> Result<ContactActivitySummary, ActivityError> {
        check(&input, CONTACT_RANGE)?;
        CC.get("/v3/reports/contact_reports")
            .id("contact_id", &input.contact_id)
            .path("/activity_summary")
            .queries(&input, &["contact_id"])
            .json()
    }

    /// Lists SMS campaign summaries, one page per call.
    ///
    /// `GET /v3/reports/summary_reports/sms_campaign_summaries` — <https://developer.constantcontact.com/api_guide/sms_bulk_campaign_summary_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_sms_campaign_summaries(
        input: ListSmsCampaignSummariesInput,
    ) -> Result<SmsCampaignSummariesPage, ActivityError> {
        check(&input, SMS_SUMMARIES)?;
        CC.get("/v3/reports/summary_reports/sms_campaign_summaries")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }
}
