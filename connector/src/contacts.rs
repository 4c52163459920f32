//! Contacts: the people an account mails.
//!
//! Two API habits shape this file:
//! - `PUT /contacts/{id}` replaces the contact: top-level fields it does not get are
//!   set to null. `update-contact` therefore reads the contact first and sends it
//!   back with the caller's changes laid over it ([`ContactPut`]).
//! - Sub-resources (custom fields, lists, phones, addresses, tags, notes) come back
//!   only when asked for with `include=`; the WIT marks them `none` when not included.

use connector_sdk::check::{
    any_of, check, date_time, email, items, listed_by, max_len, range, Bound,
};
use connector_sdk::json::{merge, remove, to_value};
use connector_sdk::serde_json::Value;
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};
use serde::{Deserialize, Serialize};

use crate::exports::constant_contact::connector::contacts::{
    Contact, ContactCounts, ContactXrefs, ContactsPage, CreateContactInput, DeleteContactInput,
    GetContactCountsInput, GetContactIdXrefsInput, GetContactInput, GetSmsEngagementHistoryInput,
    Guest, ListContactsInput, ResubscribeContactInput, SmsEngagementHistory, Source,
    UpdateContactInput,
};
use crate::lists::SEQUENCE_IDS;
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "create-contact",
        category: "Contacts",
        description:
            "Creates a contact; fails with conflict if the email address exists in any status.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Conflict (409) when the address exists in any status, deleted and unsubscribed \
             included: use update-contact or submit-sign-up-form then.",
            "A contact on no list cannot be reached by campaigns.",
            "create_source is write-once.",
        ],
        bounds: &[PERSON, CONTACT],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "update-contact",
        category: "Contacts",
        description: "Changes the given fields of a contact and keeps all others.",
        scopes: &["contact_data"],
        pitfalls: &[
            "A list given (e.g. list_memberships) replaces the contact's current one.",
            "A change made by someone else between the read and the write is overwritten.",
            "Updating a deleted contact revives it.",
        ],
        bounds: &[PERSON, CONTACT],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "get-contact",
        category: "Contacts",
        description: "Gets one contact, with the sub-resources asked for.",
        scopes: &["contact_data"],
        pitfalls: &["Sub-resources come back only when named in include."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "list-contacts",
        category: "Contacts",
        description:
            "Lists contacts, one page at a time, filtered by status, email, lists or dates.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Deleted contacts are left out unless status includes deleted or all.",
            "email is an exact match; with a cursor the other filters are ignored.",
        ],
        bounds: &[LIST_CONTACTS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "delete-contact",
        category: "Contacts",
        description: "Deletes a contact: it moves to deleted status and leaves its lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "The address stays reserved: create-contact with it is a conflict (409).",
            "update-contact or submit-sign-up-form revives it, without its old lists.",
        ],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "get-contact-counts",
        category: "Contacts",
        description: "Counts the account's contacts by email permission.",
        scopes: &["contact_data"],
        pitfalls: &["Deleted contacts are not counted; new_subscriber only when included."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-sms-engagement-history",
        display_name: "Get SMS engagement history",
        category: "Contacts",
        description: "Lists the changes of a contact's SMS consent.",
        scopes: &["contact_data"],
        pitfalls: &["Empty for contacts without an SMS channel."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-contact-id-xrefs",
        display_name: "Get contact id cross-references",
        category: "Contacts",
        description: "Finds the V3 contact ids of up to 500 V2 contact ids, for migrations.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Meant for a one-time migration from the V2 API; Constant Contact will remove it.",
            "Unknown V2 ids are left out of the answer, not reported.",
        ],
        bounds: &[SEQUENCE_IDS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "resubscribe-contact",
        category: "Contacts",
        description: "Mails an unsubscribed contact a link to resubscribe to the given lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Only for unsubscribed contacts, and once per contact: otherwise a conflict (409).",
            "The contact stays unsubscribed until they click the link.",
        ],
        bounds: &[RESUBSCRIBE],
        ..ActivityMeta::ACTION
    },
];

/// `ContactResubscribeRequest`: at least one list (the spec sets no maximum).
const RESUBSCRIBE: &[Bound] = &[items("list_ids", 1, usize::MAX)];

/// The person's bounds, the same on every contact endpoint (the sign-up form too).
pub const PERSON: &[Bound] = &[
    max_len("first_name", 50),
    max_len("last_name", 50),
    max_len("job_title", 50),
    max_len("company_name", 50),
    range("birthday_month", 1, 12),
    range("birthday_day", 1, 31),
    max_len("anniversary", 10),
];

