//! The directory: registered applications and the users who can sign in.
//!
//! An application is what the developer portal registers (reference §1.1): a client id,
//! a secret for confidential clients (none makes a public client, which must use PKCE or
//! the device flow), its exact redirect URIs, its refresh token type and the flows it may
//! use. Apps come from `--app` and `POST /__sandbox/apps`; users from the seed, `--user`
//! and `POST /__sandbox/users`. Registering a known client id or username replaces it.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The user every sandbox starts with.
pub const SEED_USER: (&str, &str, &str) = ("owner@example.com", "sandbox-password", "+15555550100");

/// What a refresh grant returns (the app's "Refresh Token Type", reference §1.5).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshMode {
    /// A new refresh token each time; every earlier one of the grant dies.
    Rotating,
    /// The same refresh token each time, reusable.
    LongLived,
}

impl FromStr for RefreshMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "rotating" => Ok(RefreshMode::Rotating),
            "long-lived" => Ok(RefreshMode::LongLived),
            _ => Err(format!(
                "refresh mode \"{text}\" is not rotating or long-lived"
            )),
        }
    }
}

/// A flow an app may start (the refresh grant follows from `offline_access`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// `/authorize` then the `authorization_code` grant, with or without PKCE.
    AuthorizationCode,
    /// `/device/authorize` then the device code grant.
    DeviceCode,
    /// The client-credentials grant at the partner token endpoint
    /// (`POST /oauth2/token`): a technology partner's machine token.
    ClientCredentials,
}

impl FromStr for Flow {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "authorization_code" => Ok(Flow::AuthorizationCode),
            "device_code" => Ok(Flow::DeviceCode),
            "client_credentials" => Ok(Flow::ClientCredentials),
            _ => Err(format!(
                "flow \"{text}\" is not authorization_code, device_code or client_credentials"
            )),
        }
    }
}

/// The flows an app gets when none are named.
fn all_flows() -> Vec<Flow> {
    vec![Flow::AuthorizationCode, Flow::DeviceCode]
}

fn rotating() -> RefreshMode {
    RefreshMode::Rotating
}

/// A registered application (also the body of `POST /__sandbox/apps`).
#[derive(Clone, Debug, Deserialize)]
pub struct App {
    /// The API key.
    pub client_id: String,
    /// `None` (or empty) for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The redirect URIs `/authorize` accepts, compared exactly.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Rotating unless told otherwise.
    #[serde(default = "rotating")]
    pub refresh_mode: RefreshMode,
    /// Every flow unless told otherwise.
    #[serde(default = "all_flows")]
    pub flows: Vec<Flow>,
    /// A technology partner's API key: partner endpoints want it in
    /// `x-api-key` beside the partner token (never shown by the control API).
    #[serde(default)]
    pub api_key: Option<String>,
}

impl App {
    /// Whether the app has no secret (it authenticates with PKCE or nothing).
    pub fn is_public(&self) -> bool {
        self.client_secret.is_none()
    }

    /// Whether the app may use `flow`.
    pub fn allows(&self, flow: Flow) -> bool {
        self.flows.contains(&flow)
    }

    /// Checks the registration; an empty secret becomes none. The message names the field.
    pub fn normalize(mut self) -> Result<App, String> {
        if self.client_id.is_empty() || self.client_id.contains([':', ' ', '\t']) {
            return Err("client_id is empty or contains ':' or whitespace".into());
        }
        self.client_secret = self.client_secret.filter(|s| !s.is_empty());
        if self
            .client_secret
            .as_deref()
            .is_some_and(|s| s.contains(char::is_whitespace))
        {
            return Err("client_secret contains whitespace".into());
        }
        if let Some(bad) = self.redirect_uris.iter().find(|u| !is_redirect_uri(u)) {
            return Err(format!(
                "redirect_uris: \"{bad}\" is not an absolute URI without a fragment"
            ));
        }
        if self.flows.is_empty() {
            return Err("flows is empty".into());
        }
        if self.allows(Flow::ClientCredentials) && self.is_public() {
            return Err("a client_credentials app needs a client_secret".into());
        }
        self.api_key = self.api_key.filter(|k| !k.is_empty());
        Ok(self)
    }

    /// The app as the control API shows it: never the secret.
    pub fn public_view(&self) -> Value {
        json!({
            "client_id": self.client_id,
            "client_type": if self.is_public() { "public" } else { "confidential" },
            "redirect_uris": self.redirect_uris,
            "refresh_mode": self.refresh_mode,
            "flows": self.flows,
            "partner": self.api_key.is_some(),
        })
    }
}

/// An absolute URI (`scheme:rest`) without a fragment, whitespace or `|`.
fn is_redirect_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        && !rest.is_empty()
        && !text.contains(['#', '|'])
        && !text.contains(char::is_whitespace)
}

