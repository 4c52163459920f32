//! `activity-error`: what an HTTP status means to a caller, and what the
//! connector says when it refuses input before sending it.
//!
//! The status decides the variant (400 → `invalid-input`, 404 → `not-found`, …),
//! the same for every API. What the error body says is the API's own business: a
//! connector plugs in its parser ([`crate::Api::errors`]); [`plain_errors`] reads
//! the common shapes and falls back to an excerpt of the text.

use serde_json::Value;

use crate::types::{ActivityError, ApiError};

/// What an API's error body says: a machine-readable key and a message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// E.g. `contacts.api.conflict`.
    pub key: Option<String>,
    /// For people; `None` when the body says nothing useful.
    pub message: Option<String>,
}

/// An error-body parser: the hook each connector gives its [`crate::Api`].
pub type ErrorParser = fn(&[u8]) -> ErrorBody;

/// The `activity-error` for a non-2xx status, with what the body said.
pub fn error_for_status(status: u16, body: ErrorBody) -> ActivityError {
    let error = ApiError {
        status: Some(status),
        key: body.key,
        message: body.message.unwrap_or_else(|| format!("HTTP {status}")),
    };
    match status {
        400 | 415 | 422 => ActivityError::InvalidInput(error),
        401 => ActivityError::Unauthorized(error),
        403 => ActivityError::Forbidden(error),
        404 => ActivityError::NotFound(error),
        409 => ActivityError::Conflict(error),
        429 => ActivityError::RateLimited(error),
        _ => ActivityError::Upstream(error),
    }
}

/// `invalid-input` for input the connector refuses before sending anything.
pub fn invalid_input(message: impl Into<String>) -> ActivityError {
    ActivityError::InvalidInput(ApiError {
        status: None,
        key: None,
        message: message.into(),
    })
}

/// The default parser: a JSON object's `message`, `error_description`, `detail`
/// or `error` (with `code` or `error` as the key), else [`excerpt`].
pub fn plain_errors(body: &[u8]) -> ErrorBody {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return excerpt(body);
    };
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str).map(str::to_owned))
    };
    ErrorBody {
        key: text(&["code", "error_key", "error"]),
        message: text(&["message", "error_description", "error_message", "detail"]),
    }
}

/// The first 200 characters of a body that is not the API's JSON (a proxy's
/// HTML page, plain text), so the person sees what came back.
pub fn excerpt(body: &[u8]) -> ErrorBody {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    ErrorBody {
        key: None,
        message: (!text.is_empty()).then(|| text.chars().take(200).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(error: &ActivityError) -> &'static str {
        match error {
            ActivityError::InvalidInput(_) => "invalid-input",
            ActivityError::Unauthorized(_) => "unauthorized",
            ActivityError::Forbidden(_) => "forbidden",
            ActivityError::NotFound(_) => "not-found",
            ActivityError::Conflict(_) => "conflict",
            ActivityError::RateLimited(_) => "rate-limited",
            ActivityError::Upstream(_) => "upstream",
            _ => "other",
        }
    }

    #[test]
    fn statuses_map_to_error_variants() {
        let table = [
            (400, "invalid-input"),
            (415, "invalid-input"),
            (422, "invalid-input"),
            (401, "unauthorized"),
            (403, "forbidden"),
            (404, "not-found"),
            (409, "conflict"),
            (429, "rate-limited"),
            (500, "upstream"),
            (503, "upstream"),
            (302, "upstream"),
        ];
        for (status, expected) in table {
            let error = error_for_status(status, ErrorBody::default());
            assert_eq!((status, variant(&error)), (status, expected));
            let (ActivityError::InvalidInput(e)
            | ActivityError::Unauthorized(e)
            | ActivityError::Forbidden(e)
            | ActivityError::NotFound(e)
            | ActivityError::Conflict(e)
            | ActivityError::RateLimited(e)
            | ActivityError::Upstream(e)) = error
            else {
                unreachable!()
            };
            assert_eq!(
                (e.status, e.message),
                (Some(status), format!("HTTP {status}"))
            );
        }
    }

    #[test]
    fn plain_errors_read_common_shapes_and_fall_back_to_an_excerpt() {
        let body = br#"{"code": "E42", "message": "no such thing"}"#;
        assert_eq!(
            plain_errors(body),
            ErrorBody {
                key: Some("E42".into()),
                message: Some("no such thing".into())
            }
        );
        let oauth = br#"{"error": "invalid_grant", "error_description": "expired"}"#;
        assert_eq!(plain_errors(oauth).message.as_deref(), Some("expired"));
        assert_eq!(
            plain_errors(b"  <html>Bad gateway</html>\n")
                .message
                .as_deref(),
            Some("<html>Bad gateway</html>")
        );
        assert_eq!(
            excerpt("x".repeat(1000).as_bytes()).message.unwrap().len(),
            200
        );
        assert_eq!(excerpt(b"").message, None);
    }
}
