//! `http-request` and `http-read`: an authenticated request to any path of the
//! connector's API, for what its typed activities do not cover (UiPath's "HTTP
//! Request", Nango's proxy).
//!
//! A connector exports both from its own WIT interface with the records of
//! `connector:sdk/http-types` and implements each in one line:
//!
//! ```ignore
//! fn http_request(input: HttpRequestInput) -> Result<HttpResponse, ActivityError> {
//!     proxy::request(&API, input)
//! }
//! ```
//!
//! What makes it safe to hand to anyone who may call the connector's other
//! activities is the host: it adds the credential only to requests for the
//! connector's declared origins, applies the same limits, rate limit and quota,
//! and refuses `authorization` from the guest. This module keeps the request
//! inside the API's base before it is sent, so that a caller cannot reach
//! another path family of the origin (`/v3/` only for Constant Contact) or
//! smuggle a second request or a credential through the input:
//!
//! - the path starts with the API's prefix (or is relative to it), and has no
//!   segment that is empty or starts with `.`, no `\`, no `;` (`..;/` is `../`
//!   to some servers), no `%2F`/`%5C`/`%2E` (any case), no scheme or authority,
//!   no `?`/`#`, and only printable ASCII;
//! - headers are printable tokens; credentials (`authorization`, `cookie`,
//!   `x-api-key`, …), framing (`content-length`, `transfer-encoding`, `host`, …)
//!   and forwarding headers are refused;
//! - a body is JSON text of at most [`MAX_BODY`] bytes, and only with a method
//!   that takes one;
//! - the answer's headers are filtered to [`SAFE_RESPONSE_HEADERS`] (no
//!   `set-cookie`, nothing that names a credential); its body must be UTF-8.

use serde_json::Value;

use crate::error::invalid_input;
use crate::http::{method, Request};
use crate::http_types::{
    HttpMethod, HttpReadInput, HttpRequestInput, HttpResponse, NameValue, ReadMethod,
};
use crate::types::ActivityError;
use crate::{ActivityMeta, Api};

/// The metadata of both activities, for a connector's `areas`: the flags
/// follow the method (`http-read` only reads), scopes are the path's.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "http-request",
        display_name: "HTTP request",
        category: "HTTP",
        description: "Sends any method to a path of the API with the connection's \
                      credential; returns the status, safe headers and the body as text.",
        pitfalls: &[
            PATH_PITFALL,
            SCOPE_PITFALL,
            "Treated as a write that is not retry-safe whatever the method: use http-read to read.",
            "The body is JSON text of at most 1 MiB; an error status is the activity's error.",
        ],
        destructive: true,
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "http-read",
        display_name: "HTTP read",
        category: "HTTP",
        description: "Sends a GET (or HEAD) to a path of the API with the connection's \
                      credential; returns the status, safe headers and the body as text.",
        pitfalls: &[PATH_PITFALL, SCOPE_PITFALL],
        ..ActivityMeta::READ
    },
];

const PATH_PITFALL: &str = "path is under the API's base (`contacts/{id}` or the full \
     `/v3/contacts/{id}`); `..`, encoded slashes and URLs are refused.";
const SCOPE_PITFALL: &str = "No scope is checked before sending: the API answers 403 when \
     the token lacks the path's scope.";

/// The largest request body, in bytes: larger writes are what the typed bulk
/// activities are for.
pub const MAX_BODY: usize = 1 << 20;

/// Headers of the answer passed on to the caller.
pub const SAFE_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-language",
    "location",
    "etag",
    "last-modified",
    "cache-control",
    "retry-after",
    "link",
];

/// Request headers a caller may not set: credentials, message framing, and
/// what proxies and the host add.
const REFUSED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "forwarded",
    "via",
];

/// Sends `input` to the API: any method, an optional JSON body.
///
/// # Errors
///
/// `invalid-input` for a path outside the API's base, a refused header or a body
/// that is not JSON or too large, all before anything is sent; otherwise the
/// answer's status as every activity reports it.
pub fn request(api: &Api, input: HttpRequestInput) -> Result<HttpResponse, ActivityError> {
    let takes_body = matches!(
        input.method,
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete
    );
    let body = match input.body {
        Some(_) if !takes_body => {
            return Err(invalid_input(
                "`body` is only sent with post, put, patch or delete",
            ))
        }
        Some(text) => Some(json_body(text)?),
        None => None,
    };
    let name = match input.method {
        HttpMethod::Get => "GET",
        HttpMethod::Head => "HEAD",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
    };
    send(api, name, &input.path, input.query, input.headers, body)
}

