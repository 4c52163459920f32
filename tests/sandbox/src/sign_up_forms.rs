//! Create-or-update a contact: `POST /v3/contacts/sign_up_form` (reference §3.2),
//! scope `contact_data`.
//!
//! The body differs from `/contacts`: `email_address` is a plain string (≤50, spec
//! `ContactCreateOrUpdateInput`), `list_memberships` (1–50 existing lists) is required,
//! and single `phone_number` / `street_address` replace the arrays. A new address
//! creates a contact (201 `{"contact_id", "action": "created"}`); a known one, in any
//! status, is updated (200, `"action": "updated"`): only sent fields change, lists and
//! custom fields are appended, never removed, a deleted contact is revived and the
//! permission becomes `explicit` (the person signed up themselves).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{ContactData, Needs};
use crate::clock;
use crate::contacts::{
    self, AddressInput, Changes, Contact, DetailsInput, EmailChange, FieldInput, PhoneInput,
};
use crate::errors::{ApiError, Area, Problems};
use crate::request::JsonBody;
use crate::state::{Account, Sandbox};

/// The sign-up form route.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/v3/contacts/sign_up_form", post(create_or_update))
}

#[derive(Debug, Deserialize)]
struct SignUpInput {
    email_address: Option<String>,
    #[serde(flatten)]
    details: DetailsInput,
    phone_number: Option<String>,
    street_address: Option<AddressInput>,
    list_memberships: Option<Vec<String>>,
    custom_fields: Option<Vec<FieldInput>>,
}

/// `POST /v3/contacts/sign_up_form`.
async fn create_or_update(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<SignUpInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let (address, changes) = check(input, &account)?;
    let now = clock::now();
    if let Some(index) = contacts::find_by_email(&account.contacts, &address) {
        let contact = &mut account.contacts[index];
        contacts::merge(contact, changes, "Contact", now);
        // A person signing up gives explicit permission, even after unsubscribing.
        if let Some(email) = &mut contact.email {
            email.set_permission("explicit", "Contact", now);
        }
        return Ok((
            StatusCode::OK,
            Json(json!({ "contact_id": contact.id, "action": "updated" })),
        ));
    }
    let contact = Contact::create(changes, "Contact", now);
    let id: Uuid = contact.id;
    account.contacts.push(contact);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "contact_id": id, "action": "created" })),
    ))
}

/// Checks the body; returns the address and the changes as a new contact would take them.
fn check(input: SignUpInput, account: &Account) -> Result<(String, Changes), ApiError> {
    let mut p = Problems::default();
    let address = email_address(input.email_address, &mut p);
    let lists = input.list_memberships.unwrap_or_default();
    if lists.is_empty() {
        p.add("list_memberships must contain from 1 to 50 list ids");
    }
    let lists = contacts::list_ids("list_memberships", lists, account, &mut p);
    p.max_len("phone_number", input.phone_number.as_deref(), 25);
    let phone = input.phone_number.map(|phone_number| PhoneInput {
        phone_number,
        kind: None,
    });
    let street = input
        .street_address
        .map(|a| a.check("street_address", &mut p));
    let fields = input.custom_fields.unwrap_or_default();
    let custom_fields = contacts::custom_field_values(fields, 50, account, &mut p);
    let details = input.details.check(&mut p);
    p.finish(Area::Contacts)?;
    // A person signing up gives explicit permission (reference §3.2, sign_up_form).
    let permission_to_send = Some("explicit".to_owned());
    let email = EmailChange {
        address: address.clone(),
        permission_to_send,
        opt_out_reason: None,
    };
    let changes = Changes {
        email: Some(email),
        details,
        custom_fields: Some(custom_fields),
        phone_numbers: Some(phone.into_iter().collect()),
        street_addresses: Some(street.into_iter().collect()),
        list_memberships: Some(lists),
        taggings: None,
        notes: None,
    };
    Ok((address, changes))
}

/// The plain-string address: required (SMS channels are not simulated, so it is the
/// one identifier), at most 50 characters (spec), an email address.
fn email_address(value: Option<String>, p: &mut Problems) -> String {
    let address = value.map(|a| a.trim().to_owned()).unwrap_or_default();
    p.required("email_address", Some(&address));
    p.max_len("email_address", Some(&address), 50);
    p.email(
        "email_address",
        Some(address.as_str()).filter(|a| !a.is_empty()),
    );
    address
}
