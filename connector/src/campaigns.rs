//! Email campaigns: create, edit, test, schedule.
//!
//! A campaign is a shell (name, status) around *activities*; the one with role
//! `primary_email` holds the content, the sender and the recipients, and is what
//! gets tested and scheduled. So most activities here first read the campaign to
//! find its primary email activity ([`primary_activity_id`]), then act on that;
//! `activity_io` holds those reads and the read-modify-write of an activity.

mod activity_io;

use connector_sdk::check::{check, date_time, email, items, len, max_len, range, Bound};
use connector_sdk::json::{remove, to_value};
use connector_sdk::serde_json::{json, Value};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::campaigns::{
    CampaignIdXrefs, CampaignInput, CampaignSchedule, CampaignSchedules, CreateEmailCampaignInput,
    EmailCampaign, EmailCampaignActivity, EmailCampaignDetails, EmailCampaignsPage,
    GetCampaignActivityInput, GetCampaignIdXrefsInput, GetEmailCampaignInput, Guest,
    ListEmailCampaignsInput, RenameEmailCampaignInput, ScheduleEmailCampaignInput,
    SendTestEmailInput, TestEmailSent, UpdateCampaignActivityInput, UpdateEmailCampaignInput,
};
use crate::{Connector, CC};
use activity_io::{campaign_details, edit_activity, primary_activity_id};

/// `list-email-campaigns`' filters.
const LIST_CAMPAIGNS: &[Bound] = &[
    range("limit", 1, 500),
    date_time("before_date"),
    date_time("after_date"),
];

/// `create-email-campaign`'s bounds.
const NEW_CAMPAIGN: &[Bound] = &[
    len("name", 1, 80),
    max_len("from_name", 100),
    max_len("from_email", 80),
    max_len("reply_to_email", 80),
    email("from_email"),
    email("reply_to_email"),
    max_len("preheader", 200),
    max_len("html_content", 150_000),
];

/// A campaign's name.
const NAME: &[Bound] = &[len("name", 1, 80)];

/// `get-campaign-id-xrefs`' ids ("up to 50 V2 `campaignId` values in each request").
const XREFS: &[Bound] = &[items("v2_email_campaign_ids", 1, 50)];

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
        bounds: &[LIST_CAMPAIGNS],
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
        bounds: &[NEW_CAMPAIGN],
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
        bounds: &[NAME, CAMPAIGN_CHANGES],
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
    ActivityMeta {
        name: "rename-email-campaign",
        category: "Campaigns",
        description: "Renames a campaign, in one request.",
        scopes: &["campaign_data"],
        pitfalls: &["Names are unique (else conflict); a Removed campaign cannot be renamed."],
        bounds: &[NAME],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "delete-email-campaign",
        category: "Campaigns",
        description: "Deletes a campaign: it becomes Removed.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "A scheduled campaign must be unscheduled first.",
            "Removed campaigns stay in list-email-campaigns; their activities cannot be read.",
        ],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "get-campaign-activity",
        category: "Campaigns",
        description: "Gets one campaign activity (an email): sender, subject, recipients, content.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "html_content, the footer address and permalink_url come only when included.",
            "Removed activities are not found (404).",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-campaign-activity",
        category: "Campaigns",
        description: "Edits one campaign activity: sender, subject, content, recipients.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Only primary_email activities in draft or sent status can be edited.",
            "Recipients are lists or one segment, not both: setting one drops the other.",
        ],
        bounds: &[ACTIVITY_CHANGES],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "unschedule-email-campaign",
        category: "Campaigns",
        description: "Cancels the campaign's scheduled send; it returns to its earlier status.",
        scopes: &["campaign_data"],
        pitfalls: &["Only a scheduled campaign can be unscheduled (else invalid input)."],
        // Retry-safe: a repeat is refused and changes nothing; nothing is lost.
        destructive: false,
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "list-campaign-schedules",
        category: "Campaigns",
        description: "Lists when the campaign's email is scheduled to go out.",
        scopes: &["campaign_data"],
        pitfalls: &["Empty unless the campaign is scheduled; a sent campaign has none."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-campaign-id-xrefs",
        display_name: "Get V3 campaign ids of V2 ids",
        category: "Campaigns",
        description: "Looks up the V3 campaign and activity ids of V2 API campaign ids.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "1 to 50 V2 ids a call; ids the account does not know may be left out.",
            "Meant for migrating stored V2 ids once: Constant Contact will remove the endpoint.",
        ],
        bounds: &[XREFS],
        ..ActivityMeta::READ
    },
];

/// The bounds of `activity-changes` (spec `EmailCampaignActivity`), under `prefix`.
macro_rules! changes {
    ($prefix:literal) => {
        [
            max_len(concat!($prefix, "from_name"), 100),
            max_len(concat!($prefix, "from_email"), 80),
            max_len(concat!($prefix, "reply_to_email"), 80),
            email(concat!($prefix, "from_email")),
            email(concat!($prefix, "reply_to_email")),
            max_len(concat!($prefix, "preheader"), 200),
            max_len(concat!($prefix, "html_content"), 150_000),
            items(concat!($prefix, "segment_ids"), 1, 1),
        ]
    };
}

/// `update-email-campaign`'s bounds on the primary email's changes.
const CAMPAIGN_CHANGES: &[Bound] = &changes!("primary_email.");

/// `update-campaign-activity`'s bounds, on its `changes`.
const ACTIVITY_CHANGES: &[Bound] = &changes!("changes.");

