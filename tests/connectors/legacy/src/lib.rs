//! # The legacy connector: built against `connector:sdk@0.1.0`, without the SDK
//!
//! Components built before `connector:sdk@0.2.0` exist and must keep working:
//! this one is written as they were (raw wit-bindgen, the 0.1.0 contract in
//! `wit/sdk-0.1.0`) so the tests prove the host still loads, describes and runs
//! them. Do not port it to the SDK; that would defeat its purpose.
#![warn(missing_docs)]

/// Generated bindings for `wit/legacy.wit` and `connector:sdk@0.1.0`.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../../../wit/sdk-0.1.0", "wit"],
        world: "test:legacy/legacy-connector",
        generate_all,
    });
}

use bindings::connector::sdk::types::{Activity, ActivityError, AuthScheme, ConnectorInfo};
use bindings::exports::connector::sdk::metadata;
use bindings::exports::test::legacy::legacy::{Guest, ShoutInput, ShoutOutput};

/// The type the host calls into.
struct Legacy;

bindings::export!(Legacy with_types_in bindings);

impl metadata::Guest for Legacy {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            name: "legacy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "A connector:sdk@0.1.0 component: shout.".into(),
            auth: AuthScheme::None,
            fields: Vec::new(),
            egress_origins: Vec::new(),
            activities: vec![Activity {
                name: "shout".into(),
                display_name: "Shout".into(),
                category: "Legacy".into(),
                description: "Returns the text in upper case.".into(),
                required_scopes: Vec::new(),
                retry_safe: true,
            }],
        }
    }
}

impl Guest for Legacy {
    fn shout(input: ShoutInput) -> Result<ShoutOutput, ActivityError> {
        Ok(ShoutOutput {
            shouted: input.text.to_uppercase(),
        })
    }
}
