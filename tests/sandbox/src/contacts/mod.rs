//! Contacts (reference §3.2), scope `contact_data`.
//!
//! - `POST /v3/contacts`: 201 with the full contact. `create_source` and one of
//!   `first_name`/`last_name`/`email_address` required; an email already in the account,
//!   even on a deleted contact, is 409 `contacts.api.conflict` (reference §4 item 2).
//! - `PUT /v3/contacts/{contact_id}`: full replace of top-level fields, sub-resource
//!   arrays replaced only when sent; revives a deleted contact; 409 when the new email
//!   belongs to another contact.
//! - `GET /v3/contacts/{contact_id}`: sub-resources only with `include`.
//! - `GET /v3/contacts`: filtered (see `query`), `limit` 1–500, `include_count`.
//! - `DELETE /v3/contacts/{contact_id}`: 204; the contact moves to deleted status
//!   (its email stays reserved: POST with it is still 409).
//! - `GET /v3/contacts/counts` (see `counts`).
//! - `GET /v3/contacts/sms_engagement_history/{contact_id}`: `[]` for a known contact
//!   (the sandbox has no SMS channel, so there is never any history), 404 otherwise.
//! - `GET /v3/contacts/contact_id_xrefs` (see `xrefs`) and
//!   `PUT /v3/contacts/resubscribe/{contact_id}` (see `resubscribe`).
//!
//! `record` holds the stored contact, `subresources` its parts, `input` the request
//! bodies, `validation` their rules, `query` the list filters.

mod counts;
mod input;
mod merge;
mod query;
mod record;
mod resubscribe;
mod subresources;
mod validation;
pub mod xrefs;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use input::{AddressInput, Changes, DetailsInput, EmailChange, FieldInput, PhoneInput};
pub use merge::merge;
pub use record::Contact;
pub use subresources::FieldValue;
pub use validation::{custom_field_values, list_ids};

use subresources::Include;

use crate::auth::{ContactData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, JsonBody, Params, PathId};
use crate::state::Sandbox;

const LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};

/// The exact 409 text of the real API (reference §2.1).
pub const NOT_UNIQUE: &str = "Validation failed: EmailAddress is not unique";

/// The contact routes (`/contacts/sign_up_form` is in `sign_up_forms`).
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/contacts", get(list).post(create))
        .route(
            "/v3/contacts/{contact_id}",
            get(fetch).put(update).delete(remove),
        )
        .route("/v3/contacts/counts", get(counts::counts))
        .route(
            "/v3/contacts/sms_engagement_history/{contact_id}",
            get(sms_history),
        )
        .route("/v3/contacts/contact_id_xrefs", get(xrefs::contact_xrefs))
        .route(
            "/v3/contacts/resubscribe/{contact_id}",
            put(resubscribe::resubscribe),
        )
}

/// The index of the contact with `address`, whatever its status.
pub fn find_by_email(contacts: &[Contact], address: &str) -> Option<usize> {
    contacts.iter().position(|c| c.has_email(address))
}

fn find(contacts: &[Contact], id: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::Contacts, "contact_id", id)?;
    contacts
        .iter()
        .position(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(Area::Contacts, format!("contact {id} was not found")))
}

/// `POST /v3/contacts`.
async fn create(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<input::ContactInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let (changes, source) = validation::check(input, "create_source", &account)?;
    if changes
        .email
        .as_ref()
        .is_some_and(|e| find_by_email(&account.contacts, &e.address).is_some())
    {
        return Err(ApiError::conflict(Area::Contacts, NOT_UNIQUE));
    }
    let contact = Contact::create(changes, &source, clock::now());
    let body = contact.render(Include::ALL);
    account.contacts.push(contact);
    Ok((StatusCode::CREATED, Json(body)))
}

/// `PUT /v3/contacts/{contact_id}`.
async fn update(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<input::ContactInput>,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account.contacts, &id)?;
    let (changes, source) = validation::check(input, "update_source", &account)?;
    let owner = changes
        .email
        .as_ref()
        .and_then(|e| find_by_email(&account.contacts, &e.address));
    if owner.is_some_and(|owner| owner != index) {
        return Err(ApiError::conflict(Area::Contacts, NOT_UNIQUE));
    }
    let contact = &mut account.contacts[index];
    contact.replace(changes, &source, clock::now());
    Ok(Json(contact.render(Include::ALL)))
}

/// `GET /v3/contacts/{contact_id}`; a deleted contact is returned with `deleted_at`.
async fn fetch(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let include = Include::parse(query.get("include").map(String::as_str))?;
    let account = sandbox.account();
    let index = find(&account.contacts, &id)?;
    Ok(Json(account.contacts[index].render(include)))
}

/// `GET /v3/contacts`: `{"contacts": [...], "contacts_count": n, "_links": ...}`; 202
/// `{"status": "processing"}` while a `segment_id` segment is still "processing".
async fn list(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request = PageRequest::from_query("contacts", query, LIMITS, Area::Contacts)?;
    let include = Include::parse(request.param("include"))?;
    let include_count = request::flag(
        Area::Contacts,
        "include_count",
        request.param("include_count"),
    )?;
    let mut account = sandbox.account();
    let filter = query::Filter::from_request(&request, &account)?;
    if filter.segment.is_some() {
        let id = request
            .param("segment_id")
            .and_then(|s| s.trim().parse().ok());
        if let Some(segment) = account
            .segments
            .iter_mut()
            .find(|s| Some(s.segment_id) == id)
        {
            if segment.processing_polls > 0 {
                segment.processing_polls -= 1;
                let body = json!({ "contacts": [], "status": "processing" });
                return Ok((StatusCode::ACCEPTED, Json(body)));
            }
        }
    }
    let page = request.page(&account.contacts, |c| filter.keeps(c));
    let contacts: Vec<Value> = page.items.iter().map(|c| c.render(include)).collect();
    let mut body = json!({ "contacts": contacts });
    if include_count {
        body["contacts_count"] = json!(account.contacts.iter().filter(|c| filter.keeps(c)).count());
    }
    page.link(&mut body);
    Ok((StatusCode::OK, Json(body)))
}

/// `DELETE /v3/contacts/{contact_id}`: 204; deleting a deleted contact changes nothing.
async fn remove(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account.contacts, &id)?;
    let contact = &mut account.contacts[index];
    if !contact.is_deleted() {
        contact.delete(clock::now());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/contacts/sms_engagement_history/{contact_id}`: always `[]` (no SMS channel).
async fn sms_history(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    find(&sandbox.account().contacts, &id)?;
    Ok(Json(json!([])))
}

#[cfg(test)]
mod tests;
