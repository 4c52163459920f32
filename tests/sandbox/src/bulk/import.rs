//! `POST /v3/activities/contacts_json_import` (spec `ContactsJsonImport`,
//! `JsonImportContact`): create or update contacts from JSON rows, 201 with the activity.
//!
//! Checked at once (400 naming `import_data[i].field`): `import_data` has at least one
//! row; `list_ids` 1–50 existing lists; each row's types and the spec's `maxLength`s
//! (names, phones 50; streets 255; `cf:` values 255; `sms_number` 16);
//! `sms_permission_to_send` is `explicit` or `not_set`.
//!
//! Checked per row, reported in `activity_errors` (`import_data[i]: ...`) and counted in
//! `error_count` when the activity completes: an `email` is required (the sandbox has
//! no SMS channel, so `sms_number` alone cannot identify a contact) and must be an email
//! address; `cf:<name>` must name an existing custom field (by its `name`), at most 25;
//! at most 3 phone numbers and 3 addresses; birthday and anniversary as on `/contacts`.
//!
//! At completion each good row, found by email in any status, updates the contact with
//! only the properties sent (a deleted contact is revived; the permission is kept), or
//! creates one (`implicit`, opt-in source `Account`); the lists are added. Phone keys:
//! `phone` (kind `other`), `home_phone`, `work_phone`, `mobile_phone`, `other_phone`.
//! Address keys: `street`, `street2` (joined to `street` with ", "), `city`, `state`,
//! `zip`, `country` (kind `home`), and the same with `home_`, `work_`, `other_`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{enqueue, Work};
use crate::auth::{ContactData, Needs};
use crate::clock::Timestamp;
use crate::contacts::{
    self, AddressInput, Changes, Contact, DetailsInput, EmailChange, FieldValue, PhoneInput,
};
use crate::errors::{ApiError, Area, Problems};
use crate::request::JsonBody;
use crate::state::{Account, Sandbox};

/// The import route.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/v3/activities/contacts_json_import", post(import))
}

#[derive(Debug, Deserialize)]
struct ImportInput {
    import_data: Option<Vec<BTreeMap<String, Value>>>,
    list_ids: Option<Vec<String>>,
    sms_permission_to_send: Option<String>,
}

/// A checked import: the good rows and the lists.
#[derive(Debug)]
pub struct Import {
    total: usize,
    good: Vec<Changes>,
    lists: Vec<Uuid>,
}

impl Import {
    /// `items_total_count`: every row sent.
    pub fn rows(&self) -> usize {
        self.total
    }

    /// Rows that could not be imported.
    pub fn failed(&self) -> usize {
        self.total - self.good.len()
    }

    /// Creates or updates each good row's contact; returns the rows that failed here.
    pub fn apply(&self, account: &mut Account, now: Timestamp) -> Vec<String> {
        let mut errors = Vec::new();
        for row in &self.good {
            let Some(address) = row.email.as_ref().map(|e| e.address.clone()) else {
                continue;
            };
            let mut changes = row.clone();
            changes.list_memberships = Some(self.lists.clone());
            match contacts::find_by_email(&account.contacts, &address) {
                Some(index) => {
                    let contact = &mut account.contacts[index];
                    let new = self.lists.iter().filter(|l| !contact.is_member(l)).count();
                    if contact.list_memberships.len() + new > 50 {
                        errors.push(format!(
                            "{address}: the contact would be on more than 50 lists"
                        ));
                        continue;
                    }
                    contacts::merge(contact, changes, "Account", now);
                }
                None => account
                    .contacts
                    .push(Contact::create(changes, "Account", now)),
            }
        }
        errors
    }
}

