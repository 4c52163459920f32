//! Bulk activities: changes to many contacts at once, done in the background.
//!
//! Each `POST /v3/activities/…` answers 201 at once with an activity in state
//! `initialized`; the work happens later. A caller polls `get-activity` until the
//! state is `completed` (or `failed`, `cancelled`, `timed_out`) and reads
//! `activity_errors` for what was skipped. Deleting a list or a tag starts one too.
//!
//! The inputs are the API's bodies, field for field: a `source` (exactly one of
//! contact ids, lists, tags, all active contacts, …, a WIT `variant`), the target
//! `list_ids` or `tag_ids`, and an optional `exclude`.

use connector_sdk::check::{check, items, len, max_len, range, Bound};
use connector_sdk::json::{remove, to_value};
use connector_sdk::serde_json::Value;
use connector_sdk::{invalid_input, ActivityError, ActivityMeta, Call};

use crate::exports::constant_contact::connector::bulk::{
    AddContactsToListsInput, BulkActivitiesPage, BulkActivity, DeleteContactsInput,
    GetActivityInput, Guest, ImportContactsInput, ListActivitiesInput, ListSource,
    RemoveContactsFromListsInput, TaggingsInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "add-contacts-to-lists",
        category: "Bulk activities",
        description: "Adds many contacts (named, by list, tag, segment or all) to up to 50 lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "It runs in the background: poll get-activity until state is completed.",
            "Unknown or deleted contact ids are skipped and reported in activity_errors.",
        ],
        // Retry-safe: a member added twice is a member once.
        retry_safe: true,
        bounds: &[LIST_IDS, SOURCE],
        ..ActivityMeta::ACTION
    },
    ActivityMeta {
        name: "remove-contacts-from-lists",
        category: "Bulk activities",
        description: "Removes many contacts (named, by list, tag or all) from up to 50 lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "It runs in the background: poll get-activity until state is completed.",
            "all_active_contacts empties the lists.",
        ],
        bounds: &[LIST_IDS, SOURCE],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "add-tags-to-contacts",
        category: "Bulk activities",
        description: "Tags many contacts (named, by list, tag, new subscribers or all) at once.",
        scopes: &["contact_data"],
        pitfalls: &["It runs in the background: poll get-activity until state is completed."],
        retry_safe: true,
        bounds: &[TAG_IDS, SOURCE],
        ..ActivityMeta::ACTION
    },
    ActivityMeta {
        name: "remove-tags-from-contacts",
        category: "Bulk activities",
        description: "Removes tags from many contacts at once; the tags themselves stay.",
        scopes: &["contact_data"],
        pitfalls: &["It runs in the background: poll get-activity until state is completed."],
        bounds: &[TAG_IDS, SOURCE],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "delete-contacts",
        category: "Bulk activities",
        description: "Deletes up to 500 named contacts, or every member of up to 50 lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Deleted contacts keep their address reserved: create-contact with it is a conflict.",
            "update-contact or submit-sign-up-form revives a deleted contact.",
        ],
        bounds: &[DELETE],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "import-contacts",
        category: "Bulk activities",
        description: "Creates or updates contacts from rows of JSON and adds them to lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Rows are matched by email: an existing contact is updated with the fields given.",
            "Custom fields are named by their name (Vehicle_make), not their label or id.",
            "Bad rows are counted in status.error_count when the activity completes.",
        ],
        bounds: &[IMPORT, ROW],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "get-activity",
        category: "Bulk activities",
        description: "Gets a bulk activity's state, progress and errors.",
        scopes: &["contact_data"],
        pitfalls: &["Poll no faster than the work needs: each poll counts toward the rate limit."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "list-activities",
        category: "Bulk activities",
        description: "Lists recent bulk activities, optionally by state, one page at a time.",
        scopes: &["contact_data"],
        pitfalls: &["state processing also lists activities not yet started (initialized)."],
        bounds: &[LIST_ACTIVITIES],
        ..ActivityMeta::READ
    },
];

/// The source bounds every bulk body shares.
const LIST_ACTIVITIES: &[Bound] = &[range("limit", 1, 500)];

const LIST_IDS: &[Bound] = &[items("list_ids", 1, 50)];
const TAG_IDS: &[Bound] = &[items("tag_ids", 1, 50)];
/// `delete-contacts`: at most 500 contacts, or the members of at most 50 lists.
const DELETE: &[Bound] = &[
    items("contacts.contact_ids", 1, 500),
    items("contacts.list_ids", 1, 50),
];

const SOURCE: &[Bound] = &[
    items("source.contact_ids", 1, 500),
    items("source.list_ids", 1, 50),
    items("source.tag_ids", 1, 50),
    items("exclude.contact_ids", 0, 500),
];

/// An import's size: at most 40,000 rows into at most 50 lists.
const IMPORT: &[Bound] = &[items("import_data", 1, 40_000), items("list_ids", 1, 50)];

/// An import row's bounds (`JsonImportContact`).
const ROW: &[Bound] = &[
    max_len("import_data.email", 50),
    max_len("import_data.first_name", 50),
    max_len("import_data.last_name", 50),
    max_len("import_data.job_title", 50),
    max_len("import_data.company_name", 50),
    range("import_data.birthday_month", 1, 12),
    range("import_data.birthday_day", 1, 31),
    max_len("import_data.phone", 50),
    max_len("import_data.home_phone", 50),
    max_len("import_data.work_phone", 50),
    max_len("import_data.mobile_phone", 50),
    max_len("import_data.other_phone", 50),
    max_len("import_data.street", 255),
    max_len("import_data.street2", 255),
    max_len("import_data.city", 50),
    max_len("import_data.state", 50),
    max_len("import_data.zip", 50),
    max_len("import_data.country", 50),
    items("import_data.custom_fields", 0, 25),
    len("import_data.custom_fields.name", 1, 50),
    max_len("import_data.custom_fields.value", 255),
];

