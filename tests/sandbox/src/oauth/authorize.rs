//! `GET /oauth2/default/v1/authorize`: the start of the authorization code flow.
//!
//! The app and the redirect URI are checked first: a bad one gets an error page and is
//! never redirected to (RFC 6749 §4.1.2.1; else the sandbox would be an open
//! redirector). Any later problem goes back to the app as
//! `redirect_uri?error=…&error_description=…&state=…` (`unsupported_response_type`,
//! `unauthorized_client`, `invalid_request` for a missing `state` or `scope` or a bad PKCE
//! challenge, `invalid_scope`). A public app must send an S256 `code_challenge`. A good
//! request opens a sign-in transaction and shows the sign-in page (see `login`).

use axum::extract::{RawQuery, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::oauth::apps::{App, Flow};
use crate::oauth::client::{self, Params};
use crate::oauth::error::OAuthError;
use crate::oauth::grants;
use crate::oauth::pages;
use crate::oauth::sessions::{AuthorizeRequest, Purpose};
use crate::state::Sandbox;

/// `GET /oauth2/default/v1/authorize`: the sign-in page, or an error page or redirect.
pub async fn authorize(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.as_deref(), &HeaderMap::new(), b"") {
        Ok(params) => params,
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, &message),
    };
    let checked = {
        let directory = sandbox.oauth.directory();
        let Some(app) = params.get("client_id").and_then(|id| directory.app(id)) else {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "client_id is missing or not a registered app.",
            );
        };
        let redirect_uri = params.get("redirect_uri").unwrap_or_default();
        if !app.redirect_uris.iter().any(|u| u == redirect_uri) {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "redirect_uri is missing or not registered for this app.",
            );
        }
        check(app, &params, redirect_uri)
    };
    match checked {
        Ok(request) => {
            let purpose = Purpose::Authorize(request);
            let intro = purpose.intro();
            pages::sign_in(&sandbox.oauth.sessions.open(purpose), &intro, None)
        }
        Err(error) => {
            let redirect_uri = params.get("redirect_uri").unwrap_or_default();
            refuse(StatusCode::FOUND, redirect_uri, &error, params.get("state"))
        }
    }
}

/// The rest of an authorize request, once the app and its redirect URI are known good.
fn check(app: &App, params: &Params, redirect_uri: &str) -> Result<AuthorizeRequest, OAuthError> {
    if params.get("response_type") != Some("code") {
        return Err(OAuthError::unsupported_response_type());
    }
    if !app.allows(Flow::AuthorizationCode) {
        return Err(OAuthError::unauthorized_client(
            "this app is not registered for the authorization code flow",
        ));
    }
    let state = params.require("state")?;
    let scopes = client::scopes(params.get("scope"))
        .ok_or_else(|| OAuthError::invalid_request("scope is missing"))??;
    let challenge = challenge(app, params)?;
    Ok(AuthorizeRequest {
        client_id: app.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: state.to_owned(),
        challenge,
    })
}

/// The PKCE challenge: S256 only, and required of public apps.
fn challenge(app: &App, params: &Params) -> Result<Option<String>, OAuthError> {
    let refuse = |message: &str| Err(OAuthError::invalid_request(message));
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) if app.is_public() => {
            refuse("this app is public: PKCE (code_challenge, S256) is required")
        }
        (None, None) => Ok(None),
        (None, Some(_)) => refuse("code_challenge is missing"),
        (Some(challenge), Some("S256")) if grants::is_challenge(challenge) => {
            Ok(Some(challenge.to_owned()))
        }
        (Some(_), Some("S256")) => refuse("code_challenge is not 43 base64url characters"),
        (Some(_), _) => refuse("code_challenge_method must be S256"),
    }
}

/// Sends `error` back to the app at `redirect_uri`, with `state` when there is one.
pub fn refuse(
    status: StatusCode,
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
) -> Response {
    let mut pairs = vec![
        ("error", error.code()),
        ("error_description", error.description()),
    ];
    pairs.extend(state.map(|s| ("state", s)));
    redirect(status, &with_query(redirect_uri, &pairs))
}

pub fn redirect(status: StatusCode, location: &str) -> Response {
    (status, [(LOCATION, location)]).into_response()
}

/// `uri` with `pairs` form-encoded onto its query (it may already have one).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    // Encoding plain string pairs cannot fail.
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = match uri.contains('?') {
        false => "?",
        true if uri.ends_with(['?', '&']) => "",
        true => "&",
    };
    format!("{uri}{separator}{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_join_an_existing_query() {
        assert_eq!(
            with_query("http://x/cb", &[("code", "a b"), ("state", "s&t")]),
            "http://x/cb?code=a+b&state=s%26t"
        );
        assert_eq!(
            with_query("http://x/cb?app=1", &[("code", "c")]),
            "http://x/cb?app=1&code=c"
        );
        assert_eq!(
            with_query("http://x/cb?", &[("code", "c")]),
            "http://x/cb?code=c"
        );
    }
}
