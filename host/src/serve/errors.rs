//! A failed call as an HTTP answer: the status follows the error's class
//! (and, for the API's own errors, what the API said), the body is
//! `{"error": {"class", "message", "hint"}}` with the same sentences the CLI
//! prints.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::invoke::{error_case, InvokeError};
use crate::{redact, ErrorClass, SessionError};

/// An error answer.
pub struct ApiError {
    status: StatusCode,
    class: &'static str,
    text: String,
    /// Seconds until retrying can succeed (a spent quota's reset).
    retry_after: Option<i64>,
}

impl ApiError {
    /// An error of the API itself (bad request, not found…).
    pub fn new(status: StatusCode, class: &'static str, text: impl Into<String>) -> ApiError {
        ApiError {
            status,
            class,
            text: text.into(),
            retry_after: None,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let text = redact::secrets_removed(&self.text);
        let (hints, message): (Vec<&str>, Vec<&str>) =
            text.lines().partition(|l| l.starts_with("hint: "));
        let hint: Vec<&str> = hints.iter().map(|h| &h[6..]).collect();
        json!({"error": {
            "class": self.class,
            "message": message.join("\n"),
            "hint": if hint.is_empty() { Value::Null } else { Value::String(hint.join("\n")) },
        }})
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> ApiError {
        let class = error.class();
        let retry_after = match &error {
            SessionError::QuotaExhausted(spent) => {
                Some((spent.resets_at - chrono::Utc::now()).num_seconds().max(1))
            }
            _ => None,
        };
        ApiError {
            status: status(class, &error),
            class: class.name(),
            text: error.to_string(),
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// The status for a class; the API's own refusals keep their meaning.
fn status(class: ErrorClass, error: &SessionError) -> StatusCode {
    match class {
        ErrorClass::InvalidInput => match error {
            SessionError::Invoke(InvokeError::UnknownActivity { .. }) => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        },
        ErrorClass::NeedsConnect => StatusCode::CONFLICT,
        ErrorClass::MissingScope => StatusCode::FORBIDDEN,
        ErrorClass::SecretUnresolvable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::LimitHit => match error {
            SessionError::Invoke(InvokeError::Deadline { .. }) => StatusCode::GATEWAY_TIMEOUT,
            SessionError::Invoke(InvokeError::Busy { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        },
        ErrorClass::ApiRefused => match error {
            SessionError::Invoke(InvokeError::Activity { error, .. }) => match error_case(error) {
                Some("not_found") => StatusCode::NOT_FOUND,
                Some("conflict") => StatusCode::CONFLICT,
                Some("invalid_input") => StatusCode::UNPROCESSABLE_ENTITY,
                Some("rate_limited") => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_GATEWAY,
            },
            _ => StatusCode::BAD_GATEWAY,
        },
        ErrorClass::QuotaExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorClass::ConnectorBroken => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