/// Sends a `GET` (or `HEAD`) to the API: the read-only twin of [`request`].
///
/// # Errors
///
/// As [`request`].
pub fn read(api: &Api, input: HttpReadInput) -> Result<HttpResponse, ActivityError> {
    let name = match input.method {
        Some(ReadMethod::Head) => "HEAD",
        Some(ReadMethod::Get) | None => "GET",
    };
    send(api, name, &input.path, input.query, input.headers, None)
}

fn send(
    api: &Api,
    method_name: &str,
    path: &str,
    query: Option<Vec<NameValue>>,
    headers: Option<Vec<NameValue>>,
    body: Option<Vec<u8>>,
) -> Result<HttpResponse, ActivityError> {
    let mut target = api_path(api, path)?;
    append_query(&mut target, query.as_deref().unwrap_or_default())?;
    let mut request = Request::new(method(method_name), &format!("{}{target}", api.origin))?
        .header("accept", "application/json");
    for header in headers.unwrap_or_default() {
        let name = header_name(&header.name)?;
        if !header
            .value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            return Err(invalid_input(format!(
                "header `{name}`: the value must be printable ASCII"
            )));
        }
        request = request.header(&name, header.value);
    }
    if let Some(bytes) = body {
        request = request
            .header("content-type", "application/json")
            .body(bytes);
    }
    let label = request.label();
    let response = api.successful(request.send()?)?;
    let headers = response
        .headers
        .iter()
        .filter(|(name, _)| SAFE_RESPONSE_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some(NameValue {
                name: name.clone(),
                value: String::from_utf8(value.clone()).ok()?,
            })
        })
        .collect();
    let body = match response.body.is_empty() {
        true => None,
        false => Some(String::from_utf8(response.body).map_err(|_| {
            ActivityError::UnexpectedResponse(format!(
                "{label}: the answer is not text (http-request returns text and JSON only)"
            ))
        })?),
    };
    Ok(HttpResponse {
        status: response.status,
        headers,
        body,
    })
}

/// The path, made absolute under `api.path_prefix` and checked to stay there.
fn api_path(api: &Api, path: &str) -> Result<String, ActivityError> {
    let refuse = |why: &str| {
        Err(invalid_input(format!(
            "`path` {why}; give a path under {} such as {}contacts",
            api.path_prefix, api.path_prefix
        )))
    };
    let scheme = path.split_once(':').is_some_and(|(s, _)| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
    });
    if scheme || path.starts_with("//") {
        return refuse("must not be a URL: the connector only calls its own API");
    }
    if !path.bytes().all(|b| b.is_ascii_graphic()) || path.contains('\\') {
        return refuse("must be printable ASCII without spaces or backslashes");
    }
    if path.contains(['?', '#']) {
        return refuse("must not hold `?` or `#` (give the query as `query`)");
    }
    // Some servers read `..;/` as `../` (a path parameter after the dots).
    if path.contains(';') {
        return refuse("must not hold `;`");
    }
    let lower = path.to_ascii_lowercase();
    if ["%2f", "%5c", "%2e", "%00"]
        .iter()
        .any(|e| lower.contains(e))
    {
        return refuse("must not hold an encoded `/`, `\\`, `.` or NUL");
    }
    let full = match path.strip_prefix('/') {
        Some(_) if path.starts_with(api.path_prefix) => path.to_owned(),
        Some(_) => return refuse(&format!("must start with {}", api.path_prefix)),
        None => format!("{}{path}", api.path_prefix),
    };
    let rest = &full[api.path_prefix.len()..];
    if rest.is_empty() || rest.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
        return refuse("must not have empty, `.` or `..` segments (or any starting with `.`)");
    }
    Ok(full)
}

