//! Who may use `serve`: API clients with the API token (`Authorization:
//! Bearer …`), and browsers with a page session made from that token.
//!
//! Invariants: every `/api` and `/mcp` request is authenticated; a page
//! session is an HttpOnly cookie (`SameSite=Lax`, so the provider's redirect
//! back to `/oauth/callback` still carries it) plus a CSRF token that every
//! request that changes something must echo in `X-CSRF-Token` (a page on
//! another origin cannot read it); tokens are compared in constant time and
//! never logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State as Extract};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::state::{PageSession, State};

/// The page session cookie.
pub const SESSION_COOKIE: &str = "ch_session";
/// The cookie the page's script reads the CSRF token from.
pub const CSRF_COOKIE: &str = "ch_csrf";
/// The header that must carry it.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a page session lasts.
const PAGE_SESSION: Duration = Duration::from_secs(12 * 3600);

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An API client with the token.
    Api,
    /// A browser's page session (its cookie value).
    Page(String),
}

/// 32 random bytes, hex: session ids, CSRF tokens, generated API tokens.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether `candidate` is the API token.
pub fn is_api_token(state: &State, candidate: &str) -> bool {
    let expected = state.api_token.expose_secret().as_bytes();
    bool::from(expected.ct_eq(candidate.as_bytes()))
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

/// The caller, if the request is authenticated. Requests from a page
/// session that change something must carry its CSRF token.
pub fn caller(state: &State, method: &Method, headers: &HeaderMap) -> Result<Caller, Refusal> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return if is_api_token(state, token.trim()) {
            Ok(Caller::Api)
        } else {
            Err(Refusal::BadToken)
        };
    }
    let id = cookie(headers, SESSION_COOKIE).ok_or(Refusal::NoCredential)?;
    let sessions = state
        .page_sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let session = sessions
        .get(&id)
        .filter(|s| s.started.elapsed() < PAGE_SESSION)
        .ok_or(Refusal::NoCredential)?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !safe && !bool::from(session.csrf.as_bytes().ct_eq(sent.as_bytes())) {
        return Err(Refusal::Csrf);
    }
    Ok(Caller::Page(id))
}

/// Starts a page session; the `Set-Cookie` headers to send.
pub fn start_page_session(state: &State) -> [String; 2] {
    let (id, csrf) = (random_token(), random_token());
    let mut sessions = state
        .page_sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    sessions.retain(|_, s| s.started.elapsed() < PAGE_SESSION);
    sessions.insert(
        id.clone(),
        PageSession {
            csrf: csrf.clone(),
            started: Instant::now(),
        },
    );
    let age = PAGE_SESSION.as_secs();
    [
        format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}"),
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={age}"),
    ]
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// No token and no page session.
    NoCredential,
    /// A token that is not the API token.
    BadToken,
    /// A page request that changes something without the CSRF token.
    Csrf,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Refusal::NoCredential => (
                StatusCode::UNAUTHORIZED,
                "this API needs the API token: send `Authorization: Bearer <token>`, or sign in on the page",
            ),
            Refusal::BadToken => (StatusCode::UNAUTHORIZED, "the API token is not the one this server was started with"),
            Refusal::Csrf => (
                StatusCode::FORBIDDEN,
                "this request changes something and lacks the page's CSRF token (X-CSRF-Token)",
            ),
        };
        let body = serde_json::json!({"error": {"class": "unauthenticated", "message": message}});
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
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
    match caller(&state, request.method(), request.headers()) {
        Ok(who) => {
            request.extensions_mut().insert(who);
            next.run(request).await
        }
        Err(refusal) => refusal.into_response(),
    }
}
