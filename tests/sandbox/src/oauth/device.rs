//! The device flow (reference §1.4, RFC 8628): device codes and how polls are answered.
//!
//! `POST /oauth2/default/v1/device/authorize` starts a flow with a device code (for the
//! client), a user code like `WDJB-MJHT` (for the person, typed on `/activate`), its
//! lifetime and the polling interval. The token endpoint's device grant then answers:
//! `expired_token` once the code is too old; `access_denied` once denied; the tokens once
//! approved (the device code is then used up); else `authorization_pending`, or
//! `slow_down` when the poll came sooner than the interval after the previous one, which
//! also adds the step (5 s, RFC 8628 §3.5) to the interval. The first poll is never too
//! soon, so a client may poll at once. The base interval, the lifetime and the step are
//! settings, so tests need not wait 5 s.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::oauth::apps::Flow;
use crate::oauth::authorize::with_query;
use crate::oauth::client::{self, Params};
use crate::oauth::error::{no_store, OAuthError};
use crate::oauth::mint;
use crate::state::Sandbox;

/// Okta's default lifetime of a device code (unconfirmed for CC).
pub const DEFAULT_EXPIRES_IN: u64 = 600;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: u64 = 5;
/// How long an expired flow is remembered, to answer `expired_token` rather than `invalid_grant`.
const REMEMBER_EXPIRED: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Decision {
    Pending,
    Approved(String),
    Denied,
}

/// One device flow.
#[derive(Debug)]
struct DeviceGrant {
    client_id: String,
    scopes: Vec<String>,
    user_code: String,
    expires_at: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    decision: Decision,
}

impl DeviceGrant {
    /// Answers one poll at `now`: who approved, or the error to send.
    fn poll(&mut self, now: Instant, step: Duration) -> Result<String, OAuthError> {
        if now >= self.expires_at {
            return Err(OAuthError::expired_token());
        }
        match &self.decision {
            Decision::Approved(username) => Ok(username.clone()),
            Decision::Denied => Err(OAuthError::access_denied("the user denied the device")),
            Decision::Pending => {
                let too_soon = self
                    .last_poll
                    .is_some_and(|last| now.duration_since(last) < self.interval);
                self.last_poll = Some(now);
                if too_soon {
                    self.interval += step;
                    Err(OAuthError::slow_down(self.interval.as_secs()))
                } else {
                    Err(OAuthError::authorization_pending())
                }
            }
        }
    }
}

/// A user code without case, spaces or hyphens, as people type it.
fn normalize(user_code: &str) -> String {
    user_code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What an approved device flow grants.
pub struct Approved {
    /// Who approved.
    pub username: String,
    /// The requested scopes.
    pub scopes: Vec<String>,
}

/// Device flows by device code.
#[derive(Debug, Default)]
pub struct Devices(Mutex<HashMap<String, DeviceGrant>>);

impl Devices {
    fn start(&self, device_code: String, grant: DeviceGrant) {
        let mut grants = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        grants.retain(|_, g| now < g.expires_at + REMEMBER_EXPIRED);
        grants.insert(device_code, grant);
    }

    /// Records the user's answer for `user_code`: `username` approves, `None` denies.
    /// `Err` when no pending, unexpired flow has that code.
    pub fn decide(&self, user_code: &str, username: Option<&str>, now: Instant) -> Result<(), ()> {
        let wanted = normalize(user_code);
        let mut grants = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let grant = grants
            .values_mut()
            .find(|g| {
                normalize(&g.user_code) == wanted
                    && g.decision == Decision::Pending
                    && now < g.expires_at
            })
            .ok_or(())?;
        grant.decision = username.map_or(Decision::Denied, |u| Decision::Approved(u.to_owned()));
        Ok(())
    }

    /// Answers a poll of `client_id` with `device_code`; an approved flow is used up.
    pub fn poll(
        &self,
        device_code: &str,
        client_id: &str,
        now: Instant,
        step: Duration,
    ) -> Result<Approved, OAuthError> {
        let mut grants = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let grant = grants
            .get_mut(device_code)
            .ok_or_else(|| OAuthError::invalid_grant("device_code is unknown or already used"))?;
        if grant.client_id != client_id {
            return Err(OAuthError::invalid_grant(
                "device_code was issued to another client",
            ));
        }
        let username = grant.poll(now, step)?;
        let scopes = grants
            .remove(device_code)
            .map(|g| g.scopes)
            .unwrap_or_default();
        Ok(Approved { username, scopes })
    }
}

/// The device authorization route.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/oauth2/default/v1/device/authorize", post(authorize))
}

