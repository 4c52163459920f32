//! The connection page: static HTML, CSS and script served by the host (no
//! front-end build step), and the sign-in that turns the API token into a
//! page session.
//!
//! In `page/`: `index.html` is the skeleton and `app.js` shows what the
//! address names (the list, the connector search, one connection);
//! `connection.js` and `fields.js` make the connection's form, Check and
//! Connect; `runner.js`, `schema-form.js` and `results.js` the activity runner
//! (forms from the input schema, results as tables); `triggers.js` the
//! Triggers section (subscriptions, dead letters, replay); `api.js`
//! calls the JSON API with the page session's secret, which `signed-in.js`
//! takes from the sign-in answer into the tab; `dom.js` builds elements.
//!
//! Invariants: only this origin's own script runs (the CSP forbids inline
//! script and style and `eval`), text from the server is only ever set as
//! text, every page carries the headers of [`super::headers::secured`], and
//! no page holds a secret (the API returns none; the script empties secret
//! inputs once saved) but the sign-in answer, which holds the page
//! session's own secret, once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State as Extract};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::auth::{
    check_token, page_session, peer, session_cookie, set_cookie, start_page_session, Caller,
    Refusal,
};
use super::headers::secured;
use super::state::State;
use super::tenants::Principal;

const INDEX: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/app.css");
const SIGN_IN: &str = include_str!("page/sign-in.html");
const SIGNED_IN: &str = include_str!("page/signed-in.html");
/// The most a sign-in form's body may hold.
const FORM_LIMIT: usize = 4096;

/// The page's script: plain ES modules, `app.js` first; each is served at
/// `/js/<name>`.
const SCRIPTS: &[(&str, &str)] = &[
    ("app.js", include_str!("page/app.js")),
    ("api.js", include_str!("page/api.js")),
    ("dom.js", include_str!("page/dom.js")),
    ("connection.js", include_str!("page/connection.js")),
    ("fields.js", include_str!("page/fields.js")),
    ("runner.js", include_str!("page/runner.js")),
    ("results.js", include_str!("page/results.js")),
    ("schema-form.js", include_str!("page/schema-form.js")),
    ("signed-in.js", include_str!("page/signed-in.js")),
    ("triggers.js", include_str!("page/triggers.js")),
];

/// `GET /`: the page to a browser with a live page session's cookie, else
/// the sign-in form. The page holds no data: it asks the API, with the
/// secret the tab was given at sign-in.
pub async fn index(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    match page_session(&state, &headers) {
        Some(_) => secured(Html(INDEX)),
        None => secured(Html(SIGN_IN)),
    }
}

/// `GET /js/{file}`: one of [`SCRIPTS`]. Served without a page session:
/// they hold no data, and the sign-in form shares the style.
pub async fn script(Path(file): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(name, _)| *name == file) {
        Some((_, text)) => secured((
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            *text,
        )),
        None => secured((StatusCode::NOT_FOUND, "no such script")),
    }
}

/// `GET /app.css`.
pub async fn style() -> Response {
    secured(([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE))
}

/// `GET /sign-in`: the form. A token in the address is never accepted
/// (it would stay in the browser's history and in proxies' logs).
pub async fn sign_in_form(RawQuery(query): RawQuery) -> Response {
    let in_link = query
        .is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(key, _)| key == "token"));
    if in_link {
        return form(
            StatusCode::BAD_REQUEST,
            "A token in a link is never accepted (links stay in the browser's history and in proxies' logs). Paste it here.",
        );
    }
    secured(Html(SIGN_IN))
}

/// `POST /sign-in` (form field `token`): a page session for the API token,
/// refused (429, `Retry-After`) while the client's address is locked out.
pub async fn sign_in(Extract(state): Extract<Arc<State>>, request: Request) -> Response {
    let from = peer(request.extensions());
    let existing = page_session(&state, request.headers());
    let Ok(body) = axum::body::to_bytes(request.into_body(), FORM_LIMIT).await else {
        return form(StatusCode::PAYLOAD_TOO_LARGE, "That form is too large.");
    };
    match check_token(&state, from, &token_in(&body)).await {
        Ok(principal) => signed_in(&state, existing, principal),
        Err(refusal) => refused(refusal),
    }
}

/// The `token` field of a form body, trimmed.
fn token_in(body: &Bytes) -> String {
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default()
}

/// The sign-in form again, saying why.
fn refused(refusal: Refusal) -> Response {
    let (status, sentence) = match refusal {
        Refusal::Locked(wait) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many wrong tokens from your address: every token, even the right one, is refused for {wait} more seconds."),
        ),
        Refusal::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Tokens cannot be checked right now. Try again shortly.".to_owned(),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            "That is neither this server's API token nor a live tenant token.".to_owned(),
        ),
    };
    let mut response = form(status, &sentence);
    if let Refusal::Locked(wait) = refusal {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}

/// The form with `sentence` (plain text from this file) above it.
fn form(status: StatusCode, sentence: &str) -> Response {
    let error = format!("<p id=sign-in-error role=alert>{sentence}</p>");
    secured((status, Html(SIGN_IN.replace("<!--error-->", &error))))
}

/// The answer to the right token: the session cookie, and a page that
/// gives the tab the session's secret (the one answer that holds it).
/// A browser that already has a live session of the same token's keeps it
/// (its other tabs go on working) and this tab gets its secret: it just
/// proved the token. One of another token's (another tenant) is ended.
fn signed_in(state: &State, existing: Option<String>, principal: Principal) -> Response {
    let reused = existing.and_then(|id| {
        let mut sessions = state
            .page_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if sessions.get(&id)?.principal != principal {
            sessions.remove(&id);
            return None;
        }
        let session = sessions.get_mut(&id)?;
        session.started = std::time::Instant::now();
        Some(session.csrf.clone())
    });
    let (cookie, secret) = match reused {
        Some(secret) => (None, secret),
        None => {
            let (cookie, secret) = start_page_session(state, principal);
            (Some(cookie), secret)
        }
    };
    // The secret is 64 hex digits: nothing to escape.
    let mut response = secured(Html(SIGNED_IN.replace("<!--secret-->", &secret)));
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `DELETE /api/session`: signs the page session out. The session is
/// dropped on the server (its cookie and secret open nothing from now on,
/// in every tab) and the browser is told to forget the cookie. Behind the
/// API's guard, so it needs the cookie and the tab's secret (no other site
/// can sign a person out); an API client has no session to end (422).
pub async fn sign_out(
    Extract(state): Extract<Arc<State>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Response {
    let Caller::Page { id, .. } = caller else {
        let body = serde_json::json!({"error": {"class": "invalid_input",
            "message": "this request carries the API token, not a page session: there is no session to end",
            "hint": null}});
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    };
    state
        .page_sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    let gone = set_cookie(
        &state,
        session_cookie(&state),
        "",
        std::time::Duration::ZERO,
    );
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().append(header::SET_COOKIE, gone);
    response
}
