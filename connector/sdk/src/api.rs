//! One remote JSON API: where it lives, how it spells errors and next pages.
//!
//! A connector declares its API once, as a `const`:
//!
//! ```
//! use connector_sdk::{cursor, error, Api};
//!
//! const API: Api = Api {
//!     origin: "https://api.example.com",
//!     path_prefix: "/v1/",
//!     errors: error::plain_errors,
//!     next_cursor: cursor::links_next_href,
//! };
//! ```
//!
//! and each activity is one chain: `API.get("/v1/things").id("thing_id", &id)
//! .query("limit", &input.limit).json()`. A 2xx answer is parsed into the WIT
//! type; any other status becomes the `activity-error` variant a caller can
//! branch on. No retries and no sleeps here: the host knows which activities are
//! retry-safe, and it spaces requests to the declared rate limits.
//!
//! Every request sends `Accept: application/json` (or what [`Call::accept`] says),
//! and a body goes with `Content-Type: application/json` (or a [`Form`]'s
//! `multipart/form-data`) and `Content-Length`. There is no `Authorization`: the
//! host adds the credential on the way out.

use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{error_for_status, invalid_input, ErrorParser};
use crate::http::{Method, Request, Response};
use crate::json;
use crate::multipart::Form;
use crate::types::ActivityError;

/// A remote API, declared once per connector.
pub struct Api {
    /// `scheme://host[:port]`, one of the connector's egress origins.
    pub origin: &'static str,
    /// The prefix every path and cursor starts with, e.g. `/v3/`: a cursor that
    /// does not is refused, so a caller cannot steer a request elsewhere.
    pub path_prefix: &'static str,
    /// Reads the API's error bodies.
    pub errors: ErrorParser,
    /// Finds the next page's cursor in a page's JSON (see [`crate::cursor`]).
    pub next_cursor: fn(&Value) -> Option<String>,
}

/// A request being built; errors are kept until [`Call::send`], so chains stay flat.
#[must_use = "a call does nothing until it is sent"]
pub struct Call<'a> {
    api: &'a Api,
    method: Method,
    target: String,
    has_query: bool,
    cursor: Option<String>,
    body: Option<Value>,
    /// A body that is not JSON: its content type and bytes.
    raw: Option<(String, Vec<u8>)>,
    accept: &'static str,
    error: Option<ActivityError>,
}

/// A successful (2xx) answer.
pub struct Reply<'a> {
    api: &'a Api,
    /// The HTTP status, for endpoints whose meaning depends on it (201 vs 200).
    pub status: u16,
    body: Vec<u8>,
    label: String,
}

impl Api {
    /// `GET path`.
    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::Get, path)
    }
    /// `POST path`; give the body with [`Call::body`].
    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::Post, path)
    }
    /// `PUT path`.
    pub fn put(&self, path: &str) -> Call<'_> {
        self.call(Method::Put, path)
    }
    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::Patch, path)
    }
    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::Delete, path)
    }

    /// A 2xx `response` as it is; any other status as the `activity-error` a
    /// caller can branch on, with what this API's error body says.
    ///
    /// # Errors
    ///
    /// The status's `activity-error`.
    pub fn successful(&self, response: Response) -> Result<Response, ActivityError> {
        match response.status {
            200..=299 => Ok(response),
            status => Err(error_for_status(status, (self.errors)(&response.body))),
        }
    }

    fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            api: self,
            method,
            target: path.to_owned(),
            has_query: false,
            cursor: None,
            body: None,
            raw: None,
            accept: "application/json",
            error: None,
        }
    }
}

impl<'a> Call<'a> {
    /// Appends `/` and the percent-encoded id. An empty id (or `.`, `..`) is
    /// refused as `invalid-input` naming `field`: `/contacts/` is the *list*
    /// endpoint, a silent and costly mix-up.
    pub fn id(mut self, field: &str, value: &str) -> Self {
        match value.trim() {
            "" | "." | ".." => {
                self.fail(invalid_input(format!("`{field}` must be a non-empty id")));
            }
            _ => {
                self.target.push('/');
                encode_into(&mut self.target, value);
            }
        }
        self
    }

    /// Appends a literal path segment, e.g. `/schedules`.
    pub fn path(mut self, segment: &str) -> Self {
        self.target.push_str(segment);
        self
    }

