//! Email reports per campaign activity: who was sent the email and what each
//! contact did with it, the links clicked, and per-campaign stats.
//!
//! Every tracking report (`list-email-sends`, `…-opens`, `…-clicks`, …) answers the
//! same shape (`email-tracking-page`, most recent first); the fields only some
//! reports fill are options. They take a campaign *activity* id: the
//! `primary_email` (or a resend) of `get-email-campaign`, not the campaign id.
//! The API computes them some time after a send.

use connector_sdk::check::{check, items, range, Bound};
use connector_sdk::json::case_name;
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::email_reports::{
    CampaignStatsResult, EmailLinks, EmailTrackingInput, EmailTrackingPage, GetCampaignStatsInput,
    GetEmailLinkStatsInput, Guest, ListEmailBouncesInput, ListEmailClicksInput,
};
use crate::{Connector, CC};

/// Every tracking report's page size: 1 to 500.
const TRACKING: &[Bound] = &[range("limit", 1, 500)];

/// Campaign ids per stats request: the spec's `maximum: 150` on the list.
const CAMPAIGN_STATS: &[Bound] = &[items("campaign_ids", 1, 150)];

const ACTIVITY_ID: &str =
    "Takes a campaign activity id (primary_email of get-email-campaign), not a campaign id.";
const LATER: &str = "Counts appear some time after a send, not at once.";

/// A tracking report's metadata: only the name, summary and pitfalls differ.
const fn tracking(
    name: &'static str,
    description: &'static str,
    pitfalls: &'static [&'static str],
) -> ActivityMeta {
    ActivityMeta {
        name,
        category: "Email reports",
        description,
        scopes: &["campaign_data"],
        pitfalls,
        bounds: &[TRACKING],
        ..ActivityMeta::READ
    }
}

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "get-email-link-stats",
        category: "Email reports",
        description: "Lists the links of a campaign email with how many contacts clicked each.",
        scopes: &["campaign_data"],
        pitfalls: &[
            ACTIVITY_ID,
            "Links nobody clicked are left out unless no_clicks is true.",
            "Duplicate URLs are combined into one link.",
        ],
        ..ActivityMeta::READ
    },
    tracking(
        "list-email-sends",
        "Lists the contacts a campaign email was sent to, most recent first.",
        &[ACTIVITY_ID, LATER],
    ),
    tracking(
        "list-email-opens",
        "Lists every open of a campaign email, with the device used, most recent first.",
        &[ACTIVITY_ID, "A contact who opened twice is listed twice; see list-email-unique-opens."],
    ),
    tracking(
        "list-email-unique-opens",
        "Lists each contact's last open of a campaign email, most recent first.",
        &[ACTIVITY_ID, LATER],
    ),
    tracking(
        "list-email-did-not-opens",
        "Lists the contacts that were sent a campaign email but did not open it.",
        &[ACTIVITY_ID, "Bounced emails are not listed: they were never delivered."],
    ),
    tracking(
        "list-email-clicks",
        "Lists every click on a link of a campaign email, optionally of one link.",
        &[ACTIVITY_ID, "url_id comes from get-email-link-stats."],
    ),
    tracking(
        "list-email-forwards",
        "Lists the contacts that forwarded a campaign email with its footer link.",
        &[ACTIVITY_ID, "Forwards through the contact's own mail program are not tracked."],
    ),
    tracking(
        "list-email-optouts",
        "Lists the contacts that unsubscribed through a campaign email.",
        &[ACTIVITY_ID, LATER],
    ),
    tracking(
        "list-email-bounces",
        "Lists the bounces of a campaign email, optionally of some bounce codes only.",
        &[ACTIVITY_ID, "bounce_codes filter by kind; none means every kind."],
    ),
    ActivityMeta {
        name: "get-campaign-stats",
        category: "Email reports",
        description: "Gets totals and percentages of sends, opens, clicks and bounces for campaigns.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Takes campaign ids, not campaign activity ids (see get-campaign-activity-stats).",
            "One malformed id fails the whole request (404); a campaign without stats is in errors.",
        ],
        bounds: &[CAMPAIGN_STATS],
        ..ActivityMeta::READ
    },
];

/// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/{report}`, one page.
fn tracking_page(
    report: &str,
    input: &EmailTrackingInput,
) -> Result<EmailTrackingPage, ActivityError> {
    check(input, TRACKING)?;
    CC.get("/v3/reports/email_reports")
        .id("campaign_activity_id", &input.campaign_activity_id)
        .path("/tracking/")
        .path(report)
        .queries(input, &["campaign_activity_id", "cursor"])
        .cursor(input.cursor.as_deref())
        .page()
}