/// `POST /v3/activities/contacts_json_import`.
async fn import(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<ImportInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let rows = Rows {
        rows: input.import_data.unwrap_or_default(),
        lists: input.list_ids.unwrap_or_default(),
        sms_permission_to_send: input.sms_permission_to_send,
    };
    let body = queue(&mut account, rows, |i| format!("import_data[{i}]"))?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// What an import request carries, whatever its encoding (JSON rows or a CSV file).
pub struct Rows {
    /// One map of column name to value per contact.
    pub rows: Vec<BTreeMap<String, Value>>,
    /// The list ids every contact joins (1 to 50).
    pub lists: Vec<String>,
    /// `explicit` or `not_set`, when given.
    pub sms_permission_to_send: Option<String>,
}

/// Checks an import and queues it: 400 for the request's problems, naming each row
/// with `at(index)`; a row's own problems become `activity_errors`.
pub fn queue(
    account: &mut Account,
    input: Rows,
    at: impl Fn(usize) -> String,
) -> Result<Value, ApiError> {
    let mut p = Problems::default();
    if input.rows.is_empty() {
        p.add("import_data must contain at least one contact");
    }
    if input.lists.is_empty() {
        p.add("list_ids must contain from 1 to 50 list ids");
    }
    let lists = contacts::list_ids("list_ids", input.lists, account, &mut p);
    p.one_of(
        "sms_permission_to_send",
        input.sms_permission_to_send.as_deref(),
        &["explicit", "not_set"],
    );
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for (i, row) in input.rows.iter().enumerate() {
        let at = at(i);
        match check_row(&at, row, account, &mut p) {
            Ok(changes) => good.push(changes),
            Err(message) => errors.push(format!("{at}: {message}")),
        }
    }
    p.finish(Area::Contacts)?;
    let work = Work::Import(Import {
        total: input.rows.len(),
        good,
        lists,
    });
    enqueue(account, work, errors)
}

/// The spec's `maxLength` of each known key; `cf:` keys have 255.
fn max_len(key: &str) -> Option<usize> {
    let suffix = ["home_", "work_", "other_"]
        .iter()
        .find_map(|p| key.strip_prefix(p))
        .unwrap_or(key);
    match (key, suffix) {
        ("email" | "first_name" | "last_name" | "job_title" | "company_name", _) => Some(50),
        ("phone" | "home_phone" | "work_phone" | "mobile_phone" | "other_phone", _) => Some(50),
        ("sms_number" | "sms_consent_date", _) => Some(16),
        ("birthday_month" | "birthday_day" | "anniversary", _) => None,
        (_, "street" | "street2") => Some(255),
        (_, "city" | "state" | "zip" | "country") => Some(50),
        ("home country", _) => Some(50),
        _ if key.starts_with("cf:") => Some(255),
        _ => None,
    }
}

/// Checks one row: schema problems go to `p` (400), the row's own problems are its `Err`.
fn check_row(
    at: &str,
    row: &BTreeMap<String, Value>,
    account: &Account,
    p: &mut Problems,
) -> Result<Changes, String> {
    let text = texts(at, row, p);
    let get = |key: &str| text.get(key).filter(|v| !v.is_empty()).cloned();
    let email = get("email").ok_or_else(|| {
        if get("sms_number").is_some() {
            "sms_number alone cannot be imported: the sandbox has no SMS channel; give an email"
                .to_owned()
        } else {
            "email is missing".to_owned()
        }
    })?;
    let mut row_problems = Problems::default();
    row_problems.email("email", Some(&email));
    let number = |key: &str| row.get(key).and_then(Value::as_i64);
    let details = DetailsInput {
        first_name: get("first_name"),
        last_name: get("last_name"),
        job_title: get("job_title"),
        company_name: get("company_name"),
        birthday_month: number("birthday_month"),
        birthday_day: number("birthday_day"),
        anniversary: get("anniversary"),
    }
    .check(&mut row_problems);
    let custom_fields = custom_fields(&text, account, &mut row_problems);
    let phones = phones(&get);
    if phones.len() > 3 {
        row_problems.add("at most 3 phone numbers can be imported per contact");
    }
    let addresses = addresses(&get);
    if addresses.len() > 3 {
        row_problems.add("at most 3 addresses can be imported per contact");
    }
    if let Some(message) = row_problems.message() {
        return Err(message);
    }
    Ok(Changes {
        email: Some(EmailChange {
            address: email,
            permission_to_send: None,
            opt_out_reason: None,
        }),
        details,
        custom_fields: (!custom_fields.is_empty()).then_some(custom_fields),
        phone_numbers: (!phones.is_empty()).then_some(phones),
        street_addresses: (!addresses.is_empty()).then_some(addresses),
        list_memberships: None,
        taggings: None,
        notes: None,
    })
}

/// The row's text values, trimmed; a wrong type or a value past the spec's `maxLength`
/// goes to `p` (a 400 for the whole request).
fn texts<'a>(
    at: &str,
    row: &'a BTreeMap<String, Value>,
    p: &mut Problems,
) -> BTreeMap<&'a str, String> {
    let mut text = BTreeMap::new();
    for (key, value) in row {
        match (value, key.as_str()) {
            (Value::Number(_), "birthday_month" | "birthday_day") | (Value::Null, _) => {}
            (Value::String(s), _) => {
                if let Some(max) = max_len(key).filter(|max| s.chars().count() > *max) {
                    p.add(format!("{at}.{key} exceeds the maximum length of {max}"));
                }
                text.insert(key.as_str(), s.trim().to_owned());
            }
            _ => p.add(format!("{at}.{key} does not have a valid value")),
        }
    }
    text
}