impl Guest for Connector {
    /// Adds contacts to lists in the background.
    ///
    /// `POST /v3/activities/add_list_memberships` (201) — <https://developer.constantcontact.com/api_guide/lists_add_contacts.html>.
    /// Scope `contact_data`. Retry-safe: adding a member twice leaves one membership.
    /// Not destructive: it only adds.
    fn add_contacts_to_lists(
        input: AddContactsToListsInput,
    ) -> Result<BulkActivity, ActivityError> {
        check(&input, &[LIST_IDS, SOURCE].concat())?;
        activity(CC.post("/v3/activities/add_list_memberships").body(&input))
    }

    /// Removes contacts from lists in the background.
    ///
    /// `POST /v3/activities/remove_list_memberships` (201) — <https://developer.constantcontact.com/api_guide/lists_remove_contacts.html>.
    /// Scope `contact_data`. Retry-safe: removing twice removes once.
    /// Destructive: the memberships are gone.
    fn remove_contacts_from_lists(
        input: RemoveContactsFromListsInput,
    ) -> Result<BulkActivity, ActivityError> {
        if matches!(input.source, ListSource::SegmentId(_)) {
            return Err(invalid_input(
                "`source.segment_id` is accepted only when adding",
            ));
        }
        check(&input, &[LIST_IDS, SOURCE].concat())?;
        activity(
            CC.post("/v3/activities/remove_list_memberships")
                .body(&input),
        )
    }

    /// Tags contacts in the background.
    ///
    /// `POST /v3/activities/contacts_taggings_add` (201) — <https://developer.constantcontact.com/api_guide/tags_add_contacts.html>.
    /// Scope `contact_data`. Retry-safe: a tag added twice is there once. Not destructive.
    fn add_tags_to_contacts(input: TaggingsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, &[TAG_IDS, SOURCE].concat())?;
        activity(CC.post("/v3/activities/contacts_taggings_add").body(&input))
    }

    /// Removes tags from contacts in the background.
    ///
    /// `POST /v3/activities/contacts_taggings_remove` (201) — <https://developer.constantcontact.com/api_guide/tags_remove_contacts.html>.
    /// Scope `contact_data`. Retry-safe: removing twice removes once.
    /// Destructive: the taggings are gone.
    fn remove_tags_from_contacts(input: TaggingsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, &[TAG_IDS, SOURCE].concat())?;
        activity(
            CC.post("/v3/activities/contacts_taggings_remove")
                .body(&input),
        )
    }

    /// Deletes contacts in the background.
    ///
    /// `POST /v3/activities/contact_delete` (201) — <https://developer.constantcontact.com/api_guide/contacts_delete_bulk.html>.
    /// Scope `contact_data`. Retry-safe: deleted twice is deleted. Destructive.
    fn delete_contacts(input: DeleteContactsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, DELETE)?;
        activity(
            CC.post("/v3/activities/contact_delete")
                .body(&input.contacts),
        )
    }

    /// Creates or updates contacts from JSON rows in the background.
    ///
    /// `POST /v3/activities/contacts_json_import` (201) — <https://developer.constantcontact.com/api_guide/import_contacts_json.html>.
    /// Scope `contact_data`. Retry-safe: rows are matched by email, so a repeat
    /// writes the same values. Destructive: the fields given replace the contacts'.
    fn import_contacts(input: ImportContactsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, &[IMPORT, ROW].concat())?;
        let mut body = to_value(&input)?;
        for row in body["import_data"].as_array_mut().into_iter().flatten() {
            custom_fields_as_keys(row);
        }
        activity(CC.post("/v3/activities/contacts_json_import").body(&body))
    }

    /// Gets a bulk activity's state and progress.
    ///
    /// `GET /v3/activities/{activity_id}` — <https://developer.constantcontact.com/api_guide/activity_status.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_activity(input: GetActivityInput) -> Result<BulkActivity, ActivityError> {
        activity(
            CC.get("/v3/activities")
                .id("activity_id", &input.activity_id),
        )
    }

    /// Lists bulk activities, one page per call.
    ///
    /// `GET /v3/activities` — <https://developer.constantcontact.com/api_guide/activity_status_collection.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn list_activities(input: ListActivitiesInput) -> Result<BulkActivitiesPage, ActivityError> {
        check(&input, LIST_ACTIVITIES)?;
        CC.get("/v3/activities")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }
}

/// Sends `call` and reads the activity it answers with. Deleting a tag answers
/// `activity_errors` as `{"message": …}` objects (spec `ActivityGeneric`), every
/// other endpoint as strings: both come back as strings.
pub fn activity(call: Call) -> Result<BulkActivity, ActivityError> {
    let reply = call.send()?;
    let mut value = reply.value()?;
    for error in value["activity_errors"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if let Some(message) = error.get("message").and_then(Value::as_str) {
            *error = Value::String(message.to_owned());
        }
    }
    reply.parse(value)
}

/// Moves a row's `custom_fields` into `"cf:<name>": value` keys, as the API
/// spells them.
fn custom_fields_as_keys(row: &mut Value) {
    let fields = row["custom_fields"].take();
    remove(row, &["custom_fields"]);
    for field in fields.as_array().into_iter().flatten() {
        if let (Some(name), Some(value)) = (field["name"].as_str(), field.get("value")) {
            row[format!("cf:{name}")] = value.clone();
        }
    }
}
