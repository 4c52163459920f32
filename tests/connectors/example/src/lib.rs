//! # The example connector: a tiny notes API
//!
//! What the README's "Write your own connector" guide builds: `lib.rs` (the
//! bindings, the API, `describe`) and one area file, `notes.rs`. The API is
//! `notes-api` (`tests/support/bin/notes_api.rs`); its key travels as a bearer
//! token, which the host adds from the connection: this code never sees it.
#![warn(missing_docs)]

/// The bindings for `wit/notes.wit`; the `connector:sdk` types are the SDK's.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../../../wit/sdk", "wit"],
        world: "example:notes/connector",
        with: { "connector:sdk/types@0.4.0": connector_sdk::types },
        additional_derives: [serde::Serialize, serde::Deserialize],
        generate_all,
    });
}
use bindings::exports;

mod notes;

use connector_sdk::types::ConnectorInfo;
use connector_sdk::{cursor, error, Api, Auth, Describe, Field};

/// The type the host calls into.
pub struct Connector;

bindings::export!(Connector with_types_in bindings);

/// The notes API. Connections point the origin at a real server with `[endpoints]`.
pub const NOTES: Api = Api {
    origin: "https://notes.example",
    path_prefix: "/v1/",
    // `{"message": "…"}`: the SDK's plain parser reads it.
    errors: error::plain_errors,
    // `{"next": "/v1/notes?cursor=…"}`.
    next_cursor: cursor::next_field,
};

const INFO: Describe = Describe {
    name: "notes",
    version: env!("CARGO_PKG_VERSION"),
    description: "A tiny notes API: the example of the README's guide.",
    // `Authorization: Bearer <token>`, added by the host.
    auth: Auth::Bearer("token"),
    fields: &[Field {
        name: "token",
        label: "API token",
        description: "The key notes-api was started with (--key).",
        required: true,
        secret: true,
        default_value: None,
    }],
    origins: &["https://notes.example"],
    rate_limits: &[],
    areas: &[notes::ACTIVITIES],
    triggers: notes::TRIGGERS,
    icon: None,
    extra_keys: &[],
};

impl exports::connector::sdk::metadata::Guest for Connector {
    fn describe() -> ConnectorInfo {
        INFO.build()
    }
}