async fn authorize(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match start(&sandbox, query.as_deref(), &headers, &body) {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(error) => error.into_response(),
    }
}

fn start(
    sandbox: &Sandbox,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let params = Params::parse(query, headers, body).map_err(OAuthError::invalid_request)?;
    let app = client::authenticate(&sandbox.oauth.directory(), headers, &params)?;
    if !app.allows(Flow::DeviceCode) {
        return Err(OAuthError::unauthorized_client(
            "this app is not registered for the device flow",
        ));
    }
    let scopes = client::scopes(params.get("scope"))
        .ok_or_else(|| OAuthError::invalid_request("scope is missing"))??;
    let settings = sandbox.oauth.settings();
    let (device_code, user_code) = (mint::opaque(), mint::user_code());
    let grant = DeviceGrant {
        client_id: app.client_id,
        scopes,
        user_code: user_code.clone(),
        expires_at: Instant::now() + Duration::from_secs(settings.device_expires_in),
        interval: Duration::from_secs(settings.device_interval),
        last_poll: None,
        decision: Decision::Pending,
    };
    sandbox.oauth.devices.start(device_code.clone(), grant);
    let verification_uri = format!("{}/activate", client::base_url(headers));
    Ok(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri_complete": with_query(&verification_uri, &[("user_code", &user_code)]),
        "verification_uri": verification_uri,
        "expires_in": settings.device_expires_in,
        "interval": settings.device_interval,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(now: Instant) -> DeviceGrant {
        DeviceGrant {
            client_id: "tv".into(),
            scopes: vec!["contact_data".into()],
            user_code: "WDJB-MJHT".into(),
            expires_at: now + Duration::from_secs(600),
            interval: Duration::from_secs(5),
            last_poll: None,
            decision: Decision::Pending,
        }
    }

    #[test]
    fn polling_too_fast_slows_down_and_grows_the_interval() {
        let now = Instant::now();
        let step = Duration::from_secs(SLOW_DOWN_STEP);
        let mut grant = grant(now);
        let code = |r: Result<String, OAuthError>| r.unwrap_err().code();
        assert_eq!(code(grant.poll(now, step)), "authorization_pending");
        assert_eq!(
            code(grant.poll(now + Duration::from_secs(1), step)),
            "slow_down"
        );
        assert_eq!(grant.interval, Duration::from_secs(10));
        // 6 s after the last poll is now too soon as well.
        assert_eq!(
            code(grant.poll(now + Duration::from_secs(7), step)),
            "slow_down"
        );
        assert_eq!(
            code(grant.poll(now + Duration::from_secs(22), step)),
            "authorization_pending"
        );
        grant.decision = Decision::Approved("u".into());
        assert_eq!(
            grant.poll(now + Duration::from_secs(23), step).unwrap(),
            "u"
        );
        assert_eq!(
            code(grant.poll(now + Duration::from_secs(600), step)),
            "expired_token"
        );
    }

    #[test]
    fn users_decide_by_code_as_typed() {
        let devices = Devices::default();
        let now = Instant::now();
        devices.start("d1".into(), grant(now));
        let step = Duration::from_secs(5);
        assert!(devices.decide("wdjbmjht", Some("u"), now).is_ok());
        assert!(
            devices.decide("WDJB-MJHT", None, now).is_err(),
            "already decided"
        );
        assert_eq!(
            devices.poll("d1", "other", now, step).err().unwrap().code(),
            "invalid_grant"
        );
        assert_eq!(devices.poll("d1", "tv", now, step).unwrap().username, "u");
        assert_eq!(
            devices.poll("d1", "tv", now, step).err().unwrap().code(),
            "invalid_grant"
        );
    }
}
