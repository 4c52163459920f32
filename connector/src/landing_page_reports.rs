//! Landing-page reports: who opened a landing page, clicked its links, or was added,
//! updated or opted in to SMS through its form.
//!
//! All six answer the same shape (`landing-page-page`, most recent first) and take
//! the same input: the landing page's campaign activity id, an optional filter on
//! names and addresses, and a page size. The "unique" reports keep each contact's
//! latest event (per link, for clicks); `list-landing-page-opens` lists every open.

use connector_sdk::check::{check, range, Bound};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::landing_page_reports::{
    Guest, LandingPagePage, LandingPageReportInput,
};
use crate::{Connector, CC};

/// Every landing-page report's page size: 1 to 500 (the spec's description).
const REPORT: &[Bound] = &[range("limit", 1, 500)];

const ACTIVITY_ID: &str = "Takes the landing page's campaign activity id, not a campaign id.";
const FILTER: &str = "contacts_filter matches part of a first name, last name or email address.";

/// A landing-page report's metadata: only the name and summary differ.
const fn report(name: &'static str, description: &'static str) -> ActivityMeta {
    ActivityMeta {
        name,
        category: "Landing page reports",
        description,
        scopes: &["campaign_data"],
        pitfalls: &[ACTIVITY_ID, FILTER],
        bounds: &[REPORT],
        ..ActivityMeta::READ
    }
}

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    report(
        "list-landing-page-unique-clicks",
        "Lists the contacts that clicked a landing page's links, once per contact and link.",
    ),
    report(
        "list-landing-page-unique-opens",
        "Lists the contacts that opened a landing page, once each, most recent first.",
    ),
    report(
        "list-landing-page-opens",
        "Lists every open of a landing page by a contact, most recent first.",
    ),
    report(
        "list-landing-page-unique-updates",
        "Lists the contacts that updated their details through a landing page.",
    ),
    report(
        "list-landing-page-unique-adds",
        "Lists the contacts added through a landing page.",
    ),
    report(
        "list-landing-page-unique-sms-optins",
        "Lists the contacts that opted in to SMS through a landing page.",
    ),
];

/// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/{report}`,
/// one page.
fn page(report: &str, input: &LandingPageReportInput) -> Result<LandingPagePage, ActivityError> {
    check(input, REPORT)?;
    CC.get("/v3/reports/landing_pages/campaign_details")
        .id("campaign_activity_id", &input.campaign_activity_id)
        .path("/")
        .path(report)
        .queries(input, &["campaign_activity_id", "cursor"])
        .cursor(input.cursor.as_deref())
        .page()
}

impl Guest for Connector {
    /// Lists each contact's latest click per link of a landing page, one page per call.
    ///
    /// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/p_unique_contact_clicks` — <https://developer.constantcontact.com/api_reference/index.html#!/Landing_Pages_Reporting/getUniqueContactClicks>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_landing_page_unique_clicks(
        input: LandingPageReportInput,
    ) -> Result<LandingPagePage, ActivityError> {
        page("p_unique_contact_clicks", &input)
    }

    /// Lists each contact's latest open of a landing page, one page per call.
    ///
    /// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/p_unique_contact_opens` — <https://developer.constantcontact.com/api_reference/index.html#!/Landing_Pages_Reporting/getUniqueContactOpens>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_landing_page_unique_opens(
        input: LandingPageReportInput,
    ) -> Result<LandingPagePage, ActivityError> {
        page("p_unique_contact_opens", &input)
    }

    /// Lists every open of a landing page, one page per call.
    ///
    /// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/p_contact_opens` — <https://developer.constantcontact.com/api_reference/index.html#!/Landing_Pages_Reporting/getContactOpens>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_landing_page_opens(
        input: LandingPageReportInput,
    ) -> Result<LandingPagePage, ActivityError> {
        page("p_contact_opens", &input)
    }

    /// Lists the contacts that updated themselves through a landing page, one page per call.
    ///
    /// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/p_unique_contact_updates` — <https://developer.constantcontact.com/api_reference/index.html#!/Landing_Pages_Reporting/getUniqueContactUpdates>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_landing_page_unique_updates(
        input: LandingPageReportInput,
    ) -> Result<LandingPagePage, ActivityError> {
        page("p_unique_contact_updates", &input)
    }

    /// Lists the contacts a landing page added, one page per call.
    ///
    /// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/p_unique_contact_adds` — <https://developer.constantcontact.com/api_reference/index.html#!/Landing_Pages_Reporting/getContactAdds>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_landing_page_unique_adds(
        input: LandingPageReportInput,
    ) -> Result<LandingPagePage, ActivityError> {
        page("p_unique_contact_adds", &input)
    }

    /// Lists the contacts that opted in to SMS on a landing page, one page per call.
    ///
    /// `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/p_unique_contact_sms_optins` — <https://developer.constantcontact.com/api_reference/index.html#!/Landing_Pages_Reporting/getUniqueContactSMSOptIns>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_landing_page_unique_sms_optins(
        input: LandingPageReportInput,
    ) -> Result<LandingPagePage, ActivityError> {
        page("p_unique_contact_sms_optins", &input)
    }
}
