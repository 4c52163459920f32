//! One HTTP exchange over `wasi:http`: the only code in a connector that touches it.
//!
//! [`Request`] is a plain request to an absolute URL; [`Request::send`] returns
//! the [`Response`] whatever its status (mapping statuses to errors is
//! [`crate::Api`]'s job). The rules kept here:
//!
//! - A body always goes out with `Content-Length`, never chunked: some APIs and
//!   proxies refuse chunked request bodies, and the length lets the host check it.
//! - The body is written *after* `outgoing-handler.handle`: a host buffers only a
//!   few writes before the request is on its way (wasmtime: two), so writing first
//!   deadlocks past 8 KiB. When a write fails, the response future is asked first,
//!   so a host denial is reported as such rather than as a broken stream.
//! - The host may refuse a header (`authorization` is the host's alone) or the
//!   whole request (an origin the connector did not declare): both come back as
//!   `denied`, so a person fixes the connection, not the network.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, HeaderError, IncomingResponse, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

pub use wasi::http::types::Method;

use crate::error::invalid_input;
use crate::types::ActivityError;

/// A request to send.
pub struct Request {
    method: Method,
    scheme: Scheme,
    authority: String,
    path_and_query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
}

/// A response, whatever its status.
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lowercase) and values, in the order received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request for `url` (`https://host[:port]/path?query`; the path defaults to `/`).
    ///
    /// # Errors
    ///
    /// `invalid-input` when `url` is not absolute.
    pub fn new(method: Method, url: &str) -> Result<Request, ActivityError> {
        let absolute = url
            .split_once(':')
            .and_then(|(s, r)| Some((s, r.strip_prefix("//")?)));
        let (scheme, rest) = absolute
            .ok_or_else(|| invalid_input("the URL is not absolute (scheme://host/path)"))?;
        let scheme = match scheme {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => Scheme::Other(other.into()),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path_and_query = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(Request {
            method,
            scheme,
            authority: authority.to_owned(),
            path_and_query,
            headers: Vec::new(),
            body: None,
        })
    }

    /// Adds a header (sent in the order added).
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Request {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the body; `Content-Length` is added when sending.
    pub fn body(mut self, bytes: Vec<u8>) -> Request {
        self.body = Some(bytes);
        self
    }

    /// `METHOD /path` (no query: it may hold an email address), for messages.
    pub fn label(&self) -> String {
        let path = self.path_and_query.split('?').next().unwrap_or_default();
        format!("{} {path}", method_name(&self.method))
    }

    /// Sends the request and reads the whole response.
    ///
    /// # Errors
    ///
    /// `denied` when the host refuses a header or the request, `transport` when
    /// it cannot be sent or its answer not read, `invalid-input` for a target
    /// `wasi:http` does not accept.
    pub fn send(self) -> Result<Response, ActivityError> {
        let label = self.label();
        let request = self.outgoing(&label)?;
        let outgoing = match &self.body {
            Some(_) => Some(
                request
                    .body()
                    .map_err(|()| transport(&label, "request body unavailable"))?,
            ),
            None => None,
        };
        let future = outgoing_handler::handle(request, None).map_err(|e| http_error(&label, e))?;
        let sent = match outgoing {
            Some(outgoing) => send_body(outgoing, self.body.as_deref().unwrap_or_default(), &label),
            None => Ok(()),
        };
        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(http_error(&label, code)),
            Some(Err(())) | None => return Err(transport(&label, "response unavailable")),
        };
        sent?;
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        Ok(Response {
            status: response.status(),
            headers,
            body: read_body(&response, &label)?,
        })
    }
}

impl Request {
    /// The `wasi:http` request: headers (with `Content-Length` for a body) and target.
    fn outgoing(&self, label: &str) -> Result<OutgoingRequest, ActivityError> {
        let headers = Fields::new();
        for (name, value) in &self.headers {
            append(&headers, name, value, label)?;
        }
        if let Some(body) = &self.body {
            let length = body.len().to_string();
            append(&headers, "content-length", length.as_bytes(), label)?;
        }
        let request = OutgoingRequest::new(headers);
        let target_ok = request.set_method(&self.method).is_ok()
            && request.set_scheme(Some(&self.scheme)).is_ok()
            && request.set_authority(Some(&self.authority)).is_ok()
            && request
                .set_path_with_query(Some(&self.path_and_query))
                .is_ok();
        if !target_ok {
            return Err(invalid_input(format!(
                "{label}: not a valid request target"
            )));
        }
        Ok(request)
    }
}

