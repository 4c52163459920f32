//! The JSON shapes of the contacts endpoints, and their conversions to and from
//! the WIT records.
//!
//! Requests: [`ContactBody`] is the body of both `POST` and `PUT /contacts`; fields
//! left `None` are not sent. Answers: [`ContactJson`] and friends read what the API
//! returns and ignore fields the connector does not model.

use serde::{Deserialize, Serialize};

use crate::exports::constant_contact::connector::contacts::{
    AddressKind, Contact, ContactInclude, ContactStatus, ContactsPage, CreateContactInput,
    CustomFieldValue, EmailAddress, NewEmailAddress, PermissionToSend, PhoneKind, PhoneNumber,
    PhoneNumberInput, Source, StreetAddress, StreetAddressInput, UpdateContactInput,
};
use crate::http;

/// The body of `POST` and `PUT /contacts` (`ContactPostRequest`, `ContactPutRequest`).
/// Fields left `None` are not sent at all.
#[derive(Serialize, Default)]
pub struct ContactBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    email_address: Option<EmailBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birthday_month: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birthday_day: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anniversary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_memberships: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_fields: Option<Vec<CustomFieldJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_numbers: Option<Vec<PhoneJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    street_addresses: Option<Vec<AddressJson>>,
}

#[derive(Serialize)]
struct EmailBody {
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    permission_to_send: Option<String>,
}

/// A phone number, in requests and answers. The id is read, never sent back.
#[derive(Serialize, Deserialize)]
struct PhoneJson {
    #[serde(skip_serializing)]
    phone_number_id: Option<String>,
    phone_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
}

/// A street address, in requests and answers. The id is read, never sent back.
#[derive(Serialize, Deserialize)]
pub struct AddressJson {
    #[serde(skip_serializing)]
    street_address_id: Option<String>,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
}

/// A contact's custom field value. Select-type fields may carry `choice_ids`
/// instead of `value`; they are kept as they are so a read-modify-write keeps them.
#[derive(Serialize, Deserialize)]
struct CustomFieldJson {
    custom_field_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    choice_ids: Option<serde_json::Value>,
}

impl ContactBody {
    /// The body of `POST /contacts`.
    pub fn create(input: CreateContactInput) -> ContactBody {
        ContactBody {
            create_source: Some(source(input.create_source)),
            ..ContactBody::from(input)
        }
    }

    /// The body of `PUT /contacts/{id}`: the caller's changes laid over the contact as
    /// read. PUT sets every top-level field it does not get to null, so everything the
    /// caller left out is sent back as it was; a list the caller gives replaces the
    /// current one.
    pub fn update(input: UpdateContactInput, current: ContactJson) -> ContactBody {
        let changes = ContactBody {
            update_source: Some(source(input.update_source)),
            ..ContactBody::from(input)
        };
        changes.or(ContactBody::from(current))
    }

    fn or(self, base: ContactBody) -> ContactBody {
        ContactBody {
            email_address: self.email_address.or(base.email_address),
            first_name: self.first_name.or(base.first_name),
            last_name: self.last_name.or(base.last_name),
            job_title: self.job_title.or(base.job_title),
            company_name: self.company_name.or(base.company_name),
            birthday_month: self.birthday_month.or(base.birthday_month),
            birthday_day: self.birthday_day.or(base.birthday_day),
            anniversary: self.anniversary.or(base.anniversary),
            create_source: None, // write-once: PUT does not take it
            update_source: self.update_source,
            list_memberships: self.list_memberships.or(base.list_memberships),
            custom_fields: self.custom_fields.or(base.custom_fields),
            phone_numbers: self.phone_numbers.or(base.phone_numbers),
            street_addresses: self.street_addresses.or(base.street_addresses),
        }
    }
}

