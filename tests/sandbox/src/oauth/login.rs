//! The sign-in pages: username and password, then an SMS code, then the redirect.
//!
//! After `authorize` opened a transaction: `POST /login/sign-in` checks the password
//! (the page again with `#error` when wrong), `POST /login/send-code` texts a fresh
//! 6-digit code to the user's phone (only the newest counts), and `POST /login/verify`
//! either declines (303 to `redirect_uri?error=access_denied&state=…`) or checks the code
//! (the page again with `#error` when wrong, as often as needed) and issues the
//! authorization code: 303 to `redirect_uri?code=…&state=…`, the transaction closed.
//! The sign-in handler also serves `/activate`'s sign-in, which goes on to the device
//! approval page instead of the SMS step.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::oauth::authorize::{self, redirect, refuse, with_query};
use crate::oauth::client::Params;
use crate::oauth::error::OAuthError;
use crate::oauth::grants::AuthCode;
use crate::oauth::sessions::{masked, AuthorizeRequest, Purpose};
use crate::oauth::{mint, pages};
use crate::state::Sandbox;

/// The browser routes of the authorization code flow.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/oauth2/default/v1/authorize", get(authorize::authorize))
        .route("/login/sign-in", post(sign_in))
        .route("/login/send-code", post(send_code))
        .route("/login/verify", post(verify))
}
/// The parameters of a page's form post and its transaction id, or the error page.
pub fn form(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Params, String), Page> {
    let params = Params::parse(query, headers, body)
        .map_err(|m| Page(Box::new(pages::error(StatusCode::BAD_REQUEST, &m))))?;
    let id = params
        .get("transaction")
        .ok_or_else(|| Page(Box::new(expired())))?
        .to_owned();
    Ok((params, id))
}

/// A page to show instead of going on (boxed: a response is large for an `Err`).
pub struct Page(Box<Response>);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// The page for a transaction that is unknown, finished or too old.
pub fn expired() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired or already finished. Start again from the app.",
    )
}

async fn sign_in(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, id) = match form(query.as_deref(), &headers, &body) {
        Ok(form) => form,
        Err(page) => return page.into_response(),
    };
    let username = params.get("username").unwrap_or_default().trim();
    let password = params.get("password").unwrap_or_default();
    let (known, phone) = {
        let directory = sandbox.oauth.directory();
        let phone = directory
            .user(username)
            .and_then(|u| u.phone.clone())
            .unwrap_or_default();
        (directory.signs_in(username, password), phone)
    };
    let shown = sandbox.oauth.sessions.update(&id, |transaction| {
        if !known {
            // A failed sign-in undoes an earlier good one on the same transaction.
            transaction.username = None;
            let error = Some("The username or password is not right.");
            return pages::sign_in(&id, &transaction.purpose.intro(), error);
        }
        transaction.username = Some(username.to_owned());
        transaction.sms_code = None;
        match &transaction.purpose {
            Purpose::Authorize(_) => pages::send_code(&id, &masked(&phone)),
            Purpose::Device { user_code } => pages::approve(&id, user_code.as_deref(), None),
        }
    });
    shown.unwrap_or_else(expired)
}

/// A signed-in authorize transaction's user, request and newest SMS code.
type SignedIn = (String, AuthorizeRequest, Option<String>);

fn signed_in(sandbox: &Sandbox, id: &str) -> Option<SignedIn> {
    sandbox
        .oauth
        .sessions
        .update(id, |transaction| {
            match (&transaction.purpose, &transaction.username) {
                (Purpose::Authorize(request), Some(user)) => {
                    Some((user.clone(), request.clone(), transaction.sms_code.clone()))
                }
                _ => None,
            }
        })
        .flatten()
}

fn phone_of(sandbox: &Sandbox, username: &str) -> String {
    let directory = sandbox.oauth.directory();
    directory
        .user(username)
        .and_then(|u| u.phone.clone())
        .unwrap_or_default()
}

async fn send_code(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = match form(query.as_deref(), &headers, &body) {
        Ok((_, id)) => id,
        Err(page) => return page.into_response(),
    };
    let Some((username, _, _)) = signed_in(&sandbox, &id) else {
        return expired();
    };
    let phone = phone_of(&sandbox, &username);
    let code = sandbox.oauth.sessions.text_code(&username, &phone);
    // Only the newest code counts: texting a new one retires the one before.
    match sandbox
        .oauth
        .sessions
        .update(&id, |t| t.sms_code = Some(code))
    {
        Some(()) => pages::verify(&id, &masked(&phone), None),
        None => expired(),
    }
}

async fn verify(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, id) = match form(query.as_deref(), &headers, &body) {
        Ok(form) => form,
        Err(page) => return page.into_response(),
    };
    let Some((username, request, sent)) = signed_in(&sandbox, &id) else {
        return expired();
    };
    if params.get("action") == Some("decline") {
        sandbox.oauth.sessions.close(&id);
        let error = OAuthError::access_denied("the user declined the request");
        return refuse(
            StatusCode::SEE_OTHER,
            &request.redirect_uri,
            &error,
            Some(&request.state),
        );
    }
    let phone = masked(&phone_of(&sandbox, &username));
    let Some(sent) = sent else {
        return pages::verify(
            &id,
            &phone,
            Some("No code has been sent yet: choose \"Send a new code\"."),
        );
    };
    if params.get("code").map(str::trim) != Some(sent.as_str()) {
        return pages::verify(
            &id,
            &phone,
            Some("That code is not right. Check the newest text and try again."),
        );
    }
    sandbox.oauth.sessions.close(&id);
    issue_code(&sandbox, request, username)
}

/// Issues the authorization code and sends the browser back to the app with it.
fn issue_code(sandbox: &Sandbox, request: AuthorizeRequest, username: String) -> Response {
    let code = mint::opaque();
    let location = with_query(
        &request.redirect_uri,
        &[("code", &code), ("state", &request.state)],
    );
    let grant = AuthCode {
        client_id: request.client_id,
        redirect_uri: request.redirect_uri,
        scopes: request.scopes,
        challenge: request.challenge,
        username,
    };
    sandbox.oauth.codes.issue(code, grant, Instant::now());
    redirect(StatusCode::SEE_OTHER, &location)
}
