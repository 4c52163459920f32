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
//!
//! Two exchange files rather than JSON: `export-contacts` writes a CSV file that
//! `get-contact-export` reads as text once the activity has completed, and
//! `import-contacts-file` uploads a CSV file as `multipart/form-data` (the SDK's
//! `multipart::Form`).

use connector_sdk::check::{check, items, len, max_len, range, Bound};
use connector_sdk::json::{case_name, remove, to_value};
use connector_sdk::multipart::Form;
use connector_sdk::serde_json::Value;
use connector_sdk::{invalid_input, ActivityError, ActivityMeta, Call};

use crate::exports::constant_contact::connector::bulk::{
    AddContactsToListsInput, BulkActivitiesPage, BulkActivity, ContactExport, DeleteContactsInput,
    DeleteCustomFieldsInput, DeleteListsInput, DeleteTagsInput, ExportContactsInput,
    GetActivityInput, GetContactExportInput, Guest, ImportContactsFileInput, ImportContactsInput,
    ListActivitiesInput, ListSource, RemoveContactsFromListsInput, TaggingsInput,
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
    ActivityMeta {
        name: "export-contacts",
        category: "Bulk activities",
        description: "Exports contacts (all, named, by list, tag or segment) to a CSV file.",
        scopes: &["contact_data"],
        pitfalls: &[
            "It runs in the background: poll get-activity until completed, then get-contact-export.",
            "The sources are exclusive; status goes with contact_ids or list_ids only.",
            "email_optin_* and email_optout_* columns need email_address among the fields.",
        ],
        // Not retry-safe: each call queues another export (1,000 queued at most).
        bounds: &[EXPORT],
        ..ActivityMeta::ACTION
    },
    ActivityMeta {
        name: "get-contact-export",
        category: "Bulk activities",
        description: "Gets the CSV file of a completed export-contacts activity, as text.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Not found until the export activity has completed.",
            "Files over 8 MiB are refused: export fewer fields, or list by list.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "import-contacts-file",
        category: "Bulk activities",
        description: "Creates or updates contacts from a CSV file and adds them to lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "The header row needs an email or sms_number column; custom fields are cf:<name>.",
            "At most 4 MB and 40,000 lines, the header included.",
            "Bad rows are counted in status.error_count when the activity completes.",
        ],
        bounds: &[FILE_IMPORT],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "delete-lists",
        category: "Bulk activities",
        description: "Deletes up to 100 contact lists; their contacts stay, off the lists.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Cannot be undone: campaigns sent to the lists lose them as recipients.",
            "Poll get-activity to know when the memberships are gone.",
        ],
        bounds: &[DELETE_LISTS],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "delete-tags",
        category: "Bulk activities",
        description: "Deletes up to 500 tags; they are removed from the contacts carrying them.",
        scopes: &["contact_data"],
        pitfalls: &["Cannot be undone; poll get-activity to know when contacts lost them."],
        bounds: &[DELETE_TAGS],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "delete-custom-fields",
        category: "Bulk activities",
        description: "Deletes up to 100 custom fields and every contact's values of them.",
        scopes: &["contact_data"],
        pitfalls: &["Cannot be undone: the contacts' values are gone too."],
        bounds: &[DELETE_FIELDS],
        ..ActivityMeta::DELETE
    },
];

/// `ContactsExport`'s bounds.
const EXPORT: &[Bound] = &[
    items("contact_ids", 1, 500),
    items("list_ids", 1, 50),
    items("tag_ids", 1, 50),
    items("exclude.contact_ids", 0, 50),
];

/// `contactsCSVImport`'s `list_ids` (and the file's bounds, checked in bytes and lines).
const FILE_IMPORT: &[Bound] = &[items("list_ids", 1, 50)];
/// The file's size and lines, the header row included (spec).
const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
const MAX_FILE_LINES: usize = 40_000;
/// The largest exported file `get-contact-export` reads.
const MAX_EXPORT_BYTES: usize = 8 * 1024 * 1024;