/// The create and update inputs share these fields, by name and type; the macro
/// writes the same conversion for both instead of repeating it by hand.
macro_rules! body_from_input {
    ($input:ty) => {
        impl From<$input> for ContactBody {
            fn from(input: $input) -> Self {
                ContactBody {
                    email_address: input.email_address.map(email_body),
                    first_name: input.first_name,
                    last_name: input.last_name,
                    job_title: input.job_title,
                    company_name: input.company_name,
                    birthday_month: input.birthday_month,
                    birthday_day: input.birthday_day,
                    anniversary: input.anniversary,
                    list_memberships: input.list_memberships,
                    custom_fields: input
                        .custom_fields
                        .map(|fields| fields.into_iter().map(custom_field_body).collect()),
                    phone_numbers: input
                        .phone_numbers
                        .map(|phones| phones.into_iter().map(phone_body).collect()),
                    street_addresses: input
                        .street_addresses
                        .map(|a| a.into_iter().map(address_body).collect()),
                    ..ContactBody::default()
                }
            }
        }
    };
}
body_from_input!(CreateContactInput);
body_from_input!(UpdateContactInput);

/// The current contact as a PUT body: only what `ContactPutRequest` accepts, so
/// read-only answer fields (ids, timestamps) are not echoed back.
impl From<ContactJson> for ContactBody {
    fn from(c: ContactJson) -> Self {
        ContactBody {
            email_address: c.email_address.map(|e| EmailBody {
                address: e.address,
                permission_to_send: e.permission_to_send,
            }),
            first_name: c.first_name,
            last_name: c.last_name,
            job_title: c.job_title,
            company_name: c.company_name,
            birthday_month: c.birthday_month,
            birthday_day: c.birthday_day,
            anniversary: c.anniversary,
            list_memberships: c.list_memberships,
            custom_fields: c.custom_fields,
            phone_numbers: c.phone_numbers,
            street_addresses: c.street_addresses,
            ..ContactBody::default()
        }
    }
}

fn email_body(email: NewEmailAddress) -> EmailBody {
    EmailBody {
        address: email.address,
        permission_to_send: email.permission_to_send.map(|p| permission(p).into()),
    }
}

fn custom_field_body(field: CustomFieldValue) -> CustomFieldJson {
    CustomFieldJson {
        custom_field_id: field.custom_field_id,
        value: Some(field.value),
        choice_ids: None,
    }
}

fn phone_body(phone: PhoneNumberInput) -> PhoneJson {
    PhoneJson {
        phone_number_id: None,
        phone_number: phone.phone_number,
        kind: Some(phone_kind(phone.kind).into()),
    }
}

/// A street address input as the API spells it; the sign-up form sends one too.
pub fn address_body(address: StreetAddressInput) -> AddressJson {
    AddressJson {
        street_address_id: None,
        kind: address_kind(address.kind).into(),
        street: address.street,
        city: address.city,
        state: address.state,
        postal_code: address.postal_code,
        country: address.country,
    }
}

// ---- Answers ----------------------------------------------------------------------

