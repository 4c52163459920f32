//! Constant Contact's error bodies: the SDK's error hook ([`crate::CC`]`.errors`).
//!
//! The SDK maps the status to the `activity-error` variant; this reads what the body
//! says. The API answers errors as a JSON array of `{error_key, error_message}`, but
//! 401, 403 (privileges) and 429 come back as one bare object (reference §2.1), and
//! some gateways use OAuth2's `error`/`error_description`: accept all three.

use connector_sdk::error::{excerpt, ErrorBody};
use connector_sdk::json::from_value;
use connector_sdk::serde_json::{self, Value};
use serde::Deserialize;

/// One entry of the API's error body, in either spelling. Every key is optional
/// so any object parses.
#[derive(Deserialize)]
struct Entry {
    error_key: Option<String>,
    error_message: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The first `error_key` and all messages joined with "; ". A body that is not the
/// API's JSON (a proxy's HTML page, plain text) gives a short excerpt instead.
pub fn parse(body: &[u8]) -> ErrorBody {
    let entries: Vec<Entry> = match serde_json::from_slice(body) {
        Ok(many @ Value::Array(_)) => from_value(many).unwrap_or_default(),
        Ok(one @ Value::Object(_)) => from_value(one).map(|e| vec![e]).unwrap_or_default(),
        _ => return excerpt(body),
    };
    let key = entries
        .iter()
        .find_map(|e| e.error_key.clone().or_else(|| e.error.clone()));
    let messages: Vec<&str> = entries
        .iter()
        .filter_map(|e| {
            e.error_message
                .as_deref()
                .or(e.error_description.as_deref())
        })
        .collect();
    ErrorBody {
        key,
        message: (!messages.is_empty()).then(|| messages.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_error_body_joins_messages_and_keeps_first_key() {
        let body =
            br#"[{"error_key":"contacts.api.validation.error","error_message":"a is missing"},
                 {"error_key":"other","error_message":"b is bad"}]"#;
        let error = parse(body);
        assert_eq!(error.key.as_deref(), Some("contacts.api.validation.error"));
        assert_eq!(error.message.as_deref(), Some("a is missing; b is bad"));
    }

    #[test]
    fn object_error_bodies_are_understood() {
        let error = parse(br#"{"error_key":"throttled","error_message":"Too Many Requests"}"#);
        assert_eq!(error.key.as_deref(), Some("throttled"));
        assert_eq!(error.message.as_deref(), Some("Too Many Requests"));
        let oauth = parse(br#"{"error":"invalid_grant","error_description":"expired"}"#);
        assert_eq!(oauth.key.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn other_bodies_give_an_excerpt_or_nothing() {
        let error = parse(b"  <html>Bad gateway</html>\n");
        assert_eq!(error.key, None);
        assert_eq!(error.message.as_deref(), Some("<html>Bad gateway</html>"));
        assert_eq!(parse(b"[]"), ErrorBody::default());
        assert_eq!(parse(br#"{"unexpected":1}"#), ErrorBody::default());
    }
}
