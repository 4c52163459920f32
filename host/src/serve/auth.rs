//! Who may use `serve`: API clients with a token (`Authorization: Bearer
//! …`): the server's own (the operator's) or a tenant's
//! ([`super::tenants`]), and browsers with a page session made from one.
//!
//! A page session is two halves: an HttpOnly cookie, and a secret the
//! sign-in answer gives the tab once (the page keeps it in
//! `sessionStorage`) and that every `/api` and `/mcp` request, GET
//! included, must carry in `X-CSRF-Token`. Cookies are not port-scoped: a
//! server on another port of this host is sent the cookie, and a page there
//! reads any cookie script may read. So no cookie is readable by script,
//! and the cookie alone is useless. Over https the cookie is also `Secure`
//! and `__Host-` prefixed (no subdomain or other scheme can set it).
//!
//! Invariants: every `/api` and `/mcp` request is authenticated; tokens
//! are compared as SHA-256 digests in constant time (neither their bytes
//! nor their length leak through timing) and never logged; wrong tokens
//! count against the client's address ([`super::throttle`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State as Extract};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::listen::client;
use super::state::{PageSession, State};
use super::tenants::Principal;
use super::throttle::{seconds, Gate};

/// The page session cookie over plain http.
const SESSION_COOKIE: &str = "ch_session";
/// The header that must carry the page session's secret.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a page session lasts.
const PAGE_SESSION: Duration = Duration::from_secs(12 * 3600);

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An API client with a token.
    Api(Principal),
    /// A browser's page session.
    Page {
        /// Its cookie's value.
        id: String,
        /// Whose token it was made from.
        principal: Principal,
    },
}

impl Caller {
    /// Whose token the request carries, directly or through a page session.
    pub fn principal(&self) -> &Principal {
        match self {
            Caller::Api(principal) | Caller::Page { principal, .. } => principal,
        }
    }
}

/// 32 random bytes, hex: session ids, CSRF secrets, sign-in bindings,
/// generated API tokens.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether two secrets are equal, in time that depends on neither.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(a.ct_eq(&b))
}

/// The address a request came from (set by the accept loop).
pub fn peer(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client(c.0.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Checks a token sent by `from`: the operator's, or a live tenant token.
/// Refused unread while `from` is locked out; a wrong one counts against it.
pub async fn check_token(
    state: &State,
    from: IpAddr,
    candidate: &str,
) -> Result<Principal, Refusal> {
    if let Gate::Locked(wait) = state.throttle.gate(from) {
        return Err(Refusal::Locked(seconds(wait)));
    }
    if same_secret(state.api_token.expose_secret(), candidate) {
        state.throttle.right(from);
        return Ok(Principal::Operator);
    }
    match state.tenant_tokens.find(candidate).await {
        Ok(Some(issued)) => {
            state.throttle.right(from);
            return Ok(Principal::Tenant {
                tenant: issued.tenant,
                token: issued.id,
            });
        }
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(%error, "cannot read the tenant tokens");
            return Err(Refusal::Unavailable);
        }
    }
    match state.throttle.wrong(from) {
        Gate::Open => Err(Refusal::BadToken),
        Gate::Locked(wait) => Err(Refusal::Locked(seconds(wait))),
    }
}

/// The page session cookie's name: `__Host-` prefixed when browsers reach
/// this server over https.
pub fn session_cookie(state: &State) -> &'static str {
    if secure(state) {
        "__Host-ch_session"
    } else {
        SESSION_COOKIE
    }
}

/// Whether browsers reach this server over https (cookies are then `Secure`).
pub fn secure(state: &State) -> bool {
    state.config.public_url().starts_with("https://")
}

/// A `Set-Cookie` value: HttpOnly, `SameSite=Lax` (the provider's redirect
/// back to `/oauth/callback` is a cross-site navigation that must carry
/// it), `Path=/`, and `Secure` over https.
pub fn set_cookie(state: &State, name: &str, value: &str, age: Duration) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        age.as_secs()
    );
    HeaderValue::from_str(&cookie).expect("cookie names and values are ASCII")
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The page session the request's cookie names, if it is live (without
/// its secret: this only chooses which static page to serve).
pub fn page_session(state: &State, headers: &HeaderMap) -> Option<String> {
    let id = cookie(headers, session_cookie(state))?;
    let sessions = state
        .page_sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    sessions
        .get(&id)
        .filter(|s| s.started.elapsed() < PAGE_SESSION)
        .map(|_| id)
}

