//! The campaign request bodies (spec `EmailCampaignComplete`,
//! `EmailCampaignActivityInput`, `EmailCampaignActivity`, `EmailCampaignName`) and their
//! rules (reference §3.5).
//!
//! The sender headers are required on create and on update, and `from_email` /
//! `reply_to_email` must be CONFIRMED account emails (reference §4 item 5; the
//! rejection's status is not documented, 400 is assumed).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::account;
use crate::contacts;
use crate::errors::{ApiError, Area, Problems};
use crate::state::Account;

/// `POST /emails` body.
#[derive(Debug, Deserialize)]
pub struct CampaignInput {
    name: Option<String>,
    email_campaign_activities: Option<Vec<ActivityInput>>,
}

/// `PATCH /emails/{id}` body.
#[derive(Debug, Deserialize)]
pub struct NameInput {
    name: Option<String>,
}

/// An activity as sent on create or update.
#[derive(Debug, Deserialize)]
pub struct ActivityInput {
    from_name: Option<String>,
    from_email: Option<String>,
    reply_to_email: Option<String>,
    subject: Option<String>,
    preheader: Option<String>,
    html_content: Option<String>,
    physical_address_in_footer: Option<FooterAddress>,
    contact_list_ids: Option<Vec<String>>,
    segment_ids: Option<Vec<i64>>,
    /// Fields the PUT body may carry but cannot change.
    #[serde(flatten)]
    pub read_only: ReadOnly,
}

/// The read-only fields of `EmailCampaignActivity`, as a PUT body may echo them.
#[derive(Debug, Default, Deserialize)]
pub struct ReadOnly {
    pub campaign_activity_id: Option<String>,
    pub campaign_id: Option<String>,
    pub role: Option<String>,
    pub current_status: Option<String>,
    pub format_type: Option<i64>,
    pub template_id: Option<Value>,
    pub permalink_url: Option<String>,
    /// Not in the spec: the real API returns it and took a PUT without it.
    pub document_id: Option<String>,
}

/// The physical address printed in the email footer (spec `EmailPhysicalAddress`).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct FooterAddress {
    address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_optional: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    country_code: Option<String>,
    organization_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_non_us_name: Option<String>,
}

impl FooterAddress {
    /// The account's own address, used when a campaign gives none (reference §3.5).
    pub fn account_default() -> FooterAddress {
        let text = |s: &str| Some(s.to_owned());
        FooterAddress {
            address_line1: text("123 Main Street"),
            address_line2: None,
            address_line3: None,
            address_optional: None,
            city: text("Boston"),
            country_code: text("US"),
            organization_name: text("Sandbox Company"),
            postal_code: text("02108"),
            state_code: text("MA"),
            state_non_us_name: None,
        }
    }

    fn check(&self, p: &mut Problems) {
        p.required(
            "physical_address_in_footer.address_line1",
            self.address_line1.as_deref(),
        );
        p.required(
            "physical_address_in_footer.country_code",
            self.country_code.as_deref(),
        );
        p.required(
            "physical_address_in_footer.organization_name",
            self.organization_name.as_deref(),
        );
        if self
            .country_code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("US"))
        {
            p.required(
                "physical_address_in_footer.state_code",
                self.state_code.as_deref(),
            );
        }
    }
}

/// The checked content of an activity. On update, `None` html/footer mean "keep".
#[derive(Clone, Debug)]
pub struct Content {
    pub from_name: String,
    pub from_email: String,
    pub reply_to_email: String,
    pub subject: String,
    pub preheader: Option<String>,
    pub html_content: Option<String>,
    pub physical_address_in_footer: Option<FooterAddress>,
}

/// A checked `PUT /emails/activities/{id}` body.
#[derive(Debug)]
pub struct ActivityUpdate {
    pub content: Content,
    pub contact_list_ids: Vec<Uuid>,
    pub segment_ids: Vec<i64>,
}

/// Checks a campaign name: required, at most 80 characters.
pub fn check_name(input: NameInput) -> Result<String, ApiError> {
    let mut p = Problems::default();
    let name = name(input.name, &mut p);
    p.finish(Area::General)?;
    Ok(name)
}

