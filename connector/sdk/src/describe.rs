//! What `describe` returns, written as `const` data.
//!
//! Each area file of a connector keeps an `ACTIVITIES: &[ActivityMeta]` list beside
//! its functions; the connector's `lib.rs` holds one [`Describe`] naming the areas,
//! the auth scheme, the connection fields, the origins and the rate limits, and
//! its `describe` export is `INFO.build()`. A new activity adds one entry to its
//! area's list and nothing else.

use crate::check::Bound;
use crate::types::{
    Activity, ActivityError, ApiKey, AuthScheme, BasicAuth, ClientAuth, ClientCredentials,
    ConnectionField, ConnectorInfo, KeyPlacement, Oauth2, RateLimit, Trigger,
};
#[cfg(test)]
use crate::types::{LimitScope, LimitWindow};

/// One activity's metadata, beside its function in the area file.
///
/// Start from the preset that says what kind of activity it is, so the flags
/// are right by construction and each entry lists only what is its own:
///
/// ```
/// use connector_sdk::ActivityMeta;
///
/// const GET_THING: ActivityMeta = ActivityMeta {
///     name: "get-thing",
///     category: "Things",
///     description: "Gets one thing.",
///     scopes: &["things:read"],
///     pitfalls: &["Ids are case-sensitive."],
///     ..ActivityMeta::READ
/// };
/// assert!(GET_THING.retry_safe && GET_THING.read_only && !GET_THING.destructive);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ActivityMeta {
    /// The WIT export's name, e.g. `create-contact`.
    pub name: &'static str,
    /// A human name for catalogues; empty means "from `name`" (`create-contact`
    /// → `Create contact`).
    pub display_name: &'static str,
    /// Groups activities in a host's UI, e.g. `Contacts`.
    pub category: &'static str,
    /// One sentence a user reads before picking the activity.
    pub description: &'static str,
    /// OAuth2 scopes the access token must carry (the host checks before calling).
    pub scopes: &'static [&'static str],
    /// Calling twice has the same effect as calling once (the host may retry it).
    pub retry_safe: bool,
    /// It only reads: nothing changes on the remote side.
    pub read_only: bool,
    /// It deletes or overwrites data that cannot be got back.
    pub destructive: bool,
    /// What callers get wrong, one sentence each (shown to people and agents).
    pub pitfalls: &'static [&'static str],
    /// The API's bounds on input values, which the WIT types cannot say, in
    /// groups (so shared groups compose in a `const`): `describe` states
    /// them, the host shows them in schemas and checks them before the
    /// activity runs, and the activity checks them too
    /// ([`ActivityMeta::check`]).
    pub bounds: &'static [&'static [Bound]],
}

/// A connection field, e.g. a client id or an API key.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The key in the connection's `[fields]`.
    pub name: &'static str,
    /// A label for people.
    pub label: &'static str,
    /// Help text: where to find the value.
    pub description: &'static str,
    /// Whether a value must be given.
    pub required: bool,
    /// Secret values may come from a credential store and are never shown.
    pub secret: bool,
    /// Used when no value is given.
    pub default_value: Option<&'static str>,
}

