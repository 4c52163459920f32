//! Email campaigns: create, edit, test, schedule.
//!
//! A campaign is a shell (name, status) around *activities*; the one with role
//! `primary_email` holds the content, the sender and the recipients, and is what
//! gets tested and scheduled. So most activities here first read the campaign to
//! find its primary email activity ([`primary_activity_id`]), then act on that.

use connector_sdk::check::{check, date_time, email, items, max_len, range};
use connector_sdk::json::{merge, remove, to_value};
use connector_sdk::serde_json::{json, Value};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::campaigns::{
    ActivityChanges, CampaignSchedule, CreateEmailCampaignInput, EmailCampaign,
    EmailCampaignActivity, EmailCampaignDetails, EmailCampaignsPage, GetEmailCampaignInput, Guest,
    ListEmailCampaignsInput, ScheduleEmailCampaignInput, SendTestEmailInput, TestEmailSent,
    UpdateEmailCampaignInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-email-campaigns",
        category: "Campaigns",
        description: "Lists email campaigns, one page at a time.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Deleted (Removed) campaigns are listed too; the dates filter on updated_at.",
            "List results carry no activities: use get-email-campaign for those.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-email-campaign",
        category: "Campaigns",
        description: "Gets a campaign with the content of its activities.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "One request per activity (usually three in all), each counting toward the rate limit.",
            "Removed activities are left out of activities; the campaign still lists them.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-email-campaign",
        category: "Campaigns",
        description: "Creates a draft custom-code email campaign.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "from_email and reply_to_email must be CONFIRMED account emails.",
            "html_content needs [[trackingImage]] in its body for reporting.",
            "Names are unique (conflict otherwise); recipients are set later with update-email-campaign.",
        ],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "update-email-campaign",
        category: "Campaigns",
        description:
            "Renames a campaign and/or edits its email: sender, subject, content, recipients.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "contact_list_ids replaces the recipients and drops a segment (lists or a segment, not both).",
            "Only draft or sent emails can be edited; a Removed campaign cannot be renamed.",
        ],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "schedule-email-campaign",
        category: "Campaigns",
        description: "Schedules the campaign's email, or sends it now.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "now sends mail at once and cannot be undone.",
            "Recipients must be set first; only draft, sent or failed emails can be scheduled.",
            "Scheduling a sent campaign again mails only the contacts added since.",
        ],
        ..ActivityMeta::ACTION
    },
    ActivityMeta {
        name: "send-test-email",
        category: "Campaigns",
        description: "Sends the campaign's email to up to five test addresses.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "At most 5 addresses a call and 50 test emails a day (then rate-limited).",
            "Merge tags (contact and custom fields) are not filled in.",
        ],
        ..ActivityMeta::ACTION
    },
];

/// Asks `GET /emails/activities/{id}` for the content; it is left out by default.
const ACTIVITY_INCLUDES: &str = "html_content,physical_address_in_footer";

/// What `EmailCampaignActivity` marks `readOnly`: never sent back on PUT.
const READ_ONLY: &[&str] = &[
    "campaign_activity_id",
    "campaign_id",
    "role",
    "current_status",
    "format_type",
    "template_id",
    "permalink_url",
    "physical_address_in_footer.country_name",
    "physical_address_in_footer.state_name",
    "document_properties.letter_format",
];

