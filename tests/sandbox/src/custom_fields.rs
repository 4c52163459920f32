//! Contact custom fields (reference §3.3), scope `contact_data`.
//!
//! - `POST /v3/contact_custom_fields`: `label` (≤50, unique → 409) and `type` (one of
//!   the documented types, else 400); at most 100 per account (400 past that).
//!   201 with the field; `name` is the label with spaces turned into underscores.
//! - `GET /v3/contact_custom_fields`: `limit` 1–100 (default 50), cursor-paginated.
//!
//! Contacts refer to fields by `custom_field_id`; an unknown id there is 400 (`contacts`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{ContactData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::pagination::{Limits, PageRequest};
use crate::request::{JsonBody, Params};
use crate::state::Sandbox;

/// An account may define at most 100 custom fields (reference §3.3).
const MAX_PER_ACCOUNT: usize = 100;
const LIMITS: Limits = Limits {
    default: 50,
    max: 100,
};
/// The field types of the current documentation (reference §3.3).
const TYPES: [&str; 9] = [
    "string",
    "date",
    "datetime",
    "single_select",
    "multi_select",
    "currency",
    "text_area",
    "number",
    "boolean",
];

/// A custom field definition.
#[derive(Clone, Debug, Serialize)]
pub struct CustomField {
    custom_field_id: Uuid,
    label: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(serialize_with = "clock::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: Timestamp,
}

/// Whether the account defines a custom field with this id.
pub fn exists(fields: &[CustomField], id: &Uuid) -> bool {
    fields.iter().any(|f| f.custom_field_id == *id)
}

/// The id of the custom field whose `name` is `name` (JSON import's `cf:<name>` keys).
pub fn id_by_name(fields: &[CustomField], name: &str) -> Option<Uuid> {
    fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.custom_field_id)
}

/// The custom field routes.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/v3/contact_custom_fields", get(list).post(create))
}

#[derive(Debug, Deserialize)]
struct FieldInput {
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl FieldInput {
    /// The label (trimmed) and type, or 400.
    fn check(self) -> Result<(String, String), ApiError> {
        let label = self.label.map(|l| l.trim().to_owned()).unwrap_or_default();
        let mut problems = Problems::default();
        problems.required("label", Some(&label));
        problems.max_len("label", Some(&label), 50);
        problems.required("type", self.kind.as_deref());
        problems.one_of("type", self.kind.as_deref(), &TYPES);
        problems.finish(Area::Contacts)?;
        Ok((label, self.kind.unwrap_or_default()))
    }
}

/// `POST /v3/contact_custom_fields`.
async fn create(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<FieldInput>,
) -> Result<(StatusCode, Json<CustomField>), ApiError> {
    let (label, kind) = input.check()?;
    let mut account = sandbox.account();
    if account
        .custom_fields
        .iter()
        .any(|f| f.label.eq_ignore_ascii_case(&label))
    {
        return Err(ApiError::conflict(
            Area::Contacts,
            format!("label {label} is already used by another custom field"),
        ));
    }
    if account.custom_fields.len() >= MAX_PER_ACCOUNT {
        return Err(ApiError::validation(
            Area::Contacts,
            format!("the account already has the maximum of {MAX_PER_ACCOUNT} custom fields"),
        ));
    }
    let now = clock::now();
    let field = CustomField {
        custom_field_id: Uuid::new_v4(),
        name: label.replace(' ', "_"),
        label,
        kind,
        created_at: now,
        updated_at: now,
    };
    account.custom_fields.push(field.clone());
    Ok((StatusCode::CREATED, Json(field)))
}

/// `GET /v3/contact_custom_fields`: `{"custom_fields": [...], "_links": ...}`.
async fn list(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query("contact_custom_fields", query, LIMITS, Area::Contacts)?;
    let account = sandbox.account();
    let page = request.page(&account.custom_fields, |_| true);
    let mut body = json!({ "custom_fields": page.items });
    page.link(&mut body);
    Ok(Json(body))
}
