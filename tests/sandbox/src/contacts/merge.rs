//! Partial updates of a known contact: what `POST /contacts/sign_up_form` and
//! `POST /activities/contacts_json_import` do to a contact that already exists
//! (reference §3.2: only sent properties change; lists and custom fields are appended,
//! never removed; a deleted contact is revived).
//!
//! A contact holds at most 3 phone numbers and 3 street addresses: a new phone number
//! the contact lacks replaces the last one past 3; an address replaces the one of the
//! same kind.

use super::input::{AddressInput, Changes, PhoneInput};
use super::record::Contact;
use super::subresources::{Address, Phone};
use crate::clock::Timestamp;

/// A contact may hold 3 phone numbers and 3 street addresses (reference §3.2).
const MAX_PHONES: usize = 3;
const MAX_ADDRESSES: usize = 3;

/// Applies `changes` to a known contact, sent fields only: lists and custom fields are
/// added, never removed; a deleted contact is revived. The permission is the caller's.
pub fn merge(contact: &mut Contact, changes: Changes, source: &str, now: Timestamp) {
    if contact.is_deleted() {
        contact.revive(source, now);
    }
    let (old, new) = (&mut contact.details, changes.details);
    old.first_name = new.first_name.or(old.first_name.take());
    old.last_name = new.last_name.or(old.last_name.take());
    old.job_title = new.job_title.or(old.job_title.take());
    old.company_name = new.company_name.or(old.company_name.take());
    if new.birthday_month.is_some() {
        (old.birthday_month, old.birthday_day) = (new.birthday_month, new.birthday_day);
    }
    old.anniversary = new.anniversary.or(old.anniversary.take());
    for list in changes.list_memberships.unwrap_or_default() {
        if !contact.is_member(&list) {
            contact.list_memberships.push(list);
        }
    }
    for value in changes.custom_fields.unwrap_or_default() {
        contact
            .custom_fields
            .retain(|v| v.custom_field_id != value.custom_field_id);
        contact.custom_fields.push(value);
    }
    add_phones(
        contact,
        changes.phone_numbers.unwrap_or_default(),
        source,
        now,
    );
    add_addresses(
        &mut contact.street_addresses,
        changes.street_addresses.unwrap_or_default(),
        now,
    );
    contact.update_source = source.to_owned();
    contact.updated_at = now;
}

/// Adds a phone number the contact lacks; with 3 already, the last is replaced.
fn add_phones(contact: &mut Contact, phones: Vec<PhoneInput>, source: &str, now: Timestamp) {
    for phone in phones {
        if contact
            .phone_numbers
            .iter()
            .any(|p| p.phone_number == phone.phone_number)
        {
            continue;
        }
        if contact.phone_numbers.len() == MAX_PHONES {
            contact.phone_numbers.pop();
        }
        contact.phone_numbers.push(Phone::new(phone, source, now));
    }
}

/// Replaces the address of the same kind, or adds it (replacing the last past 3).
fn add_addresses(addresses: &mut Vec<Address>, new: Vec<AddressInput>, now: Timestamp) {
    for address in new {
        addresses.retain(|a| a.fields.kind != address.kind);
        if addresses.len() == MAX_ADDRESSES {
            addresses.pop();
        }
        addresses.push(Address::new(address, now));
    }
}
