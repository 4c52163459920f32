//! The operator's routes: tenants and their tokens. Only the server's own
//! API token (directly or through a page session made from it) may use
//! them; a tenant's token is refused with 403, whatever it names.
//!
//! - `GET /api/tenants`: each tenant with tokens, and `default`.
//! - `POST /api/tenants/{tenant}/tokens` (`{"label": …}`): issues one; the
//!   answer holds the token, the one time it is ever shown.
//! - `GET /api/tenants/{tenant}/tokens`: the tenant's tokens (never a value).
//! - `DELETE /api/tenants/{tenant}/tokens/{id}`: revokes one.

use std::collections::BTreeMap;

use axum::extract::{Extension, Path};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::errors::ApiError;
use super::space::Scope;
use super::tenants::{Principal, DEFAULT_TENANT};
use crate::name::Name;

type Answer = Result<Response, ApiError>;

/// What `POST /api/tenants/{tenant}/tokens` takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the operator calls it (shown in lists, at most 100 characters).
    #[serde(default)]
    pub label: String,
}

/// The operator only.
fn operator(caller: &Caller) -> Result<(), ApiError> {
    match caller.principal() {
        Principal::Operator => Ok(()),
        Principal::Tenant { .. } | Principal::EndUser { .. } => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "tenants and their tokens are managed with the server's own API token, not a tenant's",
        )),
    }
}

/// The tenant a path names.
fn tenant(text: &str) -> Result<Name, ApiError> {
    Name::parse(text, "tenant").map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("tenant: {e}"),
        )
    })
}

fn unavailable(error: String) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", error)
}

/// `GET /api/tenants`.
pub async fn list_tenants(scope: Scope, Extension(caller): Extension<Caller>) -> Answer {
    operator(&caller)?;
    let tokens = scope.tenant_tokens.list(None).await.map_err(unavailable)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::from([(DEFAULT_TENANT.to_owned(), 0)]);
    for issued in &tokens {
        *counts.entry(issued.tenant.to_string()).or_default() += 1;
    }
    let list: Vec<Value> = counts
        .into_iter()
        .map(|(name, tokens)| json!({"name": name, "tokens": tokens}))
        .collect();
    Ok(Json(json!({ "tenants": list })).into_response())
}

/// `POST /api/tenants/{tenant}/tokens`.
pub async fn issue(
    scope: Scope,
    Extension(caller): Extension<Caller>,
    Path(text): Path<String>,
    Json(new): Json<NewToken>,
) -> Answer {
    operator(&caller)?;
    let tenant = tenant(&text)?;
    if new.label.chars().count() > 100 || new.label.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "label: at most 100 characters, none a control character",
        ));
    }
    let (issued, value) = scope
        .tenant_tokens
        .issue(&tenant, &new.label)
        .await
        .map_err(unavailable)?;
    tracing::info!(tenant = tenant.as_str(), token = %issued.id, "tenant token issued");
    crate::audit::tenant_token(true, tenant.as_str(), &issued.id);
    let mut body = issued.summary();
    body["token"] = Value::String(value.expose_secret().to_owned());
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    // The one answer that holds the token: no cache keeps it.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `GET /api/tenants/{tenant}/tokens`.
pub async fn list_tokens(
    scope: Scope,
    Extension(caller): Extension<Caller>,
    Path(text): Path<String>,
) -> Answer {
    operator(&caller)?;
    let tenant = tenant(&text)?;
    let tokens = scope
        .tenant_tokens
        .list(Some(&tenant))
        .await
        .map_err(unavailable)?;
    let list: Vec<Value> = tokens.iter().map(super::tenants::Issued::summary).collect();
    Ok(Json(json!({ "tokens": list })).into_response())
}

/// `DELETE /api/tenants/{tenant}/tokens/{id}`.
pub async fn revoke(
    scope: Scope,
    Extension(caller): Extension<Caller>,
    Path((text, id)): Path<(String, String)>,
) -> Answer {
    operator(&caller)?;
    let tenant = tenant(&text)?;
    if !scope
        .tenant_tokens
        .revoke(&tenant, &id)
        .await
        .map_err(unavailable)?
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "tenant {tenant} has no token {}\nhint: GET /api/tenants/{tenant}/tokens lists them",
                crate::redact::untrusted(&id)
            ),
        ));
    }
    tracing::info!(tenant = tenant.as_str(), token = %id, "tenant token revoked");
    crate::audit::tenant_token(false, tenant.as_str(), &id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