impl Guest for Connector {
    /// Lists email campaigns, one page per call (without their activities).
    ///
    /// `GET /v3/emails` — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Campaigns/retrieveEmailCampaignsUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_campaigns(
        input: ListEmailCampaignsInput,
    ) -> Result<EmailCampaignsPage, ActivityError> {
        let bounds = [
            range("limit", 1, 500),
            date_time("before_date"),
            date_time("after_date"),
        ];
        check(&input, &bounds)?;
        CC.get("/v3/emails")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Gets a campaign and the content of each of its activities.
    ///
    /// `GET /v3/emails/{campaign_id}`, then `GET /v3/emails/activities/{id}` per
    /// activity — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Campaigns/retrieveEmailCampaignUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: reads only.
    fn get_email_campaign(
        input: GetEmailCampaignInput,
    ) -> Result<EmailCampaignDetails, ActivityError> {
        campaign_details(&input.campaign_id)
    }

    /// Creates a draft email campaign with custom-code HTML content.
    ///
    /// `POST /v3/emails` (200, not 201) — <https://developer.constantcontact.com/api_guide/email_campaign_create.html>.
    /// Scope `campaign_data`. Not retry-safe: a repeat answers 409 (names are unique).
    /// Not destructive: it only adds.
    fn create_email_campaign(
        input: CreateEmailCampaignInput,
    ) -> Result<EmailCampaign, ActivityError> {
        let bounds = [
            max_len("name", 80),
            max_len("from_name", 100),
            max_len("from_email", 80),
            max_len("reply_to_email", 80),
            email("from_email"),
            email("reply_to_email"),
            max_len("preheader", 200),
            max_len("html_content", 150_000),
        ];
        check(&input, &bounds)?;
        let mut activity = to_value(&input)?;
        remove(&mut activity, &["name"]);
        // 5 = custom code, the only format the API creates; it takes one activity here.
        activity["format_type"] = 5.into();
        let body = json!({"name": input.name, "email_campaign_activities": [activity]});
        CC.post("/v3/emails").body(&body).json()
    }

    /// Renames a campaign and/or changes its primary email; returns the result.
    ///
    /// `PATCH /v3/emails/{campaign_id}` for the name; `GET` then
    /// `PUT /v3/emails/activities/{id}` for the email — <https://developer.constantcontact.com/api_guide/email_campaign_activity_update.html>.
    /// Scope `campaign_data`. Retry-safe: it writes the same values each time.
    /// Destructive: the values it replaces are gone.
    fn update_email_campaign(
        input: UpdateEmailCampaignInput,
    ) -> Result<EmailCampaignDetails, ActivityError> {
        if input.name.is_none() && input.primary_email.is_none() {
            return Err(invalid_input("give `name`, `primary_email` or both"));
        }
        let bounds = [
            max_len("name", 80),
            max_len("primary_email.from_name", 100),
            max_len("primary_email.from_email", 80),
            max_len("primary_email.reply_to_email", 80),
            email("primary_email.from_email"),
            email("primary_email.reply_to_email"),
            max_len("primary_email.preheader", 200),
            max_len("primary_email.html_content", 150_000),
        ];
        check(&input, &bounds)?;
        if let Some(name) = &input.name {
            let rename = json!({ "name": name });
            CC.patch("/v3/emails")
                .id("campaign_id", &input.campaign_id)
                .body(&rename)
                .send()?;
        }
        if let Some(changes) = input.primary_email {
            edit_primary_email(&input.campaign_id, changes)?;
        }
        campaign_details(&input.campaign_id)
    }

    /// Schedules the campaign's primary email, or sends it now.
    ///
    /// `POST /v3/emails/activities/{id}/schedules` (201) — <https://developer.constantcontact.com/api_guide/email_campaign_create_schedule.html>.
    /// Scope `campaign_data`. Not retry-safe: `now` sends mail, and a repeat on a sent
    /// campaign mails contacts added since. Not destructive: unscheduling undoes it.
    fn schedule_email_campaign(
        input: ScheduleEmailCampaignInput,
    ) -> Result<CampaignSchedule, ActivityError> {
        // The API's word for "now" is the date "0".
        let date = match input.scheduled_date.trim() {
            now if now.eq_ignore_ascii_case("now") => "0",
            _ => check(&input, &[date_time("scheduled_date")]).map(|()| &*input.scheduled_date)?,
        };
        let id = primary_activity_id(&input.campaign_id)?;
        let schedules: Value = CC
            .post("/v3/emails/activities")
            .id("campaign_activity_id", &id)
            .path("/schedules")
            .body(&json!({ "scheduled_date": date }))
            .json()?;
        // `[{"scheduled_date": …}]` for a future date, `[]` when sent now.
        let scheduled_date = schedules[0]["scheduled_date"].as_str().map(Into::into);
        Ok(CampaignSchedule {
            campaign_activity_id: id,
            scheduled_date,
        })
    }

    /// Sends the campaign's primary email to one to five test addresses.
    ///
    /// `POST /v3/emails/activities/{id}/tests` (204) — <https://v3.developer.constantcontact.com/api_guide/email_campaign_activity_test_send.html>.
    /// Scope `campaign_data`. Not retry-safe: each call sends mail. Not destructive.
    fn send_test_email(input: SendTestEmailInput) -> Result<TestEmailSent, ActivityError> {
        // Checked here so a bad call costs nothing from the daily quota of 50.
        check(
            &input,
            &[items("email_addresses", 1, 5), email("email_addresses")],
        )?;
        let activity_id = primary_activity_id(&input.campaign_id)?;
        let mut body = to_value(&input)?;
        remove(&mut body, &["campaign_id"]);
        CC.post("/v3/emails/activities")
            .id("campaign_activity_id", &activity_id)
            .path("/tests")
            .body(&body)
            .send()?;
        Ok(TestEmailSent {
            campaign_activity_id: activity_id,
            recipients: input.email_addresses.len() as u32,
        })
    }
}