/// The rest of `ContactPostRequest` and `ContactPutRequest`'s bounds.
const CONTACT: &[Bound] = &[
    max_len("email_address.address", 80),
    email("email_address.address"),
    items("custom_fields", 0, 25),
    max_len("custom_fields.value", 255),
    items("phone_numbers", 0, 3),
    max_len("phone_numbers.phone_number", 25),
    items("street_addresses", 0, 3),
    max_len("street_addresses.street", 255),
    max_len("street_addresses.city", 50),
    max_len("street_addresses.state", 50),
    max_len("street_addresses.postal_code", 50),
    max_len("street_addresses.country", 50),
    items("list_memberships", 0, 50),
];

/// What `update-contact` reads back: every sub-resource, so the PUT keeps them all.
/// `list-contacts`' filters.
const LIST_CONTACTS: &[Bound] = &[
    range("limit", 1, 500),
    items("lists", 0, 25),
    items("tags", 0, 50),
    date_time("updated_after"),
    date_time("updated_before"),
    date_time("created_after"),
    date_time("created_before"),
    listed_by("lists", "list-contact-lists", "lists", "list_id", "name"),
    listed_by("tags", "list-tags", "tags", "tag_id", "name"),
];

const EVERY_SUB_RESOURCE: &str =
    "custom_fields,list_memberships,phone_numbers,street_addresses,taggings,notes";

impl Guest for Connector {
    /// Creates a contact.
    ///
    /// `POST /v3/contacts` (201) —
    /// <https://developer.constantcontact.com/api_guide/contacts_create.html>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409. Not destructive.
    fn create_contact(input: CreateContactInput) -> Result<Contact, ActivityError> {
        let named = any_of(&["email_address", "first_name", "last_name"]);
        check(&input, &[&[named], PERSON, CONTACT].concat())?;
        let mut body = to_value(&input)?;
        body["create_source"] = source(input.create_source).into();
        CC.post("/v3/contacts").body(&body).json()
    }

    /// Changes the given fields of a contact; everything left out keeps its value.
    ///
    /// `GET /v3/contacts/{contact_id}?include=…` then `PUT /v3/contacts/{contact_id}` —
    /// <https://developer.constantcontact.com/api_reference/index.html#!/Contacts/putContact>.
    /// Scope `contact_data`. Retry-safe: it writes the same values each time.
    /// Destructive: the values it replaces are gone.
    fn update_contact(input: UpdateContactInput) -> Result<Contact, ActivityError> {
        check(&input, &[PERSON, CONTACT].concat())?;
        // PUT nulls what it is not sent: send the contact as read (its writable
        // fields, every sub-resource included) with the caller's changes over it.
        let current: ContactPut = CC
            .get("/v3/contacts")
            .id("contact_id", &input.contact_id)
            .query("include", EVERY_SUB_RESOURCE)
            .json()?;
        let mut body = to_value(&current)?;
        let mut changes = to_value(&input)?;
        changes["update_source"] = source(input.update_source).into();
        remove(&mut changes, &["contact_id"]);
        merge(&mut body, changes);
        CC.put("/v3/contacts")
            .id("contact_id", &input.contact_id)
            .body(&body)
            .json()
    }

    /// Gets one contact.
    ///
    /// `GET /v3/contacts/{contact_id}` —
    /// <https://developer.constantcontact.com/api_reference/index.html#!/Contacts/getContact>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact(input: GetContactInput) -> Result<Contact, ActivityError> {
        CC.get("/v3/contacts")
            .id("contact_id", &input.contact_id)
            .query("include", &input.include)
            .json()
    }

    /// Lists contacts, one page per call.
    ///
    /// `GET /v3/contacts` — <https://developer.constantcontact.com/api_reference/index.html#!/Contacts/getContacts>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn list_contacts(input: ListContactsInput) -> Result<ContactsPage, ActivityError> {
        check(&input, LIST_CONTACTS)?;
        // The input's fields are the endpoint's filters, name for name.
        CC.get("/v3/contacts")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Deletes a contact.
    ///
    /// `DELETE /v3/contacts/{contact_id}` (204) — <https://developer.constantcontact.com/api_guide/contacts_delete.html>.
    /// Scope `contact_data`. Retry-safe: deleted twice is deleted. Destructive: its
    /// list memberships are gone, even if it is revived.
    fn delete_contact(input: DeleteContactInput) -> Result<(), ActivityError> {
        CC.delete("/v3/contacts")
            .id("contact_id", &input.contact_id)
            .send()?;
        Ok(())
    }

    /// Counts contacts by email permission.
    ///
    /// `GET /v3/contacts/counts` — <https://developer.constantcontact.com/api_reference/index.html#!/Contacts/countContact>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact_counts(input: GetContactCountsInput) -> Result<ContactCounts, ActivityError> {
        CC.get("/v3/contacts/counts").queries(&input, &[]).json()
    }

    /// Lists a contact's SMS consent changes.
    ///
    /// `GET /v3/contacts/sms_engagement_history/{contact_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Contacts/getSmsEngagementHistory>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_sms_engagement_history(
        input: GetSmsEngagementHistoryInput,
    ) -> Result<SmsEngagementHistory, ActivityError> {
        let history = CC
            .get("/v3/contacts/sms_engagement_history")
            .id("contact_id", &input.contact_id)
            .json()?;
        Ok(SmsEngagementHistory { history })
    }

    /// Finds the V3 ids of V2 contact ids.
    ///
    /// `GET /v3/contacts/contact_id_xrefs` — <https://developer.constantcontact.com/api_guide/migration_overview.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact_id_xrefs(input: GetContactIdXrefsInput) -> Result<ContactXrefs, ActivityError> {
        check(&input, SEQUENCE_IDS)?;
        CC.get("/v3/contacts/contact_id_xrefs")
            .query("sequence_ids", &input.sequence_ids)
            .json()
    }

    /// Mails an unsubscribed contact a confirmation link to resubscribe.
    ///
    /// `PUT /v3/contacts/resubscribe/{contact_id}` — <https://developer.constantcontact.com/api_guide/contacts_resubscribe.html>.
    /// Scope `contact_data`. Not retry-safe: the API sends the email once, and a
    /// repeat is a conflict. Not destructive: nothing is removed.
    fn resubscribe_contact(input: ResubscribeContactInput) -> Result<(), ActivityError> {
        if input.list_ids.is_empty() {
            return Err(invalid_input("`list_ids` must name at least one list"));
        }
        CC.put("/v3/contacts/resubscribe")
            .id("contact_id", &input.contact_id)
            .body_except(&input, &["contact_id"])
            .send()?;
        Ok(())
    }
}

