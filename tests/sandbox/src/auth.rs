//! Bearer tokens: who may call, and with which scopes.
//!
//! Every `/v3` request needs `Authorization: Bearer <token>` (reference §2); a missing,
//! unknown or expired token gets the single-object 401. Scopes are checked per
//! endpoint: a handler names its scope with a [`Needs`] extractor and a token without
//! it gets the single-object 403 naming the scope (reference §1.9;
//! `/account/user/privileges` needs none).
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

/// What a token grants.
#[derive(Clone, Debug)]
struct Grant {
    scopes: BTreeSet<String>,
    /// `None` for tokens that never expire (those given on the command line).
    expires_at: Option<Instant>,
}

/// The token table: token → scopes and expiry.
#[derive(Debug, Default)]
pub struct Tokens {
    table: RwLock<HashMap<String, Grant>>,
}

impl Tokens {
    /// Registers `token` with `scopes`, valid for `lifetime` from now (forever when `None`).
    /// Registering a known token again replaces its grant.
    pub fn insert(
        &self,
        token: impl Into<String>,
        scopes: impl IntoIterator<Item = String>,
        lifetime: Option<Duration>,
    ) {
        let grant = Grant {
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

    /// The scopes of `token` at `now`; `None` when it is unknown or has expired.
    fn check(&self, token: &str, now: Instant) -> Option<BTreeSet<String>> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        let grant = table.get(token)?;
        match grant.expires_at {
            Some(expires_at) if expires_at <= now => None,
            _ => Some(grant.scopes.clone()),
        }
    }
}

/// The authenticated caller, put in the request's extensions by [`authenticate`].
#[derive(Clone, Debug)]
pub struct Caller {
    /// The bearer token (the rate limit is counted per token).
    pub token: String,
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
    let Some(scopes) = sandbox.tokens.check(token, Instant::now()) else {
        return ApiError::unauthorized().into_response();
    };
    let caller = Caller {
        token: token.to_owned(),
        scopes,
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
        tokens.insert("forever", ["contact_data".to_owned()], None);
        tokens.insert(
            "brief",
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