impl Guest for Connector {
    /// Lists email campaigns, one page per call (without their activities).
    ///
    /// `GET /v3/emails` — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Campaigns/retrieveEmailCampaignsUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_email_campaigns(
        input: ListEmailCampaignsInput,
    ) -> Result<EmailCampaignsPage, ActivityError> {
        check(&input, LIST_CAMPAIGNS)?;
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
        check(&input, NEW_CAMPAIGN)?;
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
        check(&input, &[NAME, CAMPAIGN_CHANGES].concat())?;
        if let Some(name) = &input.name {
            let rename = json!({ "name": name });
            CC.patch("/v3/emails")
                .id("campaign_id", &input.campaign_id)
                .body(&rename)
                .send()?;
        }
        if let Some(changes) = input.primary_email {
            edit_activity(&primary_activity_id(&input.campaign_id)?, changes)?;
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

    /// Renames a campaign.
    ///
    /// `PATCH /v3/emails/{campaign_id}` — <https://developer.constantcontact.com/api_guide/email_campaign_rename.html>.
    /// Scope `campaign_data`. Retry-safe: it writes the same name each time.
    /// Destructive: the old name is gone.
    fn rename_email_campaign(
        input: RenameEmailCampaignInput,
    ) -> Result<EmailCampaign, ActivityError> {
        check(&input, NAME)?;
        CC.patch("/v3/emails")
            .id("campaign_id", &input.campaign_id)
            .body_except(&input, &["campaign_id"])
            .json()
    }

    /// Deletes a campaign (it becomes `Removed`).
    ///
    /// `DELETE /v3/emails/{campaign_id}` (204) — <https://developer.constantcontact.com/api_guide/email_campaign_delete.html>.
    /// Scope `campaign_data`. Retry-safe: a repeat finds nothing (404).
    /// Destructive: its activities can no longer be read or sent.
    fn delete_email_campaign(input: CampaignInput) -> Result<(), ActivityError> {
        CC.delete("/v3/emails")
            .id("campaign_id", &input.campaign_id)
            .send()?;
        Ok(())
    }

    /// Gets one campaign activity.
    ///
    /// `GET /v3/emails/activities/{campaign_activity_id}` — <https://developer.constantcontact.com/api_guide/email_campaign_activity_get.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_campaign_activity(
        input: GetCampaignActivityInput,
    ) -> Result<EmailCampaignActivity, ActivityError> {
        CC.get("/v3/emails/activities")
            .id("campaign_activity_id", &input.campaign_activity_id)
            .queries(&input, &["campaign_activity_id"])
            .json()
    }

    /// Edits one campaign activity; fields left out keep their values.
    ///
    /// `GET`, then `PUT /v3/emails/activities/{campaign_activity_id}` — <https://developer.constantcontact.com/api_guide/email_campaign_activity_update.html>.
    /// Scope `campaign_data`. Retry-safe: it writes the same values each time.
    /// Destructive: the values it replaces are gone.
    fn update_campaign_activity(
        input: UpdateCampaignActivityInput,
    ) -> Result<EmailCampaignActivity, ActivityError> {
        check(&input, ACTIVITY_CHANGES)?;
        edit_activity(&input.campaign_activity_id, input.changes)
    }

    /// Cancels the campaign's scheduled send.
    ///
    /// `DELETE /v3/emails/activities/{id}/schedules` (204) — <https://developer.constantcontact.com/api_guide/email_campaign_schedule_delete.html>.
    /// Scope `campaign_data`. Retry-safe: a repeat is refused and changes nothing.
    /// Not destructive: the campaign can be scheduled again.
    fn unschedule_email_campaign(input: CampaignInput) -> Result<(), ActivityError> {
        let id = primary_activity_id(&input.campaign_id)?;
        CC.delete("/v3/emails/activities")
            .id("campaign_activity_id", &id)
            .path("/schedules")
            .send()?;
        Ok(())
    }

    /// Lists when the campaign's primary email is scheduled.
    ///
    /// `GET /v3/emails/activities/{id}/schedules` — <https://developer.constantcontact.com/api_guide/email_campaign_schedule_get.html>.
    /// Scope `campaign_data`. Retry-safe and read-only: reads only.
    fn list_campaign_schedules(input: CampaignInput) -> Result<CampaignSchedules, ActivityError> {
        let id = primary_activity_id(&input.campaign_id)?;
        let schedules: Value = CC
            .get("/v3/emails/activities")
            .id("campaign_activity_id", &id)
            .path("/schedules")
            .json()?;
        // `[{"scheduled_date": …}]`, empty unless scheduled.
        let dates = schedules.as_array().into_iter().flatten();
        Ok(CampaignSchedules {
            campaign_activity_id: id,
            scheduled_dates: dates
                .filter_map(|s| s["scheduled_date"].as_str().map(Into::into))
                .collect(),
        })
    }

    /// Looks up the V3 campaign and activity ids of V2 API campaign ids.
    ///
    /// `GET /v3/emails/campaign_id_xrefs` — <https://developer.constantcontact.com/api_reference/index.html#!/Email_Campaigns/retrieveXrefMappingsUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_campaign_id_xrefs(
        input: GetCampaignIdXrefsInput,
    ) -> Result<CampaignIdXrefs, ActivityError> {
        check(&input, XREFS)?;
        CC.get("/v3/emails/campaign_id_xrefs")
            .queries(&input, &[])
            .json()
    }
}