const DELETE_LISTS: &[Bound] = &[items("list_ids", 1, 100)];
const DELETE_TAGS: &[Bound] = &[items("tag_ids", 1, 500)];
/// The spec says `maxItems: 0` (an error: its text says up to 100; see ERRATA).
const DELETE_FIELDS: &[Bound] = &[items("custom_field_ids", 1, 100)];

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

    /// Starts an export of contacts to a CSV file.
    ///
    /// `POST /v3/activities/contact_exports` (201) — <https://developer.constantcontact.com/api_guide/contacts_export.html>.
    /// Scope `contact_data`. Not retry-safe: each call queues another export.
    /// Not destructive: it only reads the contacts.
    fn export_contacts(input: ExportContactsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, EXPORT)?;
        exclusive_sources(&input)?;
        activity(CC.post("/v3/activities/contact_exports").body(&input))
    }

    /// Gets an export's CSV file as text.
    ///
    /// `GET /v3/contact_exports/{file_export_id}` (`text/csv`) — <https://developer.constantcontact.com/api_guide/contacts_export.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_contact_export(input: GetContactExportInput) -> Result<ContactExport, ActivityError> {
        let reply = CC
            .get("/v3/contact_exports")
            .id("file_export_id", &input.file_export_id)
            .accept("text/csv")
            .send()?;
        Ok(ContactExport {
            csv: reply.text(MAX_EXPORT_BYTES)?,
        })
    }

    /// Creates or updates contacts from a CSV file in the background.
    ///
    /// `POST /v3/activities/contacts_file_import` (201, `multipart/form-data`) — <https://developer.constantcontact.com/api_guide/import_contacts.html>.
    /// Scope `contact_data`. Retry-safe: rows are matched by email, so a repeat
    /// writes the same values. Destructive: the fields given replace the contacts'.
    fn import_contacts_file(input: ImportContactsFileInput) -> Result<BulkActivity, ActivityError> {
        check(&input, FILE_IMPORT)?;
        check_file(&input)?;
        let name = input.file_name.as_deref().unwrap_or("contacts.csv");
        let mut form = Form::new()
            .file("file", name, "text/csv", input.csv.as_bytes())
            .text("list_ids", &input.list_ids.join(","));
        if let Some(permission) = &input.sms_permission_to_send {
            form = form.text("sms_permission_to_send", &case_name(permission));
        }
        activity(CC.post("/v3/activities/contacts_file_import").form(form))
    }

    /// Deletes contact lists in the background.
    ///
    /// `POST /v3/activities/list_delete` (201) — <https://developer.constantcontact.com/api_reference/index.html#!/Bulk_Activities/postListDelete>.
    /// Scope `contact_data`. Retry-safe in effect: a repeat is refused (the lists
    /// are gone) and changes nothing. Destructive.
    fn delete_lists(input: DeleteListsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, DELETE_LISTS)?;
        activity(CC.post("/v3/activities/list_delete").body(&input))
    }

    /// Deletes tags in the background.
    ///
    /// `POST /v3/activities/contacts_tags_delete` (201) — <https://developer.constantcontact.com/api_guide/tags_delete.html>.
    /// Scope `contact_data`. Retry-safe in effect: a repeat is refused and changes
    /// nothing. Destructive.
    fn delete_tags(input: DeleteTagsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, DELETE_TAGS)?;
        activity(CC.post("/v3/activities/contacts_tags_delete").body(&input))
    }

    /// Deletes custom fields in the background.
    ///
    /// `POST /v3/activities/custom_fields_delete` (201) — <https://developer.constantcontact.com/api_guide/custom_fields_delete.html>.
    /// Scope `contact_data`. Retry-safe in effect: a repeat is not found and changes
    /// nothing. Destructive: the contacts' values go too.
    fn delete_custom_fields(input: DeleteCustomFieldsInput) -> Result<BulkActivity, ActivityError> {
        check(&input, DELETE_FIELDS)?;
        activity(CC.post("/v3/activities/custom_fields_delete").body(&input))
    }
}

/// The export's sources are exclusive (spec `ContactsExport`): refused here rather
/// than by a vague 400.
fn exclusive_sources(input: &ExportContactsInput) -> Result<(), ActivityError> {
    let subscribers = input.new_subscriber == Some(true);
    let sources = [
        input.contact_ids.is_some(),
        input.list_ids.is_some(),
        input.tag_ids.is_some(),
        input.segment_id.is_some(),
    ];
    let alone = input.tag_ids.is_some() || input.segment_id.is_some();
    let problem = if sources.iter().filter(|s| **s).count() > 1 {
        Some("give at most one of `contact_ids`, `list_ids`, `tag_ids`, `segment_id`")
    } else if subscribers && (alone || input.contact_ids.is_some()) {
        Some("`new_subscriber` goes only with `list_ids` or `exclude`")
    } else if input.status.is_some() && (alone || subscribers) {
        Some("`status` goes only with `contact_ids` or `list_ids`")
    } else if input.exclude.is_some() && !(input.list_ids.is_some() || subscribers) {
        Some("`exclude` goes only with `list_ids` or `new_subscriber`")
    } else {
        None
    };
    problem.map_or(Ok(()), |p| Err(invalid_input(p)))
}

/// The spec's file bounds: at most 4 MB and 40,000 lines (beyond which the API
/// silently drops contacts), a `.csv` name, and a header row.
fn check_file(input: &ImportContactsFileInput) -> Result<(), ActivityError> {
    if input.csv.len() > MAX_FILE_BYTES {
        return Err(invalid_input("`csv` is over 4 MB: split the file"));
    }
    if input.csv.lines().count() > MAX_FILE_LINES {
        return Err(invalid_input(
            "`csv` has more than 40,000 lines (header included): split the file",
        ));
    }
    let name = input.file_name.as_deref().unwrap_or("contacts.csv");
    if !name.to_ascii_lowercase().ends_with(".csv") {
        return Err(invalid_input("`file_name` must end in .csv"));
    }
    let header = input
        .csv
        .lines()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !header
        .split(',')
        .any(|h| matches!(h.trim().trim_matches('"'), "email" | "sms_number"))
    {
        return Err(invalid_input(
            "the first line of `csv` must name the columns, with `email` or `sms_number`",
        ));
    }
    Ok(())
}

/// Sends `call` and reads the activity it answers with. Deleting a tag answers
/// `activity_errors` as `{"message": …}` objects (spec `ActivityGeneric`), every
/// other endpoint as strings: both come back as strings.
pub fn activity(call: Call) -> Result<BulkActivity, ActivityError> {
    let reply = call.send()?;
    let mut value = reply.value()?;
    // An export's file: `_links.results.href` is `/v3/contact_exports/{file_export_id}`.
    let results = value["_links"]["results"]["href"].as_str();
    if let Some(id) = results.and_then(|href| href.rsplit('/').next()) {
        value["file_export_id"] = Value::String(id.to_owned());
    }
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