/// Parses `--app CLIENT_ID:SECRET:URI[|URI…]:MODE[:FLOWS]`.
///
/// The URIs hold colons themselves, so the id and secret are cut from the left and the
/// mode (and flows) from the right. FLOWS is a comma-separated list of
/// `authorization_code` and `device_code`.
pub fn parse_app(text: &str) -> Result<App, String> {
    let shape = "expected CLIENT_ID:SECRET:URI[|URI...]:rotating|long-lived[:FLOWS]";
    let (client_id, rest) = text.split_once(':').ok_or(shape)?;
    let (secret, rest) = rest.split_once(':').ok_or(shape)?;
    let (head, last) = rest.rsplit_once(':').ok_or(shape)?;
    let (uris, mode, flows) = match parse_flows(last) {
        Ok(flows) => {
            let (uris, mode) = head.rsplit_once(':').ok_or(shape)?;
            (uris, mode, flows)
        }
        Err(_) => (head, last, all_flows()),
    };
    let app = App {
        client_id: client_id.to_owned(),
        client_secret: Some(secret.to_owned()),
        redirect_uris: uris
            .split('|')
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect(),
        refresh_mode: mode.parse()?,
        flows,
        api_key: None,
    };
    app.normalize()
}

fn parse_flows(text: &str) -> Result<Vec<Flow>, String> {
    text.split(',').map(str::parse).collect()
}

/// Someone who can sign in.
#[derive(Clone, Debug, Deserialize)]
pub struct User {
    /// The sign-in name (an email address, as on Constant Contact).
    pub username: String,
    /// Compared exactly.
    pub password: String,
    /// Where SMS codes go; made up from the user's position when absent.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Parses `--user USERNAME:PASSWORD`; the password is everything after the first colon.
pub fn parse_user(text: &str) -> Result<User, String> {
    let (username, password) = text.split_once(':').ok_or("expected USERNAME:PASSWORD")?;
    if username.trim().is_empty() || password.is_empty() {
        return Err("the username or the password is empty".into());
    }
    Ok(User {
        username: username.trim().to_owned(),
        password: password.to_owned(),
        phone: None,
    })
}

/// Apps by client id and users by username.
#[derive(Debug, Default)]
pub struct Directory {
    apps: BTreeMap<String, App>,
    users: BTreeMap<String, User>,
}

impl Directory {
    /// No apps, and the seed user.
    pub fn seeded() -> Directory {
        let (username, password, phone) = SEED_USER;
        let mut directory = Directory::default();
        directory.add_user(User {
            username: username.into(),
            password: password.into(),
            phone: Some(phone.into()),
        });
        directory
    }

    /// Registers or replaces an app (already normalized).
    pub fn add_app(&mut self, app: App) {
        self.apps.insert(app.client_id.clone(), app);
    }

    /// The app with this client id.
    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.get(client_id)
    }

    /// Every app, by client id.
    pub fn apps(&self) -> impl Iterator<Item = &App> {
        self.apps.values()
    }

    /// Registers or replaces a user; one without a phone gets `+1555555xxxx`.
    pub fn add_user(&mut self, mut user: User) {
        if user.phone.is_none() {
            user.phone = Some(format!("+1555555{:04}", 100 + self.users.len()));
        }
        self.users.insert(user.username.clone(), user);
    }

    /// The user with this username.
    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.get(username)
    }

    /// Whether `username` exists and `password` is theirs.
    pub fn signs_in(&self, username: &str, password: &str) -> bool {
        self.user(username).is_some_and(|u| u.password == password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_arguments_split_around_uris_with_colons() {
        let app =
            parse_app("web:s3cret:http://127.0.0.1:8080/cb|https://x.test/cb:long-lived").unwrap();
        assert_eq!(app.client_id, "web");
        assert_eq!(app.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(
            app.redirect_uris,
            ["http://127.0.0.1:8080/cb", "https://x.test/cb"]
        );
        assert_eq!(app.refresh_mode, RefreshMode::LongLived);
        assert_eq!(app.flows, all_flows());

        let public = parse_app("cli:::rotating:device_code").unwrap();
        assert!(public.is_public() && public.redirect_uris.is_empty());
        assert_eq!(public.flows, [Flow::DeviceCode]);

        assert!(
            parse_app("web:s:http://x/cb").is_err(),
            "a URI is not a mode"
        );
        assert!(parse_app("web:s:http://x/cb#frag:rotating").is_err());
        assert!(parse_app("nothing").is_err());
    }

    #[test]
    fn user_arguments_keep_colons_in_the_password() {
        let user = parse_user("a@example.com:pa:ss").unwrap();
        assert_eq!(
            (user.username.as_str(), user.password.as_str()),
            ("a@example.com", "pa:ss")
        );
        assert!(parse_user("a@example.com:").is_err());
        let mut directory = Directory::seeded();
        directory.add_user(user);
        assert!(directory.signs_in("a@example.com", "pa:ss"));
        assert!(directory.signs_in(SEED_USER.0, SEED_USER.1));
        assert!(!directory.signs_in(SEED_USER.0, "wrong"));
        assert!(directory.user("a@example.com").unwrap().phone.is_some());
    }
}
