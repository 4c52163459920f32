//! The sign-up form endpoint: create a contact, or update the one with that address.
//!
//! Unlike `PUT /contacts/{id}`, it changes only what it is sent and *adds* lists and
//! custom fields; it never removes any. It also opts the person in (they signed up),
//! so use it only with their consent.

use connector_sdk::check::{check, email, items, max_len, Bound};
use connector_sdk::json::fill;
use connector_sdk::{ActivityError, ActivityMeta};

use crate::contacts::PERSON;
use crate::exports::constant_contact::connector::sign_up_forms::{
    Guest, SignUpFormInput, SignUpResult,
};
use crate::{Connector, CC};

/// The form's own bounds (the person's are the contacts area's).
const FORM: &[Bound] = &[
    // A plain string here, at most 50 characters (80 on `/contacts`).
    max_len("email_address", 50),
    email("email_address"),
    items("list_memberships", 1, 50),
    max_len("phone_number", 25),
    max_len("street_address.street", 255),
    max_len("street_address.city", 50),
    max_len("street_address.state", 50),
    max_len("street_address.postal_code", 50),
    max_len("street_address.country", 50),
    items("custom_fields", 0, 50),
    max_len("custom_fields.value", 255),
];

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[ActivityMeta {
    name: "submit-sign-up-form",
    display_name: "Submit sign-up form",
    category: "Contacts",
    description:
        "Creates or updates a contact from a sign-up: adds lists and fields, opts the person in.",
    scopes: &["contact_data"],
    pitfalls: &[
        "An unsubscribed contact is opted back in: send only real sign-ups.",
        "Lists and custom fields are only ever added; use update-contact to remove them.",
        "A conflict (409) here means two requests changed the contact at once.",
    ],
    // Not retry-safe: each call may opt the person in again.
    retry_safe: false,
    bounds: &[PERSON, FORM],
    ..ActivityMeta::UPDATE
}];

impl Guest for Connector {
    /// Creates a contact or updates the one with this address, additively.
    ///
    /// `POST /v3/contacts/sign_up_form` (201 created, 200 updated) —
    /// <https://developer.constantcontact.com/api_guide/contacts_create_or_update.html>.
    /// Scope `contact_data`. Not retry-safe: each call may re-opt-in the contact.
    /// Destructive: the fields it is given replace the contact's.
    fn submit_sign_up_form(input: SignUpFormInput) -> Result<SignUpResult, ActivityError> {
        check(&input, &[PERSON, FORM].concat())?;
        let reply = CC.post("/v3/contacts/sign_up_form").body(&input).send()?;
        let mut result = reply.value()?;
        // The status says what happened when a server leaves `action` out.
        let action = if reply.status == 201 {
            "created"
        } else {
            "updated"
        };
        fill(&mut result, "action", action);
        reply.parse(result)
    }
}