/// A method by name (`GET`, `post`, …); unknown names are sent as given.
pub fn method(name: &str) -> Method {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.into()),
    }
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
        Method::Other(name) => name,
        _ => "HTTP",
    }
}

/// Adds one header; the host refusing it (e.g. `authorization`) is a denial.
fn append(headers: &Fields, name: &str, value: &[u8], label: &str) -> Result<(), ActivityError> {
    headers.append(name, value).map_err(|e| {
        let why = match e {
            HeaderError::Forbidden => "forbidden",
            HeaderError::InvalidSyntax => "invalid syntax",
            _ => "immutable",
        };
        ActivityError::Denied(format!("{label}: the host refused header `{name}` ({why})"))
    })
}

/// Writes the whole body and finishes it. On failure the body is dropped
/// unfinished, which ends the request, so the response future does not wait.
fn send_body(body: OutgoingBody, bytes: &[u8], label: &str) -> Result<(), ActivityError> {
    {
        let stream = body
            .write()
            .map_err(|()| transport(label, "request stream unavailable"))?;
        // `blocking_write_and_flush` takes at most 4096 bytes per call.
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| stream_error(label, e))?;
        }
    } // `stream` is dropped here, before the body is finished, as WASI requires.
    OutgoingBody::finish(body, None).map_err(|e| http_error(label, e))
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

/// A `wasi:http` error code. `HttpRequestDenied` is the host's egress policy saying no.
fn http_error(label: &str, code: ErrorCode) -> ActivityError {
    if let ErrorCode::HttpRequestDenied = code {
        return ActivityError::Denied(format!("{label}: the host denied the request"));
    }
    transport(label, describe(&code))
}

/// A sentence for a person, not the code's `Debug` text (which also costs the
/// component a few kilobytes of formatting code for every payload type).
fn describe(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::DnsTimeout | ErrorCode::DnsError(_) => {
            "the API's host name could not be resolved"
        }
        ErrorCode::DestinationNotFound | ErrorCode::DestinationUnavailable => {
            "the API's host is unreachable"
        }
        ErrorCode::DestinationIpProhibited | ErrorCode::DestinationIpUnroutable => {
            "the API's address may not be connected to"
        }
        ErrorCode::ConnectionRefused => "the API refused the connection",
        ErrorCode::ConnectionTerminated | ErrorCode::ConnectionLimitReached => {
            "the connection to the API closed early"
        }
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => "the API did not answer in time",
        ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => "the TLS handshake with the API failed",
        ErrorCode::HttpResponseBodySize(_) => "the answer is larger than the host allows",
        ErrorCode::HttpRequestBodySize(_) => "the request body does not match its Content-Length",
        _ => "the HTTP exchange failed",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> (String, String) {
        let request = Request::new(Method::Get, url).expect("an absolute URL");
        (request.authority, request.path_and_query)
    }

    #[test]
    fn urls_split_into_authority_and_path() {
        let split = |a: &str, p: &str| (a.to_owned(), p.to_owned());
        assert_eq!(
            target("https://api.example.com"),
            split("api.example.com", "/")
        );
        assert_eq!(
            target("http://127.0.0.1:8911/v3/x?a=1"),
            split("127.0.0.1:8911", "/v3/x?a=1")
        );
        assert_eq!(target("https://h?q=1"), split("h", "/?q=1"));
        for bad in ["api.example.com/v3", "/v3/contacts", "mailto:a@example.com"] {
            assert!(
                matches!(
                    Request::new(Method::Get, bad),
                    Err(ActivityError::InvalidInput(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_label_names_method_and_path_but_not_the_query() {
        let request = Request::new(method("post"), "https://h/v3/contacts?email=a%40b.c").unwrap();
        assert_eq!(request.label(), "POST /v3/contacts");
        assert_eq!(
            Request::new(method("PURGE"), "https://h/").unwrap().label(),
            "PURGE /"
        );
    }
}
