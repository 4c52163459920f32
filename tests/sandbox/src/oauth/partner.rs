//! `POST /oauth2/token`: the technology partner token endpoint (the spec's
//! `ctctPartnerAuthorizer`, an Amazon Cognito domain,
//! `https://v3api-partner.auth.us-east-1.amazoncognito.com/oauth2/token`).
//!
//! Only the client-credentials grant (RFC 6749 §4.4), as Cognito issues it: the app
//! authenticates with HTTP Basic or `client_id` + `client_secret` in the form, must be
//! registered with the `client_credentials` flow, and asks for partner scopes
//! (`v3api/general.partner`; all of them when `scope` is absent). The answer is
//! Cognito's: `access_token`, `expires_in`, `token_type: Bearer`, never a refresh token.
//! The token goes into the one token table under the app's client id, so the `/v3`
//! gateway accepts it, partner handlers find the app's API key by it, and it expires
//! with the sandbox's `access_token_lifetime`. `POST /__sandbox/oauth/expire`
//! (`{client_id}`) revokes every token of an app, so a client meets the 401 that asks
//! it for a new one.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::oauth::apps::Flow;
use crate::oauth::client::{self, Params};
use crate::oauth::error::OAuthError;
use crate::oauth::{mint, token, Stats};
use crate::request::JsonBody;
use crate::state::Sandbox;

/// The partner scopes the spec lists for `ctctPartnerAuthorizer`.
pub const PARTNER_SCOPES: [&str; 1] = ["v3api/general.partner"];

/// The partner token route and its control route.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/oauth2/token", post(token))
        .route("/__sandbox/oauth/expire", post(expire))
}

async fn token(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let stats = &sandbox.oauth.stats;
    Stats::bump(&stats.token_requests);
    let issued = issue(&sandbox, query.as_deref(), &headers, &body);
    if issued.is_ok() {
        Stats::bump(&stats.client_credentials);
    }
    token::answer("/oauth2/token", issued)
}

fn issue(
    sandbox: &Sandbox,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let params = Params::parse(query, headers, body).map_err(OAuthError::invalid_request)?;
    if params.require("grant_type")? != "client_credentials" {
        return Err(OAuthError::unsupported_grant_type());
    }
    let app = client::authenticate(&sandbox.oauth.directory(), headers, &params)?;
    if !app.allows(Flow::ClientCredentials) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the client_credentials grant",
        ));
    }
    let scopes = scopes(params.get("scope"))?;
    let lifetime = sandbox.oauth.settings().access_token_lifetime;
    let subject = mint::Subject {
        issuer: client::base_url(headers),
        client_id: &app.client_id,
        username: &app.client_id,
        scopes: &scopes,
        lifetime,
    };
    let access_token = mint::access_token(&subject);
    sandbox.tokens.insert(
        access_token.clone(),
        &app.client_id,
        scopes,
        Some(Duration::from_secs(lifetime)),
    );
    Stats::bump(&sandbox.oauth.stats.issued_access_tokens);
    Ok(json!({
        "access_token": access_token,
        "expires_in": lifetime,
        "token_type": "Bearer",
    }))
}

/// The requested scopes, each a partner scope; every partner scope when none is asked.
fn scopes(text: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let asked: Vec<&str> = text.unwrap_or_default().split_whitespace().collect();
    if let Some(unknown) = asked.iter().find(|s| !PARTNER_SCOPES.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "scope \"{unknown}\" is not a partner scope"
        )));
    }
    let mut scopes: Vec<String> = if asked.is_empty() {
        PARTNER_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        asked.iter().map(|s| (*s).to_owned()).collect()
    };
    scopes.dedup();
    Ok(scopes)
}

#[derive(Deserialize)]
struct ExpireInput {
    client_id: String,
}

/// Revokes every access token issued to an app: the next request with one gets 401.
async fn expire(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<ExpireInput>,
) -> Json<Value> {
    let expired = sandbox.tokens.remove_app(&input.client_id);
    Json(json!({ "expired": expired }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_partner_scopes_are_granted_and_all_of_them_by_default() {
        assert_eq!(scopes(None).unwrap(), PARTNER_SCOPES);
        assert_eq!(
            scopes(Some("v3api/general.partner")).unwrap(),
            PARTNER_SCOPES
        );
        let error = scopes(Some("contact_data")).unwrap_err();
        assert_eq!(error.code(), "invalid_scope");
    }
}
