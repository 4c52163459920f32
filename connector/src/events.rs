//! Events: event pages with a registration form, tickets and check-in.
//!
//! An event has one registration form, its *track* (`default-track.track-id`);
//! registrations belong to a track and hold tickets, each with an
//! `order-ticket-key` that check-in takes. Registrations come from the public
//! registration page, never from the API: flows read and update them.
//!
//! Event listings page like the rest of the API (`_links.next.href`, kept whole
//! as the cursor), but the API names its cursor parameter `next`, and also
//! returns the bare token as `next_cursor`: [`paged`] keeps one cursor shape.

use connector_sdk::check::{check, date_time, email, items, len, listed_by, max_len, range, Bound};
use connector_sdk::json::{case_name, fill, remove, to_value};
use connector_sdk::serde_json::Value;
use connector_sdk::{invalid_input, ActivityError, ActivityMeta, Call};
use serde::de::DeserializeOwned;

use crate::exports::constant_contact::connector::events::{
    CopyEventInput, CreateDefaultEventInput, Event, EventRegistration, EventsPage, GetEventInput,
    GetEventRegistrationInput, Guest, ListEventRegistrationsInput, ListEventsInput,
    RegistrationsPage, RegistrationsUpdated, TicketsInput, UpdateEventInput,
    UpdatePaymentStatusInput, UpdateRegistrationStatusInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-events",
        category: "Events",
        description: "Lists the account's events, filtered by status or text, one page at a time.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Pages with the API's `next` cursor (its `_links.next`), up to 100 events a page.",
            "The user needs the campaign:read privilege as well as the scope.",
        ],
        bounds: &[LIST_EVENTS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-default-event",
        category: "Events",
        description: "Creates a DRAFT event with the default registration form and landing page.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "The event starts as DRAFT: it takes registrations only once published in Constant Contact.",
            "Names are unique in the account; a repeat with the same name fails (400).",
        ],
        bounds: &[DEFAULT_EVENT],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "get-event",
        category: "Events",
        description: "Gets one event with its contact, address and registration form (track).",
        scopes: &["campaign_data"],
        pitfalls: &["event_settings comes only with include."],
        bounds: &[EVENT_ID],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-event",
        category: "Events",
        description: "Changes the given fields of a DRAFT or ACTIVE event; the others are kept.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "COMPLETE, CANCELLED and DELETED events cannot be changed (400).",
            "A contact or address given replaces those fields only; contact needs name and organization_name.",
            "currency_type is one of AUD BRL CAD CHF CZK DKK EUR GBP HKD HUF ILS JPY MXN MYR NOK NZD PHP PLN RUB SEK SGD THB TRY TWD USD.",
        ],
        bounds: &[EVENT_ID, EVENT_FIELDS],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "copy-event",
        category: "Events",
        description: "Copies an event, its settings, form and pages, into a new DRAFT event.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "The copy's name must be unused in the account (400).",
            "DELETED events cannot be copied.",
            "A partial copy still succeeds: failed_campaign_activities lists what was left behind.",
        ],
        bounds: &[EVENT_ID, COPY],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "check-in-tickets",
        category: "Events",
        description: "Marks tickets as checked in at an ACTIVE or COMPLETE event.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Ticket keys are order_ticket_key values from get-event-registration, not registration ids.",
            "Tickets of a CANCELLED registration cannot be checked in (400); DRAFT events refuse check-in.",
        ],
        bounds: &[EVENT_ID, TICKETS],
        ..CHECK_IN
    },
    ActivityMeta {
        name: "undo-check-in-tickets",
        category: "Events",
        description: "Marks checked-in tickets as not checked in again.",
        scopes: &["campaign_data"],
        pitfalls: &["The event must be ACTIVE or COMPLETE, as for check-in."],
        bounds: &[EVENT_ID, TICKETS],
        ..CHECK_IN
    },
    ActivityMeta {
        name: "list-event-registrations",
        category: "Events",
        description: "Lists the registrations of an event's track, filtered and sorted, one page at a time.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "track_id is the event's default_track.track_id (get-event), not the event id.",
            "Pages with the API's `next` cursor (its `_links.next`); sends `limit`, not `page_size`.",
        ],
        bounds: &[EVENT_ID, LIST_REGISTRATIONS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-event-registration",
        category: "Events",
        description: "Gets one registration: the registrant's answers, tickets and order.",
        scopes: &["campaign_data"],
        pitfalls: &["Each ticket's order_ticket_key is what check-in takes."],
        bounds: &[EVENT_ID],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-registration-status",
        category: "Events",
        description: "Sets the status of registrations, e.g. cancels them.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Unknown or unchangeable ids do not fail the call: they come back in failed_registration_ids.",
            "Canceling returns items to inventory unless return_items_to_inventory is false.",
        ],
        bounds: &[EVENT_ID, REGISTRATION_IDS],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "update-payment-status",
        category: "Events",
        description: "Sets the payment status of paid registrations, e.g. to PAID after a door payment.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Free registrations (no payment method) are skipped silently, not reported as failed.",
            "Unknown ids come back in failed_registration_ids rather than failing the call.",
        ],
        bounds: &[EVENT_ID, REGISTRATION_IDS],
        ..ActivityMeta::UPDATE
    },
];

