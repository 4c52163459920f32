//! The `choices` of `single_select` and `multi_select` custom fields (spec
//! `CustomFieldChoice`, `CustomFieldChoiceRequest`, `CustomFieldChoicePutRequest`) and
//! the field `metadata` (spec `CustomFieldMetadata`).
//!
//! Rules: choices only on the two select types, which need at least one; at most 100
//! (spec `maxItems`), at most 20 when `metadata.display_type` is `checkbox` or `radio`
//! (reference §3.3); `choice_label` required, ≤255, unique within the field;
//! `display_order` defaults to the position. On PUT a choice with a `choice_id` updates
//! that choice (an id the field lacks is 400), one without adds a new choice, and
//! choices left out are removed. `metadata.display_type` is `dropdown`, `checkbox` or
//! `radio`; `currency_code` three letters; with `integer: false`, `decimal_places` is 1–4.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::{self, Timestamp};
use crate::errors::Problems;

/// The types that carry choices.
pub const SELECT_TYPES: [&str; 2] = ["single_select", "multi_select"];
const MAX_CHOICES: usize = 100;
const MAX_CHOICES_CHECKBOX: usize = 20;

/// A stored choice.
#[derive(Clone, Debug, Serialize)]
pub struct Choice {
    custom_field_id: Uuid,
    choice_id: i64,
    choice_label: String,
    display_order: i64,
    #[serde(serialize_with = "clock::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: Timestamp,
}

/// A choice as sent (`choice_id` only on PUT).
#[derive(Debug, Deserialize)]
pub struct ChoiceInput {
    choice_id: Option<i64>,
    choice_label: Option<String>,
    display_order: Option<i64>,
}

/// Field metadata, stored as sent once checked.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    display_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_negative: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decimal_places: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    integer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_format: Option<String>,
}

impl Metadata {
    /// Checks the documented values.
    pub fn check(&self, p: &mut Problems) {
        p.one_of(
            "metadata.display_type",
            self.display_type.as_deref(),
            &["dropdown", "checkbox", "radio"],
        );
        if self
            .currency_code
            .as_deref()
            .is_some_and(|c| c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_alphabetic()))
        {
            p.add("metadata.currency_code must be a three-letter currency code");
        }
        if self.integer == Some(false) && !self.decimal_places.is_some_and(|d| (1..=4).contains(&d))
        {
            p.add("metadata.decimal_places must be from 1 to 4 when metadata.integer is false");
        }
    }

    fn is_checkbox_or_radio(&self) -> bool {
        matches!(self.display_type.as_deref(), Some("checkbox" | "radio"))
    }
}

/// Checks `inputs` for a field of `kind` and builds its choices from the `old` ones:
/// kept ids are updated, new ones numbered after the highest id so far.
pub fn check(
    kind: &str,
    inputs: Option<Vec<ChoiceInput>>,
    metadata: Option<&Metadata>,
    field: Uuid,
    old: &[Choice],
    p: &mut Problems,
) -> Vec<Choice> {
    let select = SELECT_TYPES.contains(&kind);
    let inputs = match (select, inputs) {
        (false, None) => return Vec::new(),
        (false, Some(_)) => {
            p.add("choices are only allowed for single_select and multi_select custom fields");
            return Vec::new();
        }
        (true, inputs) => inputs.unwrap_or_default(),
    };
    let max = if metadata.is_some_and(Metadata::is_checkbox_or_radio) {
        MAX_CHOICES_CHECKBOX
    } else {
        MAX_CHOICES
    };
    if inputs.is_empty() || inputs.len() > max {
        p.add(format!(
            "choices must contain from 1 to {max} choices for this field"
        ));
    }
    let now = clock::now();
    let mut next = old.iter().map(|c| c.choice_id).max().unwrap_or(0) + 1;
    let mut choices: Vec<Choice> = Vec::new();
    for (index, input) in inputs.into_iter().enumerate() {
        let label = input.choice_label.as_deref().map(str::trim);
        p.required("choices.choice_label", label);
        p.max_len("choices.choice_label", label, 255);
        let label = label.unwrap_or_default().to_owned();
        if choices
            .iter()
            .any(|c| c.choice_label.eq_ignore_ascii_case(&label))
        {
            p.add(format!("choices.choice_label {label} is used twice"));
        }
        let display_order = input.display_order.unwrap_or(index as i64 + 1);
        let choice = match input.choice_id {
            Some(id) => match old.iter().find(|c| c.choice_id == id) {
                Some(kept) => Choice {
                    choice_label: label,
                    display_order,
                    updated_at: now,
                    ..kept.clone()
                },
                None => {
                    p.add(format!(
                        "choices.choice_id {id} is not a choice of this field"
                    ));
                    continue;
                }
            },
            None => {
                next += 1;
                Choice {
                    custom_field_id: field,
                    choice_id: next - 1,
                    choice_label: label,
                    display_order,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        choices.push(choice);
    }
    choices
}
