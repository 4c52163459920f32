//! # connector-sdk: what every connector component needs
//!
//! A connector is a WebAssembly component (`wasm32-wasip2`) that exports the
//! `connector:sdk@0.4.0` contract (`wit/sdk/sdk.wit`: `describe` and
//! `activity-error`) and one typed function per activity. This crate is the code
//! every connector would otherwise copy: HTTP over `wasi:http`, statuses to
//! `activity-error`, the API's JSON to and from the WIT-generated types, the spec's
//! bounds, cursors, and the `describe` data. A connector keeps only its WIT, its
//! activities and its API's quirks.
//!
//! The invariant it keeps: **a connector never sees a credential.** Requests go
//! out without `Authorization`; the host checks each one against the declared
//! origins and adds the credential itself. So there is no auth code, no base-URL
//! setting and no retry loop here: the host owns all of that.
//!
//! # Layout (read in this order)
//!
//! - [`describe`]: [`ActivityMeta`], [`Describe`]: the metadata as `const` data.
//! - [`check`]: the spec's bounds (lengths, item counts, ranges, date-times), checked
//!   before sending.
//! - [`api`]: [`Api`], one remote API (origin, error-body parser, cursor hook), and
//!   [`Call`], one request: `API.get(path).id(..).query(..).json()`.
//! - [`json`]: the API's JSON ⇄ WIT types, without mirror structs.
//! - [`cursor`]: where APIs put the next page.
//! - [`error`]: status → `activity-error`, and the error-body parsers.
//! - [`multipart`]: `multipart/form-data` bodies, for file uploads.
//! - [`http`]: the one `wasi:http` exchange (with `Content-Length` on every body).
//! - [`proxy`]: `http-request` and `http-read`, the escape hatch to any path of the API.
//! - [`trigger`]: polling triggers: the checkpoint, the clock, one poll.
//!
//! # How `activity-error` crosses crates
//!
//! The WIT-generated types live in whichever crate runs `wit_bindgen::generate!`.
//! This crate generates the `connector:sdk/types@0.4.0` interface itself (module
//! [`types`]) and every connector reuses it with wit-bindgen's `with` option:
//!
//! ```ignore
//! wit_bindgen::generate!({
//!     path: ["../wit/sdk", "wit"],
//!     world: "my:connector/connector",
//!     with: { "connector:sdk/types@0.4.0": connector_sdk::types },
//!     additional_derives: [serde::Serialize, serde::Deserialize],
//!     generate_all,
//! });
//! ```
//!
//! So `ActivityError` is one type everywhere: the SDK returns it and an activity
//! passes it on with `?`, with no conversion and no second error type (the
//! alternative, an SDK error plus a `From` in each connector, costs every
//! connector a conversion and every reader a detour). `additional_derives` lets
//! the connector's own records be request bodies and answers directly ([`json`]).
//!
//! # A whole activity
//!
//! Its metadata, in the area's `ACTIVITIES` (the preset sets the flags):
//!
//! ```ignore
//! ActivityMeta {
//!     name: "list-contacts",
//!     category: "Contacts",
//!     description: "Lists contacts, one page at a time.",
//!     scopes: &["contact_data"],
//!     pitfalls: &["Deleted contacts are left out unless status includes deleted."],
//!     ..ActivityMeta::READ
//! },
//! ```
//!
//! and its function: check the spec's bounds, send, return the WIT record.
//!
//! ```ignore
//! fn list_contacts(input: ListContactsInput) -> Result<ContactsPage, ActivityError> {
//!     check(&input, &[range("limit", 1, 500), items("lists", 0, 25)])?;
//!     CC.get("/v3/contacts")
//!         .queries(&input, &["cursor"])
//!         .cursor(input.cursor.as_deref())
//!         .page()
//! }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod check;
pub mod cursor;
pub mod describe;
pub mod error;
pub mod http;
pub mod json;
pub mod multipart;
pub mod proxy;
pub mod trigger;

/// The generated bindings of `connector:sdk@0.4.0`'s types.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        // A world of our own that only imports the shared types: the contract's
        // `plugin` world would also generate the `describe` export, which only the
        // final component can implement.
        inline: "package connector:sdk-guest;
                 world types-only {
                     import connector:sdk/types@0.4.0;
                     import connector:sdk/http-types@0.4.0;
                 }",
        path: "../../wit/sdk",
        world: "connector:sdk-guest/types-only",
        // No function of this world uses the types: generate them all the same.
        generate_unused_types: true,
        generate_all,
    });
}

/// `connector:sdk/types@0.4.0` as Rust types: `ActivityError`, `ApiError`,
/// `ConnectorInfo`, …. Connectors name this module in wit-bindgen's `with`.
pub use bindings::connector::sdk::types;

/// `connector:sdk/http-types@0.4.0`: the records of `http-request` and
/// `http-read` ([`proxy`]). Connectors name this module in wit-bindgen's `with`.
pub use bindings::connector::sdk::http_types;

pub use api::{Api, Call, Reply};
pub use describe::{ActivityMeta, Auth, Describe, Field, Key, TriggerMeta};
pub use error::invalid_input;
pub use serde_json;
pub use types::ActivityError;
