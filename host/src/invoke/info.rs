//! What `connector:sdk/metadata.describe` returns, as Rust data.
//!
//! The host reads it through the same JSON conversion as any other value, so
//! it needs no generated bindings: the field names below are the WIT names in
//! snake_case.

use serde::{Deserialize, Serialize};

/// Connector metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// Short machine name, e.g. `constant-contact`.
    pub name: String,
    /// The connector's own version.
    pub version: String,
    /// One paragraph for people.
    pub description: String,
    /// How connections authenticate.
    pub auth: AuthScheme,
    /// The connection's fields.
    pub fields: Vec<ConnectionField>,
    /// Origins the connector may call.
    pub egress_origins: Vec<String>,
    /// Every activity.
    pub activities: Vec<ActivityInfo>,
}

/// `auth-scheme`: `"none"` or `{"oauth2": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// No authentication.
    None,
    /// OAuth2 against the given server.
    Oauth2(OAuth2),
}

/// An OAuth2 authorization server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuth2 {
    /// Where the browser is sent to sign in.
    pub authorize_url: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_url: String,
    /// The device-authorization endpoint, when the device flow is offered.
    pub device_authorize_url: Option<String>,
    /// Every scope the connector may request.
    pub scopes: Vec<String>,
    /// `basic`, `request_body` or `none`.
    pub client_auth: String,
    /// Whether PKCE (S256) is accepted.
    pub pkce: bool,
}

/// A connection field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionField {
    /// Key in the connection file's `[fields]`.
    pub name: String,
    /// Label for people.
    pub label: String,
    /// Help text.
    pub description: String,
    /// Whether a value must be given.
    pub required: bool,
    /// Whether the value is a secret.
    pub secret: bool,
    /// Value used when none is given.
    pub default_value: Option<String>,
}

/// An activity as described by the connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivityInfo {
    /// Export name, e.g. `create-contact`.
    pub name: String,
    /// Name for people.
    pub display_name: String,
    /// Grouping, e.g. `Contacts`.
    pub category: String,
    /// What it does.
    pub description: String,
    /// Scopes the access token must carry.
    pub required_scopes: Vec<String>,
    /// Whether repeating a call is harmless.
    pub retry_safe: bool,
}
