//! The authorization server's control routes, beside the others under `/__sandbox/`.
//!
//! | Route | Effect |
//! |---|---|
//! | `POST /__sandbox/apps` | `{client_id, client_secret?, redirect_uris, refresh_mode?, flows?, api_key?}` → 201 (a partner app: `flows: ["client_credentials"]` and its `api_key`) |
//! | `POST /__sandbox/oauth/expire` | `{client_id}`: revokes every access token of the app → `{"expired": n}` ([`super::partner`]) |
//! | `GET /__sandbox/apps` | the apps, without secrets |
//! | `POST /__sandbox/users` | `{username, password, phone?}` → 201 |
//! | `GET /__sandbox/phone/{username}` | `{"messages": [{to, code, text, sent_at}]}`, newest last |
//! | `GET` / `POST /__sandbox/oauth` | the settings / `{access_token_lifetime?, device_interval?, device_expires_in?, device_slow_down?}` |
//! | `GET` / `DELETE /__sandbox/oauth/stats` | token endpoint counters / reset them (204) |
//! | `POST /__sandbox/oauth/revoke` | `{client_id, username?}`: revokes those grants' refresh tokens → `{"revoked": n}` |
//!
//! Errors use the control API's V3 shape, like the other control routes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors::{ApiError, Area};
use crate::oauth::apps::{App, User};
use crate::oauth::{Settings, MAX_SECONDS};
use crate::request::{JsonBody, PathId};
use crate::state::Sandbox;

/// The control routes of the authorization server.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/__sandbox/apps", get(apps).post(add_app))
        .route("/__sandbox/users", post(add_user))
        .route("/__sandbox/phone/{username}", get(phone))
        .route("/__sandbox/oauth", get(settings).post(configure))
        .route("/__sandbox/oauth/stats", get(stats).delete(reset_stats))
        .route("/__sandbox/oauth/revoke", post(revoke))
}

async fn apps(State(sandbox): State<Sandbox>) -> Json<Vec<Value>> {
    Json(
        sandbox
            .oauth
            .directory()
            .apps()
            .map(App::public_view)
            .collect(),
    )
}

async fn add_app(
    State(sandbox): State<Sandbox>,
    JsonBody(app): JsonBody<App>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let app = app.normalize().map_err(ApiError::bad_request)?;
    let view = app.public_view();
    sandbox.oauth.directory_mut().add_app(app);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Registers a user; the answer leaves the password out.
async fn add_user(
    State(sandbox): State<Sandbox>,
    JsonBody(user): JsonBody<User>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if user.username.trim().is_empty() || user.password.is_empty() {
        return Err(ApiError::bad_request(
            "username and password must not be empty",
        ));
    }
    let username = user.username.clone();
    let mut directory = sandbox.oauth.directory_mut();
    directory.add_user(user);
    let phone = directory.user(&username).and_then(|u| u.phone.clone());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "username": username, "phone": phone })),
    ))
}

async fn phone(
    State(sandbox): State<Sandbox>,
    PathId(username): PathId,
) -> Result<Json<Value>, ApiError> {
    if sandbox.oauth.directory().user(&username).is_none() {
        return Err(ApiError::not_found(Area::General, "no such user"));
    }
    let messages = sandbox.oauth.sessions.messages(&username);
    Ok(Json(json!({ "messages": messages })))
}

async fn settings(State(sandbox): State<Sandbox>) -> Json<Settings> {
    Json(sandbox.oauth.settings())
}

#[derive(Debug, Deserialize)]
struct SettingsInput {
    access_token_lifetime: Option<u64>,
    device_interval: Option<u64>,
    device_expires_in: Option<u64>,
    device_slow_down: Option<u64>,
}

/// Changes the settings for what is issued from now on; flows under way keep theirs.
async fn configure(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<SettingsInput>,
) -> Result<Json<Settings>, ApiError> {
    let given = [
        input.access_token_lifetime,
        input.device_interval,
        input.device_expires_in,
        input.device_slow_down,
    ];
    if given
        .into_iter()
        .flatten()
        .any(|seconds| seconds > MAX_SECONDS)
    {
        return Err(ApiError::bad_request(format!(
            "a setting exceeds {MAX_SECONDS} seconds"
        )));
    }
    Ok(Json(sandbox.oauth.configure(|settings| {
        settings.access_token_lifetime = input
            .access_token_lifetime
            .unwrap_or(settings.access_token_lifetime);
        settings.device_interval = input.device_interval.unwrap_or(settings.device_interval);
        settings.device_expires_in = input
            .device_expires_in
            .unwrap_or(settings.device_expires_in);
        settings.device_slow_down = input.device_slow_down.unwrap_or(settings.device_slow_down);
    })))
}

async fn stats(State(sandbox): State<Sandbox>) -> Json<Value> {
    Json(sandbox.oauth.stats.snapshot())
}

async fn reset_stats(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.oauth.stats.reset();
    StatusCode::NO_CONTENT
}

/// `{client_id, username?}`: whose grants to revoke.
#[derive(Debug, Deserialize)]
struct RevokeInput {
    client_id: String,
    username: Option<String>,
}

/// Revokes grants as a person removing the app's access would: their
/// refresh tokens answer `invalid_grant` from now on. Access tokens already
/// issued live out their (short) lives, as Okta's do.
async fn revoke(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<RevokeInput>,
) -> Json<Value> {
    let revoked = sandbox
        .oauth
        .families
        .revoke(&input.client_id, input.username.as_deref());
    Json(json!({ "revoked": revoked }))
}
