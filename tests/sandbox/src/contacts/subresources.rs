//! A contact's sub-resources: its email address, custom field values, phone numbers,
//! street addresses and notes (spec `EmailAddress`, `ContactCustomField`,
//! `PhoneNumber`, `StreetAddress`, `Note`), and the `include` switch that decides which
//! of them a response carries (reference §3.2: without `include`, none).

use serde::Serialize;
use uuid::Uuid;

use super::input::{AddressInput, EmailChange, PhoneInput};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::request;

/// Permission values that let the account email the contact.
pub const SENDABLE: [&str; 2] = ["implicit", "explicit"];

/// A contact's email address sub-resource (spec `EmailAddress`).
#[derive(Clone, Debug, Serialize)]
pub struct Email {
    pub address: String,
    pub permission_to_send: String,
    #[serde(serialize_with = "clock::serialize")]
    pub created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_in_source: Option<String>,
    #[serde(
        serialize_with = "clock::serialize_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub opt_in_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out_source: Option<String>,
    #[serde(
        serialize_with = "clock::serialize_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub opt_out_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out_reason: Option<String>,
    /// `off`: the sandbox account does not use Confirmed Opt-In.
    pub confirm_status: &'static str,
}

impl Email {
    pub fn new(change: EmailChange, source: &str, now: Timestamp) -> Email {
        // Without an explicit permission, the owner adding a contact implies it; a person
        // signing up gives it explicitly (reference §3.2, create_source).
        let permission = change.permission_to_send.unwrap_or_else(|| {
            if source == "Contact" {
                "explicit"
            } else {
                "implicit"
            }
            .to_owned()
        });
        let opted_in = SENDABLE.contains(&permission.as_str());
        // A contact added as unsubscribed has opted out now, as `set_permission` records.
        let opted_out = permission == "unsubscribed";
        Email {
            address: change.address,
            permission_to_send: permission,
            created_at: now,
            updated_at: now,
            opt_in_source: opted_in.then(|| source.to_owned()),
            opt_in_date: opted_in.then_some(now),
            opt_out_source: opted_out.then(|| source.to_owned()),
            opt_out_date: opted_out.then_some(now),
            opt_out_reason: change.opt_out_reason,
            confirm_status: "off",
        }
    }

    /// Applies a change to the same address: a sent permission, a sent opt-out reason.
    pub fn change(mut self, change: EmailChange, source: &str, now: Timestamp) -> Email {
        if let Some(permission) = &change.permission_to_send {
            self.set_permission(permission, source, now);
        }
        self.opt_out_reason = change.opt_out_reason.or(self.opt_out_reason);
        self.updated_at = now;
        self
    }

    /// Sets the permission; opting in clears an opt-out, unsubscribing records one.
    pub fn set_permission(&mut self, permission: &str, source: &str, now: Timestamp) {
        if SENDABLE.contains(&permission) && !SENDABLE.contains(&self.permission_to_send.as_str()) {
            self.opt_in_source = Some(source.to_owned());
            self.opt_in_date = Some(now);
        }
        if permission == "unsubscribed" {
            // Unsubscribing again (a PUT that sends the contact back as it was) keeps
            // the first opt-out: `optout_after` finds a contact once per opt-out.
            if self.opt_out_date.is_none() {
                self.opt_out_source = Some(source.to_owned());
                self.opt_out_date = Some(now);
            }
        } else {
            self.opt_out_source = None;
            self.opt_out_date = None;
        }
        self.permission_to_send = permission.to_owned();
        self.updated_at = now;
    }
}

/// A custom field value of a contact.
#[derive(Clone, Debug, Serialize)]
pub struct FieldValue {
    pub custom_field_id: Uuid,
    pub value: String,
}

/// A phone number sub-resource.
#[derive(Clone, Debug, Serialize)]
pub struct Phone {
    phone_number_id: Uuid,
    pub phone_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(serialize_with = "clock::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: Timestamp,
    create_source: String,
    update_source: String,
}

impl Phone {
    pub fn new(input: PhoneInput, source: &str, now: Timestamp) -> Phone {
        let (create_source, update_source) = (source.to_owned(), source.to_owned());
        Phone {
            phone_number_id: Uuid::new_v4(),
            phone_number: input.phone_number,
            kind: input.kind,
            created_at: now,
            updated_at: now,
            create_source,
            update_source,
        }
    }
}

/// A street address sub-resource.
#[derive(Clone, Debug, Serialize)]
pub struct Address {
    street_address_id: Uuid,
    #[serde(flatten)]
    pub fields: AddressInput,
    #[serde(serialize_with = "clock::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: Timestamp,
}

impl Address {
    pub fn new(fields: AddressInput, now: Timestamp) -> Address {
        Address {
            street_address_id: Uuid::new_v4(),
            fields,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A note about the contact.
#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub note_id: Uuid,
    #[serde(serialize_with = "clock::serialize")]
    pub created_at: Timestamp,
    pub content: String,
}

/// Which sub-resources to render (`include` query parameter).
#[derive(Clone, Copy, Debug, Default)]
pub struct Include {
    pub custom_fields: bool,
    pub list_memberships: bool,
    pub phone_numbers: bool,
    pub street_addresses: bool,
    pub taggings: bool,
    pub notes: bool,
}

impl Include {
    /// Every sub-resource: what create and update answer with.
    pub const ALL: Include = Include {
        custom_fields: true,
        list_memberships: true,
        phone_numbers: true,
        street_addresses: true,
        taggings: true,
        notes: true,
    };

    /// Parses the `include` csv; an unknown name is 400.
    pub fn parse(value: Option<&str>) -> Result<Include, ApiError> {
        let names = [
            "custom_fields",
            "list_memberships",
            "phone_numbers",
            "street_addresses",
            "taggings",
            "notes",
        ];
        let wanted = request::csv(Area::Contacts, "include", value, &names)?;
        let has = |name| wanted.contains(&name);
        Ok(Include {
            custom_fields: has("custom_fields"),
            list_memberships: has("list_memberships"),
            phone_numbers: has("phone_numbers"),
            street_addresses: has("street_addresses"),
            taggings: has("taggings"),
            notes: has("notes"),
        })
    }
}
