//! How a campaign's email goes out: its preview, a subject-line A/B test, a resend
//! to contacts who did not open it, and the history of its sends.
//!
//! Each activity here takes a `campaign_activity_id`, as the API's paths do: the
//! campaign's `primary_email` activity, which `get-email-campaign` lists (the
//! `campaigns` area's activities that take a `campaign_id` look it up themselves,
//! at the cost of one more request).

use connector_sdk::check::{any_of, check, range, Bound};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::campaign_delivery::{
    AbTest, CampaignActivityInput, CreateAbTestInput, CreateNonOpenerResendInput,
    DeleteNonOpenerResendInput, EmailPreview, EmailSend, EmailSendHistory, Guest, NonOpenerResend,
    NonOpenerResends,
};
use crate::{Connector, CC};

/// `create-ab-test`'s bounds (spec `ABTestData`).
const AB_TEST: &[Bound] = &[
    range("test_size", 5, 50),
    // Only 6, 12, 24 or 48 are valid: `create_ab_test` checks that.
    range("winner_wait_duration", 6, 48),
];

/// The hours `winner_wait_duration` may be.
const WAIT_HOURS: [u8; 4] = [6, 12, 24, 48];

/// `create-non-opener-resend`'s bounds (spec `ResendToNonOpenersInput`).
const RESEND: &[Bound] = &[
    range("delay_days", 1, 10),
    range("delay_minutes", 720, 14_400),
    any_of(&["delay_days", "delay_minutes"]),
];

const PRIMARY_ONLY: &str =
    "Give the campaign's primary_email activity id (get-email-campaign lists it).";

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "get-ab-test",
        display_name: "Get A/B test",
        category: "Campaigns",
        description: "Gets the subject-line A/B test of a campaign's email.",
        scopes: &["campaign_data"],
        pitfalls: &[PRIMARY_ONLY, "An email without an A/B test is not found."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-ab-test",
        display_name: "Create A/B test",
        category: "Campaigns",
        description: "Tests a second subject line on part of the recipients; the subject \
                      with more opens then goes to the rest.",
        scopes: &["campaign_data"],
        pitfalls: &[
            PRIMARY_ONLY,
            "Only a draft email, and one test each (conflict otherwise).",
            "test_size is 5 to 50 percent per subject; winner_wait_duration is 6, 12, 24 or 48 hours.",
            "The campaign's type becomes A/B Test (57) until the test is deleted.",
        ],
        bounds: &[AB_TEST],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "delete-ab-test",
        display_name: "Delete A/B test",
        category: "Campaigns",
        description: "Deletes the A/B test of a campaign's draft email.",
        scopes: &["campaign_data"],
        pitfalls: &[
            PRIMARY_ONLY,
            "Only while the email is a draft; the original subject line is used.",
        ],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "list-non-opener-resends",
        display_name: "List non-opener resends",
        category: "Campaigns",
        description: "Lists the resend of a campaign's email to contacts who did not open it.",
        scopes: &["campaign_data"],
        pitfalls: &[
            PRIMARY_ONLY,
            "A campaign has at most one resend; the list is empty without one.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-non-opener-resend",
        display_name: "Create non-opener resend",
        category: "Campaigns",
        description: "Resends a campaign's email, with a new subject, to contacts who did \
                      not open it, some days after it went out.",
        scopes: &["campaign_data"],
        pitfalls: &[
            PRIMARY_ONLY,
            "One resend per campaign (conflict otherwise); the email must be draft, scheduled or sent.",
            "delay_days 1 to 10, or delay_minutes 720 to 14,400: one of them, not both.",
            "Once the email has gone out, the resend mails contacts when its delay is over.",
        ],
        bounds: &[RESEND],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "delete-non-opener-resend",
        display_name: "Delete non-opener resend",
        category: "Campaigns",
        description: "Deletes (unschedules) the resend of a campaign's email to non-openers.",
        scopes: &["campaign_data"],
        pitfalls: &[
            PRIMARY_ONLY,
            "resend_request_id is DRAFT while the email is a draft, else the id list-non-opener-resends shows.",
        ],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "get-email-preview",
        category: "Campaigns",
        description: "Gets a campaign email as contacts will see it: headers, HTML and text.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Contact and account variables are filled in with the account owner's details.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-email-send-history",
        category: "Campaigns",
        description: "Lists each time a campaign email went out: when, to how many, to which lists.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Empty until the email is sent; only primary_email and resend activities have one.",
            "reason_code 12 with count 0 means no contact was eligible (empty or already-mailed lists).",
        ],
        ..ActivityMeta::READ
    },
];

