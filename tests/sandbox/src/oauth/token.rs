//! `POST /oauth2/default/v1/token`: codes, refresh tokens and device codes for tokens.
//!
//! In order: parameters (`invalid_request`), `grant_type` (`unsupported_grant_type`),
//! client authentication (401 `invalid_client`), then the grant's own checks. Success is
//! the documented token response (reference §1.7): `token_type`, `access_token`,
//! `expires_in`, `scope` (granted = requested), `refresh_token` only when
//! `offline_access` was granted, `id_token` after a PKCE exchange. Each access token goes
//! into the `/v3` token table with its scopes and lifetime. The whole exchange runs
//! without an await after the body is read, and rotation is atomic in [`Families`], so
//! concurrent refreshes of one rotating token give one success and `invalid_grant`s.
//!
//! [`Families`]: crate::oauth::grants::Families

use std::io::Write;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::oauth::apps::App;
use crate::oauth::client::{self, Params};
use crate::oauth::error::{no_store, OAuthError};
use crate::oauth::grants::{self, Refused};
use crate::oauth::{mint, Stats};
use crate::state::Sandbox;

/// RFC 8628's grant type for device polls.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The token route.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/oauth2/default/v1/token", post(token))
}

async fn token(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let stats = &sandbox.oauth.stats;
    Stats::bump(&stats.token_requests);
    let exchanged = exchange(&sandbox, query.as_deref(), &headers, &body);
    if exchanged
        .as_ref()
        .is_err_and(|e| e.code() == "invalid_grant")
    {
        Stats::bump(&stats.invalid_grant);
    }
    answer("/oauth2/default/v1/token", exchanged)
}

/// A token endpoint's answer (tokens with `no-store`, or the OAuth error), logged
/// as its status and error code only: the request holds codes, tokens and secrets.
pub(crate) fn answer(path: &str, outcome: Result<Value, OAuthError>) -> Response {
    let (response, said) = match outcome {
        Ok(tokens) => ((no_store(), Json(tokens)).into_response(), "ok"),
        Err(error) => {
            let code = error.code();
            (error.into_response(), code)
        }
    };
    let _ = writeln!(
        std::io::stderr(),
        "cc-sandbox: POST {path} -> {} {said}",
        response.status().as_u16()
    );
    response
}

fn exchange(
    sandbox: &Sandbox,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let params = Params::parse(query, headers, body).map_err(OAuthError::invalid_request)?;
    let grant_type = params.require("grant_type")?;
    if !["authorization_code", "refresh_token", DEVICE_GRANT].contains(&grant_type) {
        return Err(OAuthError::unsupported_grant_type());
    }
    let app = client::authenticate(&sandbox.oauth.directory(), headers, &params)?;
    let issuer = format!("{}/oauth2/default", client::base_url(headers));
    let context = Context {
        sandbox,
        app: &app,
        issuer: &issuer,
    };
    match grant_type {
        "authorization_code" => context.code_grant(&params),
        "refresh_token" => context.refresh_grant(&params),
        _ => context.device_grant(&params),
    }
}

/// What every grant needs: the sandbox, the authenticated app, the issuer.
struct Context<'a> {
    sandbox: &'a Sandbox,
    app: &'a App,
    issuer: &'a str,
}