/// A contact as the API returns it (`ContactResource`); unknown fields are ignored.
#[derive(Deserialize)]
pub struct ContactJson {
    contact_id: String,
    email_address: Option<EmailJson>,
    first_name: Option<String>,
    last_name: Option<String>,
    job_title: Option<String>,
    company_name: Option<String>,
    birthday_month: Option<u8>,
    birthday_day: Option<u8>,
    anniversary: Option<String>,
    create_source: Option<String>,
    update_source: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    deleted_at: Option<String>,
    custom_fields: Option<Vec<CustomFieldJson>>,
    phone_numbers: Option<Vec<PhoneJson>>,
    street_addresses: Option<Vec<AddressJson>>,
    list_memberships: Option<Vec<String>>,
    taggings: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct EmailJson {
    address: String,
    permission_to_send: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    opt_in_source: Option<String>,
    opt_in_date: Option<String>,
    opt_out_source: Option<String>,
    opt_out_date: Option<String>,
    opt_out_reason: Option<String>,
    confirm_status: Option<String>,
}

/// A page of `GET /contacts`.
#[derive(Deserialize)]
pub struct ContactsJson {
    #[serde(default)]
    contacts: Vec<ContactJson>,
    contacts_count: Option<u32>,
    #[serde(rename = "_links", default)]
    links: http::Links,
}

impl From<ContactsJson> for ContactsPage {
    fn from(page: ContactsJson) -> Self {
        ContactsPage {
            contacts: page.contacts.into_iter().map(Into::into).collect(),
            contacts_count: page.contacts_count,
            next_cursor: page.links.next_cursor(),
        }
    }
}

impl From<ContactJson> for Contact {
    fn from(c: ContactJson) -> Self {
        Contact {
            contact_id: c.contact_id,
            email_address: c.email_address.map(Into::into),
            first_name: c.first_name,
            last_name: c.last_name,
            job_title: c.job_title,
            company_name: c.company_name,
            birthday_month: c.birthday_month,
            birthday_day: c.birthday_day,
            anniversary: c.anniversary,
            create_source: c.create_source,
            update_source: c.update_source,
            created_at: c.created_at,
            updated_at: c.updated_at,
            deleted_at: c.deleted_at,
            custom_fields: c
                .custom_fields
                .map(|fields| fields.into_iter().map(Into::into).collect()),
            phone_numbers: c
                .phone_numbers
                .map(|phones| phones.into_iter().map(Into::into).collect()),
            street_addresses: c
                .street_addresses
                .map(|a| a.into_iter().map(Into::into).collect()),
            list_memberships: c.list_memberships,
            taggings: c.taggings,
        }
    }
}

impl From<EmailJson> for EmailAddress {
    fn from(e: EmailJson) -> Self {
        EmailAddress {
            address: e.address,
            permission_to_send: e.permission_to_send,
            created_at: e.created_at,
            updated_at: e.updated_at,
            opt_in_source: e.opt_in_source,
            opt_in_date: e.opt_in_date,
            opt_out_source: e.opt_out_source,
            opt_out_date: e.opt_out_date,
            opt_out_reason: e.opt_out_reason,
            confirm_status: e.confirm_status,
        }
    }
}

impl From<CustomFieldJson> for CustomFieldValue {
    fn from(field: CustomFieldJson) -> Self {
        // A select-type value may come as `choice_ids` only; the WIT has a string.
        CustomFieldValue {
            custom_field_id: field.custom_field_id,
            value: field.value.unwrap_or_default(),
        }
    }
}

impl From<PhoneJson> for PhoneNumber {
    fn from(p: PhoneJson) -> Self {
        PhoneNumber {
            phone_number_id: p.phone_number_id,
            phone_number: p.phone_number,
            kind: p.kind,
        }
    }
}

impl From<AddressJson> for StreetAddress {
    fn from(a: AddressJson) -> Self {
        let AddressJson {
            street_address_id,
            kind,
            street,
            city,
            state,
            postal_code,
            country,
        } = a;
        StreetAddress {
            street_address_id,
            kind,
            street,
            city,
            state,
            postal_code,
            country,
        }
    }
}

// ---- Input enums to the API's strings ----------------------------------------------

pub fn source(source: Source) -> &'static str {
    match source {
        Source::Account => "Account",
        Source::Contact => "Contact",
    }
}

fn permission(permission: PermissionToSend) -> &'static str {
    match permission {
        PermissionToSend::Implicit => "implicit",
        PermissionToSend::Explicit => "explicit",
        PermissionToSend::NotSet => "not_set",
        PermissionToSend::PendingConfirmation => "pending_confirmation",
        PermissionToSend::TempHold => "temp_hold",
        PermissionToSend::Unsubscribed => "unsubscribed",
    }
}

fn phone_kind(kind: PhoneKind) -> &'static str {
    match kind {
        PhoneKind::Home => "home",
        PhoneKind::Work => "work",
        PhoneKind::Mobile => "mobile",
        PhoneKind::Other => "other",
    }
}

fn address_kind(kind: AddressKind) -> &'static str {
    match kind {
        AddressKind::Home => "home",
        AddressKind::Work => "work",
        AddressKind::Other => "other",
    }
}

