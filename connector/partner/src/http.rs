//! Requests to any path of the V3 API with the partner's token and key, for
//! what the typed activities do not cover; the SDK's `proxy` keeps the path
//! under `/v3/` and refuses credential headers (see the Constant Contact
//! connector's `http` module, which this mirrors).

use connector_sdk::http_types::{HttpReadInput, HttpRequestInput, HttpResponse};
use connector_sdk::{proxy, ActivityError, ActivityMeta};

use crate::exports::constant_contact::partner::http::Guest;
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them: the SDK's two.
pub const ACTIVITIES: &[ActivityMeta] = proxy::ACTIVITIES;

impl Guest for Connector {
    /// Any request under `/v3/`. Not retry-safe and destructive: the method may
    /// create, overwrite or delete.
    fn http_request(input: HttpRequestInput) -> Result<HttpResponse, ActivityError> {
        proxy::request(&CC, input)
    }

    /// A `GET` or `HEAD` under `/v3/`. Retry-safe and read-only.
    fn http_read(input: HttpReadInput) -> Result<HttpResponse, ActivityError> {
        proxy::read(&CC, input)
    }
}
