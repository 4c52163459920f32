//! Campaign activities (reference §3.5, spec `EmailCampaignActivity`).
//!
//! - `GET /v3/emails/activities/{id}`: `include` csv of `html_content`,
//!   `physical_address_in_footer`, `permalink_url`, `document_properties`. REMOVED
//!   activities cannot be fetched (404).
//! - `PUT /v3/emails/activities/{id}`: only `primary_email` activities in DRAFT or DONE.
//!   Top-level fields are replaced (omitted → null); omitted `html_content` and
//!   `physical_address_in_footer` are kept. This is where recipients are set:
//!   `contact_list_ids` (existing lists) or `segment_ids` (one existing segment), not
//!   both. A read-only field sent with another value than the stored one is 400 naming
//!   it; the same value is accepted (a read-modify-write echoes what it read): the
//!   real API took a PUT carrying `format_type` (recorded responses, issue 21).
//! - Every activity carries a `document_id`, which the spec does not declare but the
//!   real API returns (get, create, update); a PUT may leave it out.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::ab_tests::AbTest;
use super::history::{self, SendRecord};
use super::resends::Resend;
use super::validation::{self, Content, FooterAddress};
use super::{touch, Status};
use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::contacts::Contact;
use crate::errors::{ApiError, Area};
use crate::request::{self, JsonBody, Params, PathId};
use crate::segments::{self, Segment};
use crate::state::{Account, Sandbox};

/// A stored campaign activity.
#[derive(Clone, Debug)]
pub struct Activity {
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// `primary_email` or `permalink`.
    pub role: &'static str,
    /// The content document's id: not in the spec, but the real API returns it on
    /// every activity (recorded responses, issue 21).
    pub document_id: Uuid,
    pub status: Status,
    /// The status to return to when a schedule is deleted.
    pub before_schedule: Option<Status>,
    pub scheduled_date: Option<Timestamp>,
    contact_list_ids: Vec<Uuid>,
    segment_ids: Vec<i64>,
    from_name: String,
    from_email: String,
    reply_to_email: String,
    subject: String,
    preheader: Option<String>,
    html_content: String,
    physical_address_in_footer: FooterAddress,
    permalink_url: String,
    /// The subject-line A/B test, if one was made (`ab_tests`).
    pub ab_test: Option<AbTest>,
    /// The resend to non-openers, if one was made (`resends`): one per campaign.
    pub resend: Option<Resend>,
    /// Every send of the activity, oldest first (`history`).
    pub history: Vec<SendRecord>,
}

impl Activity {
    /// A new DRAFT activity from the campaign's checked content (format 5, custom code:
    /// legacy formats are converted, reference §3.5).
    pub fn new(campaign_id: Uuid, role: &'static str, content: Content) -> Activity {
        let id = Uuid::new_v4();
        Activity {
            id,
            campaign_id,
            role,
            document_id: Uuid::new_v4(),
            status: Status::Draft,
            before_schedule: None,
            scheduled_date: None,
            contact_list_ids: Vec::new(),
            segment_ids: Vec::new(),
            from_name: content.from_name,
            from_email: content.from_email,
            reply_to_email: content.reply_to_email,
            subject: content.subject,
            preheader: content.preheader,
            html_content: content.html_content.unwrap_or_default(),
            physical_address_in_footer: content
                .physical_address_in_footer
                .unwrap_or_else(FooterAddress::account_default),
            permalink_url: format!("https://conta.cc/{}", &id.simple().to_string()[..7]),
            ab_test: None,
            resend: None,
            history: Vec::new(),
        }
    }

    /// Records a send to `count` contacts at `at` in the send history, with the
    /// recipients as they were.
    pub fn record_send(&mut self, at: Timestamp, count: usize) {
        let lists = self.contact_list_ids.clone();
        let record = SendRecord::new(self.history.len() + 1, lists, &self.segment_ids, count, at);
        self.history.push(record);
    }

    /// The preview (spec `EmailCampaignActivityPreview`).
    pub fn preview(&self) -> Value {
        json!({
            "campaign_activity_id": self.id,
            "from_email": self.from_email,
            "from_name": self.from_name,
            "reply_to_email": self.reply_to_email,
            "subject": self.subject,
            "preheader": self.preheader,
            "preview_html_content": history::preview_html(&self.html_content),
            "preview_text_content": history::preview_text(&self.html_content),
        })
    }

    /// The contacts a send of this activity goes to: members of its lists or its
    /// segment that are not deleted and may be emailed (`implicit` or `explicit`).
    pub fn recipients(&self, contacts: &[Contact], segments: &[Segment]) -> Vec<Uuid> {
        let members: Vec<Uuid> = self
            .segment_ids
            .iter()
            .filter_map(|id| segments::members(segments, *id))
            .flatten()
            .copied()
            .collect();
        contacts
            .iter()
            .filter(|c| c.is_active())
            .filter(|c| {
                self.contact_list_ids.iter().any(|l| c.is_member(l)) || members.contains(&c.id)
            })
            .map(|c| c.id)
            .collect()
    }

