//! The rules a contact request body must meet before anything is stored (reference
//! §3.2, §4 item 13).
//!
//! Every failure of a body is gathered and answered as one 400
//! (`contacts.api.validation.error`). The checks on names, dates, custom fields,
//! addresses and list ids are shared with `sign_up_forms`.

use chrono::NaiveDate;
use uuid::Uuid;

use super::input::{
    AddressInput, Changes, ContactInput, DetailsInput, EmailChange, EmailInput, FieldInput,
    NoteInput, PhoneBody, PhoneInput,
};
use super::record::Details;
use super::subresources::{FieldValue, Note};
use crate::clock;
use crate::custom_fields;
use crate::errors::{ApiError, Area, Problems};
use crate::lists;
use crate::state::Account;
use crate::tags;

const SOURCES: [&str; 2] = ["Account", "Contact"];
const PERMISSIONS: [&str; 6] = [
    "explicit",
    "implicit",
    "not_set",
    "pending_confirmation",
    "temp_hold",
    "unsubscribed",
];

/// Checks a POST (`source_field` = `create_source`) or PUT (`update_source`) body;
/// returns the changes and the source.
pub fn check(
    input: ContactInput,
    source_field: &str,
    account: &Account,
) -> Result<(Changes, String), ApiError> {
    let mut p = Problems::default();
    let source = if source_field == "create_source" {
        input.create_source
    } else {
        input.update_source
    };
    p.required(source_field, source.as_deref());
    p.one_of(source_field, source.as_deref(), &SOURCES);
    let details = input.details.check(&mut p);
    let email = input.email_address.map(|e| email(e, &mut p));
    if email.is_none() && details.first_name.is_none() && details.last_name.is_none() {
        p.add("at least one of first_name, last_name or email_address is required");
    }
    let changes = Changes {
        email,
        details,
        custom_fields: input
            .custom_fields
            .map(|f| custom_field_values(f, 25, account, &mut p)),
        phone_numbers: input.phone_numbers.map(|list| phones(list, &mut p)),
        street_addresses: input.street_addresses.map(|list| addresses(list, &mut p)),
        list_memberships: input
            .list_memberships
            .map(|ids| list_ids("list_memberships", ids, account, &mut p)),
        taggings: input
            .taggings
            .map(|ids| p.ids("taggings", ids, 50, |id| tags::exists(&account.tags, id))),
        notes: input.notes.map(|list| notes(list, &mut p)),
    };
    p.finish(Area::Contacts)?;
    Ok((changes, source.unwrap_or_default()))
}

fn email(input: EmailInput, p: &mut Problems) -> EmailChange {
    let address = input.address.as_deref().map(str::trim);
    p.required("email_address.address", address);
    p.max_len("email_address.address", address, 80);
    p.email("email_address.address", address.filter(|a| !a.is_empty()));
    p.one_of(
        "email_address.permission_to_send",
        input.permission_to_send.as_deref(),
        &PERMISSIONS,
    );
    p.max_len(
        "email_address.opt_out_reason",
        input.opt_out_reason.as_deref(),
        255,
    );
    EmailChange {
        address: address.unwrap_or_default().to_owned(),
        permission_to_send: input.permission_to_send,
        opt_out_reason: input.opt_out_reason,
    }
}

impl DetailsInput {
    /// Checks lengths (≤50), the birthday pair and the anniversary date forms.
    pub fn check(self, p: &mut Problems) -> Details {
        let text = |field: &str, value: Option<String>, p: &mut Problems| {
            let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            p.max_len(field, value.as_deref(), 50);
            value
        };
        let first_name = text("first_name", self.first_name, p);
        let last_name = text("last_name", self.last_name, p);
        let job_title = text("job_title", self.job_title, p);
        let company_name = text("company_name", self.company_name, p);
        let (birthday_month, birthday_day) = birthday(self.birthday_month, self.birthday_day, p);
        if let Some(date) = &self.anniversary {
            if !is_anniversary(date) {
                p.add("anniversary does not have a valid value (expected MM/DD/YYYY|YYYY/MM/DD|YYYY-MM-DD|M-D-YYYY)");
            }
        }
        Details {
            first_name,
            last_name,
            job_title,
            company_name,
            birthday_month,
            birthday_day,
            anniversary: self.anniversary,
        }
    }
}

/// `birthday_month` (1–12) and `birthday_day` (1–31) each require the other.
fn birthday(month: Option<i64>, day: Option<i64>, p: &mut Problems) -> (Option<u8>, Option<u8>) {
    match (month, day) {
        (None, None) => (None, None),
        (Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d) => {
            (Some(m as u8), Some(d as u8))
        }
        (Some(_), Some(_)) => {
            p.add("birthday_month must be from 1 to 12 and birthday_day from 1 to 31");
            (None, None)
        }
        _ => {
            p.add("birthday_month and birthday_day must be given together");
            (None, None)
        }
    }
}

