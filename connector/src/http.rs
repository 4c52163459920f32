//! Requests to any path of the V3 API: the escape hatch for what the typed
//! activities do not cover (a new endpoint, a field they drop).
//!
//! The host authenticates these exactly like every other activity (same origin
//! binding, limits, rate limit and quota); the SDK's `proxy` keeps the path under
//! `/v3/` and refuses credential headers. Two activities, because flags are per
//! activity: `http-read` only reads, so agents and retries may treat it so.

use connector_sdk::http_types::{HttpReadInput, HttpRequestInput, HttpResponse};
use connector_sdk::{proxy, ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::http::Guest;
use crate::{Connector, CC};

const PATH_PITFALL: &str =
    "path is under /v3/ (`contacts/{id}` or `/v3/contacts/{id}`); `..`, encoded slashes and URLs are refused.";
const SCOPE_PITFALL: &str =
    "No scope is checked before sending: the API answers 403 when the token lacks the path's scope.";

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "http-request",
        display_name: "HTTP request",
        category: "HTTP",
        description: "Sends any method to a path of the V3 API with the connection's \
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
        description: "Sends a GET (or HEAD) to a path of the V3 API with the connection's \
                      credential; returns the status, safe headers and the body as text.",
        pitfalls: &[PATH_PITFALL, SCOPE_PITFALL],
        ..ActivityMeta::READ
    },
];

impl Guest for Connector {
    /// Any request under `/v3/`.
    ///
    /// `METHOD /v3/{path}` — <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope: whatever the path needs. Not retry-safe and destructive: the method
    /// may create, overwrite or delete.
    fn http_request(input: HttpRequestInput) -> Result<HttpResponse, ActivityError> {
        proxy::request(&CC, input)
    }

    /// A read anywhere under `/v3/`.
    ///
    /// `GET /v3/{path}` — <https://developer.constantcontact.com/api_reference/index.html>.
    /// Scope: whatever the path needs. Retry-safe and read-only: GET and HEAD
    /// change nothing.
    fn http_read(input: HttpReadInput) -> Result<HttpResponse, ActivityError> {
        proxy::read(&CC, input)
    }
}
