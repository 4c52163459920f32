//! HTTP to the Constant Contact V3 API: the only module that touches `wasi:http`.
//!
//! Every activity goes through [`get`], [`post`], [`put`], [`patch`] or [`delete`],
//! so the rules live in one place:
//!
//! - The origin is always `https://api.cc.email`. The host decides where that really
//!   goes (a test sandbox, a proxy), so there is no base-URL setting here.
//! - We send `Accept: application/json`, and `Content-Type: application/json` with a
//!   body (the API answers 415 otherwise). We **never** send `Authorization`: the host
//!   injects the bearer token for allowed origins and refuses the header from a guest.
//! - A 2xx answer becomes a [`Reply`]; anything else becomes the `activity-error`
//!   variant a caller can branch on ([`error_for_status`]). No retries: the host
//!   knows which activities are retry-safe and owns that policy.
//!
//! Lists are paged with cursors: [`get_page`] and [`Links`].

use std::fmt::Write as _;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

use crate::connector::sdk::types::{ActivityError, ApiError};

/// Where the API lives. The host may map this origin elsewhere (DESIGN §8).
const AUTHORITY: &str = "api.cc.email";

/// A successful (2xx) answer.
pub struct Reply {
    /// The HTTP status, for the few endpoints whose meaning depends on it (201 vs 200).
    pub status: u16,
    body: Vec<u8>,
    /// `METHOD /path`, to name the request in error messages.
    request: String,
}

impl Reply {
    /// Parses the body as `T`. `what` names the expected content ("a contact") so a
    /// body we cannot read gives `unexpected-response` with a useful message.
    /// Unknown fields are ignored: the API adds fields over time.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ActivityError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ActivityError::UnexpectedResponse(format!("{}: expected {what}: {e}", self.request))
        })
    }
}

/// `GET path?query`. Query values are percent-encoded here; names are literals.
pub fn get(path: &str, query: &[(&str, String)]) -> Result<Reply, ActivityError> {
    let mut target = path.to_string();
    for (i, (name, value)) in query.iter().enumerate() {
        let _ = write!(
            target,
            "{}{name}={}",
            if i == 0 { '?' } else { '&' },
            encode(value)
        );
    }
    send(Method::Get, &target, None)
}

/// `POST path` with a JSON body.
pub fn post(path: &str, body: &impl Serialize) -> Result<Reply, ActivityError> {
    send(Method::Post, path, Some(to_json(body)?))
}

/// `PUT path` with a JSON body. Constant Contact's PUT replaces the whole resource.
pub fn put(path: &str, body: &impl Serialize) -> Result<Reply, ActivityError> {
    send(Method::Put, path, Some(to_json(body)?))
}

/// `PATCH path` with a JSON body.
pub fn patch(path: &str, body: &impl Serialize) -> Result<Reply, ActivityError> {
    send(Method::Patch, path, Some(to_json(body)?))
}

/// `DELETE path`. No activity deletes yet; kept so the verb set is complete for
/// authors who copy this file.
#[allow(dead_code)]
pub fn delete(path: &str) -> Result<Reply, ActivityError> {
    send(Method::Delete, path, None)
}

/// Gets one page of a collection: the caller's `cursor` verbatim when given, else
/// `path?query`. The cursor is the previous page's `_links.next.href`, which already
/// carries the original filters, so the query is not added to it.
pub fn get_page(
    path: &str,
    query: &[(&str, String)],
    cursor: Option<&str>,
) -> Result<Reply, ActivityError> {
    match cursor.filter(|c| !c.is_empty()) {
        Some(href) => send(Method::Get, checked_cursor(href)?, None),
        None => get(path, query),
    }
}

