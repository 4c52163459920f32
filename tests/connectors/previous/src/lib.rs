//! # The previous connector: built against `connector:sdk@0.3.0`, without the SDK
//!
//! `connector:sdk@0.4.0` added a case to `auth-scheme` (the client-credentials
//! grant) and `extra-keys` to `connector-info`, which changes both types: a
//! component built before must keep working. This one is written against the
//! 0.3.0 contract kept in `wit/sdk-0.3.0` (raw wit-bindgen, as the SDK of the
//! time generated it), so the tests prove the host still loads, describes and
//! runs it. Do not port it to the SDK; that would defeat its purpose.
#![warn(missing_docs)]

/// Generated bindings for `wit/previous.wit` and `connector:sdk@0.3.0`.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../../../wit/sdk-0.3.0", "wit"],
        world: "test:previous/previous-connector",
        generate_all,
    });
}

use bindings::connector::sdk::types::{
    Activity, ActivityError, ApiKey, AuthScheme, ConnectionField, ConnectorInfo, KeyPlacement,
};
use bindings::exports::connector::sdk::metadata;
use bindings::exports::test::previous::previous::{Guest, WhisperInput, WhisperOutput};

/// The type the host calls into.
struct Previous;

bindings::export!(Previous with_types_in bindings);

impl metadata::Guest for Previous {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            name: "previous".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "A connector:sdk@0.3.0 component: whisper.".into(),
            // A case 0.3.0 has, so the variant's cases are read by their 0.3.0 order.
            auth: AuthScheme::ApiKey(ApiKey {
                name: "x-api-key".into(),
                placement: KeyPlacement::Header,
                field: "key".into(),
                prefix: None,
            }),
            fields: vec![ConnectionField {
                name: "key".into(),
                label: "Key".into(),
                description: "An API key.".into(),
                required: false,
                secret: true,
                default_value: None,
            }],
            egress_origins: Vec::new(),
            activities: vec![Activity {
                name: "whisper".into(),
                display_name: "Whisper".into(),
                category: "Previous".into(),
                description: "Returns the text in lower case.".into(),
                required_scopes: Vec::new(),
                retry_safe: true,
                read_only: true,
                destructive: false,
                pitfalls: vec!["Nothing is sent anywhere.".into()],
                constraints: Vec::new(),
            }],
            rate_limits: Vec::new(),
            triggers: Vec::new(),
            icon: None,
        }
    }
}

impl Guest for Previous {
    fn whisper(input: WhisperInput) -> Result<WhisperOutput, ActivityError> {
        Ok(WhisperOutput {
            whispered: input.text.to_lowercase(),
        })
    }
}
