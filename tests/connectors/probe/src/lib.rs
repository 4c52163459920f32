//! # The probe connector: a second, unrelated connector for host tests
//!
//! It shares nothing with the Constant Contact connector but the generic
//! `connector:sdk` contract, so a host that runs both without code for either is
//! generic (DESIGN §3). Its activities give the host tests what they need:
//!
//! - `echo`: every common WIT type in and out, for the JSON ⇄ WIT conversion;
//! - `fetch`: one raw `wasi:http` request, for egress, header and override tests;
//! - `spin`: a loop that never ends unless told to, for the deadline;
//! - `allocate`: a memory hog, for the memory cap.
#![warn(missing_docs)]

use std::hint::black_box;

/// Generated bindings for `wit/probe.wit` and the `connector:sdk` package.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../../../wit/sdk-0.1.0", "wit"],
        world: "test:probe/probe-connector",
        generate_all,
    });
}

use bindings::connector::sdk::types::{
    Activity, ActivityError, ApiError, AuthScheme, ConnectorInfo,
};
use bindings::exports::connector::sdk::metadata;
use bindings::exports::test::probe::probe::{
    AllocateInput, AllocateOutput, EchoInput, EchoOutput, FetchInput, FetchOutput, Guest,
    SpinInput, SpinOutput,
};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

/// The type the host calls into.
struct Probe;

bindings::export!(Probe with_types_in bindings);

impl metadata::Guest for Probe {
    fn describe() -> ConnectorInfo {
        let activity = |name: &str, description: &str, retry_safe: bool| Activity {
            name: name.into(),
            display_name: name.into(),
            category: "Probe".into(),
            description: description.into(),
            required_scopes: Vec::new(),
            retry_safe,
        };
        ConnectorInfo {
            name: "probe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "A test connector: echo, fetch, spin, allocate.".into(),
            auth: AuthScheme::None,
            fields: Vec::new(),
            // Tests map this origin to a local server with a connection override.
            egress_origins: vec!["https://probe.example".into()],
            activities: vec![
                activity("echo", "Returns its input and a greeting.", true),
                activity(
                    "fetch",
                    "Sends one HTTP request and returns the answer.",
                    false,
                ),
                activity("spin", "Counts to `iterations`, or forever.", true),
                activity(
                    "allocate",
                    "Allocates and touches the given number of MiB.",
                    true,
                ),
            ],
        }
    }
}

impl Guest for Probe {
    fn echo(input: EchoInput) -> Result<EchoOutput, ActivityError> {
        Ok(EchoOutput {
            greeting: format!("hello, {}", input.text),
            echoed: input,
        })
    }

    fn fetch(input: FetchInput) -> Result<FetchOutput, ActivityError> {
        let request = build_request(&input)?;
        // Write and finish the body before `handle` (see the toolchain notes).
        let body = request
            .body()
            .map_err(|()| transport("request body unavailable"))?;
        write_all(&body, input.body.as_deref().unwrap_or_default().as_bytes())?;
        OutgoingBody::finish(body, None).map_err(http_error)?;
        let future = outgoing_handler::handle(request, None).map_err(http_error)?;
        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(http_error(code)),
            _ => return Err(transport("response unavailable")),
        };
        let headers = response.headers().entries();
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        Ok(FetchOutput {
            status: response.status(),
            body: read_all(&response)?,
            headers,
        })
    }

    fn spin(input: SpinInput) -> Result<SpinOutput, ActivityError> {
        let mut done: u64 = 0;
        // `black_box` keeps the optimiser from replacing the loop with its result.
        while input.iterations.is_none_or(|max| done < max) {
            done = black_box(done + 1);
        }
        Ok(SpinOutput { iterations: done })
    }

    fn allocate(input: AllocateInput) -> Result<AllocateOutput, ActivityError> {
        let bytes = (input.megabytes as usize)
            .checked_mul(1024 * 1024)
            .ok_or_else(|| {
                invalid(format!(
                    "{} MiB is more than a wasm32 memory holds",
                    input.megabytes
                ))
            })?;
        // A plain allocation: past the host's memory cap it traps, as any guest would.
        // Ones, not zeros, so every page is written rather than left fresh.
        let buffer = vec![1u8; bytes];
        black_box(&buffer);
        Ok(AllocateOutput {
            allocated: input.megabytes,
        })
    }
}

/// The request for `input`, without its body. A header the host refuses (such as
/// `authorization`) is reported as `denied`, naming the header.
fn build_request(input: &FetchInput) -> Result<OutgoingRequest, ActivityError> {
    let (scheme, authority, path) = split_url(&input.url)?;
    let headers = Fields::new();
    for (name, value) in &input.headers {
        headers.append(name, value.as_bytes()).map_err(|e| {
            ActivityError::Denied(format!("header `{name}` refused by the host: {e:?}"))
        })?;
    }
    let request = OutgoingRequest::new(headers);
    let method = method(input.method.as_deref().unwrap_or("GET"));
    let target_ok = request.set_method(&method).is_ok()
        && request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(authority)).is_ok()
        && request.set_path_with_query(Some(path)).is_ok();
    if !target_ok {
        return Err(invalid(format!("cannot request {:?}", input.url)));
    }
    Ok(request)
}

/// `scheme://authority/path?query` → its parts; the path defaults to `/`.
fn split_url(url: &str) -> Result<(Scheme, &str, &str), ActivityError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid(format!("not an absolute URL: {url:?}")))?;
    let scheme = match scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => Scheme::Other(other.into()),
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    Ok((scheme, authority, if path.is_empty() { "/" } else { path }))
}

fn method(name: &str) -> Method {
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

fn write_all(body: &OutgoingBody, bytes: &[u8]) -> Result<(), ActivityError> {
    let stream = body
        .write()
        .map_err(|()| transport("request stream unavailable"))?;
    for chunk in bytes.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(stream_error)?;
    }
    Ok(())
}

fn read_all(response: &IncomingResponse) -> Result<String, ActivityError> {
    let body = response
        .consume()
        .map_err(|()| transport("response body unavailable"))?;
    let stream = body
        .stream()
        .map_err(|()| transport("response stream unavailable"))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => return Err(stream_error(e)),
        }
    }
}

fn http_error(code: ErrorCode) -> ActivityError {
    match code {
        ErrorCode::HttpRequestDenied => ActivityError::Denied("the host denied the request".into()),
        other => transport(&format!("{other:?}")),
    }
}

fn stream_error(error: StreamError) -> ActivityError {
    match error {
        StreamError::Closed => transport("stream closed early"),
        StreamError::LastOperationFailed(e) => match wasi::http::types::http_error_code(&e) {
            Some(code) => http_error(code),
            None => transport(&e.to_debug_string()),
        },
    }
}

fn transport(message: &str) -> ActivityError {
    ActivityError::Transport(message.into())
}

fn invalid(message: String) -> ActivityError {
    ActivityError::InvalidInput(ApiError {
        status: None,
        key: None,
        message,
    })
}
