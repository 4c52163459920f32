//! Contacts: the people an account mails.
//!
//! Two API habits shape this file:
//! - `PUT /contacts/{id}` replaces the contact: top-level fields it does not get are
//!   set to null. `update-contact` therefore reads the contact first and sends it
//!   back with the caller's changes laid over it ([`ContactBody::update`]).
//! - Sub-resources (custom fields, lists, phones, addresses, tags) come back only
//!   when asked for with `include=`; the WIT marks them `none` when not included.
//!
//! The JSON shapes and their conversions live in [`json`], apart from the activities.

pub mod json;

use self::json::{include, status, ContactBody, ContactJson, ContactsJson};
use crate::connector::sdk::types::ActivityError;
use crate::exports::constant_contact::connector::contacts::{
    Contact, ContactsPage, CreateContactInput, GetContactInput, Guest, ListContactsInput,
    UpdateContactInput,
};
use crate::{http, ActivityMeta, Connector};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "create-contact",
        display_name: "Create contact",
        category: "Contacts",
        description:
            "Creates a contact; fails with conflict if the email address exists in any status.",
        scopes: &["contact_data"],
        retry_safe: false,
    },
    ActivityMeta {
        name: "update-contact",
        display_name: "Update contact",
        category: "Contacts",
        description: "Changes the given fields of a contact and keeps all others.",
        scopes: &["contact_data"],
        retry_safe: true,
    },
    ActivityMeta {
        name: "get-contact",
        display_name: "Get contact",
        category: "Contacts",
        description: "Gets one contact, with the sub-resources asked for.",
        scopes: &["contact_data"],
        retry_safe: true,
    },
    ActivityMeta {
        name: "list-contacts",
        display_name: "List contacts",
        category: "Contacts",
        description:
            "Lists contacts, one page at a time, filtered by status, email, lists or dates.",
        scopes: &["contact_data"],
        retry_safe: true,
    },
];

/// What `update-contact` reads back: every sub-resource a PUT would otherwise lose.
const UPDATE_INCLUDES: &str = "custom_fields,list_memberships,phone_numbers,street_addresses";

impl Guest for Connector {
    /// Creates a contact.
    ///
    /// `POST /v3/contacts` (201) —
    /// <https://developer.constantcontact.com/api_guide/contacts_create.html>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409.
    ///
    /// Pitfalls: 409 `contacts.api.conflict` when the address exists in *any* status,
    /// deleted and unsubscribed included (use `update-contact` or
    /// `submit-sign-up-form` then). `create-source` is write-once. A contact on no
    /// list cannot be reached by campaigns.
    fn create_contact(input: CreateContactInput) -> Result<Contact, ActivityError> {
        let contact: ContactJson =
            http::post("/v3/contacts", &ContactBody::create(input))?.json("the created contact")?;
        Ok(contact.into())
    }

    /// Changes the given fields of a contact; everything left out keeps its value.
    ///
    /// `GET /v3/contacts/{id}?include=…` then `PUT /v3/contacts/{id}` —
    /// <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope `contact_data`. Retry-safe: it writes the same values each time.
    ///
    /// Pitfalls: PUT nulls omitted top-level fields, so this reads the contact (with
    /// custom fields, lists, phones and addresses) and sends it back with the changes
    /// laid over it. A list given (e.g. `list-memberships`) *replaces* the current
    /// one. Tags and notes are not sent, and PUT keeps omitted sub-resources. PUT
    /// revives a deleted contact. A change made by someone else between the read
    /// and the write is overwritten.
    fn update_contact(input: UpdateContactInput) -> Result<Contact, ActivityError> {
        let path = format!(
            "/v3/contacts/{}",
            http::id("contact-id", &input.contact_id)?
        );
        let query = [("include", UPDATE_INCLUDES.to_string())];
        let current: ContactJson = http::get(&path, &query)?.json("a contact")?;
        let body = ContactBody::update(input, current);
        let contact: ContactJson = http::put(&path, &body)?.json("the updated contact")?;
        Ok(contact.into())
    }

    /// Gets one contact.
    ///
    /// `GET /v3/contacts/{id}` — <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope `contact_data`. Retry-safe: a read.
    ///
    /// Pitfall: sub-resources come back only when named in `include`.
    fn get_contact(input: GetContactInput) -> Result<Contact, ActivityError> {
        let path = format!(
            "/v3/contacts/{}",
            http::id("contact-id", &input.contact_id)?
        );
        let query = http::query([("include", http::csv(input.include.as_deref(), include))]);
        let contact: ContactJson = http::get(&path, &query)?.json("a contact")?;
        Ok(contact.into())
    }

    /// Lists contacts, one page per call.
    ///
    /// `GET /v3/contacts` — <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope `contact_data`. Retry-safe: a read.
    ///
    /// Pitfalls: deleted contacts are left out unless `status` includes `deleted` or
    /// `all`; `email` is an exact match. With a `cursor` the other filters are
    /// ignored (the cursor carries them).
    fn list_contacts(input: ListContactsInput) -> Result<ContactsPage, ActivityError> {
        let query = http::query([
            ("status", http::csv(input.status.as_deref(), status)),
            ("email", input.email),
            ("lists", input.lists.map(|ids| ids.join(","))),
            ("updated_after", input.updated_after),
            ("updated_before", input.updated_before),
            ("include", http::csv(input.include.as_deref(), include)),
            ("include_count", input.include_count.map(|b| b.to_string())),
            ("limit", input.limit.map(|n| n.to_string())),
        ]);
        let reply = http::get_page("/v3/contacts", &query, input.cursor.as_deref())?;
        let page: ContactsJson = reply.json("a page of contacts")?;
        Ok(page.into())
    }
}