fn name(name: Option<String>, p: &mut Problems) -> String {
    let name = name.map(|n| n.trim().to_owned()).unwrap_or_default();
    p.required("name", Some(&name));
    p.max_len("name", Some(&name), 80);
    name
}

/// Checks a `POST /emails` body: a name and exactly one complete activity.
pub fn check_campaign(
    input: CampaignInput,
    account: &Account,
) -> Result<(String, Content), ApiError> {
    let mut p = Problems::default();
    let name = name(input.name, &mut p);
    let mut activities = input.email_campaign_activities.unwrap_or_default();
    if activities.len() != 1 {
        p.add("email_campaign_activities must contain exactly one activity");
    }
    let content = activities.pop().map(|activity| {
        if activity.read_only.format_type.is_none() {
            p.add("email_campaign_activities.format_type is missing");
        }
        p.required(
            "email_campaign_activities.html_content",
            activity.html_content.as_deref(),
        );
        content(activity, "email_campaign_activities.", account, &mut p)
    });
    p.finish(Area::General)?;
    // `finish` refused a body without exactly one activity.
    let mut content = content.ok_or_else(|| {
        ApiError::validation(Area::General, "email_campaign_activities is missing")
    })?;
    content
        .physical_address_in_footer
        .get_or_insert_with(FooterAddress::account_default);
    Ok((name, content))
}

/// Checks a `PUT /emails/activities/{id}` body.
pub fn check_update(input: ActivityInput, account: &Account) -> Result<ActivityUpdate, ApiError> {
    let mut p = Problems::default();
    let lists = input.contact_list_ids.clone().unwrap_or_default();
    let segments = input.segment_ids.clone().unwrap_or_default();
    if !lists.is_empty() && !segments.is_empty() {
        p.add("contact_list_ids and segment_ids cannot be used together");
    }
    if segments.len() > 1 {
        p.add("segment_ids may contain only one segment");
    }
    for id in &segments {
        if crate::segments::members(&account.segments, *id).is_none() {
            p.add(format!("segment_ids contains {id}, which does not exist"));
        }
    }
    let contact_list_ids = contacts::list_ids("contact_list_ids", lists, account, &mut p);
    let content = content(input, "", account, &mut p);
    p.finish(Area::General)?;
    Ok(ActivityUpdate {
        content,
        contact_list_ids,
        segment_ids: segments,
    })
}

/// Records a failure unless `value` is a CONFIRMED account email (reference §4 item 5).
fn confirmed_sender(field: &str, value: Option<&str>, account: &Account, p: &mut Problems) {
    if value.is_some_and(|v| !v.is_empty() && !account::is_confirmed(&account.emails, v)) {
        p.add(format!("{field} must be a CONFIRMED account email address"));
    }
}

/// Checks the headers and content shared by create and update; `prefix` names the
/// fields as the body nests them.
fn content(input: ActivityInput, prefix: &str, account: &Account, p: &mut Problems) -> Content {
    let field = |name: &str| format!("{prefix}{name}");
    for (name, value, max) in [
        ("from_name", &input.from_name, 100),
        ("from_email", &input.from_email, 80),
        ("reply_to_email", &input.reply_to_email, 80),
    ] {
        p.required(&field(name), value.as_deref());
        p.max_len(&field(name), value.as_deref(), max);
    }
    p.required(&field("subject"), input.subject.as_deref());
    p.max_len(&field("preheader"), input.preheader.as_deref(), 200);
    p.max_len(
        &field("html_content"),
        input.html_content.as_deref(),
        150_000,
    );
    for (name, value) in [
        ("from_email", &input.from_email),
        ("reply_to_email", &input.reply_to_email),
    ] {
        confirmed_sender(&field(name), value.as_deref(), account, p);
    }
    if let Some(address) = &input.physical_address_in_footer {
        address.check(p);
    }
    Content {
        from_name: input.from_name.unwrap_or_default(),
        from_email: input.from_email.unwrap_or_default(),
        reply_to_email: input.reply_to_email.unwrap_or_default(),
        subject: input.subject.unwrap_or_default(),
        preheader: input.preheader,
        html_content: input.html_content,
        physical_address_in_footer: input.physical_address_in_footer,
    }
}
