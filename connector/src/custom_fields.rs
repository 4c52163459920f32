//! Custom fields: contact properties the account defines itself ("Vehicle make").
//!
//! A contact refers to a custom field by its `custom_field_id`; the field's `name`
//! is derived from its label by the API and is read-only.

use connector_sdk::check::{check, items, max_len};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::custom_fields::{
    CreateCustomFieldInput, CustomField, Guest,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[ActivityMeta {
    name: "create-custom-field",
    category: "Contacts",
    description: "Defines a new custom contact field.",
    scopes: &["contact_data"],
    pitfalls: &[
        "Labels are unique (conflict otherwise); an account has at most 100 custom fields.",
        "choices apply to the select types only.",
    ],
    ..ActivityMeta::CREATE
}];

impl Guest for Connector {
    /// Defines a new custom contact field.
    ///
    /// `POST /v3/contact_custom_fields` (201) —
    /// <https://developer.constantcontact.com/api_guide/create_custom_fields.html>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409 (labels are unique).
    /// Not destructive: it only adds.
    fn create_custom_field(input: CreateCustomFieldInput) -> Result<CustomField, ActivityError> {
        let bounds = [
            max_len("label", 50),
            items("choices", 0, 100),
            max_len("choices.choice_label", 255),
        ];
        check(&input, &bounds)?;
        CC.post("/v3/contact_custom_fields").body(&input).json()
    }
}
