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

/// This area's activities, as `describe` reports them: the SDK's two.
pub const ACTIVITIES: &[ActivityMeta] = proxy::ACTIVITIES;

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
