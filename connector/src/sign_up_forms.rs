//! The sign-up form endpoint: create a contact, or update the one with that address.
//!
//! Unlike `PUT /contacts/{id}`, it changes only what it is sent and *adds* lists and
//! custom fields; it never removes any. It also opts the person in (they signed up),
//! so use it only with their consent.

use serde::{Deserialize, Serialize};

use crate::connector::sdk::types::ActivityError;
use crate::contacts::json::{address_body, AddressJson};
use crate::exports::constant_contact::connector::sign_up_forms::{
    Guest, SignUpFormInput, SignUpResult,
};
use crate::{http, ActivityMeta, Connector};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[ActivityMeta {
    name: "submit-sign-up-form",
    display_name: "Submit sign-up form",
    category: "Contacts",
    description:
        "Creates or updates a contact from a sign-up: adds lists and fields, opts the person in.",
    scopes: &["contact_data"],
    retry_safe: false,
}];

/// The body of `POST /contacts/sign_up_form` (`ContactCreateOrUpdateInput`).
#[derive(Serialize)]
struct SignUp {
    // A plain string here, where `/contacts` takes an object.
    email_address: String,
    list_memberships: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    street_address: Option<AddressJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birthday_month: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birthday_day: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anniversary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_fields: Option<Vec<CustomField>>,
}

#[derive(Serialize)]
struct CustomField {
    custom_field_id: String,
    value: String,
}

/// The answer (`ContactCreateOrUpdateResponse`).
#[derive(Deserialize)]
struct ResultJson {
    contact_id: String,
    action: Option<String>,
}

impl From<SignUpFormInput> for SignUp {
    fn from(input: SignUpFormInput) -> Self {
        SignUp {
            email_address: input.email_address,
            list_memberships: input.list_memberships,
            first_name: input.first_name,
            last_name: input.last_name,
            job_title: input.job_title,
            company_name: input.company_name,
            phone_number: input.phone_number,
            street_address: input.street_address.map(address_body),
            birthday_month: input.birthday_month,
            birthday_day: input.birthday_day,
            anniversary: input.anniversary,
            custom_fields: input.custom_fields.map(|fields| {
                fields
                    .into_iter()
                    .map(|f| CustomField {
                        custom_field_id: f.custom_field_id,
                        value: f.value,
                    })
                    .collect()
            }),
        }
    }
}

impl Guest for Connector {
    /// Creates a contact or updates the one with this address, additively.
    ///
    /// `POST /v3/contacts/sign_up_form` (201 created, 200 updated) —
    /// <https://developer.constantcontact.com/api_guide/contacts_create_or_update.html>.
    /// Scope `contact_data`. Not retry-safe: each call may re-opt-in the contact and
    /// appends lists and fields.
    ///
    /// Pitfalls: at least one list is required; lists are never removed (use
    /// `update-contact`); an unsubscribed contact is opted back in, so send only
    /// real sign-ups. 409 here means two requests changed the contact at once.
    fn submit_sign_up_form(input: SignUpFormInput) -> Result<SignUpResult, ActivityError> {
        let reply = http::post("/v3/contacts/sign_up_form", &SignUp::from(input))?;
        let result: ResultJson = reply.json("a sign-up result")?;
        // The status says what happened even if a server leaves `action` out.
        let action = result.action.unwrap_or_else(|| {
            if reply.status == 201 {
                "created"
            } else {
                "updated"
            }
            .into()
        });
        Ok(SignUpResult {
            contact_id: result.contact_id,
            action,
        })
    }
}
