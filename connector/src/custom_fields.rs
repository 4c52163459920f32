//! Custom fields: contact properties the account defines itself ("Vehicle make").
//!
//! A contact refers to a custom field by its `custom_field_id`; the field's `name`
//! is derived from its label by the API and is read-only.

use serde::{Deserialize, Serialize};

use crate::connector::sdk::types::ActivityError;
use crate::exports::constant_contact::connector::custom_fields::{
    CreateCustomFieldInput, CustomField, CustomFieldChoice, CustomFieldType, Guest,
};
use crate::{http, ActivityMeta, Connector};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[ActivityMeta {
    name: "create-custom-field",
    display_name: "Create custom field",
    category: "Contacts",
    description: "Defines a new custom contact field.",
    scopes: &["contact_data"],
    retry_safe: false,
}];

/// The body of `POST /contact_custom_fields` (`CustomFieldRequest`).
#[derive(Serialize)]
struct NewField {
    label: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    choices: Option<Vec<Choice>>,
}

#[derive(Serialize)]
struct Choice {
    choice_label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_order: Option<u32>,
}

/// A custom field as the API returns it (`CustomField`).
#[derive(Deserialize)]
struct FieldJson {
    custom_field_id: String,
    label: String,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    created_at: Option<String>,
    updated_at: Option<String>,
}

impl Guest for Connector {
    /// Defines a new custom contact field.
    ///
    /// `POST /v3/contact_custom_fields` (201) —
    /// <https://developer.constantcontact.com/api_guide/create_custom_fields.html>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409 (labels are unique).
    ///
    /// Pitfalls: at most 100 custom fields per account; `choices` only for the
    /// select types.
    fn create_custom_field(input: CreateCustomFieldInput) -> Result<CustomField, ActivityError> {
        let body = NewField {
            label: input.label,
            kind: field_type(input.type_),
            choices: input
                .choices
                .map(|choices| choices.into_iter().map(choice).collect()),
        };
        let field: FieldJson =
            http::post("/v3/contact_custom_fields", &body)?.json("the created custom field")?;
        Ok(CustomField {
            custom_field_id: field.custom_field_id,
            label: field.label,
            name: field.name,
            type_: field.kind,
            created_at: field.created_at,
            updated_at: field.updated_at,
        })
    }
}

fn choice(choice: CustomFieldChoice) -> Choice {
    Choice {
        choice_label: choice.choice_label,
        display_order: choice.display_order,
    }
}

/// The API's spelling of a field type.
fn field_type(kind: CustomFieldType) -> &'static str {
    match kind {
        CustomFieldType::String => "string",
        CustomFieldType::Date => "date",
        CustomFieldType::Datetime => "datetime",
        CustomFieldType::SingleSelect => "single_select",
        CustomFieldType::MultiSelect => "multi_select",
        CustomFieldType::Currency => "currency",
        CustomFieldType::TextArea => "text_area",
        CustomFieldType::Number => "number",
        CustomFieldType::Boolean => "boolean",
    }
}