impl Context<'_> {
    fn code_grant(&self, params: &Params) -> Result<Value, OAuthError> {
        let code = params.require("code")?;
        let redirect_uri = params.require("redirect_uri")?;
        let grant = self
            .sandbox
            .oauth
            .codes
            .take(code, Instant::now())
            .ok_or_else(|| {
                OAuthError::invalid_grant("the authorization code is invalid, used or expired")
            })?;
        if grant.client_id != self.app.client_id {
            return Err(OAuthError::invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if grant.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorize request's",
            ));
        }
        pkce(grant.challenge.as_deref(), params.get("code_verifier"))?;
        let refresh_token = self.start_family(&grant.username, &grant.scopes);
        Ok(self.tokens(
            &grant.username,
            &grant.scopes,
            refresh_token.as_deref(),
            grant.challenge.is_some(),
        ))
    }

    fn refresh_grant(&self, params: &Params) -> Result<Value, OAuthError> {
        let token = params.require("refresh_token")?;
        let requested = client::scopes(params.get("scope")).transpose()?;
        let family = self
            .sandbox
            .oauth
            .families
            .refresh(
                token,
                &self.app.client_id,
                requested.as_deref(),
                mint::opaque(),
            )
            .map_err(|refused| match refused {
                Refused::Unknown => {
                    OAuthError::invalid_grant("the refresh token is invalid or expired")
                }
                Refused::Rotated => {
                    OAuthError::invalid_grant("the refresh token was already used: it rotated")
                }
                Refused::OtherClient => {
                    OAuthError::invalid_grant("the refresh token was issued to another client")
                }
                Refused::Widened => {
                    OAuthError::invalid_scope("scope asks for more than the grant has")
                }
            })?;
        Stats::bump(&self.sandbox.oauth.stats.refreshes);
        let scopes = requested.unwrap_or_else(|| family.scopes.clone());
        Ok(self.tokens(&family.username, &scopes, Some(family.live()), false))
    }

    fn device_grant(&self, params: &Params) -> Result<Value, OAuthError> {
        let device_code = params.require("device_code")?;
        let step = Duration::from_secs(self.sandbox.oauth.settings().device_slow_down);
        let approved = self.sandbox.oauth.devices.poll(
            device_code,
            &self.app.client_id,
            Instant::now(),
            step,
        )?;
        let refresh_token = self.start_family(&approved.username, &approved.scopes);
        Ok(self.tokens(
            &approved.username,
            &approved.scopes,
            refresh_token.as_deref(),
            false,
        ))
    }

    /// A new grant's first refresh token, when it has `offline_access` (reference §1.5).
    fn start_family(&self, username: &str, scopes: &[String]) -> Option<String> {
        if !scopes.iter().any(|s| s == "offline_access") {
            return None;
        }
        let token = mint::opaque();
        let app = self.app;
        let families = &self.sandbox.oauth.families;
        families.start(
            &app.client_id,
            username,
            scopes,
            app.refresh_mode,
            token.clone(),
        );
        Some(token)
    }

    /// The token response; the access token is registered for `/v3` first.
    fn tokens(
        &self,
        username: &str,
        scopes: &[String],
        refresh_token: Option<&str>,
        id_token: bool,
    ) -> Value {
        let lifetime = self.sandbox.oauth.settings().access_token_lifetime;
        let subject = mint::Subject {
            issuer: self.issuer.to_owned(),
            client_id: &self.app.client_id,
            username,
            scopes,
            lifetime,
        };
        let access_token = mint::access_token(&subject);
        let registered = scopes.iter().cloned();
        self.sandbox.tokens.insert(
            access_token.clone(),
            &self.app.client_id,
            registered,
            Some(Duration::from_secs(lifetime)),
        );
        Stats::bump(&self.sandbox.oauth.stats.issued_access_tokens);
        let mut body = json!({
            "token_type": "Bearer",
            "access_token": access_token,
            "expires_in": lifetime,
            "scope": scopes.join(" "),
        });
        if let Some(refresh_token) = refresh_token {
            body["refresh_token"] = refresh_token.into();
        }
        if id_token {
            body["id_token"] = mint::id_token(&subject).into();
        }
        body
    }
}

/// The PKCE check of a code exchange: a code issued with a challenge needs its verifier.
fn pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    let failed = |why: &str| {
        Err(OAuthError::invalid_grant(format!(
            "PKCE verification failed: {why}"
        )))
    };
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) if grants::pkce_matches(challenge, verifier) => Ok(()),
        (Some(_), Some(_)) => failed("code_verifier does not match the code_challenge"),
        (Some(_), None) => failed("code_verifier is missing"),
        (None, Some(_)) => failed("code_verifier sent for a code issued without a code_challenge"),
        (None, None) => Ok(()),
    }
}
