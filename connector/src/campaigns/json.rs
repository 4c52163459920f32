//! The JSON shapes of the email campaign endpoints, and their conversions to and
//! from the WIT records. Request bodies first, then answers; answers ignore fields
//! the connector does not model.

use serde::{Deserialize, Serialize};

use crate::exports::constant_contact::connector::campaigns::{
    CampaignActivityRef, CreateEmailCampaignInput, EmailCampaign, EmailCampaignActivity,
    EmailCampaignsPage, PhysicalAddress,
};
use crate::http;

/// The body of `POST /emails`.
#[derive(Serialize)]
pub struct NewCampaign {
    name: String,
    // The API takes exactly one activity here.
    email_campaign_activities: [NewActivity; 1],
}

impl From<CreateEmailCampaignInput> for NewCampaign {
    fn from(input: CreateEmailCampaignInput) -> Self {
        NewCampaign {
            name: input.name.clone(),
            email_campaign_activities: [NewActivity::from(input)],
        }
    }
}

#[derive(Serialize)]
struct NewActivity {
    // 5 = custom code, the only format the API creates.
    format_type: u8,
    from_name: String,
    from_email: String,
    reply_to_email: String,
    subject: String,
    html_content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    preheader: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_address_in_footer: Option<AddressJson>,
}

impl From<CreateEmailCampaignInput> for NewActivity {
    fn from(input: CreateEmailCampaignInput) -> Self {
        NewActivity {
            format_type: 5,
            from_name: input.from_name,
            from_email: input.from_email,
            reply_to_email: input.reply_to_email,
            subject: input.subject,
            html_content: input.html_content,
            preheader: input.preheader,
            physical_address_in_footer: input.physical_address_in_footer.map(Into::into),
        }
    }
}

/// The body of `PATCH /emails/{id}`.
#[derive(Serialize)]
pub struct Rename {
    pub name: String,
}

/// The body of `POST /emails/activities/{id}/schedules`.
#[derive(Serialize)]
pub struct Schedule {
    pub scheduled_date: String,
}

/// The body of `POST /emails/activities/{id}/tests`.
#[derive(Serialize)]
pub struct TestSend {
    pub email_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_message: Option<String>,
}

/// A campaign as the API returns it (`EmailCampaign`).
#[derive(Deserialize)]
pub struct CampaignJson {
    campaign_id: String,
    name: String,
    current_status: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    type_code: Option<i32>,
    created_at: Option<String>,
    updated_at: Option<String>,
    // Absent from list results.
    #[serde(default)]
    pub campaign_activities: Vec<ActivityRefJson>,
}

/// An entry of a campaign's `campaign_activities`.
#[derive(Deserialize)]
pub struct ActivityRefJson {
    pub campaign_activity_id: String,
    pub role: String,
}

/// A page of `GET /emails`.
#[derive(Deserialize)]
pub struct CampaignsJson {
    #[serde(default)]
    campaigns: Vec<CampaignJson>,
    #[serde(rename = "_links", default)]
    links: http::Links,
}

/// An activity as the API returns it (`EmailCampaignActivity`).
#[derive(Deserialize)]
pub struct ActivityJson {
    campaign_activity_id: String,
    campaign_id: Option<String>,
    role: String,
    current_status: Option<String>,
    format_type: Option<u8>,
    from_name: Option<String>,
    from_email: Option<String>,
    reply_to_email: Option<String>,
    subject: Option<String>,
    preheader: Option<String>,
    html_content: Option<String>,
    #[serde(default)]
    contact_list_ids: Vec<String>,
    physical_address_in_footer: Option<AddressJson>,
}

/// The footer address (`EmailPhysicalAddress`), in requests and answers.
#[derive(Serialize, Deserialize)]
struct AddressJson {
    #[serde(default)]
    address_line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(default)]
    country_code: String,
    #[serde(default)]
    organization_name: String,
}

/// An entry of the schedules answer.
#[derive(Deserialize)]
pub struct ScheduleJson {
    pub scheduled_date: Option<String>,
}

impl From<CampaignsJson> for EmailCampaignsPage {
    fn from(page: CampaignsJson) -> Self {
        let campaigns = page.campaigns.into_iter().map(Into::into).collect();
        EmailCampaignsPage {
            campaigns,
            next_cursor: page.links.next_cursor(),
        }
    }
}

impl From<CampaignJson> for EmailCampaign {
    fn from(c: CampaignJson) -> Self {
        EmailCampaign {
            campaign_id: c.campaign_id,
            name: c.name,
            current_status: c.current_status,
            type_: c.kind,
            type_code: c.type_code,
            created_at: c.created_at,
            updated_at: c.updated_at,
            campaign_activities: c
                .campaign_activities
                .into_iter()
                .map(|a| CampaignActivityRef {
                    campaign_activity_id: a.campaign_activity_id,
                    role: a.role,
                })
                .collect(),
        }
    }
}

impl From<ActivityJson> for EmailCampaignActivity {
    fn from(a: ActivityJson) -> Self {
        EmailCampaignActivity {
            campaign_activity_id: a.campaign_activity_id,
            campaign_id: a.campaign_id,
            role: a.role,
            current_status: a.current_status,
            format_type: a.format_type,
            from_name: a.from_name,
            from_email: a.from_email,
            reply_to_email: a.reply_to_email,
            subject: a.subject,
            preheader: a.preheader,
            html_content: a.html_content,
            contact_list_ids: a.contact_list_ids,
            physical_address_in_footer: a.physical_address_in_footer.map(Into::into),
        }
    }
}

// The WIT record and the JSON have the same fields: move them across both ways.
macro_rules! convert_address {
    ($from:ty => $to:ident) => {
        impl From<$from> for $to {
            fn from(a: $from) -> Self {
                $to {
                    address_line1: a.address_line1,
                    address_line2: a.address_line2,
                    address_line3: a.address_line3,
                    city: a.city,
                    state_code: a.state_code,
                    state_name: a.state_name,
                    postal_code: a.postal_code,
                    country_code: a.country_code,
                    organization_name: a.organization_name,
                }
            }
        }
    };
}
convert_address!(AddressJson => PhysicalAddress);
convert_address!(PhysicalAddress => AddressJson);