/// How the connection authenticates. The host holds the credential and adds it to
/// requests to the declared origins; the connector never sees it.
#[derive(Clone, Copy, Debug)]
pub enum Auth {
    /// No credential.
    None,
    /// OAuth2 against this authorization server.
    OAuth2 {
        /// Where the browser signs in.
        authorize_url: &'static str,
        /// Where codes and refresh tokens are exchanged.
        token_url: &'static str,
        /// The device-authorization endpoint, if the device flow is offered.
        device_authorize_url: Option<&'static str>,
        /// Every scope the connector may ask for.
        scopes: &'static [&'static str],
        /// How the client authenticates at the token endpoint.
        client_auth: ClientAuth,
        /// Whether PKCE (S256) is accepted.
        pkce: bool,
    },
    /// `Authorization: Bearer <value of this field>`.
    Bearer(&'static str),
    /// An API key from `field`, as header or query parameter `name`.
    ApiKey {
        /// The header or query parameter.
        name: &'static str,
        /// Where it goes.
        placement: KeyPlacement,
        /// The connection field holding the key.
        field: &'static str,
        /// Text before the key in a header, e.g. `Token `.
        prefix: Option<&'static str>,
    },
    /// HTTP Basic from two fields.
    Basic {
        /// The user name's field.
        username_field: &'static str,
        /// The password's field.
        password_field: &'static str,
    },
    /// `Authorization: Bearer <token>` from an OAuth2 client-credentials grant
    /// (a machine credential: no person signs in). The host asks `token_url`
    /// with the connection's `client_id` and `client_secret` fields (declare
    /// both, the secret `secret`), keeps the token in memory and renews it.
    OAuth2ClientCredentials {
        /// The token endpoint (the host pins it on first use).
        token_url: &'static str,
        /// The scopes to ask for.
        scopes: &'static [&'static str],
        /// `Basic` or `RequestBody`.
        client_auth: ClientAuth,
    },
}

/// An API key the host adds to every request beside [`Describe::auth`]'s
/// credential, e.g. `x-api-key` beside a bearer token.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    /// The header or query parameter.
    pub name: &'static str,
    /// Where it goes.
    pub placement: KeyPlacement,
    /// The connection field holding the key (declare it `secret`).
    pub field: &'static str,
    /// Text before the key in a header.
    pub prefix: Option<&'static str>,
}

impl Key {
    /// The WIT record.
    pub fn build(&self) -> ApiKey {
        ApiKey {
            name: self.name.into(),
            placement: self.placement,
            field: self.field.into(),
            prefix: self.prefix.map(Into::into),
        }
    }
}

/// Everything `describe` says, as `const` data.
#[derive(Clone, Copy, Debug)]
pub struct Describe {
    /// Short machine name, e.g. `constant-contact`.
    pub name: &'static str,
    /// The connector's version (`env!("CARGO_PKG_VERSION")`).
    pub version: &'static str,
    /// One paragraph for people.
    pub description: &'static str,
    /// How connections authenticate.
    pub auth: Auth,
    /// The connection's fields.
    pub fields: &'static [Field],
    /// The origins (`scheme://host[:port]`) the connector calls; all others are denied.
    pub origins: &'static [&'static str],
    /// Limits the API enforces; the host spaces requests to stay under each.
    pub rate_limits: &'static [RateLimit],
    /// Each area's `ACTIVITIES`, concatenated in this order.
    pub areas: &'static [&'static [ActivityMeta]],
    /// Polling triggers (event sources), in the order `describe` lists them.
    pub triggers: &'static [TriggerMeta],
    /// An SVG icon for catalogues (at most 16 KiB; shown only as an image).
    pub icon: Option<&'static str>,
    /// API keys the host adds beside `auth`'s credential (usually none).
    pub extra_keys: &'static [Key],
}

/// A polling trigger, as `const` data: its export (see `trigger` in
/// `wit/sdk/sdk.wit` for the function's shape) and how often to poll it.
#[derive(Clone, Copy, Debug)]
pub struct TriggerMeta {
    /// Export name, e.g. `contact-updated`.
    pub name: &'static str,
    /// Name for people, e.g. `Contact updated`.
    pub display_name: &'static str,
    /// What one event means, and which API filter finds it.
    pub description: &'static str,
    /// Scopes the access token must carry.
    pub scopes: &'static [&'static str],
    /// Seconds between polls unless a subscription asks otherwise.
    pub default_interval_seconds: u32,
    /// The shortest interval a host lets a subscription ask for.
    pub minimum_interval_seconds: u32,
}

