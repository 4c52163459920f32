//! A stored contact, how it changes, and how it renders (spec `ContactResource`).
//!
//! Sub-resources (`custom_fields`, `list_memberships`, `phone_numbers`,
//! `street_addresses`, `taggings`, `notes`) are rendered only when `include` asks for
//! them (reference §3.2). A deleted contact is kept with `deleted_at` and an opt-out
//! on its email address, its list memberships stripped; PUT or sign_up_form revive it.

use serde::Serialize;
use uuid::Uuid;

use super::input::Changes;
use super::subresources::{Address, Email, FieldValue, Include, Note, Phone, SENDABLE};
use crate::clock::{self, Timestamp};

/// The top-level fields a PUT replaces (omitted ones become null).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthday_month: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthday_day: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anniversary: Option<String>,
}

/// A stored contact.
#[derive(Clone, Debug)]
pub struct Contact {
    pub id: Uuid,
    pub email: Option<Email>,
    pub details: Details,
    pub create_source: String,
    pub update_source: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub custom_fields: Vec<FieldValue>,
    pub phone_numbers: Vec<Phone>,
    pub street_addresses: Vec<Address>,
    pub list_memberships: Vec<Uuid>,
    pub taggings: Vec<Uuid>,
    pub notes: Vec<Note>,
}

impl Contact {
    /// A new contact from a validated POST body.
    pub fn create(changes: Changes, source: &str, now: Timestamp) -> Contact {
        let mut contact = Contact {
            id: Uuid::new_v4(),
            email: None,
            details: Details::default(),
            create_source: source.to_owned(),
            update_source: source.to_owned(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            custom_fields: Vec::new(),
            phone_numbers: Vec::new(),
            street_addresses: Vec::new(),
            list_memberships: Vec::new(),
            taggings: Vec::new(),
            notes: Vec::new(),
        };
        contact.replace(changes, source, now);
        contact
    }

    /// PUT semantics: top-level fields are all replaced (omitted → null); sub-resource
    /// arrays that were sent replace the stored ones, omitted ones are kept (reference
    /// §3.2). A deleted contact is revived.
    pub fn replace(&mut self, changes: Changes, source: &str, now: Timestamp) {
        if self.is_deleted() {
            self.revive(source, now);
        }
        self.email = match (self.email.take(), changes.email) {
            (_, None) => None,
            (Some(email), Some(change)) if email.address.eq_ignore_ascii_case(&change.address) => {
                Some(email.change(change, source, now))
            }
            (_, Some(change)) => Some(Email::new(change, source, now)),
        };
        self.details = changes.details;
        if let Some(values) = changes.custom_fields {
            self.custom_fields = values;
        }
        if let Some(phones) = changes.phone_numbers {
            self.phone_numbers = phones
                .into_iter()
                .map(|p| Phone::new(p, source, now))
                .collect();
        }
        if let Some(addresses) = changes.street_addresses {
            self.street_addresses = addresses
                .into_iter()
                .map(|a| Address::new(a, now))
                .collect();
        }
        if let Some(lists) = changes.list_memberships {
            self.list_memberships = lists;
        }
        if let Some(tags) = changes.taggings {
            self.taggings = tags;
        }
        if let Some(notes) = changes.notes {
            self.notes = notes;
        }
        self.update_source = source.to_owned();
        self.updated_at = now;
    }

    /// Moves the contact to deleted status: hidden, memberships stripped, kept for the
    /// 409 on re-creation (reference §3.2 DELETE).
    pub fn delete(&mut self, now: Timestamp) {
        self.deleted_at = Some(now);
        self.list_memberships.clear();
        if let Some(email) = &mut self.email {
            email.opt_out_source = Some("Account".to_owned());
            email.opt_out_date = Some(now);
            email.updated_at = now;
        }
        self.update_source = "Account".to_owned();
        self.updated_at = now;
    }

    /// Brings a deleted contact back: no `deleted_at`, the deletion's opt-out undone.
    pub fn revive(&mut self, source: &str, now: Timestamp) {
        self.deleted_at = None;
        if let Some(email) = &mut self.email {
            let permission = email.permission_to_send.clone();
            email.set_permission(&permission, source, now);
        }
    }

    /// Whether the contact is deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The email permission, `not_set` without an address.
    pub fn permission(&self) -> &str {
        self.email
            .as_ref()
            .map_or("not_set", |e| e.permission_to_send.as_str())
    }

    /// Whether campaigns can reach the contact: not deleted, permission given.
    pub fn is_active(&self) -> bool {
        !self.is_deleted() && SENDABLE.contains(&self.permission())
    }

    /// Whether the contact opted in to email within the 30 days before `now` (the
    /// `new_subscriber` of `/contacts/counts` and the taggings source).
    pub fn is_new_subscriber(&self, now: Timestamp) -> bool {
        self.is_active()
            && self
                .email
                .as_ref()
                .and_then(|e| e.opt_in_date)
                .is_some_and(|at| now - at <= chrono::Duration::days(30))
    }

    /// The date the contact's email opted out, if it did.
    pub fn opt_out_date(&self) -> Option<Timestamp> {
        self.email.as_ref().and_then(|e| e.opt_out_date)
    }

    /// Whether the contact is on `list`.
    pub fn is_member(&self, list: &Uuid) -> bool {
        self.list_memberships.contains(list)
    }

    /// Whether the contact's address is `address` (addresses compare case-insensitively).
    pub fn has_email(&self, address: &str) -> bool {
        self.email
            .as_ref()
            .is_some_and(|e| e.address.eq_ignore_ascii_case(address))
    }

    /// The contact as JSON, with the sub-resources `include` names.
    pub fn render(&self, include: Include) -> serde_json::Value {
        let view = View {
            contact_id: self.id,
            email_address: self.email.as_ref(),
            details: &self.details,
            create_source: &self.create_source,
            update_source: &self.update_source,
            created_at: clock::format(&self.created_at),
            updated_at: clock::format(&self.updated_at),
            deleted_at: self.deleted_at.as_ref().map(clock::format_date),
            custom_fields: include.custom_fields.then_some(&self.custom_fields),
            phone_numbers: include.phone_numbers.then_some(&self.phone_numbers),
            street_addresses: include.street_addresses.then_some(&self.street_addresses),
            list_memberships: include.list_memberships.then_some(&self.list_memberships),
            taggings: include.taggings.then_some(&self.taggings),
            notes: include.notes.then_some(&self.notes),
        };
        // A view of strings, numbers and ids always serializes.
        serde_json::to_value(view).unwrap_or_default()
    }
}

#[derive(Serialize)]
struct View<'a> {
    contact_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_address: Option<&'a Email>,
    #[serde(flatten)]
    details: &'a Details,
    create_source: &'a str,
    update_source: &'a str,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_fields: Option<&'a Vec<FieldValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_numbers: Option<&'a Vec<Phone>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    street_addresses: Option<&'a Vec<Address>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_memberships: Option<&'a Vec<Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    taggings: Option<&'a Vec<Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a Vec<Note>>,
}
