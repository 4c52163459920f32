//! The sandbox's OAuth2 authorization server (reference §1), on the same port as the API.
//!
//! It plays `authz.constantcontact.com` at the real paths, so a client only swaps the
//! origin: the authorization code flow (with or without PKCE) through HTML sign-in and
//! SMS pages, the device flow, the refresh grant with rotating or long-lived refresh
//! tokens, and the OAuth error format. Every access token it issues goes into the one
//! token table ([`crate::auth::Tokens`]) with its scopes and lifetime, so the `/v3`
//! gateway accepts it, checks its scopes and lets it expire.
//!
//! | Route | What |
//! |---|---|
//! | `GET /oauth2/default/v1/authorize` | checks the request, shows the sign-in page |
//! | `POST /login/sign-in` | `transaction, username, password` → SMS page (device: approve page) |
//! | `POST /login/send-code` | `transaction` → texts a 6-digit code, shows the verify page |
//! | `POST /login/verify` | `transaction, code, action=verify\|decline` → 303 to `redirect_uri` |
//! | `POST /oauth2/default/v1/token` | the token endpoint (code, refresh, device grants) |
//! | `POST /oauth2/default/v1/device/authorize` | starts a device flow |
//! | `GET /activate` | sign-in, then `POST /activate` with `transaction, user_code, action=approve\|deny` |
//! | `POST /oauth2/token` | the technology partner token endpoint (client credentials, [`partner`]) |
//!
//! Control routes (`apps`, `users`, `phone`, `oauth` settings and stats) are in
//! [`control`]. The flow's state lives server-side, keyed by a transaction id carried
//! in a hidden form field: no cookies, so plain HTTP form posts work as well as a browser.
//!
//! # Layout, in request order
//! - `apps`: the registered applications and the users who can sign in.
//! - `authorize` → `login` → `sessions` → `pages`: the authorize request, sign-in, SMS
//!   code, redirect.
//! - `device`, `activate`: the device authorization request and its approval page.
//! - `client` (parameters, client authentication) → `token` → `grants` (codes, PKCE,
//!   refresh families) → `mint` (token values); `error`: the OAuth error body.
//!
//! Nothing here logs a token, code, secret or password, and the `/v3` request log never
//! sees these routes (`faults::record` keeps to `/v3`).

mod activate;
pub mod apps;
mod authorize;
mod client;
mod control;
mod device;
mod error;
mod grants;
mod login;
mod mint;
mod pages;
pub mod partner;
mod sessions;
mod token;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};

use crate::state::Sandbox;

pub use apps::{parse_app, parse_user, App, User};

/// The documented 24 h access-token lifetime (reference §1.7).
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: u64 = 86_400;
/// Okta's default device polling interval (reference §1.4, unconfirmed for CC).
pub const DEFAULT_DEVICE_INTERVAL: u64 = 5;

/// The longest any setting may be (ten years): instants further out would overflow.
pub const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// What can be changed at run time (`POST /__sandbox/oauth`), in seconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Settings {
    /// `expires_in` of every access token issued from now on.
    pub access_token_lifetime: u64,
    /// The polling interval of device flows started from now on.
    pub device_interval: u64,
    /// How long a device code and its user code live.
    pub device_expires_in: u64,
    /// How much `slow_down` adds to a device flow's interval (RFC 8628 §3.5: 5 s).
    pub device_slow_down: u64,
}

/// Counters tests read to see what the token endpoint did.
#[derive(Debug, Default)]
pub struct Stats {
    token_requests: AtomicU64,
    refreshes: AtomicU64,
    invalid_grant: AtomicU64,
    issued_access_tokens: AtomicU64,
    client_credentials: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as `GET /__sandbox/oauth/stats` shows them.
    pub fn snapshot(&self) -> Value {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "token_requests": read(&self.token_requests),
            "refreshes": read(&self.refreshes),
            "invalid_grant": read(&self.invalid_grant),
            "issued_access_tokens": read(&self.issued_access_tokens),
            "client_credentials": read(&self.client_credentials),
        })
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        for counter in [
            &self.token_requests,
            &self.refreshes,
            &self.invalid_grant,
            &self.issued_access_tokens,
            &self.client_credentials,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// The authorization server's state: the directory, the flows in progress, the grants.
#[derive(Debug)]
pub struct Server {
    directory: RwLock<apps::Directory>,
    settings: Mutex<Settings>,
    sessions: sessions::Sessions,
    codes: grants::Codes,
    families: grants::Families,
    devices: device::Devices,
    stats: Stats,
}

impl Server {
    /// A server with the seeded user plus `apps` and `users`, issuing access tokens valid
    /// for `access_token_lifetime` and polling device flows every `device_interval` seconds.
    pub fn new(
        apps: Vec<App>,
        users: Vec<User>,
        access_token_lifetime: u64,
        device_interval: u64,
    ) -> Server {
        let mut directory = apps::Directory::seeded();
        apps.into_iter().for_each(|app| directory.add_app(app));
        users.into_iter().for_each(|user| directory.add_user(user));
        let settings = Settings {
            access_token_lifetime,
            device_interval,
            device_expires_in: device::DEFAULT_EXPIRES_IN,
            device_slow_down: device::SLOW_DOWN_STEP,
        };
        Server {
            directory: RwLock::new(directory),
            settings: Mutex::new(settings),
            sessions: sessions::Sessions::default(),
            codes: grants::Codes::default(),
            families: grants::Families::default(),
            devices: device::Devices::default(),
            stats: Stats::default(),
        }
    }

    fn directory(&self) -> RwLockReadGuard<'_, apps::Directory> {
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn directory_mut(&self) -> RwLockWriteGuard<'_, apps::Directory> {
        self.directory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The API key of the partner app `client_id`, if it is one.
    pub fn api_key_of(&self, client_id: &str) -> Option<String> {
        self.directory().app(client_id)?.api_key.clone()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn configure(&self, change: impl FnOnce(&mut Settings)) -> Settings {
        let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut settings);
        *settings
    }
}

/// Every route of the authorization server, and its control routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .merge(login::routes())
        .merge(activate::routes())
        .merge(device::routes())
        .merge(token::routes())
        .merge(partner::routes())
        .merge(control::routes())
}