impl TriggerMeta {
    /// The `trigger` record `describe` returns.
    pub fn build(&self) -> Trigger {
        Trigger {
            name: self.name.into(),
            display_name: self.display_name.into(),
            description: self.description.into(),
            required_scopes: strings(self.scopes),
            default_interval_seconds: self.default_interval_seconds,
            minimum_interval_seconds: self.minimum_interval_seconds,
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl ActivityMeta {
    /// Only reads: retry-safe, read-only, not destructive.
    pub const READ: ActivityMeta = ActivityMeta {
        name: "",
        display_name: "",
        category: "",
        description: "",
        scopes: &[],
        retry_safe: true,
        read_only: true,
        destructive: false,
        pitfalls: &[],
        bounds: &[],
    };

    /// Adds something new: not retry-safe (a repeat adds it again or conflicts),
    /// not destructive.
    pub const CREATE: ActivityMeta = ActivityMeta {
        retry_safe: false,
        read_only: false,
        ..ActivityMeta::READ
    };

    /// Overwrites with the caller's values: retry-safe (a repeat writes the same),
    /// destructive (what it replaced is gone).
    pub const UPDATE: ActivityMeta = ActivityMeta {
        read_only: false,
        destructive: true,
        ..ActivityMeta::READ
    };

    /// Deletes: retry-safe (deleted twice is deleted), destructive.
    pub const DELETE: ActivityMeta = ActivityMeta::UPDATE;

    /// Acts outside the data, e.g. sends mail: not retry-safe (a repeat acts
    /// again), not destructive.
    pub const ACTION: ActivityMeta = ActivityMeta::CREATE;

    /// Checks `input` against [`ActivityMeta::bounds`] (the host has too,
    /// but a connector may run under a host that does not).
    ///
    /// # Errors
    ///
    /// `invalid-input` naming the first field out of bounds, and the bound.
    pub fn check<T: serde::Serialize + ?Sized>(&self, input: &T) -> Result<(), ActivityError> {
        crate::check::check(input, &self.bounds.concat())
    }

    /// The WIT record.
    pub fn build(&self) -> Activity {
        let display_name = match self.display_name {
            "" => display_name(self.name),
            given => given.to_owned(),
        };
        Activity {
            name: self.name.into(),
            display_name,
            category: self.category.into(),
            description: self.description.into(),
            required_scopes: strings(self.scopes),
            retry_safe: self.retry_safe,
            read_only: self.read_only,
            destructive: self.destructive,
            pitfalls: strings(self.pitfalls),
            constraints: self
                .bounds
                .iter()
                .flat_map(|group| group.iter().filter_map(Bound::constraint))
                .collect(),
        }
    }
}

/// `create-contact` → `Create contact`.
fn display_name(name: &str) -> String {
    let mut words = name.replace('-', " ");
    if let Some(first) = words.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    words
}

impl Field {
    /// The WIT record.
    pub fn build(&self) -> ConnectionField {
        ConnectionField {
            name: self.name.into(),
            label: self.label.into(),
            description: self.description.into(),
            required: self.required,
            secret: self.secret,
            default_value: self.default_value.map(Into::into),
        }
    }
}

impl Auth {
    /// The WIT variant.
    pub fn build(&self) -> AuthScheme {
        match *self {
            Auth::None => AuthScheme::None,
            Auth::OAuth2 {
                authorize_url,
                token_url,
                device_authorize_url,
                scopes,
                client_auth,
                pkce,
            } => AuthScheme::Oauth2(Oauth2 {
                authorize_url: authorize_url.into(),
                token_url: token_url.into(),
                device_authorize_url: device_authorize_url.map(Into::into),
                scopes: strings(scopes),
                client_auth,
                pkce,
            }),
            Auth::Bearer(field) => AuthScheme::Bearer(field.into()),
            Auth::ApiKey {
                name,
                placement,
                field,
                prefix,
            } => AuthScheme::ApiKey(ApiKey {
                name: name.into(),
                placement,
                field: field.into(),
                prefix: prefix.map(Into::into),
            }),
            Auth::Basic {
                username_field,
                password_field,
            } => AuthScheme::Basic(BasicAuth {
                username_field: username_field.into(),
                password_field: password_field.into(),
            }),
            Auth::OAuth2ClientCredentials {
                token_url,
                scopes,
                client_auth,
            } => AuthScheme::Oauth2ClientCredentials(ClientCredentials {
                token_url: token_url.into(),
                scopes: strings(scopes),
                client_auth,
            }),
        }
    }
}

impl Describe {
    /// The `connector-info` record `describe` returns.
    pub fn build(&self) -> ConnectorInfo {
        ConnectorInfo {
            name: self.name.into(),
            version: self.version.into(),
            description: self.description.into(),
            auth: self.auth.build(),
            fields: self.fields.iter().map(Field::build).collect(),
            egress_origins: strings(self.origins),
            activities: self
                .areas
                .iter()
                .flat_map(|area| area.iter().map(ActivityMeta::build))
                .collect(),
            rate_limits: self.rate_limits.to_vec(),
            triggers: self.triggers.iter().map(TriggerMeta::build).collect(),
            icon: self.icon.map(Into::into),
            extra_keys: self.extra_keys.iter().map(Key::build).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: ActivityMeta = ActivityMeta {
        name: "get-thing",
        category: "Things",
        description: "Gets a thing.",
        scopes: &["things:read"],
        pitfalls: &["Ids are case-sensitive."],
        ..ActivityMeta::READ
    };

    const INFO: Describe = Describe {
        name: "things",
        version: "1.0.0",
        description: "Things.",
        auth: Auth::Bearer("token"),
        fields: &[Field {
            name: "token",
            label: "Token",
            description: "An API token.",
            required: true,
            secret: true,
            default_value: None,
        }],
        origins: &["https://api.example.com"],
        rate_limits: &[RateLimit {
            requests: 4,
            per: LimitScope::Application,
            window: LimitWindow::Sliding(1),
        }],
        areas: &[
            &[READ],
            &[ActivityMeta {
                name: "delete-thing",
                display_name: "Remove a thing",
                ..ActivityMeta::DELETE
            }],
        ],
        triggers: &[],
        icon: None,
        extra_keys: &[Key {
            name: "x-api-key",
            placement: KeyPlacement::Header,
            field: "token",
            prefix: None,
        }],
    };

    #[test]
    fn presets_set_the_flags_their_names_say() {
        let flags = |m: ActivityMeta| (m.retry_safe, m.read_only, m.destructive);
        assert_eq!(flags(ActivityMeta::READ), (true, true, false));
        assert_eq!(flags(ActivityMeta::CREATE), (false, false, false));
        assert_eq!(flags(ActivityMeta::UPDATE), (true, false, true));
        assert_eq!(flags(ActivityMeta::DELETE), (true, false, true));
        assert_eq!(flags(ActivityMeta::ACTION), (false, false, false));
    }

    #[test]
    fn describe_concatenates_the_areas_and_keeps_every_flag() {
        let info = INFO.build();
        let names: Vec<_> = info.activities.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["get-thing", "delete-thing"]);
        let delete = &info.activities[1];
        assert!(delete.destructive && !delete.read_only && delete.retry_safe);
        assert_eq!(info.activities[0].display_name, "Get thing");
        assert_eq!(delete.display_name, "Remove a thing");
        assert_eq!(info.activities[0].pitfalls, ["Ids are case-sensitive."]);
        assert_eq!(info.activities[0].required_scopes, ["things:read"]);
        assert!(matches!(&info.auth, AuthScheme::Bearer(f) if f == "token"));
        assert!(info.fields[0].secret);
        assert_eq!(info.rate_limits[0].requests, 4);
        assert!(matches!(
            info.rate_limits[0].window,
            LimitWindow::Sliding(1)
        ));
        assert_eq!(info.egress_origins, ["https://api.example.com"]);
        assert_eq!(info.extra_keys[0].name, "x-api-key");
    }
}