impl Guest for Connector {
    /// Gets the A/B test of a campaign's primary email.
    ///
    /// `GET /v3/emails/activities/{campaign_activity_id}/abtest` — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Campaigns_AB_Tests/retrieveEmailCampaignABTestUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_ab_test(input: CampaignActivityInput) -> Result<AbTest, ActivityError> {
        CC.get("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/abtest")
            .json()
    }

    /// Creates a subject-line A/B test on a campaign's draft primary email.
    ///
    /// `POST /v3/emails/activities/{campaign_activity_id}/abtest` (201) — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Campaigns_AB_Tests/createEmailCampaignABTestUsingPOST>.
    /// Scope `campaign_data`. Not retry-safe: a repeat is a conflict. Not destructive.
    fn create_ab_test(input: CreateAbTestInput) -> Result<AbTest, ActivityError> {
        check(&input, AB_TEST)?;
        if !WAIT_HOURS.contains(&input.winner_wait_duration) {
            return Err(invalid_input(
                "`winner_wait_duration` must be 6, 12, 24 or 48 (hours)",
            ));
        }
        CC.post("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/abtest")
            .body_except(&input, &["campaign_activity_id"])
            .json()
    }

    /// Deletes the A/B test of a campaign's draft primary email.
    ///
    /// `DELETE /v3/emails/activities/{campaign_activity_id}/abtest` (204) — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Campaigns_AB_Tests/deleteEmailCampaignABTestUsingDELETE>.
    /// Scope `campaign_data`. Retry-safe: a repeat finds nothing (not found).
    /// Destructive: the alternative subject is gone.
    fn delete_ab_test(input: CampaignActivityInput) -> Result<(), ActivityError> {
        CC.delete("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/abtest")
            .send()?;
        Ok(())
    }

    /// Lists the resend to non-openers of a campaign's primary email (none or one).
    ///
    /// `GET /v3/emails/activities/{campaign_activity_id}/non_opener_resends` — <https://developer.constantcontact.com/api_guide/email_campaign_resend_get.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_non_opener_resends(
        input: CampaignActivityInput,
    ) -> Result<NonOpenerResends, ActivityError> {
        let resends: Vec<NonOpenerResend> = CC
            .get("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/non_opener_resends")
            .json()?;
        Ok(NonOpenerResends {
            campaign_activity_id: input.campaign_activity_id,
            resends,
        })
    }

    /// Resends a campaign's primary email to contacts who did not open it.
    ///
    /// `POST /v3/emails/activities/{campaign_activity_id}/non_opener_resends` (201) — <https://developer.constantcontact.com/api_guide/email_campaign_resend.html>.
    /// Scope `campaign_data`. Not retry-safe: a campaign takes one resend, a repeat
    /// is a conflict. Not destructive: deleting the resend undoes it before it goes out.
    fn create_non_opener_resend(
        input: CreateNonOpenerResendInput,
    ) -> Result<NonOpenerResend, ActivityError> {
        check(&input, RESEND)?;
        // The API would quietly ignore `delay_minutes` next to `delay_days`.
        if input.delay_days.is_some() && input.delay_minutes.is_some() {
            return Err(invalid_input(
                "give `delay_days` or `delay_minutes`, not both",
            ));
        }
        CC.post("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/non_opener_resends")
            .body_except(&input, &["campaign_activity_id"])
            .json()
    }

    /// Deletes (unschedules) the resend to non-openers of a campaign's primary email.
    ///
    /// `DELETE /v3/emails/activities/{campaign_activity_id}/non_opener_resends/{resend_request_id}` (204) — <https://developer.constantcontact.com/api_guide/email_campaign_resend_delete.html>.
    /// Scope `campaign_data`. Retry-safe: a repeat finds nothing (not found).
    /// Destructive: the resend is gone.
    fn delete_non_opener_resend(input: DeleteNonOpenerResendInput) -> Result<(), ActivityError> {
        CC.delete("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/non_opener_resends")
            .id("resend_request_id", &input.resend_request_id)
            .send()?;
        Ok(())
    }

    /// Gets the HTML and text preview of a campaign activity.
    ///
    /// `GET /v3/emails/activities/{campaign_activity_id}/previews` — <https://developer.constantcontact.com/api_guide/email_campaign_preview.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_email_preview(input: CampaignActivityInput) -> Result<EmailPreview, ActivityError> {
        CC.get("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/previews")
            .json()
    }

    /// Lists each send of a campaign activity, oldest first.
    ///
    /// `GET /v3/emails/activities/{campaign_activity_id}/send_history` — <https://developer.constantcontact.com/api_guide/email_campaign_send_history.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_email_send_history(
        input: CampaignActivityInput,
    ) -> Result<EmailSendHistory, ActivityError> {
        let sends: Vec<EmailSend> = CC
            .get("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .path("/send_history")
            .json()?;
        Ok(EmailSendHistory {
            campaign_activity_id: input.campaign_activity_id,
            sends,
        })
    }
}
