//! The contact request bodies, as sent (spec `ContactPostRequest`, `ContactPutRequest`)
//! and as checked by `validation` ([`Changes`]: what to store).
//!
//! Every field is optional here, so a missing field is reported by `validation` in the
//! API's words rather than by serde; unknown fields are ignored.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::record::Details;
use super::subresources::{FieldValue, Note};

/// A POST or PUT `/contacts` body.
#[derive(Debug, Deserialize)]
pub struct ContactInput {
    pub email_address: Option<EmailInput>,
    #[serde(flatten)]
    pub details: DetailsInput,
    pub create_source: Option<String>,
    pub update_source: Option<String>,
    pub custom_fields: Option<Vec<FieldInput>>,
    pub phone_numbers: Option<Vec<PhoneBody>>,
    pub street_addresses: Option<Vec<AddressInput>>,
    pub list_memberships: Option<Vec<String>>,
    pub taggings: Option<Vec<String>>,
    pub notes: Option<Vec<NoteInput>>,
}

#[derive(Debug, Deserialize)]
pub struct EmailInput {
    pub address: Option<String>,
    pub permission_to_send: Option<String>,
    pub opt_out_reason: Option<String>,
}

/// The plain top-level fields, shared with the sign-up form body.
#[derive(Debug, Default, Deserialize)]
pub struct DetailsInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub company_name: Option<String>,
    pub birthday_month: Option<i64>,
    pub birthday_day: Option<i64>,
    pub anniversary: Option<String>,
}

/// A custom field value in a body.
#[derive(Debug, Deserialize)]
pub struct FieldInput {
    pub custom_field_id: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PhoneBody {
    pub phone_number: Option<String>,
    pub kind: Option<String>,
}

/// A checked phone number.
#[derive(Clone, Debug)]
pub struct PhoneInput {
    pub phone_number: String,
    pub kind: Option<String>,
}

/// A street address, as sent and as stored (`kind` is required).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AddressInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NoteInput {
    pub note_id: Option<String>,
    pub content: Option<String>,
    pub created_at: Option<String>,
}

/// A checked email address change.
#[derive(Clone, Debug)]
pub struct EmailChange {
    pub address: String,
    pub permission_to_send: Option<String>,
    pub opt_out_reason: Option<String>,
}

/// A checked body: what to store. `None` sub-resources were not sent.
#[derive(Clone, Debug)]
pub struct Changes {
    pub email: Option<EmailChange>,
    pub details: Details,
    pub custom_fields: Option<Vec<FieldValue>>,
    pub phone_numbers: Option<Vec<PhoneInput>>,
    pub street_addresses: Option<Vec<AddressInput>>,
    pub list_memberships: Option<Vec<Uuid>>,
    pub taggings: Option<Vec<Uuid>>,
    pub notes: Option<Vec<Note>>,
}