    /// 400 naming the first read-only field of a PUT body that differs from the stored
    /// value (spec `EmailCampaignActivity`: `campaign_activity_id`, `campaign_id`,
    /// `role`, `current_status`, `format_type`, `template_id`, `permalink_url` are
    /// read-only; so is the undeclared `document_id`). Echoing back the value read is
    /// accepted, as a read-modify-write does.
    fn ensure_read_only(&self, sent: &validation::ReadOnly) -> Result<(), ApiError> {
        let id = self.id.to_string();
        let campaign = self.campaign_id.to_string();
        let document = self.document_id.to_string();
        let checks: [(&str, Option<bool>); 8] = [
            (
                "campaign_activity_id",
                sent.campaign_activity_id
                    .as_deref()
                    .map(|v| v.eq_ignore_ascii_case(&id)),
            ),
            (
                "campaign_id",
                sent.campaign_id
                    .as_deref()
                    .map(|v| v.eq_ignore_ascii_case(&campaign)),
            ),
            ("role", sent.role.as_deref().map(|v| v == self.role)),
            (
                "current_status",
                sent.current_status
                    .as_deref()
                    .map(|v| v == self.status.activity()),
            ),
            ("format_type", sent.format_type.map(|v| v == 5)),
            ("template_id", sent.template_id.as_ref().map(|_| false)),
            (
                "permalink_url",
                sent.permalink_url
                    .as_deref()
                    .map(|v| v == self.permalink_url),
            ),
            (
                "document_id",
                sent.document_id
                    .as_deref()
                    .map(|v| v.eq_ignore_ascii_case(&document)),
            ),
        ];
        match checks.iter().find(|(_, same)| *same == Some(false)) {
            Some((field, _)) => Err(ApiError::validation(
                Area::General,
                format!("{field} is read-only and cannot be changed"),
            )),
            None => Ok(()),
        }
    }

    /// Whether recipients are set (needed to schedule).
    pub fn has_recipients(&self) -> bool {
        !self.contact_list_ids.is_empty() || !self.segment_ids.is_empty()
    }

    /// The email's HTML (the reports find its links there).
    pub fn html_content(&self) -> &str {
        &self.html_content
    }

    /// The activity as JSON with the optional parts `include` names.
    fn render(&self, include: &[&str]) -> Value {
        let mut body = json!({
            "campaign_activity_id": self.id,
            "campaign_id": self.campaign_id,
            "role": self.role,
            "document_id": self.document_id,
            "contact_list_ids": self.contact_list_ids,
            "segment_ids": self.segment_ids,
            "current_status": self.status.activity(),
            "format_type": 5,
            "from_email": self.from_email,
            "from_name": self.from_name,
            "reply_to_email": self.reply_to_email,
            "subject": self.subject,
        });
        if let Some(preheader) = &self.preheader {
            body["preheader"] = json!(preheader);
        }
        if include.contains(&"html_content") {
            body["html_content"] = json!(self.html_content);
        }
        if include.contains(&"physical_address_in_footer") {
            body["physical_address_in_footer"] = json!(self.physical_address_in_footer);
        }
        if include.contains(&"permalink_url") {
            body["permalink_url"] = json!(self.permalink_url);
        }
        // `document_properties` exists only for legacy formats 1 and 2; format 5 has none.
        body
    }

    /// Applies a checked PUT body.
    fn update(&mut self, update: validation::ActivityUpdate) {
        let content = update.content;
        self.from_name = content.from_name;
        self.from_email = content.from_email;
        self.reply_to_email = content.reply_to_email;
        self.subject = content.subject;
        self.preheader = content.preheader;
        if let Some(html) = content.html_content {
            self.html_content = html;
        }
        if let Some(address) = content.physical_address_in_footer {
            self.physical_address_in_footer = address;
        }
        self.contact_list_ids = update.contact_list_ids;
        self.segment_ids = update.segment_ids;
    }
}

const INCLUDES: [&str; 4] = [
    "physical_address_in_footer",
    "permalink_url",
    "html_content",
    "document_properties",
];

/// The activity routes.
pub fn routes() -> Router<Sandbox> {
    Router::new().route(
        "/v3/emails/activities/{campaign_activity_id}",
        get(fetch).put(update),
    )
}

/// The index of a fetchable (not REMOVED) activity.
pub fn find(account: &Account, id: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::General, "campaign_activity_id", id)?;
    let not_found = || {
        ApiError::not_found(
            Area::General,
            format!("campaign activity {id} was not found"),
        )
    };
    let index = account
        .activities
        .iter()
        .position(|a| a.id == id)
        .ok_or_else(not_found)?;
    if account.activities[index].status == Status::Removed {
        return Err(not_found());
    }
    Ok(index)
}

/// 400 unless the activity is a `primary_email` one (`what` names the refused action).
pub fn ensure_primary(activity: &Activity, what: &str) -> Result<(), ApiError> {
    if activity.role != "primary_email" {
        return Err(ApiError::validation(
            Area::General,
            format!(
                "only primary_email activities can be {what}; this one is {}",
                activity.role
            ),
        ));
    }
    Ok(())
}

/// `GET /v3/emails/activities/{campaign_activity_id}`.
async fn fetch(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let include = request::csv(
        Area::General,
        "include",
        query.get("include").map(String::as_str),
        &INCLUDES,
    )?;
    let account = sandbox.account();
    let index = find(&account, &id)?;
    Ok(Json(account.activities[index].render(&include)))
}

/// `PUT /v3/emails/activities/{campaign_activity_id}`: 200 with the whole activity.
async fn update(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<validation::ActivityInput>,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let activity = &account.activities[index];
    ensure_primary(activity, "updated")?;
    if !matches!(activity.status, Status::Draft | Status::Done) {
        let message = format!(
            "the activity is {}: only DRAFT or DONE activities can be updated",
            activity.status.activity()
        );
        return Err(ApiError::validation(Area::General, message));
    }
    activity.ensure_read_only(&input.read_only)?;
    let update = validation::check_update(input, &account)?;
    let activity = &mut account.activities[index];
    activity.update(update);
    let (campaign_id, body) = (activity.campaign_id, activity.render(&INCLUDES));
    touch(&mut account, campaign_id, clock::now());
    Ok(Json(body))
}
