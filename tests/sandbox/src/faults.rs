//! Fault injection and the request log: what tests use to see and bend the traffic.
//!
//! [`record`] is the outermost middleware: it logs every `/v3` request (method, path,
//! query, the `Authorization` header as received, the JSON body, the final status) so a
//! test can check that the host injected the right token and sent the right request.
//! [`inject`] comes next: a fault registered through `POST /__sandbox/faults` delays the
//! next N matching requests and/or answers them with a forced status and body, before
//! authentication, so a test can script 503s, 429s and slow replies.

use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app;
use crate::errors::ApiError;
use crate::state::Sandbox;

/// Largest body the log buffers (campaign HTML may be 150,000 characters).
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A scripted fault: what to match and what to do to it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Fault {
    /// The exact path, or a prefix when it ends with `*` (`/v3/contacts*`).
    pub path: String,
    /// The method to match (any when absent).
    pub method: Option<String>,
    /// The status to answer with instead of serving the request.
    pub status: Option<u16>,
    /// How long to wait before answering (or before serving, without `status`).
    pub delay_ms: Option<u64>,
    /// The body to answer with; the API's default error body for `status` when absent.
    pub body: Option<Value>,
    /// How many matching requests it applies to.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Checks the fault can be applied; the message names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err("path must start with /".into());
        }
        if self
            .status
            .is_some_and(|s| StatusCode::from_u16(s).is_err() || s < 200)
        {
            return Err("status must be an HTTP status from 200 to 999".into());
        }
        if self
            .method
            .as_deref()
            .is_some_and(|m| Method::from_bytes(m.as_bytes()).is_err())
        {
            return Err("method is not an HTTP method".into());
        }
        if self.count == 0 {
            return Err("count must be at least 1".into());
        }
        Ok(())
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        let path_matches = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        path_matches
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    }
}

/// The registered faults, first registered first applied.
#[derive(Debug, Default)]
pub struct Faults {
    list: Mutex<Vec<Fault>>,
}

impl Faults {
    /// Registers a fault (already validated).
    pub fn add(&self, fault: Fault) {
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(fault);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The faults still pending, with their remaining counts.
    pub fn pending(&self) -> Vec<Fault> {
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes one use of the first fault matching the request.
    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        let index = list.iter().position(|f| f.matches(method, path))?;
        let fault = list[index].clone();
        list[index].count -= 1;
        if list[index].count == 0 {
            list.remove(index);
        }
        Some(fault)
    }
}

/// Middleware: applies the first matching fault to a request outside `/__sandbox`.
pub async fn inject(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    if app::is_control(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(fault) = sandbox.faults.take(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    if let Some(delay) = fault.delay_ms {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    // `validate` accepted only valid statuses, so the conversion cannot fail.
    let Some(status) = fault.status.and_then(|s| StatusCode::from_u16(s).ok()) else {
        return next.run(request).await;
    };
    match fault.body {
        Some(body) => (status, Json(body)).into_response(),
        None if status.is_success() => status.into_response(),
        None => ApiError::for_status(status).into_response(),
    }
}

/// One logged request.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    #[serde(skip)]
    seq: u64,
    method: String,
    path: String,
    query: Option<String>,
    /// The header as received: tests check the host injected the right token.
    authorization: Option<String>,
    /// The body as JSON (a string when it is not JSON), `null` when empty.
    body: Value,
    /// When it arrived: milliseconds since the sandbox started (tests check that no
    /// one-second window of an application holds more than its limit).
    at_ms: f64,
    /// The application its token belongs to, when the token is known.
    app: Option<String>,
    /// `null` until the answer is known.
    status: Option<u16>,
}

/// The log of `/v3` requests, oldest first.
#[derive(Debug)]
pub struct RequestLog {
    entries: Mutex<(u64, Vec<Entry>)>,
    started: std::time::Instant,
}

impl Default for RequestLog {
    fn default() -> RequestLog {
        RequestLog {
            entries: Mutex::default(),
            started: std::time::Instant::now(),
        }
    }
}

impl RequestLog {
    /// Every logged request, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// Forgets every logged request.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clear();
    }

    fn open(&self, mut entry: Entry) -> u64 {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.0 += 1;
        entry.seq = entries.0;
        entries.1.push(entry);
        entries.0
    }

    fn close(&self, seq: u64, status: StatusCode) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // The log may have been cleared while the request ran.
        if let Some(entry) = entries.1.iter_mut().find(|e| e.seq == seq) {
            entry.status = Some(status.as_u16());
        }
    }
}

/// Middleware (outermost): logs `/v3` requests with their final status.
pub async fn record(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    if !app::is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return ApiError::bad_request("the request body could not be read").into_response();
    };
    let entry = Entry {
        seq: 0,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: parts
            .headers
            .get(AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        body: logged_body(&bytes),
        status: None,
        at_ms: sandbox.requests.started.elapsed().as_secs_f64() * 1000.0,
        app: sandbox.tokens.app_of(&parts.headers),
    };
    // Never log the Authorization header to stderr: it is a credential.
    let line = format!("{} {}", entry.method, entry.path);
    let seq = sandbox.requests.open(entry);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    sandbox.requests.close(seq, response.status());
    // A closed stderr must not fail the request: the log line is best effort.
    let _ = writeln!(
        std::io::stderr(),
        "cc-sandbox: {line} -> {}",
        response.status().as_u16()
    );
    response
}

fn logged_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(path: &str, method: Option<&str>, count: u32) -> Fault {
        Fault {
            path: path.into(),
            method: method.map(Into::into),
            status: Some(503),
            delay_ms: None,
            body: None,
            count,
        }
    }

    #[test]
    fn matches_exact_paths_prefixes_and_methods() {
        assert!(fault("/v3/contacts", None, 1).matches(&Method::GET, "/v3/contacts"));
        assert!(!fault("/v3/contacts", None, 1).matches(&Method::GET, "/v3/contacts/1"));
        assert!(fault("/v3/contacts*", None, 1).matches(&Method::GET, "/v3/contacts/1"));
        assert!(!fault("/v3/contacts", Some("post"), 1).matches(&Method::GET, "/v3/contacts"));
    }

    #[test]
    fn a_fault_applies_count_times() {
        let faults = Faults::default();
        faults.add(fault("/v3/emails", None, 2));
        assert!(faults.take(&Method::GET, "/v3/emails").is_some());
        assert!(faults.take(&Method::GET, "/v3/emails").is_some());
        assert!(faults.take(&Method::GET, "/v3/emails").is_none());
    }

    #[test]
    fn rejects_faults_that_cannot_apply() {
        assert!(fault("v3", None, 1).validate().is_err());
        assert!(fault("/v3", None, 0).validate().is_err());
        assert!(Fault {
            status: Some(42),
            ..fault("/v3", None, 1)
        }
        .validate()
        .is_err());
    }
}