/// Appends `?name=value&…`, each percent-encoded.
fn append_query(target: &mut String, query: &[NameValue]) -> Result<(), ActivityError> {
    for (i, pair) in query.iter().enumerate() {
        if pair.name.is_empty() {
            return Err(invalid_input("a query parameter needs a name"));
        }
        target.push(if i == 0 { '?' } else { '&' });
        crate::api::encode_into(target, &pair.name);
        target.push('=');
        crate::api::encode_into(target, &pair.value);
    }
    Ok(())
}

/// The header's name in lowercase, when a caller may set it.
fn header_name(name: &str) -> Result<String, ActivityError> {
    let lower = name.to_ascii_lowercase();
    let token = !lower.is_empty()
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(invalid_input(format!(
            "header `{name}` is not a valid header name"
        )));
    }
    let refused = REFUSED_HEADERS.contains(&lower.as_str())
        || lower.starts_with("x-forwarded-")
        || lower.starts_with("proxy-")
        || lower.starts_with("sec-");
    if refused {
        return Err(invalid_input(format!(
            "header `{name}` cannot be set: the host adds credentials, and framing is the \
             connector's"
        )));
    }
    Ok(lower)
}

/// The body as compact JSON bytes, when it is JSON and small enough.
fn json_body(text: String) -> Result<Vec<u8>, ActivityError> {
    if text.len() > MAX_BODY {
        return Err(invalid_input(format!(
            "`body` has {} bytes, more than the {MAX_BODY} allowed",
            text.len()
        )));
    }
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| invalid_input(format!("`body` is not JSON: {e}")))?;
    Ok(serde_json::to_vec(&value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cursor, error};

    const API: Api = Api {
        origin: "https://api.example.com",
        path_prefix: "/v3/",
        errors: error::plain_errors,
        next_cursor: cursor::links_next_href,
    };

    #[test]
    fn paths_stay_under_the_base() {
        assert_eq!(
            api_path(&API, "/v3/contacts/abc").unwrap(),
            "/v3/contacts/abc"
        );
        assert_eq!(
            api_path(&API, "contacts/a%40b").unwrap(),
            "/v3/contacts/a%40b"
        );
        for bad in [
            "/v3/../v2/contacts",
            "../contacts",
            "/v3/contacts/../../admin",
            "/v3/contacts/%2e%2e/x",
            "/v3/contacts%2Fx",
            "/v3/contacts%2fx",
            "/v3/a%5Cb",
            "/v3/a\\b",
            "/v2/contacts",
            "/v3",
            "/v3/",
            "/v3//contacts",
            "/v3/./contacts",
            "/v3/..;/v2/contacts",
            "/v3/contacts/..%3B/x",
            "/v3/.hidden",
            "https://evil.example/v3/contacts",
            "//evil.example/v3/contacts",
            "http:/evil/v3",
            "/v3/contacts?limit=5",
            "/v3/contacts#x",
            "/v3/con tacts",
            "/v3/contacts\r\nHost: evil",
            "/v3/é",
            "",
        ] {
            assert!(
                matches!(api_path(&API, bad), Err(ActivityError::InvalidInput(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn credential_and_framing_headers_are_refused() {
        assert_eq!(header_name("If-Match").unwrap(), "if-match");
        for bad in [
            "Authorization",
            "AUTHORIZATION",
            "Cookie",
            "x-api-key",
            "Host",
            "Content-Length",
            "Transfer-Encoding",
            "X-Forwarded-For",
            "Proxy-Authorization",
            "bad header",
            "bad\r\nname",
            "",
        ] {
            assert!(header_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn bodies_are_json_and_bounded() {
        assert_eq!(json_body(r#"{ "a" : 1 }"#.into()).unwrap(), br#"{"a":1}"#);
        assert!(json_body("not json".into()).is_err());
        let big = format!("\"{}\"", "x".repeat(MAX_BODY));
        assert!(json_body(big).is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        let mut target = "/v3/contacts".to_owned();
        let query = [
            NameValue {
                name: "email".into(),
                value: "a+b@example.com".into(),
            },
            NameValue {
                name: "x".into(),
                value: "1&y=2".into(),
            },
        ];
        append_query(&mut target, &query).unwrap();
        assert_eq!(target, "/v3/contacts?email=a%2Bb%40example.com&x=1%26y%3D2");
    }
}
