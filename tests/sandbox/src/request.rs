//! What handlers read from a request, read the way the V3 API reads it: the JSON
//! body, ids in the path, flags and lists in the query.
//!
//! A body needs `Content-Type: application/json`: anything else is 415 (reference §2,
//! "wrong type, e.g. `text/plain`, → 415"). Malformed JSON, or JSON whose types do not
//! fit the endpoint's schema, is 400 naming the field. Unknown fields are ignored, as
//! the real API does, so serde's default of skipping them is kept.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::errors::{ApiError, Area};

/// A request body parsed as `T`; rejects with the API's 415 or 400.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(request.headers());
        let declared = request.headers().contains_key(CONTENT_TYPE);
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        })?;
        if !json && (declared || !bytes.is_empty()) {
            return Err(ApiError::unsupported_media_type());
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("the request body is missing"));
        }
        parse(&bytes).map(JsonBody)
    }
}

/// Whether the request declares `application/json` (parameters such as charset allowed).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Parses `bytes` as `T`; a schema mismatch names the field's path (`email_address.address`).
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ApiError::bad_request(format!("Bad request. The JSON is malformed: {inner}"))
        } else {
            ApiError::bad_request(format!("{path} does not have a valid value: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request(format!("Bad request. The JSON is malformed: {e}")))?;
    Ok(value)
}

/// The one id segment of a route (`{contact_id}`), percent-decoded; 400 in the API's
/// shape when it is not UTF-8.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text().to_lowercase()))?;
        Ok(PathId(id))
    }
}

/// The query parameters (a repeated name keeps its last value); 400 in the API's shape
/// when the query cannot be decoded.
pub struct Params(pub BTreeMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(query) = Query::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text().to_lowercase()))?;
        Ok(Params(query))
    }
}

/// Parses the resource id `text` from the path: a hyphenated UUID (reference §2), else 400
/// naming `name` in the API's words ("contact_id is in an invalid format.").
pub fn uuid(area: Area, name: &str, text: &str) -> Result<Uuid, ApiError> {
    match Uuid::try_parse(text) {
        Ok(id) if text.len() == 36 => Ok(id),
        _ => Err(ApiError::validation(
            area,
            format!("{name} is in an invalid format."),
        )),
    }
}

/// A `true`/`false` query parameter; absent is false.
pub fn flag(area: Area, name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::validation(
            area,
            format!("{name} does not have a valid value, expected true or false"),
        )),
    }
}

/// A comma-separated query parameter whose items must each be one of `allowed`.
pub fn csv<'a>(
    area: Area,
    name: &str,
    value: Option<&'a str>,
    allowed: &[&str],
) -> Result<Vec<&'a str>, ApiError> {
    let items: Vec<&str> = value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .collect();
    match items.iter().find(|i| !allowed.contains(i)) {
        Some(bad) => Err(ApiError::validation(
            area,
            format!(
                "{name} does not have a valid value: {bad} (expected any of {})",
                allowed.join("|")
            ),
        )),
        None => Ok(items),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[allow(dead_code)]
        name: Option<String>,
    }

    #[test]
    fn malformed_json_and_wrong_types_are_bad_requests() {
        let malformed = parse::<Probe>(b"{\"name\": ").unwrap_err();
        assert_eq!(malformed.status(), 400);
        let wrong = parse::<Probe>(b"{\"name\": 5}").unwrap_err().body();
        assert!(wrong[0]["error_message"]
            .as_str()
            .unwrap()
            .starts_with("name does not have a valid value"));
        assert!(parse::<Probe>(b"{\"name\": \"x\", \"unknown\": true}").is_ok());
    }

    #[test]
    fn ids_flags_and_lists_are_checked() {
        assert!(uuid(
            Area::Contacts,
            "contact_id",
            "07936f78-662a-11eb-af0a-fa163e56c9b0"
        )
        .is_ok());
        assert!(uuid(
            Area::Contacts,
            "contact_id",
            "07936f78662a11ebaf0afa163e56c9b0"
        )
        .is_err());
        assert!(uuid(Area::Contacts, "contact_id", "nope").is_err());
        assert!(flag(Area::General, "include_count", Some("TRUE")).unwrap());
        assert!(flag(Area::General, "include_count", Some("yes")).is_err());
        assert_eq!(
            csv(Area::General, "include", Some("a, b"), &["a", "b"]).unwrap(),
            ["a", "b"]
        );
        assert!(csv(Area::General, "include", Some("a,c"), &["a", "b"]).is_err());
    }

    #[test]
    fn json_content_type_may_carry_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&headers));
    }
}