/// Query pairs from optional inputs: `None` values are left out, so each input field
/// maps to one line: `("limit", input.limit.map(|n| n.to_string()))`.
pub fn query<const N: usize>(
    pairs: [(&'static str, Option<String>); N],
) -> Vec<(&'static str, String)> {
    pairs
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}

/// A comma-separated query value (`include=custom_fields,taggings`), from a list of
/// inputs and the function giving each one's API string.
pub fn csv<T: Copy>(values: Option<&[T]>, api_name: fn(T) -> &'static str) -> Option<String> {
    values.map(|values| {
        values
            .iter()
            .map(|v| api_name(*v))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// A path segment for an id (`/v3/contacts/{id}`), percent-encoded. An empty id is
/// refused: `/v3/contacts/` is the *list* endpoint, a silent and costly mix-up.
pub fn id(field: &str, value: &str) -> Result<String, ActivityError> {
    match value.trim() {
        "" | "." | ".." => Err(invalid_input(format!("`{field}` must be a non-empty id"))),
        _ => Ok(encode(value)),
    }
}

/// The `_links` object of a page. `next.href` is both the next page's path and,
/// opaque to callers, the `next-cursor` activities return.
#[derive(Deserialize, Default)]
pub struct Links {
    next: Option<Link>,
}

#[derive(Deserialize)]
struct Link {
    // The spec allows `"href": null` on the last page.
    href: Option<String>,
}

impl Links {
    /// The cursor of the next page, `None` on the last one.
    pub fn next_cursor(self) -> Option<String> {
        self.next.and_then(|link| link.href)
    }
}

/// An `invalid-input` error for input the connector rejects before sending.
pub fn invalid_input(message: String) -> ActivityError {
    ActivityError::InvalidInput(ApiError {
        status: None,
        key: None,
        message,
    })
}

/// Percent-encodes everything except RFC 3986 unreserved characters and `,` (the
/// API's list separator), so `/`, `?`, `&`, `#`, `+` and spaces in a value cannot
/// change the URL's meaning.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~,".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A cursor must be a path on the API's own origin; anything else is not ours.
fn checked_cursor(href: &str) -> Result<&str, ActivityError> {
    if href.starts_with("/v3/") && href.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(href)
    } else {
        Err(invalid_input(
            "`cursor` must be a `next-cursor` value returned by this activity".into(),
        ))
    }
}

fn to_json(body: &impl Serialize) -> Result<Vec<u8>, ActivityError> {
    // Only fails for maps with non-string keys, which our request structs do not have.
    serde_json::to_vec(body).map_err(|e| invalid_input(format!("cannot encode the request: {e}")))
}

/// Sends one request and maps the answer: 2xx → [`Reply`], else the status's error.
fn send(method: Method, target: &str, body: Option<Vec<u8>>) -> Result<Reply, ActivityError> {
    // Name the request by method and path only: the query may hold an email address.
    let path = target.split('?').next().unwrap_or(target);
    let request = format!("{} {path}", method_name(&method));
    let (status, bytes) = exchange(&method, target, body.as_deref(), &request)?;
    match status {
        200..=299 => Ok(Reply {
            status,
            body: bytes,
            request,
        }),
        _ => Err(error_for_status(status, &bytes)),
    }
}

/// The `wasi:http` exchange. The order matters: the body is written and finished
/// *before* `handle`, else a host error can surface as a misleading stream error.
fn exchange(
    method: &Method,
    target: &str,
    body: Option<&[u8]>,
    label: &str,
) -> Result<(u16, Vec<u8>), ActivityError> {
    let headers = Fields::new();
    add_header(&headers, "accept", label)?;
    if body.is_some() {
        add_header(&headers, "content-type", label)?;
    }
    let request = OutgoingRequest::new(headers);
    let target_ok = request.set_method(method).is_ok()
        && request.set_scheme(Some(&Scheme::Https)).is_ok()
        && request.set_authority(Some(AUTHORITY)).is_ok()
        && request.set_path_with_query(Some(target)).is_ok();
    if !target_ok {
        return Err(invalid_input(format!("{label}: not a valid request path")));
    }
    let outgoing = request
        .body()
        .map_err(|()| transport(label, "request body unavailable"))?;
    write_body(&outgoing, body.unwrap_or_default(), label)?;
    OutgoingBody::finish(outgoing, None).map_err(|e| http_error(label, e))?;
    let future = outgoing_handler::handle(request, None).map_err(|e| http_error(label, e))?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(http_error(label, code)),
        Some(Err(())) | None => return Err(transport(label, "response unavailable")),
    };
    Ok((response.status(), read_body(&response, label)?))
}

/// Sets `name: application/json`. The host may refuse a header: that is a denial.
fn add_header(headers: &Fields, name: &str, label: &str) -> Result<(), ActivityError> {
    headers.append(name, b"application/json").map_err(|e| {
        ActivityError::Denied(format!("{label}: the host refused header `{name}` ({e:?})"))
    })
}

fn write_body(body: &OutgoingBody, bytes: &[u8], label: &str) -> Result<(), ActivityError> {
    let stream = body
        .write()
        .map_err(|()| transport(label, "request stream unavailable"))?;
    // `blocking_write_and_flush` takes at most 4096 bytes per call.
    for chunk in bytes.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| stream_error(label, e))?;
    }
    Ok(()) // `stream` is dropped here, before the body is finished, as WASI requires.
}

fn read_body(response: &IncomingResponse, label: &str) -> Result<Vec<u8>, ActivityError> {
    let body = response
        .consume()
        .map_err(|()| transport(label, "response body unavailable"))?;
    let stream = body
        .stream()
        .map_err(|()| transport(label, "response stream unavailable"))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(bytes),
            Err(e) => return Err(stream_error(label, e)),
        }
    }
    // Locals drop in reverse order: the stream before its body, the body before its response.
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        _ => "HTTP",
    }
}

