//! A failed call as an HTTP answer: the status follows the error's class
//! (and, for the API's own errors, what the API said), the body is
//! `{"error": {"class", "message", "hint"}}` with the same sentences the CLI
//! prints.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::invoke::{error_case, InvokeError};
use crate::name::Name;
use crate::session::remedy::{Front, Remedy, Rendered};
use crate::{redact, ErrorClass, SessionError};

/// An error answer.
pub struct ApiError {
    status: StatusCode,
    class: &'static str,
    text: String,
    /// Seconds until retrying can succeed (a spent quota's reset).
    retry_after: Option<i64>,
    /// What to do, as data (the page acts on it).
    remedy: Option<Remedy>,
}

impl ApiError {
    /// An error of the API itself (bad request, not found…).
    pub fn new(status: StatusCode, class: &'static str, text: impl Into<String>) -> ApiError {
        ApiError {
            status,
            class,
            text: text.into(),
            retry_after: None,
            remedy: None,
        }
    }

    /// Words a failed call on connection `name` for the API and the page.
    pub fn on(name: &Name) -> impl Fn(SessionError) -> ApiError + '_ {
        move |error| ApiError::rendered(&error, name.as_str())
    }

    fn rendered(error: &SessionError, connection: &str) -> ApiError {
        let retry_after = match error {
            SessionError::QuotaExhausted(spent) => {
                Some((spent.resets_at - chrono::Utc::now()).num_seconds().max(1))
            }
            _ => None,
        };
        let said = Rendered::for_front(error, Front::Api, connection);
        ApiError {
            status: status(error.class(), error),
            class: said.class,
            text: said.text(),
            retry_after,
            remedy: Some(said.remedy),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let text = redact::secrets_removed(&self.text);
        let (hints, message): (Vec<&str>, Vec<&str>) =
            text.lines().partition(|l| l.starts_with("hint: "));
        let hint: Vec<&str> = hints.iter().map(|h| &h[6..]).collect();
        let mut body = json!({"error": {
            "class": self.class,
            "message": message.join("\n"),
            "hint": if hint.is_empty() { Value::Null } else { Value::String(hint.join("\n")) },
        }});
        if let Some(remedy) = &self.remedy {
            body["error"]["remedy"] = serde_json::to_value(remedy).unwrap_or_default();
        }
        body
    }
}

impl From<SessionError> for ApiError {
    /// For errors where no connection is named (its routes then read `<name>`).
    fn from(error: SessionError) -> ApiError {
        ApiError::rendered(&error, "<name>")
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
    let error = error.met();
    match class {
        ErrorClass::InvalidInput => match error {
            SessionError::Invoke(
                InvokeError::UnknownActivity { .. } | InvokeError::UnknownTrigger { .. },
            ) => StatusCode::NOT_FOUND,
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

/// Middleware over `/api`: an error the framework answered itself (a wrong
/// method, a body that is not JSON, a malformed body) gets the JSON error
/// shape every other error has, with the framework's headers kept.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .unwrap_or_default();
    let error = framework_error(status, &String::from_utf8_lossy(&text));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let mut answer = error.into_response();
    for (name, value) in &parts.headers {
        answer.headers_mut().entry(name).or_insert(value.clone());
    }
    answer
}

/// The class, sentence and hint for what the framework refused. Its text
/// may quote the body (serde quotes the value it could not take), so quoted
/// parts are left out: a secret sent in the wrong place is never echoed.
fn framework_error(status: StatusCode, text: &str) -> ApiError {
    let said = redact::untrusted(&unquoted(text.trim()));
    let (class, text) = match status {
        // axum's 405 at a route layer carries no `Allow`: the document has them.
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not take that method\nhint: /openapi.json lists each route's methods"
                .into(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            format!("{said}\nhint: send the body as JSON with `Content-Type: application/json`"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("too_large", format!("{said}\nhint: send a smaller body"))
        }
        StatusCode::NOT_FOUND => (
            "not_found",
            "no such route\nhint: /openapi.json lists the routes".into(),
        ),
        s if s.is_client_error() => (
            "invalid_request",
            format!("{said}\nhint: the body must be JSON as /openapi.json describes"),
        ),
        _ => (
            "internal",
            "the server failed to answer\nhint: try again; the server's log says why".into(),
        ),
    };
    ApiError::new(status, class, text)
}

/// `text` with every double-quoted part replaced by `"…"`.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('"');
    out.push_str(parts.next().unwrap_or_default());
    for (index, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if index % 2 == 0 { "…" } else { part });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unquoted;

    #[test]
    fn quoted_parts_are_left_out() {
        assert_eq!(
            unquoted(r#"fields.x: invalid type: string "s3cret", expected a map at line 1"#),
            r#"fields.x: invalid type: string "…", expected a map at line 1"#
        );
        assert_eq!(unquoted("no quotes"), "no quotes");
        assert_eq!(unquoted(r#"odd "open"#), r#"odd "…"#);
    }
}