/// The API's spelling of a source (`Account`, `Contact`), capitalised unlike its
/// other enums.
fn source(source: Source) -> &'static str {
    match source {
        Source::Account => "Account",
        Source::Contact => "Contact",
    }
}

/// The body of `PUT /contacts/{id}` (`ContactPutRequest`): only what a PUT may
/// write. Read from the contact as it is, it drops the read-only fields (ids,
/// timestamps, opt-in dates), which the API's JSON has and this body must not.
#[derive(Serialize, Deserialize)]
struct ContactPut {
    email_address: Option<EmailPut>,
    first_name: Option<String>,
    last_name: Option<String>,
    job_title: Option<String>,
    company_name: Option<String>,
    birthday_month: Option<u8>,
    birthday_day: Option<u8>,
    anniversary: Option<String>,
    // As read: select-type fields carry `choice_ids`, which the PUT must keep.
    custom_fields: Option<Vec<Value>>,
    phone_numbers: Option<Vec<PhonePut>>,
    street_addresses: Option<Vec<AddressPut>>,
    list_memberships: Option<Vec<String>>,
    taggings: Option<Vec<String>>,
    // Every field of a note (`note_id`, `created_at`, `content`) is writable.
    notes: Option<Vec<Value>>,
}

#[derive(Serialize, Deserialize)]
struct EmailPut {
    address: String,
    permission_to_send: Option<String>,
    opt_out_reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PhonePut {
    phone_number: Option<String>,
    kind: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AddressPut {
    kind: String,
    street: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_sdk::json::from_value;
    use connector_sdk::serde_json::json;

    #[test]
    fn the_put_body_keeps_every_writable_field_and_no_read_only_one() {
        let read = json!({
            "contact_id": "c1", "create_source": "Account", "created_at": "2024-01-01T00:00:00Z",
            "email_address": {"address": "a@example.com", "permission_to_send": "implicit",
                              "opt_in_source": "Account", "created_at": "x"},
            "first_name": "Ann", "birthday_month": 3,
            "custom_fields": [{"custom_field_id": "f2", "choice_ids": [7]}],
            "phone_numbers": [{"phone_number_id": "p1", "phone_number": "555", "kind": "home"}],
            "street_addresses": [{"street_address_id": "s1", "kind": "home", "city": "Chicago"}],
            "list_memberships": ["l1"], "taggings": ["t1"],
            "notes": [{"note_id": "n1", "created_at": "2024-01-02T00:00:00Z", "content": "VIP"}],
            "a_field_added_later": true
        });
        let put: ContactPut = from_value(read).unwrap();
        assert_eq!(
            to_value(&put).unwrap(),
            json!({
                "email_address": {"address": "a@example.com", "permission_to_send": "implicit"},
                "first_name": "Ann", "birthday_month": 3,
                "custom_fields": [{"custom_field_id": "f2", "choice_ids": [7]}],
                "phone_numbers": [{"phone_number": "555", "kind": "home"}],
                "street_addresses": [{"kind": "home", "city": "Chicago"}],
                "list_memberships": ["l1"], "taggings": ["t1"],
                "notes": [{"note_id": "n1", "created_at": "2024-01-02T00:00:00Z", "content": "VIP"}]
            })
        );
    }
}
