//! Account endpoints (reference §3.1): the user's privileges, the account's email
//! addresses (`emails`) and its summary and physical address (`summary`).
//!
//! - `GET /v3/account/user/privileges`: no scope needed (reference §1.9).
//! - `/v3/account/emails`: see `emails`.
//! - `/v3/account/summary`, `/v3/account/summary/physical_address`: see `summary`.

mod emails;
mod summary;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use emails::{is_confirmed, seed, AccountEmail};
pub use summary::Summary;

use crate::state::Sandbox;

/// The privileges of an account owner, who holds them all (reference §2.6).
const OWNER_PRIVILEGES: [(u32, &str); 11] = [
    (10, "account:read"),
    (11, "account:update"),
    (12, "contacts:read"),
    (13, "contacts:write"),
    (14, "contacts:lists:read"),
    (15, "contacts:lists:write"),
    (30, "campaign:create"),
    (31, "campaign:read"),
    (32, "campaign:write"),
    (33, "campaign:delete"),
    (34, "campaign:send"),
];

/// The account routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/account/user/privileges", get(privileges))
        .route(
            "/v3/account/emails",
            get(emails::list_emails).post(emails::add_email),
        )
        .route(
            "/v3/account/summary",
            get(summary::fetch).put(summary::update),
        )
        .route(
            "/v3/account/summary/physical_address",
            get(summary::address)
                .put(summary::replace_address)
                .post(summary::add_address),
        )
}

/// The control route that removes the physical address (so one can be added).
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route(
        "/__sandbox/physical_address/remove",
        post(summary::remove_address),
    )
}

/// `GET /v3/account/user/privileges`: needs a valid token but no scope.
async fn privileges() -> Json<Value> {
    let list: Vec<Value> = OWNER_PRIVILEGES
        .iter()
        .map(|(id, name)| json!({ "privilege_id": id, "privilege_name": name }))
        .collect();
    Json(Value::Array(list))
}
