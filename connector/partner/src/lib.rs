//! # The Constant Contact Technology Partners connector
//!
//! A second component from the same SDK as the Constant Contact connector, for
//! the partner API (`/v3/partner/...`): a technology partner's client accounts
//! (`accounts`) and its webhook subscriptions (`webhooks`).
//!
//! The partner API wants **two credentials on every request** (the spec's
//! `security`: `ctctPartnerAuthorizer` and `api_key` together): a partner access
//! token from an OAuth2 client-credentials grant at Constant Contact's partner
//! token endpoint (an Amazon Cognito domain), and the partner's API key in
//! `x-api-key`. Both are the host's business (`connector:sdk@0.4.0`): `describe`
//! says `oauth2-client-credentials` and one extra key, the host fetches and
//! renews the token, and adds both to requests to `https://api.cc.email` only.
//! This code never sees either.
//!
//! # Layout
//!
//! - `lib.rs` (this file): the bindings, [`CC`], and `describe`'s data.
//! - `errors`: Constant Contact's error bodies, the very file the Constant
//!   Contact connector uses (`connector/src/errors.rs`).
//! - `accounts`, `webhooks`: one module per API area, each an `ACTIVITIES` list
//!   and a `Guest` impl with one short function per activity.
//! - `http`: `http-request` and `http-read` (the SDK's `proxy`), any path under
//!   `/v3/` with the partner's credentials.
#![warn(missing_docs)]

/// The bindings for `wit/constant-contact-partner`; the `connector:sdk` types are the SDK's.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../../wit/sdk", "../../wit/constant-contact-partner"],
        world: "constant-contact:partner/partner-connector",
        with: {
            "connector:sdk/types@0.4.0": connector_sdk::types,
            "connector:sdk/http-types@0.4.0": connector_sdk::http_types,
        },
        additional_derives: [serde::Serialize, serde::Deserialize],
        generate_all,
    });
}
use bindings::exports;

mod accounts;
// One parser for Constant Contact's error bodies, shared with the main connector.
#[path = "../../src/errors.rs"]
mod errors;
mod http;
mod webhooks;

use connector_sdk::types::{
    ClientAuth, ConnectorInfo, KeyPlacement, LimitScope, LimitWindow, RateLimit,
};
use connector_sdk::{cursor, Api, Auth, Describe, Field, Key};

/// The type the host calls into.
pub struct Connector;

bindings::export!(Connector with_types_in bindings);

/// The V3 API, partner paths included. The host may map the origin elsewhere.
pub const CC: Api = Api {
    origin: "https://api.cc.email",
    path_prefix: "/v3/",
    errors: errors::parse,
    // `{"_links": {"next": {"href": "/v3/partner/accounts?…&offset=50"}}}`.
    next_cursor: cursor::links_next_href,
};

/// The scope of every partner endpoint (spec `ctctPartnerAuthorizer`).
pub const PARTNER: &str = "v3api/general.partner";

/// What `describe` returns.
const INFO: Describe = Describe {
    name: "constant-contact-partner",
    version: env!("CARGO_PKG_VERSION"),
    description: "Constant Contact for technology partners: provision and list client \
                  accounts, change and cancel their billing plans, add SSO users, \
                  unsubscribe contacts, send requests on a managed account's behalf, and \
                  manage the partner's webhook subscriptions.",
    // The spec names the token endpoint as ctctPartnerAuthorizer's URL; Cognito
    // takes the client secret as HTTP Basic.
    auth: Auth::OAuth2ClientCredentials {
        token_url: "https://v3api-partner.auth.us-east-1.amazoncognito.com/oauth2/token",
        scopes: &[PARTNER],
        client_auth: ClientAuth::Basic,
    },
    fields: &[
        Field {
            name: "client_id",
            label: "Partner client id",
            description: "The client id Constant Contact's partner team issued for the \
                          partner token endpoint.",
            required: true,
            secret: false,
            default_value: None,
        },
        Field {
            name: "client_secret",
            label: "Partner client secret",
            description: "The secret of that client; keep it in a credential store.",
            required: true,
            secret: true,
            default_value: None,
        },
        Field {
            name: "api_key",
            label: "Partner API key",
            description: "The partner's API key, sent as x-api-key beside the token.",
            required: true,
            secret: true,
            default_value: None,
        },
    ],
    origins: &["https://api.cc.email"],
    // Partner keys: 10 a second and 250,000 a day (reference §2.3, on request).
    rate_limits: &[
        RateLimit {
            requests: 10,
            per: LimitScope::Application,
            window: LimitWindow::Sliding(1),
        },
        RateLimit {
            requests: 250_000,
            per: LimitScope::Application,
            window: LimitWindow::Daily(0),
        },
    ],
    areas: &[accounts::ACTIVITIES, webhooks::ACTIVITIES, http::ACTIVITIES],
    triggers: &[],
    icon: None,
    extra_keys: &[Key {
        name: "x-api-key",
        placement: KeyPlacement::Header,
        field: "api_key",
        prefix: None,
    }],
};

impl exports::connector::sdk::metadata::Guest for Connector {
    fn describe() -> ConnectorInfo {
        INFO.build()
    }
}