pub fn include(include: ContactInclude) -> &'static str {
    match include {
        ContactInclude::CustomFields => "custom_fields",
        ContactInclude::ListMemberships => "list_memberships",
        ContactInclude::PhoneNumbers => "phone_numbers",
        ContactInclude::StreetAddresses => "street_addresses",
        ContactInclude::Taggings => "taggings",
    }
}

pub fn status(status: ContactStatus) -> &'static str {
    match status {
        ContactStatus::All => "all",
        ContactStatus::Active => "active",
        ContactStatus::Deleted => "deleted",
        ContactStatus::NotSet => "not_set",
        ContactStatus::PendingConfirmation => "pending_confirmation",
        ContactStatus::TempHold => "temp_hold",
        ContactStatus::Unsubscribed => "unsubscribed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update_input() -> UpdateContactInput {
        UpdateContactInput {
            contact_id: "c1".into(),
            update_source: Source::Account,
            email_address: None,
            first_name: Some("Anna".into()),
            last_name: None,
            job_title: None,
            company_name: None,
            birthday_month: None,
            birthday_day: None,
            anniversary: None,
            list_memberships: Some(vec!["l2".into()]),
            custom_fields: None,
            phone_numbers: None,
            street_addresses: None,
        }
    }

    #[test]
    fn update_keeps_what_the_caller_left_out_and_drops_read_only_fields() {
        let current: ContactJson = serde_json::from_value(json!({
            "contact_id": "c1", "create_source": "Account", "created_at": "2024-01-01T00:00:00Z",
            "email_address": {"address": "a@example.com", "permission_to_send": "implicit", "opt_in_source": "Account"},
            "first_name": "Ann", "last_name": "Lee", "job_title": "CTO", "birthday_month": 3, "birthday_day": 4,
            "custom_fields": [{"custom_field_id": "f1", "value": "Gold"}, {"custom_field_id": "f2", "choice_ids": [7]}],
            "phone_numbers": [{"phone_number_id": "p1", "phone_number": "555", "kind": "home", "created_at": "x"}],
            "street_addresses": [{"street_address_id": "s1", "kind": "home", "city": "Chicago"}],
            "list_memberships": ["l1"], "a_field_added_later": true
        }))
        .unwrap();
        let body = serde_json::to_value(ContactBody::update(update_input(), current)).unwrap();
        assert_eq!(
            body,
            json!({
                "email_address": {"address": "a@example.com", "permission_to_send": "implicit"},
                "first_name": "Anna", "last_name": "Lee", "job_title": "CTO", "birthday_month": 3, "birthday_day": 4,
                "update_source": "Account", "list_memberships": ["l2"],
                "custom_fields": [{"custom_field_id": "f1", "value": "Gold"}, {"custom_field_id": "f2", "choice_ids": [7]}],
                "phone_numbers": [{"phone_number": "555", "kind": "home"}],
                "street_addresses": [{"kind": "home", "city": "Chicago"}]
            })
        );
    }

    #[test]
    fn create_body_uses_the_api_spellings() {
        let input = CreateContactInput {
            email_address: Some(NewEmailAddress {
                address: "a@example.com".into(),
                permission_to_send: Some(PermissionToSend::NotSet),
            }),
            first_name: None,
            last_name: Some("Lee".into()),
            job_title: None,
            company_name: None,
            birthday_month: None,
            birthday_day: None,
            anniversary: None,
            create_source: Source::Contact,
            list_memberships: None,
            custom_fields: None,
            phone_numbers: Some(vec![PhoneNumberInput {
                phone_number: "555".into(),
                kind: PhoneKind::Mobile,
            }]),
            street_addresses: None,
        };
        let body = serde_json::to_value(ContactBody::create(input)).unwrap();
        assert_eq!(
            body,
            json!({
                "email_address": {"address": "a@example.com", "permission_to_send": "not_set"},
                "last_name": "Lee", "create_source": "Contact",
                "phone_numbers": [{"phone_number": "555", "kind": "mobile"}]
            })
        );
    }
}
