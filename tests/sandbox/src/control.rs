//! The control API under `/__sandbox/`: how tests steer and inspect the sandbox.
//!
//! No authentication, no rate limit, no faults and no request log apply here (only
//! `/v3` is the simulated API); the sandbox listens on loopback only.
//!
//! | Route | Effect |
//! |---|---|
//! | `GET /__sandbox/health` | 200 `{"status":"ok"}` (readiness probe) |
//! | `POST /__sandbox/faults` | `{path, method?, status?, delay_ms?, body?, count?}` → 201 |
//! | `GET` / `DELETE /__sandbox/faults` | pending faults / clear them (204) |
//! | `POST /__sandbox/rate-limit` | `{enabled?, per_second?}` → 200 with the settings |
//! | `GET /__sandbox/rate-limit` | the settings |
//! | `GET` / `DELETE /__sandbox/requests` | the `/v3` request log / clear it (204) |
//! | `POST /__sandbox/tokens` | `{token, scopes, expires_in?}` → 201 |
//! | `POST /__sandbox/tokens/revoke` | `{token}` → 204, or 404 when unknown |
//! | `GET /__sandbox/clock` | `{"now", "offset_seconds", "frozen"}`: the sandbox clock |
//! | `POST /__sandbox/clock` | `{"advance_seconds"?: n, "freeze"?: bool}` → 200, the clock moved forward, stopped or let run (see `clock`) |
//! | `POST /__sandbox/activities/{activity_id}/complete` | `{}` → 200, the bulk activity completed at once (see `bulk`) |
//! | `POST /__sandbox/physical_address/remove` | `{}` → 204, the account has no physical address (see `account`) |
//! | `POST /__sandbox/segments` | `{name, segment_criteria?, contact_ids, processing_polls?}` → 201 (see `segments`) |
//! | `POST /__sandbox/campaigns/{campaign_activity_id}/send` | `{}` → 201, sends recorded now (see `reports`) |
//! | `POST /__sandbox/email_reports/{id}/sends`, `/__sandbox/landing_pages/{id}/events`, `/__sandbox/sms_campaigns` | seed tracking data: sends to named contacts, landing-page events, SMS campaigns (see `reports::seed`) |
//! | `POST /__sandbox/events/{event_id}/status` | `{status}` → 200, the event published, cancelled… (see `events`) |
//! | `POST /__sandbox/social/profiles` | `{network, name, handle?, connected?…}` → 201, a connected profile (see `social`) |
//! | `POST /__sandbox/social/hashtag-groups` | `{hashtag_group_name, hashtag_names}` → 201 (see `social`) |
//! | `POST /__sandbox/events/{event_id}/registrations` | `{first_name, last_name, email_address, tickets?…}` → 201 (see `events::registrations`) |
//!
//! The authorization server's own control routes (`/__sandbox/apps`, `users`,
//! `phone/{username}`, `oauth`, `oauth/stats`) sit with it, in `oauth::control`.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock;
use crate::errors::ApiError;
use crate::faults::{Entry, Fault};
use crate::request::JsonBody;
use crate::state::Sandbox;
use crate::throttle::Settings;

/// The control routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/__sandbox/health", get(health))
        .route(
            "/__sandbox/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route(
            "/__sandbox/rate-limit",
            get(rate_limit).post(set_rate_limit),
        )
        .route("/__sandbox/requests", get(requests).delete(clear_requests))
        .route("/__sandbox/tokens", post(add_token))
        .route("/__sandbox/tokens/revoke", post(revoke_token))
        .route("/__sandbox/clock", get(clock).post(advance_clock))
}

/// The sandbox clock.
async fn clock() -> Json<Value> {
    Json(json!({
        "now": clock::format(&clock::now()),
        "offset_seconds": clock::offset_seconds(),
        "frozen": clock::is_frozen(),
    }))
}

#[derive(Debug, Deserialize)]
struct ClockInput {
    advance_seconds: Option<u32>,
    freeze: Option<bool>,
}

/// Moves the sandbox clock forward, stops or restarts it; schedules whose time has come
/// are sent at the next request that reads the account.
async fn advance_clock(JsonBody(input): JsonBody<ClockInput>) -> Result<Json<Value>, ApiError> {
    if input.advance_seconds.is_none() && input.freeze.is_none() {
        return Err(ApiError::bad_request(
            "give advance_seconds (a whole number of seconds, never negative) or freeze (true or false)",
        ));
    }
    if let Some(frozen) = input.freeze {
        clock::freeze(frozen);
    }
    if let Some(seconds) = input.advance_seconds {
        clock::advance(seconds);
    }
    Ok(clock().await)
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn faults(State(sandbox): State<Sandbox>) -> Json<Vec<Fault>> {
    Json(sandbox.faults.pending())
}

async fn add_fault(
    State(sandbox): State<Sandbox>,
    JsonBody(fault): JsonBody<Fault>,
) -> Result<(StatusCode, Json<Fault>), ApiError> {
    fault.validate().map_err(ApiError::bad_request)?;
    sandbox.faults.add(fault.clone());
    Ok((StatusCode::CREATED, Json(fault)))
}

async fn clear_faults(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.faults.clear();
    StatusCode::NO_CONTENT
}

async fn rate_limit(State(sandbox): State<Sandbox>) -> Json<Settings> {
    Json(sandbox.throttle.settings())
}

#[derive(Debug, Deserialize)]
struct RateLimitInput {
    enabled: Option<bool>,
    per_second: Option<u32>,
    daily: Option<u32>,
}

async fn set_rate_limit(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<RateLimitInput>,
) -> Result<Json<Settings>, ApiError> {
    if input.per_second == Some(0) || input.daily == Some(0) {
        return Err(ApiError::bad_request(
            "per_second and daily must be at least 1; use enabled: false to switch the limits off",
        ));
    }
    Ok(Json(sandbox.throttle.configure(
        input.enabled,
        input.per_second,
        input.daily,
    )))
}

async fn requests(State(sandbox): State<Sandbox>) -> Json<Vec<Entry>> {
    Json(sandbox.requests.entries())
}

async fn clear_requests(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.requests.clear();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct TokenInput {
    token: Option<String>,
    /// The application it belongs to (default: the command line's).
    app: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    expires_in: Option<u64>,
}

/// Registers a token; the answer leaves the token out (it is a credential).
async fn add_token(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<TokenInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = input
        .token
        .filter(|t| !t.trim().is_empty() && !t.contains(char::is_whitespace));
    let token =
        token.ok_or_else(|| ApiError::bad_request("token is missing or contains whitespace"))?;
    let body = json!({ "scopes": input.scopes, "expires_in": input.expires_in });
    sandbox.tokens.insert(
        token,
        input.app.as_deref().unwrap_or(crate::auth::DEFAULT_APP),
        input.scopes,
        input.expires_in.map(Duration::from_secs),
    );
    Ok((StatusCode::CREATED, Json(body)))
}

/// `{token}`: the token to revoke.
#[derive(Deserialize)]
struct RevokeInput {
    token: String,
}

/// Revokes a token, as rotating a credential does: requests with it get 401.
async fn revoke_token(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<RevokeInput>,
) -> Result<StatusCode, ApiError> {
    if sandbox.tokens.remove(&input.token) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            crate::errors::Area::General,
            "no such token",
        ))
    }
}
