//! The connection page: static HTML, CSS and script served by the host (no
//! front-end build step), and the sign-in that turns the API token into a
//! page session.
//!
//! In `page/`: `index.html` is the skeleton and `app.js` shows what the
//! address names (the list, the connector search, one connection);
//! `connection.js` and `fields.js` make the connection's form, Check and
//! Connect; `runner.js` and `schema-form.js` the activity runner; `api.js`
//! calls the JSON API with the CSRF token; `dom.js` builds elements.
//!
//! Invariants: only this origin's own script runs (the CSP forbids inline
//! script and style and `eval`), text from the server is only ever set as
//! text, pages are never framed or cached, and no page holds a secret (the
//! API returns none; the script empties secret inputs once saved).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State as Extract};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;

use super::auth::{caller, is_api_token, start_page_session};
use super::state::State;

const INDEX: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/app.css");
const SIGN_IN: &str = include_str!("page/sign-in.html");

/// The page's script: plain ES modules, `app.js` first; each is served at
/// `/js/<name>`.
const SCRIPTS: &[(&str, &str)] = &[
    ("app.js", include_str!("page/app.js")),
    ("api.js", include_str!("page/api.js")),
    ("dom.js", include_str!("page/dom.js")),
    ("connection.js", include_str!("page/connection.js")),
    ("fields.js", include_str!("page/fields.js")),
    ("runner.js", include_str!("page/runner.js")),
    ("schema-form.js", include_str!("page/schema-form.js")),
];

/// Headers every page carries: no framing (clickjacking), no sniffing, and a
/// policy that lets only this origin's own script run.
fn secured(body: impl IntoResponse) -> Response {
    const HEADERS: [(header::HeaderName, &str); 5] = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let mut response = body.into_response();
    for (name, value) in HEADERS {
        response
            .headers_mut()
            .insert(name, header::HeaderValue::from_static(value));
    }
    response
}

/// `GET /`: the page, or the sign-in form without a page session.
pub async fn index(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    match caller(&state, &axum::http::Method::GET, &headers) {
        Ok(_) => secured(Html(INDEX)),
        Err(_) => secured(Html(SIGN_IN)),
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

/// `POST /sign-in` (form field `token`): a page session for the API token.
pub async fn sign_in(
    Extract(state): Extract<Arc<State>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    session_for(&state, token.trim())
}

/// `GET /sign-in?token=…`: the same, for a link (the token leaves the
/// address bar at once: the answer is a redirect).
pub async fn sign_in_link(
    Extract(state): Extract<Arc<State>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    session_for(&state, token.trim())
}

fn session_for(state: &State, token: &str) -> Response {
    if !is_api_token(state, token) {
        return secured((
            StatusCode::UNAUTHORIZED,
            Html(SIGN_IN.replace(
                "<!--error-->",
                "<p id=sign-in-error>That is not this server's API token.</p>",
            )),
        ));
    }
    let cookies = start_page_session(state);
    let mut response = Redirect::to("/").into_response();
    for cookie in cookies {
        response.headers_mut().append(
            header::SET_COOKIE,
            header::HeaderValue::from_str(&cookie).expect("cookies are ASCII"),
        );
    }
    secured(response)
}
