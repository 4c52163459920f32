//! Tags: labels on contacts (`taggings`), for targeting and for bulk work.
//!
//! A contact carries its tags as `taggings`, a list of tag ids; tagging many
//! contacts at once is a bulk activity (`add-tags-to-contacts`, in `bulk`).

use connector_sdk::check::{check, len, listed_by, range, Bound};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::bulk::activity;
use crate::exports::constant_contact::connector::bulk::BulkActivity;
use crate::exports::constant_contact::connector::tags::{
    CreateTagInput, DeleteTagInput, GetTagInput, Guest, ListTagsInput, Tag, TagsPage,
    UpdateTagInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-tags",
        category: "Tags",
        description: "Lists the account's tags, one page at a time.",
        scopes: &["contact_data"],
        pitfalls: &["contacts_count is filled only with include_count."],
        bounds: &[LIST_TAGS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-tag",
        category: "Tags",
        description: "Gets one tag, optionally with how many contacts carry it.",
        scopes: &["contact_data"],
        pitfalls: &["A deleted tag is not found (404) at once, before its contacts are un-tagged."],
        bounds: &[TAG_ID],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-tag",
        category: "Tags",
        description: "Creates a tag; tag names are unique.",
        scopes: &["contact_data"],
        pitfalls: &["Names are unique, ignoring case: a repeat is a conflict (409)."],
        bounds: &[NAME],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "update-tag",
        category: "Tags",
        description: "Renames a tag.",
        scopes: &["contact_data"],
        pitfalls: &["The new name must be unused, ignoring case (else conflict)."],
        bounds: &[NAME, TAG_ID],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "delete-tag",
        category: "Tags",
        description: "Deletes a tag and, in the background, removes it from every contact.",
        scopes: &["contact_data"],
        pitfalls: &[
            "The tag is gone at once; poll get-activity to know when contacts are un-tagged.",
            "Cannot be undone: a new tag with the same name is a different tag.",
        ],
        bounds: &[TAG_ID],
        ..ActivityMeta::DELETE
    },
];

/// `TagPost` and `TagPut`: 1 to 255 characters.
const NAME: &[Bound] = &[len("name", 1, 255)];
const LIST_TAGS: &[Bound] = &[range("limit", 1, 500)];
const TAG_ID: &[Bound] = &[listed_by("tag_id", "list-tags", "tags", "tag_id", "name")];

impl Guest for Connector {
    /// Lists tags, one page per call.
    ///
    /// `GET /v3/contact_tags` — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Tags/getTags>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn list_tags(input: ListTagsInput) -> Result<TagsPage, ActivityError> {
        check(&input, LIST_TAGS)?;
        CC.get("/v3/contact_tags")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Gets one tag.
    ///
    /// `GET /v3/contact_tags/{tag_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Tags/getTag>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_tag(input: GetTagInput) -> Result<Tag, ActivityError> {
        CC.get("/v3/contact_tags")
            .id("tag_id", &input.tag_id)
            .queries(&input, &["tag_id"])
            .json()
    }

    /// Creates a tag.
    ///
    /// `POST /v3/contact_tags` (201) — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Tags/postTag>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409 (names are unique).
    /// Not destructive: it only adds.
    fn create_tag(input: CreateTagInput) -> Result<Tag, ActivityError> {
        check(&input, NAME)?;
        CC.post("/v3/contact_tags").body(&input).json()
    }

    /// Renames a tag.
    ///
    /// `PUT /v3/contact_tags/{tag_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Tags/putTag>.
    /// Scope `contact_data`. Retry-safe: it writes the same name each time.
    /// Destructive: the old name is gone.
    fn update_tag(input: UpdateTagInput) -> Result<Tag, ActivityError> {
        check(&input, NAME)?;
        CC.put("/v3/contact_tags")
            .id("tag_id", &input.tag_id)
            .body_except(&input, &["tag_id"])
            .json()
    }

    /// Deletes a tag; a background activity un-tags its contacts.
    ///
    /// `DELETE /v3/contact_tags/{tag_id}` (202) — <https://developer.constantcontact.com/api_reference/index.html#!/Contact_Tags/deleteTag>.
    /// Scope `contact_data`. Retry-safe: a repeat finds nothing (404) and changes
    /// nothing. Destructive: the tag and every tagging are gone.
    fn delete_tag(input: DeleteTagInput) -> Result<BulkActivity, ActivityError> {
        activity(CC.delete("/v3/contact_tags").id("tag_id", &input.tag_id))
    }
}
