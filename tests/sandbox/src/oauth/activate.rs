//! `/activate`, the device flow's `verification_uri`: sign in, then approve or deny.
//!
//! `GET /activate[?user_code=…]` opens a device transaction and shows the same sign-in
//! form as the authorization code flow (`POST /login/sign-in`); once signed in, the
//! approval page asks for the user code (prefilled from `verification_uri_complete`).
//! There is no SMS step here: the person already proves presence by typing the code
//! shown on the device. `POST /activate` with `transaction`, `user_code` and
//! `action=approve|deny` records the answer the device's next poll receives.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::oauth::client::Params;
use crate::oauth::login::{expired, form};
use crate::oauth::pages;
use crate::oauth::sessions::Purpose;
use crate::state::Sandbox;

/// The activation routes.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/activate", get(show).post(decide))
}

async fn show(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.as_deref(), &HeaderMap::new(), b"") {
        Ok(params) => params,
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, &message),
    };
    let purpose = Purpose::Device {
        user_code: params.get("user_code").map(str::to_owned),
    };
    let intro = purpose.intro();
    pages::sign_in(&sandbox.oauth.sessions.open(purpose), &intro, None)
}

async fn decide(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, id) = match form(query.as_deref(), &headers, &body) {
        Ok(form) => form,
        Err(page) => return page.into_response(),
    };
    let Some(username) = signed_in(&sandbox, &id) else {
        return expired();
    };
    let user_code = params.get("user_code").unwrap_or_default();
    let approve = params.get("action") != Some("deny");
    let approver = approve.then_some(username.as_str());
    let devices = &sandbox.oauth.devices;
    if devices.decide(user_code, approver, Instant::now()).is_err() {
        let error = "That code is not valid, already used or expired. Check your device.";
        return pages::approve(&id, Some(user_code), Some(error));
    }
    sandbox.oauth.sessions.close(&id);
    match approve {
        true => pages::done(
            "Device connected",
            "Your device is connected. You can close this window.",
        ),
        false => pages::done(
            "Access denied",
            "You denied the device access. You can close this window.",
        ),
    }
}

/// Who signed in on a device transaction; `None` when it is not one or not signed in.
fn signed_in(sandbox: &Sandbox, id: &str) -> Option<String> {
    let sessions = &sandbox.oauth.sessions;
    sessions
        .update(id, |transaction| match transaction.purpose {
            Purpose::Device { .. } => transaction.username.clone(),
            Purpose::Authorize(_) => None,
        })
        .flatten()
}
