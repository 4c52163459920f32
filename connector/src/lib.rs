//! # The Constant Contact V3 connector
//!
//! A WebAssembly component (`wasm32-wasip2`) whose activities are typed functions
//! declared in WIT (`wit/constant-contact/*.wit`). A host loads it, asks
//! `describe` what it is, and
//! calls one activity per request with a fresh instance.
//!
//! The invariant this crate keeps: **it never sees a credential.** It sends plain
//! requests to `https://api.cc.email`; the host checks the origin against
//! `egress-origins` and adds `Authorization: Bearer …` on the way out. So there is no
//! auth code, no base URL setting, no retry loop here: the host owns all of that.
//!
//! # Layout (read in this order)
//!
//! - `lib.rs` (this file): the bindings, `describe`, and [`ActivityMeta`].
//! - `http`: the only module that touches `wasi:http`: build the request, send it,
//!   map the status to an `activity-error`, parse JSON, follow cursors.
//! - One module per API area, each the same shape: an `ACTIVITIES` metadata list,
//!   serde structs for the API's JSON, and a `Guest` impl with one short function
//!   per activity: `account`, `contacts`, `custom_fields`, `lists`,
//!   `sign_up_forms`, `campaigns`. The two big areas keep their JSON structs in
//!   a `json` child module (`contacts/json.rs`, `campaigns/json.rs`).
//!
//! To write a connector for another API, copy this crate, replace the WIT, keep
//! `http.rs` (change the origin), and write one area file per resource.
#![warn(missing_docs)]

/// The bindings: Rust types and `Guest` traits for every WIT interface the world
/// exports, generated at compile time from `wit/`.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../wit/sdk-0.1.0", "../wit/constant-contact"],
        world: "constant-contact:connector/connector",
        // Also generate the `connector:sdk` package the world refers to.
        generate_all,
    });
}
// Short paths for the area modules: `crate::exports::…`, `crate::connector::sdk::…`.
use bindings::{connector, exports};

mod account;
mod campaigns;
mod contacts;
mod custom_fields;
mod http;
mod lists;
mod sign_up_forms;

use connector::sdk::types::{
    Activity, AuthScheme, ClientAuth, ConnectionField, ConnectorInfo, Oauth2,
};

/// The type the host calls into: every area module implements its `Guest` trait on it.
pub struct Connector;

// Wires `Connector` to the component's exports (one per WIT interface).
bindings::export!(Connector with_types_in bindings);

/// One activity's metadata, written as a `const` beside the activity's code so a
/// new activity touches its WIT and one area file only.
pub struct ActivityMeta {
    /// The WIT export's name, e.g. `create-contact`.
    pub name: &'static str,
    /// A human name for catalogues, e.g. `Create contact`.
    pub display_name: &'static str,
    /// Groups activities in a host's UI, e.g. `Contacts`.
    pub category: &'static str,
    /// One sentence a user reads before picking the activity.
    pub description: &'static str,
    /// OAuth2 scopes the access token must carry (the host checks before calling).
    pub scopes: &'static [&'static str],
    /// True when calling twice has the same effect as calling once.
    pub retry_safe: bool,
}

impl ActivityMeta {
    fn to_wit(&self) -> Activity {
        Activity {
            name: self.name.into(),
            display_name: self.display_name.into(),
            category: self.category.into(),
            description: self.description.into(),
            required_scopes: self.scopes.iter().map(|s| s.to_string()).collect(),
            retry_safe: self.retry_safe,
        }
    }
}

/// Constant Contact's authorization server (Okta-based, see the API reference §1).
const AUTHZ: &str = "https://authz.constantcontact.com/oauth2/default/v1";

impl exports::connector::sdk::metadata::Guest for Connector {
    /// Everything a host needs before it can run an activity: how to authenticate,
    /// which connection fields to ask for, where the connector may connect, and the
    /// activity catalogue.
    fn describe() -> ConnectorInfo {
        let areas = [
            account::ACTIVITIES,
            contacts::ACTIVITIES,
            custom_fields::ACTIVITIES,
            lists::ACTIVITIES,
            sign_up_forms::ACTIVITIES,
            campaigns::ACTIVITIES,
        ];
        ConnectorInfo {
            name: "constant-contact".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Constant Contact V3: account emails, contacts, lists, custom fields, \
                          sign-up forms and email campaigns."
                .into(),
            auth: AuthScheme::Oauth2(oauth2()),
            fields: connection_fields(),
            // The only origin the connector calls. Tests and demos point it elsewhere
            // with a connection-level origin override in the host, not in this code.
            egress_origins: vec!["https://api.cc.email".into()],
            activities: areas
                .iter()
                .flat_map(|area| area.iter().map(ActivityMeta::to_wit))
                .collect(),
        }
    }
}

/// Constant Contact's OAuth2 server: code flow with PKCE, device flow, Basic client auth.
fn oauth2() -> Oauth2 {
    Oauth2 {
        authorize_url: format!("{AUTHZ}/authorize"),
        token_url: format!("{AUTHZ}/token"),
        device_authorize_url: Some(format!("{AUTHZ}/device/authorize")),
        // `offline_access` is what makes the token endpoint return a refresh token.
        scopes: [
            "account_read",
            "account_update",
            "contact_data",
            "campaign_data",
            "offline_access",
        ]
        .map(String::from)
        .into(),
        // Constant Contact documents HTTP Basic for the client secret.
        client_auth: ClientAuth::Basic,
        pkce: true,
    }
}

/// The connection's fields: the app's OAuth2 client credentials.
fn connection_fields() -> Vec<ConnectionField> {
    vec![
        ConnectionField {
            name: "client_id".into(),
            label: "API key".into(),
            description: "The application's API key (OAuth2 client id) from the Constant Contact \
                          developer portal."
                .into(),
            required: true,
            // An API key identifies the app; it is not a secret.
            secret: false,
            default_value: None,
        },
        ConnectionField {
            name: "client_secret".into(),
            label: "Client secret".into(),
            description: "The application's client secret. Leave empty for PKCE or device-flow \
                          apps, which have none."
                .into(),
            required: false,
            secret: true,
            default_value: None,
        },
    ]
}
