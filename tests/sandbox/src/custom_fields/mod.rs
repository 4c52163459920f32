//! Contact custom fields (reference §3.3, spec `CustomField`), scope `contact_data`.
//!
//! - `POST /v3/contact_custom_fields`: `label` (≤50, unique among live fields → 409),
//!   `type` (one of the documented types, else 400), optional `metadata`, `choices`
//!   (see `choices`) and `version` (1 or 2, default 2); at most 100 live fields per
//!   account (400 past that). 201 with the field; `name` is the label with spaces
//!   turned into underscores (read-only).
//! - `GET /v3/contact_custom_fields`: `limit` 1–100 (default 50), cursor-paginated.
//! - `GET /v3/contact_custom_fields/{custom_field_id}`: 200, 404 when unknown or deleted.
//! - `PUT /v3/contact_custom_fields/{custom_field_id}`: `label` and `choices` (spec
//!   `CustomFieldPutRequest`; omitted properties are overwritten, so `label` is
//!   required and a select field must send its choices); type, metadata and version
//!   stay. 200.
//! - `DELETE /v3/contact_custom_fields/{custom_field_id}`: 204; the field is hidden
//!   (kept in place so cursors stay valid) and its values are removed from contacts.
//!
//! Every field renders `version`; select fields render `choices`. Contacts refer to
//! fields by `custom_field_id`; an unknown or deleted id there is 400 (`contacts`).

mod choices;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use choices::{Choice, ChoiceInput, Metadata};

use crate::auth::{ContactData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, JsonBody, Params, PathId};
use crate::state::{Account, Sandbox};

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
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    version: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    choices: Vec<Choice>,
    #[serde(serialize_with = "clock::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: Timestamp,
    #[serde(skip)]
    deleted: bool,
}

/// Whether the account defines a live custom field with this id.
pub fn exists(fields: &[CustomField], id: &Uuid) -> bool {
    fields
        .iter()
        .any(|f| !f.deleted && f.custom_field_id == *id)
}

/// The id of the live custom field whose `name` is `name` (JSON import's `cf:<name>`).
pub fn id_by_name(fields: &[CustomField], name: &str) -> Option<Uuid> {
    fields
        .iter()
        .find(|f| !f.deleted && f.name == name)
        .map(|f| f.custom_field_id)
}

/// Marks the custom fields `ids` deleted (`/activities/custom_fields_delete`).
pub fn mark_deleted(fields: &mut [CustomField], ids: &[Uuid]) {
    for field in fields
        .iter_mut()
        .filter(|f| ids.contains(&f.custom_field_id))
    {
        field.deleted = true;
    }
}

/// The custom field routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/contact_custom_fields", get(list).post(create))
        .route(
            "/v3/contact_custom_fields/{custom_field_id}",
            get(fetch).put(update).delete(remove),
        )
}

#[derive(Debug, Deserialize)]
struct FieldInput {
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    metadata: Option<Metadata>,
    choices: Option<Vec<ChoiceInput>>,
    version: Option<i64>,
}

/// The trimmed label, or a problem; 409 when another live field has it.
fn label(
    input: Option<&str>,
    account: &Account,
    except: Option<Uuid>,
    p: &mut Problems,
) -> Result<String, ApiError> {
    let label = input.map(str::trim).unwrap_or_default().to_owned();
    p.required("label", Some(&label));
    p.max_len("label", Some(&label), 50);
    let taken = account.custom_fields.iter().any(|f| {
        !f.deleted && Some(f.custom_field_id) != except && f.label.eq_ignore_ascii_case(&label)
    });
    if taken && !label.is_empty() {
        return Err(ApiError::conflict(
            Area::Contacts,
            format!("label {label} is already used by another custom field"),
        ));
    }
    Ok(label)
}

fn find(account: &Account, id: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::Contacts, "custom_field_id", id)?;
    account
        .custom_fields
        .iter()
        .position(|f| !f.deleted && f.custom_field_id == id)
        .ok_or_else(|| {
            ApiError::not_found(Area::Contacts, format!("custom field {id} was not found"))
        })
}

/// `POST /v3/contact_custom_fields`.
async fn create(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<FieldInput>,
) -> Result<(StatusCode, Json<CustomField>), ApiError> {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    let label = label(input.label.as_deref(), &account, None, &mut p)?;
    p.required("type", input.kind.as_deref());
    p.max_len("type", input.kind.as_deref(), 20);
    p.one_of("type", input.kind.as_deref(), &TYPES);
    if input.version.is_some_and(|v| !(1..=2).contains(&v)) {
        p.add("version does not have a valid value (expected 1|2)");
    }
    if let Some(metadata) = &input.metadata {
        metadata.check(&mut p);
    }
    let kind = input.kind.unwrap_or_default();
    let id = Uuid::new_v4();
    let choices = choices::check(
        &kind,
        input.choices,
        input.metadata.as_ref(),
        id,
        &[],
        &mut p,
    );
    p.finish(Area::Contacts)?;
    if account.custom_fields.iter().filter(|f| !f.deleted).count() >= MAX_PER_ACCOUNT {
        return Err(ApiError::validation(
            Area::Contacts,
            format!("the account already has the maximum of {MAX_PER_ACCOUNT} custom fields"),
        ));
    }
    let now = clock::now();
    let field = CustomField {
        custom_field_id: id,
        name: label.replace(' ', "_"),
        label,
        kind,
        metadata: input.metadata,
        version: input.version.unwrap_or(2),
        choices,
        created_at: now,
        updated_at: now,
        deleted: false,
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
    let page = request.page(&account.custom_fields, |f| !f.deleted);
    let mut body = json!({ "custom_fields": page.items });
    page.link(&mut body);
    Ok(Json(body))
}

/// `GET /v3/contact_custom_fields/{custom_field_id}`.
async fn fetch(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<CustomField>, ApiError> {
    let account = sandbox.account();
    let index = find(&account, &id)?;
    Ok(Json(account.custom_fields[index].clone()))
}

/// `PUT /v3/contact_custom_fields/{custom_field_id}`: new label and choices; 200.
async fn update(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<FieldInput>,
) -> Result<Json<CustomField>, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let old = account.custom_fields[index].clone();
    let mut p = Problems::default();
    let label = label(
        input.label.as_deref(),
        &account,
        Some(old.custom_field_id),
        &mut p,
    )?;
    let choices = choices::check(
        &old.kind,
        input.choices,
        old.metadata.as_ref(),
        old.custom_field_id,
        &old.choices,
        &mut p,
    );
    p.finish(Area::Contacts)?;
    let field = &mut account.custom_fields[index];
    field.label = label;
    field.choices = choices;
    field.updated_at = clock::now();
    Ok(Json(field.clone()))
}

/// `DELETE /v3/contact_custom_fields/{custom_field_id}`: 204; values leave contacts.
async fn remove(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let field_id = account.custom_fields[index].custom_field_id;
    account.custom_fields[index].deleted = true;
    for contact in &mut account.contacts {
        contact
            .custom_fields
            .retain(|v| v.custom_field_id != field_id);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests;