/// The anniversary forms of the spec: MM/DD/YYYY, M/D/YYYY, YYYY/MM/DD, YYYY/M/D,
/// YYYY-MM-DD, YYYY-M-D, M-D-YYYY, M-DD-YYYY (at most 10 characters).
fn is_anniversary(text: &str) -> bool {
    let forms = ["%m/%d/%Y", "%Y/%m/%d", "%Y-%m-%d", "%m-%d-%Y"];
    text.len() <= 10
        && forms
            .iter()
            .any(|f| NaiveDate::parse_from_str(text, f).is_ok())
}

/// Checks custom field values: at most `max`, known ids, values ≤255; a repeated id keeps
/// the last value.
pub fn custom_field_values(
    inputs: Vec<FieldInput>,
    max: usize,
    account: &Account,
    p: &mut Problems,
) -> Vec<FieldValue> {
    if inputs.len() > max {
        p.add(format!("custom_fields may contain at most {max} items"));
    }
    let mut values: Vec<FieldValue> = Vec::new();
    for input in inputs {
        let id = input.custom_field_id.filter(|id| !id.trim().is_empty());
        p.required("custom_fields.custom_field_id", id.as_deref());
        p.max_len("custom_fields.value", input.value.as_deref(), 255);
        let known = p.ids(
            "custom_fields.custom_field_id",
            id.into_iter().collect(),
            1,
            |id| custom_fields::exists(&account.custom_fields, id),
        );
        if let Some(id) = known.first() {
            values.retain(|v| v.custom_field_id != *id);
            values.push(FieldValue {
                custom_field_id: *id,
                value: input.value.unwrap_or_default(),
            });
        }
    }
    values
}

fn phones(inputs: Vec<PhoneBody>, p: &mut Problems) -> Vec<PhoneInput> {
    if inputs.len() > 3 {
        p.add("phone_numbers may contain at most 3 items");
    }
    let mut phones = Vec::new();
    for input in inputs {
        p.required("phone_numbers.phone_number", input.phone_number.as_deref());
        p.max_len(
            "phone_numbers.phone_number",
            input.phone_number.as_deref(),
            25,
        );
        p.one_of(
            "phone_numbers.kind",
            input.kind.as_deref(),
            &["home", "work", "mobile", "other"],
        );
        phones.push(PhoneInput {
            phone_number: input.phone_number.unwrap_or_default(),
            kind: input.kind,
        });
    }
    phones
}

fn addresses(inputs: Vec<AddressInput>, p: &mut Problems) -> Vec<AddressInput> {
    if inputs.len() > 3 {
        p.add("street_addresses may contain at most 3 items");
    }
    inputs
        .into_iter()
        .map(|a| a.check("street_addresses", p))
        .collect()
}

impl AddressInput {
    /// Checks `kind` (home, work or other; required) and the field lengths.
    pub fn check(self, field: &str, p: &mut Problems) -> AddressInput {
        p.required(&format!("{field}.kind"), self.kind.as_deref());
        p.one_of(
            &format!("{field}.kind"),
            self.kind.as_deref(),
            &["home", "work", "other"],
        );
        p.max_len(&format!("{field}.street"), self.street.as_deref(), 255);
        for (name, value) in [
            ("city", &self.city),
            ("state", &self.state),
            ("postal_code", &self.postal_code),
            ("country", &self.country),
        ] {
            p.max_len(&format!("{field}.{name}"), value.as_deref(), 50);
        }
        self
    }
}

/// Checks the list ids of `field`: at most 50, each an existing list (reference §3.2:
/// unknown → 400).
pub fn list_ids(field: &str, ids: Vec<String>, account: &Account, p: &mut Problems) -> Vec<Uuid> {
    p.ids(field, ids, 50, |id| lists::exists(&account.lists, id))
}

fn notes(inputs: Vec<NoteInput>, p: &mut Problems) -> Vec<Note> {
    if inputs.len() > 150 {
        p.add("notes may contain at most 150 items");
    }
    let mut notes = Vec::new();
    for input in inputs {
        p.required("notes.content", input.content.as_deref());
        p.max_len("notes.content", input.content.as_deref(), 2000);
        let note_id = input
            .note_id
            .and_then(|id| Uuid::try_parse(&id).ok())
            .unwrap_or_else(Uuid::new_v4);
        let created_at = input
            .created_at
            .and_then(|t| clock::parse(&t))
            .unwrap_or_else(clock::now);
        notes.push(Note {
            note_id,
            created_at,
            content: input.content.unwrap_or_default(),
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anniversaries_accept_the_documented_forms() {
        for date in [
            "11/15/2006",
            "1/5/2006",
            "2006/11/15",
            "2006/1/5",
            "2006-11-15",
            "2006-1-5",
            "1-5-2006",
            "1-15-2006",
        ] {
            assert!(is_anniversary(date), "{date}");
        }
        assert!(!is_anniversary("15.11.2006"));
        assert!(!is_anniversary("2006-13-01"));
    }

    #[test]
    fn birthdays_come_in_pairs() {
        let mut p = Problems::default();
        assert_eq!(birthday(Some(11), Some(24), &mut p), (Some(11), Some(24)));
        assert!(p.is_empty());
        birthday(Some(11), None, &mut p);
        assert!(!p.is_empty());
    }
}