impl Guest for Connector {
    /// Lists an email's links with their unique clicks.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/links` — <https://developer.constantcontact.com/api_guide/email_links_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_email_link_stats(input: GetEmailLinkStatsInput) -> Result<EmailLinks, ActivityError> {
        CC.get("/v3/reports/email_reports")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/links")
            .queries(&input, &["campaign_activity_id"])
            .json()
    }

    /// Lists the contacts an email was sent to, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/sends` — <https://developer.constantcontact.com/api_guide/email_summary_sends_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_sends(input: EmailTrackingInput) -> Result<EmailTrackingPage, ActivityError> {
        tracking_page("sends", &input)
    }

    /// Lists every open of an email, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/opens` — <https://developer.constantcontact.com/api_guide/email_summary_opens_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_opens(input: EmailTrackingInput) -> Result<EmailTrackingPage, ActivityError> {
        tracking_page("opens", &input)
    }

    /// Lists each contact's last open of an email, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/unique_opens` — <https://developer.constantcontact.com/api_guide/email_summary_unique_opens_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_unique_opens(
        input: EmailTrackingInput,
    ) -> Result<EmailTrackingPage, ActivityError> {
        tracking_page("unique_opens", &input)
    }

    /// Lists the contacts that did not open a delivered email, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/didnotopens` — <https://developer.constantcontact.com/api_guide/email_summary_non_opens_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_did_not_opens(
        input: EmailTrackingInput,
    ) -> Result<EmailTrackingPage, ActivityError> {
        tracking_page("didnotopens", &input)
    }

    /// Lists the clicks on an email's links, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/clicks` — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Reporting/getClicks>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_clicks(input: ListEmailClicksInput) -> Result<EmailTrackingPage, ActivityError> {
        check(&input, TRACKING)?;
        // The API's `url_id` is an int64; the link stats give it as a string.
        if let Some(id) = input.url_id.as_deref() {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid_input(
                    "`url_id` must be a url_id of get-email-link-stats (digits only)",
                ));
            }
        }
        CC.get("/v3/reports/email_reports")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/tracking/clicks")
            .queries(&input, &["campaign_activity_id", "cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Lists the forwards of an email, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/forwards` — <https://developer.constantcontact.com/api_guide/email_summary_forwards_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_forwards(input: EmailTrackingInput) -> Result<EmailTrackingPage, ActivityError> {
        tracking_page("forwards", &input)
    }

    /// Lists the opt-outs through an email, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/optouts` — <https://developer.constantcontact.com/api_guide/email_summary_optouts_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_optouts(input: EmailTrackingInput) -> Result<EmailTrackingPage, ActivityError> {
        tracking_page("optouts", &input)
    }

    /// Lists the bounces of an email, one page per call.
    ///
    /// `GET /v3/reports/email_reports/{campaign_activity_id}/tracking/bounces` — <https://developer.constantcontact.com/api_guide/email_summary_bounces_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_bounces(
        input: ListEmailBouncesInput,
    ) -> Result<EmailTrackingPage, ActivityError> {
        check(&input, TRACKING)?;
        let mut call = CC
            .get("/v3/reports/email_reports")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/tracking/bounces")
            .queries(&input, &["campaign_activity_id", "bounce_codes", "cursor"]);
        // `collectionFormat: multi`: one `bounce_code=` per code, in capitals.
        for code in input.bounce_codes.iter().flatten() {
            call = call.query("bounce_code", &case_name(code).to_ascii_uppercase());
        }
        call.cursor(input.cursor.as_deref()).page()
    }

    /// Gets the stats of up to 150 campaigns.
    ///
    /// `GET /v3/reports/stats/email_campaigns/{campaign_ids}` — <https://developer.constantcontact.com/api_guide/email_campaign_stats_report.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_campaign_stats(
        input: GetCampaignStatsInput,
    ) -> Result<CampaignStatsResult, ActivityError> {
        check(&input, CAMPAIGN_STATS)?;
        // The ids go into the path, comma-separated (`,` is kept as is).
        CC.get("/v3/reports/stats/email_campaigns")
            .id("campaign_ids", &input.campaign_ids.join(","))
            .json()
    }
}
