//! Bearer tokens: who may call, and with which scopes.
//!
//! Every `/v3` request needs `Authorization: Bearer <token>` (reference §2); a missing,
//! unknown or expired token gets the single-object 401. Scopes are checked per
//! endpoint: a handler names its scope with a [`Needs`] extractor and a token without
//! it gets the single-object 403 naming the scope (reference §1.9;
//! `/account/user/privileges` needs none).
//!
//! The scope of each endpoint (spec `security`; tested endpoint by endpoint below):
//!
//! | Scope | Endpoints |
//! |---|---|
//! | none | `GET /account/user/privileges` |
//! | `account_read` | `GET /account/emails`, `GET /account/summary`, `GET /account/summary/physical_address` |
//! | `account_update` | `POST /account/emails`, `PUT /account/summary`, `PUT`/`POST /account/summary/physical_address` |
//! | `contact_data` | `/contacts` (incl. `counts`, `sign_up_form`, `sms_engagement_history`), `/contact_lists`, `/contact_custom_fields`, `/contact_tags`, `/segments`, `/activities` (every bulk activity), `GET /reports/contact_reports/{contact_id}/activity_details` |
//! | `campaign_data` | `/emails` (campaigns, activities, schedules, tests), `GET /reports/summary_reports/email_campaign_summaries`, `GET /reports/stats/email_campaign_activities/{ids}` |
//!
//! [`Tokens`] is the one token table. It is filled from the command line at start and
//! by the control API at run time; an OAuth2 authorization server added later registers
//! the tokens it issues here too, with a lifetime ([`Tokens::insert`]), and expiry is
//! already honoured by [`Tokens::check`].

use std::collections::{BTreeSet, HashMap};
use std::marker::PhantomData;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app;
use crate::errors::ApiError;
use crate::state::Sandbox;

/// Every scope of the V3 API the sandbox knows (reference §1.9).
pub const ALL_SCOPES: [&str; 5] = [
    "account_read",
    "account_update",
    "contact_data",
    "campaign_data",
    "offline_access",
];

/// The application of tokens given on the command line or through the control API
/// without one: the rate limit and the daily quota count per application.
pub const DEFAULT_APP: &str = "sandbox-default-app";

/// What a token grants.
#[derive(Clone, Debug)]
struct Grant {
    scopes: BTreeSet<String>,
    /// The application (OAuth client id) the token was issued to.
    app: String,
    /// `None` for tokens that never expire (those given on the command line).
    expires_at: Option<Instant>,
}

/// The token table: token → scopes and expiry.
#[derive(Debug, Default)]
pub struct Tokens {
    table: RwLock<HashMap<String, Grant>>,
}

impl Tokens {
    /// Registers `token` of application `app` with `scopes`, valid for `lifetime` from
    /// now (forever when `None`). Registering a known token again replaces its grant.
    pub fn insert(
        &self,
        token: impl Into<String>,
        app: &str,
        scopes: impl IntoIterator<Item = String>,
        lifetime: Option<Duration>,
    ) {
        let grant = Grant {
            app: app.to_owned(),
            scopes: scopes.into_iter().collect(),
            expires_at: lifetime.map(|l| Instant::now() + l),
        };
        self.table
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.into(), grant);
    }

    /// Forgets `token` (a revoked or rotated credential); true when it was known.
    pub fn remove(&self, token: &str) -> bool {
        self.table
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token)
            .is_some()
    }

    /// The grant of `token` at `now`; `None` when it is unknown or has expired.
    fn check(&self, token: &str, now: Instant) -> Option<Grant> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        let grant = table.get(token)?;
        match grant.expires_at {
            Some(expires_at) if expires_at <= now => None,
            _ => Some(grant.clone()),
        }
    }

    /// Forgets every token issued to `app` (the partner token endpoint's
    /// revocation); how many there were.
    pub fn remove_app(&self, app: &str) -> usize {
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        let before = table.len();
        table.retain(|_, grant| grant.app != app);
        before - table.len()
    }

    /// The application of the token an `Authorization` header carries, if it is known.
    pub fn app_of(&self, headers: &HeaderMap) -> Option<String> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table.get(bearer(headers)?).map(|g| g.app.clone())
    }
}