fn custom_fields(
    text: &BTreeMap<&str, String>,
    account: &Account,
    p: &mut Problems,
) -> Vec<FieldValue> {
    let mut values = Vec::new();
    for (key, value) in text.iter().filter(|(k, _)| k.starts_with("cf:")) {
        let name = &key[3..];
        match crate::custom_fields::id_by_name(&account.custom_fields, name) {
            Some(id) => values.push(FieldValue {
                custom_field_id: id,
                value: value.clone(),
            }),
            None => p.add(format!("{key} does not name an existing custom field")),
        }
    }
    if values.len() > 25 {
        p.add("at most 25 custom fields can be imported per contact");
    }
    values
}

fn phones(get: &impl Fn(&str) -> Option<String>) -> Vec<PhoneInput> {
    [
        ("phone", "other"),
        ("home_phone", "home"),
        ("work_phone", "work"),
        ("mobile_phone", "mobile"),
        ("other_phone", "other"),
    ]
    .into_iter()
    .filter_map(|(key, kind)| {
        get(key).map(|n| PhoneInput {
            phone_number: n,
            kind: Some(kind.to_owned()),
        })
    })
    .collect()
}

fn addresses(get: &impl Fn(&str) -> Option<String>) -> Vec<AddressInput> {
    [
        ("", "home"),
        ("home_", "home"),
        ("work_", "work"),
        ("other_", "other"),
    ]
    .into_iter()
    .filter_map(|(prefix, kind)| {
        let field = |name: &str| get(&format!("{prefix}{name}"));
        // The spec spells the home country key with a space.
        let country =
            field("country").or_else(|| (prefix == "home_").then(|| get("home country")).flatten());
        let street = match (field("street"), field("street2")) {
            (Some(one), Some(two)) => Some(format!("{one}, {two}")),
            (one, two) => one.or(two),
        };
        let address = AddressInput {
            kind: Some(kind.to_owned()),
            street,
            city: field("city"),
            state: field("state"),
            postal_code: field("zip"),
            country,
        };
        let empty = address.street.is_none()
            && address.city.is_none()
            && address.state.is_none()
            && address.postal_code.is_none()
            && address.country.is_none();
        (!empty).then_some(address)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use crate::lists::SEEDED;
    use crate::testing::{message, Client};
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn an_import_creates_and_updates_contacts_and_reports_bad_rows() {
        let client = Client::new();
        client.contact("known@example.com", &[]).await;
        let rows = json!([
            {"email": "new@example.com", "first_name": "Ann", "home_phone": "555-0100", "street": "1 Main St", "city": "Boston"},
            {"email": "known@example.com", "job_title": "CTO"},
            {"first_name": "No email"},
        ]);
        let (status, activity) = client
            .post(
                "/v3/activities/contacts_json_import",
                json!({"import_data": rows, "list_ids": [SEEDED[1].0]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{activity}");
        assert_eq!(activity["status"]["items_total_count"], 3);
        let id = activity["activity_id"].as_str().unwrap();
        let (_, done) = client
            .post(&format!("/__sandbox/activities/{id}/complete"), json!({}))
            .await;
        assert_eq!(done["state"], "completed");
        assert_eq!(done["status"]["person_count"], 2);
        assert_eq!(done["status"]["error_count"], 1);
        assert_eq!(
            done["activity_errors"],
            json!(["import_data[2]: email is missing"])
        );
        let (_, found) = client
            .get(&format!(
                "/v3/contacts?lists={}&include=phone_numbers,street_addresses",
                SEEDED[1].0
            ))
            .await;
        let contacts = found["contacts"].as_array().unwrap();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0]["job_title"], "CTO");
        assert_eq!(
            contacts[1]["email_address"]["permission_to_send"],
            "implicit"
        );
        assert_eq!(contacts[1]["phone_numbers"][0]["kind"], "home");
        assert_eq!(contacts[1]["street_addresses"][0]["city"], "Boston");
    }

    #[tokio::test]
    async fn schema_problems_of_an_import_are_400() {
        let client = Client::new();
        let long = "x".repeat(51);
        let body = json!({"import_data": [{"email": "a@example.com", "first_name": long}], "list_ids": [SEEDED[0].0]});
        let (status, error) = client
            .post("/v3/activities/contacts_json_import", body)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            message(&error).contains("import_data[0].first_name exceeds the maximum length of 50")
        );
        let body = json!({"import_data": [{"email": "a@example.com"}], "list_ids": []});
        let (status, error) = client
            .post("/v3/activities/contacts_json_import", body)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&error).contains("list_ids"));
    }
}
