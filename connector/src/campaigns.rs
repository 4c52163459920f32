//! Email campaigns: create, edit, test, schedule.
//!
//! A campaign is a shell (name, status) around *activities*; the one with role
//! `primary_email` holds the content, the sender and the recipients, and is what
//! gets tested and scheduled. So most activities here first read the campaign to
//! find its primary email activity ([`primary_activity_id`]), then act on that.
//!
//! The JSON shapes and their conversions live in [`json`].

mod json;

use serde_json::{Map, Value};

use self::json::{
    ActivityJson, CampaignJson, CampaignsJson, NewCampaign, Rename, Schedule, ScheduleJson,
    TestSend,
};
use crate::connector::sdk::types::ActivityError;
use crate::exports::constant_contact::connector::campaigns::{
    ActivityChanges, CampaignSchedule, CreateEmailCampaignInput, EmailCampaign,
    EmailCampaignDetails, EmailCampaignsPage, GetEmailCampaignInput, Guest,
    ListEmailCampaignsInput, ScheduleEmailCampaignInput, SendTestEmailInput, TestEmailSent,
    UpdateEmailCampaignInput,
};
use crate::{http, ActivityMeta, Connector};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-email-campaigns",
        display_name: "List email campaigns",
        category: "Campaigns",
        description: "Lists email campaigns, one page at a time.",
        scopes: &["campaign_data"],
        retry_safe: true,
    },
    ActivityMeta {
        name: "get-email-campaign",
        display_name: "Get email campaign",
        category: "Campaigns",
        description: "Gets a campaign with the content of its activities.",
        scopes: &["campaign_data"],
        retry_safe: true,
    },
    ActivityMeta {
        name: "create-email-campaign",
        display_name: "Create email campaign",
        category: "Campaigns",
        description: "Creates a draft custom-code email campaign.",
        scopes: &["campaign_data"],
        retry_safe: false,
    },
    ActivityMeta {
        name: "update-email-campaign",
        display_name: "Update email campaign",
        category: "Campaigns",
        description:
            "Renames a campaign and/or edits its email: sender, subject, content, recipients.",
        scopes: &["campaign_data"],
        retry_safe: true,
    },
    ActivityMeta {
        name: "schedule-email-campaign",
        display_name: "Schedule email campaign",
        category: "Campaigns",
        description: "Schedules the campaign's email, or sends it now.",
        scopes: &["campaign_data"],
        retry_safe: false,
    },
    ActivityMeta {
        name: "send-test-email",
        display_name: "Send test email",
        category: "Campaigns",
        description: "Sends the campaign's email to up to five test addresses.",
        scopes: &["campaign_data"],
        retry_safe: false,
    },
];

/// Asks `GET /emails/activities/{id}` for the content; it is left out by default.
const ACTIVITY_INCLUDES: &str = "html_content,physical_address_in_footer";

impl Guest for Connector {
    /// Lists email campaigns, one page per call (without their activities).
    ///
    /// `GET /v3/emails` — <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope `campaign_data`. Retry-safe: a read.
    ///
    /// Pitfall: deleted (`Removed`) campaigns are listed too; the dates filter on `updated_at`.
    fn list_email_campaigns(
        input: ListEmailCampaignsInput,
    ) -> Result<EmailCampaignsPage, ActivityError> {
        let query = http::query([
            ("limit", input.limit.map(|n| n.to_string())),
            ("before_date", input.before_date),
            ("after_date", input.after_date),
        ]);
        let reply = http::get_page("/v3/emails", &query, input.cursor.as_deref())?;
        let page: CampaignsJson = reply.json("a page of email campaigns")?;
        Ok(page.into())
    }

    /// Gets a campaign and the content of each of its activities.
    ///
    /// `GET /v3/emails/{id}`, then `GET /v3/emails/activities/{activity_id}` per activity —
    /// <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope `campaign_data`. Retry-safe: reads only.
    ///
    /// Pitfalls: one request per activity (usually two), each counting toward the
    /// rate limit. Activities the API no longer serves (removed ones answer 404) are
    /// left out of `activities`; the campaign still lists them.
    fn get_email_campaign(
        input: GetEmailCampaignInput,
    ) -> Result<EmailCampaignDetails, ActivityError> {
        campaign_details(&input.campaign_id)
    }

