//! What `connector:sdk/metadata.describe` returns, as Rust data.
//!
//! The host reads it through the same JSON conversion as any other value, so
//! it needs no generated bindings: the field names below are the WIT names in
//! snake_case. Fields that later releases of `connector:sdk` added (0.2.0 to
//! 0.4.0) default when an older component leaves them out, so every version
//! loads.

use serde::{Deserialize, Serialize};

use crate::name::Name;

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
    /// The API's limits (sdk 0.2.0: per access token, sliding; 0.3.0: what
    /// each counts against and over which window; none from 0.1.0).
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    /// Polling triggers (sdk 0.3.0; none before).
    #[serde(default)]
    pub triggers: Vec<TriggerInfo>,
    /// An SVG icon (sdk 0.3.0), shown only as an image.
    #[serde(default)]
    pub icon: Option<String>,
    /// API keys added beside `auth`'s credential (sdk 0.4.0; none before).
    #[serde(default)]
    pub extra_keys: Vec<ApiKey>,
}

/// `rate-limit`: at most `requests` per `window`, counted against `per`.
///
/// Read from 0.3.0's `{requests, per, window}` and from 0.2.0's (and old
/// connection files') `{requests, seconds}`, which is per token, sliding;
/// a connection file may also write `seconds = N` beside `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRateLimit")]
pub struct RateLimit {
    /// Requests allowed in each window.
    pub requests: u32,
    /// What the requests count against.
    pub per: LimitScope,
    /// The window.
    pub window: LimitWindow,
}

/// `limit-scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// Every request of the application (API key, OAuth client).
    Application,
    /// Every request for one account (one connection).
    Account,
    /// Every request with one access token.
    Token,
}

/// `limit-window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitWindow {
    /// The last this many seconds.
    Sliding(u32),
    /// A UTC calendar day starting this many seconds after midnight.
    Daily(u32),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    requests: u32,
    per: Option<LimitScope>,
    seconds: Option<u32>,
    window: Option<LimitWindow>,
}

impl TryFrom<RawRateLimit> for RateLimit {
    type Error = String;

    fn try_from(raw: RawRateLimit) -> Result<RateLimit, String> {
        let window = match (raw.seconds, raw.window) {
            (Some(seconds), None) => LimitWindow::Sliding(seconds),
            (None, Some(window)) => window,
            _ => return Err("a rate limit has `seconds` or `window`, not both".into()),
        };
        if let LimitWindow::Daily(offset) = window {
            if offset >= 86_400 {
                return Err("a daily window starts less than 86400 seconds after midnight".into());
            }
        }
        Ok(RateLimit {
            requests: raw.requests,
            per: raw.per.unwrap_or(LimitScope::Token),
            window,
        })
    }
}

/// `trigger`: an exported poll function and how often to call it (sdk 0.3.0).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriggerInfo {
    /// Export name, e.g. `contact-updated`.
    pub name: String,
    /// Name for people.
    pub display_name: String,
    /// What it reports.
    pub description: String,
    /// Scopes the access token must carry.
    pub required_scopes: Vec<String>,
    /// Seconds between polls by default.
    pub default_interval_seconds: u32,
    /// The shortest interval allowed.
    pub minimum_interval_seconds: u32,
}

/// `auth-scheme`: `"none"`, `{"oauth2": {...}}`, or (sdk 0.2.0) a static
/// credential taken from a connection field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// No authentication.
    None,
    /// OAuth2 against the given server.
    Oauth2(OAuth2),
    /// `Authorization: Bearer <field>`, the field's name.
    Bearer(String),
    /// An API key in a header or query parameter.
    ApiKey(ApiKey),
    /// HTTP Basic from two fields.
    Basic(BasicAuth),
    /// A bearer token from an OAuth2 client-credentials grant (sdk 0.4.0),
    /// with the `client_id` and `client_secret` fields.
    Oauth2ClientCredentials(ClientCredentials),
}

/// `client-credentials`: where the host asks for a machine token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientCredentials {
    /// The token endpoint (a proposal: the connection pins it).
    pub token_url: String,
    /// The scopes to ask for.
    pub scopes: Vec<String>,
    /// `basic` or `request_body`.
    pub client_auth: String,
}