/// Check-in sets a ticket's state: a repeat leaves it as it is (retry-safe), and
/// its undo restores it (not destructive).
const CHECK_IN: ActivityMeta = ActivityMeta {
    destructive: false,
    ..ActivityMeta::UPDATE
};

const EVENT_ID: &[Bound] = &[listed_by(
    "event_id",
    "list-events",
    "records",
    "event_id",
    "name",
)];
const LIST_EVENTS: &[Bound] = &[range("limit", 1, 100)];
const LIST_REGISTRATIONS: &[Bound] = &[range("limit", 1, 65_535)];
/// `EventDto`'s name, and the ISO-8601 times the query takes.
const DEFAULT_EVENT: &[Bound] = &[
    len("name", 1, 100),
    date_time("start_time"),
    date_time("end_time"),
];
const COPY: &[Bound] = &[len("target_event_name", 1, 100)];
const TICKETS: &[Bound] = &[items("order_ticket_keys", 1, usize::MAX)];
const REGISTRATION_IDS: &[Bound] = &[items("registration_ids", 1, usize::MAX)];
/// `EventDto`, `ContactDto` and `AddressDto`'s lengths.
const EVENT_FIELDS: &[Bound] = &[
    len("name", 1, 100),
    max_len("title", 100),
    max_len("description", 600),
    date_time("event_start"),
    date_time("event_end"),
    max_len("contact.name", 100),
    max_len("contact.organization_name", 255),
    max_len("contact.email_address", 128),
    email("contact.email_address"),
    max_len("contact.from_email_address", 128),
    email("contact.from_email_address"),
    len("contact.phone_number", 1, 25),
    max_len("address.location_name", 100),
    max_len("address.line1", 80),
    max_len("address.line2", 80),
    max_len("address.city", 80),
    max_len("address.state", 80),
    max_len("address.state_code", 2),
    max_len("address.postal_code", 25),
    max_len("address.country", 128),
    max_len("address.country_code", 2),
];

/// `EventDto.currency_type`'s values.
const CURRENCIES: &[&str] = &[
    "AUD", "BRL", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "JPY", "MXN",
    "MYR", "NOK", "NZD", "PHP", "PLN", "RUB", "SEK", "SGD", "THB", "TRY", "TWD", "USD",
];

