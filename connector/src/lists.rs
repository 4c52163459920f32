//! Contact lists: what campaigns are sent to.
//!
//! A contact joins lists through its `list_memberships`; a campaign's primary
//! email activity names its recipients as `contact_list_ids`.

use connector_sdk::check::{check, max_len, range};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::lists::{
    ContactList, ContactListsPage, CreateContactListInput, Guest, ListContactListsInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-contact-lists",
        category: "Lists",
        description: "Lists the account's contact lists, one page at a time.",
        scopes: &["contact_data"],
        pitfalls: &[
            "name is an exact, full-name match; with a cursor the other filters are ignored.",
            "membership_count is filled only with include_membership_count.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-contact-list",
        category: "Lists",
        description: "Creates a contact list; list names are unique.",
        scopes: &["contact_data"],
        pitfalls: &["List names are unique: a repeat is a conflict (409)."],
        ..ActivityMeta::CREATE
    },
];

impl Guest for Connector {
    /// Lists contact lists, one page per call.
    ///
    /// `GET /v3/contact_lists` —
    /// <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Lists/getLists>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn list_contact_lists(input: ListContactListsInput) -> Result<ContactListsPage, ActivityError> {
        check(&input, &[range("limit", 1, 1000)])?;
        // The API takes `all` or `active`; the WIT's bool asks for the count of all members.
        let members = input.include_membership_count.filter(|b| *b).map(|_| "all");
        CC.get("/v3/contact_lists")
            .queries(&input, &["cursor", "include_membership_count"])
            .query("include_membership_count", &members)
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Creates a contact list.
    ///
    /// `POST /v3/contact_lists` (201) —
    /// <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Lists/createList>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409 (names are unique).
    /// Not destructive: it only adds.
    fn create_contact_list(input: CreateContactListInput) -> Result<ContactList, ActivityError> {
        check(&input, &[max_len("name", 255)])?;
        CC.post("/v3/contact_lists").body(&input).json()
    }
}
