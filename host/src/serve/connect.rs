//! Connect on `serve`: start an OAuth sign-in (the answer is the provider's
//! sign-in URL), and take the provider's redirect back at `/oauth/callback`.
//!
//! Invariants: the PKCE verifier never leaves the server; the `state` is
//! bound to the page session that started the sign-in, so a redirect that
//! arrives in another browser is refused; a sign-in is good for ten minutes
//! and once; the first connect pins the OAuth endpoints in the connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::auth::{cookie, Caller, SESSION_COOKIE};
use super::errors::ApiError;
use super::state::{PendingSignIn, State};
use crate::oauth::{requested_scopes, Authorization};
use crate::SessionError;

/// How long a sign-in may take.
const SIGN_IN: Duration = Duration::from_secs(600);

/// `POST /api/connections/{name}/connect`: the URL to send the person to.
pub async fn start(
    Extract(state): Extract<Arc<State>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    // Every route takes a connection's name only as a `Name` it knows.
    let name = super::api::known(&state, &name)?;
    let session = state.session(&name).await.map_err(ApiError::from)?;
    let Some(tokens) = session.tokens() else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("connection {name} does not use OAuth2; there is nothing to connect"),
        ));
    };
    let connection = session.connection();
    if !tokens.settings().pinned {
        connection
            .set_oauth_keys(&tokens.settings().endpoints.entries())
            .map_err(|e| ApiError::from(SessionError::from(e)))?;
        let listed = tokens.settings().listed_in.as_ref();
        tracing::info!(
            connection = name.as_str(),
            provider_list = listed.map(|p| p.display().to_string()),
            "pinned the OAuth endpoints (from the provider list if one is named, else the connector's proposal)"
        );
    }
    let oauth = connection
        .oauth
        .as_ref()
        .expect("OAuth sessions have [oauth]");
    let scopes = requested_scopes(
        session.connector().info(),
        oauth.activities.as_deref(),
        oauth.scopes.as_deref(),
    );
    let authorization = Authorization::start(tokens.settings(), &scopes);
    let url = authorization.url.to_string();
    let mut sign_ins = state.sign_ins.lock().unwrap_or_else(|e| e.into_inner());
    sign_ins.retain(|_, s| s.started.elapsed() < SIGN_IN);
    sign_ins.insert(
        authorization.state().to_owned(),
        PendingSignIn {
            connection: name,
            page_session: match caller {
                Caller::Page(id) => Some(id),
                Caller::Api => None,
            },
            authorization,
            started: Instant::now(),
        },
    );
    Ok(Json(json!({"authorize_url": url, "scopes": scopes})).into_response())
}

/// `GET /oauth/callback`: the provider's redirect. Finishes the sign-in and
/// sends the browser back to the connection on the page.
pub async fn callback(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let pending = params.get("state").and_then(|s| {
        let mut sign_ins = state.sign_ins.lock().unwrap_or_else(|e| e.into_inner());
        sign_ins.remove(s)
    });
    let Some(pending) = pending.filter(|p| p.started.elapsed() < SIGN_IN) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "this sign-in is unknown, expired or already used; start Connect again",
        );
    };
    if let Some(started_by) = &pending.page_session {
        if cookie(&headers, SESSION_COOKIE).as_ref() != Some(started_by) {
            return page_error(
                StatusCode::FORBIDDEN,
                "this sign-in was started in another browser session; it is refused (possible CSRF). Start Connect again here",
            );
        }
    }
    let name = pending.connection.clone();
    match finish(&state, pending, &params).await {
        Ok(()) => Redirect::to(&format!("/#connection={name}")).into_response(),
        Err(error) => {
            let body = error.body();
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("the sign-in failed")
                .to_owned();
            page_error(StatusCode::BAD_GATEWAY, &message)
        }
    }
}

async fn finish(
    state: &State,
    pending: PendingSignIn,
    params: &HashMap<String, String>,
) -> Result<(), ApiError> {
    let session = state
        .session(&pending.connection)
        .await
        .map_err(ApiError::from)?;
    let tokens = session.tokens().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "invalid_input",
            "the connection no longer uses OAuth2",
        )
    })?;
    let record = pending
        .authorization
        .finish(tokens.settings(), params)
        .await
        .map_err(|e| ApiError::from(SessionError::from(e)))?;
    tokens
        .replace(&record)
        .await
        .map_err(|e| ApiError::from(SessionError::from(e)))?;
    tracing::info!(
        connection = pending.connection.as_str(),
        scopes = record.scopes.join(" "),
        "connected"
    );
    Ok(())
}

fn page_error(status: StatusCode, message: &str) -> Response {
    let text = crate::redact::untrusted(message);
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    (status, Html(format!(
        "<!doctype html><meta charset=utf-8><title>Connect failed</title><h1>Connect failed</h1><p id=error>{escaped}</p><p><a href=/>Back to the connections</a></p>"
    )))
        .into_response()
}