impl Guest for Connector {
    /// Lists events, one page per call.
    ///
    /// `GET /v3/events` — <https://developer.constantcontact.com/api_reference/index.html#!/Events/findEvents>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_events(input: ListEventsInput) -> Result<EventsPage, ActivityError> {
        check(&input, LIST_EVENTS)?;
        let call = CC
            .get("/v3/events")
            .queries(&input, &["cursor", "event_status", "sort_order"])
            .query("event_status", &input.event_status.map(|s| upper(&s)))
            .query("sort_order", &input.sort_order.map(|s| upper(&s)));
        paged(call.cursor(input.cursor.as_deref()), "/v3/events")
    }

    /// Creates a DRAFT event with default settings.
    ///
    /// `POST /v3/events/default` (201; everything in the query, no body) —
    /// <https://developer.constantcontact.com/api_reference/index.html#!/Events/addDefaultEvent>.
    /// Scope `campaign_data`. Not retry-safe: a repeat makes a second event (or
    /// fails on the taken name). Not destructive: it only adds.
    fn create_default_event(input: CreateDefaultEventInput) -> Result<Event, ActivityError> {
        check(&input, DEFAULT_EVENT)?;
        CC.post("/v3/events/default").queries(&input, &[]).json()
    }

    /// Gets one event.
    ///
    /// `GET /v3/events/{event_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Events/getEvent_2>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_event(input: GetEventInput) -> Result<Event, ActivityError> {
        CC.get("/v3/events")
            .id("event_id", &input.event_id)
            .queries(&input, &["event_id"])
            .json()
    }

    /// Changes the given fields of an event (204), then reads it back.
    ///
    /// `PATCH /v3/events/{event_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Events/patchEvent>.
    /// Scope `campaign_data`. Retry-safe: it writes the same values each time.
    /// Destructive: the values it replaces are gone.
    fn update_event(input: UpdateEventInput) -> Result<Event, ActivityError> {
        check(&input, EVENT_FIELDS)?;
        check_currency(input.currency_type.as_deref())?;
        let mut body = to_value(&input)?;
        remove(&mut body, &["event_id"]);
        if let Some(address) = body.get_mut("address") {
            // `AddressDto` requires its type, and `EVENT` is the only one.
            fill(address, "address_type", "EVENT");
        }
        CC.patch("/v3/events")
            .id("event_id", &input.event_id)
            .body(&body)
            .send()?;
        read_event(&input.event_id)
    }

    /// Copies an event into a new DRAFT event.
    ///
    /// `POST /v3/events/{event_id}/copy` (200, or 207 when some campaign activities
    /// were not copied) — <https://developer.constantcontact.com/api_reference/index.html#!/Events/copyEvent>.
    /// Scope `campaign_data`. Not retry-safe: a repeat fails, the name being taken.
    /// Not destructive: the source is untouched.
    fn copy_event(input: CopyEventInput) -> Result<Event, ActivityError> {
        check(&input, COPY)?;
        CC.post("/v3/events")
            .id("event_id", &input.event_id)
            .path("/copy")
            .body_except(&input, &["event_id"])
            .json()
    }

    /// Checks tickets in (204).
    ///
    /// `POST /v3/events/{event_id}/check_in/tickets` — <https://developer.constantcontact.com/api_reference/index.html#!/Events/checkInTickets>.
    /// Scope `campaign_data`. Retry-safe: a checked-in ticket stays checked in.
    /// Not destructive: `undo-check-in-tickets` reverts it.
    fn check_in_tickets(input: TicketsInput) -> Result<(), ActivityError> {
        tickets(input, "/check_in/tickets")
    }

    /// Undoes tickets' check-in (204).
    ///
    /// `POST /v3/events/{event_id}/undo_check_in/tickets` — <https://developer.constantcontact.com/api_reference/index.html#!/Events/undoCheckInTickets>.
    /// Scope `campaign_data`. Retry-safe: a ticket not checked in stays so.
    /// Not destructive: `check-in-tickets` reverts it.
    fn undo_check_in_tickets(input: TicketsInput) -> Result<(), ActivityError> {
        tickets(input, "/undo_check_in/tickets")
    }

    /// Lists a track's registrations, one page per call.
    ///
    /// `GET /v3/events/{event_id}/tracks/{track_id}/registrations` — <https://developer.constantcontact.com/api_reference/index.html#!/Events/findRegistrationsUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_event_registrations(
        input: ListEventRegistrationsInput,
    ) -> Result<RegistrationsPage, ActivityError> {
        check(&input, LIST_REGISTRATIONS)?;
        let path = registrations(&input.event_id, &input.track_id)?;
        let except = [
            "event_id",
            "track_id",
            "cursor",
            "registration_status",
            "payment_status",
            "sort_order",
        ];
        let call = CC
            .get(&path)
            .queries(&input, &except)
            .query(
                "registration_status",
                &input.registration_status.map(|s| upper(&s)),
            )
            .query("payment_status", &input.payment_status.map(|s| upper(&s)))
            .query("sort_order", &input.sort_order.map(|s| upper(&s)));
        paged(call.cursor(input.cursor.as_deref()), &path)
    }

    /// Gets one registration.
    ///
    /// `GET /v3/events/{event_id}/tracks/{track_id}/registrations/{registration_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Events/getRegistrationInfo>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn get_event_registration(
        input: GetEventRegistrationInput,
    ) -> Result<EventRegistration, ActivityError> {
        let path = registrations(&input.event_id, &input.track_id)?;
        let reply = CC
            .get(&path)
            .id("registration_id", &input.registration_id)
            .send()?;
        let mut value = reply.value()?;
        checked_in(&mut value);
        reply.parse(value)
    }

    /// Sets registrations' status.
    ///
    /// `PUT /v3/events/{event_id}/tracks/{track_id}/registrations` (200, or 207 with
    /// the ids that failed) — <https://developer.constantcontact.com/api_reference/index.html#!/Events/updateRegistrationStatusUsingPUT>.
    /// Scope `campaign_data`. Retry-safe: it sets the same status each time.
    /// Destructive: the previous status is gone (and canceled tickets go back on sale).
    fn update_registration_status(
        input: UpdateRegistrationStatusInput,
    ) -> Result<RegistrationsUpdated, ActivityError> {
        check(&input, REGISTRATION_IDS)?;
        let body = connector_sdk::serde_json::json!({
            "registration_ids": input.registration_ids,
            "registration_status": upper(&input.registration_status),
        });
        let flags = [
            "increase_count",
            "increase_item_count",
            "return_items_to_inventory",
        ];
        let call = CC
            .put(&registrations(&input.event_id, &input.track_id)?)
            .query(flags[0], &input.increase_count)
            .query(flags[1], &input.increase_item_count)
            .query(flags[2], &input.return_items_to_inventory);
        updated(call.body(&body))
    }

    /// Sets paid registrations' payment status.
    ///
    /// `PUT /v3/events/{event_id}/tracks/{track_id}/registrations/payment_status`
    /// (200, or 207 with the ids that failed) — <https://developer.constantcontact.com/api_reference/index.html#!/Events/updateRegistrationPaymentStatusUsingPUT>.
    /// Scope `campaign_data`. Retry-safe: it sets the same status each time.
    /// Destructive: the previous payment status is gone.
    fn update_payment_status(
        input: UpdatePaymentStatusInput,
    ) -> Result<RegistrationsUpdated, ActivityError> {
        check(&input, REGISTRATION_IDS)?;
        let body = connector_sdk::serde_json::json!({
            "registration_ids": input.registration_ids,
            "payment_status": upper(&input.payment_status),
        });
        let path = registrations(&input.event_id, &input.track_id)? + "/payment_status";
        updated(CC.put(&path).body(&body))
    }
}

