//! Contact lists: what campaigns are sent to.
//!
//! A contact joins lists through its `list_memberships`; a campaign's primary
//! email activity names its recipients as `contact_list_ids`.

use serde::{Deserialize, Serialize};

use crate::connector::sdk::types::ActivityError;
use crate::exports::constant_contact::connector::lists::{
    ContactList, ContactListsPage, CreateContactListInput, Guest, ListContactListsInput, ListStatus,
};
use crate::{http, ActivityMeta, Connector};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-contact-lists",
        display_name: "List contact lists",
        category: "Lists",
        description: "Lists the account's contact lists, one page at a time.",
        scopes: &["contact_data"],
        retry_safe: true,
    },
    ActivityMeta {
        name: "create-contact-list",
        display_name: "Create contact list",
        category: "Lists",
        description: "Creates a contact list; list names are unique.",
        scopes: &["contact_data"],
        retry_safe: false,
    },
];

/// The body of `POST /contact_lists`.
#[derive(Serialize)]
struct NewList {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    favorite: Option<bool>,
}

/// A list as the API returns it (`ContactList`).
#[derive(Deserialize)]
struct ListJson {
    list_id: String,
    name: String,
    description: Option<String>,
    favorite: Option<bool>,
    created_at: Option<String>,
    updated_at: Option<String>,
    deleted_at: Option<String>,
    membership_count: Option<u32>,
}

/// A page of `GET /contact_lists`.
#[derive(Deserialize)]
struct ListsJson {
    #[serde(default)]
    lists: Vec<ListJson>,
    lists_count: Option<u32>,
    #[serde(rename = "_links", default)]
    links: http::Links,
}

impl Guest for Connector {
    /// Lists contact lists, one page per call.
    ///
    /// `GET /v3/contact_lists` —
    /// <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope `contact_data`. Retry-safe: a read.
    ///
    /// Pitfalls: `name` is an exact, full-name match; `membership-count` is filled
    /// only with `include-membership-count` (all members, any status).
    /// With a `cursor` the other filters are ignored (the cursor carries them).
    fn list_contact_lists(input: ListContactListsInput) -> Result<ContactListsPage, ActivityError> {
        let query = http::query([
            ("name", input.name),
            ("status", input.status.map(|s| status(s).to_string())),
            ("include_count", input.include_count.map(|b| b.to_string())),
            // The API takes `all` or `active`; a bool asks for the plain member count.
            (
                "include_membership_count",
                input
                    .include_membership_count
                    .filter(|b| *b)
                    .map(|_| "all".into()),
            ),
            ("limit", input.limit.map(|n| n.to_string())),
        ]);
        let reply = http::get_page("/v3/contact_lists", &query, input.cursor.as_deref())?;
        let page: ListsJson = reply.json("a page of contact lists")?;
        Ok(ContactListsPage {
            lists: page.lists.into_iter().map(Into::into).collect(),
            lists_count: page.lists_count,
            next_cursor: page.links.next_cursor(),
        })
    }

    /// Creates a contact list.
    ///
    /// `POST /v3/contact_lists` (201) —
    /// <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409 (names are unique).
    fn create_contact_list(input: CreateContactListInput) -> Result<ContactList, ActivityError> {
        let body = NewList {
            name: input.name,
            description: input.description,
            favorite: input.favorite,
        };
        let list: ListJson =
            http::post("/v3/contact_lists", &body)?.json("the created contact list")?;
        Ok(list.into())
    }
}

impl From<ListJson> for ContactList {
    fn from(list: ListJson) -> Self {
        ContactList {
            list_id: list.list_id,
            name: list.name,
            description: list.description,
            favorite: list.favorite,
            created_at: list.created_at,
            updated_at: list.updated_at,
            deleted_at: list.deleted_at,
            membership_count: list.membership_count,
        }
    }
}

fn status(status: ListStatus) -> &'static str {
    match status {
        ListStatus::All => "all",
        ListStatus::Active => "active",
        ListStatus::Deleted => "deleted",
    }
}
