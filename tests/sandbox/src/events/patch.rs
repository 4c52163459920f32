//! `PATCH /v3/events/{event_id}`: only the fields sent change (spec: "Only the
//! specified fields will be updated"), on DRAFT and ACTIVE events only.
//!
//! Each field is checked against `EventDto` (lengths, the currency list, date-times,
//! `ContactDto`'s and `AddressDto`'s required fields and lengths); a read-only field
//! is refused rather than ignored, so a client sending one learns of it. A nested
//! object (`contact`, `address`, `online_meeting`) is merged field by field.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::auth::{CampaignData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::JsonBody;
use crate::state::Sandbox;

use super::{ensure_unique, find};

/// Text fields and their `maxLength` (0: no maximum).
const TEXT: &[(&str, usize)] = &[
    ("name", 100),
    ("title", 100),
    ("description", 600),
    ("event_type", 0),
    ("location_type", 0),
    ("time_zone", 0),
    ("event_code", 0),
    ("currency_type", 0),
    ("event_start", 0),
    ("event_end", 0),
];

const FLAGS: &[&str] = &[
    "display_contact_flag",
    "display_end_time_flag",
    "display_on_calendar_flag",
    "display_time_zone_flag",
    "notify_owner_on_reg",
];

const CURRENCIES: &[&str] = &[
    "AUD", "BRL", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "JPY", "MXN",
    "MYR", "NOK", "NZD", "PHP", "PLN", "RUB", "SEK", "SGD", "THB", "TRY", "TWD", "USD",
];

/// `ContactDto`'s fields and lengths (min, max).
const CONTACT: &[(&str, usize, usize)] = &[
    ("name", 0, 100),
    ("organization_name", 0, 255),
    ("email_address", 0, 128),
    ("from_email_address", 0, 128),
    ("phone_number", 1, 25),
];

/// `AddressDto`'s text fields and lengths.
const ADDRESS: &[(&str, usize, usize)] = &[
    ("address_type", 0, 0), // 0: no maximum
    ("location_name", 0, 100),
    ("line1", 0, 80),
    ("line2", 0, 80),
    ("city", 0, 80),
    ("state", 0, 80),
    ("state_code", 0, 2),
    ("postal_code", 0, 25),
    ("country", 0, 128),
    ("country_code", 0, 2),
];

/// `PATCH /v3/events/{event_id}`: 204.
pub async fn update(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<StatusCode, ApiError> {
    let mut p = Problems::default();
    for (key, value) in &body {
        field(&mut p, key, value);
    }
    times(&mut p, &body);
    p.finish(Area::General)?;
    let mut account = sandbox.account();
    let event = find(&mut account, &id)?;
    if !matches!(event.status.as_str(), "DRAFT" | "ACTIVE") {
        let status = &event.status;
        return Err(ApiError::validation(
            Area::General,
            format!("a {status} event cannot be updated; only DRAFT and ACTIVE events can"),
        ));
    }
    let event_id = event.id;
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        ensure_unique(&account, name, Some(event_id))?;
    }
    let event = find(&mut account, &id)?;
    for (key, value) in body {
        match (event.fields.get_mut(&key), value) {
            (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
            (_, value) => {
                event.fields.insert(key, value);
            }
        }
    }
    event.updated = clock::now();
    Ok(StatusCode::NO_CONTENT)
}

/// Checks one top-level field of the body.
fn field(p: &mut Problems, key: &str, value: &Value) {
    if let Some((_, max)) = TEXT.iter().find(|(k, _)| *k == key) {
        return text(p, key, value, 0, *max);
    }
    match key {
        _ if FLAGS.contains(&key) && !value.is_boolean() => {
            p.add(format!("{key} must be true or false"))
        }
        _ if FLAGS.contains(&key) => {}
        "contact" => object(p, key, value, CONTACT, &["name", "organization_name"]),
        "address" => object(p, key, value, ADDRESS, &["address_type"]),
        "online_meeting" if !value.is_object() => p.add("online_meeting must be an object"),
        "online_meeting" => {}
        _ => p.add(format!("{key} cannot be changed with PATCH")),
    }
}

/// A text field within `min..=max` characters (`max` 0: any length), with the
/// field-specific rules.
fn text(p: &mut Problems, key: &str, value: &Value, min: usize, max: usize) {
    let Some(text) = value.as_str() else {
        return p.add(format!("{key} must be a string"));
    };
    let count = text.chars().count();
    let min = min.max(usize::from(key == "name"));
    if count < min || (max > 0 && count > max) {
        p.add(format!("{key} must be {min} to {max} characters"));
    }
    // `contact.email_address` follows the rules of `email_address`.
    match key.rsplit('.').next().unwrap_or(key) {
        "currency_type" => p.one_of(key, Some(text), CURRENCIES),
        "event_start" | "event_end" if clock::parse(text).is_none() || !text.contains('T') => {
            p.add(format!("{key} is not an ISO-8601 date-time"))
        }
        "address_type" => p.one_of(key, Some(text), &["EVENT"]),
        "email_address" | "from_email_address" => p.email(key, Some(text)),
        _ => {}
    }
}

/// A nested object: its `required` fields and its text fields' lengths.
fn object(
    p: &mut Problems,
    key: &str,
    value: &Value,
    fields: &[(&str, usize, usize)],
    required: &[&str],
) {
    let Some(map) = value.as_object() else {
        return p.add(format!("{key} must be an object"));
    };
    for name in required {
        if !map.contains_key(*name) {
            p.add(format!("{key}.{name} is missing"));
        }
    }
    for (name, inner) in map {
        match fields.iter().find(|(n, ..)| n == name) {
            Some((_, min, max)) => text(p, &format!("{key}.{name}"), inner, *min, *max),
            None if matches!(name.as_str(), "latitude" | "longitude") && inner.is_number() => {}
            None => p.add(format!("{key}.{name} cannot be changed with PATCH")),
        }
    }
}

/// `event_end` is not before `event_start` when both are sent.
fn times(p: &mut Problems, body: &Map<String, Value>) {
    let at = |key: &str| body.get(key).and_then(Value::as_str).and_then(clock::parse);
    if let (Some(start), Some(end)) = (at("event_start"), at("event_end")) {
        if end < start {
            p.add("event_end must not be before event_start");
        }
    }
}
