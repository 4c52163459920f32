//! The error bodies of the V3 API and the one error type every handler returns.
//!
//! Most errors are a JSON **array** of `{error_key, error_message}` (reference §2.1,
//! spec `APIErrorSchema`); the gateway's 401, 403 and 429 are a **single object**
//! (spec `AuthorizationErrorSchema`). Handlers and middleware never build an error
//! response by hand: they return an [`ApiError`], so each status always carries the shape
//! a client parser has to accept. Fixed Constant Contact texts ("Unauthorized", "Too Many
//! Requests") are kept verbatim; the sandbox's own detail messages are lowercase.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

/// Which family of `error_key`s a resource answers with.
///
/// Contacts, lists and custom fields use the observed `contacts.api.*` keys (reference
/// §2.1); no keys are documented for account emails and campaigns, so those use the
/// generic `http.status.*` family that the API returns for malformed requests.
#[derive(Clone, Copy, Debug)]
pub enum Area {
    /// `contacts.api.validation.error`, `contacts.api.not_found`, `contacts.api.conflict`.
    Contacts,
    /// `http.status.bad_request`, `http.status.not_found`, `http.status.conflict`.
    General,
}

impl Area {
    fn keys(self) -> [&'static str; 3] {
        match self {
            Area::Contacts => [
                "contacts.api.validation.error",
                "contacts.api.not_found",
                "contacts.api.conflict",
            ],
            Area::General => [
                "http.status.bad_request",
                "http.status.not_found",
                "http.status.conflict",
            ],
        }
    }
}

/// An error answer: a status and the body shape that goes with it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    key: Cow<'static, str>,
    message: String,
    /// True for the single-object shape (401, 403, 429), false for the array.
    single: bool,
}