/// A `wasi:http` error code. `HttpRequestDenied` is the host's egress policy saying
/// no: report it as `denied` so a person knows to fix the connection, not the network.
fn http_error(label: &str, code: ErrorCode) -> ActivityError {
    match code {
        ErrorCode::HttpRequestDenied => ActivityError::Denied(format!(
            "{label}: the host denied the request to https://{AUTHORITY}"
        )),
        other => transport(label, &format!("{other:?}")),
    }
}

fn stream_error(label: &str, error: StreamError) -> ActivityError {
    match error {
        StreamError::Closed => transport(label, "stream closed early"),
        // A failed stream may carry an HTTP error code (e.g. the host's size cap).
        StreamError::LastOperationFailed(e) => match wasi::http::types::http_error_code(&e) {
            Some(code) => http_error(label, code),
            None => transport(label, &e.to_debug_string()),
        },
    }
}

fn transport(label: &str, message: &str) -> ActivityError {
    ActivityError::Transport(format!("{label}: {message}"))
}

/// One entry of the API's error body. Both keys are optional so any object parses;
/// `error`/`error_description` is the OAuth2 spelling some gateways answer with.
#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(alias = "error")]
    error_key: Option<String>,
    #[serde(alias = "error_description")]
    error_message: Option<String>,
}

/// The API answers errors as a JSON array of entries, but 401, 403 (privileges) and
/// 429 come back as one bare object: accept both.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorBody {
    Many(Vec<ErrorEntry>),
    One(ErrorEntry),
}

