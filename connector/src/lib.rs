//! # The Constant Contact V3 connector
//!
//! A WebAssembly component (`wasm32-wasip2`) whose activities are typed functions
//! declared in WIT (`wit/constant-contact/*.wit`). A host loads it, asks
//! `describe` what it is, and calls one activity per request with a fresh instance.
//!
//! The invariant this crate keeps: **it never sees a credential.** It sends plain
//! requests to `https://api.cc.email`; the host checks the origin against
//! `egress-origins` and adds `Authorization: Bearer …` on the way out. So there is no
//! auth code, no base URL setting, no retry loop here: the host owns all of that.
//!
//! # Layout (read in this order)
//!
//! - `lib.rs` (this file): the bindings, [`CC`] (the API), and `describe`'s data.
//! - `errors`: Constant Contact's two error-body shapes, the SDK's error hook.
//! - One module per API area, each the same shape: an `ACTIVITIES` metadata list
//!   (flags and pitfalls, shown by `describe`), then a `Guest` impl with one short
//!   function per activity: `account`, `contacts`, `custom_fields`, `lists`,
//!   `sign_up_forms`, `tags`, `bulk` (background activities), `campaigns`,
//!   `campaign_delivery` (A/B tests, resends, previews, send history), `reports`,
//!   `email_reports`, `landing_page_reports`, `segments`, `events`, `automations`,
//!   `social`.
//! - `http`: `http-request` and `http-read`, any path under `/v3/` for what the
//!   typed activities lack (the SDK's `proxy` does the work).
//! - `triggers`: the polling triggers (`TRIGGERS`, shown by `describe`), each a
//!   filter of a list endpoint handed to the SDK's `trigger::poll`.
//!
//! HTTP, statuses, JSON, bounds and cursors are the SDK's (`connector/sdk`). The
//! WIT records are the requests and answers themselves: wit-bindgen derives serde
//! on them, so an activity needs a serde struct of its own only where the API's
//! JSON and the WIT record really differ (`contacts::ContactPut`).
//!
//! # Writing an activity
//!
//! Add its function to the area's WIT interface, its `ActivityMeta` to the area's
//! `ACTIVITIES` (starting from the preset for its kind: `..ActivityMeta::READ`,
//! `CREATE`, `UPDATE`, `DELETE` or `ACTION`), and its function to the area's
//! `Guest` impl, in three steps: check the spec's bounds (`check`), send
//! (`CC.get(..)…`), return the WIT record.
//! Its `///` gives a one-line summary, `METHOD /v3/path` with the doc link, the
//! scope, and why it is (or is not) retry-safe, read-only and destructive; its
//! pitfalls are data in `ACTIVITIES`, once, because `describe` shows them.
#![warn(missing_docs)]

/// The bindings: Rust types and `Guest` traits for every WIT interface the world
/// exports, generated at compile time from `wit/`.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../wit/sdk", "../wit/constant-contact"],
        world: "constant-contact:connector/connector",
        // `activity-error` and the describe records are the SDK's own types.
        with: {
            "connector:sdk/types@0.4.0": connector_sdk::types,
            "connector:sdk/http-types@0.4.0": connector_sdk::http_types,
        },
        // The records are the API's JSON: `connector_sdk::json` reads and writes them.
        additional_derives: [serde::Serialize, serde::Deserialize],
        generate_all,
    });
}
// Short paths for the area modules: `crate::exports::constant_contact::…`.
use bindings::exports;

mod account;
mod automations;
mod bulk;
mod campaign_delivery;
mod campaigns;
mod contacts;
mod custom_fields;
mod email_reports;
mod errors;
mod events;
mod http;
mod landing_page_reports;
mod lists;
mod reports;
mod segments;
mod sign_up_forms;
mod social;
mod tags;
mod triggers;

use connector_sdk::types::{ClientAuth, ConnectorInfo, LimitScope, LimitWindow, RateLimit};
use connector_sdk::{cursor, Api, Auth, Describe, Field};

/// The type the host calls into: every area module implements its `Guest` trait on it.
pub struct Connector;