impl ApiError {
    fn array(status: StatusCode, key: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            key: key.into(),
            message: message.into(),
            single: false,
        }
    }

    fn object(status: StatusCode, key: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            key: key.into(),
            message: message.into(),
            single: true,
        }
    }

    /// 400: the body or a parameter breaks a documented rule.
    pub fn validation(area: Area, message: impl Into<String>) -> ApiError {
        ApiError::array(StatusCode::BAD_REQUEST, area.keys()[0], message)
    }

    /// 400 `http.status.bad_request`: malformed JSON, a bad cursor.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::validation(Area::General, message)
    }

    /// 404: the resource does not exist.
    pub fn not_found(area: Area, message: impl Into<String>) -> ApiError {
        ApiError::array(StatusCode::NOT_FOUND, area.keys()[1], message)
    }

    /// 409: a unique value (email, name, label) is taken.
    pub fn conflict(area: Area, message: impl Into<String>) -> ApiError {
        ApiError::array(StatusCode::CONFLICT, area.keys()[2], message)
    }

    /// 409 when `name` is, in any case, one of `others` (the names of the other
    /// live resources of this `kind`): names are unique per account.
    pub fn unless_unique<'a>(
        area: Area,
        kind: &str,
        name: &str,
        mut others: impl Iterator<Item = &'a str>,
    ) -> Result<(), ApiError> {
        if others.any(|other| other.eq_ignore_ascii_case(name)) {
            return Err(ApiError::conflict(
                area,
                format!("a {kind} named {name} already exists"),
            ));
        }
        Ok(())
    }

    /// 401: token missing, unknown or expired (spec `AuthorizationErrorSchema`).
    pub fn unauthorized() -> ApiError {
        ApiError::object(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
    }

    /// 403: the token lacks `scope` (single object, reference §2.1).
    pub fn forbidden(scope: &str) -> ApiError {
        let message = format!("Request forbidden due to insufficient scope: the access token lacks the {scope} scope.");
        ApiError::object(StatusCode::FORBIDDEN, "access_denied", message)
    }

    /// 429: more than the per-second limit (reference §2.3).
    pub fn throttled() -> ApiError {
        ApiError::object(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Too Many Requests",
        )
    }

    /// 429: the application's daily quota is spent; it clears at 00:00 UTC (reference §2.3).
    pub fn quota_exceeded() -> ApiError {
        ApiError::object(
            StatusCode::TOO_MANY_REQUESTS,
            "quota_exceeded",
            "Daily quota exceeded. The quota resets at 00:00 UTC.",
        )
    }

    /// 429: more than 1,000 bulk activities queued for the account (spec, bulk activity
    /// endpoints); a single object like the other 429s.
    pub fn queue_full() -> ApiError {
        ApiError::object(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Too many requests. You exceeded 1,000 queued activities for this user account.",
        )
    }

    /// 415: a body without `Content-Type: application/json`.
    pub fn unsupported_media_type() -> ApiError {
        let message = "content-type must be application/json";
        ApiError::array(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "http.status.unsupported_media_type",
            message,
        )
    }

    /// 415 with the endpoint's own media-type rule (e.g. a multipart upload).
    pub fn media_type(message: impl Into<String>) -> ApiError {
        ApiError::array(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "http.status.unsupported_media_type",
            message,
        )
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> ApiError {
        ApiError::not_found(Area::General, "The requested resource was not found.")
    }

    /// 405 for a known path with another method.
    pub fn method_not_allowed() -> ApiError {
        let message = "The requested resource does not support the method used.";
        ApiError::array(
            StatusCode::METHOD_NOT_ALLOWED,
            "http.status.method_not_allowed",
            message,
        )
    }

    /// The body the API would send with `status`, for a fault injected without a body.
    pub fn for_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::UNAUTHORIZED => ApiError::unauthorized(),
            StatusCode::TOO_MANY_REQUESTS => ApiError::throttled(),
            StatusCode::FORBIDDEN => ApiError::object(
                status,
                "access_denied",
                "Request forbidden due to insufficient user privileges.",
            ),
            _ => {
                // Named like the observed `http.status.bad_request`: `http.status.service_unavailable`.
                let reason = status.canonical_reason().unwrap_or("Error");
                let key = format!(
                    "http.status.{}",
                    reason.to_ascii_lowercase().replace([' ', '-'], "_")
                );
                ApiError {
                    status,
                    key: key.into(),
                    message: reason.to_owned(),
                    single: false,
                }
            }
        }
    }

    /// The status this error answers with.
    #[cfg(test)]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response body.
    pub fn body(&self) -> Value {
        let item = json!({ "error_key": self.key, "error_message": self.message });
        if self.single {
            item
        } else {
            json!([item])
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// Validation failures gathered over a whole body, answered together as one 400.
///
/// The API joins several failures into one message with ", " (reference §2.1:
/// "create_source is missing, create_source does not have a valid value").
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    /// Records one failure.
    pub fn add(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    /// Records `{field} is missing` when `value` is absent or blank.
    pub fn required(&mut self, field: &str, value: Option<&str>) {
        if value.is_none_or(|v| v.trim().is_empty()) {
            self.add(format!("{field} is missing"));
        }
    }

    /// Records a failure when `value` is longer than `max` characters.
    pub fn max_len(&mut self, field: &str, value: Option<&str>, max: usize) {
        if value.is_some_and(|v| v.chars().count() > max) {
            self.add(format!("{field} exceeds the maximum length of {max}"));
        }
    }

    /// Records `{field} does not have a valid value` unless `value` is one of `allowed`.
    pub fn one_of(&mut self, field: &str, value: Option<&str>, allowed: &[&str]) {
        if value.is_some_and(|v| !allowed.contains(&v)) {
            self.add(format!(
                "{field} does not have a valid value (expected {})",
                allowed.join("|")
            ));
        }
    }

    /// Records a failure when `value` is not an email address.
    pub fn email(&mut self, field: &str, value: Option<&str>) {
        if value.is_some_and(|v| !is_email(v)) {
            self.add(format!("{field} is not a valid email address"));
        }
    }

    /// Up to `max` well-formed ids of `field`, each known to `exists`; repeats are
    /// dropped, and every other id is recorded as a failure.
    pub fn ids(
        &mut self,
        field: &str,
        texts: Vec<String>,
        max: usize,
        exists: impl Fn(&Uuid) -> bool,
    ) -> Vec<Uuid> {
        if texts.len() > max {
            self.add(format!("{field} may contain at most {max} items"));
        }
        let mut parsed = Vec::new();
        for text in texts {
            match Uuid::try_parse(text.trim()) {
                Ok(id) if exists(&id) => {
                    if !parsed.contains(&id) {
                        parsed.push(id);
                    }
                }
                Ok(id) => self.add(format!("{field} contains {id}, which does not exist")),
                Err(_) => self.add(format!("{field} contains an id in an invalid format")),
            }
        }
        parsed
    }

    /// Whether nothing failed so far.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing failed, else one 400 listing every failure.
    pub fn finish(self, area: Area) -> Result<(), ApiError> {
        match self.message() {
            None => Ok(()),
            Some(message) => Err(ApiError::validation(area, message)),
        }
    }

    /// Every failure joined into one message; `None` when nothing failed (for problems
    /// reported elsewhere than in a 400, such as a bulk import's `activity_errors`).
    pub fn message(self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(", "))
    }
}

/// Whether `text` looks like an email address: something, `@`, a dotted domain.
fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_errors_are_single_objects_and_the_rest_arrays() {
        assert_eq!(
            ApiError::unauthorized().body(),
            json!({"error_key": "unauthorized", "error_message": "Unauthorized"})
        );
        assert_eq!(ApiError::throttled().body()["error_key"], "throttled");
        assert!(ApiError::forbidden("contact_data").body()["error_message"]
            .as_str()
            .unwrap()
            .contains("contact_data"));
        let conflict = ApiError::conflict(
            Area::Contacts,
            "Validation failed: EmailAddress is not unique",
        )
        .body();
        assert_eq!(conflict[0]["error_key"], "contacts.api.conflict");
    }

    #[test]
    fn problems_join_into_one_message() {
        let mut problems = Problems::default();
        problems.required("create_source", None);
        problems.one_of("create_source", Some("Robot"), &["Account", "Contact"]);
        let body = problems.finish(Area::Contacts).unwrap_err().body();
        assert_eq!(body[0]["error_message"], "create_source is missing, create_source does not have a valid value (expected Account|Contact)");
    }

    #[test]
    fn recognises_email_addresses() {
        assert!(is_email("dlang@example.com"));
        assert!(!is_email("dlang@example"));
        assert!(!is_email("@example.com"));
        assert!(!is_email("d lang@example.com"));
    }
}
