//! Custom fields: contact properties the account defines itself ("Vehicle make").
//!
//! A contact refers to a custom field by its `custom_field_id`; an import row by
//! its `name`, which the API derives from the label and which is read-only. The
//! select types (`single_select`, `multi_select`) carry `choices`, each with a
//! numeric `choice_id` that contacts' values refer to.

use connector_sdk::check::{check, items, len, range, Bound};
use connector_sdk::json::{merge, pick, remove, to_value};
use connector_sdk::serde_json::Value;
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::custom_fields::{
    CreateCustomFieldInput, CustomField, CustomFieldsPage, DeleteCustomFieldInput,
    GetCustomFieldInput, Guest, ListCustomFieldsInput, UpdateCustomFieldInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "create-custom-field",
        category: "Contacts",
        description: "Defines a new custom contact field, with choices for the select types.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Labels are unique (conflict otherwise); an account has at most 100 custom fields.",
            "choices apply to the select types only, which need at least one.",
        ],
        bounds: &[FIELD],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "list-custom-fields",
        category: "Contacts",
        description: "Lists the account's custom fields, one page at a time.",
        scopes: &["contact_data"],
        pitfalls: &["At most 100 per page (the API's default is 50)."],
        bounds: &[LIST_FIELDS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-custom-field",
        category: "Contacts",
        description: "Gets one custom field with its choices.",
        scopes: &["contact_data"],
        pitfalls: &["A deleted field is not found (404)."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-custom-field",
        category: "Contacts",
        description: "Relabels a custom field and/or replaces its choices; the type stays.",
        scopes: &["contact_data"],
        pitfalls: &[
            "choices replaces the list: a choice left out is removed, and its values with it.",
            "Keep a choice by sending its choice_id; one without an id is added.",
        ],
        bounds: &[FIELD],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "delete-custom-field",
        category: "Contacts",
        description: "Deletes a custom field and its value on every contact.",
        scopes: &["contact_data"],
        pitfalls: &["Every contact's value for the field is gone too; it cannot be undone."],
        ..ActivityMeta::DELETE
    },
];

/// `CustomFieldRequest` and `CustomFieldPutRequest`'s bounds.
const FIELD: &[Bound] = &[
    len("label", 1, 50),
    items("choices", 0, 100),
    len("choices.choice_label", 1, 255),
];

/// What `CustomFieldPutRequest` takes, and what a choice as read has beyond it.
const WRITABLE: &[&str] = &["label", "choices"];
const LIST_FIELDS: &[Bound] = &[range("limit", 1, 100)];
const CHOICE_READ_ONLY: &[&str] = &[
    "choices.custom_field_id",
    "choices.created_at",
    "choices.updated_at",
    "choices.deleted_at",
];

impl Guest for Connector {
    /// Defines a new custom contact field.
    ///
    /// `POST /v3/contact_custom_fields` (201) —
    /// <https://developer.constantcontact.com/api_guide/create_custom_fields.html>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409 (labels are unique).
    /// Not destructive: it only adds.
    fn create_custom_field(input: CreateCustomFieldInput) -> Result<CustomField, ActivityError> {
        check(&input, FIELD)?;
        CC.post("/v3/contact_custom_fields").body(&input).json()
    }

    /// Lists custom fields, one page per call.
    ///
    /// `GET /v3/contact_custom_fields` — <https://developer.constantcontact.com/api_reference/index.html#!/Contacts_Custom_Fields/getCustomFields>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn list_custom_fields(input: ListCustomFieldsInput) -> Result<CustomFieldsPage, ActivityError> {
        check(&input, LIST_FIELDS)?;
        CC.get("/v3/contact_custom_fields")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Gets one custom field.
    ///
    /// `GET /v3/contact_custom_fields/{custom_field_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Contacts_Custom_Fields/getCustomField>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_custom_field(input: GetCustomFieldInput) -> Result<CustomField, ActivityError> {
        CC.get("/v3/contact_custom_fields")
            .id("custom_field_id", &input.custom_field_id)
            .json()
    }

    /// Changes a field's label and/or choices; what is left out is kept.
    ///
    /// `GET`, then `PUT /v3/contact_custom_fields/{custom_field_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Contacts_Custom_Fields/putCustomField>.
    /// Scope `contact_data`. Retry-safe: it writes the same values each time (kept
    /// choices are named by id). Destructive: replaced labels and removed choices are gone.
    fn update_custom_field(input: UpdateCustomFieldInput) -> Result<CustomField, ActivityError> {
        check(&input, FIELD)?;
        let id = &input.custom_field_id;
        // The PUT overwrites what it is not sent: start from the label and the
        // choices as they are, without the choices' read-only fields.
        let current: Value = CC
            .get("/v3/contact_custom_fields")
            .id("custom_field_id", id)
            .json()?;
        let mut body = pick(&current, WRITABLE);
        remove(&mut body, CHOICE_READ_ONLY);
        merge(&mut body, pick(&to_value(&input)?, WRITABLE));
        CC.put("/v3/contact_custom_fields")
            .id("custom_field_id", id)
            .body(&body)
            .json()
    }

    /// Deletes a custom field.
    ///
    /// `DELETE /v3/contact_custom_fields/{custom_field_id}` (204) — <https://developer.constantcontact.com/api_reference/index.html#!/Contacts_Custom_Fields/deleteCustomField>.
    /// Scope `contact_data`. Retry-safe: a repeat finds nothing (404) and changes
    /// nothing. Destructive: the field and its values on every contact are gone.
    fn delete_custom_field(input: DeleteCustomFieldInput) -> Result<(), ActivityError> {
        CC.delete("/v3/contact_custom_fields")
            .id("custom_field_id", &input.custom_field_id)
            .send()?;
        Ok(())
    }
}