/// Maps a non-2xx answer to the `activity-error` a caller can branch on, keeping the
/// status, the API's `error_key` and its message(s).
pub fn error_for_status(status: u16, body: &[u8]) -> ActivityError {
    let (key, message) = parse_error_body(body);
    let error = ApiError {
        status: Some(status),
        key,
        message: message.unwrap_or_else(|| format!("HTTP {status}")),
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

/// The first `error_key` and all messages joined with "; ". A body that is not the
/// API's JSON (a proxy's HTML page, plain text) gives a short excerpt instead.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let entries = match serde_json::from_slice(body) {
        Ok(ErrorBody::Many(entries)) => entries,
        Ok(ErrorBody::One(entry)) => vec![entry],
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            return (
                None,
                (!text.is_empty()).then(|| text.chars().take(200).collect()),
            );
        }
    };
    let key = entries.iter().find_map(|e| e.error_key.clone());
    let messages: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.error_message.as_deref())
        .collect();
    (key, (!messages.is_empty()).then(|| messages.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(error: ActivityError) -> (&'static str, ApiError) {
        match error {
            ActivityError::InvalidInput(e) => ("invalid-input", e),
            ActivityError::Unauthorized(e) => ("unauthorized", e),
            ActivityError::Forbidden(e) => ("forbidden", e),
            ActivityError::NotFound(e) => ("not-found", e),
            ActivityError::Conflict(e) => ("conflict", e),
            ActivityError::RateLimited(e) => ("rate-limited", e),
            ActivityError::Upstream(e) => ("upstream", e),
            other => panic!("not an API error: {other:?}"),
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
        for (status, variant) in table {
            let (name, error) = parts(error_for_status(status, b""));
            assert_eq!((status, name), (status, variant));
            assert_eq!(error.status, Some(status));
            assert_eq!(error.message, format!("HTTP {status}"));
        }
    }

    #[test]
    fn array_error_body_joins_messages_and_keeps_first_key() {
        let body =
            br#"[{"error_key":"contacts.api.validation.error","error_message":"a is missing"},
                        {"error_key":"other","error_message":"b is bad"}]"#;
        let (_, error) = parts(error_for_status(400, body));
        assert_eq!(error.key.as_deref(), Some("contacts.api.validation.error"));
        assert_eq!(error.message, "a is missing; b is bad");
    }

    #[test]
    fn object_error_body_is_understood() {
        let body = br#"{"error_key":"throttled","error_message":"Too Many Requests"}"#;
        let (name, error) = parts(error_for_status(429, body));
        assert_eq!(name, "rate-limited");
        assert_eq!(error.key.as_deref(), Some("throttled"));
        assert_eq!(error.message, "Too Many Requests");
    }

    #[test]
    fn non_json_error_body_gives_an_excerpt() {
        let (name, error) = parts(error_for_status(502, b"  <html>Bad gateway</html>\n"));
        assert_eq!(name, "upstream");
        assert_eq!(error.key, None);
        assert_eq!(error.message, "<html>Bad gateway</html>");
        let long = "x".repeat(1000);
        assert_eq!(
            parts(error_for_status(500, long.as_bytes()))
                .1
                .message
                .len(),
            200
        );
    }

    #[test]
    fn error_body_without_messages_falls_back_to_the_status() {
        let (_, error) = parts(error_for_status(404, b"[]"));
        assert_eq!((error.key, error.message.as_str()), (None, "HTTP 404"));
        let (_, error) = parts(error_for_status(409, br#"{"unexpected":1}"#));
        assert_eq!(error.message, "HTTP 409");
    }

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(encode("a b/c?d&e#f+g"), "a%20b%2Fc%3Fd%26e%23f%2Bg");
        assert_eq!(encode("dlang@example.com"), "dlang%40example.com");
        assert_eq!(
            encode("custom_fields,list_memberships"),
            "custom_fields,list_memberships"
        );
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn empty_or_dot_ids_are_refused() {
        assert_eq!(id("contact-id", "ab/c").ok().as_deref(), Some("ab%2Fc"));
        for bad in ["", "  ", ".", ".."] {
            assert!(
                matches!(id("contact-id", bad), Err(ActivityError::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cursors_must_be_api_paths() {
        assert_eq!(
            checked_cursor("/v3/contacts?cursor=abc").ok(),
            Some("/v3/contacts?cursor=abc")
        );
        for bad in [
            "https://evil.example/v3/x",
            "//evil.example/v3/",
            "/v2/contacts",
            "/v3/a b",
            "v3/contacts",
        ] {
            assert!(
                matches!(checked_cursor(bad), Err(ActivityError::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn next_cursor_comes_from_links() {
        let parse = |json: &str| serde_json::from_str::<Links>(json).unwrap().next_cursor();
        assert_eq!(
            parse(r#"{"next":{"href":"/v3/contacts?cursor=abc"}}"#).as_deref(),
            Some("/v3/contacts?cursor=abc")
        );
        assert_eq!(parse(r#"{"next":{"href":null}}"#), None);
        assert_eq!(parse(r#"{}"#), None);
    }

    #[test]
    fn query_skips_missing_values_and_csv_joins() {
        let pairs = query([
            ("limit", Some("5".into())),
            ("email", None),
            (
                "include",
                csv(Some(&[1, 2][..]), |n| if n == 1 { "a" } else { "b" }),
            ),
        ]);
        assert_eq!(
            pairs,
            vec![("limit", "5".to_string()), ("include", "a,b".to_string())]
        );
    }
}