/// Reads a campaign and the content of its activities.
fn campaign_details(campaign_id: &str) -> Result<EmailCampaignDetails, ActivityError> {
    let campaign = get_campaign(campaign_id)?;
    let mut activities = Vec::new();
    for reference in &campaign.campaign_activities {
        let read = CC
            .get("/v3/emails/activities")
            .id("campaign_activity_id", &reference.campaign_activity_id)
            .query("include", ACTIVITY_INCLUDES)
            .json::<EmailCampaignActivity>();
        match read {
            Ok(activity) => activities.push(activity),
            // The API cannot serve REMOVED activities: list the rest rather than fail.
            Err(ActivityError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(EmailCampaignDetails {
        campaign,
        activities,
    })
}

fn get_campaign(campaign_id: &str) -> Result<EmailCampaign, ActivityError> {
    CC.get("/v3/emails").id("campaign_id", campaign_id).json()
}

/// The id of the campaign's `primary_email` activity: the one to edit, test and schedule.
fn primary_activity_id(campaign_id: &str) -> Result<String, ActivityError> {
    let campaign = get_campaign(campaign_id)?;
    let primary = campaign
        .campaign_activities
        .into_iter()
        .find(|a| a.role == "primary_email");
    primary.map(|a| a.campaign_activity_id).ok_or_else(|| {
        ActivityError::UnexpectedResponse(format!(
            "campaign {campaign_id} has no primary_email activity"
        ))
    })
}

/// Reads the primary email activity, lays the changes over it and PUTs it back.
///
/// Working on the JSON as read keeps fields this connector does not model
/// (`document_properties`, …), which the PUT would otherwise erase; the fields the
/// spec marks read-only are taken out first.
fn edit_primary_email(campaign_id: &str, changes: ActivityChanges) -> Result<(), ActivityError> {
    let id = primary_activity_id(campaign_id)?;
    let mut body: Value = CC
        .get("/v3/emails/activities")
        .id("campaign_activity_id", &id)
        .query("include", ACTIVITY_INCLUDES)
        .json()?;
    remove(&mut body, READ_ONLY);
    if changes.contact_list_ids.is_some() {
        remove(&mut body, &["segment_ids"]); // lists or a segment, never both
    }
    merge(&mut body, to_value(&changes)?);
    CC.put("/v3/emails/activities")
        .id("campaign_activity_id", &id)
        .body(&body)
        .send()?;
    Ok(())
}
