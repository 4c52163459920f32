//! The token endpoint's errors, in the OAuth2 format (reference §1.10), never the V3 one.
//!
//! `{"error": …, "error_description": …}` with 400, or 401 for `invalid_client` (which
//! also carries `WWW-Authenticate`, RFC 6749 §5.2). The codes are RFC 6749's plus RFC
//! 8628's device-flow ones; the descriptions are the sandbox's own (the real texts are
//! unconfirmed) and never quote a submitted credential.

use axum::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// One OAuth error answer.
#[derive(Debug)]
pub struct OAuthError {
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            error,
            description: description.into(),
        }
    }

    /// A parameter is missing, repeated or malformed.
    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_request", description)
    }

    /// 401: unknown client or wrong credentials.
    pub fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_client", description)
    }

    /// A code, refresh token or device code that is unknown, used, expired or not this client's.
    pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_grant", description)
    }

    /// A `grant_type` the server does not know.
    pub fn unsupported_grant_type() -> OAuthError {
        OAuthError::new("unsupported_grant_type", "grant_type is not supported")
    }

    /// `/authorize` with a `response_type` other than `code`.
    pub fn unsupported_response_type() -> OAuthError {
        OAuthError::new("unsupported_response_type", "response_type must be code")
    }

    /// A scope the server does not know, or more than was granted.
    pub fn invalid_scope(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_scope", description)
    }

    /// The app is not registered for this flow.
    pub fn unauthorized_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new("unauthorized_client", description)
    }

    /// The user said no (on the verify page or the device approval page).
    pub fn access_denied(description: impl Into<String>) -> OAuthError {
        OAuthError::new("access_denied", description)
    }

    /// A device poll before the user decided (RFC 8628 §3.5).
    pub fn authorization_pending() -> OAuthError {
        OAuthError::new(
            "authorization_pending",
            "the user has not approved the device yet",
        )
    }

    /// A device poll sooner than the interval; `interval` is the new one, in seconds.
    pub fn slow_down(interval: u64) -> OAuthError {
        let description = format!("polling too fast: wait {interval} seconds between polls");
        OAuthError::new("slow_down", description)
    }

    /// A device poll after the device code expired.
    pub fn expired_token() -> OAuthError {
        OAuthError::new("expired_token", "the device code has expired: start again")
    }

    /// The `error` code.
    pub fn code(&self) -> &'static str {
        self.error
    }

    /// The `error_description`.
    pub fn description(&self) -> &str {
        &self.description
    }

    fn status(&self) -> StatusCode {
        if self.error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (status, no_store(), Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = HeaderValue::from_static("Basic realm=\"cc-sandbox\"");
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// The headers every token-endpoint answer carries: it holds credentials (RFC 6749 §5.1).
pub fn no_store() -> [(HeaderName, &'static str); 2] {
    [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_invalid_client_is_401() {
        assert_eq!(
            OAuthError::invalid_client("x").status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            OAuthError::invalid_grant("x").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(OAuthError::slow_down(10).code(), "slow_down");
    }
}