// Wires `Connector` to the component's exports (one per WIT interface).
bindings::export!(Connector with_types_in bindings);

/// The Constant Contact V3 API. The host may map the origin elsewhere (a test
/// sandbox, a proxy), so there is no base-URL setting.
pub const CC: Api = Api {
    origin: "https://api.cc.email",
    path_prefix: "/v3/",
    errors: errors::parse,
    // `{"_links": {"next": {"href": "/v3/contacts?cursor=…"}}}`.
    next_cursor: cursor::links_next_href,
};

/// An endpoint of Constant Contact's authorization server (Okta-based, see the API
/// reference §1). A macro because `concat!` takes literals only.
macro_rules! authz {
    ($path:literal) => {
        concat!("https://authz.constantcontact.com/oauth2/default/v1", $path)
    };
}

/// What `describe` returns.
const INFO: Describe = Describe {
    name: "constant-contact",
    version: env!("CARGO_PKG_VERSION"),
    description: "Constant Contact V3: the account, contacts, lists, tags, custom fields, \
                  sign-up forms, bulk activities, exports and imports, email campaigns \
                  with A/B tests and resends, every report, segments, events, social \
                  posts and automations, and any other path through http-request; \
                  triggers for contact, campaign and bulk-activity changes.",
    auth: Auth::OAuth2 {
        authorize_url: authz!("/authorize"),
        token_url: authz!("/token"),
        device_authorize_url: Some(authz!("/device/authorize")),
        // `offline_access` is what makes the token endpoint return a refresh token.
        scopes: &[
            "account_read",
            "account_update",
            "contact_data",
            "campaign_data",
            "offline_access",
        ],
        // Constant Contact documents HTTP Basic for the client secret.
        client_auth: ClientAuth::Basic,
        pkce: true,
    },
    fields: &[
        Field {
            name: "client_id",
            label: "API key",
            description: "The application's API key (OAuth2 client id) from the Constant \
                          Contact developer portal.",
            required: true,
            // An API key identifies the app; it is not a secret.
            secret: false,
            default_value: None,
        },
        Field {
            name: "client_secret",
            label: "Client secret",
            description: "The application's client secret. Leave empty for PKCE or \
                          device-flow apps, which have none.",
            required: false,
            secret: true,
            default_value: None,
        },
    ],
    // The only origin the connector calls. Tests and demos point it elsewhere with a
    // connection-level origin override in the host, not in this code.
    origins: &["https://api.cc.email"],
    // Per application (every account connected through one API key): 4 requests
    // a second, and 10,000 a day that reset at 00:00 UTC (reference §2.3).
    rate_limits: &[
        RateLimit {
            requests: 4,
            per: LimitScope::Application,
            window: LimitWindow::Sliding(1),
        },
        RateLimit {
            requests: 10_000,
            per: LimitScope::Application,
            window: LimitWindow::Daily(0),
        },
    ],
    areas: &[
        account::ACTIVITIES,
        contacts::ACTIVITIES,
        custom_fields::ACTIVITIES,
        lists::ACTIVITIES,
        sign_up_forms::ACTIVITIES,
        tags::ACTIVITIES,
        bulk::ACTIVITIES,
        campaigns::ACTIVITIES,
        campaign_delivery::ACTIVITIES,
        reports::ACTIVITIES,
        email_reports::ACTIVITIES,
        landing_page_reports::ACTIVITIES,
        segments::ACTIVITIES,
        events::ACTIVITIES,
        automations::ACTIVITIES,
        social::ACTIVITIES,
        http::ACTIVITIES,
    ],
    triggers: triggers::TRIGGERS,
    icon: Some(include_str!("icon.svg")),
    extra_keys: &[],
};

impl exports::connector::sdk::metadata::Guest for Connector {
    /// Everything a host needs before it can run an activity: how to authenticate,
    /// which connection fields to ask for, where the connector may connect, the
    /// rate limits and the activity catalogue.
    fn describe() -> ConnectorInfo {
        INFO.build()
    }
}