    /// Adds `name=value` to the query: an `option` that is `none` is left out, a
    /// list is comma-separated, an enum case is its snake_case name, and the value
    /// is percent-encoded.
    pub fn query<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Self {
        match json::to_value(value) {
            Ok(value) => self.add_query(name, &value),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Adds every field of `input` (a WIT record) but those in `except` to the
    /// query, as [`Call::query`] does one: for list activities whose input is
    /// the endpoint's filters, field for field.
    pub fn queries<T: Serialize + ?Sized>(mut self, input: &T, except: &[&str]) -> Self {
        match json::to_value(input) {
            Ok(Value::Object(fields)) => {
                for (name, value) in &fields {
                    if !except.contains(&name.as_str()) {
                        self.add_query(name, value);
                    }
                }
            }
            Ok(_) => self.fail(invalid_input("the query must come from a record")),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Gets the page a previous answer's `next-cursor` points at, instead of the
    /// path and query given (the cursor carries the original filters). `None` or
    /// `""` keeps the first page.
    pub fn cursor(mut self, cursor: Option<&str>) -> Self {
        match cursor.filter(|c| !c.is_empty()) {
            Some(c)
                if c.starts_with(self.api.path_prefix)
                    && c.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                self.cursor = Some(c.to_owned());
            }
            Some(_) => self.fail(invalid_input(
                "`cursor` must be a `next-cursor` value returned by this activity",
            )),
            None => {}
        }
        self
    }

    /// Sets the JSON body (see [`json::to_value`] for the spelling).
    pub fn body<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match json::to_value(body) {
            Ok(value) => self.body = Some(value),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Sets a `multipart/form-data` body (file uploads), instead of JSON.
    pub fn form(mut self, form: Form) -> Self {
        let (content_type, bytes) = form.finish();
        self.raw = Some((content_type, bytes));
        self
    }

    /// Asks for `media_type` instead of JSON (e.g. `text/csv`); read the answer
    /// with [`Reply::text`].
    pub fn accept(mut self, media_type: &'static str) -> Self {
        self.accept = media_type;
        self
    }

    /// Sets the JSON body to the record `input` without the fields in `except`:
    /// for inputs whose ids go into the path (`update-tag`'s `tag_id`).
    pub fn body_except<T: Serialize + ?Sized>(mut self, input: &T, except: &[&str]) -> Self {
        match json::to_value(input) {
            Ok(mut value) => {
                json::remove(&mut value, except);
                self.body = Some(value);
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// Sends the request: 2xx → [`Reply`], else the status's `activity-error`
    /// with what the API's error body says.
    ///
    /// # Errors
    ///
    /// The first error met while building, or the answer's.
    pub fn send(self) -> Result<Reply<'a>, ActivityError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let target = self.cursor.unwrap_or(self.target);
        let mut request = Request::new(self.method, &format!("{}{target}", self.api.origin))?
            .header("accept", self.accept);
        if let Some((content_type, bytes)) = self.raw {
            request = request.header("content-type", content_type).body(bytes);
        } else if let Some(body) = &self.body {
            // Printing a `Value` cannot fail: its map keys are strings.
            let bytes = serde_json::to_vec(body).unwrap_or_default();
            request = request
                .header("content-type", "application/json")
                .body(bytes);
        }
        let label = request.label();
        let response = self.api.successful(request.send()?)?;
        Ok(Reply {
            api: self.api,
            status: response.status,
            body: response.body,
            label,
        })
    }

    /// Sends and parses the answer as the WIT type `T`.
    ///
    /// # Errors
    ///
    /// As [`Call::send`], and `unexpected-response` when the body is not a `T`.
    pub fn json<T: DeserializeOwned>(self) -> Result<T, ActivityError> {
        self.send()?.json()
    }

    /// Sends and parses one page of a collection as `T`, whose `next_cursor`
    /// field gets the API's next-page cursor.
    ///
    /// # Errors
    ///
    /// As [`Call::json`].
    pub fn page<T: DeserializeOwned>(self) -> Result<T, ActivityError> {
        self.send()?.page()
    }

    fn add_query(&mut self, name: &str, value: &Value) {
        let text = match value {
            Value::Null => return,
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        self.target.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        let _ = write!(self.target, "{name}=");
        encode_into(&mut self.target, &text);
    }

    fn fail(&mut self, error: ActivityError) {
        self.error.get_or_insert(error);
    }
}

impl Reply<'_> {
    /// The body as JSON (`null` when empty, e.g. after 204).
    ///
    /// # Errors
    ///
    /// `unexpected-response` when it is not JSON.
    pub fn value(&self) -> Result<Value, ActivityError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| self.unexpected(e))
    }

    /// The body as text, when it is at most `max` bytes of UTF-8 (for answers
    /// that are not JSON, such as a CSV file).
    ///
    /// # Errors
    ///
    /// `unexpected-response` when it is longer or not UTF-8.
    pub fn text(&self, max: usize) -> Result<String, ActivityError> {
        if self.body.len() > max {
            return Err(ActivityError::UnexpectedResponse(format!(
                "{}: the answer is {} bytes, more than the {max} this activity reads",
                self.label,
                self.body.len()
            )));
        }
        String::from_utf8(self.body.clone()).map_err(|_| {
            ActivityError::UnexpectedResponse(format!(
                "{}: the answer is not UTF-8 text",
                self.label
            ))
        })
    }

    /// The body as the WIT type `T`.
    ///
    /// # Errors
    ///
    /// `unexpected-response` naming the request and what did not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ActivityError> {
        self.parse(self.value()?)
    }

    /// The body as a page `T`: its `next_cursor` comes from the API's cursor hook.
    ///
    /// # Errors
    ///
    /// As [`Reply::json`].
    pub fn page<T: DeserializeOwned>(&self) -> Result<T, ActivityError> {
        let mut page = self.value()?;
        let next = (self.api.next_cursor)(&page);
        if let (Value::Object(map), Some(next)) = (&mut page, next) {
            map.insert("next_cursor".into(), Value::String(next));
        }
        self.parse(page)
    }

    /// `value` as the WIT type `T`, with this request's name on errors.
    ///
    /// # Errors
    ///
    /// `unexpected-response` naming the request and what did not fit.
    pub fn parse<T: DeserializeOwned>(&self, value: Value) -> Result<T, ActivityError> {
        json::from_value(value).map_err(|e| self.unexpected(e))
    }

    fn unexpected(&self, error: serde_json::Error) -> ActivityError {
        ActivityError::UnexpectedResponse(format!("{}: unexpected answer: {error}", self.label))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `,` (the
/// usual list separator), so `/`, `?`, `&`, `#`, `+` and spaces in a value cannot
/// change the URL's meaning.
pub(crate) fn encode_into(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~,".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cursor, error};
    use serde::Serialize;

    const API: Api = Api {
        origin: "https://api.example.com",
        path_prefix: "/v3/",
        errors: error::plain_errors,
        next_cursor: cursor::links_next_href,
    };

    fn encode(value: &str) -> String {
        let mut out = String::new();
        encode_into(&mut out, value);
        out
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

    #[derive(Serialize)]
    enum Include {
        CustomFields,
        Taggings,
    }

    #[test]
    fn ids_and_queries_build_the_target() {
        let call = API
            .get("/v3/contacts")
            .id("contact_id", "ab/c")
            .path("/x")
            .query(
                "include",
                &Some(vec![Include::CustomFields, Include::Taggings]),
            )
            .query("limit", &Some(5u16))
            .query("email", &None::<String>)
            .query("q", "a&b");
        assert!(call.error.is_none());
        assert_eq!(
            call.target,
            "/v3/contacts/ab%2Fc/x?include=custom_fields,taggings&limit=5&q=a%26b"
        );
    }

    #[derive(Serialize)]
    struct Filters {
        limit: Option<u16>,
        status: Option<Vec<Include>>,
        email: Option<String>,
        cursor: Option<String>,
    }

    #[test]
    fn a_record_gives_the_query_field_for_field() {
        let filters = Filters {
            limit: Some(5),
            status: Some(vec![Include::Taggings]),
            email: None,
            cursor: Some("/v3/x?cursor=1".into()),
        };
        let call = API.get("/v3/contacts").queries(&filters, &["cursor"]);
        // In name order; `none` and the excepted field are left out.
        assert_eq!(call.target, "/v3/contacts?limit=5&status=taggings");
        assert!(API.get("/v3/c").queries(&5, &[]).error.is_some());
    }

    #[test]
    fn empty_or_dot_ids_are_refused() {
        for bad in ["", "  ", ".", ".."] {
            let call = API.get("/v3/contacts").id("contact_id", bad);
            assert!(
                matches!(call.error, Some(ActivityError::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cursors_must_be_api_paths() {
        let call = API
            .get("/v3/contacts")
            .cursor(Some("/v3/contacts?cursor=abc"));
        assert_eq!(call.cursor.as_deref(), Some("/v3/contacts?cursor=abc"));
        assert!(API.get("/v3/c").cursor(Some("")).cursor.is_none());
        for bad in [
            "https://evil.example/v3/x",
            "//evil.example/v3/",
            "/v2/contacts",
            "/v3/a b",
            "v3/contacts",
        ] {
            let call = API.get("/v3/contacts").cursor(Some(bad));
            assert!(
                matches!(call.error, Some(ActivityError::InvalidInput(_))),
                "{bad}"
            );
        }
    }
}
