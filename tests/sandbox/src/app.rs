//! The router: every route, and the middleware every `/v3` request passes through.
//!
//! A `/v3` request runs, outermost first:
//! 1. `faults::record`: the request log (so tests also see refused requests);
//! 2. `faults::inject`: scripted delays and forced answers;
//! 3. `auth::authenticate`: 401 without a valid bearer token;
//! 4. `throttle::limit`: 429 past the per-token rate;
//! 5. the route: 404 for an unknown path, 405 for a known path with another method, the
//!    handler's scope check (403) and then the handler.
//!
//! `/__sandbox/*` (the control API) passes through all of them untouched. The OAuth2
//! authorization server (`oauth`: `/oauth2/default/v1/*`, `/login/*`, `/activate`) only
//! meets `faults::inject`, so tests can script a failing token endpoint; it is not
//! logged, authenticated or rate limited like `/v3`.

use axum::middleware::from_fn_with_state;
use axum::Router;

use crate::errors::ApiError;
use crate::state::Sandbox;
use crate::{
    account, auth, bulk, campaigns, contacts, control, custom_fields, faults, lists, oauth,
    reports, segments, sign_up_forms, tags, throttle,
};

/// Whether `path` belongs to the simulated V3 API.
pub fn is_api(path: &str) -> bool {
    path == "/v3" || path.starts_with("/v3/")
}

/// Whether `path` belongs to the control API.
pub fn is_control(path: &str) -> bool {
    path == "/__sandbox" || path.starts_with("/__sandbox/")
}

/// The whole application.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .merge(account::routes())
        .merge(contacts::routes())
        .merge(sign_up_forms::routes())
        .merge(custom_fields::routes())
        .merge(lists::routes())
        .merge(tags::routes())
        .merge(segments::routes())
        .merge(bulk::routes())
        .merge(campaigns::routes())
        .merge(reports::routes())
        .merge(control::routes())
        .merge(bulk::control_routes())
        .merge(segments::control_routes())
        .merge(campaigns::control_routes())
        .merge(oauth::routes())
        .fallback(|| async { ApiError::no_route() })
        // Set after every route is merged: it applies to the routes present.
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        // `layer` wraps what is already there: the last added runs first.
        .layer(from_fn_with_state(sandbox.clone(), throttle::limit))
        .layer(from_fn_with_state(sandbox.clone(), auth::authenticate))
        .layer(from_fn_with_state(sandbox.clone(), faults::inject))
        .layer(from_fn_with_state(sandbox.clone(), faults::record))
        .with_state(sandbox)
}
