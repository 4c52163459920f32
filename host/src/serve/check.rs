//! `POST /api/connections/check`: Check without saving. The body is a draft,
//! as for `POST /api/connections`; the answer is the same check report as
//! `POST /api/connections/{name}/check` gives for a saved connection.
//!
//! Invariant: nothing is written. The connection's text is built in memory
//! (a secret typed into the draft stays in that text, as a direct value,
//! and is dropped with it); no connection file or store document is made,
//! no typed secret goes to a store or a file, no session is cached. When
//! the draft names an existing connection, `{"keep": true}` keeps that
//! connection's field, so one part of it can be changed and checked alone.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::api::Loaded;
use super::connections::{self, Draft, Typed};
use super::errors::ApiError;
use super::space::Scope;
use super::state::State;
use crate::name::Name;

/// The name a draft without one is checked under (never written).
const UNNAMED: &str = "draft";

/// `POST /api/connections/check`: the check report of a draft, nothing saved.
pub async fn check_draft(scope: Scope, Json(draft): Json<Draft>) -> Result<Response, ApiError> {
    let name = match draft.name.as_deref() {
        Some(text) => Name::parse(text, "connection name").map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                format!("name: {e}"),
            )
        })?,
        None => Name::parse(UNNAMED, "connection name").expect("a name"),
    };
    let existing = existing(&scope, &name, draft.name.is_some()).await?;
    let text = Zeroizing::new(
        connections::document(&scope, &name, &draft, existing.as_ref(), Typed::InMemory).await?,
    );
    let connection = scope.documents().parse(&name, &text).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            e.to_string(),
        )
    })?;
    let report = crate::check::check(&scope.runtime, &connection).await;
    Ok(Json(report_json(&report)).into_response())
}

/// The saved connection a named draft edits, if there is one.
async fn existing(scope: &Scope, name: &Name, named: bool) -> Result<Option<Loaded>, ApiError> {
    if !named || scope.stamp(name).await?.is_none() {
        return Ok(None);
    }
    super::api::load(scope, name.as_str()).await.map(Some)
}

/// A check report as JSON: every line (what, where from, ok, detail) and
/// the stores; never a value.
pub fn report_json(report: &crate::check::Report) -> Value {
    // The server's paths are the operator's business, not the page's.
    let shown = crate::redact::without_paths;
    let lines: Vec<Value> = report
        .lines
        .iter()
        .map(|l| {
            let (ok, detail) = match &l.outcome {
                Ok(detail) => (true, detail),
                Err(reason) => (false, reason),
            };
            json!({"what": l.what, "source": shown(&l.source), "ok": ok, "detail": shown(detail)})
        })
        .collect();
    json!({"ok": report.failures() == 0, "stores": report.stores, "lines": lines})
}

/// A connection may be named `check`: the path's other methods are its own
/// (`GET`, `PUT`, `DELETE /api/connections/check` read, change and delete
/// it, as for any other name).
pub fn named_check() -> axum::routing::MethodRouter<Arc<State>> {
    use axum::extract::Path;
    use axum::routing::post;
    let name = || Path("check".to_owned());
    post(check_draft)
        .get(move |s: Scope| super::api::get_connection(s, name()))
        .put(move |s: Scope, draft: Json<Draft>| super::api::update_connection(s, name(), draft))
        .delete(move |s: Scope| super::api::delete_connection(s, name()))
}