/// `api-key`: where the key goes and which field holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    /// Header or query parameter name.
    pub name: String,
    /// `header` or `query`.
    pub placement: KeyPlacement,
    /// The connection field holding the key.
    pub field: String,
    /// Text before the key in a header.
    pub prefix: Option<String>,
}

/// `key-placement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPlacement {
    /// A request header.
    Header,
    /// A query parameter.
    Query,
}

/// `basic-auth`: the fields holding the user name and the password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BasicAuth {
    /// The user name's field.
    pub username_field: String,
    /// The password's field.
    pub password_field: String,
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
    /// Whether it only reads (sdk 0.2.0; `false` from 0.1.0 components).
    #[serde(default)]
    pub read_only: bool,
    /// Whether it deletes or overwrites for good (sdk 0.2.0; for 0.1.0
    /// components the host assumes so unless the activity is retry-safe).
    #[serde(default)]
    pub destructive: bool,
    /// What callers get wrong (sdk 0.2.0).
    #[serde(default)]
    pub pitfalls: Vec<String>,
    /// Bounds on the input the WIT types cannot say (sdk 0.3.0).
    #[serde(default)]
    pub constraints: Vec<super::constraints::Constraint>,
}

impl ConnectorInfo {
    /// Checks that every name `describe` gave is a [`Name`]: the connector's,
    /// each field's and each activity's become parts of file paths, store
    /// paths, routes and tool names, so a connector must not choose them
    /// freely. Also that no two fields or activities share a name, and that
    /// the auth scheme names declared fields.
    ///
    /// # Errors
    ///
    /// The first problem, naming the place (`fields[2].name`).
    pub fn check_names(&self) -> Result<(), String> {
        let check = |place: String, text: &str, what: &'static str| {
            Name::parse(text, what).map(drop).map_err(|e| {
                format!(
                    "`describe` {place} \"{}\": {e}",
                    crate::redact::untrusted(text)
                )
            })
        };
        check("name".into(), &self.name, "connector name")?;
        for (i, field) in self.fields.iter().enumerate() {
            check(format!("fields[{i}].name"), &field.name, "field name")?;
            if self.fields[..i].iter().any(|f| f.name == field.name) {
                return Err(format!("`describe` names field {} twice", field.name));
            }
        }
        for (i, activity) in self.activities.iter().enumerate() {
            check(
                format!("activities[{i}].name"),
                &activity.name,
                "activity name",
            )?;
            if self.activities[..i].iter().any(|a| a.name == activity.name) {
                return Err(format!("`describe` names activity {} twice", activity.name));
            }
        }
        for (i, trigger) in self.triggers.iter().enumerate() {
            check(format!("triggers[{i}].name"), &trigger.name, "trigger name")?;
            let taken = self.triggers[..i].iter().any(|t| t.name == trigger.name)
                || self.activities.iter().any(|a| a.name == trigger.name);
            if taken {
                return Err(format!(
                    "`describe` names {} twice (a trigger is not an activity)",
                    trigger.name
                ));
            }
            if trigger.minimum_interval_seconds == 0
                || trigger.default_interval_seconds < trigger.minimum_interval_seconds
            {
                return Err(format!(
                    "`describe`'s trigger {} needs a minimum interval of at least 1 s and a default no shorter than it",
                    trigger.name
                ));
            }
        }
        let extra = self.extra_keys.iter().map(|k| k.field.as_str());
        for field in self.auth.fields().into_iter().chain(extra) {
            if !self.fields.iter().any(|f| f.name == field) {
                return Err(format!(
                    "`describe`'s auth scheme uses field {}, which it does not declare",
                    crate::redact::untrusted(field)
                ));
            }
        }
        Ok(())
    }
}

impl AuthScheme {
    /// The connection fields the scheme takes its credential from.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            AuthScheme::None | AuthScheme::Oauth2(_) => Vec::new(),
            AuthScheme::Oauth2ClientCredentials(_) => vec!["client_id", "client_secret"],
            AuthScheme::Bearer(field) => vec![field],
            AuthScheme::ApiKey(key) => vec![&key.field],
            AuthScheme::Basic(b) => vec![&b.username_field, &b.password_field],
        }
    }
}