    /// Creates a draft email campaign with custom-code HTML content.
    ///
    /// `POST /v3/emails` (200, not 201) —
    /// <https://developer.constantcontact.com/api_guide/email_campaign_create.html>.
    /// Scope `campaign_data`. Not retry-safe: a repeat answers 409 (names are unique).
    ///
    /// Pitfalls: `from-email` and `reply-to-email` must be CONFIRMED account emails;
    /// `html-content` needs `[[trackingImage]]` in its body for reporting; recipients
    /// are set later with `update-email-campaign` (`contact-list-ids`).
    fn create_email_campaign(
        input: CreateEmailCampaignInput,
    ) -> Result<EmailCampaign, ActivityError> {
        let campaign: CampaignJson = http::post("/v3/emails", &NewCampaign::from(input))?
            .json("the created email campaign")?;
        Ok(campaign.into())
    }

    /// Renames a campaign and/or changes its primary email; returns the result.
    ///
    /// `PATCH /v3/emails/{id}` for the name; `GET` then `PUT /v3/emails/activities/{activity_id}`
    /// for the email — <https://developer.constantcontact.com/api_guide/email_campaign_activity_update.html>.
    /// Scope `campaign_data`. Retry-safe: it writes the same values each time.
    ///
    /// Pitfalls: the activity PUT replaces the whole activity, so this sends back
    /// everything it read with the changes laid over it; `contact-list-ids` replaces
    /// the recipients (and drops segments: the API takes one or the other). Only
    /// draft (or sent) activities can be edited; a `Removed` campaign cannot be renamed.
    fn update_email_campaign(
        input: UpdateEmailCampaignInput,
    ) -> Result<EmailCampaignDetails, ActivityError> {
        if input.name.is_none() && input.primary_email.is_none() {
            return Err(http::invalid_input(
                "give `name`, `primary-email` or both".into(),
            ));
        }
        let path = format!(
            "/v3/emails/{}",
            http::id("campaign-id", &input.campaign_id)?
        );
        if let Some(name) = input.name {
            http::patch(&path, &Rename { name })?;
        }
        if let Some(changes) = input.primary_email {
            edit_primary_email(&input.campaign_id, changes)?;
        }
        campaign_details(&input.campaign_id)
    }

    /// Schedules the campaign's primary email, or sends it now.
    ///
    /// `POST /v3/emails/activities/{activity_id}/schedules` (201) —
    /// <https://developer.constantcontact.com/api_guide/email_campaign_create_schedule.html>.
    /// Scope `campaign_data`. Not retry-safe: `now` sends mail, and a repeat on a sent
    /// campaign re-sends to contacts added since.
    ///
    /// Pitfalls: recipients must be set first; only DRAFT, DONE or ERROR activities.
    fn schedule_email_campaign(
        input: ScheduleEmailCampaignInput,
    ) -> Result<CampaignSchedule, ActivityError> {
        let activity_id = primary_activity_id(&input.campaign_id)?;
        // The API's word for "now" is the date "0".
        let now = input.scheduled_date.trim().eq_ignore_ascii_case("now");
        let body = Schedule {
            scheduled_date: if now {
                "0".into()
            } else {
                input.scheduled_date
            },
        };
        let reply = http::post(
            &format!("{}/schedules", activity_path(&activity_id)?),
            &body,
        )?;
        // `[{"scheduled_date": …}]` for a future date, `[]` when sent now.
        let schedules: Vec<ScheduleJson> = reply.json("a list of schedules")?;
        let scheduled_date = schedules.into_iter().next().and_then(|s| s.scheduled_date);
        Ok(CampaignSchedule {
            campaign_activity_id: activity_id,
            scheduled_date,
        })
    }

