//! `PUT /v3/contacts/resubscribe/{contact_id}` (spec `ContactResubscribeRequest`), scope
//! `contact_data`: asks an unsubscribed contact to confirm they want mail again.
//!
//! - `list_ids` required, 1 or more existing lists (400 otherwise, naming the id).
//! - 404 for an unknown or deleted contact; 409 unless the contact's email is
//!   `unsubscribed`. The API sends the confirmation email once: the contact moves to
//!   `pending_confirmation` (so a second request is 409) and joins the lists.
//! - 200 with no body (the spec documents none).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::find;
use crate::auth::{ContactData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::{JsonBody, PathId};
use crate::state::Sandbox;

#[derive(Debug, Deserialize)]
pub struct ResubscribeInput {
    list_ids: Option<Vec<String>>,
}

/// `PUT /v3/contacts/resubscribe/{contact_id}`.
pub async fn resubscribe(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<ResubscribeInput>,
) -> Result<StatusCode, ApiError> {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    let ids = input.list_ids.unwrap_or_default();
    if ids.is_empty() {
        p.add("list_ids is missing");
    }
    let lists = super::list_ids("list_ids", ids, &account, &mut p);
    p.finish(Area::Contacts)?;
    let index = find(&account.contacts, &id)?;
    let contact = &mut account.contacts[index];
    if contact.is_deleted() {
        return Err(ApiError::not_found(
            Area::Contacts,
            format!("contact {id} was not found"),
        ));
    }
    if contact.permission() != "unsubscribed" {
        return Err(ApiError::conflict(
            Area::Contacts,
            "only an unsubscribed contact can be sent a resubscribe email, and only once",
        ));
    }
    let now = clock::now();
    if let Some(email) = contact.email.as_mut() {
        email.set_permission("pending_confirmation", "Account", now);
    }
    for list in lists {
        if !contact.is_member(&list) {
            contact.list_memberships.push(list);
        }
    }
    contact.updated_at = now;
    Ok(StatusCode::OK)
}