/// The caller, if the request is authenticated: a token in
/// `Authorization`, or a page session's cookie with its secret in
/// [`CSRF_HEADER`] (and the token it was made from still live).
pub async fn caller(state: &State, from: IpAddr, headers: &HeaderMap) -> Result<Caller, Refusal> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        return check_token(state, from, token.trim())
            .await
            .map(Caller::Api);
    }
    let id = cookie(headers, session_cookie(state)).ok_or(Refusal::NoCredential)?;
    let principal = {
        let sessions = state
            .page_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let session = sessions
            .get(&id)
            .filter(|s| s.started.elapsed() < PAGE_SESSION)
            .ok_or(Refusal::NoCredential)?;
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same_secret(&session.csrf, sent) {
            return Err(Refusal::Csrf);
        }
        session.principal.clone()
    };
    if let Principal::Tenant { token, .. } = &principal {
        if !state.tenant_tokens.live(token).await {
            return Err(Refusal::NoCredential);
        }
    }
    Ok(Caller::Page { id, principal })
}

/// Starts a page session for `principal`: its `Set-Cookie` header and the
/// secret to give the tab (once: it is never served again).
pub fn start_page_session(state: &State, principal: Principal) -> (HeaderValue, String) {
    let (id, csrf) = (random_token(), random_token());
    let mut sessions = state
        .page_sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    sessions.retain(|_, s| s.started.elapsed() < PAGE_SESSION);
    sessions.insert(
        id.clone(),
        PageSession {
            principal,
            csrf: csrf.clone(),
            started: Instant::now(),
        },
    );
    let cookie = set_cookie(state, session_cookie(state), &id, PAGE_SESSION);
    (cookie, csrf)
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token and no page session.
    NoCredential,
    /// A token that is neither the API token nor a live tenant token.
    BadToken,
    /// A page session's cookie without its secret.
    Csrf,
    /// Too many wrong tokens from this address: locked out for these seconds.
    Locked(u64),
    /// The tenants' tokens cannot be read now.
    Unavailable,
}

impl Refusal {
    /// The status and the sentence.
    pub fn explain(self) -> (StatusCode, String) {
        match self {
            Refusal::NoCredential => (
                StatusCode::UNAUTHORIZED,
                "this API needs the API token: send `Authorization: Bearer <token>`, or sign in on the page".into(),
            ),
            Refusal::BadToken => (StatusCode::UNAUTHORIZED, "the token is neither this server's API token nor a live tenant token (a revoked one is refused)".into()),
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the tenants' tokens cannot be read now; try again shortly".into(),
            ),
            Refusal::Csrf => (
                StatusCode::FORBIDDEN,
                "this request has the page session's cookie but not its secret (X-CSRF-Token); sign in again on the page".into(),
            ),
            Refusal::Locked(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many wrong API tokens from your address: every token is refused for {wait} more seconds"),
            ),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, message) = self.explain();
        let body = serde_json::json!({"error": {"class": "unauthenticated", "message": message, "hint": null}});
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            Refusal::Locked(wait) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
            }
            Refusal::NoCredential | Refusal::BadToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Refusal::Csrf | Refusal::Unavailable => {}
        }
        response
    }
}

/// Middleware for `/api` and `/mcp`: refuses what [`caller`] refuses, and
/// passes the caller on to the handler.
pub async fn require(
    Extract(state): Extract<Arc<State>>,
    mut request: Request,
    next: Next,
) -> Response {
    let from = peer(request.extensions());
    match caller(&state, from, request.headers()).await {
        Ok(who) => {
            if !crate::audit::enabled() {
                request.extensions_mut().insert(who);
                return next.run(request).await;
            }
            let tenant = who
                .principal()
                .tenant(super::space::asked_tenant(request.uri().query()).as_deref());
            let actor = audit_actor(&state, who.principal(), tenant.as_ref());
            let actor = match who {
                Caller::Page { .. } => actor.on_page(),
                Caller::Api(_) => actor,
            };
            // /mcp's handler runs in rmcp's own task: it finds the actor here.
            request.extensions_mut().insert(actor.clone());
            request.extensions_mut().insert(who);
            crate::audit::scope(actor, next.run(request)).await
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// The audit trail's actor for a principal working in `tenant`: a token
/// by its id (never the token: the operator's by the first 8 hex digits of
/// its SHA-256, a tenant's by its `tok_` id), an end user by the platform's id.
pub fn audit_actor(
    state: &State,
    principal: &Principal,
    tenant: Option<&crate::name::Name>,
) -> crate::audit::Actor {
    use crate::audit::{token_id, Actor, ActorKind};
    let kind = match principal {
        Principal::Operator => ActorKind::ApiToken {
            id: token_id(state.api_token.expose_secret()),
        },
        Principal::Tenant { token, .. } => ActorKind::ApiToken { id: token.clone() },
        Principal::EndUser { end_user, .. } => ActorKind::EndUser {
            id: end_user.clone(),
        },
    };
    Actor {
        tenant: tenant.map(ToString::to_string),
        kind,
    }
}