fn read_event(event_id: &str) -> Result<Event, ActivityError> {
    CC.get("/v3/events").id("event_id", event_id).json()
}

/// `/v3/events/{event_id}/tracks/{track_id}/registrations`, ids percent-encoded.
/// A string, not a `Call`, because [`paged`] builds cursors from it.
fn registrations(event_id: &str, track_id: &str) -> Result<String, ActivityError> {
    let (event, track) = (
        segment("event_id", event_id)?,
        segment("track_id", track_id)?,
    );
    Ok(format!("/v3/events/{event}/tracks/{track}/registrations"))
}

/// One path segment: ids are letters, digits, `-` and `_` (UUIDs, track keys such
/// as `s8zabc`); anything else is encoded so it cannot change the path, and an
/// empty id is refused (`/tracks//registrations` is no path).
fn segment(field: &str, id: &str) -> Result<String, ActivityError> {
    if id.trim().is_empty() {
        return Err(invalid_input(format!("`{field}` must be a non-empty id")));
    }
    Ok(id
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect())
}

/// Check-in and its undo: the same body to two paths.
fn tickets(input: TicketsInput, action: &str) -> Result<(), ActivityError> {
    check(&input, TICKETS)?;
    CC.post("/v3/events")
        .id("event_id", &input.event_id)
        .path(action)
        .body_except(&input, &["event_id"])
        .send()?;
    Ok(())
}

