//! Contact lists: what campaigns are sent to.
//!
//! A contact joins lists through its `list_memberships`; a campaign's primary
//! email activity names its recipients as `contact_list_ids`.

use connector_sdk::check::{check, items, len, listed_by, range, Bound};
use connector_sdk::json::{merge, pick, to_value};
use connector_sdk::serde_json::Value;
use connector_sdk::{ActivityError, ActivityMeta};

use crate::bulk::activity;
use crate::exports::constant_contact::connector::bulk::BulkActivity;
use crate::exports::constant_contact::connector::lists::{
    ContactList, ContactListsPage, CreateContactListInput, DeleteContactListInput,
    GetContactListInput, GetListIdXrefsInput, Guest, ListContactListsInput, ListXrefs,
    UpdateContactListInput,
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
        bounds: &[LIST_LISTS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-contact-list",
        category: "Lists",
        description: "Creates a contact list; list names are unique.",
        scopes: &["contact_data"],
        pitfalls: &["List names are unique: a repeat is a conflict (409)."],
        bounds: &[NAME],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "get-contact-list",
        category: "Lists",
        description: "Gets one contact list, optionally with its number of members.",
        scopes: &["contact_data"],
        pitfalls: &["A deleted list is still returned, with deleted_at set."],
        bounds: &[LIST_ID],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-contact-list",
        category: "Lists",
        description: "Changes a list's name, description or favorite flag; the rest is kept.",
        scopes: &["contact_data"],
        pitfalls: &[
            "The new name must be unused (else conflict).",
            "A change made by someone else between the read and the write is overwritten.",
        ],
        bounds: &[NAME, LIST_ID],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "delete-contact-list",
        category: "Lists",
        description: "Deletes a list; a background activity then removes its memberships.",
        scopes: &["contact_data"],
        pitfalls: &[
            "The contacts stay, off the list; poll get-activity to know when they are off.",
            "Cannot be undone: campaigns sent to the list lose it as a recipient.",
        ],
        bounds: &[LIST_ID],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "get-list-id-xrefs",
        display_name: "Get list id cross-references",
        category: "Lists",
        description: "Finds the V3 list ids of up to 500 V2 list ids, for migrations.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Meant for a one-time migration from the V2 API; Constant Contact will remove it.",
            "Unknown V2 ids are left out of the answer, not reported.",
        ],
        bounds: &[SEQUENCE_IDS],
        ..ActivityMeta::READ
    },
];

/// `sequence_ids`: up to 500 V2 ids per look-up (spec `maxItems`).
pub const SEQUENCE_IDS: &[Bound] = &[items("sequence_ids", 1, 500)];

/// What `ListInput`, the body of `PUT /contact_lists/{list_id}`, may hold.
const WRITABLE: &[&str] = &["name", "description", "favorite"];
const LIST_LISTS: &[Bound] = &[range("limit", 1, 1000)];
const NAME: &[Bound] = &[len("name", 1, 255)];
const LIST_ID: &[Bound] = &[listed_by(
    "list_id",
    "list-contact-lists",
    "lists",
    "list_id",
    "name",
)];

impl Guest for Connector {
    /// Lists contact lists, one page per call.
    ///
    /// `GET /v3/contact_lists` —
    /// <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Lists/getLists>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn list_contact_lists(input: ListContactListsInput) -> Result<ContactListsPage, ActivityError> {
        check(&input, LIST_LISTS)?;
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
        check(&input, NAME)?;
        CC.post("/v3/contact_lists").body(&input).json()
    }

    /// Gets one contact list.
    ///
    /// `GET /v3/contact_lists/{list_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Lists/getList>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact_list(input: GetContactListInput) -> Result<ContactList, ActivityError> {
        let members = input.include_membership_count.filter(|b| *b).map(|_| "all");
        CC.get("/v3/contact_lists")
            .id("list_id", &input.list_id)
            .query("include_membership_count", &members)
            .json()
    }

    /// Changes the given fields of a list; the others keep their values.
    ///
    /// `GET`, then `PUT /v3/contact_lists/{list_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Lists/putList>.
    /// Scope `contact_data`. Retry-safe: it writes the same values each time.
    /// Destructive: the values it replaces are gone.
    fn update_contact_list(input: UpdateContactListInput) -> Result<ContactList, ActivityError> {
        check(&input, NAME)?;
        // The PUT replaces the list: send what it has, with the changes laid over.
        let current: Value = CC
            .get("/v3/contact_lists")
            .id("list_id", &input.list_id)
            .json()?;
        let mut body = pick(&current, WRITABLE);
        merge(&mut body, pick(&to_value(&input)?, WRITABLE));
        CC.put("/v3/contact_lists")
            .id("list_id", &input.list_id)
            .body(&body)
            .json()
    }

    /// Deletes a list; a background activity removes its memberships.
    ///
    /// `DELETE /v3/contact_lists/{list_id}` (202) — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Lists/deleteListActivity>.
    /// Scope `contact_data`. Retry-safe: a repeat finds nothing (404) and changes
    /// nothing. Destructive: the list and its memberships are gone.
    fn delete_contact_list(input: DeleteContactListInput) -> Result<BulkActivity, ActivityError> {
        activity(CC.delete("/v3/contact_lists").id("list_id", &input.list_id))
    }

    /// Finds the V3 ids of V2 list ids.
    ///
    /// `GET /v3/contact_lists/list_id_xrefs` — <https://developer.constantcontact.com/api_guide/migration_overview.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_list_id_xrefs(input: GetListIdXrefsInput) -> Result<ListXrefs, ActivityError> {
        check(&input, SEQUENCE_IDS)?;
        CC.get("/v3/contact_lists/list_id_xrefs")
            .query("sequence_ids", &input.sequence_ids)
            .json()
    }
}