/// The authenticated caller, put in the request's extensions by [`authenticate`].
#[derive(Clone, Debug)]
pub struct Caller {
    /// The application it was issued to (the rate limit and quota count per application).
    pub app: String,
    scopes: BTreeSet<String>,
}

/// Middleware: answers 401 unless a `/v3` request carries a valid bearer token.
pub async fn authenticate(
    State(sandbox): State<Sandbox>,
    mut request: Request,
    next: Next,
) -> Response {
    if !app::is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(token) = bearer(request.headers()) else {
        return ApiError::unauthorized().into_response();
    };
    let Some(grant) = sandbox.tokens.check(token, Instant::now()) else {
        return ApiError::unauthorized().into_response();
    };
    let caller = Caller {
        app: grant.app,
        scopes: grant.scopes,
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A scope an endpoint requires, as a type so handlers can name it in their signature.
pub trait Scope {
    /// The scope's name in tokens.
    const NAME: &'static str;
}

/// `account_read`: read account data.
pub struct AccountRead;
/// `account_update`: change account data.
pub struct AccountUpdate;
/// `contact_data`: contacts, lists, custom fields.
pub struct ContactData;
/// `campaign_data`: email campaigns, activities, schedules, test sends.
pub struct CampaignData;

impl Scope for AccountRead {
    const NAME: &'static str = "account_read";
}
impl Scope for AccountUpdate {
    const NAME: &'static str = "account_update";
}
impl Scope for ContactData {
    const NAME: &'static str = "contact_data";
}
impl Scope for CampaignData {
    const NAME: &'static str = "campaign_data";
}

/// Extractor: the caller's token carries scope `S`, else 403. Put it first among a
/// handler's arguments so the scope is checked before the body is read.
pub struct Needs<S>(PhantomData<S>);

impl<S: Scope, St: Send + Sync> FromRequestParts<St> for Needs<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, ApiError> {
        // `authenticate` runs first for every /v3 path; no caller means a route outside it.
        let caller = parts
            .extensions
            .get::<Caller>()
            .ok_or_else(ApiError::unauthorized)?;
        if caller.scopes.contains(S::NAME) {
            Ok(Needs(PhantomData))
        } else {
            Err(ApiError::forbidden(S::NAME))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_and_unknown_tokens_are_refused() {
        let tokens = Tokens::default();
        tokens.insert("forever", DEFAULT_APP, ["contact_data".to_owned()], None);
        tokens.insert(
            "brief",
            DEFAULT_APP,
            ["contact_data".to_owned()],
            Some(Duration::from_secs(60)),
        );
        let now = Instant::now();
        assert!(tokens
            .check("forever", now + Duration::from_secs(86_400))
            .is_some());
        assert!(tokens.check("brief", now).is_some());
        assert!(tokens
            .check("brief", now + Duration::from_secs(61))
            .is_none());
        assert!(tokens.check("unknown", now).is_none());
    }

    /// Every endpoint with the scope the spec assigns it (ids need not exist: the scope
    /// is checked before anything else).
    const ENDPOINTS: &[(&str, &str, &str)] = &[
        ("GET", "/v3/account/emails", "account_read"),
        ("POST", "/v3/account/emails", "account_update"),
        ("GET", "/v3/account/summary", "account_read"),
        ("PUT", "/v3/account/summary", "account_update"),
        (
            "GET",
            "/v3/account/summary/physical_address",
            "account_read",
        ),
        (
            "PUT",
            "/v3/account/summary/physical_address",
            "account_update",
        ),
        (
            "POST",
            "/v3/account/summary/physical_address",
            "account_update",
        ),
        ("GET", "/v3/contacts", "contact_data"),
        ("POST", "/v3/contacts", "contact_data"),
        ("GET", "/v3/contacts/counts", "contact_data"),
        ("GET", "/v3/contacts/{id}", "contact_data"),
        ("PUT", "/v3/contacts/{id}", "contact_data"),
        ("DELETE", "/v3/contacts/{id}", "contact_data"),
        (
            "GET",
            "/v3/contacts/sms_engagement_history/{id}",
            "contact_data",
        ),
        ("POST", "/v3/contacts/sign_up_form", "contact_data"),
        ("GET", "/v3/contact_lists", "contact_data"),
        ("POST", "/v3/contact_lists", "contact_data"),
        ("GET", "/v3/contact_lists/{id}", "contact_data"),
        ("PUT", "/v3/contact_lists/{id}", "contact_data"),
        ("DELETE", "/v3/contact_lists/{id}", "contact_data"),
        ("GET", "/v3/contact_custom_fields", "contact_data"),
        ("POST", "/v3/contact_custom_fields", "contact_data"),
        ("GET", "/v3/contact_custom_fields/{id}", "contact_data"),
        ("PUT", "/v3/contact_custom_fields/{id}", "contact_data"),
        ("DELETE", "/v3/contact_custom_fields/{id}", "contact_data"),
        ("GET", "/v3/contact_tags", "contact_data"),
        ("POST", "/v3/contact_tags", "contact_data"),
        ("GET", "/v3/contact_tags/{id}", "contact_data"),
        ("PUT", "/v3/contact_tags/{id}", "contact_data"),
        ("DELETE", "/v3/contact_tags/{id}", "contact_data"),
        ("GET", "/v3/segments", "contact_data"),
        ("GET", "/v3/segments/1", "contact_data"),
        ("GET", "/v3/activities", "contact_data"),
        ("GET", "/v3/activities/{id}", "contact_data"),
        (
            "POST",
            "/v3/activities/add_list_memberships",
            "contact_data",
        ),
        (
            "POST",
            "/v3/activities/remove_list_memberships",
            "contact_data",
        ),
        (
            "POST",
            "/v3/activities/contacts_taggings_add",
            "contact_data",
        ),
        (
            "POST",
            "/v3/activities/contacts_taggings_remove",
            "contact_data",
        ),
        ("POST", "/v3/activities/contact_delete", "contact_data"),
        (
            "POST",
            "/v3/activities/contacts_json_import",
            "contact_data",
        ),
        (
            "GET",
            "/v3/reports/contact_reports/{id}/activity_details",
            "contact_data",
        ),
        ("GET", "/v3/emails", "campaign_data"),
        ("POST", "/v3/emails", "campaign_data"),
        ("GET", "/v3/emails/{id}", "campaign_data"),
        ("PATCH", "/v3/emails/{id}", "campaign_data"),
        ("DELETE", "/v3/emails/{id}", "campaign_data"),
        ("GET", "/v3/emails/activities/{id}", "campaign_data"),
        ("PUT", "/v3/emails/activities/{id}", "campaign_data"),
        (
            "GET",
            "/v3/emails/activities/{id}/schedules",
            "campaign_data",
        ),
        (
            "POST",
            "/v3/emails/activities/{id}/schedules",
            "campaign_data",
        ),
        (
            "DELETE",
            "/v3/emails/activities/{id}/schedules",
            "campaign_data",
        ),
        ("POST", "/v3/emails/activities/{id}/tests", "campaign_data"),
        (
            "GET",
            "/v3/reports/summary_reports/email_campaign_summaries",
            "campaign_data",
        ),
        (
            "GET",
            "/v3/reports/stats/email_campaign_activities/{id}",
            "campaign_data",
        ),
    ];

    #[tokio::test]
    async fn every_endpoint_needs_its_scope_and_only_that() {
        let client = crate::testing::Client::new();
        let id = "4d88f172-21d1-11ea-b5ae-fa163e56c9b0";
        for (method, path, scope) in ENDPOINTS {
            let path = path.replace("{id}", id);
            let method: axum::http::Method = method.parse().unwrap();
            let body = (method != "GET" && method != "DELETE").then(|| serde_json::json!({}));
            for other in ALL_SCOPES.iter().filter(|s| *s != scope) {
                let (status, error) = client
                    .send(other, method.clone(), &path, body.clone())
                    .await;
                assert_eq!(status, 403, "{method} {path} with {other}");
                assert!(error["error_message"].as_str().unwrap().contains(scope));
            }
            let (status, answer) = client
                .send(scope, method.clone(), &path, body.clone())
                .await;
            assert!(status != 403 && status != 405, "{method} {path}: {status}");
            assert_ne!(
                answer[0]["error_message"], "The requested resource was not found.",
                "{method} {path} has no route"
            );
        }
        let (status, _) = client
            .send(
                "none",
                axum::http::Method::GET,
                "/v3/account/user/privileges",
                None,
            )
            .await;
        assert_eq!(status, 200);
    }

    #[test]
    fn reads_bearer_tokens_only() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