    /// Sends the campaign's primary email to one to five test addresses.
    ///
    /// `POST /v3/emails/activities/{activity_id}/tests` (204) —
    /// <https://v3.developer.constantcontact.com/api_guide/email_campaign_activity_test_send.html>.
    /// Scope `campaign_data`. Not retry-safe: each call sends mail.
    ///
    /// Pitfalls: at most 5 addresses a call and 50 test emails a day (then 429);
    /// merge tags are not filled in.
    fn send_test_email(input: SendTestEmailInput) -> Result<TestEmailSent, ActivityError> {
        let count = input.email_addresses.len();
        // Checked here so a bad call costs no request from the daily quota.
        if !(1..=5).contains(&count) || input.email_addresses.iter().any(|a| !a.contains('@')) {
            return Err(http::invalid_input(format!(
                "`email-addresses` needs 1 to 5 addresses, got {count}"
            )));
        }
        let activity_id = primary_activity_id(&input.campaign_id)?;
        let body = TestSend {
            email_addresses: input.email_addresses,
            personal_message: input.personal_message,
        };
        http::post(&format!("{}/tests", activity_path(&activity_id)?), &body)?;
        Ok(TestEmailSent {
            campaign_activity_id: activity_id,
            recipients: count as u32,
        })
    }
}

fn activity_path(activity_id: &str) -> Result<String, ActivityError> {
    Ok(format!(
        "/v3/emails/activities/{}",
        http::id("campaign-activity-id", activity_id)?
    ))
}

/// Reads a campaign and the content of its activities.
fn campaign_details(campaign_id: &str) -> Result<EmailCampaignDetails, ActivityError> {
    let campaign = get_campaign(campaign_id)?;
    let mut activities = Vec::new();
    for reference in &campaign.campaign_activities {
        let path = activity_path(&reference.campaign_activity_id)?;
        match http::get(&path, &[("include", ACTIVITY_INCLUDES.into())]) {
            Ok(reply) => activities.push(
                reply
                    .json::<ActivityJson>("an email campaign activity")?
                    .into(),
            ),
            // The API cannot serve REMOVED activities: list the rest rather than fail.
            Err(ActivityError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(EmailCampaignDetails {
        campaign: campaign.into(),
        activities,
    })
}

fn get_campaign(campaign_id: &str) -> Result<CampaignJson, ActivityError> {
    let path = format!("/v3/emails/{}", http::id("campaign-id", campaign_id)?);
    http::get(&path, &[])?.json("an email campaign")
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
fn edit_primary_email(campaign_id: &str, changes: ActivityChanges) -> Result<(), ActivityError> {
    let path = activity_path(&primary_activity_id(campaign_id)?)?;
    let reply = http::get(&path, &[("include", ACTIVITY_INCLUDES.into())])?;
    let mut activity: Map<String, Value> = reply.json("an email campaign activity")?;
    merge(&mut activity, changes);
    http::put(&path, &activity)?;
    Ok(())
}

/// Lays the caller's changes over the activity as read. Working on the raw JSON
/// keeps fields this connector does not model (`document_properties`, …), which
/// the PUT would otherwise erase.
fn merge(activity: &mut Map<String, Value>, changes: ActivityChanges) {
    let fields = [
        ("from_name", changes.from_name),
        ("from_email", changes.from_email),
        ("reply_to_email", changes.reply_to_email),
        ("subject", changes.subject),
        ("preheader", changes.preheader),
        ("html_content", changes.html_content),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            activity.insert(key.into(), value.into());
        }
    }
    if let Some(list_ids) = changes.contact_list_ids {
        activity.remove("segment_ids"); // lists or segments, never both
        activity.insert("contact_list_ids".into(), list_ids.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_changes_only_the_given_fields_and_swaps_segments_for_lists() {
        let Value::Object(mut activity) = json!({
            "campaign_activity_id": "a1", "role": "primary_email", "from_name": "Acme", "subject": "Old",
            "html_content": "<html/>", "segment_ids": [3], "document_properties": {"style_content": "x"}
        }) else {
            unreachable!()
        };
        let changes = ActivityChanges {
            from_name: None,
            from_email: None,
            reply_to_email: None,
            subject: Some("New".into()),
            preheader: None,
            html_content: None,
            contact_list_ids: Some(vec!["l1".into()]),
        };
        merge(&mut activity, changes);
        assert_eq!(
            Value::Object(activity),
            json!({
                "campaign_activity_id": "a1", "role": "primary_email", "from_name": "Acme", "subject": "New",
                "html_content": "<html/>", "contact_list_ids": ["l1"], "document_properties": {"style_content": "x"}
            })
        );
    }
}
