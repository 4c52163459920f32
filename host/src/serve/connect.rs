//! Connect on `serve`: start an OAuth sign-in, open it in a browser, and
//! take the provider's redirect back at `/oauth/callback`.
//!
//! Invariants: the PKCE verifier never leaves the server; a sign-in is
//! finished only in the browser that started it: a page-started one in the
//! page session that asked (the answer is the provider's URL), an
//! API-started one in the browser that first opened its one-time start
//! link `/oauth/start/{link}` (the answer is that link; opening it sets a
//! binding cookie, then redirects to the provider). A redirect arriving in
//! any other browser is refused and the real sign-in stays pending; a
//! sign-in is good for ten minutes and once; the first connect pins the
//! OAuth endpoints in the connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State as Extract};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::auth::{cookie, random_token, same_secret, session_cookie, set_cookie, Caller};
use super::errors::ApiError;
use super::headers::secured;
use super::space::Scope;
use super::state::{Binding, PendingSignIn, State};
use crate::name::Name;
use crate::oauth::{requested_scopes, Authorization};
use crate::SessionError;

/// How long a sign-in may take.
const SIGN_IN: Duration = Duration::from_secs(600);

/// `POST /api/connections/{name}/connect`: the URL to send the person to.
pub async fn start(
    scope: Scope,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    // Every route takes a connection's name only as a `Name` it knows.
    let name = super::api::known(&scope, &name).await?;
    let public = scope.config.public_url();
    let (url, scopes) = begin(&scope, name, None, |authorization| match caller {
        Caller::Page { id, .. } => (Binding::Page(id), authorization.url.to_string()),
        Caller::Api(_) => {
            let link = random_token();
            let url = format!("{public}/oauth/start/{link}");
            (Binding::Link { link, opened: None }, url)
        }
    })
    .await?;
    let answer = json!({"authorize_url": url, "scopes": scopes, "expires_in": SIGN_IN.as_secs()});
    Ok(Json(answer).into_response())
}

/// Starts connection `name`'s sign-in (pinning its OAuth endpoints on the
/// first one), bound to the browser `bind` names: the URL `bind` gives for
/// it, and the scopes asked for.
pub(super) async fn begin(
    scope: &Scope,
    name: Name,
    after: Option<super::links::After>,
    bind: impl FnOnce(&Authorization) -> (Binding, String),
) -> Result<(String, Vec<String>), ApiError> {
    let session = scope.session(&name).await.map_err(ApiError::on(&name))?;
    let Some(tokens) = session.tokens() else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("connection {name} does not use OAuth2; there is nothing to connect"),
        ));
    };
    let connection = session.connection();
    if !tokens.settings().pinned {
        scope
            .documents()
            .set_oauth_keys(&name, &tokens.settings().endpoints.entries())
            .await
            .map_err(|e| ApiError::from(SessionError::from(e)))?;
        scope.forget_session(&name);
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
    let (bound_to, url) = bind(&authorization);
    crate::audit::connect(name.as_str(), "started");
    remember(scope, name, bound_to, authorization, after);
    Ok((url, scopes))
}

/// Keeps a started sign-in until its redirect comes back (or it expires).
fn remember(
    scope: &Scope,
    connection: Name,
    bound_to: Binding,
    authorization: Authorization,
    after: Option<super::links::After>,
) {
    let mut sign_ins = scope.sign_ins.lock().unwrap_or_else(|e| e.into_inner());
    sign_ins.retain(|_, s| s.started.elapsed() < SIGN_IN);
    sign_ins.insert(
        authorization.state().to_owned(),
        PendingSignIn {
            tenant: scope.space.tenant.clone(),
            principal: scope.principal.clone(),
            connection,
            bound_to,
            authorization,
            after,
            started: Instant::now(),
        },
    );
}

/// The binding cookie of start link `link` (named by its first 16 digits,
/// so a browser may hold several sign-ins at once).
pub(super) fn link_cookie(state: &State, link: &str) -> String {
    let prefix = if super::auth::secure(state) {
        "__Host-"
    } else {
        ""
    };
    format!("{prefix}ch_signin_{}", &link[..16])
}

