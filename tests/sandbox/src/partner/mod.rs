//! The Technology Partners API (spec tags "Technology Partners" and "Technology
//! Partners Webhooks"): a partner's client accounts and its webhook subscriptions.
//!
//! Every route needs **two** credentials (spec `security`: `ctctPartnerAuthorizer`
//! and `api_key` together): a partner access token from the client-credentials grant
//! (`POST /oauth2/token`, [`crate::oauth::partner`]) carrying `v3api/general.partner`,
//! and the partner app's API key in `x-api-key`. In order: no or an unknown token →
//! 401 (the gateway); a token without the partner scope → 403; no `x-api-key` → 401;
//! a key that is not the token's app's → 403. An ordinary V3 token has no partner
//! scope, and a partner token has no V3 scope, so neither opens the other's doors.
//!
//! | Route | What |
//! |---|---|
//! | `GET /v3/partner/accounts` | client accounts: `account_type` all\|managed\|unmanaged, `limit` 10–50 (out of range is ignored: 50), `offset`; `_links.next` while more |
//! | `POST /v3/partner/accounts` | provision (spec `Provision`) → 201 `{encoded_account_id, provision_uuid}`; a taken `login_name` → 409 |
//! | `GET`/`PUT /v3/partner/accounts/{id}/plan` | the billing plan (`PlanTiersObject`); PUT `PlanInfo`: a known `plan_type`, never back to `TRIAL`, `billing_day_of_month` 1–31 |
//! | `PUT /v3/partner/accounts/{id}/status/cancel` | `AccountCancellation` → 200 echoing it; the account becomes `Canceled` |
//! | `POST /v3/partner/accounts/{id}/account_operations/sync` | a V3 request on behalf of a managed account, run through this sandbox; its answer passed back |
//! | `POST /v3/partner/accounts/{id}/users/sso` | `SSOUser` (every field required) → 201 |
//! | `POST /v3/partner/accounts/{id}/contacts/unsubscribe` | `{email_addresses ≤ 500, update_source, opt_out_reason ≤ 255, delete_contacts, global_unsubscribe}` → `{unsubscribed_count}` |
//! | `GET /v3/partner/webhooks/subscriptions` | the subscribed topics |
//! | `GET`/`PUT`/`DELETE /v3/partner/webhooks/subscriptions/{topic_id}` | one topic (1–4): read, subscribe `{hook_uri}` (https), unsubscribe (204) |
//! | `POST /v3/partner/webhooks/subscriptions/{topic_id}/tests` | a test notification → 201 |
//!
//! An unknown `encoded_account_id` is 404; a canceled account refuses plan changes and
//! a second cancel (400).

mod accounts;
mod webhooks;

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Router;

use crate::auth::{Caller, Needs, Scope};
use crate::errors::ApiError;
use crate::state::Sandbox;

/// `v3api/general.partner`: every partner endpoint.
pub struct GeneralPartner;

impl Scope for GeneralPartner {
    const NAME: &'static str = "v3api/general.partner";
}

/// What the partner API keeps: its client accounts, SSO users and webhook subscriptions.
#[derive(Debug, Default)]
pub struct Partner {
    /// Client accounts, in provisioning order.
    pub accounts: Vec<accounts::ClientAccount>,
    /// SSO users' login names (unique across the partner's accounts and their owners).
    pub sso_logins: BTreeSet<String>,
    /// Webhook callback URIs by topic id.
    pub subscriptions: BTreeMap<u8, String>,
}

/// The partner routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .merge(accounts::routes())
        .merge(webhooks::routes())
}

/// Extractor: the request carries a partner token (`v3api/general.partner`) and the
/// API key of the app that token was issued to. Put it first among a handler's arguments.
pub struct PartnerCaller;

impl FromRequestParts<Sandbox> for PartnerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sandbox: &Sandbox) -> Result<Self, ApiError> {
        Needs::<GeneralPartner>::from_request_parts(parts, sandbox).await?;
        let app = parts
            .extensions
            .get::<Caller>()
            .map(|c| c.app.clone())
            .ok_or_else(ApiError::unauthorized)?;
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        match sandbox.oauth.api_key_of(&app) {
            Some(expected) if expected == key => Ok(PartnerCaller),
            _ => Err(ApiError::for_status(StatusCode::FORBIDDEN)),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::{to_bytes, Body};
    use axum::http::{Method, Request, StatusCode};
    use axum::Router;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    use crate::auth::{Tokens, DEFAULT_APP};
    use crate::oauth::{self, App};
    use crate::state::Sandbox;

    /// A sandbox with a partner app (`partner`/`secret`, key `key-1`) and a V3 token.
    pub(super) struct Partner {
        router: Router,
        token: String,
    }

    impl Partner {
        pub(super) async fn new() -> Partner {
            let tokens = Tokens::default();
            tokens.insert("v3", DEFAULT_APP, ["contact_data".to_owned()], None);
            let app: App = serde_json::from_value(json!({
                "client_id": "partner", "client_secret": "secret",
                "flows": ["client_credentials"], "api_key": "key-1"
            }))
            .unwrap();
            let server = oauth::Server::new(vec![app.normalize().unwrap()], Vec::new(), 3600, 5);
            let router = crate::app::router(Sandbox::new(tokens, false, server));
            let request = Request::post("/oauth2/token")
                .header("authorization", "Basic cGFydG5lcjpzZWNyZXQ=")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("grant_type=client_credentials"))
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value =
                serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await.unwrap())
                    .unwrap();
            assert_eq!(body["token_type"], "Bearer");
            assert!(body.get("refresh_token").is_none());
            Partner {
                router,
                token: body["access_token"].as_str().unwrap().to_owned(),
            }
        }

        /// Sends with `token` and `key` (either left out when `None`).
        pub(super) async fn send_as(
            &self,
            token: Option<&str>,
            key: Option<&str>,
            method: Method,
            path: &str,
            body: Option<Value>,
        ) -> (StatusCode, Value) {
            let mut request = Request::builder().method(method).uri(path);
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            if let Some(key) = key {
                request = request.header("x-api-key", key);
            }
            if body.is_some() {
                request = request.header("content-type", "application/json");
            }
            let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
            let response = self
                .router
                .clone()
                .oneshot(request.body(body).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }

        /// Sends with the partner token and key.
        pub(super) async fn send(
            &self,
            method: Method,
            path: &str,
            body: Option<Value>,
        ) -> (StatusCode, Value) {
            self.send_as(Some(&self.token), Some("key-1"), method, path, body)
                .await
        }
    }

    #[tokio::test]
    async fn both_the_partner_token_and_its_apps_key_are_required() {
        let p = Partner::new().await;
        let path = "/v3/partner/webhooks/subscriptions";
        let token = p.token.clone();
        let cases = [
            (None, Some("key-1"), StatusCode::UNAUTHORIZED),
            (Some("unknown"), Some("key-1"), StatusCode::UNAUTHORIZED),
            (Some("v3"), Some("key-1"), StatusCode::FORBIDDEN),
            (Some(token.as_str()), None, StatusCode::UNAUTHORIZED),
            (Some(token.as_str()), Some("key-2"), StatusCode::FORBIDDEN),
            (Some(token.as_str()), Some("key-1"), StatusCode::OK),
        ];
        for (token, key, status) in cases {
            let (got, body) = p.send_as(token, key, Method::GET, path, None).await;
            assert_eq!(got, status, "{token:?} {key:?}: {body}");
        }
        // A partner token opens no ordinary V3 door.
        let (status, _) = p.send(Method::GET, "/v3/contact_lists", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