/// A status update's answer: 200 without a body when every registration changed,
/// 207 with `failed_registration_ids` when some did not.
fn updated(call: Call<'_>) -> Result<RegistrationsUpdated, ActivityError> {
    let reply = call.send()?;
    match reply.value()? {
        Value::Null => Ok(RegistrationsUpdated {
            failed_registration_ids: Vec::new(),
        }),
        value => reply.parse(value),
    }
}

/// A page of events or registrations. The API gives the next page twice: as
/// `_links.next.href` (a path, our cursor) and as the bare `next_cursor` token;
/// when only the token comes, the cursor is built from it (`path?next=token`).
fn paged<T: DeserializeOwned>(call: Call<'_>, path: &str) -> Result<T, ActivityError> {
    let reply = call.send()?;
    let mut page = reply.value()?;
    let href = page["_links"]["next"]["href"].as_str().map(str::to_owned);
    let token = page["next_cursor"].as_str().filter(|t| is_token(t));
    let next = href.or_else(|| token.map(|t| format!("{path}?next={t}")));
    page["next_cursor"] = next.map_or(Value::Null, Value::String);
    if let Some(records) = page["records"].as_array_mut() {
        records.iter_mut().for_each(checked_in);
    }
    reply.parse(page)
}

/// Cursor tokens are base64url text; anything else is not trusted into a path.
fn is_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// The API spells one field `checkedIn_tickets`; the WIT field is `checked-in-tickets`.
fn checked_in(registration: &mut Value) {
    if let Some(map) = registration.as_object_mut() {
        if let Some(count) = map.get("checkedIn_tickets").cloned() {
            map.insert("checked_in_tickets".into(), count);
        }
    }
}

fn check_currency(currency: Option<&str>) -> Result<(), ActivityError> {
    match currency {
        Some(code) if !CURRENCIES.contains(&code) => Err(invalid_input(format!(
            "`currency_type` must be one of {}",
            CURRENCIES.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// An enum case as the API spells it: `in-progress` → `IN_PROGRESS`.
fn upper<T: serde::Serialize>(case: &T) -> String {
    case_name(case).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_sdk::serde_json::json;

    #[test]
    fn ids_in_registration_paths_cannot_change_the_path() {
        assert_eq!(
            registrations("1697732a-8664", "s8z/../x").unwrap(),
            "/v3/events/1697732a-8664/tracks/s8z%2F%2E%2E%2Fx/registrations"
        );
        assert!(registrations("1697732a-8664", " ").is_err());
    }

    #[test]
    fn cursor_tokens_are_url_safe_text_only() {
        assert!(is_token("7zDEe3Dh-Yi_H2.x"));
        assert!(!is_token("a b"));
        assert!(!is_token("a&limit=5"));
        assert!(!is_token(""));
    }

    #[test]
    fn camel_case_checked_in_count_is_read() {
        let mut registration = json!({"checkedIn_tickets": 2});
        checked_in(&mut registration);
        assert_eq!(registration["checked_in_tickets"], 2);
    }

    #[test]
    fn currencies_outside_the_spec_list_are_refused() {
        assert!(check_currency(Some("USD")).is_ok());
        assert!(check_currency(None).is_ok());
        assert!(check_currency(Some("usd")).is_err());
    }
}