/// `GET /oauth/start/{link}`: the one-time start link of an API-started
/// sign-in. The first browser to open it is bound to the sign-in (a
/// cookie) and sent to the provider; any later opening is refused.
pub async fn open_link(Extract(state): Extract<Arc<State>>, Path(link): Path<String>) -> Response {
    let mut sign_ins = state.sign_ins.lock().unwrap_or_else(|e| e.into_inner());
    let found = sign_ins.values_mut().find(|p| {
        matches!(&p.bound_to, Binding::Link { link: l, .. } if same_secret(l, &link))
            && p.started.elapsed() < SIGN_IN
    });
    let Some(pending) = found else {
        return page_error(
            StatusCode::NOT_FOUND,
            "this sign-in link is unknown or expired (a link is good for ten minutes); start Connect again",
        );
    };
    let Binding::Link { link, opened } = &mut pending.bound_to else {
        unreachable!("found by its link")
    };
    if opened.is_some() {
        return page_error(
            StatusCode::GONE,
            "this sign-in link was already opened (a link opens once, in one browser); start Connect again",
        );
    }
    let value = random_token();
    *opened = Some(value.clone());
    let cookie = set_cookie(&state, &link_cookie(&state, link), &value, SIGN_IN);
    let mut response = secured(Redirect::to(pending.authorization.url.as_str()));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// Whether the request comes from the browser `binding` names.
fn bound_here(state: &State, binding: &Binding, headers: &HeaderMap) -> bool {
    match binding {
        Binding::Page(id) => {
            cookie(headers, session_cookie(state)).is_some_and(|sent| same_secret(&sent, id))
        }
        Binding::Link { link, opened } => {
            let sent = cookie(headers, &link_cookie(state, link));
            matches!((opened, sent), (Some(value), Some(sent)) if same_secret(&sent, value))
        }
    }
}

/// What the callback does with a `state`.
enum Found {
    /// Unknown, expired or used.
    Unknown,
    /// Another browser's: refused, the sign-in stays pending.
    Elsewhere(&'static str),
    /// This browser's: taken out, to be finished.
    Here(Box<PendingSignIn>),
}

/// Looks the sign-in up and takes it out only when this browser may finish it.
fn take(state: &State, headers: &HeaderMap, key: Option<&String>) -> Found {
    let mut sign_ins = state.sign_ins.lock().unwrap_or_else(|e| e.into_inner());
    sign_ins.retain(|_, s| s.started.elapsed() < SIGN_IN);
    let Some(pending) = key.and_then(|k| sign_ins.get(k)) else {
        return Found::Unknown;
    };
    if !bound_here(state, &pending.bound_to, headers) {
        return Found::Elsewhere(match pending.bound_to {
            Binding::Page(_) => "this sign-in was started in another browser session; it is refused here (possible CSRF) and stays open for the browser that started it. To connect from this browser, start Connect here",
            Binding::Link { .. } => "this sign-in belongs to the browser that opened its start link, and this browser did not; it is refused here (possible CSRF) and stays open for that browser",
        });
    }
    key.and_then(|k| sign_ins.remove(k))
        .map_or(Found::Unknown, |p| Found::Here(Box::new(p)))
}

/// `GET /oauth/callback`: the provider's redirect. Finishes the sign-in
/// and sends a page-started one back to the connection on the page.
pub async fn callback(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let pending = match take(&state, &headers, params.get("state")) {
        Found::Unknown => {
            return page_error(
                StatusCode::BAD_REQUEST,
                "this sign-in is unknown, expired or already used; start Connect again",
            )
        }
        Found::Elsewhere(why) => return page_error(StatusCode::FORBIDDEN, why),
        Found::Here(pending) => *pending,
    };
    let name = pending.connection.clone();
    let link = match &pending.bound_to {
        Binding::Link { link, .. } => Some(link_cookie(&state, link)),
        Binding::Page(_) => None,
    };
    let declined = params.get("error").map(String::as_str) == Some("access_denied");
    let after = pending.after.clone();
    let actor = super::auth::audit_actor(&state, &pending.principal, Some(&pending.tenant));
    let actor = match link {
        None => actor.on_page(),
        Some(_) => actor,
    };
    let finished = crate::audit::scope(actor, finish(&state, pending, &params, declined)).await;
    if let (Some(after), Some(link)) = (after, &link) {
        let outcome = match &finished {
            Ok(()) => "connected",
            Err(_) if declined => "declined",
            Err(_) => "failed",
        };
        let mut response = super::link_page::ended(&name, &after, outcome);
        let gone = set_cookie(&state, link, "", Duration::ZERO);
        response.headers_mut().append(header::SET_COOKIE, gone);
        return response;
    }
    if let Err(error) = finished {
        let body = error.body();
        if link.is_none() {
            // A page-started sign-in goes back to the page, which shows the
            // outcome with Try again. Only a word of ours and an error class
            // travel in the address: a forged link can show nothing else.
            let outcome = if declined { "declined" } else { "failed" };
            let class = body["error"]["class"].as_str().unwrap_or("internal");
            return secured(Redirect::to(&format!(
                "/#connection={name}&signin={outcome}&class={class}"
            )));
        }
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("the sign-in failed")
            .to_owned();
        return page_error(StatusCode::BAD_GATEWAY, &message);
    }
    let Some(link) = link else {
        return secured(Redirect::to(&format!(
            "/#connection={name}&signin=connected"
        )));
    };
    // An API-started sign-in: this browser may have no page session.
    let mut response = page(
        StatusCode::OK,
        "Connected",
        &format!("Connection {name} is signed in. You may close this tab."),
    );
    let gone = set_cookie(&state, &link, "", Duration::ZERO);
    response.headers_mut().append(header::SET_COOKIE, gone);
    response
}

async fn finish(
    state: &Arc<State>,
    pending: PendingSignIn,
    params: &HashMap<String, String>,
    declined: bool,
) -> Result<(), ApiError> {
    let name = pending.connection.clone();
    let finished = finishing(state, pending, params).await;
    let outcome = match &finished {
        Ok(()) => "connected",
        Err(_) if declined => "declined",
        Err(_) => "failed",
    };
    crate::audit::connect(name.as_str(), outcome);
    finished
}

async fn finishing(
    state: &Arc<State>,
    pending: PendingSignIn,
    params: &HashMap<String, String>,
) -> Result<(), ApiError> {
    // In the tenant the sign-in was started in, whoever's browser it is.
    let scope = Scope::new(state.clone(), pending.principal.clone(), &pending.tenant);
    let session = scope
        .session(&pending.connection)
        .await
        .map_err(ApiError::on(&pending.connection))?;
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
    crate::audit::token_issued(pending.connection.as_str(), &record.scopes, "page");
    Ok(())
}

fn page_error(status: StatusCode, message: &str) -> Response {
    page(status, "Connect failed", message)
}

/// A small page: `title` and `message` (escaped; from a server, cleaned).
pub(super) fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let text = crate::redact::untrusted(message);
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    secured((status, Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title><link rel=stylesheet href=/app.css><main class=sign-in><h1>{title}</h1><p id=message>{escaped}</p><p><a href=/>Back to the connections</a></p></main>"
    ))))
}
